// CPU twin of kernels/masked_l1.cu.
#include "kernels/masked_l1.h"

#include <cmath>

#include "kernels/loss_reduce.h"

namespace im {

void masked_l1_forward_cpu(float* loss, float* inv_count, const float* a, const float* b, const float* mask,
                           int64_t n) {
  Sum2 s = chunked_sum<Sum2>(n, [&](int64_t i) {
    return mask[i] != 0.f ? Sum2{std::fabs(static_cast<double>(a[i] - b[i])), 1.0} : Sum2{};
  });
  loss[0] = s.b > 0 ? static_cast<float>(s.a / s.b) : 0.f;
  inv_count[0] = s.b > 0 ? static_cast<float>(1.0 / s.b) : 0.f;
}

void masked_l1_backward_cpu(float* da, float* db, const float* dloss, const float* inv_count, const float* a,
                            const float* b, const float* mask, int64_t n) {
  const float g = dloss[0] * inv_count[0];
#pragma omp parallel for simd schedule(static) if (n > kParallelGrain)
  for (int64_t i = 0; i < n; ++i) {
    const float d = a[i] - b[i];
    const float s = mask[i] != 0.f ? g * static_cast<float>((d > 0.f) - (d < 0.f)) : 0.f;
    if (da) da[i] += s;
    if (db) db[i] -= s;
  }
}

}  // namespace im
