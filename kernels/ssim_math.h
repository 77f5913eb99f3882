// The SSIM of one window from its four Gaussian-filtered statistics, and its gradient: shared by the
// CPU twin (kernels/ssim.cpp) and the CUDA kernels (kernels/ssim_tile.cuh), so both compute the
// same formula in the same order.
//
// Per valid window p, with G the 11x11 Gaussian and (as tf.image.ssim, biased estimates):
//   ma = G*a, mb = G*b, q = G*(a^2 + b^2), x = G*(a b)
//   A1 = 2 ma mb + C1,  B1 = ma^2 + mb^2 + C1              (luminance = A1 / B1)
//   A2 = 2 (x - ma mb) + C2,  B2 = q - ma^2 - mb^2 + C2     (contrast-structure = A2 / B2)
//   s = A1 A2 / (B1 B2)
// Gradient of s in the four statistics (quotient rule; dA1/dma = 2mb, dB1/dma = 2ma,
// dA2/dma = -2mb, dB2/dma = -2ma, and symmetrically in mb):
//   ds/dx  = 2 A1 / (B1 B2)
//   ds/dq  = -s / B2
//   ds/dma = 2 (mb (A2 - A1) - s ma (B2 - B1)) / (B1 B2)
//   ds/dmb = 2 (ma (A2 - A1) - s mb (B2 - B1)) / (B1 B2)
// The statistics are linear filters of a, b, a^2 + b^2 and a b, so with the per-window derivative
// maps D_k = w * ds/dk (w = dloss * -1 / #windows) and G^T the transposed ('full') filter:
//   dL/da = G^T D_ma + 2 a G^T D_q + b G^T D_x
//   dL/db = G^T D_mb + 2 b G^T D_q + a G^T D_x
// (G is symmetric, so G^T is the same Gaussian applied to the zero-padded derivative maps.)
#pragma once

#if defined(__CUDACC__)
#define IM_SSIM_HD __host__ __device__ __forceinline__
#else
#define IM_SSIM_HD inline
#endif

namespace im::ssim_math {

constexpr float kC1 = 0.0001f;  // (K1 * L)^2, K1 = 0.01, L = 1
constexpr float kC2 = 0.0009f;  // (K2 * L)^2, K2 = 0.03

IM_SSIM_HD float ssim_value(float ma, float mb, float q, float x) {
  const float mab = ma * mb, m2 = ma * ma + mb * mb;
  return ((2.f * mab + kC1) * (2.f * (x - mab) + kC2)) / ((m2 + kC1) * (q - m2 + kC2));
}

// w * ds/d(ma, mb, q, x) into d[0..4).
IM_SSIM_HD void ssim_grad(float ma, float mb, float q, float x, float w, float d[4]) {
  const float mab = ma * mb, m2 = ma * ma + mb * mb;
  const float A1 = 2.f * mab + kC1, B1 = m2 + kC1, A2 = 2.f * (x - mab) + kC2, B2 = q - m2 + kC2;
  const float inv = 1.f / (B1 * B2);
  const float s = A1 * A2 * inv;
  const float dA = A2 - A1, dB = s * (B2 - B1);
  d[0] = w * 2.f * (mb * dA - ma * dB) * inv;
  d[1] = w * 2.f * (ma * dA - mb * dB) * inv;
  d[2] = w * -s / B2;
  d[3] = w * 2.f * A1 * inv;
}

}  // namespace im::ssim_math
