// Fused Adam update over one contiguous parameter group (PyTorch's Adam formula, L2 weight decay):
//   g' = g + wd*p;  m = b1*m + (1-b1)*g';  v = b2*v + (1-b2)*g'^2
//   p -= (lr / (1-b1^t)) * m / (sqrt(v) / sqrt(1-b2^t) + eps)
#pragma once
#include <cstdint>

namespace im {

struct AdamArgs {
  float lr, beta1, beta2, eps, weight_decay;
  float step_size;      // lr / (1 - beta1^t)
  float bias2_sqrt;     // sqrt(1 - beta2^t)
};

void adam_step_cpu(float* p, const float* g, float* m, float* v, int64_t n, AdamArgs a);
void adam_step_cuda(float* p, const float* g, float* m, float* v, int64_t n, AdamArgs a);

}  // namespace im
