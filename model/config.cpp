// Config validation, presets and JSON (unknown keys are errors, so typos do not pass silently).
#include "model/config.h"

#include <cmath>
#include <set>

#include "kernels/check.h"

namespace im::model {

namespace {
// Bounds far beyond any useful model, so that a corrupt or hostile config (a checkpoint's, too) is
// refused before its sizes reach an allocation or overflow an int: 2048 is a 0.125 mm in-plane grid
// over a whole head.
constexpr int kMaxImageSide = 2048, kMaxWidth = 4096, kMaxSites = 4096, kMaxBio = 64;
}  // namespace

void ModelConfig::validate() const {
  IM_CHECK(image_h > 0 && image_w > 0 && image_h % 16 == 0 && image_w % 16 == 0 && image_h <= kMaxImageSide &&
               image_w <= kMaxImageSide,
           "image size " << image_h << "x" << image_w
                         << " is not usable: both sides must be positive multiples of 16 (the encoders halve "
                            "the size four times), at most "
                         << kMaxImageSide << ", e.g. 128x128 for 2 mm data or 192x224 for the 1 mm MNI grid");
  IM_CHECK(encoder_widths.size() == 5, "encoder_widths needs 5 entries (4 stride-2 convs and one stride-1)");
  IM_CHECK(decoder_widths.size() == 5, "decoder_widths needs 5 entries (one stride-1 and 4 stride-2 transposed convs)");
  auto width = [](const char* name, int v) {
    IM_CHECK(v >= 1 && v <= kMaxWidth, name << " is " << v << ": layer widths must be 1 to " << kMaxWidth);
  };
  for (int w : encoder_widths) width("an encoder width", w);
  for (int w : decoder_widths) width("a decoder width", w);
  width("anatomy_channels", anatomy_channels);
  width("contrast_channels", contrast_channels);
  width("contrast_dense_width", contrast_dense_width);
  width("disc_width", disc_width);
  width("site_hidden", site_hidden);
  IM_CHECK(n_sites <= kMaxSites, "n_sites is " << n_sites << ": at most " << kMaxSites);
  IM_CHECK(bio.size() <= static_cast<size_t>(kMaxBio), bio.size() << " biological features: at most " << kMaxBio);
  IM_CHECK(std::isfinite(background_threshold) && std::isfinite(disc_leaky_alpha) && bn_eps > 0.f && std::isfinite(bn_eps) &&
               bn_momentum > 0.f && bn_momentum <= 1.f,
           "background_threshold, disc_leaky_alpha, bn_eps (> 0) and bn_momentum (0 to 1] must be finite numbers");
  IM_CHECK(encoder_widths.back() == 2 * anatomy_channels,
           "the last encoder width (" << encoder_widths.back() << ") must be 2 x anatomy_channels ("
                                      << anatomy_channels << "): it is split into mean and log-variance");
  IM_CHECK(contrast_dense_width == 2 * contrast_channels,
           "contrast_dense_width (" << contrast_dense_width << ") must be 2 x contrast_channels (" << contrast_channels << ")");
  IM_CHECK(n_sites >= 2, "training needs at least two sites, got " << n_sites);
  IM_CHECK(site_names.empty() || static_cast<int>(site_names.size()) == n_sites,
           site_names.size() << " site names for " << n_sites << " sites");
  IM_CHECK(latent_stride == 16 || latent_stride == 8,
           "latent_stride must be 16 (an 8 x 8 code for 128 x 128 slices) or 8 (16 x 16), got " << latent_stride);
  IM_CHECK(contrast_pooled || latent_stride == 16,
           "latent_stride 8 needs contrast_pooled true (a contrast map stays at 1/16 of the slice)");
  IM_CHECK(anatomy_input == "image" || anatomy_input == "rank",
           "anatomy_input must be \"image\" or \"rank\", got \"" << anatomy_input << "\"");
  IM_CHECK(decoder_upsample == "transposed" || decoder_upsample == "nearest",
           "decoder_upsample must be \"transposed\" or \"nearest\", got \"" << decoder_upsample << "\"");
  IM_CHECK(site_head_input == "flat" || site_head_input == "pooled",
           "site_head_input must be \"flat\" or \"pooled\", got \"" << site_head_input << "\"");
  IM_CHECK(init == "he" || init == "authors", "init must be \"he\" or \"authors\", got \"" << init << "\"");
  for (const BioFeature& b : bio) {
    IM_CHECK(b.kind == "binary" || b.kind == "continuous",
             "biological feature " << b.name << ": kind must be binary or continuous, got " << b.kind);
    IM_CHECK(b.kind != "binary" || b.classes.size() == 2,
             "biological feature " << b.name << ": a binary feature needs exactly two classes");
  }
}

void TrainConfig::apply_preset(const std::string& name) {
  if (name == "paper") {
    // Eq. (4)'s weights. The paper does not say how its KL is reduced; lambda_kl = 1e-3 is read on
    // the KL averaged over latent elements, as the authors' code reduces it.
    lambda_adv = 1.f, lambda_confusion = 1.f, lambda_bio = 1.f, lambda_l1 = 100.f, lambda_kl = 1e-3f, lambda_ssim = 0.f;
    kl_contrast = true;
    kl_reduction = "mean", latent_sampling = "fresh", anatomy_gamma = false, anatomy_augment = false, site_on_acquired = false;
    gamma_min = 0.5f, gamma_max = 1.5f;
    lr = 1e-4f;
    lr_decay = 1.f, early_stop = 0;
  } else if (name == "authors-code") {
    // IMUNITY_NOTES.md: 2*BCE adversarial, 100*L1, 0.01*confusion, 1e-6*KL (anatomy only),
    // 1*(1-SSIM), gamma U(0.4, 1.6), lr 1e-3 x0.8 after 3 flat validations, stop after 30.
    lambda_adv = 2.f, lambda_confusion = 0.01f, lambda_bio = 0.01f, lambda_l1 = 100.f, lambda_kl = 1e-6f,
    lambda_ssim = 1.f;
    // The code's 1e-6 * 0.5 * reduce_mean(1 + logvar - mu^2 - exp(logvar)) is 1e-6 times the KL
    // averaged over elements (the 0.5 is part of the KL); its epsilon is drawn once.
    kl_contrast = false;
    kl_reduction = "mean", latent_sampling = "fixed", anatomy_gamma = false, anatomy_augment = false, site_on_acquired = false;
    gamma_min = 0.4f, gamma_max = 1.6f;
    lr = 1e-3f;
    lr_decay = 0.8f, patience = 3, early_stop = 30;
  } else {
    IM_CHECK(false, "unknown preset \"" << name << "\" (expected paper or authors-code)");
  }
  preset = name;
}

void TrainConfig::validate() const {
  IM_CHECK(batch >= 2, "batch must be at least 2 (batch norm in the discriminator), got " << batch);
  IM_CHECK(site_steps >= 1 && site_steps <= 100, "site_steps must be 1 to 100, got " << site_steps);
  IM_CHECK(site_replay >= 0 && site_replay <= 1000, "site_replay must be 0 to 1000, got " << site_replay);
  IM_CHECK(std::isfinite(lambda_invariance) && lambda_invariance >= 0.f,
           "lambda_invariance must be a finite number >= 0, got " << lambda_invariance);
  IM_CHECK(lambda_invariance == 0.f || anatomy_augment || anatomy_gamma,
           "lambda_invariance needs anatomy_augment or anatomy_gamma: without them the anatomy encoder sees S1 as "
           "acquired and there is nothing to be invariant to");
  IM_CHECK(std::isfinite(anatomy_site_match) && anatomy_site_match >= 0.f && anatomy_site_match <= 1.f,
           "anatomy_site_match is a probability in [0, 1], got " << anatomy_site_match);
  IM_CHECK(anatomy_site_match == 0.f || anatomy_augment,
           "anatomy_site_match changes the anatomy encoder's augmented input: set train.anatomy_augment as well");
  IM_CHECK(steps >= 0, "steps must be >= 0");
  IM_CHECK(gamma_min > 0.f && gamma_max >= gamma_min, "gamma range [" << gamma_min << ", " << gamma_max << "] is not usable");
  IM_CHECK(std::isfinite(lr) && lr > 0.f, "lr must be a finite number above 0, got " << lr);
  IM_CHECK(val_fraction >= 0.f && val_fraction < 1.f, "val_fraction must be in [0, 1)");
  IM_CHECK(kl_reduction == "mean" || kl_reduction == "sum", "kl_reduction must be mean or sum, got " << kl_reduction);
  IM_CHECK(latent_sampling == "fresh" || latent_sampling == "fixed" || latent_sampling == "mean",
           "latent_sampling must be fresh, fixed or mean, got " << latent_sampling);
  IM_CHECK(lr_schedule == "plateau" || lr_schedule == "cosine", "lr_schedule must be plateau or cosine, got " << lr_schedule);
  IM_CHECK(lr_final > 0.f && lr_final <= 1.f, "lr_final (a fraction of lr) must be in (0, 1], got " << lr_final);
  IM_CHECK(warmup >= 0, "warmup must be >= 0 steps, got " << warmup);
  IM_CHECK(norm == "wm-peak" || norm == "white-stripe" || norm == "none",
           "norm must be wm-peak, white-stripe or none, got " << norm);
}

// ---- JSON: explicit field lists, and unknown keys rejected.
namespace {
template <class T>
void get(const nlohmann::json& j, const char* key, T& v, std::set<std::string>& seen) {
  seen.insert(key);
  if (j.contains(key)) v = j.at(key).get<T>();
}
void reject_unknown(const nlohmann::json& j, const std::set<std::string>& seen, const char* what) {
  for (auto it = j.begin(); it != j.end(); ++it)
    IM_CHECK(seen.count(it.key()), what << ": unknown key \"" << it.key() << "\"");
}
}  // namespace

void to_json(nlohmann::json& j, const BioFeature& b) {
  j = {{"name", b.name}, {"kind", b.kind}, {"smoothing", b.smoothing}, {"classes", b.classes},
       {"mean", b.mean}, {"scale", b.scale}};
}
void from_json(const nlohmann::json& j, BioFeature& b) {
  std::set<std::string> s;
  get(j, "name", b.name, s), get(j, "kind", b.kind, s), get(j, "smoothing", b.smoothing, s);
  get(j, "classes", b.classes, s), get(j, "mean", b.mean, s), get(j, "scale", b.scale, s);
  reject_unknown(j, s, "biological feature");
}

#define IM_MODEL_FIELDS(X)                                                                              \
  X(image_h) X(image_w) X(encoder_widths) X(anatomy_channels) X(contrast_channels) X(contrast_dense_width) \
  X(contrast_pooled) X(latent_stride) X(decoder_upsample) X(decoder_widths) X(disc_width) X(disc_leaky_alpha) X(bn_momentum) X(bn_eps)         \
  X(site_hidden) X(site_head_input) X(anatomy_input) X(n_sites) X(site_names) X(bio) X(background_threshold) X(init)

#define IM_TRAIN_FIELDS(X)                                                                                   \
  X(preset) X(lambda_adv) X(lambda_confusion) X(lambda_bio) X(lambda_l1) X(lambda_kl) X(lambda_ssim)          \
  X(kl_contrast) X(kl_reduction) X(latent_sampling) X(anatomy_gamma) X(anatomy_augment) X(anatomy_site_match) X(site_on_acquired) X(site_steps) X(site_replay) X(lambda_invariance) X(invariance_pooled) X(gamma_min) X(gamma_max) X(real_label_noise) X(site_smoothing) X(lr) X(beta1) X(beta2)      \
  X(batch) X(steps) X(seed) X(validate_every) X(validation_batches) X(val_fraction) X(lr_decay) X(patience)   \
  X(lr_schedule) X(lr_final) X(warmup) X(early_stop) X(log_every) X(checkpoint_every) X(code_slices) X(device) X(threads) X(voxel_size) X(norm) X(n4)

#define IM_TO_JSON(f) j[#f] = c.f;
#define IM_FROM_JSON(f) get(j, #f, c.f, s);

void to_json(nlohmann::json& j, const ModelConfig& c) {
  j = nlohmann::json::object();
  IM_MODEL_FIELDS(IM_TO_JSON)
}
void from_json(const nlohmann::json& j, ModelConfig& c) {
  std::set<std::string> s;
  IM_MODEL_FIELDS(IM_FROM_JSON)
  reject_unknown(j, s, "model config");
}
void to_json(nlohmann::json& j, const TrainConfig& c) {
  j = nlohmann::json::object();
  IM_TRAIN_FIELDS(IM_TO_JSON)
}
void from_json(const nlohmann::json& j, TrainConfig& c) {
  std::set<std::string> s;
  IM_TRAIN_FIELDS(IM_FROM_JSON)
  reject_unknown(j, s, "training config");
}

}  // namespace im::model
