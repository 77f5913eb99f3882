// KL divergence of N(mu, exp(logvar)) to N(0, I): loss = -0.5 * sum(1 + logvar - mu^2 - exp(logvar)) / batch.
#pragma once
#include <cstdint>

namespace im {

// loss: one float on the inputs' device; n elements in `batch` samples.
void kl_forward_cpu(float* loss, const float* mu, const float* logvar, int64_t n, int64_t batch);
void kl_forward_cuda(float* loss, const float* mu, const float* logvar, int64_t n, int64_t batch);
// dmu += dloss * mu / batch; dlogvar += dloss * 0.5 * (exp(logvar) - 1) / batch. dloss is one float on
// the device (never read on the host); either gradient may be null.
void kl_backward_cpu(float* dmu, float* dlogvar, const float* dloss, const float* mu, const float* logvar, int64_t n,
                     int64_t batch);
void kl_backward_cuda(float* dmu, float* dlogvar, const float* dloss, const float* mu, const float* logvar, int64_t n,
                      int64_t batch);

}  // namespace im
