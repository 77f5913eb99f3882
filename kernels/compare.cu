// CUDA comparison masks.
#include "kernels/compare.h"
#include "kernels/cuda_context.cuh"

namespace im {

namespace {
__global__ void ge_kernel(float* __restrict__ y, const float* __restrict__ x, int64_t n, float t) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
    y[i] = x[i] >= t ? 1.f : 0.f;
}
}  // namespace

void greater_equal_cuda(float* y, const float* x, int64_t n, float threshold) {
  if (n == 0) return;
  ge_kernel<<<cuda::grid_for(n), 256, 0, cuda::stream()>>>(y, x, n, threshold);
  IM_CUDA_LAUNCH_CHECK();
}

}  // namespace im
