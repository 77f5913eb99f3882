// Alternative (numbered) versions of the fused kernels, timed against the production ones in
// kernels/ by imunity_bench_kernels.cu (llm.c dev/cuda style). Version 1 of every kernel is the
// production function itself; the versions here are v2, v3... A version that wins on the GPU moves
// into kernels/ (and its CPU twin stays the reference).
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

#include "kernels/adam.h"
#include "kernels/cuda_context.cuh"
#include "kernels/loss_reduce.cuh"
#include "kernels/philox.h"

namespace im::bench {

#define IM_BENCH_GRID_LOOP(i, n) \
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < (n); i += (int64_t)gridDim.x * blockDim.x)

// ---- gamma v2: flat grid-stride, one element per thread, sample index by division.
__global__ void gamma_fwd_flat(float* __restrict__ y, const float* __restrict__ x, const float* __restrict__ gamma,
                               int64_t n, int64_t per) {
  IM_BENCH_GRID_LOOP(i, n) {
    const float v = x[i];
    y[i] = v > 0.f ? powf(v, gamma[i / per]) : 0.f;
  }
}
inline void gamma_forward_v2(float* y, const float* x, const float* gamma, int64_t N, int64_t per) {
  gamma_fwd_flat<<<cuda::grid_for(N * per), 256, 0, cuda::stream()>>>(y, x, gamma, N * per, per);
  IM_CUDA_LAUNCH_CHECK();
}

// ---- reparameterize v2: one thread per Philox block (4 elements), one sincos per Box-Muller pair,
// the same double-precision formula as philox::normal so the noise is the same.
__global__ void reparam_fwd_x4(float* __restrict__ z, float* __restrict__ eps, const float* __restrict__ mu,
                               const float* __restrict__ logvar, int64_t n, uint64_t seed, uint64_t offset) {
  IM_BENCH_GRID_LOOP(blk, (n + 3) / 4) {
    const philox::U4 w = philox::block(seed, offset, static_cast<uint64_t>(blk));
    float e[4];
#pragma unroll
    for (int p = 0; p < 2; ++p) {
      const double u1 = (static_cast<double>(w.x[2 * p] >> 8) + 1.0) * (1.0 / 16777216.0);
      const double u2 = static_cast<double>(w.x[2 * p + 1] >> 8) * (1.0 / 16777216.0);
      const double r = sqrt(-2.0 * log(u1));
      double s, c;
      sincos(6.283185307179586476925 * u2, &s, &c);
      e[2 * p] = static_cast<float>(r * c);
      e[2 * p + 1] = static_cast<float>(r * s);
    }
#pragma unroll
    for (int q = 0; q < 4; ++q) {
      const int64_t i = 4 * blk + q;
      if (i < n) {
        z[i] = mu[i] + e[q] * expf(0.5f * logvar[i]);
        if (eps) eps[i] = e[q];
      }
    }
  }
}
inline void reparameterize_forward_v2(float* z, float* eps, const float* mu, const float* logvar, int64_t n,
                                      uint64_t seed, uint64_t offset) {
  reparam_fwd_x4<<<cuda::grid_for((n + 3) / 4), 256, 0, cuda::stream()>>>(z, eps, mu, logvar, n, seed, offset);
  IM_CUDA_LAUNCH_CHECK();
}

// ---- KL v2: a single launch; the last block to finish (an integer ticket, so still no float
// atomics and a fixed summation order) sums the partials.
__device__ unsigned int kl_ticket = 0;
__device__ __forceinline__ float kl_term(float m, float lv) { return m * m + expm1f(lv) - lv; }
__global__ void kl_single_pass(float* __restrict__ loss, float* __restrict__ partials, const float* __restrict__ mu,
                               const float* __restrict__ logvar, int64_t n, double scale) {
  __shared__ bool last;
  float s = 0.f;
  lossred::grid_stride4(
      n, true,  // the caller passes 16-byte aligned buffers
      [&](int64_t i) {
        const float4 m = reinterpret_cast<const float4*>(mu)[i], lv = reinterpret_cast<const float4*>(logvar)[i];
        s += kl_term(m.x, lv.x) + kl_term(m.y, lv.y) + kl_term(m.z, lv.z) + kl_term(m.w, lv.w);
      },
      [&](int64_t i) { s += kl_term(mu[i], logvar[i]); });
  s = lossred::block_sum(s);
  if (threadIdx.x == 0) {
    partials[blockIdx.x] = s;
    __threadfence();
    last = atomicInc(&kl_ticket, gridDim.x - 1) == gridDim.x - 1;  // wraps to 0 for the next launch
  }
  __syncthreads();
  if (!last) return;
  double t = 0;
  for (unsigned i = threadIdx.x; i < gridDim.x; i += blockDim.x) t += __ldcg(partials + i);
  t = lossred::block_sum(t);
  if (threadIdx.x == 0) loss[0] = static_cast<float>(scale * t);
}
inline void kl_forward_v2(float* loss, const float* mu, const float* logvar, int64_t n, int64_t batch) {
  const int blocks = lossred::blocks_for((n + 3) / 4);
  float* partials = lossred::partials_buffer(blocks);
  kl_single_pass<<<blocks, lossred::kThreads, 0, cuda::stream()>>>(loss, partials, mu, logvar, n,
                                                                  0.5 / static_cast<double>(batch));
  IM_CUDA_LAUNCH_CHECK();
}

// ---- Adam v2: float4 loads and stores (n % 4 == 0 and aligned buffers, as one parameter group is).
__global__ void adam_x4(float4* __restrict__ p, const float4* __restrict__ g, float4* __restrict__ m,
                        float4* __restrict__ v, int64_t n4, AdamArgs a) {
  IM_BENCH_GRID_LOOP(i, n4) {
    float4 pi = p[i], gi = g[i], mi = m[i], vi = v[i];
    float* pp = &pi.x;
    float* gg = &gi.x;
    float* mm = &mi.x;
    float* vv = &vi.x;
#pragma unroll
    for (int k = 0; k < 4; ++k) {
      const float gk = gg[k] + a.weight_decay * pp[k];
      mm[k] = a.beta1 * mm[k] + (1.f - a.beta1) * gk;
      vv[k] = a.beta2 * vv[k] + (1.f - a.beta2) * gk * gk;
      pp[k] -= a.step_size * mm[k] / (sqrtf(vv[k]) / a.bias2_sqrt + a.eps);
    }
    p[i] = pi;
    m[i] = mi;
    v[i] = vi;
  }
}
inline void adam_step_v2(float* p, const float* g, float* m, float* v, int64_t n, AdamArgs a) {
  adam_x4<<<cuda::grid_for(n / 4), 256, 0, cuda::stream()>>>(reinterpret_cast<float4*>(p),
                                                              reinterpret_cast<const float4*>(g),
                                                              reinterpret_cast<float4*>(m), reinterpret_cast<float4*>(v),
                                                              n / 4, a);
  IM_CUDA_LAUNCH_CHECK();
}

// ---- LeakyReLU v2: float4 (n % 4 == 0, aligned).
__global__ void leaky_fwd_x4(float4* __restrict__ y, const float4* __restrict__ x, int64_t n4, float alpha) {
  IM_BENCH_GRID_LOOP(i, n4) {
    float4 v = x[i];
    v.x = v.x > 0.f ? v.x : alpha * v.x;
    v.y = v.y > 0.f ? v.y : alpha * v.y;
    v.z = v.z > 0.f ? v.z : alpha * v.z;
    v.w = v.w > 0.f ? v.w : alpha * v.w;
    y[i] = v;
  }
}
__global__ void leaky_bwd_x4(float4* __restrict__ dx, const float4* __restrict__ dy, const float4* __restrict__ y,
                             int64_t n4, float alpha) {
  IM_BENCH_GRID_LOOP(i, n4) {
    const float4 d = dy[i], o = y[i];
    float4 acc = dx[i];
    acc.x += o.x > 0.f ? d.x : alpha * d.x;
    acc.y += o.y > 0.f ? d.y : alpha * d.y;
    acc.z += o.z > 0.f ? d.z : alpha * d.z;
    acc.w += o.w > 0.f ? d.w : alpha * d.w;
    dx[i] = acc;
  }
}
inline void leaky_relu_forward_v2(float* y, const float* x, int64_t n, float alpha) {
  leaky_fwd_x4<<<cuda::grid_for(n / 4), 256, 0, cuda::stream()>>>(reinterpret_cast<float4*>(y),
                                                                    reinterpret_cast<const float4*>(x), n / 4, alpha);
  IM_CUDA_LAUNCH_CHECK();
}
inline void leaky_relu_backward_v2(float* dx, const float* dy, const float* y, int64_t n, float alpha) {
  leaky_bwd_x4<<<cuda::grid_for(n / 4), 256, 0, cuda::stream()>>>(
      reinterpret_cast<float4*>(dx), reinterpret_cast<const float4*>(dy), reinterpret_cast<const float4*>(y), n / 4,
      alpha);
  IM_CUDA_LAUNCH_CHECK();
}

#undef IM_BENCH_GRID_LOOP

}  // namespace im::bench
