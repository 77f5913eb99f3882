// Temporary-file-and-rename writes, single and grouped.
#include "io/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>

#include "io/error.h"

namespace fs = std::filesystem;

namespace im::io {
namespace {

std::string temp_name(const std::string& path) {
  static thread_local std::mt19937_64 gen{std::random_device{}() ^ static_cast<uint64_t>(::getpid())};
  const fs::path p(path);
  char suffix[64];
  std::snprintf(suffix, sizeof suffix, ".tmp-%d-%08llx", static_cast<int>(::getpid()),
                static_cast<unsigned long long>(gen() & 0xffffffffu));
  return (p.parent_path() / ("." + p.filename().string() + suffix)).string();
}

// Writes the temporary file; returns its name. Removes it and throws on failure.
std::string write_temp(const std::string& path, const void* data, size_t size) {
  if (fs::path(path).filename().empty()) fail(path, "not a file name");
  const std::string tmp = temp_name(path);
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
  if (fd < 0) fail(path, std::string("cannot create a file in its folder: ") + std::strerror(errno));
  const auto* p = static_cast<const uint8_t*>(data);
  size_t done = 0;
  int err = 0;
  while (done < size) {
    const ssize_t n = ::write(fd, p + done, size - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      err = n < 0 ? errno : EIO;
      break;
    }
    done += static_cast<size_t>(n);
  }
  if (::close(fd) != 0 && err == 0) err = errno;
  if (err != 0) {
    ::unlink(tmp.c_str());
    fail(path, std::string("write failed: ") + std::strerror(err));
  }
  return tmp;
}

// Moves the temporary into place; removes it and throws on failure.
void place(const std::string& tmp, const std::string& path, bool overwrite) {
  int err = 0;
  if (overwrite) {
    if (::rename(tmp.c_str(), path.c_str()) == 0) return;
    err = errno;
  } else {
    // link() refuses to replace an existing file, atomically; rename() would not.
    if (::link(tmp.c_str(), path.c_str()) == 0) {
      ::unlink(tmp.c_str());
      return;
    }
    err = errno;
    if (err == EEXIST) {
      ::unlink(tmp.c_str());
      fail(path, "already exists (use --overwrite to replace it)");
    }
    if ((err == EPERM || err == ENOTSUP || err == EOPNOTSUPP) && !fs::exists(path)) {
      if (::rename(tmp.c_str(), path.c_str()) == 0) return;  // a file system without hard links
      err = errno;
    }
  }
  ::unlink(tmp.c_str());
  fail(path, std::string("cannot move the finished file into place: ") + std::strerror(err));
}

}  // namespace

void write_file_atomic(const std::string& path, const void* data, size_t size, bool overwrite) {
  if (!overwrite && fs::exists(path)) fail(path, "already exists (use --overwrite to replace it)");
  place(write_temp(path, data, size), path, overwrite);
}

AtomicFileSet::~AtomicFileSet() {
  for (const auto& e : entries_)
    if (!e.temp.empty()) ::unlink(e.temp.c_str());
}

void AtomicFileSet::add(const std::string& path, const std::vector<uint8_t>& bytes) {
  entries_.push_back({path, write_temp(path, bytes.data(), bytes.size())});
}

void AtomicFileSet::add(const std::string& path, const std::string& text) {
  entries_.push_back({path, write_temp(path, text.data(), text.size())});
}

void AtomicFileSet::commit(bool overwrite) {
  if (!overwrite)
    for (const auto& e : entries_)
      if (fs::exists(e.path)) fail(e.path, "already exists (use --overwrite to replace it)");
  for (auto& e : entries_) {
    const std::string tmp = e.temp;
    e.temp.clear();  // place() removes it on failure
    place(tmp, e.path, overwrite);
  }
}

}  // namespace im::io
