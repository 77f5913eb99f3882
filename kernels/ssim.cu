// CUDA SSIM loss: the tiled kernels of kernels/ssim_tile.cuh at the tile size that won the benchmark
// (benchmarks/imunity_bench_kernels.cu), plus the deterministic final sum of the block partials.
#include "kernels/cuda_context.cuh"
#include "kernels/loss_reduce.cuh"
#include "kernels/ssim.h"
#include "kernels/ssim_tile.cuh"

namespace im {

namespace {
constexpr int kTile = 16;  // 36 KB of shared memory in the backward: under the 48 KB default
const SsimWindow& window() {
  static const SsimWindow w = ssim_gaussian_window();
  return w;
}
}  // namespace

void ssim_forward_cuda(float* loss, const float* a, const float* b, int64_t N, int H, int W) {
  float* partials = lossred::partials_buffer(ssim_tile::forward_blocks<kTile>(N, H, W));
  const int blocks = ssim_tile::launch_forward<kTile>(partials, a, b, N, H, W, window());
  const double windows = static_cast<double>(N) * (H - kSsimWindow + 1) * (W - kSsimWindow + 1);
  lossred::finalize_sum(loss, partials, blocks, 1.0 / windows, 0.0);
}

void ssim_backward_cuda(float* da, float* db, const float* dloss, const float* a, const float* b, int64_t N, int H,
                        int W) {
  if (!da && !db) return;
  ssim_tile::launch_backward<kTile>(da, db, dloss, a, b, N, H, W, window());
}

}  // namespace im
