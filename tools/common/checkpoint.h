// ImUnity checkpoints as safetensors files: weights (by layer name), batch-norm buffers, optionally
// Adam moments, and in __metadata__ the configs, step, RNG state, preprocessing, site names and
// per-site contrast codes. Readable by the safetensors readers of numpy/PyTorch.
#pragma once
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/config.h"
#include "model/imunity.h"

namespace im::tools {

struct CheckpointInfo {
  model::ModelConfig model;
  model::TrainConfig train;
  int64_t step = 0;
  uint64_t rng_seed = 0, rng_offset = 0;
  float lr = 0.f;
  std::map<std::string, int64_t> adam_steps;
  // Per-site mean contrast codes (paper: the target of harmonization), shape code_shape each.
  std::vector<int64_t> code_shape;
  std::map<std::string, std::vector<float>> site_codes;
  nlohmann::json extra = nlohmann::json::object();  // validation history, data summary, ...
};

// Atomic. with_optimizer adds the Adam moments (needed by --resume, not by inference).
void save_checkpoint(const std::string& path, model::ImUnity& model, const CheckpointInfo& info, bool with_optimizer);

// Reads only the metadata (configs, codes); throws im::io::Error naming the file on any problem.
CheckpointInfo read_checkpoint_info(const std::string& path);

// Checks the checkpoint's config (bounds) and its tensor table against that config (every tensor
// present, with its shape and finite values: NaN or Inf weights are refused), and only then builds
// the model on dev and loads every tensor (and the Adam moments when with_optimizer; an inference
// checkpoint without them then fails clearly). Throws im::io::Error naming the file and the tensor.
std::unique_ptr<model::ImUnity> load_checkpoint(const std::string& path, Device dev, CheckpointInfo* info,
                                                bool with_optimizer);

// A warm start: copies into `model` every parameter and buffer of the checkpoint at `path` whose
// name and shape match (finite values only), so that a run with a changed head (another site set,
// model.site_head_input) starts from a trained network. Returns the names of the model's tensors
// left as initialized. Throws im::io::Error naming the file when load_checkpoint would refuse it
// (not a checkpoint, a bad tensor table, NaN or Inf values) or it matches none of the model's tensors.
std::vector<std::string> init_from_checkpoint(const std::string& path, model::ImUnity& model);

}  // namespace im::tools
