// Input lists, output names, shards, stop signals, and the three-stage threaded run of imunity-harmonize.
#include "tools/common/harmonize_batch.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdlib>
#include <cstring>
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
#include "io/nifti_name.h"
#include "tools/common/brain_mask.h"
#include "tools/common/harmonize_resume.h"
#include "tools/common/harmonize_sha256.h"
#include "tools/common/progress.h"

namespace fs = std::filesystem;

namespace im::tools {

namespace {

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
  std::string error;       // set: the job failed at an earlier stage
  std::string skipped;     // set: its outputs are those of this run, complete
  bool abandoned = false;  // the run was stopped before this job's network pass
  bool replace = false;    // redo an incomplete pair: replace what of it exists
  std::vector<std::string> warnings, notes;
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
  require_finite(out, "the output");
  t = Clock::now();
  io::WriteOptions wo;
  wo.gzip_level = o.gzip_level;
  std::vector<uint8_t> bytes = io::encode_volume(out, true, wo);
  it.timings["encode"] = ms_between(t, Clock::now());
  t = Clock::now();
  nlohmann::json side = {{"tool", "imunity-harmonize"},
                         {"version", IMUNITY_VERSION},
                         {"input", job.input},
                         {"output", job.output},
                         {"output_sha256", sha256_hex(bytes.data(), bytes.size())},
                         {"model", models_record(models)},
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
                         {"output_stage", it.harmonized.summary()},
                         {"warnings", it.warnings}};
  fs::create_directories(fs::path(job.output).parent_path());
  // Both files are written as temporaries first; then the volume is renamed into place, then the
  // sidecar: the sidecar is the commit record (a volume without it is an interrupted write, redone
  // by the next run). Should the second rename fail, the volume placed by the first is taken back.
  io::AtomicFileSet volume_file, sidecar_file;
  volume_file.add(job.output, bytes);
  it.timings["write"] = ms_between(t, Clock::now());
  it.timings["total"] = ms_between(it.start, Clock::now());
  side["timings_ms"] = it.timings;
  sidecar_file.add(job.sidecar, side.dump(2) + "\n");
  const bool replace = o.overwrite || it.replace;
  volume_file.commit(replace);
  try {
    sidecar_file.commit(replace);
  } catch (...) {
    std::error_code ec;
    fs::remove(job.output, ec);
    throw;
  }
}

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

namespace {
std::atomic<int> g_stop_signal{0};
void on_stop_signal(int sig) { g_stop_signal.store(sig); }
}  // namespace

const std::atomic<int>& stop_on_signals() {
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESETHAND;  // the next one of the same signal ends the process
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  return g_stop_signal;
}

std::vector<JobResult> run_batch(const ModelSet& models, const TargetCode& target, const std::vector<HarmonizeJob>& jobs,
                                 const BatchOptions& o) {
  std::vector<JobResult> results(jobs.size());
  for (size_t k = 0; k < jobs.size(); ++k) results[k].message = jobs[k].input + ": not started (the run was stopped)";
  RunRecord run;
  run.models = models_record(models);
  run.target = target.summary();
  run.options = o.options;
  run.compared_options = o.compared_options;
  auto stopped = [&] { return o.stop && o.stop->load() != 0; };
  Progress progress(static_cast<int64_t>(jobs.size()), "harmonize", !o.quiet);
  int64_t finished = 0;
  std::mutex progress_mu;
  const int n_io = std::max(1, o.io_threads);
  Channel<Item> prepared(static_cast<size_t>(n_io)), computed(static_cast<size_t>(n_io));
  std::atomic<size_t> next{0};
  std::atomic<int> readers_left{n_io};

  auto read_loop = [&] {
    for (size_t i; !stopped() && (i = next++) < jobs.size();) {
      Item it;
      it.job = i;
      it.start = Clock::now();
      const HarmonizeJob& job = jobs[i];
      try {
        if (!o.overwrite) {
          const Existing e = examine_outputs(job.input, job.output, job.sidecar, run);
          if (e.verdict == Existing::Verdict::done) it.skipped = job.output + ": exists (use --overwrite to replace it)";
          if (e.verdict == Existing::Verdict::other_run) it.error = e.why;
          if (e.verdict == Existing::Verdict::redo) it.replace = true, it.notes.push_back("redone " + job.output + ": " + e.why);
          if (!it.error.empty() || !it.skipped.empty()) {
            prepared.push(std::move(it));
            continue;
          }
        }
        auto t = Clock::now();
        io::Volume input = io::read_volume(job.input, o.read);
        it.timings["read"] = ms_between(t, Clock::now());
        if (const std::string w = io::orientation_warning(input.header); !w.empty()) it.warnings.push_back(w);
        if (!job.mask_error.empty()) throw io::Error(job.mask_error);
        t = Clock::now();
        io::Mask mask = load_any_mask(input, job.mask);
        it.timings["mask"] = ms_between(t, Clock::now());
        t = Clock::now();
        it.prepared = prepare_input(std::move(input), std::move(mask), models, job.mask.describe());
        it.prepared.prepared.record.input = job.input;
        it.timings["prepare"] = ms_between(t, Clock::now());  // N4 included; on its own:
        if (it.prepared.prepared.record.n4) it.timings["n4"] = 1000 * it.prepared.prepared.record.n4_info.seconds;
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
      if (it->abandoned) {
        r = results[it->job];
      } else if (!it->skipped.empty()) {
        r.status = JobResult::Status::skipped, r.message = it->skipped;
      } else if (it->error.empty()) {
        try {
          write_outputs(job, *it, models, target, o);
          r.status = JobResult::Status::done;
        } catch (const std::exception& e) {
          it->error = job_message(job.input, e.what());
        }
      }
      if (!it->error.empty()) r.status = JobResult::Status::failed, r.message = it->error;
      for (const std::string& w : it->warnings) r.notes.push_back("warning: " + job.input + ": " + w);
      for (const std::string& n : it->notes) r.notes.push_back(n);
      r.seconds = ms_between(it->start, Clock::now()) / 1000;
      std::lock_guard<std::mutex> lock(progress_mu);
      results[it->job] = r;
      const char* status = r.status == JobResult::Status::done      ? " ok"
                           : r.status == JobResult::Status::skipped ? " skipped"
                           : r.status == JobResult::Status::failed  ? " FAILED"
                                                                    : " not started";
      progress.update(++finished, job.name + status);
    }
  };
  std::vector<std::thread> pool;
  for (int i = 0; i < n_io; ++i) pool.emplace_back(read_loop), pool.emplace_back(write_loop);
  // The network runs here, on the thread that owns the device. Once stopped, what the readers had
  // prepared is dropped; what the network finished is still written.
  while (auto it = prepared.pop()) {
    if (it->error.empty() && it->skipped.empty()) {
      if (stopped()) {
        it->abandoned = true;
      } else {
        try {
          const auto t = Clock::now();
          it->harmonized = harmonize_prepared(models, target, it->prepared.prepared, o.harmonize, &it->stats);
          it->timings["network"] = ms_between(t, Clock::now());
        } catch (const std::exception& e) {
          it->error = job_message(jobs[it->job].input, e.what());
        }
      }
    }
    computed.push(std::move(*it));
  }
  computed.close();
  for (std::thread& t : pool) t.join();
  int64_t ok = 0;
  for (const JobResult& r : results) ok += r.status == JobResult::Status::done || r.status == JobResult::Status::skipped;
  progress.finish(std::to_string(ok) + " of " + std::to_string(jobs.size()) + " ok" + (stopped() ? " (stopped)" : ""));
  return results;
}

}  // namespace im::tools
