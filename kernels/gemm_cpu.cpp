// Packed GEMM (BLIS-style loops: n in kGemmNc columns, k in kGemmKc blocks, B packed per block, A
// packed by the caller) around a register-tile micro-kernel picked at run time (kernels/cpu_dispatch.h):
// generic C++, AVX2+FMA 6 x 16, or AVX-512 12 x 16. On one core of the 2-core AVX2 EPYC we developed
// on, the AVX2 kernel ran the convolutions' shapes at 65-80 GFLOP/s, against 50-57 for Eigen's GEMM.
#include "kernels/gemm_cpu.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>

#include <immintrin.h>

#include "kernels/cpu_dispatch.h"

namespace im {

namespace {
constexpr int64_t kMr = 6, kNr = kGemmPanel;  // register tile
constexpr int64_t kKc = kGemmKc;      // depth block: a 6 x kc A panel + a kc x 16 B panel stay in L1
constexpr int64_t kMc = 96;           // rows of A swept per B panel (A block in L2)
static_assert(kMc % (2 * kMr) == 0, "a block of A rows splits into whole 12-row AVX-512 tiles");
constexpr int64_t kNc = kGemmNc;      // columns of B packed at once (B block in L2)

int64_t round_up(int64_t v, int64_t m) { return (v + m - 1) / m * m; }

// This thread's buffer for a packed block of B, allocated once.
float* b_buffer() {
  struct Free {
    void operator()(float* p) const { std::free(p); }
  };
  thread_local std::unique_ptr<float, Free> buf(
      static_cast<float*>(std::aligned_alloc(64, sizeof(float) * kKc * round_up(kNc, kNr))));
  return buf.get();
}

}  // namespace

void MatB::pack(float* dst, int64_t p0, int64_t kc, int64_t j0, int64_t nc) const {
  const MatView& b = v;
  for (int64_t jr = 0; jr < nc; jr += kNr, dst += kNr * kc) {
    const int64_t nr = std::min(kNr, nc - jr);
    if (b.cs == 1 && nr == kNr) {
      const float* s = b.p + p0 * b.rs + j0 + jr;
      for (int64_t p = 0; p < kc; ++p)
        for (int64_t j = 0; j < kNr; ++j) dst[p * kNr + j] = s[p * b.rs + j];
    } else if (b.rs == 1) {  // B's columns are contiguous (a transposed row-major matrix)
      for (int64_t j = 0; j < nr; ++j) {
        const float* s = b.p + (j0 + jr + j) * b.cs + p0;
        for (int64_t p = 0; p < kc; ++p) dst[p * kNr + j] = s[p];
      }
      for (int64_t p = 0; p < kc; ++p)
        for (int64_t j = nr; j < kNr; ++j) dst[p * kNr + j] = 0.f;
    } else {
      for (int64_t p = 0; p < kc; ++p)
        for (int64_t j = 0; j < kNr; ++j) dst[p * kNr + j] = j < nr ? b.p[(p0 + p) * b.rs + (j0 + jr + j) * b.cs] : 0.f;
    }
  }
}

namespace {

// Adds or stores a finished tile (mr x nr valid of 6 x 16).
inline void write_tile(const float* tile, float* c, int64_t ldc, bool acc, int64_t mr, int64_t nr) {
  for (int64_t r = 0; r < mr; ++r) {
    float* cr = c + r * ldc;
    const float* t = tile + r * kNr;
    if (acc)
      for (int64_t j = 0; j < nr; ++j) cr[j] += t[j];
    else
      for (int64_t j = 0; j < nr; ++j) cr[j] = t[j];
  }
}

// The generic kernel: portable C++ left to the auto-vectorizer (SSE at the x86-64-v2 baseline),
// one multiply and one add per term unless the baseline has FMA.
void micro_generic(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, bool acc, int64_t mr, int64_t nr) {
  float tile[kMr * kNr] = {};
  for (int64_t p = 0; p < kc; ++p, a += kMr, b += kNr)
    for (int64_t i = 0; i < kMr; ++i)
      for (int64_t j = 0; j < kNr; ++j) tile[i * kNr + j] += a[i] * b[j];
  write_tile(tile, c, ldc, acc, mr, nr);
}

// C row (16 floats) (+)= lo | hi.
IM_TARGET_AVX2 IM_ALWAYS_INLINE void put_row_avx2(float* ci, __m256 lo, __m256 hi, bool acc) {
  if (acc) {
    lo = _mm256_add_ps(_mm256_loadu_ps(ci), lo);
    hi = _mm256_add_ps(_mm256_loadu_ps(ci + 8), hi);
  }
  _mm256_storeu_ps(ci, lo);
  _mm256_storeu_ps(ci + 8, hi);
}

// AVX2 + FMA, 6 x 16 in twelve named accumulators (an array here is not kept in registers by GCC).
IM_TARGET_AVX2 void micro_avx2(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, bool acc, int64_t mr,
                               int64_t nr) {
  __m256 c0 = _mm256_setzero_ps(), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0, c7 = c0, c8 = c0, c9 = c0,
         c10 = c0, c11 = c0;
  for (int64_t p = 0; p < kc; ++p, a += kMr, b += kNr) {
    const __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8);
    __m256 t = _mm256_broadcast_ss(a);
    c0 = _mm256_fmadd_ps(t, b0, c0), c1 = _mm256_fmadd_ps(t, b1, c1);
    t = _mm256_broadcast_ss(a + 1);
    c2 = _mm256_fmadd_ps(t, b0, c2), c3 = _mm256_fmadd_ps(t, b1, c3);
    t = _mm256_broadcast_ss(a + 2);
    c4 = _mm256_fmadd_ps(t, b0, c4), c5 = _mm256_fmadd_ps(t, b1, c5);
    t = _mm256_broadcast_ss(a + 3);
    c6 = _mm256_fmadd_ps(t, b0, c6), c7 = _mm256_fmadd_ps(t, b1, c7);
    t = _mm256_broadcast_ss(a + 4);
    c8 = _mm256_fmadd_ps(t, b0, c8), c9 = _mm256_fmadd_ps(t, b1, c9);
    t = _mm256_broadcast_ss(a + 5);
    c10 = _mm256_fmadd_ps(t, b0, c10), c11 = _mm256_fmadd_ps(t, b1, c11);
  }
  if (mr == kMr && nr == kNr) {  // full tile: straight from the registers
    put_row_avx2(c, c0, c1, acc), put_row_avx2(c + ldc, c2, c3, acc), put_row_avx2(c + 2 * ldc, c4, c5, acc);
    put_row_avx2(c + 3 * ldc, c6, c7, acc), put_row_avx2(c + 4 * ldc, c8, c9, acc);
    put_row_avx2(c + 5 * ldc, c10, c11, acc);
    return;
  }
  alignas(32) float tile[kMr * kNr];
  const __m256 r[12] = {c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11};
  for (int i = 0; i < 12; ++i) _mm256_store_ps(tile + 8 * i, r[i]);
  write_tile(tile, c, ldc, acc, mr, nr);
}

// C row (nr of 16 floats under `mask`) (+)= v.
IM_TARGET_AVX512 IM_ALWAYS_INLINE void put_row_avx512(float* ci, __m512 v, __mmask16 mask, bool acc) {
  if (acc) v = _mm512_add_ps(_mm512_maskz_loadu_ps(mask, ci), v);
  _mm512_mask_storeu_ps(ci, mask, v);
}

// AVX-512: 12 x 16, i.e. two consecutive 6-row A panels against one 16-wide B panel, one zmm
// accumulator per row; 6 x 16 when only one panel is left. Each element is the same chain of fused
// multiply-adds over p as in the AVX2 kernel, so both give the same bits.
IM_TARGET_AVX512 void micro_avx512(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, bool acc,
                                   int64_t mr, int64_t nr) {
  const __mmask16 mask = static_cast<__mmask16>(nr == kNr ? 0xffff : (1u << nr) - 1);
  __m512 c0 = _mm512_setzero_ps(), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0;
  if (mr <= kMr) {
    for (int64_t p = 0; p < kc; ++p, a += kMr, b += kNr) {
      const __m512 bv = _mm512_load_ps(b);
      c0 = _mm512_fmadd_ps(_mm512_set1_ps(a[0]), bv, c0), c1 = _mm512_fmadd_ps(_mm512_set1_ps(a[1]), bv, c1);
      c2 = _mm512_fmadd_ps(_mm512_set1_ps(a[2]), bv, c2), c3 = _mm512_fmadd_ps(_mm512_set1_ps(a[3]), bv, c3);
      c4 = _mm512_fmadd_ps(_mm512_set1_ps(a[4]), bv, c4), c5 = _mm512_fmadd_ps(_mm512_set1_ps(a[5]), bv, c5);
    }
    const __m512 r[6] = {c0, c1, c2, c3, c4, c5};
    for (int64_t i = 0; i < mr; ++i) put_row_avx512(c + i * ldc, r[i], mask, acc);
    return;
  }
  __m512 c6 = c0, c7 = c0, c8 = c0, c9 = c0, c10 = c0, c11 = c0;
  const float* a2 = a + kMr * kc;  // the second panel
  for (int64_t p = 0; p < kc; ++p, a += kMr, a2 += kMr, b += kNr) {
    const __m512 bv = _mm512_load_ps(b);
    c0 = _mm512_fmadd_ps(_mm512_set1_ps(a[0]), bv, c0), c1 = _mm512_fmadd_ps(_mm512_set1_ps(a[1]), bv, c1);
    c2 = _mm512_fmadd_ps(_mm512_set1_ps(a[2]), bv, c2), c3 = _mm512_fmadd_ps(_mm512_set1_ps(a[3]), bv, c3);
    c4 = _mm512_fmadd_ps(_mm512_set1_ps(a[4]), bv, c4), c5 = _mm512_fmadd_ps(_mm512_set1_ps(a[5]), bv, c5);
    c6 = _mm512_fmadd_ps(_mm512_set1_ps(a2[0]), bv, c6), c7 = _mm512_fmadd_ps(_mm512_set1_ps(a2[1]), bv, c7);
    c8 = _mm512_fmadd_ps(_mm512_set1_ps(a2[2]), bv, c8), c9 = _mm512_fmadd_ps(_mm512_set1_ps(a2[3]), bv, c9);
    c10 = _mm512_fmadd_ps(_mm512_set1_ps(a2[4]), bv, c10), c11 = _mm512_fmadd_ps(_mm512_set1_ps(a2[5]), bv, c11);
  }
  const __m512 r[12] = {c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11};
  for (int64_t i = 0; i < mr; ++i) put_row_avx512(c + i * ldc, r[i], mask, acc);
}

// A micro-kernel computes up to `rows` rows (6 or 12) and 16 columns of C per call.
using MicroFn = void (*)(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, bool acc, int64_t mr,
                         int64_t nr);
struct MicroKernel {
  MicroFn fn;
  int64_t rows;
};

const MicroKernel& micro_kernel() {
  static const MicroKernel k = [] {
    switch (cpu_path()) {
      case CpuPath::Avx512: return MicroKernel{micro_avx512, 2 * kMr};
      case CpuPath::Avx2: return MicroKernel{micro_avx2, kMr};
      default: return MicroKernel{micro_generic, kMr};
    }
  }();
  return k;
}
}  // namespace

int64_t packed_a_size(int64_t m, int64_t k) { return round_up(m, kMr) * k; }

// Layout: k blocks of kKc in order; within a block of depth kc, row panels of 6, each kc x 6.
PackedA pack_a(float* buf, MatView a, int64_t m, int64_t k) {
  const int64_t mp = round_up(m, kMr);
  for (int64_t pc = 0; pc < k; pc += kKc) {
    const int64_t kc = std::min(kKc, k - pc);
    float* block = buf + pc * mp;
    for (int64_t ir = 0; ir < mp; ir += kMr) {
      float* dst = block + ir * kc;
      const int64_t mr = std::min(kMr, m - ir);
      for (int64_t p = 0; p < kc; ++p)
        for (int64_t i = 0; i < kMr; ++i) dst[p * kMr + i] = i < mr ? a.p[(ir + i) * a.rs + (pc + p) * a.cs] : 0.f;
    }
  }
  return PackedA{buf, m, k};
}

void gemm(const PackedA& a, const BSource& b, int64_t n, float* c, int64_t ldc, bool accumulate) {
  const int64_t m = a.m, k = a.k, mp = round_up(m, kMr);
  if (m == 0 || n == 0) return;
  if (k == 0) {
    if (!accumulate)
      for (int64_t i = 0; i < m; ++i) std::memset(c + i * ldc, 0, sizeof(float) * n);
    return;
  }
  float* bp = b_buffer();
  const MicroKernel& mk = micro_kernel();
  for (int64_t jc = 0; jc < n; jc += kNc) {
    const int64_t nc = std::min(kNc, n - jc);
    for (int64_t pc = 0; pc < k; pc += kKc) {
      const int64_t kc = std::min(kKc, k - pc);
      const bool acc = accumulate || pc > 0;
      b.pack(bp, pc, kc, jc, nc);
      const float* ablock = a.data + pc * mp;
      for (int64_t ic = 0; ic < m; ic += kMc) {
        const int64_t mc = std::min(kMc, m - ic);
        for (int64_t jr = 0; jr < nc; jr += kNr)
          for (int64_t ir = ic; ir < ic + mc; ir += mk.rows)
            mk.fn(kc, ablock + ir * kc, bp + jr * kc, c + ir * ldc + jc + jr, ldc, acc, std::min(mk.rows, m - ir),
                  std::min(kNr, nc - jr));
      }
    }
  }
}

}  // namespace im
