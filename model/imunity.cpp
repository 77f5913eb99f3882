// Construction, initialization and forward passes of the ImUnity networks.
#include "model/imunity.h"

#include <cmath>

#include "engine/autograd.h"
#include "engine/ops.h"
#include "kernels/check.h"

namespace im::model {

namespace {
// The darkest foreground value's rank under model.anatomy_input "rank": above the background's 0,
// as the darkest brain voxel of an image is (benchmarks/pytorch_reference.py uses the same).
constexpr float kRankFloor = 0.05f;
}  // namespace

ImUnity::ImUnity(const ModelConfig& cfg, Device dev, uint64_t init_seed) : ImUnity(cfg, DeclareOnly{}) {
  finalize_groups(true);
  initialize(init_seed);
  to(dev);
}

std::unique_ptr<ImUnity> ImUnity::declare(const ModelConfig& cfg) { return std::unique_ptr<ImUnity>(new ImUnity(cfg, DeclareOnly{})); }

std::unique_ptr<ImUnity> ImUnity::for_loading(const ModelConfig& cfg, bool optimizer_state) {
  std::unique_ptr<ImUnity> m(new ImUnity(cfg, DeclareOnly{}));
  m->finalize_groups(optimizer_state);
  return m;
}

void ImUnity::finalize_groups(bool optimizer_state) {
  for (ParamGroup* g : {&generator, &discriminator, &site_head}) g->finalize(Device::CPU, optimizer_state);
}

ImUnity::ImUnity(const ModelConfig& cfg, DeclareOnly) : cfg_(cfg) {
  cfg_.validate();
  const auto& ew = cfg_.encoder_widths;
  int cin = 1;
  for (int i = 0; i < 5; ++i) {
    // The contrast encoder keeps the paper's four halvings: its map is pooled to one vector anyway
    // when the anatomy code is finer (config validation).
    const int contrast_stride = i < 4 ? 2 : 1;
    anatomy_convs_.push_back(make_conv(generator, "anatomy_encoder.conv" + std::to_string(i), cin, ew[i], 3, cfg_.encoder_stride(i)));
    contrast_convs_.push_back(make_conv(generator, "contrast_encoder.conv" + std::to_string(i), cin, ew[i], 3, contrast_stride));
    cin = ew[i];
  }
  // Three per-pixel dense layers (1x1 convs) to the contrast code's mean and log-variance.
  int din = ew.back();
  for (int i = 0; i < 3; ++i) {
    contrast_dense_.push_back(make_conv(generator, "contrast_encoder.dense" + std::to_string(i), din, cfg_.contrast_dense_width, 1, 1));
    din = cfg_.contrast_dense_width;
  }
  const auto& dw = cfg_.decoder_widths;
  cin = cfg_.anatomy_channels + cfg_.contrast_channels;
  const bool resize = cfg_.decoder_upsample == "nearest";
  for (int i = 0; i < 5; ++i) {
    // A resize-convolution layer keeps its stride in Conv::stride: 2 means "upsample, then conv".
    decoder_.push_back(resize ? make_conv(generator, "decoder.conv" + std::to_string(i), cin, dw[i], 3, cfg_.decoder_stride(i))
                              : make_tconv(generator, "decoder.tconv" + std::to_string(i), cin, dw[i], 3, cfg_.decoder_stride(i)));
    cin = dw[i];
  }
  decoder_.push_back(resize ? make_conv(generator, "decoder.out", cin, 1, 3, 1) : make_tconv(generator, "decoder.out", cin, 1, 3, 1));
  const int latent = cfg_.anatomy_channels * cfg_.latent_h() * cfg_.latent_w();
  for (size_t k = 0; k < cfg_.bio.size(); ++k) {
    std::string n = "bio." + cfg_.bio[k].name;
    bio_heads_.emplace_back(make_dense(generator, n + ".fc1", latent, cfg_.site_hidden),
                            make_dense(generator, n + ".fc2", cfg_.site_hidden, 1));
  }

  cin = 1;
  for (int i = 0; i < 3; ++i) {
    disc_convs_.push_back(make_conv(discriminator, "discriminator.conv" + std::to_string(i), cin, cfg_.disc_width, 3, 2));
    BatchNorm bn;
    std::string n = "discriminator.bn" + std::to_string(i);
    bn.gamma = discriminator.add(n + ".gamma", {cfg_.disc_width});
    bn.beta = discriminator.add(n + ".beta", {cfg_.disc_width});
    disc_bn_.push_back(bn);
    cin = cfg_.disc_width;
  }
  disc_convs_.push_back(make_conv(discriminator, "discriminator.out", cin, 1, 3, 1));

  site_fc1_ = make_dense(site_head, "site_head.fc1", cfg_.site_head_input == "pooled" ? 2 * cfg_.anatomy_channels : latent,
                         cfg_.site_hidden);
  site_fc2_ = make_dense(site_head, "site_head.fc2", cfg_.site_hidden, cfg_.n_sites);
  for (BatchNorm& bn : disc_bn_) {
    bn.running_mean = Tensor::zeros({cfg_.disc_width});
    bn.running_var = Tensor::full({cfg_.disc_width}, 1.f);
  }
}

Conv ImUnity::make_conv(ParamGroup& g, const std::string& name, int cin, int cout, int k, int stride) {
  Conv c;
  c.w = g.add(name + ".weight", {cout, cin, k, k});
  c.b = g.add(name + ".bias", {cout});
  c.stride = stride;
  bool disc = &g == &discriminator;
  std::string kind = disc ? "truncnormal" : (cfg_.init == "authors" ? "normal" : "he");
  init_specs_.push_back({c.w, kind, disc ? 0.02f : 0.05f, cin * k * k, cout * k * k});
  return c;
}

Conv ImUnity::make_tconv(ParamGroup& g, const std::string& name, int cin, int cout, int k, int stride) {
  Conv c;
  c.w = g.add(name + ".weight", {cin, cout, k, k});
  c.b = g.add(name + ".bias", {cout});
  c.stride = stride;
  // A transposed conv's fan-in per output pixel is about cin * k * k / stride^2.
  int fan_in = std::max(1, cin * k * k / (stride * stride));
  init_specs_.push_back({c.w, cfg_.init == "authors" ? "normal" : "he", 0.05f, fan_in, cout * k * k});
  return c;
}

Dense ImUnity::make_dense(ParamGroup& g, const std::string& name, int in, int out) {
  Dense d;
  d.w = g.add(name + ".weight", {out, in});
  d.b = g.add(name + ".bias", {out});
  init_specs_.push_back({d.w, "glorot", 1.f, in, out});
  return d;
}

void ImUnity::initialize(uint64_t seed) {
  // Deterministic on the CPU from one seed, whatever device the model then moves to. Biases start
  // at zero; batch-norm scales at one.
  Generator gen(seed);
  for (InitSpec& s : init_specs_) {
    if (s.kind == "he") {
      fill_normal(s.w, gen, 0.f, std::sqrt(2.f / static_cast<float>(s.fan_in)));
    } else if (s.kind == "normal") {
      fill_normal(s.w, gen, 0.f, s.scale);
    } else if (s.kind == "truncnormal") {
      // Keras' truncated normal: redraw values beyond two standard deviations (here: fold them in).
      fill_normal(s.w, gen, 0.f, 1.f);
      float* p = s.w.data();
      for (int64_t i = 0; i < s.w.numel(); ++i) p[i] = s.scale * std::fmod(p[i], 2.f);
    } else {
      float a = std::sqrt(6.f / static_cast<float>(s.fan_in + s.fan_out));
      fill_uniform(s.w, gen, -a, a);
    }
  }
  for (BatchNorm& bn : disc_bn_) bn.gamma.fill_(1.f);
  init_specs_.clear();
}

void ImUnity::to(Device dev) {
  generator.to(dev);
  discriminator.to(dev);
  site_head.to(dev);
  for (BatchNorm& bn : disc_bn_) {
    bn.running_mean = bn.running_mean.to(dev);
    bn.running_var = bn.running_var.to(dev);
  }
}

namespace {
Tensor conv_relu(const Conv& c, const Tensor& x, bool act) {
  Tensor y = conv2d(x, c.w, c.b, c.stride);
  return act ? relu(y) : y;
}
Code split_code(const Tensor& h, int channels, Generator* rng) {
  std::vector<Tensor> parts = split(h, {channels, channels}, 1);
  Code c{parts[0], parts[1], Tensor()};
  c.z = rng ? reparameterize(c.mu, c.logvar, *rng) : c.mu;
  return c;
}
}  // namespace

Code ImUnity::encode_anatomy(const Tensor& x, Generator* rng) const {
  IM_CHECK(x.ndim() == 4 && x.size(1) == 1 && x.size(2) == cfg_.image_h && x.size(3) == cfg_.image_w,
           "anatomy encoder: expected [N, 1, " << cfg_.image_h << ", " << cfg_.image_w << "], got " << x.shape().str());
  Tensor h = x;
  if (cfg_.anatomy_input == "rank") {
    NoGrad ng;  // the ranks are data: nothing upstream of the encoder is trained through them
    h = rank_normalize(x, cfg_.background_threshold, kRankFloor);
  }
  // ReLU after every conv but the last: its output is split into mean and log-variance, which must
  // be free to go negative (the authors' code applies the ReLU before the split; see IMUNITY_NOTES).
  for (size_t i = 0; i < anatomy_convs_.size(); ++i) h = conv_relu(anatomy_convs_[i], h, i + 1 < anatomy_convs_.size());
  return split_code(h, cfg_.anatomy_channels, rng);
}

Code ImUnity::encode_contrast(const Tensor& x, Generator* rng) const {
  IM_CHECK(x.ndim() == 4 && x.size(1) == 1 && x.size(2) == cfg_.image_h && x.size(3) == cfg_.image_w,
           "contrast encoder: expected [N, 1, " << cfg_.image_h << ", " << cfg_.image_w << "], got " << x.shape().str());
  Tensor h = x;
  for (const Conv& c : contrast_convs_) h = conv_relu(c, h, true);
  if (cfg_.contrast_pooled) h = mean(h, 2, 4, true);  // the paper's reduction of spatial information
  for (size_t i = 0; i < contrast_dense_.size(); ++i) h = conv_relu(contrast_dense_[i], h, i + 1 < contrast_dense_.size());
  return split_code(h, cfg_.contrast_channels, rng);
}

Tensor ImUnity::decode(const Tensor& z_anatomy, const Tensor& z_contrast, const Tensor& background_source) const {
  Tensor zc = z_contrast;
  if (zc.size(0) != z_anatomy.size(0) || zc.size(2) != z_anatomy.size(2) || zc.size(3) != z_anatomy.size(3)) {
    // A pooled contrast vector, or one stored code for a whole batch, is broadcast over the batch
    // and the latent grid.
    Tensor grid = Tensor::zeros({z_anatomy.size(0), zc.size(1), z_anatomy.size(2), z_anatomy.size(3)}, z_anatomy.device());
    zc = add(grid, zc);
  }
  Tensor h = concat({z_anatomy, zc}, 1);
  for (size_t i = 0; i < decoder_.size(); ++i) {
    const Conv& c = decoder_[i];
    if (cfg_.decoder_upsample == "nearest")
      h = conv2d(c.stride == 2 ? upsample2x(h) : h, c.w, c.b, 1);
    else
      h = conv_transpose2d(h, c.w, c.b, c.stride);
    if (i + 1 < decoder_.size()) h = relu(h);
  }
  Tensor out = sigmoid(h);
  if (!background_source.defined()) return out;
  Tensor fg = Tensor::empty_like(background_source);
  {
    // The mask is data, not a function of parameters: computed without the tape.
    NoGrad ng;
    fg = greater_equal(background_source, cfg_.background_threshold);
  }
  return where(fg, out, background_source.detach());
}

Tensor ImUnity::discriminate(const Tensor& x, bool training, bool update_stats) {
  Tensor h = x;
  for (size_t i = 0; i < disc_bn_.size(); ++i) {
    h = conv2d(h, disc_convs_[i].w, disc_convs_[i].b, 2);
    BatchNorm& bn = disc_bn_[i];
    h = batch_norm(h, bn.gamma, bn.beta, bn.running_mean, bn.running_var, training,
                   update_stats ? cfg_.bn_momentum : 0.f, cfg_.bn_eps);
    h = leaky_relu(h, cfg_.disc_leaky_alpha);
  }
  return conv2d(h, disc_convs_.back().w, disc_convs_.back().b, 1);
}

Tensor ImUnity::site_logits(const Tensor& z_anatomy) const {
  Tensor in = cfg_.site_head_input == "pooled"
                  ? concat({mean(z_anatomy, 2, 4, false), mean(mul(z_anatomy, z_anatomy), 2, 4, false)}, 1)
                  : flatten(z_anatomy);
  Tensor h = relu(linear(in, site_fc1_.w, site_fc1_.b));
  return linear(h, site_fc2_.w, site_fc2_.b);
}

Tensor ImUnity::bio_output(size_t k, const Tensor& z_anatomy) const {
  IM_CHECK(k < bio_heads_.size(), "no biological head " << k);
  const auto& [fc1, fc2] = bio_heads_[k];
  return linear(relu(linear(flatten(z_anatomy), fc1.w, fc1.b)), fc2.w, fc2.b);
}

std::vector<std::pair<std::string, Tensor*>> ImUnity::buffers() {
  std::vector<std::pair<std::string, Tensor*>> out;
  for (size_t i = 0; i < disc_bn_.size(); ++i) {
    std::string n = "discriminator.bn" + std::to_string(i);
    out.emplace_back(n + ".running_mean", &disc_bn_[i].running_mean);
    out.emplace_back(n + ".running_var", &disc_bn_[i].running_var);
  }
  return out;
}

}  // namespace im::model
