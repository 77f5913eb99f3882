// The training step with its gradient detaching, validation, and inference helpers.
#include "model/trainer.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "engine/autograd.h"
#include "engine/losses.h"
#include "engine/ops.h"
#include "kernels/check.h"

namespace im::model {

bool LossValues::finite() const {
  for (double v : {discriminator, site, adversarial, confusion, biological, l1, kl, ssim, invariance, generator})
    if (!std::isfinite(v)) return false;
  return true;
}

LossValues read(const StepLosses& l) {
  auto r = [](const Tensor& t) { return t.defined() ? static_cast<double>(t.item()) : 0.0; };
  LossValues v;
  v.discriminator = r(l.discriminator), v.site = r(l.site), v.adversarial = r(l.adversarial);
  v.confusion = r(l.confusion), v.biological = r(l.biological), v.l1 = r(l.l1), v.kl = r(l.kl);
  v.ssim = r(l.ssim), v.invariance = r(l.invariance), v.generator = r(l.generator);
  return v;
}

Trainer::Trainer(ImUnity& model, const TrainConfig& cfg) : model_(model), cfg_(cfg), rng_(cfg.seed, 0) {
  cfg_.validate();
  adam_.lr = cfg.lr;
  adam_.beta1 = cfg.beta1;
  adam_.beta2 = cfg.beta2;
}

Tensor Trainer::biological_loss(const Tensor& z_anatomy, const Tensor& targets) {
  const auto& feats = model_.config().bio;
  Tensor total;
  const int64_t n = z_anatomy.size(0);
  for (size_t k = 0; k < feats.size(); ++k) {
    Tensor out = model_.bio_output(k, z_anatomy);  // [N, 1]
    Tensor t;
    {
      NoGrad ng;
      // Column k of the targets, as [N, 1].
      t = split(targets, {static_cast<int64_t>(k), 1, static_cast<int64_t>(feats.size() - k - 1)}, 1)[1];
      if (feats[k].kind == "binary") {
        float s = feats[k].smoothing;
        t = add_scalar(mul_scalar(t, 1.f - s), 0.5f * s);
      } else {
        t = mul_scalar(add_scalar(t, -feats[k].mean), 1.f / feats[k].scale);
      }
    }
    Tensor lk = feats[k].kind == "binary" ? bce_with_logits(out, t)
                                           : masked_l1(out, t, Tensor::full({n, 1}, 1.f, out.device()));
    total = total.defined() ? add(total, lk) : lk;
  }
  return total;
}

Tensor Trainer::kl_term(const Code& c) const {
  Tensor kl = kl_divergence(c.mu, c.logvar);  // summed over a sample's elements, mean over the batch
  if (cfg_.kl_reduction == "sum") return kl;
  return mul_scalar(kl, static_cast<float>(c.mu.size(0)) / static_cast<float>(c.mu.numel()));
}

namespace {
// [N, C, H, W] -> [N, C * 16]: the mean of each of the 4 x 4 blocks of every channel.
Tensor pool4x4(const Tensor& z) {
  const int64_t n = z.size(0), c = z.size(1), h = z.size(2), w = z.size(3);
  IM_CHECK(h % 4 == 0 && w % 4 == 0, "invariance_pooled needs a code whose size is a multiple of 4, got " << h << " x " << w);
  Tensor r = reshape(z, {n * c, 4, h / 4, 4, w / 4});
  r = mean(mean(r, 4, 5, false), 2, 3, false);  // [N*C, 4, 4]
  return reshape(r, {n, c * 16});
}
}  // namespace

Tensor Trainer::invariance_term(const Tensor& mu_input, const Tensor& mu_acquired) const {
  if (!cfg_.invariance_pooled) {
    // Mean codes (no sampling noise), relative to the acquired code's mean square, held constant.
    float scale = 0.f;
    {
      NoGrad ng;
      scale = mean(mul(mu_acquired, mu_acquired)).item();
    }
    Tensor d = sub(mu_input, mu_acquired);
    return mul_scalar(mean(mul(d, d)), 1.f / std::max(scale, 1e-8f));
  }
  Tensor pa = pool4x4(mu_input), pq = pool4x4(mu_acquired);
  // [1, F]: 1 / (the feature's variance over the batch), held constant. Worked out on the host: the
  // engine has no reciprocal op, and it is one N x F copy each way per step, beside a whole step.
  Tensor inv_var;
  {
    NoGrad ng;
    const int64_t n = pq.size(0), f = pq.size(1);
    const std::vector<float> v = pq.to_vector();
    std::vector<float> w(static_cast<size_t>(f));
    for (int64_t j = 0; j < f; ++j) {
      double s = 0, s2 = 0;
      for (int64_t i = 0; i < n; ++i) s += v[static_cast<size_t>(i * f + j)], s2 += static_cast<double>(v[static_cast<size_t>(i * f + j)]) * v[static_cast<size_t>(i * f + j)];
      const double var = std::max(s2 / static_cast<double>(n) - (s / static_cast<double>(n)) * (s / static_cast<double>(n)), 0.0);
      w[static_cast<size_t>(j)] = static_cast<float>(1.0 / (var + 1e-6));
    }
    inv_var = Tensor::from_vector(w, {1, f}).to(pq.device());
  }
  Tensor d = sub(pa, pq);
  return mean(mul(mul(d, d), inv_var));
}

StepLosses Trainer::step(const TrainBatch& b) {
  const ModelConfig& mc = model_.config();
  const Device dev = model_.device();
  const int64_t n = b.s1.size(0);
  IM_CHECK(b.s1.device() == dev && b.s2.device() == dev, "training batch and model are on different devices");
  IM_CHECK(!b.s1a.defined() || (b.s1a.device() == dev && b.s1a.shape() == b.s1.shape()),
           "the anatomy input of a training batch must match s1 in shape and device");
  StepLosses L;
  autograd::clear_tape();

  // One gamma per sample, applied to both slices (paper 2.2.1).
  Tensor s1g, s2g, fg, s1a = b.s1a.defined() ? b.s1a : b.s1;
  {
    NoGrad ng;
    Tensor gamma = rand_uniform({n}, rng_, dev, cfg_.gamma_min, cfg_.gamma_max);
    s1g = gamma_transform(b.s1, gamma);
    s2g = gamma_transform(b.s2, gamma);
    fg = greater_equal(b.s1, mc.background_threshold);
    if (cfg_.anatomy_gamma) s1a = gamma_transform(s1a, rand_uniform({n}, rng_, dev, cfg_.gamma_min, cfg_.gamma_max));
  }

  // Generator forward, recorded once and differentiated in phase 3. The codes are drawn with fresh
  // noise, with the same noise at every step (a generator restarted each step), or not at all.
  Generator fixed_noise(cfg_.seed ^ 0xf12edull, 0);
  Generator* noise = cfg_.latent_sampling == "fresh" ? &rng_ : cfg_.latent_sampling == "fixed" ? &fixed_noise : nullptr;
  Code anat = model_.encode_anatomy(s1a, noise);
  Code con = model_.encode_contrast(s2g, noise);
  Tensor fake = model_.decode(anat.z, con.z, s1g);
  // The codes the site head and the confusion term see: the decoder's, and with site_on_acquired
  // also the code of S1 as acquired (what a scan to harmonize gives the encoder), so that no site
  // signal that augmentation happens to hide in training stays in the codes of real inputs.
  std::vector<Tensor> site_codes{anat.z};
  const bool need_acquired = (cfg_.site_on_acquired && b.s1a.defined()) || cfg_.lambda_invariance > 0.f;
  Code acquired = need_acquired ? model_.encode_anatomy(b.s1, noise) : Code{};
  if (cfg_.site_on_acquired && b.s1a.defined()) site_codes.push_back(acquired.z);
  auto mean_over_codes = [&](auto loss_of) {
    Tensor total;
    for (const Tensor& z : site_codes) total = total.defined() ? add(total, loss_of(z)) : loss_of(z);
    return site_codes.size() > 1 ? mul_scalar(total, 1.f / static_cast<float>(site_codes.size())) : total;
  };

  // Phase 1: discriminator on real S1^gamma vs the detached output (real targets 1 - U(0, noise)).
  model_.discriminator.set_requires_grad(true);
  model_.discriminator.zero_grad();
  {
    Tensor d_real = model_.discriminate(s1g, true, true);
    Tensor d_fake = model_.discriminate(fake.detach(), true, true);
    Tensor real_t = rand_uniform(d_real.shape(), rng_, dev, 1.f - cfg_.real_label_noise, 1.f);
    Tensor fake_t = Tensor::zeros(d_fake.shape(), dev);
    L.discriminator = mul_scalar(add(bce_with_logits(d_real, real_t), bce_with_logits(d_fake, fake_t)), 0.5f);
    autograd::backward(L.discriminator, true);
    adam_step(model_.discriminator, adam_);
  }

  // Phase 2: site head on the DETACHED anatomy code (eq. 1): it learns to recognize the site but
  // cannot push the encoder towards site information.
  model_.site_head.set_requires_grad(true);
  for (int k = 0; k < cfg_.site_steps; ++k) {
    model_.site_head.zero_grad();
    Tensor site = mean_over_codes(
        [&](const Tensor& z) { return site_cross_entropy(model_.site_logits(z.detach()), b.site, cfg_.site_smoothing); });
    if (k == 0) L.site = site;  // the loss the step reports: before this step's updates
    if (k > 0 && !replay_.empty()) {
      // The memory: one past step's codes, weighted as much as the present ones.
      // Which one: a hash of (seed, step, update), so a run is reproducible and the RNG's stream unchanged.
      uint64_t h = cfg_.seed ^ (static_cast<uint64_t>(step_) * 0x9E3779B97F4A7C15ull) ^ (static_cast<uint64_t>(k) * 0xBF58476D1CE4E5B9ull);
      h ^= h >> 31, h *= 0x94D049BB133111EBull, h ^= h >> 29;
      const auto& [z, labels] = replay_[h % replay_.size()];
      site = mul_scalar(add(site, site_cross_entropy(model_.site_logits(z), labels, cfg_.site_smoothing)), 0.5f);
    }
    autograd::backward(site, true);
    adam_step(model_.site_head, adam_);
  }
  if (cfg_.site_replay > 0) {
    for (const Tensor& z : site_codes) {
      Tensor kept = Tensor::empty_like(z);
      kept.copy_from(z.detach());  // its own memory: the step's buffers are reused
      replay_.emplace_back(kept, b.site);
    }
    while (static_cast<int64_t>(replay_.size()) > static_cast<int64_t>(cfg_.site_replay) * static_cast<int64_t>(site_codes.size()))
      replay_.pop_front();
  }

  // Phase 3: generator. The adversaries are frozen: their parameters pass gradients to the
  // generator but receive none, so the confusion term cannot train the site head.
  model_.discriminator.set_requires_grad(false);
  model_.site_head.set_requires_grad(false);
  model_.generator.zero_grad();
  {
    Tensor d_gen = model_.discriminate(fake, true, false);
    // Non-saturating form of -l_disc (the authors' code and common practice): BCE(D(G), 1).
    L.adversarial = bce_with_logits(d_gen, Tensor::full(d_gen.shape(), 1.f, dev));
    L.confusion = mean_over_codes([&](const Tensor& z) { return confusion_loss(model_.site_logits(z)); });
    L.l1 = masked_l1(fake, s1g, fg);
    L.kl = kl_term(anat);
    if (cfg_.kl_contrast) L.kl = add(L.kl, kl_term(con));
    Tensor total = add(mul_scalar(L.adversarial, cfg_.lambda_adv), mul_scalar(L.confusion, cfg_.lambda_confusion));
    total = add(total, mul_scalar(L.l1, cfg_.lambda_l1));
    total = add(total, mul_scalar(L.kl, cfg_.lambda_kl));
    if (cfg_.lambda_invariance > 0.f) {
      L.invariance = invariance_term(anat.mu, acquired.mu);
      total = add(total, mul_scalar(L.invariance, cfg_.lambda_invariance));
    }
    if (cfg_.lambda_ssim > 0.f) {
      L.ssim = ssim_loss(fake, s1g);
      total = add(total, mul_scalar(L.ssim, cfg_.lambda_ssim));
    }
    if (!mc.bio.empty() && cfg_.lambda_bio > 0.f) {
      IM_CHECK(b.bio.defined() && b.bio.size(1) == static_cast<int64_t>(mc.bio.size()),
               "the model has " << mc.bio.size() << " biological heads but the batch carries no matching targets");
      L.biological = biological_loss(anat.z, b.bio);
      total = add(total, mul_scalar(L.biological, cfg_.lambda_bio));
    }
    L.generator = total;
    autograd::backward(total);  // also clears the tape
    adam_step(model_.generator, adam_);
  }
  model_.discriminator.set_requires_grad(true);
  model_.site_head.set_requires_grad(true);
  ++step_;
  return L;
}

ValidationFigures Trainer::validate(const TrainBatch& b) {
  ValidationFigures f = validate_no_grad(b);
  // How hard each reconstruction loss pulls on the output image: the norms of d(L1)/d(out) and
  // d(1 - SSIM)/d(out), unweighted (what lambda_ssim must make up for to matter beside lambda_l1).
  const ModelConfig& mc = model_.config();
  Generator vrng(cfg_.seed ^ 0x5eed5eedull, 0);
  Tensor gamma = rand_uniform({b.s1.size(0)}, vrng, model_.device(), cfg_.gamma_min, cfg_.gamma_max);
  Tensor s1g, out;
  {
    NoGrad ng;
    s1g = gamma_transform(b.s1, gamma);
    Code anat = model_.encode_anatomy(b.s1, nullptr);
    Code con = model_.encode_contrast(gamma_transform(b.s2, gamma), nullptr);
    out = model_.decode(anat.z, con.z, s1g);
  }
  auto grad_norm = [&](bool ssim) {
    Tensor o = out.detach();
    o.set_requires_grad(true);
    autograd::clear_tape();
    Tensor loss = ssim ? ssim_loss(o, s1g) : masked_l1(o, s1g, greater_equal(b.s1, mc.background_threshold));
    autograd::backward(loss);
    double s = 0;
    for (float g : o.grad().to_vector()) s += static_cast<double>(g) * g;
    return std::sqrt(s);
  };
  f.grad_l1 = grad_norm(false);
  f.grad_ssim = grad_norm(true);
  return f;
}

ValidationFigures Trainer::validate_no_grad(const TrainBatch& b) {
  NoGrad ng;
  const ModelConfig& mc = model_.config();
  const Device dev = model_.device();
  const int64_t n = b.s1.size(0);
  // A fixed generator so that every validation sees the same gammas.
  Generator vrng(cfg_.seed ^ 0x5eed5eedull, 0);
  Tensor gamma = rand_uniform({n}, vrng, dev, cfg_.gamma_min, cfg_.gamma_max);
  Tensor s1g = gamma_transform(b.s1, gamma), s2g = gamma_transform(b.s2, gamma);
  Tensor fg = greater_equal(b.s1, mc.background_threshold);
  Code anat = model_.encode_anatomy(b.s1, nullptr);
  Code con = model_.encode_contrast(s2g, nullptr);
  Tensor out = model_.decode(anat.z, con.z, s1g);
  ValidationFigures f;
  f.samples = n;
  f.l1 = masked_l1(out, s1g, fg).item();
  f.ssim = 1.0 - ssim_loss(out, s1g).item();
  std::vector<float> logits = model_.site_logits(anat.z).to_vector();
  std::vector<float> site = b.site.to_vector();
  const int s = mc.n_sites;
  int correct = 0;
  for (int64_t i = 0; i < n; ++i) {
    int best = 0;
    for (int k = 1; k < s; ++k)
      if (logits[i * s + k] > logits[i * s + best]) best = k;
    correct += best == static_cast<int>(site[i]);
  }
  f.site_accuracy = static_cast<double>(correct) / static_cast<double>(n);
  f.kl_per_slice = kl_divergence(anat.mu, anat.logvar).item();
  const CodeSpread spread = code_spread(anat);
  f.code_between_var = spread.between, f.code_posterior_var = spread.posterior;
  return f;
}

CodeSpread code_spread(const Code& c) {
  const std::vector<float> mu = c.mu.to_vector(), logvar = c.logvar.to_vector();
  const int64_t n = c.mu.size(0), per = c.mu.numel() / n;
  CodeSpread s;
  for (int64_t e = 0; e < per; ++e) {
    double m = 0, m2 = 0;
    for (int64_t i = 0; i < n; ++i) m += mu[i * per + e];
    m /= static_cast<double>(n);
    for (int64_t i = 0; i < n; ++i) m2 += (mu[i * per + e] - m) * (mu[i * per + e] - m);
    s.between += m2 / static_cast<double>(std::max<int64_t>(n - 1, 1));
  }
  s.between /= static_cast<double>(per);
  for (float lv : logvar) s.posterior += std::exp(static_cast<double>(lv));
  s.posterior /= static_cast<double>(logvar.size());
  return s;
}

}  // namespace im::model
