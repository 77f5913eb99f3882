// Sum reductions: x viewed as [outer, R, inner] is summed over R (sum over all elements: outer =
// inner = 1; over dims [begin, end): R = their product). Sums run in double in a fixed order that
// depends only on the shape (CUDA: fixed slices reduced in blocks, then the slices in order).
#pragma once
#include <cstdint>

namespace im {

// y[o, i] = scale * sum_r x[o, r, i]
void reduce_sum_forward_cpu(float* y, const float* x, int64_t outer, int64_t R, int64_t inner, float scale);
void reduce_sum_forward_cuda(float* y, const float* x, int64_t outer, int64_t R, int64_t inner, float scale);

// dx[o, r, i] += scale * dy[o, i]
void reduce_sum_backward_cpu(float* dx, const float* dy, int64_t outer, int64_t R, int64_t inner, float scale);
void reduce_sum_backward_cuda(float* dx, const float* dy, int64_t outer, int64_t R, int64_t inner, float scale);

}  // namespace im
