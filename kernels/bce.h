// Binary cross-entropy with logits, mean over all elements, in the stable form
//   l(x, t) = max(x, 0) - x * t + log1p(exp(-|x|))   (exact for any x, no overflow).
#pragma once
#include <cstdint>

namespace im {

void bce_forward_cpu(float* loss, const float* x, const float* t, int64_t n);
void bce_forward_cuda(float* loss, const float* x, const float* t, int64_t n);
// dx += dloss / n * (sigmoid(x) - t); dt += dloss / n * (-x). Either gradient may be null.
void bce_backward_cpu(float* dx, float* dt, const float* dloss, const float* x, const float* t, int64_t n);
void bce_backward_cuda(float* dx, float* dt, const float* dloss, const float* x, const float* t, int64_t n);

}  // namespace im
