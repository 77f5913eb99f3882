// CPU twins of kernels/random.cu.
#include <cmath>

#include "kernels/parallel.h"
#include "kernels/philox.h"
#include "kernels/random.h"

namespace im {

void random_uniform_cpu(float* y, int64_t n, uint64_t seed, uint64_t offset, float lo, float hi) {
#pragma omp parallel for schedule(static) if (n > kParallelGrain / 8)
  for (int64_t i = 0; i < n; ++i) y[i] = lo + (hi - lo) * philox::uniform(seed, offset, static_cast<uint64_t>(i));
}

void random_normal_cpu(float* y, int64_t n, uint64_t seed, uint64_t offset, float mean, float stddev) {
  using std::cos, std::log, std::sin, std::sqrt;
#pragma omp parallel for schedule(static) if (n > kParallelGrain / 8)
  for (int64_t i = 0; i < n; ++i) y[i] = mean + stddev * philox::normal(seed, offset, static_cast<uint64_t>(i));
}

}  // namespace im
