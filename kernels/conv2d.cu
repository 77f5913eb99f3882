// conv2d on CUDA: cuDNN forward, backward data and backward filter (kernels/cudnn_conv.*).
#include "kernels/conv2d.h"
#include "kernels/cudnn_conv.h"

namespace im {

void conv2d_forward_cuda(float* y, const float* x, const float* w, const float* bias, const ConvShape& s) {
  const ConvGeometry g = conv2d_geometry(s);
  cudnn_conv_forward(y, x, w, g, 0.f);
  if (bias) cudnn_add_channel_bias(y, bias, g.n, g.o, g.P());
}

void conv2d_backward_data_cuda(float* dx, const float* dy, const float* w, const ConvShape& s) {
  cudnn_conv_backward_data(dx, dy, w, conv2d_geometry(s), 1.f);  // beta = 1 accumulates
}

void conv2d_backward_weight_cuda(float* dw, const float* x, const float* dy, const ConvShape& s) {
  cudnn_conv_backward_filter(dw, x, dy, conv2d_geometry(s), 1.f);
}

void conv_bias_backward_cuda(float* db, const float* dy, int64_t n, int64_t c, int64_t hw) {
  cudnn_channel_sum_add(db, dy, n, c, hw);
}

}  // namespace im
