// conv_transpose2d (NCHW, odd k x k, stride s): y [n, c_out, h*s, w*s] from x [n, c_in, h, w] and
// w [c_in, c_out, k, k], as PyTorch's conv_transpose2d(padding=k/2, output_padding=s-1).
// It is the adjoint of conv2d from [n, c_out, h*s, w*s] to [n, c_in, h, w] with the same weights:
// its forward is that conv's data gradient, its data gradient that conv's forward, and its weight
// gradient that conv's weight gradient with the roles of x and y exchanged.
// Backward functions accumulate (+=) into their outputs; the bias gradient is conv_bias_backward.
#pragma once
#include "kernels/conv2d.h"

namespace im {

// The conv2d geometry whose adjoint this is: big side = our output, small side = our input.
inline ConvGeometry conv_transpose2d_geometry(const ConvShape& s) {
  return conv_geometry(s.n, s.c_out, s.h * s.stride, s.w * s.stride, s.c_in, s.k, s.stride);
}

// y = conv^T(x, w) + bias (bias [c_out], may be null).
void conv_transpose2d_forward_cpu(float* y, const float* x, const float* w, const float* bias, const ConvShape& s);
void conv_transpose2d_forward_cuda(float* y, const float* x, const float* w, const float* bias, const ConvShape& s);
// dx += conv(dy, w)
void conv_transpose2d_backward_data_cpu(float* dx, const float* dy, const float* w, const ConvShape& s);
void conv_transpose2d_backward_data_cuda(float* dx, const float* dy, const float* w, const ConvShape& s);
// dw += sum over images of x * patches(dy)^T
void conv_transpose2d_backward_weight_cpu(float* dw, const float* x, const float* dy, const ConvShape& s);
void conv_transpose2d_backward_weight_cuda(float* dw, const float* x, const float* dy, const ConvShape& s);

}  // namespace im
