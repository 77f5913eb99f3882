// Autograd wrappers of conv2d and conv_transpose2d (kernels/conv2d.*, kernels/conv_transpose2d.*).
#include "engine/autograd.h"
#include "engine/dispatch.h"
#include "engine/ops.h"
#include "kernels/conv2d.h"
#include "kernels/conv_transpose2d.h"

namespace im {

namespace {
// Validates the arguments of `op` and returns its shape in ConvShape terms. Weights are
// [c_in, c_out, k, k] for the transposed conv and [c_out, c_in, k, k] for conv2d.
ConvShape conv_shape(const char* op, const Tensor& x, const Tensor& w, const Tensor& bias, int stride, bool transposed) {
  IM_CHECK(x.defined() && w.defined(), op << ": input and weights must be defined");
  IM_CHECK(x.ndim() == 4, op << ": input must be [N, C, H, W], got " << x.shape().str());
  IM_CHECK(w.ndim() == 4 && w.size(2) == w.size(3) && w.size(2) % 2 == 1,
           op << ": weights must be [., ., k, k] with k odd, got " << w.shape().str());
  IM_CHECK(stride >= 1, op << ": stride must be >= 1, got " << stride);
  ConvShape s;
  s.n = x.size(0), s.c_in = x.size(1), s.h = x.size(2), s.w = x.size(3);
  s.c_out = transposed ? w.size(1) : w.size(0);
  s.k = w.size(2), s.stride = stride;
  IM_CHECK((transposed ? w.size(0) : w.size(1)) == s.c_in,
           op << ": input " << x.shape().str() << " has " << s.c_in << " channels but weights " << w.shape().str()
              << (transposed ? " are [C_in, C_out, k, k]" : " are [C_out, C_in, k, k]"));
  IM_CHECK(w.device() == x.device(), op << ": input on " << device_name(x.device()) << ", weights on "
                                        << device_name(w.device()));
  IM_CHECK(x.is_contiguous() && w.is_contiguous(), op << ": input and weights must be contiguous");
  if (bias.defined()) {
    IM_CHECK(bias.ndim() == 1 && bias.size(0) == s.c_out,
             op << ": bias must be [" << s.c_out << "], got " << bias.shape().str());
    IM_CHECK(bias.device() == x.device() && bias.is_contiguous(), op << ": bias must be contiguous on the input's device");
  }
  return s;
}

const float* data_or_null(const Tensor& t) { return t.defined() ? t.data() : nullptr; }
}  // namespace

Tensor conv2d(const Tensor& x, const Tensor& w, const Tensor& bias, int stride) {
  const ConvShape s = conv_shape("conv2d", x, w, bias, stride, false);
  const ConvGeometry g = conv2d_geometry(s);
  Tensor y = Tensor::empty({s.n, s.c_out, g.ho, g.wo}, x.device());
  IM_DISPATCH(x.device(), conv2d_forward_cpu, conv2d_forward_cuda, y.data(), x.data(), w.data(), data_or_null(bias), s);
  if (autograd::needs_grad({&x, &w, &bias})) {
    autograd::record("conv2d", {y}, [x, w, bias, y, s] {
      const float* dy = y.grad().data();
      if (x.requires_grad())
        IM_DISPATCH(x.device(), conv2d_backward_data_cpu, conv2d_backward_data_cuda, x.grad_accumulator(), dy, w.data(),
                    s);
      if (w.requires_grad())
        IM_DISPATCH(x.device(), conv2d_backward_weight_cpu, conv2d_backward_weight_cuda, w.grad_accumulator(), x.data(),
                    dy, s);
      if (bias.defined() && bias.requires_grad())
        IM_DISPATCH(x.device(), conv_bias_backward_cpu, conv_bias_backward_cuda, bias.grad_accumulator(), dy, s.n,
                    s.c_out, y.size(2) * y.size(3));
    });
  }
  return y;
}

Tensor conv_transpose2d(const Tensor& x, const Tensor& w, const Tensor& bias, int stride) {
  const ConvShape s = conv_shape("conv_transpose2d", x, w, bias, stride, true);
  Tensor y = Tensor::empty({s.n, s.c_out, s.h * stride, s.w * stride}, x.device());
  IM_DISPATCH(x.device(), conv_transpose2d_forward_cpu, conv_transpose2d_forward_cuda, y.data(), x.data(), w.data(),
              data_or_null(bias), s);
  if (autograd::needs_grad({&x, &w, &bias})) {
    autograd::record("conv_transpose2d", {y}, [x, w, bias, y, s] {
      const float* dy = y.grad().data();
      if (x.requires_grad())
        IM_DISPATCH(x.device(), conv_transpose2d_backward_data_cpu, conv_transpose2d_backward_data_cuda,
                    x.grad_accumulator(), dy, w.data(), s);
      if (w.requires_grad())
        IM_DISPATCH(x.device(), conv_transpose2d_backward_weight_cpu, conv_transpose2d_backward_weight_cuda,
                    w.grad_accumulator(), x.data(), dy, s);
      if (bias.defined() && bias.requires_grad())
        IM_DISPATCH(x.device(), conv_bias_backward_cpu, conv_bias_backward_cuda, bias.grad_accumulator(), dy, s.n,
                    s.c_out, y.size(2) * y.size(3));
    });
  }
  return y;
}

}  // namespace im
