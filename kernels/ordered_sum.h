// ordered_sum: a double-precision sum of f(0..n-1) in 8 interleaved partial sums combined in a fixed
// order. A single accumulator would be a chain of dependent adds (no vectorization, ~4 cycles per
// element); this order vectorizes and is still fixed by n alone, so CPU results never depend on
// the thread count.
#pragma once
#include <cstdint>

namespace im {

template <typename F>
inline double ordered_sum(int64_t n, F f) {
  double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int k = 0; k < 8; ++k) acc[k] += f(i + k);
  double tail = 0;
  for (; i < n; ++i) tail += f(i);
  return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7])) + tail;
}

}  // namespace im
