// The training step with its gradient detaching, validation, and inference helpers.
#include "model/trainer.h"

#include <cmath>

#include "engine/autograd.h"
#include "engine/check.h"
#include "engine/losses.h"
#include "engine/ops.h"

namespace im::model {

bool LossValues::finite() const {
  for (double v : {discriminator, site, adversarial, confusion, biological, l1, kl, ssim, generator})
    if (!std::isfinite(v)) return false;
  return true;
}

LossValues read(const StepLosses& l) {
  auto r = [](const Tensor& t) { return t.defined() ? static_cast<double>(t.item()) : 0.0; };
  LossValues v;
  v.discriminator = r(l.discriminator), v.site = r(l.site), v.adversarial = r(l.adversarial);
  v.confusion = r(l.confusion), v.biological = r(l.biological), v.l1 = r(l.l1), v.kl = r(l.kl);
  v.ssim = r(l.ssim), v.generator = r(l.generator);
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

StepLosses Trainer::step(const TrainBatch& b) {
  const ModelConfig& mc = model_.config();
  const Device dev = model_.device();
  const int64_t n = b.s1.size(0);
  IM_CHECK(b.s1.device() == dev && b.s2.device() == dev, "training batch and model are on different devices");
  StepLosses L;
  autograd::clear_tape();

  // One gamma per sample, applied to both slices (paper 2.2.1).
  Tensor s1g, s2g, fg;
  {
    NoGrad ng;
    Tensor gamma = rand_uniform({n}, rng_, dev, cfg_.gamma_min, cfg_.gamma_max);
    s1g = gamma_transform(b.s1, gamma);
    s2g = gamma_transform(b.s2, gamma);
    fg = greater_equal(b.s1, mc.background_threshold);
  }

  // Generator forward, recorded once and differentiated in phase 3.
  Code anat = model_.encode_anatomy(b.s1, &rng_);
  Code con = model_.encode_contrast(s2g, &rng_);
  Tensor fake = model_.decode(anat.z, con.z, s1g);

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
  model_.site_head.zero_grad();
  {
    Tensor logits = model_.site_logits(anat.z.detach());
    L.site = site_cross_entropy(logits, b.site, cfg_.site_smoothing);
    autograd::backward(L.site, true);
    adam_step(model_.site_head, adam_);
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
    L.confusion = confusion_loss(model_.site_logits(anat.z));
    L.l1 = masked_l1(fake, s1g, fg);
    L.kl = kl_divergence(anat.mu, anat.logvar);
    if (cfg_.kl_contrast) L.kl = add(L.kl, kl_divergence(con.mu, con.logvar));
    Tensor total = add(mul_scalar(L.adversarial, cfg_.lambda_adv), mul_scalar(L.confusion, cfg_.lambda_confusion));
    total = add(total, mul_scalar(L.l1, cfg_.lambda_l1));
    total = add(total, mul_scalar(L.kl, cfg_.lambda_kl));
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
  return f;
}

Tensor mean_contrast_code(ImUnity& model, const Tensor& slices) {
  NoGrad ng;
  Code c = model.encode_contrast(slices, nullptr);
  return mean(c.mu, 0, 1, true);
}

Tensor harmonize_slices(ImUnity& model, const Tensor& slices, const Tensor& contrast_code) {
  NoGrad ng;
  Code a = model.encode_anatomy(slices, nullptr);
  return model.decode(a.z, contrast_code, slices);
}

}  // namespace im::model
