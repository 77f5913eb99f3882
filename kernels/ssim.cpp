// CPU twin of kernels/ssim.cu: separable Gaussian filtering of whole images, one image per thread.
// The formulas (and their derivation) are in kernels/ssim_math.h.
#include "kernels/ssim.h"

#include <cmath>
#include <vector>

#include "kernels/parallel.h"
#include "kernels/ssim_math.h"

namespace im {

SsimWindow ssim_gaussian_window() {
  // exp(-d^2 / (2 sigma^2)) normalized to sum 1, as tf.image.ssim's _fspecial_gauss (softmax).
  SsimWindow w{};
  double g[kSsimWindow], sum = 0;
  for (int i = 0; i < kSsimWindow; ++i) {
    const double d = i - (kSsimWindow - 1) / 2;
    g[i] = std::exp(-d * d / (2.0 * 1.5 * 1.5));
    sum += g[i];
  }
  for (int i = 0; i < kSsimWindow; ++i) w.g[i] = static_cast<float>(g[i] / sum);
  return w;
}

namespace {
constexpr int K = kSsimWindow;

// Horizontal pass of the four statistics' products: h[k] is H x Wv.
void horizontal_stats(float* h, const float* a, const float* b, int H, int W, const SsimWindow& win) {
  const int Wv = W - K + 1;
  const size_t plane = static_cast<size_t>(H) * Wv;
  for (int y = 0; y < H; ++y)
    for (int x = 0; x < Wv; ++x) {
      float m1 = 0.f, m2 = 0.f, q = 0.f, xy = 0.f;
      for (int j = 0; j < K; ++j) {
        const float va = a[y * W + x + j], vb = b[y * W + x + j], g = win.g[j];
        m1 += g * va;
        m2 += g * vb;
        q += g * (va * va + vb * vb);
        xy += g * (va * vb);
      }
      const size_t o = static_cast<size_t>(y) * Wv + x;
      h[o] = m1;
      h[plane + o] = m2;
      h[2 * plane + o] = q;
      h[3 * plane + o] = xy;
    }
}

// Vertical pass at window (y, x): the four statistics.
inline void vertical_stats(const float* h, int H, int Wv, int y, int x, const SsimWindow& win, float s[4]) {
  const size_t plane = static_cast<size_t>(H) * Wv;
  for (int k = 0; k < 4; ++k) {
    float acc = 0.f;
    for (int i = 0; i < K; ++i) acc += win.g[i] * h[k * plane + static_cast<size_t>(y + i) * Wv + x];
    s[k] = acc;
  }
}

bool parallel_images(int64_t N, int H, int W) { return N > 1 && N * H * W > kParallelGrain / 8; }
}  // namespace

void ssim_forward_cpu(float* loss, const float* a, const float* b, int64_t N, int H, int W) {
  const SsimWindow win = ssim_gaussian_window();
  const int Hv = H - K + 1, Wv = W - K + 1;
  std::vector<double> per(static_cast<size_t>(N));
#pragma omp parallel for schedule(static) if (parallel_images(N, H, W))
  for (int64_t n = 0; n < N; ++n) {
    std::vector<float> h(4 * static_cast<size_t>(H) * Wv);
    horizontal_stats(h.data(), a + n * H * W, b + n * H * W, H, W, win);
    double sum = 0;
    for (int y = 0; y < Hv; ++y)
      for (int x = 0; x < Wv; ++x) {
        float s[4];
        vertical_stats(h.data(), H, Wv, y, x, win, s);
        sum += 1.f - ssim_math::ssim_value(s[0], s[1], s[2], s[3]);  // exact near SSIM = 1
      }
    per[static_cast<size_t>(n)] = sum;
  }
  double total = 0;
  for (double s : per) total += s;
  loss[0] = static_cast<float>(total / (static_cast<double>(N) * Hv * Wv));
}

void ssim_backward_cpu(float* da, float* db, const float* dloss, const float* a, const float* b, int64_t N, int H,
                       int W) {
  if (!da && !db) return;
  const SsimWindow win = ssim_gaussian_window();
  const int Hv = H - K + 1, Wv = W - K + 1;
  const float w = static_cast<float>(-static_cast<double>(dloss[0]) / (static_cast<double>(N) * Hv * Wv));
#pragma omp parallel for schedule(static) if (parallel_images(N, H, W))
  for (int64_t n = 0; n < N; ++n) {
    const float* an = a + n * H * W;
    const float* bn = b + n * H * W;
    std::vector<float> h(4 * static_cast<size_t>(H) * Wv);
    horizontal_stats(h.data(), an, bn, H, W, win);
    // Derivative maps D_k over the valid windows.
    const size_t dplane = static_cast<size_t>(Hv) * Wv;
    std::vector<float> D(4 * dplane);
    for (int y = 0; y < Hv; ++y)
      for (int x = 0; x < Wv; ++x) {
        float s[4], d[4];
        vertical_stats(h.data(), H, Wv, y, x, win, s);
        ssim_math::ssim_grad(s[0], s[1], s[2], s[3], w, d);
        for (int k = 0; k < 4; ++k) D[k * dplane + static_cast<size_t>(y) * Wv + x] = d[k];
      }
    // Transposed filter, horizontal: th[k] is Hv x W, th(p_y, x) = sum_j g[j] D(p_y, x - 10 + j).
    const size_t tplane = static_cast<size_t>(Hv) * W;
    std::vector<float> th(4 * tplane);
    for (int k = 0; k < 4; ++k)
      for (int y = 0; y < Hv; ++y)
        for (int x = 0; x < W; ++x) {
          float acc = 0.f;
          for (int j = 0; j < K; ++j) {
            const int px = x - (K - 1) + j;
            if (px >= 0 && px < Wv) acc += win.g[j] * D[k * dplane + static_cast<size_t>(y) * Wv + px];
          }
          th[k * tplane + static_cast<size_t>(y) * W + x] = acc;
        }
    // Vertical, then the chain rule through a, b, a^2 + b^2 and a b.
    for (int y = 0; y < H; ++y)
      for (int x = 0; x < W; ++x) {
        float o[4];
        for (int k = 0; k < 4; ++k) {
          float acc = 0.f;
          for (int i = 0; i < K; ++i) {
            const int py = y - (K - 1) + i;
            if (py >= 0 && py < Hv) acc += win.g[i] * th[k * tplane + static_cast<size_t>(py) * W + x];
          }
          o[k] = acc;
        }
        const size_t q = static_cast<size_t>(n) * H * W + static_cast<size_t>(y) * W + x;
        const float va = an[static_cast<size_t>(y) * W + x], vb = bn[static_cast<size_t>(y) * W + x];
        if (da) da[q] += o[0] + 2.f * va * o[2] + vb * o[3];
        if (db) db[q] += o[1] + 2.f * vb * o[2] + va * o[3];
      }
  }
}

}  // namespace im
