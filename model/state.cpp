// Enumeration of the model's state.
#include "model/state.h"

namespace im::model {

namespace {
// Every entry of the state in checkpoint order: name, shape, and the tensor (undefined in a model
// that is only declared).
template <class F>
void for_each_state(ImUnity& model, bool with_optimizer, F&& f) {
  for (ParamGroup* g : {&model.generator, &model.discriminator, &model.site_head})
    for (const ParamGroup::Entry& e : g->entries()) f(e.name, e.shape, e.param);
  for (auto& [name, t] : model.buffers()) f(name, t->shape(), *t);
  if (with_optimizer)
    for (ParamGroup* g : {&model.generator, &model.discriminator, &model.site_head}) {
      f("optimizer." + g->name() + ".m", Shape{g->numel()}, g->adam_m());
      f("optimizer." + g->name() + ".v", Shape{g->numel()}, g->adam_v());
    }
}
}  // namespace

std::vector<NamedTensor> state_tensors(ImUnity& model, bool with_optimizer) {
  std::vector<NamedTensor> out;
  for_each_state(model, with_optimizer, [&](const std::string& name, const Shape&, const Tensor& t) { out.push_back({name, t}); });
  return out;
}

std::vector<StateShape> state_shapes(const ModelConfig& cfg, bool with_optimizer) {
  const std::unique_ptr<ImUnity> m = ImUnity::declare(cfg);
  std::vector<StateShape> out;
  for_each_state(*m, with_optimizer, [&](const std::string& name, const Shape& shape, const Tensor&) { out.push_back({name, shape}); });
  return out;
}

}  // namespace im::model
