// CUDA site losses: one warp per row (max, sum of exponentials and the target dot product by warp
// shuffles). The forward is a single block, since N is a batch size: the warps' row losses are
// summed in a fixed order, with no second pass and no atomics.
#include <math_constants.h>

#include "kernels/cuda_context.cuh"
#include "kernels/loss_reduce.cuh"
#include "kernels/site_loss.h"

namespace im {

namespace {
constexpr int kThreads = 256, kWarps = kThreads / 32;

__device__ __forceinline__ float warp_max(float v) {
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

// Label index of a row, -1 when it is not an integer in [0, S).
__device__ __forceinline__ int64_t label_index(float l, int64_t S) {
  if (!(l >= 0.f) || l >= static_cast<float>(S) || l != floorf(l)) return -1;
  return static_cast<int64_t>(l);
}

struct Target {
  float hot, base;  // target_s = base + (s == label ? hot : 0)
};

__global__ void site_fwd(float* __restrict__ loss, const float* __restrict__ logits, const float* __restrict__ labels,
                         int64_t N, int64_t S, Target t) {
  __shared__ double warp_loss[kWarps];
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  double acc = 0;  // meaningful in lane 0
  for (int64_t i = warp; i < N; i += kWarps) {
    const float* x = logits + i * S;
    const int64_t y = labels ? label_index(labels[i], S) : -1;
    float m = -CUDART_INF_F;
    for (int64_t s = lane; s < S; s += 32) m = fmaxf(m, x[s]);
    m = warp_max(m);
    double se = 0, sx = 0;
    for (int64_t s = lane; s < S; s += 32) {
      se += exp(static_cast<double>(x[s] - m));
      sx += x[s];
    }
    se = lossred::warp_sum(se);
    sx = lossred::warp_sum(sx);
    if (lane == 0) {
      if (labels && y < 0) {
        acc = CUDART_NAN;
      } else {
        const double tx = t.base * sx + (y >= 0 ? t.hot * static_cast<double>(x[y]) : 0.0);
        acc += (m + log(se)) * (t.hot + t.base * static_cast<double>(S)) - tx;
      }
    }
  }
  if (lane == 0) warp_loss[warp] = acc;
  __syncthreads();
  if (threadIdx.x == 0) {
    double total = 0;
    for (int w = 0; w < kWarps; ++w) total += warp_loss[w];
    loss[0] = static_cast<float>(total / static_cast<double>(N));
  }
}

__global__ void site_bwd(float* __restrict__ dlogits, const float* __restrict__ dloss, const float* __restrict__ logits,
                         const float* __restrict__ labels, int64_t N, int64_t S, Target t) {
  const int lane = threadIdx.x & 31;
  const float g = dloss[0] / static_cast<float>(N);
  for (int64_t i = blockIdx.x * (int64_t)kWarps + (threadIdx.x >> 5); i < N; i += (int64_t)gridDim.x * kWarps) {
    const float* x = logits + i * S;
    float* dx = dlogits + i * S;
    const int64_t y = labels ? label_index(labels[i], S) : -1;
    const float bad = (labels && y < 0) ? CUDART_NAN_F : 0.f;
    float m = -CUDART_INF_F;
    for (int64_t s = lane; s < S; s += 32) m = fmaxf(m, x[s]);
    m = warp_max(m);
    float se = 0.f;
    for (int64_t s = lane; s < S; s += 32) se += expf(x[s] - m);
    const float inv = 1.f / lossred::warp_sum(se);
    for (int64_t s = lane; s < S; s += 32) {
      const float target = t.base + (s == y ? t.hot : 0.f);
      dx[s] += g * (expf(x[s] - m) * inv - target) + bad;
    }
  }
}

Target target_of(const float* labels, int64_t S, float smoothing) {
  if (!labels) return Target{0.f, 1.f / static_cast<float>(S)};
  return Target{1.f - smoothing, smoothing / static_cast<float>(S)};
}
}  // namespace

void site_loss_forward_cuda(float* loss, const float* logits, const float* labels, int64_t N, int64_t S,
                            float smoothing) {
  site_fwd<<<1, kThreads, 0, cuda::stream()>>>(loss, logits, labels, N, S, target_of(labels, S, smoothing));
  IM_CUDA_LAUNCH_CHECK();
}

void site_loss_backward_cuda(float* dlogits, const float* dloss, const float* logits, const float* labels, int64_t N,
                             int64_t S, float smoothing) {
  if (N == 0) return;
  int64_t blocks = (N + kWarps - 1) / kWarps;
  if (blocks > 1024) blocks = 1024;
  site_bwd<<<static_cast<unsigned>(blocks), kThreads, 0, cuda::stream()>>>(dlogits, dloss, logits, labels, N, S,
                                                                           target_of(labels, S, smoothing));
  IM_CUDA_LAUNCH_CHECK();
}

}  // namespace im
