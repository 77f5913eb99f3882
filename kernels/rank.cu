// CUDA within-sample ranks: each thread counts, for its value, the sample's foreground values below
// and equal to it, through shared-memory tiles: the same integers as the CPU's sort gives, with no
// sort to write, at n^2 comparisons per sample (2.7e8 for a 128 x 128 slice). Not yet timed on a
// GPU: benchmarks/imunity_bench_ops.cpp prints it beside the first encoder convolution.
#include "kernels/cuda_context.cuh"
#include "kernels/rank.h"

namespace im {

namespace {
constexpr int kTile = 256;

__global__ void rank_kernel(float* __restrict__ y, const float* __restrict__ x, int64_t sample_size, float t,
                            float lo) {
  __shared__ float tile[kTile];
  const float* xs = x + blockIdx.y * sample_size;
  const int64_t i = blockIdx.x * (int64_t)kTile + threadIdx.x;
  const bool mine = i < sample_size;
  const float v = mine ? xs[i] : 0.f;
  long long less = 0, equal = 0, fg = 0;
  for (int64_t base = 0; base < sample_size; base += kTile) {
    const int64_t j = base + threadIdx.x;
    // Values that are not foreground enter the tile as NaN, which compares false with everything.
    const float u = j < sample_size ? xs[j] : __int_as_float(0x7fc00000);
    tile[threadIdx.x] = u >= t ? u : __int_as_float(0x7fc00000);
    __syncthreads();
    const int n = sample_size - base < kTile ? (int)(sample_size - base) : kTile;
    for (int k = 0; k < n; ++k) {
      const float w = tile[k];
      fg += w == w;
      less += w < v;
      equal += w == v;
    }
    __syncthreads();
  }
  if (!mine) return;
  if (!(v >= t)) {
    y[blockIdx.y * sample_size + i] = 0.f;
    return;
  }
  const float denom = (float)(2 * (fg > 1 ? fg - 1 : 1));
  const float r = __fdiv_rn((float)(2 * less + equal - 1), denom);
  y[blockIdx.y * sample_size + i] = __fmaf_rn(1.f - lo, r, lo);
}
}  // namespace

void rank_normalize_cuda(float* y, const float* x, int64_t n_samples, int64_t sample_size, float threshold, float lo) {
  if (n_samples == 0 || sample_size == 0) return;
  // One grid row per sample, in launches of at most 65 535 rows (the grid's y limit).
  constexpr int64_t kMaxRows = 65535;
  for (int64_t s0 = 0; s0 < n_samples; s0 += kMaxRows) {
    const int64_t rows = n_samples - s0 < kMaxRows ? n_samples - s0 : kMaxRows;
    const dim3 grid((unsigned)((sample_size + kTile - 1) / kTile), (unsigned)rows);
    rank_kernel<<<grid, kTile, 0, cuda::stream()>>>(y + s0 * sample_size, x + s0 * sample_size, sample_size, threshold, lo);
    IM_CUDA_LAUNCH_CHECK();
  }
}

}  // namespace im
