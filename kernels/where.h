// where(mask, a, b) and masked_select(x, mask); mask holds 0/1 floats (any nonzero selects).
#pragma once
#include <cstdint>

namespace im {

// y = mask ? a : b
void where_forward_cpu(float* y, const float* mask, const float* a, const float* b, int64_t n);
void where_forward_cuda(float* y, const float* mask, const float* a, const float* b, int64_t n);
// da += mask ? dy : 0, db += mask ? 0 : dy (either may be null).
void where_backward_cpu(float* da, float* db, const float* dy, const float* mask, int64_t n);
void where_backward_cuda(float* da, float* db, const float* dy, const float* mask, int64_t n);

// The number of selected elements (on CUDA this waits for the device).
void mask_count_cpu(const float* mask, int64_t n, int64_t* count);
void mask_count_cuda(const float* mask, int64_t n, int64_t* count);
// y[k] = x[i_k], i_k the index of the k-th selected element.
void masked_select_forward_cpu(float* y, const float* x, const float* mask, int64_t n);
void masked_select_forward_cuda(float* y, const float* x, const float* mask, int64_t n);
// dx[i_k] += dy[k].
void masked_select_backward_cpu(float* dx, const float* dy, const float* mask, int64_t n);
void masked_select_backward_cuda(float* dx, const float* dy, const float* mask, int64_t n);

}  // namespace im
