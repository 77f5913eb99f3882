// Many volumes through the harmonization pipeline: the threaded run (reading ahead and writing
// behind the network) over the jobs of tools/common/batch_inputs.h, outputs by harmonize_write.h.
#pragma once
#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "io/nifti.h"
#include "io/prep.h"
#include "tools/common/batch_inputs.h"
#include "tools/harmonize/harmonize.h"

namespace im::tools {

struct BatchOptions {
  HarmonizeOptions harmonize;
  io::ReadOptions read;  // how inputs are read (4-D volume index, NaN/Inf voxels)
  bool overwrite = false;
  bool quiet = false;  // no progress bar
  int gzip_level = 1;
  int io_threads = 1;  // readers (read, mask, prepare) and as many writers (unprepare, encode, write)
  std::string device_description;
  nlohmann::json options = nlohmann::json::object();  // the command's options, echoed in sidecars
  // The keys of `options` that change the output (orientations, mask, ...): an existing output is
  // taken for done only when its sidecar has the same values (and the same input, models, target).
  std::vector<std::string> compared_options;
  // Set (to a signal number) when the run must stop: no new input is started, those computed are
  // written, the others are reported not started. See stop_on_signals().
  const std::atomic<int>* stop = nullptr;
};

struct JobResult {
  enum class Status { done, skipped, failed, not_started };
  Status status = Status::not_started;
  std::string message;             // skipped/failed/not started: why ("<input>: <problem>")
  std::vector<std::string> notes;  // "warning: <input>: ...", "redone <output>: <why>"
  double seconds = 0;
};

// Runs every job: reader threads prepare the next volumes while the network runs on the current
// one (on the calling thread) and writer threads finish the previous ones. Each job first examines
// its outputs (unless options.overwrite; harmonize_resume.h): this run's complete pair is skipped,
// a pair an interruption left incomplete is redone, another run's outputs fail the job. A failing
// job (an output with NaN or Inf voxels included) is reported and the others go on; nothing
// half-written is left. The sidecar, written last, records the volume's SHA-256.
std::vector<JobResult> run_batch(const ModelSet& models, const TargetCode& target, const std::vector<BatchJob>& jobs,
                                 const BatchOptions& options);

// Installs handlers of SIGINT and SIGTERM that store the signal's number in the returned flag (for
// BatchOptions::stop); each handler then gives way to the default, so a second signal ends the
// process at once.
const std::atomic<int>& stop_on_signals();

}  // namespace im::tools
