// Seeded random fills from the shared Philox generator: the same (seed, offset) gives the same
// numbers on the CPU and on the GPU.
#pragma once
#include <cstdint>

namespace im {

void random_uniform_cpu(float* y, int64_t n, uint64_t seed, uint64_t offset, float lo, float hi);
void random_uniform_cuda(float* y, int64_t n, uint64_t seed, uint64_t offset, float lo, float hi);

void random_normal_cpu(float* y, int64_t n, uint64_t seed, uint64_t offset, float mean, float stddev);
void random_normal_cuda(float* y, int64_t n, uint64_t seed, uint64_t offset, float mean, float stddev);

}  // namespace im
