// One ImUnity training step (paper eq. 4): discriminator update, site-head update on the detached
// anatomy code, then the generator update; plus validation figures. Inference (contrast codes,
// harmonized slices) is model/inference.h.
#pragma once
#include <deque>
#include <utility>
#include <string>
#include <vector>

#include "engine/optim.h"
#include "model/imunity.h"

namespace im::model {

// A batch on the model's device. s1 and s2 are two different axial slices of the same volumes.
struct TrainBatch {
  Tensor s1, s2;   // [N, 1, H, W] in [0, 1]
  Tensor site;     // [N] site indices (as floats)
  Tensor bio;      // [N, n_bio] targets: 0/1 for binary features, raw values for continuous ones
  Tensor s1a;      // the anatomy encoder's input when it is not s1 (train.anatomy_augment), else undefined
};

// Loss values of the last step, kept on the device (reading them synchronizes: do it every few steps).
struct StepLosses {
  Tensor discriminator, site, adversarial, confusion, biological, l1, kl, ssim, invariance, generator;
};

struct LossValues {
  double discriminator = 0, site = 0, adversarial = 0, confusion = 0, biological = 0, l1 = 0, kl = 0,
         ssim = 0, invariance = 0, generator = 0;
  bool finite() const;
};
LossValues read(const StepLosses& l);

struct ValidationFigures {
  double l1 = 0;          // masked mean |output - target|, mean codes, same gamma as in training
  double ssim = 0;        // TensorFlow-convention SSIM (11x11 Gaussian, sigma 1.5, valid windows, range 1)
  double site_accuracy = 0;  // of the site head on the anatomy mean codes
  double kl_per_slice = 0;   // KL of the anatomy code, nats summed over one slice's latent elements
  // Spread of the anatomy code over the batch: between-slice variance of the mean code and the mean
  // posterior variance (both averaged over elements); their ratio is the code's signal to noise.
  double code_between_var = 0, code_posterior_var = 0;
  // Norms of the gradients of the L1 and of (1 - SSIM) with respect to the output (unweighted).
  double grad_l1 = 0, grad_ssim = 0;
  int64_t samples = 0;
};

struct CodeSpread {
  double between = 0, posterior = 0;
};
// Between-sample variance of c.mu per element (ddof 1) and mean exp(logvar), averaged over elements.
CodeSpread code_spread(const Code& c);

class Trainer {
 public:
  Trainer(ImUnity& model, const TrainConfig& cfg);

  // All three updates of one step; advances the step counter and the RNG.
  StepLosses step(const TrainBatch& batch);
  // Reconstruction and site figures on a batch, without any update (mean codes, no sampling).
  ValidationFigures validate(const TrainBatch& batch);

  int64_t step_count() const { return step_; }
  void set_step_count(int64_t s) { step_ = s; }
  Generator& rng() { return rng_; }
  float lr() const { return adam_.lr; }
  void set_lr(float lr) { adam_.lr = lr; }
  const TrainConfig& config() const { return cfg_; }

 private:
  Tensor biological_loss(const Tensor& z_anatomy, const Tensor& targets);
  Tensor kl_term(const Code& c) const;  // KL of one code, reduced as cfg_.kl_reduction says
  // train.lambda_invariance's term between the mean code of the encoder's input and of S1 as acquired.
  Tensor invariance_term(const Tensor& mu_input, const Tensor& mu_acquired) const;
  ValidationFigures validate_no_grad(const TrainBatch& batch);
  ImUnity& model_;
  TrainConfig cfg_;
  AdamConfig adam_;
  Generator rng_;
  int64_t step_ = 0;
  // train.site_replay: past steps' detached anatomy codes and their site labels, oldest first.
  std::deque<std::pair<Tensor, Tensor>> replay_;
};

}  // namespace im::model
