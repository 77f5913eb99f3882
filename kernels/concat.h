// Strided block copies behind concat and split: the tensors are viewed as [rows, cols] matrices
// (rows = product of the dimensions before the concat dimension), and one input's columns are a
// window of the output's.
#pragma once
#include <cstdint>

namespace im {

// dst[r * dst_cols + dst_off + j] = (or += with accumulate) src[r * src_cols + src_off + j]
// for r < rows, j < cols.
void block_copy_cpu(float* dst, int64_t dst_cols, int64_t dst_off, const float* src, int64_t src_cols, int64_t src_off,
                    int64_t rows, int64_t cols, bool accumulate);
void block_copy_cuda(float* dst, int64_t dst_cols, int64_t dst_off, const float* src, int64_t src_cols,
                     int64_t src_off, int64_t rows, int64_t cols, bool accumulate);

}  // namespace im
