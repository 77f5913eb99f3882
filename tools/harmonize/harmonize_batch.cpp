// The three-stage threaded run of imunity-harmonize: readers prepare volumes, the network runs on the
// calling thread, writers finish and write them; stop signals.
#include "tools/harmonize/harmonize_batch.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>

#include "io/error.h"
#include "io/nifti.h"
#include "tools/common/brain_mask.h"
#include "tools/common/progress.h"
#include "tools/harmonize/harmonize_resume.h"
#include "tools/harmonize/harmonize_write.h"

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

// One volume on its way through the stages.
struct Item {
  size_t job = 0;
  std::string error;       // set: the job failed at an earlier stage
  std::string skipped;     // set: its outputs are those of this run, complete
  bool abandoned = false;  // the run was stopped before this job's network pass
  bool replace = false;    // redo an incomplete pair: replace what of it exists
  std::vector<std::string> notes;
  HarmonizedVolume v;
};

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

std::vector<JobResult> run_batch(const ModelSet& models, const TargetCode& target, const std::vector<BatchJob>& jobs,
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
      it.v.start = Clock::now();
      const BatchJob& job = jobs[i];
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
        it.v.timings["read"] = ms_between(t, Clock::now());
        if (const std::string w = io::orientation_warning(input.header); !w.empty()) it.v.warnings.push_back(w);
        if (!job.mask_error.empty()) throw io::Error(job.mask_error);
        t = Clock::now();
        io::Mask mask = load_any_mask(input, job.mask);
        it.v.timings["mask"] = ms_between(t, Clock::now());
        t = Clock::now();
        it.v.prepared = prepare_input(std::move(input), std::move(mask), models, job.mask.describe(), o.harmonize.thick_slices);
        it.v.prepared.prepared.record.input = job.input;
        it.v.timings["prepare"] = ms_between(t, Clock::now());  // N4 and thick slices included; on their own:
        if (it.v.prepared.prepared.record.n4) it.v.timings["n4"] = 1000 * it.v.prepared.prepared.record.n4_info.seconds;
        if (it.v.prepared.thick.restored) it.v.timings["thick_slices"] = 1000 * it.v.prepared.thick.seconds;
      } catch (const std::exception& e) {
        it.error = job_message(job.input, e.what());
      }
      prepared.push(std::move(it));
    }
    if (--readers_left == 0) prepared.close();
  };
  auto write_loop = [&] {
    while (auto it = computed.pop()) {
      const BatchJob& job = jobs[it->job];
      JobResult r;
      if (it->abandoned) {
        r = results[it->job];
      } else if (!it->skipped.empty()) {
        r.status = JobResult::Status::skipped, r.message = it->skipped;
      } else if (it->error.empty()) {
        try {
          write_outputs(job, it->v, it->replace, models, target, o);
          r.status = JobResult::Status::done;
        } catch (const std::exception& e) {
          it->error = job_message(job.input, e.what());
        }
      }
      if (!it->error.empty()) r.status = JobResult::Status::failed, r.message = it->error;
      for (const std::string& w : it->v.warnings) r.notes.push_back("warning: " + job.input + ": " + w);
      for (const std::string& n : it->notes) r.notes.push_back(n);
      r.seconds = ms_between(it->v.start, Clock::now()) / 1000;
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
          it->v.harmonized = harmonize_prepared(models, target, it->v.prepared.prepared, o.harmonize, &it->v.stats);
          it->v.timings["network"] = ms_between(t, Clock::now());
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
