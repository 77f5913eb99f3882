// Single-threaded float GEMM for the CPU convolutions: C (+)= A * B with A and B of any layout,
// packed into 6-row and 16-column panels for a micro-kernel chosen at run time (generic, AVX2+FMA or
// AVX-512; kernels/cpu_dispatch.h). Callers parallelize over independent products; each element of C
// is summed over k in a fixed order (blocks of kGemmKc), so results never depend on how the work was
// spread over threads. The AVX2 and AVX-512 kernels give the same bits; the generic one rounds each
// product before adding it (no FMA at the portable baseline), so it differs from them by rounding.
#pragma once
#include <cstdint>

namespace im {

// Element (i, j) of a strided matrix view is p[i * rs + j * cs].
struct MatView {
  const float* p;
  int64_t rs, cs;
};

// A packed once for many products (e.g. the weights, shared by every image of a batch).
struct PackedA {
  const float* data = nullptr;
  int64_t m = 0, k = 0;
};
// Floats needed to pack an m x k matrix.
int64_t packed_a_size(int64_t m, int64_t k);
// Packs a (m x k) into buf (packed_a_size(m, k) floats).
PackedA pack_a(float* buf, MatView a, int64_t m, int64_t k);

// Where the GEMM gets B from: pack() writes rows [p0, p0 + kc) and columns [j0, j0 + nc) of B as
// consecutive kc x 16 panels (column j0 + 16 q + l of row p0 + t at dst[16 kc q + 16 t + l]),
// zero-padding the last panel. Sources may compute B on the fly (implicit im2col).
struct BSource {
  virtual void pack(float* dst, int64_t p0, int64_t kc, int64_t j0, int64_t nc) const = 0;
  virtual ~BSource() = default;
};
// B stored as a strided matrix.
struct MatB : BSource {
  MatView v;
  explicit MatB(MatView view) : v(view) {}
  void pack(float* dst, int64_t p0, int64_t kc, int64_t j0, int64_t nc) const override;
};
constexpr int64_t kGemmPanel = 16;  // columns per B panel
constexpr int64_t kGemmKc = 256;    // most rows of B packed at once
constexpr int64_t kGemmNc = 512;    // most columns of B packed at once

// C [m x n] (row stride ldc) = A [m x k] * B [k x n], or += when accumulate.
void gemm(const PackedA& a, const BSource& b, int64_t n, float* c, int64_t ldc, bool accumulate);
inline void gemm(const PackedA& a, MatView b, int64_t n, float* c, int64_t ldc, bool accumulate) {
  gemm(a, MatB(b), n, c, ldc, accumulate);
}

}  // namespace im
