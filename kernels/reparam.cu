// CUDA reparameterization: one thread per element evaluates Philox and Box-Muller in place (the
// noise never makes a round trip through memory unless the backward needs it).
#include "kernels/cuda_context.cuh"
#include "kernels/loss_reduce.cuh"
#include "kernels/philox.h"
#include "kernels/reparam.h"

namespace im {

namespace {
__global__ void reparam_fwd(float* __restrict__ z, float* __restrict__ eps, const float* __restrict__ mu,
                            const float* __restrict__ logvar, int64_t n, uint64_t seed, uint64_t offset) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
    const float e = philox::normal(seed, offset, static_cast<uint64_t>(i));
    z[i] = mu[i] + e * expf(0.5f * logvar[i]);
    if (eps) eps[i] = e;
  }
}

__global__ void reparam_bwd(float* __restrict__ dmu, float* __restrict__ dlogvar, const float* __restrict__ dz,
                            const float* __restrict__ eps, const float* __restrict__ logvar, int64_t n, bool vec) {
  lossred::grid_stride4(
      n, vec,
      [&](int64_t i) {
        const float4 d = reinterpret_cast<const float4*>(dz)[i];
        if (dmu) {
          float4 m = reinterpret_cast<float4*>(dmu)[i];
          m.x += d.x, m.y += d.y, m.z += d.z, m.w += d.w;
          reinterpret_cast<float4*>(dmu)[i] = m;
        }
        if (dlogvar) {
          const float4 e = reinterpret_cast<const float4*>(eps)[i], lv = reinterpret_cast<const float4*>(logvar)[i];
          float4 g = reinterpret_cast<float4*>(dlogvar)[i];
          g.x += d.x * e.x * 0.5f * expf(0.5f * lv.x);
          g.y += d.y * e.y * 0.5f * expf(0.5f * lv.y);
          g.z += d.z * e.z * 0.5f * expf(0.5f * lv.z);
          g.w += d.w * e.w * 0.5f * expf(0.5f * lv.w);
          reinterpret_cast<float4*>(dlogvar)[i] = g;
        }
      },
      [&](int64_t i) {
        if (dmu) dmu[i] += dz[i];
        if (dlogvar) dlogvar[i] += dz[i] * eps[i] * 0.5f * expf(0.5f * logvar[i]);
      });
}
}  // namespace

void reparameterize_forward_cuda(float* z, float* eps, const float* mu, const float* logvar, int64_t n,
                                 uint64_t seed, uint64_t offset) {
  if (n == 0) return;
  reparam_fwd<<<cuda::grid_for(n), 256, 0, cuda::stream()>>>(z, eps, mu, logvar, n, seed, offset);
  IM_CUDA_LAUNCH_CHECK();
}

void reparameterize_backward_cuda(float* dmu, float* dlogvar, const float* dz, const float* eps, const float* logvar,
                                  int64_t n) {
  if (n == 0 || (!dmu && !dlogvar)) return;
  const lossred::Pass4 p = lossred::pass4(n, dmu, dlogvar, dz, eps, logvar);
  reparam_bwd<<<p.blocks, lossred::kThreads, 0, cuda::stream()>>>(dmu, dlogvar, dz, eps, logvar, n, p.vec);
  IM_CUDA_LAUNCH_CHECK();
}

}  // namespace im
