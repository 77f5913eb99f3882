// CUDA activations: grid-stride, one read and one write per element.
#include "kernels/activation.h"
#include "kernels/cuda_context.cuh"

namespace im {

namespace {
#define IM_GRID_LOOP(i, n) \
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < (n); i += (int64_t)gridDim.x * blockDim.x)

__global__ void leaky_fwd(float* __restrict__ y, const float* __restrict__ x, int64_t n, float a) {
  IM_GRID_LOOP(i, n) { float v = x[i]; y[i] = v > 0.f ? v : a * v; }
}
__global__ void leaky_bwd(float* __restrict__ dx, const float* __restrict__ dy, const float* __restrict__ y, int64_t n, float a) {
  IM_GRID_LOOP(i, n) { dx[i] += y[i] > 0.f ? dy[i] : a * dy[i]; }
}
__global__ void sigmoid_fwd(float* __restrict__ y, const float* __restrict__ x, int64_t n) {
  IM_GRID_LOOP(i, n) { y[i] = 1.f / (1.f + expf(-x[i])); }
}
__global__ void sigmoid_bwd(float* __restrict__ dx, const float* __restrict__ dy, const float* __restrict__ y, int64_t n) {
  IM_GRID_LOOP(i, n) { float s = y[i]; dx[i] += dy[i] * s * (1.f - s); }
}
}  // namespace

void leaky_relu_forward_cuda(float* y, const float* x, int64_t n, float alpha) {
  if (n == 0) return;
  leaky_fwd<<<cuda::grid_for(n), 256, 0, cuda::stream()>>>(y, x, n, alpha);
  IM_CUDA_LAUNCH_CHECK();
}
void leaky_relu_backward_cuda(float* dx, const float* dy, const float* y, int64_t n, float alpha) {
  if (n == 0) return;
  leaky_bwd<<<cuda::grid_for(n), 256, 0, cuda::stream()>>>(dx, dy, y, n, alpha);
  IM_CUDA_LAUNCH_CHECK();
}
void sigmoid_forward_cuda(float* y, const float* x, int64_t n) {
  if (n == 0) return;
  sigmoid_fwd<<<cuda::grid_for(n), 256, 0, cuda::stream()>>>(y, x, n);
  IM_CUDA_LAUNCH_CHECK();
}
void sigmoid_backward_cuda(float* dx, const float* dy, const float* y, int64_t n) {
  if (n == 0) return;
  sigmoid_bwd<<<cuda::grid_for(n), 256, 0, cuda::stream()>>>(dx, dy, y, n);
  IM_CUDA_LAUNCH_CHECK();
}

}  // namespace im
