// The CPU convolution engine under conv2d and conv_transpose2d: patch matrices (im2col) fed to a
// packed GEMM (kernels/gemm_cpu.h) in bands of output rows, in the geometry of kernels/im2col.h
// (big side x, small side y, weights [o, c, k, k]).
// Work is split into tasks fixed by the shapes alone, each running single-threaded GEMMs, and
// partial weight gradients are summed in a fixed order: results do not depend on the thread count.
#pragma once
#include "kernels/im2col.h"

namespace im {

// y = conv(x, w) (+ bias[o] when bias is given; onto y's values instead when accumulate).
void conv_gemm_forward(float* y, const float* x, const float* w, const float* bias, const ConvGeometry& g,
                       bool accumulate);
// x = conv^T(y, w) (+ bias[c] when given; onto x's values instead when accumulate).
void conv_gemm_backward_data(float* x, const float* y, const float* w, const float* bias, const ConvGeometry& g,
                             bool accumulate);
// dw += sum over images of y_n * patches(x_n)^T.
void conv_gemm_backward_weight(float* dw, const float* x, const float* y, const ConvGeometry& g);

}  // namespace im
