// im2col / col2im over bands of output rows, and the per-channel bias helpers (CPU).
#include "kernels/im2col.h"

#include <algorithm>
#include <cstring>

#include "engine/check.h"
#include "kernels/parallel.h"

namespace im {

ConvGeometry conv_geometry(int64_t n, int64_t c, int64_t h, int64_t w, int64_t o, int64_t k, int64_t s) {
  IM_CHECK(k >= 1 && k % 2 == 1, "conv: kernel size must be odd, got " << k);
  IM_CHECK(s >= 1, "conv: stride must be >= 1, got " << s);
  ConvGeometry g;
  g.n = n, g.c = c, g.h = h, g.w = w, g.o = o, g.k = k, g.s = s, g.pad = k / 2;
  g.ho = (h + s - 1) / s;
  g.wo = (w + s - 1) / s;
  return g;
}

namespace {
// Output columns [lo, hi) whose tap j lands inside [0, w): xo * s - pad + j in [0, w).
inline void valid_range(int64_t j, const ConvGeometry& g, int64_t* lo, int64_t* hi) {
  int64_t a = g.pad - j;  // need xo * s >= a
  *lo = a <= 0 ? 0 : (a + g.s - 1) / g.s;
  int64_t b = g.w - 1 + g.pad - j;  // need xo * s <= b
  *hi = b < 0 ? 0 : std::min(g.wo, b / g.s + 1);
  if (*hi < *lo) *hi = *lo;
}
}  // namespace

void im2col(float* col, int64_t ld, const float* x, const ConvGeometry& g, int64_t y0, int64_t y1) {
  const int64_t k = g.k, s = g.s;
  for (int64_t c = 0; c < g.c; ++c) {
    for (int64_t i = 0; i < k; ++i) {
      for (int64_t j = 0; j < k; ++j) {
        float* dst = col + ((c * k + i) * k + j) * ld;
        int64_t lo, hi;
        valid_range(j, g, &lo, &hi);
        for (int64_t yo = y0; yo < y1; ++yo, dst += g.wo) {
          const int64_t iy = yo * s - g.pad + i;
          if (iy < 0 || iy >= g.h) {
            std::memset(dst, 0, sizeof(float) * g.wo);
            continue;
          }
          const float* row = x + (c * g.h + iy) * g.w;
          const int64_t off = j - g.pad;  // tap (i, j) of output column xo reads row[xo * s + off]
          for (int64_t xo = 0; xo < lo; ++xo) dst[xo] = 0.f;
          if (s == 1) {
            if (hi > lo) std::memcpy(dst + lo, row + lo + off, sizeof(float) * (hi - lo));
          } else {
            for (int64_t xo = lo; xo < hi; ++xo) dst[xo] = row[xo * s + off];
          }
          for (int64_t xo = hi; xo < g.wo; ++xo) dst[xo] = 0.f;
        }
      }
    }
  }
}

void col2im_add(float* x, const float* col, int64_t ld, const ConvGeometry& g, int64_t y0, int64_t y1) {
  const int64_t k = g.k, s = g.s;
  for (int64_t c = 0; c < g.c; ++c) {
    for (int64_t i = 0; i < k; ++i) {
      for (int64_t j = 0; j < k; ++j) {
        const float* src = col + ((c * k + i) * k + j) * ld;
        int64_t lo, hi;
        valid_range(j, g, &lo, &hi);
        for (int64_t yo = y0; yo < y1; ++yo, src += g.wo) {
          const int64_t iy = yo * s - g.pad + i;
          if (iy < 0 || iy >= g.h) continue;
          float* row = x + (c * g.h + iy) * g.w;
          const int64_t off = j - g.pad;
          if (s == 1) {
#pragma omp simd
            for (int64_t xo = lo; xo < hi; ++xo) row[xo + off] += src[xo];
          } else {
            for (int64_t xo = lo; xo < hi; ++xo) row[xo * s + off] += src[xo];
          }
        }
      }
    }
  }
}

void fill_channel_bias(float* y, const float* b, int64_t c, int64_t hw) {
  for (int64_t j = 0; j < c; ++j) std::fill(y + j * hw, y + (j + 1) * hw, b[j]);
}

void channel_sum_add(float* db, const float* t, int64_t n, int64_t c, int64_t hw) {
  // One channel per iteration, images and pixels in a fixed order: independent of the thread count.
#pragma omp parallel for schedule(static) if (n * c * hw > kParallelGrain && c > 1)
  for (int64_t j = 0; j < c; ++j) {
    double acc = 0;
    for (int64_t i = 0; i < n; ++i) {
      const float* p = t + (i * c + j) * hw;
      float part = 0.f;
#pragma omp simd reduction(+ : part)
      for (int64_t q = 0; q < hw; ++q) part += p[q];
      acc += part;
    }
    db[j] += static_cast<float>(acc);
  }
}

}  // namespace im
