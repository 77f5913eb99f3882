// Adam driver: bias corrections on the host, the update in one kernel.
#include "engine/optim.h"

#include <cmath>

#include "engine/dispatch.h"
#include "kernels/adam.h"

namespace im {

void adam_step(ParamGroup& group, const AdamConfig& cfg) {
  group.adam_step += 1;
  double t = static_cast<double>(group.adam_step);
  AdamArgs a;
  a.lr = cfg.lr;
  a.beta1 = cfg.beta1;
  a.beta2 = cfg.beta2;
  a.eps = cfg.eps;
  a.weight_decay = cfg.weight_decay;
  a.step_size = static_cast<float>(cfg.lr / (1.0 - std::pow(static_cast<double>(cfg.beta1), t)));
  a.bias2_sqrt = static_cast<float>(std::sqrt(1.0 - std::pow(static_cast<double>(cfg.beta2), t)));
  IM_CHECK(group.has_optimizer_state(), "adam_step: ParamGroup " << group.name() << " has no optimizer state (built for inference)");
  IM_DISPATCH(group.device(), adam_step_cpu, adam_step_cuda, group.params().data(), group.grads().data(),
              group.adam_m().data(), group.adam_v().data(), group.numel(), a);
}

}  // namespace im
