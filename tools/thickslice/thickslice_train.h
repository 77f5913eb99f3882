// Training of the thick-slice restoration network (imunity-thickslice-train): thin-slice T1 volumes
// with brain masks, planes degraded on the fly as thick-slice acquisitions are (block means of 2-4
// voxels along one axis re-interpolated, or a Gaussian blur along it, plus noise), L1 to the thin
// plane with Adam on a cosine schedule, and a validation of whole volumes through restore_axis.
#pragma once
#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "io/mask.h"
#include "io/rng.h"
#include "io/volume.h"
#include "model/thickslice.h"

namespace im::tools {

// One plane's degradation along its last axis (W): block means of `factor` voxels starting at
// `phase` (0 <= phase < factor), linearly re-interpolated between the block centres as
// imunity-simulate's thick slices are; factor 1 leaves the plane as it is.
void thick_slice_rows(std::vector<float>& plane, int64_t h, int64_t w, int factor, int phase);
// A Gaussian blur of `sigma` voxels along W (edges clamped).
void blur_rows(std::vector<float>& plane, int64_t h, int64_t w, double sigma);
// Every line of a volume along `axis` through thick_slice_rows (phase 0), or blur_rows when sigma > 0.
void degrade_volume_axis(io::Volume& v, int axis, int factor, double sigma = 0);
// Mean |a - b| over the mask's voxels (0 for an empty mask): validation's and the tests' distance.
double brain_l1(const io::Volume& a, const io::Volume& b, const io::Mask& mask);

struct ThickSliceTrainOptions {
  std::string data_dir, out_dir;
  int test_subjects = 20, validation_subjects = 8;
  model::ThickSliceConfig net;
  int64_t steps = 2000;
  int batch = 16, patch = 48;
  float lr = 1e-3f, lr_min = 1e-5f;
  int64_t warmup = 100, validate_every = 500, log_every = 50;
  double max_noise = 0.05;  // Gaussian noise sigma drawn from [0, max_noise] of the brain's 90th percentile
  uint64_t seed = 1;
  bool quiet = false;
  std::string command;
  std::atomic<bool>* interrupted = nullptr;
};

// Writes OUT/thickslice.safetensors (the best validation state) and OUT/log.jsonl. Returns 0 when
// done, 130 when interrupted (the best state so far is written).
int train_thick_slice(const ThickSliceTrainOptions& options);

}  // namespace im::tools
