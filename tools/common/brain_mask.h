// Brain extraction with the brain-mask network: weight files, and any volume -> brain mask on its
// own grid (canonical RAS, the network's grid, 2.5-D slices, probability back on the input grid,
// threshold, largest component, holes filled). brain_mask_net() is what every tool calls.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "io/mask.h"
#include "io/prep.h"
#include "io/slices.h"
#include "io/volume.h"
#include "model/brainmask.h"

namespace im::tools {

// A network and the file it came from.
struct BrainMaskModel {
  std::string path, sha256;
  nlohmann::json training = nlohmann::json::object();  // what the file records about its training
  std::unique_ptr<model::BrainMaskNet> net;
};

// safetensors with the parameters and batch-norm statistics by name, and in __metadata__ the
// config ("brainmask_config") and `training` (data, command, figures); with_optimizer adds the
// Adam moments ("optimizer.m", "optimizer.v") and step, for resuming. Atomic.
void save_brain_mask_model(const std::string& path, model::BrainMaskNet& net, const nlohmann::json& training,
                           bool with_optimizer = false);
// Throws io::Error naming the file (not a brain-mask file, missing or misshapen tensor, NaN, ...).
std::unique_ptr<BrainMaskModel> load_brain_mask_model(const std::string& path, Device dev = Device::CPU,
                                                      bool with_optimizer = false);

// The weights brain_mask_net() uses: $IMUNITY_BRAINMASK_MODEL when set, else the shipped file
// model/weights/brainmask-2mm.safetensors of the source tree the program was built from.
std::string default_brain_mask_model_path();
// That model, loaded once per process (thread-safe) on the CPU.
const BrainMaskModel& default_brain_mask_model();

struct BrainMaskOptions {
  float threshold = 0.5f;          // on the probability, after it is brought back to the input grid
  bool largest_component = true;   // keep the largest 6-connected component
  bool fill_holes = true;          // fill enclosed holes (3-D and per slice, io::fill_holes)
  int64_t batch = 16;              // slabs per network call
};

// `input` on the network's grid (canonical RAS, isotropic cfg.voxel_mm, axial plane padded to the
// size multiple), raw intensities; `mask` (on the input grid) goes along (training labels).
io::Prepared to_network_grid(const io::Volume& input, const io::Mask& mask, const model::BrainMaskConfig& cfg);
// The network's view of a volume: canonical RAS on the network's isotropic grid, axial plane
// padded to the size multiple, intensities divided by their 99.5th percentile.
struct BrainMaskInput {
  io::Prepared prepared;  // image (scaled), record (the way back to the input grid)
  double scale = 1;       // the divisor applied (input units)
};
BrainMaskInput brain_mask_input(const io::Volume& input, const model::BrainMaskConfig& cfg);
// Robust intensity scaling shared by training and inference: v /= its 99.5th percentile (over all
// voxels), clipped to [0, kMaxIntensity]; returns the percentile (1 when it is not positive).
constexpr float kMaxIntensity = 1.5f;
double scale_intensities(io::Volume& v);
// Fills dst [2 * context + 1, h, w] with the axial slices z - context .. z + context of the stack
// (indices clamped to the volume: the edge slice repeats).
void slice_window(const io::SliceStack& s, int64_t z, int context, float* dst);

struct BrainMaskResult {
  io::Mask mask;                 // on the input grid
  std::vector<float> probability;  // on the input grid, before the threshold
  double seconds_prepare = 0, seconds_network = 0, seconds_finish = 0;
  int64_t slices_run = 0, slices_total = 0;  // axial slices predicted, and on the network's grid
};
// The brain mask of `input` (any orientation, grid and intensity units). Throws io::Error when the
// volume is empty (nothing above zero) or no voxel reaches the threshold.
BrainMaskResult predict_brain_mask(model::BrainMaskNet& net, const io::Volume& input, const BrainMaskOptions& options = {});

// The post-processing: probability >= threshold, the largest component, holes filled (as the
// options say). Throws io::Error when no voxel reaches the threshold.
io::Mask probability_to_mask(const std::vector<float>& probability, const io::Dims& dim, const BrainMaskOptions& options);

// The core API for every tool: the brain mask of `input` on its grid, from the default model.
io::Mask brain_mask_net(const io::Volume& input);

// A mask from any source the tools offer: the network for MaskSpec kind `net`, io::load_mask's
// otherwise (automatic head mask, mask file, label map).
io::Mask load_any_mask(const io::Volume& input, const io::MaskSpec& spec);

}  // namespace im::tools
