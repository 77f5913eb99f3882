// Convolution geometry shared by conv2d and conv_transpose2d, and the CPU data movement under the
// GEMMs: im2col / col2im over a band of output rows, per-channel bias add and bias gradient.
#pragma once
#include <cstdint>

namespace im {

// A stride-s, k x k, padding k/2 convolution from the "big" side x [n, c, h, w] to the "small"
// side y [n, o, ho, wo] with ho = ceil(h / s), wo = ceil(w / s); weights [o, c, k, k].
// conv2d runs it forward; conv_transpose2d is its adjoint (y is the transposed conv's input).
struct ConvGeometry {
  int64_t n = 0, c = 0, h = 0, w = 0;  // big side
  int64_t o = 0, ho = 0, wo = 0;       // small side
  int64_t k = 1, s = 1, pad = 0;
  int64_t K() const { return c * k * k; }  // rows of the column matrix
  int64_t P() const { return ho * wo; }    // columns of the column matrix, per image
  bool pointwise() const { return k == 1 && s == 1; }  // the column matrix is x itself
};

ConvGeometry conv_geometry(int64_t n, int64_t c, int64_t h, int64_t w, int64_t o, int64_t k, int64_t s);

// col [K, (y1 - y0) * wo] (rows ld floats apart) = the patches of image x [c, h, w] under output
// rows [y0, y1), zero padded.
void im2col(float* col, int64_t ld, const float* x, const ConvGeometry& g, int64_t y0, int64_t y1);
// x [c, h, w] += the adjoint of im2col applied to col (same band and layout).
void col2im_add(float* x, const float* col, int64_t ld, const ConvGeometry& g, int64_t y0, int64_t y1);

// y [n, c, hw]: y[i, j, :] = b[j] (set) -- the starting value that GEMMs then accumulate onto.
void fill_channel_bias(float* y, const float* b, int64_t c, int64_t hw);
// db [c] += sum over n and hw of t [n, c, hw]; fixed order (deterministic).
void channel_sum_add(float* db, const float* t, int64_t n, int64_t c, int64_t hw);

}  // namespace im
