// Convolution geometry shared by conv2d and conv_transpose2d, and the CPU data movement around the
// GEMMs: the patch matrix ("im2col") of a chunk of images, packed straight into GEMM panels as
// B or B^T, col2im for the data gradient, and the per-channel bias helpers.
#pragma once
#include <cstdint>

#include "kernels/gemm_cpu.h"

namespace im {

// A stride-s, k x k, padding k/2 convolution from the "big" side x [n, c, h, w] to the "small"
// side y [n, o, ho, wo] with ho = ceil(h / s), wo = ceil(w / s); weights [o, c, k, k].
// conv2d runs it forward; conv_transpose2d is its adjoint (y is the transposed conv's input).
struct ConvGeometry {
  int64_t n = 0, c = 0, h = 0, w = 0;  // big side
  int64_t o = 0, ho = 0, wo = 0;       // small side
  int64_t k = 1, s = 1, pad = 0;
  int64_t K() const { return c * k * k; }  // rows of the patch matrix: taps (channel, ky, kx)
  int64_t P() const { return ho * wo; }    // its columns per image: output pixels
  bool pointwise() const { return k == 1 && s == 1; }  // the patch matrix is x itself
};

ConvGeometry conv_geometry(int64_t n, int64_t c, int64_t h, int64_t w, int64_t o, int64_t k, int64_t s);

// The patch matrix of a chunk: output rows [y0, y1) of consecutive images starting at x (image
// after image), so column q is pixel (q mod cols) of image (q / cols), cols = (y1 - y0) * wo.
// Entry (tap, q) is x at the tap's channel and offset from the pixel, zero outside the image.
struct Patches : BSource {  // B = patches [K x columns]
  const float* x;
  const ConvGeometry* g;
  int64_t y0, y1;
  Patches(const float* x_, const ConvGeometry& g_, int64_t y0_, int64_t y1_) : x(x_), g(&g_), y0(y0_), y1(y1_) {}
  void pack(float* dst, int64_t p0, int64_t kc, int64_t j0, int64_t nc) const override;
};
struct PatchesT : Patches {  // B = patches^T [columns x K]
  using Patches::Patches;
  void pack(float* dst, int64_t p0, int64_t kc, int64_t j0, int64_t nc) const override;
};

// x [c, h, w] += the adjoint of the patch matrix of image x under output rows [y0, y1), applied to
// col [K, (y1 - y0) * wo] (rows ld floats apart): each column's taps added back where they came from.
void col2im_add(float* x, const float* col, int64_t ld, const ConvGeometry& g, int64_t y0, int64_t y1);

// y [c, hw]: y[j, :] = b[j] (the starting value that GEMMs then accumulate onto).
void fill_channel_bias(float* y, const float* b, int64_t c, int64_t hw);
// db [c] += sum over n and hw of t [n, c, hw]; fixed order (deterministic).
void channel_sum_add(float* db, const float* t, int64_t n, int64_t c, int64_t hw);

}  // namespace im
