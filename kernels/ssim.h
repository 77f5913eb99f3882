// SSIM loss of two batches [N, 1, H, W] as TensorFlow's tf.image.ssim (filter_size 11,
// filter_sigma 1.5, k1 0.01, k2 0.03, max_val 1): Gaussian-weighted local statistics over 'valid'
// 11x11 windows only, loss = 1 - mean SSIM over the N * (H - 10) * (W - 10) windows.
#pragma once
#include <cstdint>

namespace im {

constexpr int kSsimWindow = 11;

// The normalized 11-tap Gaussian (sigma 1.5); the 2-D window is its outer product.
struct SsimWindow {
  float g[kSsimWindow];
};
SsimWindow ssim_gaussian_window();

// H, W >= 11. loss: one float on the inputs' device.
void ssim_forward_cpu(float* loss, const float* a, const float* b, int64_t N, int H, int W);
void ssim_forward_cuda(float* loss, const float* a, const float* b, int64_t N, int H, int W);
// da, db += dloss * d(loss)/d(a, b); either may be null; dloss is one float on the device.
void ssim_backward_cpu(float* da, float* db, const float* dloss, const float* a, const float* b, int64_t N, int H,
                       int W);
void ssim_backward_cuda(float* da, float* db, const float* dloss, const float* a, const float* b, int64_t N, int H,
                        int W);

}  // namespace im
