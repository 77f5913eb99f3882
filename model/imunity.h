// The ImUnity networks (paper 2.2, IMUNITY_NOTES): anatomy and contrast encoders, decoder, patch
// discriminator, site-unlearning head and optional biological heads, as plain forward functions
// over parameters held in three groups (one Adam each).
#pragma once
#include <memory>
#include <vector>

#include "engine/param_group.h"
#include "engine/rng.h"
#include "engine/tensor.h"
#include "model/config.h"

namespace im::model {

struct Conv {
  Tensor w, b;
  int stride = 1;
};
struct Dense {
  Tensor w, b;
};
struct BatchNorm {
  Tensor gamma, beta, running_mean, running_var;
};

// A Gaussian code: mean, log-variance and the code used downstream (a sample, or the mean).
struct Code {
  Tensor mu, logvar, z;
};

class ImUnity {
 public:
  ImUnity(const ModelConfig& cfg, Device dev, uint64_t init_seed);
  // The layers of `cfg` declared without memory behind the parameters: their names and shapes (the
  // groups' entries(), buffers()), e.g. to check a checkpoint's tensors against its config before
  // committing memory to a model that config describes. Not usable for anything else.
  static std::unique_ptr<ImUnity> declare(const ModelConfig& cfg);
  // The layers of `cfg` with zeroed memory on the CPU and no random initialization: for a loader
  // that overwrites every state tensor (model::state_tensors) at once (the draws cost a loaded
  // model's start about a sixth of its load time).
  // optimizer_state false: no gradient or Adam buffers (inference; ParamGroup::finalize).
  static std::unique_ptr<ImUnity> for_loading(const ModelConfig& cfg, bool optimizer_state);
  ImUnity(const ImUnity&) = delete;
  ImUnity& operator=(const ImUnity&) = delete;

  const ModelConfig& config() const { return cfg_; }
  Device device() const { return generator.device(); }
  void to(Device dev);

  // Generator group: both encoders, the decoder and the biological heads (the paper trains the
  // biological module together with the generator). The site head and discriminator are adversaries
  // and have their own groups.
  ParamGroup generator{"generator"};
  ParamGroup discriminator{"discriminator"};
  ParamGroup site_head{"site_head"};

  // x: [N, 1, H, W]. With rng the code is sampled (reparameterization); without, z = mu.
  Code encode_anatomy(const Tensor& x, Generator* rng) const;
  // Contrast code: [N, C, H/16, W/16], or [N, C, 1, 1] when contrast_pooled.
  Code encode_contrast(const Tensor& x, Generator* rng) const;
  // Output in [0, 1]; where background_source < threshold the output copies background_source.
  Tensor decode(const Tensor& z_anatomy, const Tensor& z_contrast, const Tensor& background_source) const;
  // Patch logits [N, 1, H/8, W/8]. In training mode batch statistics normalize; running statistics
  // are updated only when update_stats.
  Tensor discriminate(const Tensor& x, bool training, bool update_stats);
  // Site logits [N, n_sites] from the anatomy code.
  Tensor site_logits(const Tensor& z_anatomy) const;
  // Output of biological head k: [N, 1] (a logit for binary features, a z-score for continuous).
  Tensor bio_output(size_t k, const Tensor& z_anatomy) const;

  // Batch-norm running statistics (state, not parameters): names and tensors, for checkpoints.
  std::vector<std::pair<std::string, Tensor*>> buffers();
  int64_t parameter_count() const { return generator.numel() + discriminator.numel() + site_head.numel(); }

 private:
  struct DeclareOnly {};
  ImUnity(const ModelConfig& cfg, DeclareOnly);
  // The three groups' memory on the CPU (zeros), with or without their optimizer state.
  void finalize_groups(bool optimizer_state);
  Conv make_conv(ParamGroup& g, const std::string& name, int cin, int cout, int k, int stride);
  Conv make_tconv(ParamGroup& g, const std::string& name, int cin, int cout, int k, int stride);
  Dense make_dense(ParamGroup& g, const std::string& name, int in, int out);
  void initialize(uint64_t seed);

  ModelConfig cfg_;
  std::vector<Conv> anatomy_convs_, contrast_convs_, contrast_dense_, decoder_;
  std::vector<Conv> disc_convs_;
  std::vector<BatchNorm> disc_bn_;
  Dense site_fc1_, site_fc2_;
  std::vector<std::pair<Dense, Dense>> bio_heads_;
  struct InitSpec {
    Tensor w;
    std::string kind;  // "he", "normal", "truncnormal", "glorot"
    float scale;
    int fan_in, fan_out;
  };
  std::vector<InitSpec> init_specs_;
};

}  // namespace im::model
