// Memory-level elementwise kernels used by the engine itself: fill and y += alpha * x.
// Each is a pair: name_cpu (OpenMP) and name_cuda (on the engine's stream), same arguments.
#pragma once
#include <cstdint>

namespace im {

void fill_cpu(float* y, int64_t n, float value);
void fill_cuda(float* y, int64_t n, float value);

// y[i] += alpha * x[i]
void add_inplace_cpu(float* y, const float* x, int64_t n, float alpha);
void add_inplace_cuda(float* y, const float* x, int64_t n, float alpha);

}  // namespace im
