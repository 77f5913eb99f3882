// CUDA versions of kernels/random.h: one thread per element, Philox evaluated in place.
#include "kernels/cuda_context.cuh"
#include "kernels/philox.h"
#include "kernels/random.h"

namespace im {

namespace {
__global__ void uniform_kernel(float* y, int64_t n, uint64_t seed, uint64_t offset, float lo, float hi) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
    y[i] = lo + (hi - lo) * philox::uniform(seed, offset, static_cast<uint64_t>(i));
}
__global__ void normal_kernel(float* y, int64_t n, uint64_t seed, uint64_t offset, float mean, float stddev) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
    y[i] = mean + stddev * philox::normal(seed, offset, static_cast<uint64_t>(i));
}
}  // namespace

void random_uniform_cuda(float* y, int64_t n, uint64_t seed, uint64_t offset, float lo, float hi) {
  if (n == 0) return;
  uniform_kernel<<<cuda::grid_for(n), 256, 0, cuda::stream()>>>(y, n, seed, offset, lo, hi);
  IM_CUDA_LAUNCH_CHECK();
}

void random_normal_cuda(float* y, int64_t n, uint64_t seed, uint64_t offset, float mean, float stddev) {
  if (n == 0) return;
  normal_kernel<<<cuda::grid_for(n), 256, 0, cuda::stream()>>>(y, n, seed, offset, mean, stddev);
  IM_CUDA_LAUNCH_CHECK();
}

}  // namespace im
