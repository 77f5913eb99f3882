// The brain-extraction network: a small 2.5-D U-Net (neighbouring axial slices as input channels)
// that gives a brain logit per pixel of the middle slices of its input (a slab of slices per call,
// so a volume takes a third of the calls). Plain forward function over one parameter
// group; the preprocessing around it (reorientation, grid, intensities) is tools/common/brain_mask.
#pragma once
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/param_group.h"
#include "engine/tensor.h"

namespace im::model {

struct BrainMaskConfig {
  // Channels per level; level k runs at 1/2^k of the slice size (a stride-2 conv goes down, a
  // stride-2 transposed conv comes back up and is concatenated with the level's encoder output).
  std::vector<int> widths = {8, 16, 32, 64};
  int context = 2;            // input: the slices z - context .. z + context (2 * context + 1 channels)
  int out_context = 1;        // output: the slices z - out_context .. z + out_context (<= context)
  double voxel_mm = 2.0;      // the isotropic grid the network sees (recorded for the preprocessing)
  float bn_momentum = 0.05f;  // PyTorch convention
  float bn_eps = 1e-3f;

  int in_channels() const { return 2 * context + 1; }
  int out_channels() const { return 2 * out_context + 1; }
  int levels() const { return static_cast<int>(widths.size()); }
  // Slice sides must be multiples of this (every level halves them).
  int size_multiple() const { return 1 << (levels() - 1); }
  void validate() const;  // throws im::Error naming the problem
};

void to_json(nlohmann::json& j, const BrainMaskConfig& c);
void from_json(const nlohmann::json& j, BrainMaskConfig& c);

class BrainMaskNet {
 public:
  BrainMaskNet(const BrainMaskConfig& cfg, Device dev, uint64_t init_seed);
  BrainMaskNet(const BrainMaskNet&) = delete;
  BrainMaskNet& operator=(const BrainMaskNet&) = delete;

  const BrainMaskConfig& config() const { return cfg_; }
  Device device() const { return params.device(); }
  void to(Device dev);

  ParamGroup params{"brainmask"};

  // x: [N, 2 * context + 1, H, W] (H, W multiples of size_multiple()); returns the logits of the
  // middle 2 * out_context + 1 slices, [N, 2 * out_context + 1, H, W].
  // training: batch statistics normalize and, with update_stats, update the running statistics;
  // otherwise the running statistics normalize (inference).
  Tensor forward(const Tensor& x, bool training, bool update_stats);

  // Batch-norm running statistics by name ("enc0.bn_a.running_mean", ...), for weight files.
  std::vector<std::pair<std::string, Tensor*>> buffers();
  // Every named tensor of the state: parameters, then buffers (they alias the network's memory).
  std::vector<std::pair<std::string, Tensor>> state();

 private:
  struct ConvBn {
    Tensor w;  // [Cout, Cin, k, k], no bias (the batch norm's beta plays it)
    Tensor gamma, beta, running_mean, running_var;
    int stride = 1;
  };
  struct Up {
    Tensor w, b;  // transposed conv [Cin, Cout, 3, 3] with bias
  };
  ConvBn make_conv_bn(const std::string& name, int cin, int cout, int stride);
  Tensor conv_bn_relu(ConvBn& c, const Tensor& x, bool training, bool update_stats);

  BrainMaskConfig cfg_;
  std::vector<ConvBn> enc_a_, enc_b_, dec_;  // encoder: two per level; decoder: one per level below the last
  std::vector<Up> up_;
  Tensor out_w_, out_b_;  // 1x1 conv to the output slices' logits
};

}  // namespace im::model
