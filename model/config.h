// Configuration of the ImUnity networks and of training, with JSON round trip and the presets
// "paper" (eq. 4 of the paper) and "authors-code" (the authors' released code, see IMUNITY_NOTES).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace im::model {

// An optional biological-preservation head on the anatomy latent (paper 2.2.3).
struct BioFeature {
  std::string name;             // manifest column, e.g. "sex", "age"
  std::string kind = "binary";  // "binary" (BCE with label smoothing) or "continuous" (L1 on a z-score)
  float smoothing = 0.1f;       // label smoothing for binary features
  std::vector<std::string> classes;  // binary: the two values, e.g. {"F", "M"} -> 0, 1
  float mean = 0.f, scale = 1.f;     // continuous: target = (value - mean) / scale
};

struct ModelConfig {
  int image_h = 128, image_w = 128;                     // multiples of 16
  std::vector<int> encoder_widths = {16, 32, 64, 128, 128};  // strides 2, 2, 2, 2, 1
  int anatomy_channels = 64;                            // mean and log-variance each
  int contrast_channels = 64;
  int contrast_dense_width = 128;                       // three per-pixel dense layers
  bool contrast_pooled = false;                         // one contrast vector per image instead of a map
  std::vector<int> decoder_widths = {128, 64, 32, 16, 8};  // strides 1, 2, 2, 2, 2, then 1 channel s1
  // How the decoder doubles the size: "transposed" 3x3 stride-2 convolutions (the paper and the
  // authors' code), or "nearest": nearest-neighbour 2x upsampling then a 3x3 convolution (a
  // resize-convolution, whose kernel overlaps evenly: no checkerboard pattern).
  std::string decoder_upsample = "transposed";
  int disc_width = 64;                                  // three conv s2 + BN + LeakyReLU, conv 1 s1
  float disc_leaky_alpha = 0.3f;                        // Keras' LeakyReLU default
  float bn_momentum = 0.01f;                            // PyTorch convention (Keras 0.99)
  float bn_eps = 1e-3f;
  int site_hidden = 128;
  // What the site head (and its confusion term) sees of the anatomy code: "flat", the whole code
  // flattened (the paper: every position its own weights), or "pooled", each channel's spatial mean
  // and mean square (2 x anatomy_channels values): the code's global statistics, where a scanner's
  // noise, blur and contrast show whatever the slice's anatomy and position (not in the paper).
  std::string site_head_input = "flat";
  // What the anatomy encoder sees of a slice: "image", the slice itself (the paper), or "rank", each
  // slice's foreground (>= background_threshold) by its within-slice mid-ranks on [0.05, 1]
  // (engine/ops.h rank_normalize): any strictly increasing change of the intensities, which is most
  // of what a scanner's contrast does, gives the encoder the same input, so the contrast cannot
  // reach the anatomy code that way (not in the paper; docs/training.md). The contrast encoder and
  // the decoder's target are unchanged.
  std::string anatomy_input = "image";
  int n_sites = 2;
  std::vector<std::string> site_names;
  std::vector<BioFeature> bio;
  float background_threshold = 0.001f;                  // input voxels below pass through unchanged
  std::string init = "he";                              // "he" or "authors" (N(0, 0.05) convs, as the code)

  // Size reduction from the slice to the anatomy code: 16 (four stride-2 convolutions, the paper and
  // the authors' code: a 128 x 128 slice gives an 8 x 8 code) or 8 (the fourth encoder convolution
  // and the first decoder doubling at stride 1: a 16 x 16 code, four times the spatial detail for
  // the decoder). The contrast encoder always reduces by 16 when pooled.
  int latent_stride = 16;

  int latent_h() const { return image_h / latent_stride; }
  int latent_w() const { return image_w / latent_stride; }
  // Stride of encoder conv i (0-4) and of decoder layer i (0-4) for the anatomy path.
  int encoder_stride(int i) const { return i == 4 ? 1 : (i == 3 && latent_stride == 8 ? 1 : 2); }
  int decoder_stride(int i) const { return i == 0 ? 1 : (i == 1 && latent_stride == 8 ? 1 : 2); }
  // Throws im::Error with a clear message when a value is unusable.
  void validate() const;
};

struct TrainConfig {
  std::string preset = "paper";
  // Loss weights: generator = -l_adv*adv + l_confusion*conf + l_bio*bio + l_l1*L1 + l_kl*KL + l_ssim*(1-SSIM)
  float lambda_adv = 1.f, lambda_confusion = 1.f, lambda_bio = 1.f, lambda_l1 = 100.f, lambda_kl = 1e-3f,
        lambda_ssim = 0.f;
  bool kl_contrast = true;       // KL on the contrast code too (the code: anatomy only)
  // "mean": the KL is averaged over the latent elements (the authors' reduce_mean), so lambda_kl
  // weighs nats per element; "sum": summed over the elements of a sample (64 x 8 x 8 = 4096 times
  // larger at 128 x 128). Both are averaged over the batch.
  std::string kl_reduction = "mean";
  // How the codes are drawn in training: "fresh" noise each step (a VAE), "fixed" noise that is the
  // same at every step (the authors' code draws epsilon once, when the graph is built), or "mean"
  // (no sampling: a deterministic autoencoder with a KL penalty on the means).
  std::string latent_sampling = "fresh";
  float gamma_min = 0.5f, gamma_max = 1.5f;
  // The anatomy encoder sees S1 under its own random gamma (same range), not S1 as acquired: it
  // cannot tell which gamma the output must have, so the contrast must come from the contrast
  // code (not in the paper, which feeds S1 as is; off in both presets).
  bool anatomy_gamma = false;
  // The anatomy encoder sees S1 through random scanner-like changes (io/augment.h: a monotone
  // contrast curve, bias field, blur, thick-slice partial volume, noise) made by the sampler, so
  // that what differs between sites cannot reach the anatomy code (not in the paper; off in both
  // presets). The decoder still reconstructs S1 as acquired.
  bool anatomy_augment = false;
  // With anatomy_augment: the probability that a slice first takes the intensity distribution of a
  // volume of another training site (histogram matching, io::match_intensities) before the random
  // changes: the contrast differences of the user's own sites, which random curves only sample, so
  // that the invariance term and the site head see them (not in the paper; 0: off).
  float anatomy_site_match = 0.f;
  // With anatomy_augment: the site head and the confusion term also see the anatomy code of S1 as
  // acquired (an extra encoder pass), the input harmonization gives the encoder; otherwise they see
  // only the augmented slices, which are not what held-out scans look like (not in the paper).
  bool site_on_acquired = false;
  // Site-head updates per training step, all on the step's (detached) codes: a stronger adversary,
  // so that the encoder cannot fool a head that lags behind it (1: the paper's alternation).
  int site_steps = 1;
  // With site_steps > 1: the anatomy codes of this many past steps are kept (detached, with their
  // site labels), and every site-head update after the first also learns from one of them drawn
  // at random: an adversary with a memory of where the encoder hid the site before, so that the
  // encoder cannot move it back and forth between directions a one-step head has forgotten (not in
  // the paper; 0: none). The memory is not saved: a resumed run starts it empty.
  int site_replay = 0;
  // Weight of an invariance term: the anatomy mean code of the encoder's input (S1 through
  // anatomy_augment's scanner-like changes and/or anatomy_gamma) against the mean code of S1 as
  // acquired, mean squared difference over the acquired code's mean square (scale-free; the
  // denominator is a constant of the step). It asks directly for what the site head asks
  // indirectly: a code that a change of scanner does not move (not in the paper; 0: off).
  float lambda_invariance = 0.f;
  // The invariance term on the code's 4 x 4 average pool instead (C x 16 features, each squared
  // difference over that feature's variance across the batch's acquired codes, a constant of the
  // step): the slow, global part of the code, where a probe reads the site, with every feature
  // weighed alike however small its spread (not in the paper).
  bool invariance_pooled = false;
  float real_label_noise = 0.1f;  // discriminator real targets 1 - U(0, noise)
  float site_smoothing = 0.1f;
  float lr = 1e-4f, beta1 = 0.5f, beta2 = 0.999f;
  int batch = 16;
  int64_t steps = 2000;
  uint64_t seed = 1;
  int validate_every = 200;       // steps
  int validation_batches = 4;
  float val_fraction = 0.1f;      // of the manifest's volumes, held out
  // Plateau schedule (authors' code): lr *= lr_decay after `patience` validations without
  // improvement; stop after `early_stop` (0 = never).
  float lr_decay = 1.f;
  int patience = 3, early_stop = 0;
  // "plateau" (the decay above) or "cosine": lr falls from lr to lr * lr_final along a half cosine
  // over the run's `steps` after `warmup` linear steps, so the whole budget is spent on a schedule
  // that no validation noise can trigger (the plateau fields are then unused).
  std::string lr_schedule = "plateau";
  float lr_final = 0.05f;
  int warmup = 0;
  int log_every = 10;
  int checkpoint_every = 500;
  int code_slices = 256;          // brain slices per site averaged into its stored contrast code
  std::string device = "auto";
  int threads = 0;                // 0 = all cores
  // Preprocessing applied to every volume, recorded in the checkpoint for inference.
  double voxel_size = 2.0;        // mm; 0 keeps the input's
  std::string norm = "wm-peak";
  bool n4 = false;                // N4 bias-field correction inside the mask before normalization (io/n4.h)

  // Applies a named preset ("paper" or "authors-code") over the current values.
  void apply_preset(const std::string& name);
  void validate() const;
};

void to_json(nlohmann::json& j, const BioFeature& b);
void from_json(const nlohmann::json& j, BioFeature& b);
void to_json(nlohmann::json& j, const ModelConfig& c);
void from_json(const nlohmann::json& j, ModelConfig& c);
void to_json(nlohmann::json& j, const TrainConfig& c);
void from_json(const nlohmann::json& j, TrainConfig& c);

}  // namespace im::model
