// The thick-slice restoration network: a small residual 2-D CNN (3 x 3 convolutions with ReLU, no
// normalization) that takes a plane containing the thick axis (that axis along W) and returns it
// with the through-plane detail a thick-slice acquisition averaged away: x + f(x). Plain forward
// over one parameter group; detection and the volume around it are tools/common/thickslice.
#pragma once
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/param_group.h"
#include "engine/tensor.h"

namespace im::model {

struct ThickSliceConfig {
  int channels = 32;       // of every hidden layer
  int layers = 7;          // convolutions in all (the first from 1 channel, the last to 1)
  double voxel_mm = 2.0;   // the grid spacing it was trained on (restoration is refused far from it)
  int max_factor = 4;      // the thickest slices it was trained on, in voxels (recorded)
  void validate() const;   // throws im::Error naming the problem
};

void to_json(nlohmann::json& j, const ThickSliceConfig& c);
void from_json(const nlohmann::json& j, ThickSliceConfig& c);

class ThickSliceNet {
 public:
  ThickSliceNet(const ThickSliceConfig& cfg, Device dev, uint64_t init_seed);
  ThickSliceNet(const ThickSliceNet&) = delete;
  ThickSliceNet& operator=(const ThickSliceNet&) = delete;

  const ThickSliceConfig& config() const { return cfg_; }
  Device device() const { return params.device(); }
  void to(Device dev) { params.to(dev); }

  ParamGroup params{"thickslice"};

  // x: [N, 1, H, W], any H and W (every convolution keeps the size); returns x + f(x), same shape.
  Tensor forward(const Tensor& x);

  // Every named tensor ("conv0.weight", "conv0.bias", ...), aliasing the network's memory.
  std::vector<std::pair<std::string, Tensor>> state();

 private:
  ThickSliceConfig cfg_;
  std::vector<Tensor> w_, b_;
};

}  // namespace im::model
