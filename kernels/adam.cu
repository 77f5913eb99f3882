// CUDA Adam: one launch for a whole parameter group (grid-stride, memory-bound).
#include "kernels/adam.h"
#include "kernels/cuda_context.cuh"

namespace im {

namespace {
__global__ void adam_kernel(float* __restrict__ p, const float* __restrict__ g, float* __restrict__ m,
                            float* __restrict__ v, int64_t n, AdamArgs a) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
    float gi = g[i] + a.weight_decay * p[i];
    float mi = a.beta1 * m[i] + (1.f - a.beta1) * gi;
    float vi = a.beta2 * v[i] + (1.f - a.beta2) * gi * gi;
    m[i] = mi;
    v[i] = vi;
    p[i] -= a.step_size * mi / (sqrtf(vi) / a.bias2_sqrt + a.eps);
  }
}
}  // namespace

void adam_step_cuda(float* p, const float* g, float* m, float* v, int64_t n, AdamArgs a) {
  if (n == 0) return;
  adam_kernel<<<cuda::grid_for(n), 256, 0, cuda::stream()>>>(p, g, m, v, n, a);
  IM_CUDA_LAUNCH_CHECK();
}

}  // namespace im
