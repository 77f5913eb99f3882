// Adam over a ParamGroup (one fused launch); ImUnity uses beta1 = 0.5.
#pragma once
#include "engine/param_group.h"

namespace im {

struct AdamConfig {
  float lr = 1e-4f;
  float beta1 = 0.5f;
  float beta2 = 0.999f;
  float eps = 1e-8f;
  float weight_decay = 0.f;
};

// One Adam step on every parameter of the group from its accumulated gradients; advances
// group.adam_step.
void adam_step(ParamGroup& group, const AdamConfig& cfg);

}  // namespace im
