// Checkpoint conversion between the model's named state and safetensors files.
#include "tools/common/checkpoint.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "io/error.h"
#include "io/safetensors.h"
#include "kernels/check.h"
#include "model/state.h"

namespace im::tools {

namespace {
constexpr const char* kFormat = "imunity-checkpoint/1";

nlohmann::json info_json(const CheckpointInfo& info) {
  nlohmann::json codes = nlohmann::json::object();
  for (const auto& [site, v] : info.site_codes) codes[site] = v;
  return {{"step", info.step},          {"rng_seed", info.rng_seed},   {"rng_offset", info.rng_offset},
          {"lr", info.lr},              {"adam_steps", info.adam_steps}, {"code_shape", info.code_shape},
          {"site_codes", codes},        {"extra", info.extra}};
}

CheckpointInfo parse_info(const std::string& path, const std::map<std::string, std::string>& meta) {
  auto need = [&](const char* key) -> const std::string& {
    auto it = meta.find(key);
    if (it == meta.end()) io::fail(path, std::string("not an imunity checkpoint: metadata has no \"") + key + "\"");
    return it->second;
  };
  if (need("format") != kFormat)
    io::fail(path, "unsupported checkpoint format \"" + need("format") + "\" (this imunity reads " + kFormat + ")");
  CheckpointInfo info;
  try {
    info.model = nlohmann::json::parse(need("model_config")).get<model::ModelConfig>();
    info.train = nlohmann::json::parse(need("train_config")).get<model::TrainConfig>();
    nlohmann::json s = nlohmann::json::parse(need("state"));
    info.step = s.at("step").get<int64_t>();
    info.rng_seed = s.at("rng_seed").get<uint64_t>();
    info.rng_offset = s.at("rng_offset").get<uint64_t>();
    info.lr = s.at("lr").get<float>();
    info.adam_steps = s.at("adam_steps").get<std::map<std::string, int64_t>>();
    info.code_shape = s.at("code_shape").get<std::vector<int64_t>>();
    for (auto it = s.at("site_codes").begin(); it != s.at("site_codes").end(); ++it)
      info.site_codes[it.key()] = it.value().get<std::vector<float>>();
    info.extra = s.value("extra", nlohmann::json::object());
  } catch (const std::exception& e) {
    io::fail(path, std::string("corrupted checkpoint metadata: ") + e.what());
  }
  return info;
}
}  // namespace

void save_checkpoint(const std::string& path, model::ImUnity& model, const CheckpointInfo& info, bool with_optimizer) {
  io::SafeTensors st;
  for (const model::NamedTensor& nt : model::state_tensors(model, with_optimizer)) {
    io::NamedArray a;
    a.name = nt.name;
    for (int i = 0; i < nt.tensor.ndim(); ++i) a.shape.push_back(nt.tensor.size(i));
    a.values = nt.tensor.to_vector();
    st.tensors.push_back(std::move(a));
  }
  st.metadata["format"] = kFormat;
  st.metadata["imunity_version"] = IMUNITY_VERSION;
  st.metadata["model_config"] = nlohmann::json(info.model).dump();
  st.metadata["train_config"] = nlohmann::json(info.train).dump();
  st.metadata["site_names"] = nlohmann::json(info.model.site_names).dump();
  st.metadata["state"] = info_json(info).dump();
  io::write_safetensors(path, st);
}

CheckpointInfo read_checkpoint_info(const std::string& path) {
  // The metadata is small, but safetensors keeps it in the header: reading the file validates it too.
  io::SafeTensors st = io::read_safetensors(path);
  return parse_info(path, st.metadata);
}

std::unique_ptr<model::ImUnity> load_checkpoint(const std::string& path, Device dev, CheckpointInfo* info_out,
                                                bool with_optimizer) {
  io::SafeTensors st = io::read_safetensors(path);
  CheckpointInfo info = parse_info(path, st.metadata);
  // The config and the tensor table first: a model is only built (its memory committed) for a
  // config whose every tensor the file holds, with the right shape and finite values.
  std::vector<model::StateShape> layout;
  try {
    layout = model::state_shapes(info.model, with_optimizer);
  } catch (const Error& e) {
    io::fail(path, std::string("the checkpoint's model config is not usable: ") + e.what());
  }
  std::vector<const io::NamedArray*> arrays;
  for (const model::StateShape& s : layout) {
    const io::NamedArray* a = st.find(s.name);
    if (!a)
      io::fail(path, "missing tensor \"" + s.name + "\"" +
                         (s.name.rfind("optimizer.", 0) == 0 ? " (an inference-only checkpoint cannot be resumed)" : ""));
    std::vector<int64_t> want;
    for (int i = 0; i < s.shape.ndim(); ++i) want.push_back(s.shape[i]);
    if (a->shape != want)
      io::fail(path, "tensor \"" + s.name + "\" has shape " + nlohmann::json(a->shape).dump() + ", the checkpoint's model config implies " +
                         nlohmann::json(want).dump());
    const auto bad = std::count_if(a->values.begin(), a->values.end(), [](float v) { return !std::isfinite(v); });
    if (bad > 0)
      io::fail(path, "tensor \"" + s.name + "\" holds " + std::to_string(bad) + " NaN or Inf value(s) of " +
                         std::to_string(a->values.size()) + ": a broken checkpoint (from a diverged run?), not usable");
    arrays.push_back(a);
  }
  std::unique_ptr<model::ImUnity> m;
  try {
    // Every tensor is overwritten below; without the optimizer, no gradient or Adam buffers.
    m = model::ImUnity::for_loading(info.model, with_optimizer);
  } catch (const Error& e) {
    io::fail(path, std::string("cannot build its model: ") + e.what());
  }
  const std::vector<model::NamedTensor> state = model::state_tensors(*m, with_optimizer);
  for (size_t i = 0; i < state.size(); ++i)  // the same order as state_shapes()
    Tensor(state[i].tensor).copy_from(Tensor::from_vector(arrays[i]->values, state[i].tensor.shape()));
  for (ParamGroup* g : {&m->generator, &m->discriminator, &m->site_head}) {
    auto it = info.adam_steps.find(g->name());
    g->adam_step = it == info.adam_steps.end() ? 0 : it->second;
  }
  m->to(dev);
  if (info_out) *info_out = info;
  return m;
}

std::vector<std::string> init_from_checkpoint(const std::string& path, model::ImUnity& model) {
  // The source is loaded as any checkpoint is (config, tensor table and finite values checked, one
  // read of the file); then every tensor of `model` that it holds under the same name and shape.
  const std::unique_ptr<model::ImUnity> src = load_checkpoint(path, Device::CPU, nullptr, false);
  std::map<std::string, Tensor> from;
  for (const model::NamedTensor& nt : model::state_tensors(*src, false)) from.emplace(nt.name, nt.tensor);
  const std::vector<model::NamedTensor> to = model::state_tensors(model, false);
  std::vector<std::string> fresh;
  for (const model::NamedTensor& nt : to) {
    const auto it = from.find(nt.name);
    if (it == from.end() || it->second.shape() != nt.tensor.shape()) {
      fresh.push_back(nt.name);
      continue;
    }
    Tensor(nt.tensor).copy_from(it->second);
  }
  if (fresh.size() == to.size())
    io::fail(path, "none of its tensors matches the model's names and shapes: nothing to start from");
  return fresh;
}

}  // namespace im::tools
