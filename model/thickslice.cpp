// The thick-slice restoration network: construction, initialization, forward.
#include "model/thickslice.h"

#include <cmath>

#include "engine/ops.h"
#include "engine/rng.h"
#include "kernels/check.h"

namespace im::model {

void ThickSliceConfig::validate() const {
  IM_CHECK(channels > 0 && channels <= 512, "thick-slice network: channels " << channels << " not in 1..512");
  IM_CHECK(layers >= 2 && layers <= 32, "thick-slice network: layers " << layers << " not in 2..32");
  IM_CHECK(voxel_mm > 0 && voxel_mm <= 8, "thick-slice network: voxel_mm " << voxel_mm << " not in (0, 8]");
  IM_CHECK(max_factor >= 1 && max_factor <= 16, "thick-slice network: max_factor " << max_factor << " not in 1..16");
}

void to_json(nlohmann::json& j, const ThickSliceConfig& c) {
  j = {{"channels", c.channels}, {"layers", c.layers}, {"voxel_mm", c.voxel_mm}, {"max_factor", c.max_factor}};
}

void from_json(const nlohmann::json& j, ThickSliceConfig& c) {
  for (auto it = j.begin(); it != j.end(); ++it)
    IM_CHECK(it.key() == "channels" || it.key() == "layers" || it.key() == "voxel_mm" || it.key() == "max_factor",
             "thick-slice config: unknown key \"" << it.key() << "\"");
  c.channels = j.value("channels", c.channels);
  c.layers = j.value("layers", c.layers);
  c.voxel_mm = j.value("voxel_mm", c.voxel_mm);
  c.max_factor = j.value("max_factor", c.max_factor);
  c.validate();
}

ThickSliceNet::ThickSliceNet(const ThickSliceConfig& cfg, Device dev, uint64_t init_seed) : cfg_(cfg) {
  cfg_.validate();
  for (int k = 0; k < cfg_.layers; ++k) {
    const int cin = k == 0 ? 1 : cfg_.channels, cout = k + 1 == cfg_.layers ? 1 : cfg_.channels;
    w_.push_back(params.add("conv" + std::to_string(k) + ".weight", {cout, cin, 3, 3}));
    b_.push_back(params.add("conv" + std::to_string(k) + ".bias", {cout}));
  }
  params.finalize(Device::CPU);
  // He-normal hidden convolutions (ReLU follows), zero biases; the last convolution starts a
  // hundred times smaller, so the untrained network is close to the identity (the residual is the
  // correction). Deterministic on the CPU from the seed whatever the device.
  Generator gen(init_seed);
  for (int k = 0; k < cfg_.layers; ++k) {
    const float fan_in = static_cast<float>(w_[k].size(1) * 9);
    fill_normal(w_[k], gen, 0.f, std::sqrt(2.f / fan_in) * (k + 1 == cfg_.layers ? 0.01f : 1.f));
  }
  to(dev);
}

std::vector<std::pair<std::string, Tensor>> ThickSliceNet::state() {
  std::vector<std::pair<std::string, Tensor>> out;
  for (const ParamGroup::Entry& e : params.entries()) out.emplace_back(e.name, e.param);
  return out;
}

Tensor ThickSliceNet::forward(const Tensor& x) {
  IM_CHECK(x.ndim() == 4 && x.size(1) == 1, "thick-slice network: expected [N, 1, H, W], got " << x.shape().str());
  Tensor h = x;
  for (size_t k = 0; k < w_.size(); ++k) {
    h = conv2d(h, w_[k], b_[k], 1);
    if (k + 1 < w_.size()) h = relu(h);
  }
  return add(x, h);
}

}  // namespace im::model
