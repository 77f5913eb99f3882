// The patch matrix (im2col) packed into GEMM panels, col2im, and the per-channel bias helpers (CPU).
#include "kernels/im2col.h"

#include <algorithm>
#include <cstring>

#include "kernels/check.h"
#include "kernels/parallel.h"

#include <immintrin.h>

#include "kernels/cpu_dispatch.h"

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
// The stride-2 moves, once per instruction set. Each class has
//   gather_even(dst, src, n):      dst[t] = src[2 t] for t in [0, n); src[2 n - 1] must be readable
//                                  (the caller keeps the window inside the image row);
//   scatter_add_even(dst, src, n): dst[2 t] += src[t], its adjoint (dst[2 n - 1] must be writable).
struct Generic {
  static IM_ALWAYS_INLINE void gather_even(float* dst, const float* src, int64_t n) {
    for (int64_t t = 0; t < n; ++t) dst[t] = src[2 * t];
  }
  static IM_ALWAYS_INLINE void scatter_add_even(float* dst, const float* src, int64_t n) {
    for (int64_t t = 0; t < n; ++t) dst[2 * t] += src[t];
  }
};

struct Avx2 {
  // 8 at a time from 16 contiguous floats.
  static IM_TARGET_AVX2 void gather_even(float* dst, const float* src, int64_t n) {
    int64_t t = 0;
    for (; t + 8 <= n; t += 8) {
      const __m256 a = _mm256_loadu_ps(src + 2 * t), b = _mm256_loadu_ps(src + 2 * t + 8);
      const __m256 even = _mm256_shuffle_ps(a, b, _MM_SHUFFLE(2, 0, 2, 0));  // a0 a2 b0 b2 | a4 a6 b4 b6
      _mm256_storeu_ps(dst + t,
                       _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(even), _MM_SHUFFLE(3, 1, 2, 0))));
    }
    Generic::gather_even(dst + t, src + 2 * t, n - t);
  }
  static IM_TARGET_AVX2 void scatter_add_even(float* dst, const float* src, int64_t n) {
    int64_t t = 0;
    const __m256 zero = _mm256_setzero_ps();
    for (; t + 8 <= n; t += 8) {
      const __m256 v = _mm256_loadu_ps(src + t);
      const __m256 lo = _mm256_unpacklo_ps(v, zero), hi = _mm256_unpackhi_ps(v, zero);  // s0 0 s1 0 | s4 0 s5 0 ...
      float* d = dst + 2 * t;
      _mm256_storeu_ps(d, _mm256_add_ps(_mm256_loadu_ps(d), _mm256_permute2f128_ps(lo, hi, 0x20)));
      _mm256_storeu_ps(d + 8, _mm256_add_ps(_mm256_loadu_ps(d + 8), _mm256_permute2f128_ps(lo, hi, 0x31)));
    }
    Generic::scatter_add_even(dst + 2 * t, src + t, n - t);
  }
};

struct Avx512 {
  // 16 at a time from 32 contiguous floats.
  static IM_TARGET_AVX512 void gather_even(float* dst, const float* src, int64_t n) {
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    int64_t t = 0;
    for (; t + 16 <= n; t += 16)
      _mm512_storeu_ps(dst + t, _mm512_permutex2var_ps(_mm512_loadu_ps(src + 2 * t), even, _mm512_loadu_ps(src + 2 * t + 16)));
    Avx2::gather_even(dst + t, src + 2 * t, n - t);
  }
  static IM_TARGET_AVX512 void scatter_add_even(float* dst, const float* src, int64_t n) {
    // Index 16 picks the zero of the second operand.
    const __m512i lo = _mm512_setr_epi32(0, 16, 1, 16, 2, 16, 3, 16, 4, 16, 5, 16, 6, 16, 7, 16);
    const __m512i hi = _mm512_setr_epi32(8, 16, 9, 16, 10, 16, 11, 16, 12, 16, 13, 16, 14, 16, 15, 16);
    const __m512 zero = _mm512_setzero_ps();
    int64_t t = 0;
    for (; t + 16 <= n; t += 16) {
      const __m512 v = _mm512_loadu_ps(src + t);
      float* d = dst + 2 * t;
      _mm512_storeu_ps(d, _mm512_add_ps(_mm512_loadu_ps(d), _mm512_permutex2var_ps(v, lo, zero)));
      _mm512_storeu_ps(d + 16, _mm512_add_ps(_mm512_loadu_ps(d + 16), _mm512_permutex2var_ps(v, hi, zero)));
    }
    Avx2::scatter_add_even(dst + 2 * t, src + t, n - t);
  }
};
// out[q - q0] = tap (c, i, j) of chunk column q, for q in [q0, q0 + n) (see Patches).
template <class Isa>
IM_ALWAYS_INLINE void patch_row(float* out, const float* x, const ConvGeometry& g, int64_t c, int64_t i, int64_t j, int64_t y0,
               int64_t y1, int64_t q0, int64_t n) {
  const int64_t cols = (y1 - y0) * g.wo, image = g.c * g.h * g.w, s = g.s, off = j - g.pad;
  int64_t lo, hi;
  valid_range(j, g, &lo, &hi);
  // Walk the columns one segment at a time: output columns [xa, xb) of output row yo of image img.
  int64_t img = q0 / cols, yo = y0 + q0 % cols / g.wo, xa = q0 % g.wo;
  for (int64_t q = q0, end = q0 + n; q < end; xa = 0) {
    const int64_t xb = std::min(g.wo, xa + (end - q));
    const int64_t base = (q - q0) - xa;  // out[base + xo] holds output column xo
    const int64_t iy = yo * s - g.pad + i, im = img;
    q += xb - xa;
    if (++yo == y1) yo = y0, ++img;
    if (iy < 0 || iy >= g.h) {
      for (int64_t xo = xa; xo < xb; ++xo) out[base + xo] = 0.f;
      continue;
    }
    const float* row = x + im * image + (c * g.h + iy) * g.w;  // tap (i, j) of column xo: row[xo * s + off]
    const int64_t a = std::max(xa, lo), b = std::max(a, std::min(xb, hi));
    for (int64_t xo = xa; xo < a; ++xo) out[base + xo] = 0.f;
    if (s == 1) {
#pragma omp simd
      for (int64_t xo = a; xo < b; ++xo) out[base + xo] = row[xo + off];
    } else if (s == 2) {
      // The vector gather reads one float past its last tap: keep it inside the row.
      const int64_t safe = std::max(a, std::min(b, (g.w - off) / 2));
      Isa::gather_even(out + base + a, row + 2 * a + off, safe - a);
      for (int64_t xo = safe; xo < b; ++xo) out[base + xo] = row[2 * xo + off];
    } else {
      for (int64_t xo = a; xo < b; ++xo) out[base + xo] = row[xo * s + off];
    }
    for (int64_t xo = b; xo < xb; ++xo) out[base + xo] = 0.f;
  }
}

// Tap index -> (channel, ky, kx).
inline void tap(const ConvGeometry& g, int64_t r, int64_t* c, int64_t* i, int64_t* j) {
  *c = r / (g.k * g.k);
  *i = r / g.k % g.k;
  *j = r % g.k;
}

// The bodies of Patches::pack, PatchesT::pack and col2im_add, compiled once per instruction set below.
template <class Isa>
IM_ALWAYS_INLINE void pack_patches(float* dst, const Patches& b, int64_t p0, int64_t kc, int64_t j0, int64_t nc) {
  const float* x = b.x;
  const ConvGeometry* g = b.g;
  const int64_t y0 = b.y0, y1 = b.y1;
  float row[kGemmNc];
  const int64_t panels = (nc + kGemmPanel - 1) / kGemmPanel;
  for (int64_t t = 0; t < kc; ++t) {
    int64_t c, i, j;
    tap(*g, p0 + t, &c, &i, &j);
    patch_row<Isa>(row, x, *g, c, i, j, y0, y1, j0, nc);
    for (int64_t q = nc; q < panels * kGemmPanel; ++q) row[q] = 0.f;
    for (int64_t p = 0; p < panels; ++p) {
      float* d = dst + (p * kc + t) * kGemmPanel;
      const float* r = row + p * kGemmPanel;
      for (int64_t l = 0; l < kGemmPanel; ++l) d[l] = r[l];
    }
  }
}

template <class Isa>
IM_ALWAYS_INLINE void pack_patches_t(float* dst, const Patches& b, int64_t p0, int64_t kc, int64_t j0, int64_t nc) {
  const float* x = b.x;
  const ConvGeometry* g = b.g;
  const int64_t y0 = b.y0, y1 = b.y1;
  float row[kGemmKc];
  const int64_t panels = (nc + kGemmPanel - 1) / kGemmPanel;
  for (int64_t l = 0; l < panels * kGemmPanel; ++l) {
    float* d = dst + (l / kGemmPanel) * kc * kGemmPanel + l % kGemmPanel;
    if (l >= nc) {
      for (int64_t t = 0; t < kc; ++t) d[t * kGemmPanel] = 0.f;
      continue;
    }
    int64_t c, i, j;
    tap(*g, j0 + l, &c, &i, &j);
    patch_row<Isa>(row, x, *g, c, i, j, y0, y1, p0, kc);
    for (int64_t t = 0; t < kc; ++t) d[t * kGemmPanel] = row[t];
  }
}

template <class Isa>
IM_ALWAYS_INLINE void col2im_add_impl(float* x, const float* col, int64_t ld, const ConvGeometry& g, int64_t y0,
                                      int64_t y1) {
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
          } else if (s == 2 && hi > lo) {
            const int64_t safe = std::min(hi, (g.w - off) / 2);
            Isa::scatter_add_even(row + 2 * lo + off, src + lo, std::max<int64_t>(safe - lo, 0));
            for (int64_t xo = std::max(lo, safe); xo < hi; ++xo) row[2 * xo + off] += src[xo];
          } else {
            for (int64_t xo = lo; xo < hi; ++xo) row[xo * s + off] += src[xo];
          }
        }
      }
    }
  }
}

// One function per instruction set and body; the exported functions pick one per call.
#define IM_VARIANTS(name, impl, params, args)                    \
  void name##_generic params { impl<Generic> args; }              \
  IM_TARGET_AVX2 void name##_avx2 params { impl<Avx2> args; }     \
  IM_TARGET_AVX512 void name##_avx512 params { impl<Avx512> args; }
IM_VARIANTS(pack, pack_patches, (float* dst, const Patches& b, int64_t p0, int64_t kc, int64_t j0, int64_t nc),
            (dst, b, p0, kc, j0, nc))
IM_VARIANTS(pack_t, pack_patches_t, (float* dst, const Patches& b, int64_t p0, int64_t kc, int64_t j0, int64_t nc),
            (dst, b, p0, kc, j0, nc))
IM_VARIANTS(col2im, col2im_add_impl,
            (float* x, const float* col, int64_t ld, const ConvGeometry& g, int64_t y0, int64_t y1),
            (x, col, ld, g, y0, y1))
#undef IM_VARIANTS
}  // namespace

void Patches::pack(float* dst, int64_t p0, int64_t kc, int64_t j0, int64_t nc) const {
  switch (cpu_path()) {
    case CpuPath::Avx512: return pack_avx512(dst, *this, p0, kc, j0, nc);
    case CpuPath::Avx2: return pack_avx2(dst, *this, p0, kc, j0, nc);
    default: return pack_generic(dst, *this, p0, kc, j0, nc);
  }
}

void PatchesT::pack(float* dst, int64_t p0, int64_t kc, int64_t j0, int64_t nc) const {
  switch (cpu_path()) {
    case CpuPath::Avx512: return pack_t_avx512(dst, *this, p0, kc, j0, nc);
    case CpuPath::Avx2: return pack_t_avx2(dst, *this, p0, kc, j0, nc);
    default: return pack_t_generic(dst, *this, p0, kc, j0, nc);
  }
}

void col2im_add(float* x, const float* col, int64_t ld, const ConvGeometry& g, int64_t y0, int64_t y1) {
  switch (cpu_path()) {
    case CpuPath::Avx512: return col2im_avx512(x, col, ld, g, y0, y1);
    case CpuPath::Avx2: return col2im_avx2(x, col, ld, g, y0, y1);
    default: return col2im_generic(x, col, ld, g, y0, y1);
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
