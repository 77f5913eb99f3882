// CUDA masked L1: one fused pass writing block partials of (sum, count), then a one-block final
// pass that writes the loss and 1 / count (kept on the device for the backward).
#include "kernels/cuda_context.cuh"
#include "kernels/loss_reduce.cuh"
#include "kernels/masked_l1.h"

namespace im {

namespace {
using lossred::kThreads;

__device__ __forceinline__ void l1_acc(float a, float b, float m, float& s, float& c) {
  if (m != 0.f) {
    s += fabsf(a - b);
    c += 1.f;
  }
}
__device__ __forceinline__ float l1_grad(float a, float b, float m, float g) {
  const float d = a - b;
  return m != 0.f ? g * static_cast<float>((d > 0.f) - (d < 0.f)) : 0.f;
}

// partials[blk] = sum, partials[blocks + blk] = count (exact in float: at most n / blocks per block).
__global__ void l1_partials(float* __restrict__ partials, const float* __restrict__ a, const float* __restrict__ b,
                            const float* __restrict__ mask, int64_t n, bool vec) {
  float s = 0.f, c = 0.f;
  lossred::grid_stride4(
      n, vec,
      [&](int64_t i) {
        const float4 x = reinterpret_cast<const float4*>(a)[i], y = reinterpret_cast<const float4*>(b)[i],
                     m = reinterpret_cast<const float4*>(mask)[i];
        l1_acc(x.x, y.x, m.x, s, c);
        l1_acc(x.y, y.y, m.y, s, c);
        l1_acc(x.z, y.z, m.z, s, c);
        l1_acc(x.w, y.w, m.w, s, c);
      },
      [&](int64_t i) { l1_acc(a[i], b[i], mask[i], s, c); });
  lossred::store_block_sum(partials, s);
  lossred::store_block_sum(partials + gridDim.x, c);
}

__global__ void l1_finalize(float* loss, float* inv_count, const float* partials, int blocks) {
  const double s = lossred::sum_partials(partials, blocks);
  const double c = lossred::sum_partials(partials + blocks, blocks);
  if (threadIdx.x == 0) {
    loss[0] = c > 0 ? static_cast<float>(s / c) : 0.f;
    inv_count[0] = c > 0 ? static_cast<float>(1.0 / c) : 0.f;
  }
}

__global__ void l1_bwd(float* __restrict__ da, float* __restrict__ db, const float* __restrict__ dloss,
                       const float* __restrict__ inv_count, const float* __restrict__ a, const float* __restrict__ b,
                       const float* __restrict__ mask, int64_t n, bool vec) {
  const float g = dloss[0] * inv_count[0];
  lossred::grid_stride4(
      n, vec,
      [&](int64_t i) {
        const float4 x = reinterpret_cast<const float4*>(a)[i], y = reinterpret_cast<const float4*>(b)[i],
                     m = reinterpret_cast<const float4*>(mask)[i];
        const float4 s = make_float4(l1_grad(x.x, y.x, m.x, g), l1_grad(x.y, y.y, m.y, g), l1_grad(x.z, y.z, m.z, g),
                                     l1_grad(x.w, y.w, m.w, g));
        if (da) {
          float4 d = reinterpret_cast<float4*>(da)[i];
          d.x += s.x, d.y += s.y, d.z += s.z, d.w += s.w;
          reinterpret_cast<float4*>(da)[i] = d;
        }
        if (db) {
          float4 d = reinterpret_cast<float4*>(db)[i];
          d.x -= s.x, d.y -= s.y, d.z -= s.z, d.w -= s.w;
          reinterpret_cast<float4*>(db)[i] = d;
        }
      },
      [&](int64_t i) {
        const float s = l1_grad(a[i], b[i], mask[i], g);
        if (da) da[i] += s;
        if (db) db[i] -= s;
      });
}
}  // namespace

void masked_l1_forward_cuda(float* loss, float* inv_count, const float* a, const float* b, const float* mask,
                            int64_t n) {
  const lossred::Pass4 p = lossred::pass4(n, a, b, mask);
  float* partials = lossred::partials_buffer(2 * p.blocks);
  l1_partials<<<p.blocks, kThreads, 0, cuda::stream()>>>(partials, a, b, mask, n, p.vec);
  IM_CUDA_LAUNCH_CHECK();
  l1_finalize<<<1, kThreads, 0, cuda::stream()>>>(loss, inv_count, partials, p.blocks);
  IM_CUDA_LAUNCH_CHECK();
}

void masked_l1_backward_cuda(float* da, float* db, const float* dloss, const float* inv_count, const float* a,
                             const float* b, const float* mask, int64_t n) {
  if (n == 0 || (!da && !db)) return;
  const lossred::Pass4 p = lossred::pass4(n, da, db, a, b, mask);
  l1_bwd<<<p.blocks, kThreads, 0, cuda::stream()>>>(da, db, dloss, inv_count, a, b, mask, n, p.vec);
  IM_CUDA_LAUNCH_CHECK();
}

}  // namespace im
