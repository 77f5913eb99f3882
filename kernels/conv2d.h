// conv2d (NCHW, odd k x k, padding k/2, stride s): y [n, c_out, ceil(h/s), ceil(w/s)] from
// x [n, c_in, h, w] and w [c_out, c_in, k, k], as PyTorch's conv2d(padding=k/2).
// CPU: patch matrices + packed GEMM (kernels/conv_gemm.*); CUDA: cuDNN (kernels/cudnn_conv.*).
// Backward functions accumulate (+=) into their outputs.
#pragma once
#include <cstdint>

#include "kernels/im2col.h"

namespace im {

// The shape of a conv2d or conv_transpose2d call in its own terms: the op's input is
// [n, c_in, h, w], its weights hold c_in x c_out filters of k x k.
struct ConvShape {
  int64_t n = 0, c_in = 0, h = 0, w = 0, c_out = 0, k = 1, stride = 1;
};

// conv2d is the geometry's forward product: x is the big side, y the small one.
inline ConvGeometry conv2d_geometry(const ConvShape& s) {
  return conv_geometry(s.n, s.c_in, s.h, s.w, s.c_out, s.k, s.stride);
}

// y = conv(x, w) + bias (bias may be null).
void conv2d_forward_cpu(float* y, const float* x, const float* w, const float* bias, const ConvShape& s);
void conv2d_forward_cuda(float* y, const float* x, const float* w, const float* bias, const ConvShape& s);
// dx += conv^T(dy, w)
void conv2d_backward_data_cpu(float* dx, const float* dy, const float* w, const ConvShape& s);
void conv2d_backward_data_cuda(float* dx, const float* dy, const float* w, const ConvShape& s);
// dw += sum over images of dy * patches(x)^T
void conv2d_backward_weight_cpu(float* dw, const float* x, const float* dy, const ConvShape& s);
void conv2d_backward_weight_cuda(float* dw, const float* x, const float* dy, const ConvShape& s);

// db [c] += sum over n, h, w of dy [n, c, h, w] (the bias gradient of both convolutions).
void conv_bias_backward_cpu(float* db, const float* dy, int64_t n, int64_t c, int64_t hw);
void conv_bias_backward_cuda(float* db, const float* dy, int64_t n, int64_t c, int64_t hw);

}  // namespace im
