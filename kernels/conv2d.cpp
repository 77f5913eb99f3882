// conv2d on the CPU: the forward, data and weight products of kernels/conv_gemm.*.
#include "kernels/conv2d.h"

#include "kernels/conv_gemm.h"

namespace im {

void conv2d_forward_cpu(float* y, const float* x, const float* w, const float* bias, const ConvShape& s) {
  conv_gemm_forward(y, x, w, bias, conv2d_geometry(s), false);
}

void conv2d_backward_data_cpu(float* dx, const float* dy, const float* w, const ConvShape& s) {
  conv_gemm_backward_data(dx, dy, w, nullptr, conv2d_geometry(s), true);
}

void conv2d_backward_weight_cpu(float* dw, const float* x, const float* dy, const ConvShape& s) {
  conv_gemm_backward_weight(dw, x, dy, conv2d_geometry(s));
}

void conv_bias_backward_cpu(float* db, const float* dy, int64_t n, int64_t c, int64_t hw) {
  channel_sum_add(db, dy, n, c, hw);
}

}  // namespace im
