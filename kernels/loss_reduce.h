// Deterministic CPU sums for the fused losses: fixed chunks of kReduceChunk elements are summed in
// parallel (in double), then the chunk sums in order, so the result does not depend on the threads.
#pragma once
#include <cstdint>
#include <vector>

#include "kernels/parallel.h"

namespace im {

// A pair of running sums (value and count, for the masked mean).
struct Sum2 {
  double a = 0, b = 0;
  Sum2& operator+=(const Sum2& o) {
    a += o.a;
    b += o.b;
    return *this;
  }
};

// Sum of f(i) over [0, n); T is double or Sum2, f returns something T can += from.
template <class T, class F>
T chunked_sum(int64_t n, F f) {
  const int64_t chunks = (n + kReduceChunk - 1) / kReduceChunk;
  std::vector<T> part(static_cast<size_t>(chunks > 0 ? chunks : 1));
#pragma omp parallel for schedule(static) if (n > kParallelGrain)
  for (int64_t c = 0; c < chunks; ++c) {
    T s{};
    const int64_t end = (c + 1) * kReduceChunk < n ? (c + 1) * kReduceChunk : n;
    for (int64_t i = c * kReduceChunk; i < end; ++i) s += f(i);
    part[static_cast<size_t>(c)] = s;
  }
  T total{};
  for (const T& p : part) total += p;
  return total;
}

}  // namespace im
