// CUDA KL divergence: one fused pass writing block partials, then a one-block final sum (no atomics).
#include "kernels/cuda_context.cuh"
#include "kernels/kl.h"
#include "kernels/loss_reduce.cuh"

namespace im {

namespace {
using lossred::kThreads;

__device__ __forceinline__ float kl_term(float m, float lv) { return m * m + expm1f(lv) - lv; }

__global__ void kl_partials(float* __restrict__ partials, const float* __restrict__ mu,
                            const float* __restrict__ logvar, int64_t n, bool vec) {
  float s = 0.f;
  lossred::grid_stride4(
      n, vec,
      [&](int64_t i) {
        const float4 m = reinterpret_cast<const float4*>(mu)[i], lv = reinterpret_cast<const float4*>(logvar)[i];
        s += kl_term(m.x, lv.x) + kl_term(m.y, lv.y) + kl_term(m.z, lv.z) + kl_term(m.w, lv.w);
      },
      [&](int64_t i) { s += kl_term(mu[i], logvar[i]); });
  lossred::store_block_sum(partials, s);
}

__global__ void kl_bwd(float* __restrict__ dmu, float* __restrict__ dlogvar, const float* __restrict__ dloss,
                       const float* __restrict__ mu, const float* __restrict__ logvar, int64_t n, float inv_batch,
                       bool vec) {
  const float g = dloss[0] * inv_batch, h = 0.5f * g;
  lossred::grid_stride4(
      n, vec,
      [&](int64_t i) {
        if (dmu) {
          const float4 m = reinterpret_cast<const float4*>(mu)[i];
          float4 d = reinterpret_cast<float4*>(dmu)[i];
          d.x += g * m.x, d.y += g * m.y, d.z += g * m.z, d.w += g * m.w;
          reinterpret_cast<float4*>(dmu)[i] = d;
        }
        if (dlogvar) {
          const float4 lv = reinterpret_cast<const float4*>(logvar)[i];
          float4 d = reinterpret_cast<float4*>(dlogvar)[i];
          d.x += h * expm1f(lv.x), d.y += h * expm1f(lv.y), d.z += h * expm1f(lv.z), d.w += h * expm1f(lv.w);
          reinterpret_cast<float4*>(dlogvar)[i] = d;
        }
      },
      [&](int64_t i) {
        if (dmu) dmu[i] += g * mu[i];
        if (dlogvar) dlogvar[i] += h * expm1f(logvar[i]);
      });
}
}  // namespace

void kl_forward_cuda(float* loss, const float* mu, const float* logvar, int64_t n, int64_t batch) {
  const lossred::Pass4 p = lossred::pass4(n, mu, logvar);
  float* partials = lossred::partials_buffer(p.blocks);
  kl_partials<<<p.blocks, kThreads, 0, cuda::stream()>>>(partials, mu, logvar, n, p.vec);
  IM_CUDA_LAUNCH_CHECK();
  lossred::finalize_sum(loss, partials, p.blocks, 0.5 / static_cast<double>(batch), 0.0);
}

void kl_backward_cuda(float* dmu, float* dlogvar, const float* dloss, const float* mu, const float* logvar, int64_t n,
                      int64_t batch) {
  if (n == 0 || (!dmu && !dlogvar)) return;
  const lossred::Pass4 p = lossred::pass4(n, dmu, dlogvar, mu, logvar);
  kl_bwd<<<p.blocks, kThreads, 0, cuda::stream()>>>(dmu, dlogvar, dloss, mu, logvar, n, 1.f / static_cast<float>(batch),
                                                    p.vec);
  IM_CUDA_LAUNCH_CHECK();
}

}  // namespace im
