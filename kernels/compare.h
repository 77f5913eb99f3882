// Comparison masks: y = (x >= threshold) as 0/1 floats.
#pragma once
#include <cstdint>

namespace im {

void greater_equal_cpu(float* y, const float* x, int64_t n, float threshold);
void greater_equal_cuda(float* y, const float* x, int64_t n, float threshold);

}  // namespace im
