// The training run behind imunity-train: data, model, the step loop with logging, validation,
// checkpoints (last, best, model), SIGINT and NaN handling, and per-site contrast codes.
#pragma once
#include <atomic>
#include <string>

#include "tools/train/train_config.h"

namespace im::tools {

struct TrainRunOptions {
  std::string manifest, out_dir;
  TrainSetup setup;
  bool resume = false;
  // On resume: the command line's --set overrides (and --steps, --threads, ...), applied to the
  // checkpoint's training config (resumed_train_config); `setup` is then unused.
  std::vector<std::string> overrides;
  // A fresh run's warm start: the tensors of this checkpoint that match the model by name and shape
  // (tools::init_from_checkpoint); empty: a random initialization. Not with resume.
  std::string init_from;
  bool quiet = false;
  // Brain masks of manifest rows without `mask` or `labels`: "head" (the automatic head mask) or
  // "net" (the brain-extraction network, tools/common/brain_mask.h).
  std::string brain_mask = "head";
  std::atomic<bool>* interrupted = nullptr;  // set by a signal handler: save and stop
};

// Exit codes: 0 done (or stopped early by the schedule), 130 interrupted (checkpoint saved),
// 3 stopped on a NaN/Inf loss (the last good checkpoint kept). Throws on bad input.
int run_training(const TrainRunOptions& options);

}  // namespace im::tools
