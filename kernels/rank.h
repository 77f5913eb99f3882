// Within-sample ranks: each sample's foreground values (x >= threshold) replaced by their mid-rank
// among them, mapped onto [lo, 1]; background 0. A strictly increasing change of the intensities
// leaves the result unchanged. Data only, never differentiated.
#pragma once
#include <cstdint>

namespace im {

// x, y: n_samples x sample_size floats. With m foreground values in a sample, one equal to v gets
// r = (2 * #{u < v} + #{u == v} - 1) / (2 * max(m - 1, 1)) (the mid-rank over m - 1, so ties share
// one value) and y = fma(1 - lo, r, lo), rounded the same way on both devices.
void rank_normalize_cpu(float* y, const float* x, int64_t n_samples, int64_t sample_size, float threshold, float lo);
void rank_normalize_cuda(float* y, const float* x, int64_t n_samples, int64_t sample_size, float threshold, float lo);

}  // namespace im
