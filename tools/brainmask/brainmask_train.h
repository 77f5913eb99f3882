// Training of the brain-mask network (imunity-brainmask-train): subjects from a folder of T1
// volumes and label maps, a held-out test set and a validation set, augmented 2.5-D slices,
// BCE with Adam on a cosine schedule, validation Dice through the inference pipeline, resumable
// checkpoints.
#pragma once
#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "model/brainmask.h"
#include "tools/brainmask/brainmask_augment.h"

namespace im::tools {

// A T1 volume and its label map.
struct LabelledScan {
  std::string name, t1, labels;
};
// DIR/t1/<name>.nii[.gz] with DIR/labels/<name>_*.nii[.gz] (e.g. IXI013-HH-1212_T1.nii.gz and
// IXI013-HH-1212_T1_DLMUSE.nii.gz), sorted by file name. Throws io::Error naming a T1 without labels.
std::vector<LabelledScan> list_labelled_scans(const std::string& dir);

struct BrainMaskSplit {
  std::vector<LabelledScan> test, validation, train;
};
// The first `test` scans (sorted by name) are the held-out test set, the next `validation` the
// validation set, the rest training.
BrainMaskSplit split_scans(const std::vector<LabelledScan>& scans, int test, int validation);

struct BrainMaskTrainOptions {
  std::string data_dir, out_dir;
  int test_subjects = 20, validation_subjects = 8;
  model::BrainMaskConfig net;
  AugmentOptions augment;
  int64_t steps = 20000;
  int batch = 16;
  float lr = 2e-3f, lr_min = 5e-5f;  // cosine from lr to lr_min after a linear warm-up
  int64_t warmup = 200;
  int slices_per_volume = 32;        // slices drawn from each augmented volume before a fresh one replaces it
  int pool = 4;                      // augmented volumes slices are drawn from at a time
  int64_t validate_every = 1000, checkpoint_every = 200, log_every = 50;
  uint64_t seed = 1;
  bool resume = false, quiet = false;
  std::string command;               // recorded in the weight files
  std::atomic<bool>* interrupted = nullptr;
};

// Writes OUT/last.safetensors (with the optimizer state; resumable), OUT/best.safetensors (best
// validation Dice) and OUT/log.jsonl. Returns 0 when done, 130 when interrupted (saved).
int train_brain_mask(const BrainMaskTrainOptions& options);

// Mean Dice of `net` on the validation scans, as acquired and through one fixed random virtual site.
struct ValidationDice {
  double raw = 0, site = 0;
};
ValidationDice validate_brain_mask(model::BrainMaskNet& net, const std::vector<LabelledScan>& scans, uint64_t seed);

}  // namespace im::tools
