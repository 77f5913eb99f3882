// Input lists (files, folders, BIDS datasets), output names, per-input masks and shards of the batch programs.
#include "tools/common/batch_inputs.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>

#include "io/error.h"
#include "io/nifti_name.h"

namespace fs = std::filesystem;

namespace im::tools {

namespace {

// The entries of `dir` that are not hidden, with whether each is a folder (false when that cannot be
// told: a symlink loop). A folder that cannot be read is reported in `problems` unless it does not
// exist and missing_ok.
struct DirEntry {
  fs::path path;
  std::string name;
  bool is_dir = false;
};
std::vector<DirEntry> visible_entries(const fs::path& dir, std::vector<std::string>* problems, bool missing_ok) {
  std::vector<DirEntry> out;
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  const fs::directory_iterator end;
  for (; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    std::error_code type_ec;
    if (!name.empty() && name[0] != '.') out.push_back({it->path(), name, it->is_directory(type_ec)});
  }
  if (ec && !(missing_ok && ec == std::errc::no_such_file_or_directory) && problems)
    problems->push_back(dir.string() + ": " + ec.message() + " (skipped)");
  return out;
}

}  // namespace

std::string output_stem(const std::string& input_path) {
  std::string stem = io::nifti_stem(input_path);
  if (io::ends_with_nocase(stem, "_T1w") && stem.size() > 4) stem.resize(stem.size() - 4);
  return stem;
}

std::string output_file_name(const std::string& input_path) { return output_stem(input_path) + "_desc-harmonized_T1w.nii.gz"; }

std::vector<std::string> list_nifti_dir(const std::string& dir) {
  if (!fs::is_directory(dir)) io::fail(dir, "not a folder");
  std::vector<std::string> problems, out;
  for (const DirEntry& e : visible_entries(dir, &problems, false))
    if (!e.is_dir && io::has_nifti_extension(e.name)) out.push_back(e.path.string());
  if (!problems.empty()) io::fail(dir, "cannot list the folder: " + problems.front());
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> list_bids_t1w(const std::string& dir, std::vector<std::string>* relative, std::vector<std::string>* problems) {
  if (!fs::is_directory(dir)) io::fail(dir, "not a folder");
  std::vector<std::pair<std::string, std::string>> found;
  auto scan_anat = [&](const fs::path& anat, const fs::path& rel) {
    for (const DirEntry& e : visible_entries(anat, problems, true)) {
      const std::string stem = io::strip_nifti_extension(e.name);
      if (!e.is_dir && io::has_nifti_extension(e.name) && stem.size() > 4 && stem.compare(stem.size() - 4, 4, "_T1w") == 0)
        found.push_back({e.path.string(), rel.string()});
    }
  };
  for (const DirEntry& sub : visible_entries(dir, problems, false)) {
    if (sub.name.rfind("sub-", 0) != 0) continue;
    if (!sub.is_dir) {
      std::error_code ec;
      if (fs::symlink_status(sub.path, ec).type() == fs::file_type::symlink && problems)
        problems->push_back(sub.path.string() + ": a link to no usable folder (skipped)");
      continue;
    }
    scan_anat(sub.path / "anat", fs::path(sub.name) / "anat");
    for (const DirEntry& ses : visible_entries(sub.path, problems, false))
      if (ses.name.rfind("ses-", 0) == 0) {
        if (ses.is_dir)
          scan_anat(ses.path / "anat", fs::path(sub.name) / ses.name / "anat");
        else if (problems)
          problems->push_back(ses.path.string() + ": not a usable folder (skipped)");
      }
  }
  std::sort(found.begin(), found.end());
  std::vector<std::string> out;
  for (auto& [path, rel] : found) {
    out.push_back(path);
    if (relative) relative->push_back(rel);
  }
  return out;
}

bool same_folder(const std::string& a, const std::string& b) {
  std::error_code ea, eb;
  const fs::path pa = fs::weakly_canonical(fs::absolute(a), ea), pb = fs::weakly_canonical(fs::absolute(b), eb);
  if (ea || eb) return fs::absolute(a).lexically_normal() == fs::absolute(b).lexically_normal();
  // weakly_canonical keeps a trailing separator ("out/" vs "out"): compare without it.
  auto trimmed = [](const fs::path& p) { return p.has_filename() ? p : p.parent_path(); };
  return trimmed(pa) == trimmed(pb);
}

void require_writable_folder(const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) io::fail(dir, "cannot create the output folder: " + ec.message());
  if (!fs::is_directory(dir)) io::fail(dir, "the output folder is not a folder");
  const std::string probe = (fs::path(dir) / (".imunity-write-test-" + std::to_string(::getpid()))).string();
  const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) io::fail(dir, std::string("cannot write in the output folder: ") + std::strerror(errno));
  ::close(fd);
  ::unlink(probe.c_str());
}

std::vector<BatchJob> make_jobs(std::vector<std::string> inputs, const std::string& out_dir,
                                    const std::vector<std::string>& relative_dirs) {
  std::vector<std::pair<std::string, std::string>> items;
  for (size_t i = 0; i < inputs.size(); ++i) items.push_back({inputs[i], i < relative_dirs.size() ? relative_dirs[i] : ""});
  std::sort(items.begin(), items.end());
  items.erase(std::unique(items.begin(), items.end()), items.end());
  std::vector<BatchJob> jobs;
  std::map<std::string, std::string> seen;
  for (const auto& [input, rel] : items) {
    BatchJob j;
    j.input = input;
    j.name = output_stem(input);
    const fs::path dir = rel.empty() ? fs::path(out_dir) : fs::path(out_dir) / rel;
    j.output = (dir / (j.name + "_desc-harmonized_T1w.nii.gz")).string();
    j.sidecar = (dir / (j.name + "_desc-harmonized_T1w.json")).string();
    auto [it, fresh] = seen.emplace(j.output, input);
    if (!fresh) io::fail(input, "would write the same output as " + it->second + " (" + j.output + "): give inputs distinct names");
    jobs.push_back(std::move(j));
  }
  return jobs;
}

void assign_mask_dir(std::vector<BatchJob>& jobs, const std::string& dir, io::MaskSpec::Kind kind) {
  const std::vector<std::string> files = list_nifti_dir(dir);
  for (BatchJob& j : jobs) {
    const std::string full = io::nifti_stem(j.input);
    std::vector<std::string> hits;
    for (const std::string& prefix : {full, j.name}) {
      for (const std::string& f : files) {
        const std::string s = io::nifti_stem(f);
        if (s == prefix || s.rfind(prefix + "_", 0) == 0) hits.push_back(f);
      }
      if (!hits.empty()) break;
    }
    if (hits.size() == 1) {
      j.mask = {kind, hits.front()};
    } else if (hits.empty()) {
      j.mask_error = "no mask in " + dir + " named " + full + "[_*].nii[.gz] or " + j.name + "[_*].nii[.gz]";
    } else {
      j.mask_error = "several masks in " + dir + " match: " + hits[0] + ", " + hits[1] + (hits.size() > 2 ? ", ..." : "");
    }
  }
}

Shard parse_shard(const std::string& text) {
  Shard s;
  if (text == "slurm") {
    const char* id = std::getenv("SLURM_ARRAY_TASK_ID");
    const char* count = std::getenv("SLURM_ARRAY_TASK_COUNT");
    const char* min = std::getenv("SLURM_ARRAY_TASK_MIN");
    if (!id || !count) throw io::Error("--shard slurm: SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_COUNT are not set (not a SLURM job array task)");
    try {
      s.index = std::stoll(id) - (min ? std::stoll(min) : 0);
      s.count = std::stoll(count);
    } catch (const std::exception&) {
      throw io::Error("--shard slurm: SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_COUNT are not numbers");
    }
    if (const char* max = std::getenv("SLURM_ARRAY_TASK_MAX"); max && min && std::stoll(max) - std::stoll(min) + 1 != s.count)
      throw io::Error("--shard slurm needs a contiguous array with step 1 (e.g. --array=0-9): the task ids span " +
                      std::string(min) + "-" + max + " for " + count + " tasks");
  } else {
    long long i = 0, n = 0;
    char extra = 0;
    if (std::sscanf(text.c_str(), "%lld/%lld%c", &i, &n, &extra) != 2)
      throw io::Error("--shard must be I/N (0-based: 0/4 ... 3/4) or \"slurm\", not \"" + text + "\"");
    s.index = i, s.count = n;
  }
  if (s.count < 1 || s.index < 0 || s.index >= s.count)
    throw io::Error("--shard " + text + ": needs 0 <= I < N (shards are 0-based), got I = " + std::to_string(s.index) +
                    ", N = " + std::to_string(s.count));
  return s;
}

std::vector<BatchJob> select_shard(const std::vector<BatchJob>& jobs, const Shard& shard) {
  std::vector<BatchJob> out;
  for (size_t k = 0; k < jobs.size(); ++k)
    if (static_cast<int64_t>(k % static_cast<size_t>(shard.count)) == shard.index) out.push_back(jobs[k]);
  return out;
}

}  // namespace im::tools
