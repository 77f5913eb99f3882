// CPU twin of kernels/concat.cu.
#include "kernels/concat.h"

#include <cstring>

#include "kernels/parallel.h"

namespace im {

void block_copy_cpu(float* dst, int64_t dst_cols, int64_t dst_off, const float* src, int64_t src_cols, int64_t src_off,
                    int64_t rows, int64_t cols, bool accumulate) {
  if (rows == 0 || cols == 0) return;
#pragma omp parallel for schedule(static) if (rows * cols > kParallelGrain && rows > 1)
  for (int64_t r = 0; r < rows; ++r) {
    float* d = dst + r * dst_cols + dst_off;
    const float* s = src + r * src_cols + src_off;
    if (accumulate) {
#pragma omp simd
      for (int64_t j = 0; j < cols; ++j) d[j] += s[j];
    } else {
      std::memcpy(d, s, static_cast<size_t>(cols) * sizeof(float));
    }
  }
}

}  // namespace im
