// conv_transpose2d on CUDA through cuDNN, as the adjoint of the conv2d from our output
// [n, c_out, h*s, w*s] (cuDNN's "x") to our input [n, c_in, h, w] (cuDNN's "y"), same filters
// [c_in, c_out, k, k] (cuDNN's [K = c_in, C = c_out]):
//   forward          y  = BackwardData(w, dy := x)               (beta 0, then + bias)
//   data gradient    dx += Forward(x := dy, w)                    (beta 1)
//   weight gradient  dw += BackwardFilter(x := dy, dy := x)       (beta 1)
#include "kernels/conv_transpose2d.h"
#include "kernels/cudnn_conv.h"

namespace im {

void conv_transpose2d_forward_cuda(float* y, const float* x, const float* w, const float* bias, const ConvShape& s) {
  const ConvGeometry g = conv_transpose2d_geometry(s);
  cudnn_conv_backward_data(y, x, w, g, 0.f);
  if (bias) cudnn_add_channel_bias(y, bias, g.n, g.c, g.h * g.w);
}

void conv_transpose2d_backward_data_cuda(float* dx, const float* dy, const float* w, const ConvShape& s) {
  cudnn_conv_forward(dx, dy, w, conv_transpose2d_geometry(s), 1.f);
}

void conv_transpose2d_backward_weight_cuda(float* dw, const float* x, const float* dy, const ConvShape& s) {
  cudnn_conv_backward_filter(dw, dy, x, conv_transpose2d_geometry(s), 1.f);
}

}  // namespace im
