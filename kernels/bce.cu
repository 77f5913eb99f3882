// CUDA BCE with logits: one fused pass writing block partials, then a one-block final sum.
#include "kernels/bce.h"
#include "kernels/cuda_context.cuh"
#include "kernels/loss_reduce.cuh"

namespace im {

namespace {
using lossred::kThreads;

__device__ __forceinline__ float bce_term(float x, float t) { return fmaxf(x, 0.f) - x * t + log1pf(expf(-fabsf(x))); }
__device__ __forceinline__ float sigmoid_of(float x) {
  const float e = expf(-fabsf(x));
  return x >= 0.f ? 1.f / (1.f + e) : e / (1.f + e);
}

__global__ void bce_partials(float* __restrict__ partials, const float* __restrict__ x, const float* __restrict__ t,
                             int64_t n, bool vec) {
  float s = 0.f;
  lossred::grid_stride4(
      n, vec,
      [&](int64_t i) {
        const float4 a = reinterpret_cast<const float4*>(x)[i], b = reinterpret_cast<const float4*>(t)[i];
        s += bce_term(a.x, b.x) + bce_term(a.y, b.y) + bce_term(a.z, b.z) + bce_term(a.w, b.w);
      },
      [&](int64_t i) { s += bce_term(x[i], t[i]); });
  lossred::store_block_sum(partials, s);
}

__global__ void bce_bwd(float* __restrict__ dx, float* __restrict__ dt, const float* __restrict__ dloss,
                        const float* __restrict__ x, const float* __restrict__ t, int64_t n, float inv_n, bool vec) {
  const float g = dloss[0] * inv_n;
  lossred::grid_stride4(
      n, vec,
      [&](int64_t i) {
        const float4 a = reinterpret_cast<const float4*>(x)[i];
        if (dx) {
          const float4 b = reinterpret_cast<const float4*>(t)[i];
          float4 d = reinterpret_cast<float4*>(dx)[i];
          d.x += g * (sigmoid_of(a.x) - b.x), d.y += g * (sigmoid_of(a.y) - b.y);
          d.z += g * (sigmoid_of(a.z) - b.z), d.w += g * (sigmoid_of(a.w) - b.w);
          reinterpret_cast<float4*>(dx)[i] = d;
        }
        if (dt) {
          float4 d = reinterpret_cast<float4*>(dt)[i];
          d.x -= g * a.x, d.y -= g * a.y, d.z -= g * a.z, d.w -= g * a.w;
          reinterpret_cast<float4*>(dt)[i] = d;
        }
      },
      [&](int64_t i) {
        if (dx) dx[i] += g * (sigmoid_of(x[i]) - t[i]);
        if (dt) dt[i] -= g * x[i];
      });
}
}  // namespace

void bce_forward_cuda(float* loss, const float* x, const float* t, int64_t n) {
  const lossred::Pass4 p = lossred::pass4(n, x, t);
  float* partials = lossred::partials_buffer(p.blocks);
  bce_partials<<<p.blocks, kThreads, 0, cuda::stream()>>>(partials, x, t, n, p.vec);
  IM_CUDA_LAUNCH_CHECK();
  lossred::finalize_sum(loss, partials, p.blocks, n > 0 ? 1.0 / static_cast<double>(n) : 0.0, 0.0);
}

void bce_backward_cuda(float* dx, float* dt, const float* dloss, const float* x, const float* t, int64_t n) {
  if (n == 0 || (!dx && !dt)) return;
  const lossred::Pass4 p = lossred::pass4(n, dx, dt, x, t);
  bce_bwd<<<p.blocks, kThreads, 0, cuda::stream()>>>(dx, dt, dloss, x, t, n, 1.f / static_cast<float>(n), p.vec);
  IM_CUDA_LAUNCH_CHECK();
}

}  // namespace im
