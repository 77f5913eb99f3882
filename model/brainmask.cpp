// The brain-extraction U-Net: construction, initialization, forward.
#include "model/brainmask.h"

#include <cmath>

#include "engine/ops.h"
#include "engine/rng.h"
#include "kernels/check.h"

namespace im::model {

void BrainMaskConfig::validate() const {
  IM_CHECK(widths.size() >= 2 && widths.size() <= 6, "brain mask network: 2 to 6 levels (widths), got " << widths.size());
  for (int w : widths) IM_CHECK(w > 0 && w <= 1024, "brain mask network: channel width " << w << " out of range");
  IM_CHECK(context >= 0 && context <= 4, "brain mask network: context " << context << " not in 0..4");
  IM_CHECK(out_context >= 0 && out_context <= context,
           "brain mask network: out_context " << out_context << " not in 0..context (" << context << ")");
  IM_CHECK(voxel_mm > 0 && voxel_mm <= 8, "brain mask network: voxel_mm " << voxel_mm << " not in (0, 8]");
  IM_CHECK(bn_momentum >= 0 && bn_momentum <= 1 && bn_eps > 0, "brain mask network: bad batch-norm settings");
}

void to_json(nlohmann::json& j, const BrainMaskConfig& c) {
  j = {{"widths", c.widths},     {"context", c.context}, {"out_context", c.out_context},
       {"voxel_mm", c.voxel_mm}, {"bn_momentum", c.bn_momentum}, {"bn_eps", c.bn_eps}};
}

void from_json(const nlohmann::json& j, BrainMaskConfig& c) {
  for (auto it = j.begin(); it != j.end(); ++it)
    IM_CHECK(it.key() == "widths" || it.key() == "context" || it.key() == "out_context" || it.key() == "voxel_mm" ||
                 it.key() == "bn_momentum" || it.key() == "bn_eps",
             "brain mask config: unknown key \"" << it.key() << "\"");
  c.widths = j.value("widths", c.widths);
  c.context = j.value("context", c.context);
  c.out_context = j.value("out_context", c.out_context);
  c.voxel_mm = j.value("voxel_mm", c.voxel_mm);
  c.bn_momentum = j.value("bn_momentum", c.bn_momentum);
  c.bn_eps = j.value("bn_eps", c.bn_eps);
  c.validate();
}

BrainMaskNet::BrainMaskNet(const BrainMaskConfig& cfg, Device dev, uint64_t init_seed) : cfg_(cfg) {
  cfg_.validate();
  const auto& w = cfg_.widths;
  const int levels = cfg_.levels();
  for (int k = 0; k < levels; ++k) {
    const std::string n = "enc" + std::to_string(k);
    enc_a_.push_back(make_conv_bn(n + ".a", k == 0 ? cfg_.in_channels() : w[k - 1], w[k], k == 0 ? 1 : 2));
    enc_b_.push_back(make_conv_bn(n + ".b", w[k], w[k], 1));
  }
  for (int k = 0; k + 1 < levels; ++k) {
    const std::string n = "dec" + std::to_string(k);
    up_.push_back({params.add(n + ".up.weight", {w[k + 1], w[k], 3, 3}), params.add(n + ".up.bias", {w[k]})});
    dec_.push_back(make_conv_bn(n + ".conv", 2 * w[k], w[k], 1));
  }
  out_w_ = params.add("out.weight", {cfg_.out_channels(), w[0], 1, 1});
  out_b_ = params.add("out.bias", {cfg_.out_channels()});
  params.finalize(Device::CPU);

  // He-normal convolutions (ReLU follows each), batch norm at identity, zero biases; deterministic
  // on the CPU from the seed whatever the device.
  Generator gen(init_seed);
  auto he = [&](Tensor& t, int64_t fan_in) { fill_normal(t, gen, 0.f, std::sqrt(2.f / static_cast<float>(fan_in))); };
  for (auto* list : {&enc_a_, &enc_b_, &dec_})
    for (ConvBn& c : *list) {
      he(c.w, c.w.size(1) * 9);
      c.gamma.fill_(1.f);
      c.running_mean = Tensor::zeros(c.gamma.shape());
      c.running_var = Tensor::full(c.gamma.shape(), 1.f);
    }
  for (Up& u : up_) he(u.w, u.w.size(0) * 9 / 4);  // each output pixel sees about a quarter of the taps
  fill_normal(out_w_, gen, 0.f, std::sqrt(1.f / static_cast<float>(w[0])));
  to(dev);
}

BrainMaskNet::ConvBn BrainMaskNet::make_conv_bn(const std::string& name, int cin, int cout, int stride) {
  ConvBn c;
  c.w = params.add(name + ".weight", {cout, cin, 3, 3});
  c.gamma = params.add(name + ".bn.gamma", {cout});
  c.beta = params.add(name + ".bn.beta", {cout});
  c.stride = stride;
  return c;
}

void BrainMaskNet::to(Device dev) {
  params.to(dev);
  for (auto& [name, t] : buffers()) *t = t->to(dev);
}

std::vector<std::pair<std::string, Tensor*>> BrainMaskNet::buffers() {
  std::vector<std::pair<std::string, Tensor*>> out;
  auto add = [&](const std::string& n, ConvBn& c) {
    out.emplace_back(n + ".bn.running_mean", &c.running_mean);
    out.emplace_back(n + ".bn.running_var", &c.running_var);
  };
  for (size_t k = 0; k < enc_a_.size(); ++k) {
    add("enc" + std::to_string(k) + ".a", enc_a_[k]);
    add("enc" + std::to_string(k) + ".b", enc_b_[k]);
  }
  for (size_t k = 0; k < dec_.size(); ++k) add("dec" + std::to_string(k) + ".conv", dec_[k]);
  return out;
}

std::vector<std::pair<std::string, Tensor>> BrainMaskNet::state() {
  std::vector<std::pair<std::string, Tensor>> out;
  for (const ParamGroup::Entry& e : params.entries()) out.emplace_back(e.name, e.param);
  for (auto& [name, t] : buffers()) out.emplace_back(name, *t);
  return out;
}

Tensor BrainMaskNet::conv_bn_relu(ConvBn& c, const Tensor& x, bool training, bool update_stats) {
  Tensor y = conv2d(x, c.w, Tensor(), c.stride);
  y = batch_norm(y, c.gamma, c.beta, c.running_mean, c.running_var, training, update_stats ? cfg_.bn_momentum : 0.f,
                 cfg_.bn_eps);
  return relu(y);
}

Tensor BrainMaskNet::forward(const Tensor& x, bool training, bool update_stats) {
  const int64_t m = cfg_.size_multiple();
  IM_CHECK(x.ndim() == 4 && x.size(1) == cfg_.in_channels() && x.size(2) % m == 0 && x.size(3) % m == 0,
           "brain mask network: expected [N, " << cfg_.in_channels() << ", H, W] with H and W multiples of " << m << ", got "
                                               << x.shape().str());
  std::vector<Tensor> skips;
  Tensor h = x;
  for (size_t k = 0; k < enc_a_.size(); ++k) {
    h = conv_bn_relu(enc_a_[k], h, training, update_stats);
    h = conv_bn_relu(enc_b_[k], h, training, update_stats);
    skips.push_back(h);
  }
  for (size_t k = dec_.size(); k-- > 0;) {
    h = conv_transpose2d(h, up_[k].w, up_[k].b, 2);
    h = conv_bn_relu(dec_[k], concat({h, skips[k]}, 1), training, update_stats);
  }
  return conv2d(h, out_w_, out_b_, 1);
}

}  // namespace im::model
