// conv_transpose2d on the CPU: conv2d's products with the roles of forward and data gradient
// exchanged (kernels/conv_gemm.*).
#include "kernels/conv_transpose2d.h"

#include "kernels/conv_gemm.h"

namespace im {

void conv_transpose2d_forward_cpu(float* y, const float* x, const float* w, const float* bias, const ConvShape& s) {
  conv_gemm_backward_data(y, x, w, bias, conv_transpose2d_geometry(s), false);
}

void conv_transpose2d_backward_data_cpu(float* dx, const float* dy, const float* w, const ConvShape& s) {
  conv_gemm_forward(dx, dy, w, nullptr, conv_transpose2d_geometry(s), true);
}

void conv_transpose2d_backward_weight_cpu(float* dw, const float* x, const float* dy, const ConvShape& s) {
  // In the adjoint conv2d, dy (our output side) is the big side and x the small one.
  conv_gemm_backward_weight(dw, dy, x, conv_transpose2d_geometry(s));
}

}  // namespace im
