// CPU parallel-for helpers: OpenMP above a size threshold, serial below (thread start-up costs
// more than small loops), and deterministic chunked reductions whose result does not depend on the
// number of threads.
#pragma once
#include <cstdint>

namespace im {

// Loops with fewer elements than this run on one thread.
constexpr int64_t kParallelGrain = 1 << 15;
// Reductions sum fixed chunks of this many elements, then the chunk sums in order.
constexpr int64_t kReduceChunk = 1 << 12;

}  // namespace im
