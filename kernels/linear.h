// Dense layer y = x w^T + bias with x [N, in], w [out, in], bias [out], all row-major.
// CPU: Eigen GEMM over a fixed tiling of the result (deterministic whatever the thread count);
// CUDA: cublasSgemm (TF32 when the handle's math mode allows it, see cuda::set_tf32).
#pragma once
#include <cstdint>

namespace im {

// bias may be null.
void linear_forward_cpu(float* y, const float* x, const float* w, const float* bias, int64_t N, int64_t in, int64_t out);
void linear_forward_cuda(float* y, const float* x, const float* w, const float* bias, int64_t N, int64_t in, int64_t out);

// Accumulates dx += dy w, dw += dy^T x, db += column sums of dy; any of dx, dw, db may be null.
void linear_backward_cpu(float* dx, float* dw, float* db, const float* dy, const float* x, const float* w, int64_t N,
                         int64_t in, int64_t out);
void linear_backward_cuda(float* dx, float* dw, float* db, const float* dy, const float* x, const float* w, int64_t N,
                          int64_t in, int64_t out);

}  // namespace im
