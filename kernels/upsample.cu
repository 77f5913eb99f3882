// CUDA nearest 2x upsampling: one thread per output element forward, one per input element backward
// (it sums its own 2 x 2 block: no atomics, the same order as the CPU twin).
#include "kernels/cuda_context.cuh"
#include "kernels/upsample.h"

namespace im {

namespace {
__global__ void up_fwd(float* __restrict__ y, const float* __restrict__ x, int64_t n, int64_t h, int64_t w) {
  const int64_t W = 2 * w, H = 2 * h;
  for (int64_t o = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; o < n; o += (int64_t)gridDim.x * blockDim.x) {
    const int64_t j = o % W, i = (o / W) % H, p = o / (W * H);
    y[o] = x[(p * h + i / 2) * w + j / 2];
  }
}
__global__ void up_bwd(float* __restrict__ dx, const float* __restrict__ dy, int64_t n, int64_t w) {
  for (int64_t q = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; q < n; q += (int64_t)gridDim.x * blockDim.x) {
    const int64_t j = q % w, r = q / w;  // r: input row over all planes
    const float* s0 = dy + r * 4 * w + 2 * j;
    const float* s1 = s0 + 2 * w;
    dx[q] += ((s0[0] + s0[1]) + s1[0]) + s1[1];
  }
}
}  // namespace

void upsample2x_forward_cuda(float* y, const float* x, int64_t planes, int64_t h, int64_t w) {
  const int64_t n = planes * h * w * 4;
  if (n == 0) return;
  up_fwd<<<cuda::grid_for(n), 256, 0, cuda::stream()>>>(y, x, n, h, w);
  IM_CUDA_LAUNCH_CHECK();
}

void upsample2x_backward_cuda(float* dx, const float* dy, int64_t planes, int64_t h, int64_t w) {
  const int64_t n = planes * h * w;
  if (n == 0) return;
  up_bwd<<<cuda::grid_for(n), 256, 0, cuda::stream()>>>(dx, dy, n, w);
  IM_CUDA_LAUNCH_CHECK();
}

}  // namespace im
