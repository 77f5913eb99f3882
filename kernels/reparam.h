// Reparameterization trick: z = mu + eps * exp(0.5 * logvar), eps[i] = philox::normal(seed, offset, i),
// so the CPU and the GPU draw the same noise for the same (seed, offset).
#pragma once
#include <cstdint>

namespace im {

// eps may be null (inference: the noise is not kept).
void reparameterize_forward_cpu(float* z, float* eps, const float* mu, const float* logvar, int64_t n,
                                uint64_t seed, uint64_t offset);
void reparameterize_forward_cuda(float* z, float* eps, const float* mu, const float* logvar, int64_t n,
                                 uint64_t seed, uint64_t offset);
// dmu += dz; dlogvar += dz * eps * 0.5 * exp(0.5 * logvar). Either gradient may be null.
void reparameterize_backward_cpu(float* dmu, float* dlogvar, const float* dz, const float* eps, const float* logvar,
                                 int64_t n);
void reparameterize_backward_cuda(float* dmu, float* dlogvar, const float* dz, const float* eps, const float* logvar,
                                  int64_t n);

}  // namespace im
