// CUDA versions of kernels/elementwise.h (grid-stride loops, float4 where aligned).
#include "kernels/cuda_context.cuh"
#include "kernels/elementwise.h"

namespace im {

namespace {
__global__ void fill_kernel(float* y, int64_t n, float v) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) y[i] = v;
}
__global__ void add_inplace_kernel(float* __restrict__ y, const float* __restrict__ x, int64_t n, float alpha) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
    y[i] += alpha * x[i];
}
}  // namespace

void fill_cuda(float* y, int64_t n, float value) {
  if (n == 0) return;
  fill_kernel<<<cuda::grid_for(n), 256, 0, cuda::stream()>>>(y, n, value);
  IM_CUDA_LAUNCH_CHECK();
}

void add_inplace_cuda(float* y, const float* x, int64_t n, float alpha) {
  if (n == 0) return;
  add_inplace_kernel<<<cuda::grid_for(n), 256, 0, cuda::stream()>>>(y, x, n, alpha);
  IM_CUDA_LAUNCH_CHECK();
}

}  // namespace im
