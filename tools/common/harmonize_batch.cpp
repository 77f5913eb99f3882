// Input lists, output names, shards, and the three-stage threaded run of imunity-harmonize.
#include "tools/common/harmonize_batch.h"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include "io/atomic_file.h"
#include "io/error.h"
#include "io/json_io.h"
#include "io/nifti.h"
#include "tools/common/brain_mask.h"
#include "tools/common/progress.h"

namespace fs = std::filesystem;

namespace im::tools {

namespace {

bool ends_with_nocase(const std::string& s, const std::string& suffix) {
  if (s.size() < suffix.size()) return false;
  for (size_t i = 0; i < suffix.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(s[s.size() - suffix.size() + i])) != std::tolower(static_cast<unsigned char>(suffix[i])))
      return false;
  return true;
}

std::string strip_nifti_ext(const std::string& file) {
  for (const char* ext : {".nii.gz", ".nii"})
    if (ends_with_nocase(file, ext)) return file.substr(0, file.size() - std::string(ext).size());
  return file;
}

bool is_nifti_name(const std::string& file) { return ends_with_nocase(file, ".nii.gz") || ends_with_nocase(file, ".nii"); }

// "<input>: <problem>", without repeating the input when the message already names it.
std::string job_message(const std::string& input, const std::string& what) {
  return what.rfind(input, 0) == 0 ? what : input + ": " + what;
}

// A bounded queue between two stages.
template <class T>
class Channel {
 public:
  explicit Channel(size_t capacity) : cap_(capacity) {}
  void push(T v) {
    std::unique_lock<std::mutex> l(mu_);
    not_full_.wait(l, [&] { return q_.size() < cap_; });
    q_.push_back(std::move(v));
    not_empty_.notify_one();
  }
  void close() {
    std::lock_guard<std::mutex> l(mu_);
    closed_ = true;
    not_empty_.notify_all();
  }
  std::optional<T> pop() {
    std::unique_lock<std::mutex> l(mu_);
    not_empty_.wait(l, [&] { return !q_.empty() || closed_; });
    if (q_.empty()) return std::nullopt;
    T v = std::move(q_.front());
    q_.pop_front();
    not_full_.notify_one();
    return v;
  }

 private:
  size_t cap_;
  std::deque<T> q_;
  bool closed_ = false;
  std::mutex mu_;
  std::condition_variable not_full_, not_empty_;
};

using Clock = std::chrono::steady_clock;
double ms_between(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double, std::milli>(b - a).count(); }

// One volume on its way through the stages.
struct Item {
  size_t job = 0;
  std::string error;  // set: the job failed at an earlier stage
  PreparedInput prepared;
  NetworkResult harmonized;
  NetworkStats stats;
  nlohmann::json timings = nlohmann::json::object();
  Clock::time_point start;
};

nlohmann::json intensity_note(const HarmonizeOptions& o) {
  return o.restore_intensity ? "input units: the output mapped back through the inverse of the input's normalization"
                             : "normalized: [0, 1] with the white-matter peak near 0.7 (the model's scale), then harmonized";
}

void write_outputs(const HarmonizeJob& job, Item& it, const ModelSet& models, const TargetCode& target, const BatchOptions& o) {
  auto t = Clock::now();
  const io::Volume out = finish_output(it.prepared, it.harmonized, o.harmonize);
  it.timings["unprepare"] = ms_between(t, Clock::now());
  t = Clock::now();
  io::WriteOptions wo;
  wo.gzip_level = o.gzip_level;
  std::vector<uint8_t> bytes = io::encode_volume(out, true, wo);
  it.timings["encode"] = ms_between(t, Clock::now());
  t = Clock::now();
  nlohmann::json model_json = {{"path", models.axial().path}, {"sha256", models.axial().sha256}, {"step", models.axial().info.step},
                               {"input_size", {models.axial().info.model.image_h, models.axial().info.model.image_w}}};
  nlohmann::json per_axis = nlohmann::json::object();
  for (int a = 0; a < 3; ++a)
    if (models.per_axis[a])
      per_axis[io::slice_axis_name(static_cast<io::SliceAxis>(a))] = {{"path", models.per_axis[a]->path},
                                                                        {"sha256", models.per_axis[a]->sha256},
                                                                        {"trained_on", models.per_axis[a]->orientation}};
  model_json["per_orientation"] = per_axis;
  nlohmann::json side = {{"tool", "imunity-harmonize"},
                         {"version", IMUNITY_VERSION},
                         {"input", job.input},
                         {"output", job.output},
                         {"model", model_json},
                         {"target", target.summary()},
                         {"intensity", intensity_note(o.harmonize)},
                         {"outside_mask", o.harmonize.outside == Outside::keep  ? "kept (the input on the same scale)"
                                          : o.harmonize.outside == Outside::map ? "through the same map as the brain"
                                                                                 : "zero"},
                         {"mask", it.prepared.prepared.record.mask_source},
                         {"options", o.options},
                         {"preprocessing", io::record_to_json(it.prepared.prepared.record)},
                         {"device", o.device_description},
                         {"network", it.stats.to_json()},
                         {"output_stage", it.harmonized.summary()}};
  fs::create_directories(fs::path(job.output).parent_path());
  // Both files are written as temporaries first; then the volume is renamed into place, then the
  // sidecar. Should the second rename fail, the volume placed by the first is taken back, so that
  // the pair never appears halved.
  io::AtomicFileSet volume_file, sidecar_file;
  volume_file.add(job.output, bytes);
  it.timings["write"] = ms_between(t, Clock::now());
  it.timings["total"] = ms_between(it.start, Clock::now());
  side["timings_ms"] = it.timings;
  sidecar_file.add(job.sidecar, side.dump(2) + "\n");
  volume_file.commit(o.overwrite);
  try {
    sidecar_file.commit(o.overwrite);
  } catch (...) {
    std::error_code ec;
    fs::remove(job.output, ec);
    throw;
  }
}

}  // namespace

std::string output_stem(const std::string& input_path) {
  std::string stem = strip_nifti_ext(fs::path(input_path).filename().string());
  if (ends_with_nocase(stem, "_T1w") && stem.size() > 4) stem.resize(stem.size() - 4);
  return stem;
}

std::string output_file_name(const std::string& input_path) { return output_stem(input_path) + "_desc-harmonized_T1w.nii.gz"; }

std::vector<std::string> list_nifti_dir(const std::string& dir) {
  if (!fs::is_directory(dir)) io::fail(dir, "not a folder");
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir))
    if (!e.is_directory() && is_nifti_name(e.path().filename().string())) out.push_back(e.path().string());
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> list_bids_t1w(const std::string& dir, std::vector<std::string>* relative) {
  if (!fs::is_directory(dir)) io::fail(dir, "not a folder");
  std::vector<std::pair<std::string, std::string>> found;
  auto scan_anat = [&](const fs::path& anat, const fs::path& rel) {
    if (!fs::is_directory(anat)) return;
    for (const auto& e : fs::directory_iterator(anat)) {
      const std::string f = e.path().filename().string(), stem = strip_nifti_ext(f);
      if (!e.is_directory() && is_nifti_name(f) && stem.size() > 4 && stem.compare(stem.size() - 4, 4, "_T1w") == 0)
        found.push_back({e.path().string(), rel.string()});
    }
  };
  for (const auto& sub : fs::directory_iterator(dir)) {
    const std::string s = sub.path().filename().string();
    if (!sub.is_directory() || s.rfind("sub-", 0) != 0) continue;
    scan_anat(sub.path() / "anat", fs::path(s) / "anat");
    for (const auto& ses : fs::directory_iterator(sub.path())) {
      const std::string n = ses.path().filename().string();
      if (ses.is_directory() && n.rfind("ses-", 0) == 0) scan_anat(ses.path() / "anat", fs::path(s) / n / "anat");
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

std::vector<HarmonizeJob> make_jobs(std::vector<std::string> inputs, const std::string& out_dir,
                                    const std::vector<std::string>& relative_dirs) {
  std::vector<std::pair<std::string, std::string>> items;
  for (size_t i = 0; i < inputs.size(); ++i) items.push_back({inputs[i], i < relative_dirs.size() ? relative_dirs[i] : ""});
  std::sort(items.begin(), items.end());
  items.erase(std::unique(items.begin(), items.end()), items.end());
  std::vector<HarmonizeJob> jobs;
  std::map<std::string, std::string> seen;
  for (const auto& [input, rel] : items) {
    HarmonizeJob j;
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

void assign_mask_dir(std::vector<HarmonizeJob>& jobs, const std::string& dir, io::MaskSpec::Kind kind) {
  const std::vector<std::string> files = list_nifti_dir(dir);
  for (HarmonizeJob& j : jobs) {
    const std::string full = strip_nifti_ext(fs::path(j.input).filename().string());
    std::vector<std::string> hits;
    for (const std::string& prefix : {full, j.name}) {
      for (const std::string& f : files) {
        const std::string s = strip_nifti_ext(fs::path(f).filename().string());
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

std::vector<HarmonizeJob> select_shard(const std::vector<HarmonizeJob>& jobs, const Shard& shard) {
  std::vector<HarmonizeJob> out;
  for (size_t k = 0; k < jobs.size(); ++k)
    if (static_cast<int64_t>(k % static_cast<size_t>(shard.count)) == shard.index) out.push_back(jobs[k]);
  return out;
}

nlohmann::json dataset_description() {
  return {{"Name", "ImUnity harmonized T1-weighted images"},
          {"BIDSVersion", "1.8.0"},
          {"DatasetType", "derivative"},
          {"GeneratedBy", {{{"Name", "imunity"}, {"Version", IMUNITY_VERSION},
                            {"Description", "imunity-harmonize: ImUnity VAE-GAN harmonization of T1-weighted MRI"}}}}};
}

void write_dataset_description(const std::string& out_dir, bool overwrite) {
  const std::string path = (fs::path(out_dir) / "dataset_description.json").string();
  if (!overwrite && fs::exists(path)) return;
  fs::create_directories(out_dir);
  try {
    io::write_json(path, dataset_description(), overwrite);
  } catch (const io::Error&) {
    if (!fs::exists(path)) throw;  // another shard wrote it first: same content
  }
}

std::vector<JobResult> run_batch(const ModelSet& models, const TargetCode& target, const std::vector<HarmonizeJob>& jobs,
                                 const BatchOptions& o) {
  std::vector<JobResult> results(jobs.size());
  std::vector<size_t> todo;
  for (size_t k = 0; k < jobs.size(); ++k) {
    const bool vol = fs::exists(jobs[k].output), side = fs::exists(jobs[k].sidecar);
    if (o.overwrite || (!vol && !side)) {
      todo.push_back(k);
    } else if (vol && side) {
      results[k] = {JobResult::Status::skipped, jobs[k].output + ": exists (use --overwrite to replace it)", 0};
    } else {
      results[k] = {JobResult::Status::failed,
                    (vol ? jobs[k].output : jobs[k].sidecar) + ": exists without its " + (vol ? "sidecar" : "volume") +
                        " (left by another program?): use --overwrite to replace it", 0};
    }
  }
  Progress progress(static_cast<int64_t>(jobs.size()), "harmonize", !o.quiet);
  int64_t finished = static_cast<int64_t>(jobs.size() - todo.size());
  std::mutex progress_mu;
  const int n_io = std::max(1, o.io_threads);
  Channel<Item> prepared(static_cast<size_t>(n_io)), computed(static_cast<size_t>(n_io));
  std::atomic<size_t> next{0};
  std::atomic<int> readers_left{n_io};

  auto read_loop = [&] {
    for (size_t i; (i = next++) < todo.size();) {
      Item it;
      it.job = todo[i];
      it.start = Clock::now();
      const HarmonizeJob& job = jobs[it.job];
      try {
        auto t = Clock::now();
        io::Volume input = io::read_volume(job.input);
        it.timings["read"] = ms_between(t, Clock::now());
        if (!job.mask_error.empty()) throw io::Error(job.mask_error);
        t = Clock::now();
        io::Mask mask = load_any_mask(input, job.mask);
        it.timings["mask"] = ms_between(t, Clock::now());
        t = Clock::now();
        it.prepared = prepare_input(std::move(input), std::move(mask), models, job.mask.describe());
        it.prepared.prepared.record.input = job.input;
        it.timings["prepare"] = ms_between(t, Clock::now());
      } catch (const std::exception& e) {
        it.error = job_message(job.input, e.what());
      }
      prepared.push(std::move(it));
    }
    if (--readers_left == 0) prepared.close();
  };
  auto write_loop = [&] {
    while (auto it = computed.pop()) {
      const HarmonizeJob& job = jobs[it->job];
      JobResult r;
      if (it->error.empty()) {
        try {
          write_outputs(job, *it, models, target, o);
          r.status = JobResult::Status::done;
        } catch (const std::exception& e) {
          it->error = job_message(job.input, e.what());
        }
      }
      if (!it->error.empty()) r = {JobResult::Status::failed, it->error, 0};
      r.seconds = ms_between(it->start, Clock::now()) / 1000;
      std::lock_guard<std::mutex> lock(progress_mu);
      results[it->job] = r;
      progress.update(++finished, job.name + (r.status == JobResult::Status::done ? " ok" : " FAILED"));
    }
  };
  std::vector<std::thread> pool;
  for (int i = 0; i < n_io; ++i) pool.emplace_back(read_loop), pool.emplace_back(write_loop);
  // The network runs here, on the thread that owns the device.
  while (auto it = prepared.pop()) {
    if (it->error.empty()) {
      try {
        const auto t = Clock::now();
        it->harmonized = harmonize_prepared(models, target, it->prepared.prepared, o.harmonize, &it->stats);
        it->timings["network"] = ms_between(t, Clock::now());
      } catch (const std::exception& e) {
        it->error = job_message(jobs[it->job].input, e.what());
      }
    }
    computed.push(std::move(*it));
  }
  computed.close();
  for (std::thread& t : pool) t.join();
  int64_t failed = 0;
  for (const JobResult& r : results) failed += r.status == JobResult::Status::failed;
  progress.finish(std::to_string(jobs.size() - static_cast<size_t>(failed)) + " of " + std::to_string(jobs.size()) + " ok");
  return results;
}

}  // namespace im::tools
