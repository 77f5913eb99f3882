// Per-sample gamma transform of a batch: y[n, i] = x[n, i] ^ gamma[n] (x in [0, 1]); x <= 0 gives 0
// with a zero gradient (background stays background, and pow of a negative base is undefined).
#pragma once
#include <cstdint>

namespace im {

// x, y: N samples of `per` contiguous elements; gamma: N exponents (on the same device).
void gamma_forward_cpu(float* y, const float* x, const float* gamma, int64_t N, int64_t per);
void gamma_forward_cuda(float* y, const float* x, const float* gamma, int64_t N, int64_t per);
// dx += dy * gamma * x^(gamma - 1) where x > 0.
void gamma_backward_cpu(float* dx, const float* dy, const float* x, const float* gamma, int64_t N, int64_t per);
void gamma_backward_cuda(float* dx, const float* dy, const float* x, const float* gamma, int64_t N, int64_t per);

}  // namespace im
