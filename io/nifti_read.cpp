// read_volume: file bytes -> validated header -> float32 voxels with scaling applied.
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>

#include "io/error.h"
#include "io/gzip.h"
#include "io/nifti.h"
#include "io/nifti_header.h"

namespace im::io {
namespace {

template <class T>
void convert(const uint8_t* src, int64_t n, bool swap, double slope, double inter, float* dst) {
  const bool scaled = slope != 1 || inter != 0;
#pragma omp parallel for schedule(static) if (n > (1 << 22))
  for (int64_t i = 0; i < n; ++i) {
    T v;
    if (swap) {
      uint8_t b[sizeof(T)];
      for (size_t k = 0; k < sizeof(T); ++k) b[k] = src[i * int64_t(sizeof(T)) + int64_t(sizeof(T) - 1 - k)];
      std::memcpy(&v, b, sizeof(T));
    } else {
      std::memcpy(&v, src + i * int64_t(sizeof(T)), sizeof(T));
    }
    dst[i] = scaled ? static_cast<float>(static_cast<double>(v) * slope + inter) : static_cast<float>(v);
  }
}

void convert_voxels(const detail::ParsedHeader& h, const uint8_t* src, float* dst) {
  const int64_t n = h.dim[0] * h.dim[1] * h.dim[2];
  switch (h.datatype) {
    case dtype::uint8: return convert<uint8_t>(src, n, h.swap, h.slope, h.inter, dst);
    case dtype::int8: return convert<int8_t>(src, n, h.swap, h.slope, h.inter, dst);
    case dtype::int16: return convert<int16_t>(src, n, h.swap, h.slope, h.inter, dst);
    case dtype::uint16: return convert<uint16_t>(src, n, h.swap, h.slope, h.inter, dst);
    case dtype::int32: return convert<int32_t>(src, n, h.swap, h.slope, h.inter, dst);
    case dtype::uint32: return convert<uint32_t>(src, n, h.swap, h.slope, h.inter, dst);
    case dtype::int64: return convert<int64_t>(src, n, h.swap, h.slope, h.inter, dst);
    case dtype::uint64: return convert<uint64_t>(src, n, h.swap, h.slope, h.inter, dst);
    case dtype::float32: return convert<float>(src, n, h.swap, h.slope, h.inter, dst);
    case dtype::float64: return convert<double>(src, n, h.swap, h.slope, h.inter, dst);
  }
}

void check_finite(Volume& v, NonFinite policy, const std::string& name) {
  int64_t bad = 0, first = -1;
  const int64_t n = v.size();
  float* d = v.data.data();
#pragma omp parallel for reduction(+ : bad) schedule(static) if (n > (1 << 22))
  for (int64_t i = 0; i < n; ++i)
    if (!std::isfinite(d[i])) {
      ++bad;
      if (policy == NonFinite::zero) d[i] = 0;
    }
  if (bad == 0 || policy == NonFinite::zero) return;
  for (int64_t i = 0; i < n && first < 0; ++i)
    if (!std::isfinite(d[i])) first = i;
  const int64_t x = first % v.dim[0], y = first / v.dim[0] % v.dim[1], z = first / (v.dim[0] * v.dim[1]);
  fail(name, std::to_string(bad) + " voxel(s) are NaN or Inf (first at voxel " + std::to_string(x) + "," +
                 std::to_string(y) + "," + std::to_string(z) + "); --nan-to-zero of imunity-prep and imunity-harmonize replaces them by 0");
}

}  // namespace

Volume read_volume_bytes(const std::vector<uint8_t>& bytes, const std::string& name, const ReadOptions& opt) {
  const uint8_t* p = bytes.data();
  size_t avail = bytes.size();
  std::vector<uint8_t> inflated;
  detail::ParsedHeader h;
  const auto needed = [&](const detail::ParsedHeader& ph) {
    const int64_t vol = std::max<int64_t>(opt.volume, 0);
    return static_cast<double>(ph.vox_offset) + static_cast<double>(vol + 1) * static_cast<double>(ph.volume_bytes());
  };
  if (is_gzip(p, avail)) {
    const auto head = gunzip_prefix(p, avail, detail::kMaxHeaderBytes, name);
    if (head.size() < 348)
      fail(name, "truncated or corrupt gzip file: only " + std::to_string(head.size()) +
                     " bytes decompress, fewer than a NIfTI header");
    h = detail::parse_header(head.data(), head.size(), name, opt);
    const double want = needed(h);
    // Checked before allocating: a cut or lying file cannot make us reserve gigabytes.
    if (want > kMaxDeflateRatio * static_cast<double>(avail) + 4096)
      fail(name, "truncated or corrupt: the header declares " + std::to_string(static_cast<int64_t>(want)) +
                     " bytes but the gzip file (" + std::to_string(avail) + " bytes) cannot hold that many");
    inflated = gunzip(p, avail, static_cast<size_t>(want), name);
    p = inflated.data();
    avail = inflated.size();
    h = detail::parse_header(p, avail, name, opt);  // again, now with the extensions in reach
  } else {
    h = detail::parse_header(p, avail, name, opt);
    const double want = needed(h);
    if (want > static_cast<double>(avail))
      fail(name, "file too short: the voxel data (vox_offset " + std::to_string(h.vox_offset) + " + " +
                     std::to_string(static_cast<int64_t>(want) - h.vox_offset) + " bytes) end past the end of the file (" +
                     std::to_string(avail) + " bytes): truncated file or wrong vox_offset");
  }
  Volume v;
  v.dim = h.dim;
  v.affine = h.affine;
  v.header = std::move(h.info);
  v.data.resize(static_cast<size_t>(v.size()));
  const int64_t at = h.vox_offset + std::max<int64_t>(opt.volume, 0) * h.volume_bytes();
  convert_voxels(h, p + at, v.data.data());
  check_finite(v, opt.nonfinite, name);
  return v;
}

Volume read_volume(const std::string& path, const ReadOptions& opt) {
  std::error_code ec;
  const auto st = std::filesystem::status(path, ec);
  if (std::filesystem::exists(st) && !std::filesystem::is_regular_file(st)) fail(path, "not a regular file");
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "rb"), std::fclose);
  if (!f) fail(path, errno == ENOENT ? "no such file" : std::string("cannot open: ") + std::strerror(errno));
  std::vector<uint8_t> bytes;
  if (std::fseek(f.get(), 0, SEEK_END) != 0) fail(path, "cannot seek (not a regular file?)");
  const long size = std::ftell(f.get());
  if (size < 0) fail(path, "cannot tell its size (a directory?)");
  std::rewind(f.get());
  bytes.resize(static_cast<size_t>(size));
  if (size > 0 && std::fread(bytes.data(), 1, bytes.size(), f.get()) != bytes.size())
    fail(path, std::string("read error: ") + std::strerror(errno));
  return read_volume_bytes(bytes, path, opt);
}

}  // namespace im::io
