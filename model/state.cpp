// Enumeration of the model's state.
#include "model/state.h"

namespace im::model {

std::vector<NamedTensor> state_tensors(ImUnity& model, bool with_optimizer) {
  std::vector<NamedTensor> out;
  for (ParamGroup* g : {&model.generator, &model.discriminator, &model.site_head})
    for (const ParamGroup::Entry& e : g->entries()) out.push_back({e.name, e.param});
  for (auto& [name, t] : model.buffers()) out.push_back({name, *t});
  if (with_optimizer)
    for (ParamGroup* g : {&model.generator, &model.discriminator, &model.site_head}) {
      out.push_back({"optimizer." + g->name() + ".m", g->adam_m()});
      out.push_back({"optimizer." + g->name() + ".v", g->adam_v()});
    }
  return out;
}

}  // namespace im::model
