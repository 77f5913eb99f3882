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

// The loops below run along x innermost so that they vectorize; every output still sums its taps
// in the same order as the CUDA kernels (j, then i, ascending).

// Horizontal pass of (a, b, a^2 + b^2, a b): h[k] is H x Wv.
void horizontal_stats(float* h, const float* a, const float* b, int H, int W, const SsimWindow& win) {
  const int Wv = W - K + 1;
  const size_t plane = static_cast<size_t>(H) * Wv;
  std::vector<float> sq(static_cast<size_t>(W)), pr(static_cast<size_t>(W));
  for (int y = 0; y < H; ++y) {
    const float* ra = a + static_cast<size_t>(y) * W;
    const float* rb = b + static_cast<size_t>(y) * W;
    for (int x = 0; x < W; ++x) {
      sq[x] = ra[x] * ra[x] + rb[x] * rb[x];
      pr[x] = ra[x] * rb[x];
    }
    float* h0 = h + static_cast<size_t>(y) * Wv;
    float* h1 = h0 + plane;
    float* h2 = h1 + plane;
    float* h3 = h2 + plane;
    for (int x = 0; x < Wv; ++x) h0[x] = h1[x] = h2[x] = h3[x] = 0.f;
    for (int j = 0; j < K; ++j) {
      const float g = win.g[j];
      for (int x = 0; x < Wv; ++x) {
        h0[x] += g * ra[x + j];
        h1[x] += g * rb[x + j];
        h2[x] += g * sq[x + j];
        h3[x] += g * pr[x + j];
      }
    }
  }
}

// Vertical pass for the row y of windows: s[k] (k < 4, each Wv long) from h[k] (H x Wv).
void vertical_stats(float* s, const float* h, int H, int Wv, int y, const SsimWindow& win) {
  const size_t plane = static_cast<size_t>(H) * Wv;
  for (int k = 0; k < 4; ++k) {
    float* o = s + static_cast<size_t>(k) * Wv;
    for (int x = 0; x < Wv; ++x) o[x] = 0.f;
    for (int i = 0; i < K; ++i) {
      const float g = win.g[i];
      const float* src = h + k * plane + static_cast<size_t>(y + i) * Wv;
      for (int x = 0; x < Wv; ++x) o[x] += g * src[x];
    }
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
    std::vector<float> h(4 * static_cast<size_t>(H) * Wv), s(4 * static_cast<size_t>(Wv));
    horizontal_stats(h.data(), a + n * H * W, b + n * H * W, H, W, win);
    double sum = 0;
    for (int y = 0; y < Hv; ++y) {
      vertical_stats(s.data(), h.data(), H, Wv, y, win);
      for (int x = 0; x < Wv; ++x)  // 1 - SSIM per window: exact near SSIM = 1
        sum += 1.f - ssim_math::ssim_value(s[x], s[Wv + x], s[2 * Wv + x], s[3 * Wv + x]);
    }
    per[static_cast<size_t>(n)] = sum;
  }
  double total = 0;
  for (double v : per) total += v;
  loss[0] = static_cast<float>(total / (static_cast<double>(N) * Hv * Wv));
}

void ssim_backward_cpu(float* da, float* db, const float* dloss, const float* a, const float* b, int64_t N, int H,
                       int W) {
  if (!da && !db) return;
  const SsimWindow win = ssim_gaussian_window();
  const int Hv = H - K + 1, Wv = W - K + 1;
  // Derivative maps live in a frame of K - 1 zeros on every side, so the transposed ('full')
  // filter needs no bounds tests: padded row r, column c hold window (r - 10, c - 10).
  const int PH = Hv + 2 * (K - 1), PW = Wv + 2 * (K - 1);
  const size_t dplane = static_cast<size_t>(PH) * PW, tplane = static_cast<size_t>(PH) * W;
  const float w = static_cast<float>(-static_cast<double>(dloss[0]) / (static_cast<double>(N) * Hv * Wv));
#pragma omp parallel for schedule(static) if (parallel_images(N, H, W))
  for (int64_t n = 0; n < N; ++n) {
    const float* an = a + n * H * W;
    const float* bn = b + n * H * W;
    std::vector<float> h(4 * static_cast<size_t>(H) * Wv), s(4 * static_cast<size_t>(Wv));
    horizontal_stats(h.data(), an, bn, H, W, win);
    std::vector<float> D(4 * dplane, 0.f);
    for (int y = 0; y < Hv; ++y) {
      vertical_stats(s.data(), h.data(), H, Wv, y, win);
      const size_t row = static_cast<size_t>(y + K - 1) * PW + (K - 1);
      for (int x = 0; x < Wv; ++x) {
        float d[4];
        ssim_math::ssim_grad(s[x], s[Wv + x], s[2 * Wv + x], s[3 * Wv + x], w, d);
        for (int k = 0; k < 4; ++k) D[k * dplane + row + x] = d[k];
      }
    }
    // Transposed filter, horizontal: th(r, x) = sum_j g[j] D(r, x + j), i.e. window column x - 10 + j.
    std::vector<float> th(4 * tplane, 0.f);
    for (int k = 0; k < 4; ++k)
      for (int r = K - 1; r < K - 1 + Hv; ++r) {
        float* o = th.data() + k * tplane + static_cast<size_t>(r) * W;
        const float* src = D.data() + k * dplane + static_cast<size_t>(r) * PW;
        for (int j = 0; j < K; ++j) {
          const float g = win.g[j];
          for (int x = 0; x < W; ++x) o[x] += g * src[x + j];
        }
      }
    // Vertical (rows y + i, i.e. window row y - 10 + i), then the chain rule through a, b,
    // a^2 + b^2 and a b.
    std::vector<float> o(4 * static_cast<size_t>(W));
    for (int y = 0; y < H; ++y) {
      for (int k = 0; k < 4; ++k) {
        float* ok = o.data() + static_cast<size_t>(k) * W;
        for (int x = 0; x < W; ++x) ok[x] = 0.f;
        for (int i = 0; i < K; ++i) {
          const float g = win.g[i];
          const float* src = th.data() + k * tplane + static_cast<size_t>(y + i) * W;
          for (int x = 0; x < W; ++x) ok[x] += g * src[x];
        }
      }
      const float* ra = an + static_cast<size_t>(y) * W;
      const float* rb = bn + static_cast<size_t>(y) * W;
      const size_t q = static_cast<size_t>(n) * H * W + static_cast<size_t>(y) * W;
      const float *o0 = o.data(), *o1 = o0 + W, *o2 = o1 + W, *o3 = o2 + W;
      if (da)
        for (int x = 0; x < W; ++x) da[q + x] += o0[x] + 2.f * ra[x] * o2[x] + rb[x] * o3[x];
      if (db)
        for (int x = 0; x < W; ++x) db[q + x] += o1[x] + 2.f * rb[x] * o2[x] + ra[x] * o3[x];
    }
  }
}

}  // namespace im
