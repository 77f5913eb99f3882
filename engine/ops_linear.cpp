// Autograd wrapper of the dense layer (kernels/linear.*).
#include "engine/autograd.h"
#include "engine/dispatch.h"
#include "engine/ops.h"
#include "kernels/linear.h"

namespace im {

Tensor linear(const Tensor& x, const Tensor& w, const Tensor& bias) {
  IM_CHECK(x.defined() && w.defined(), "linear: undefined input or weight");
  IM_CHECK(x.ndim() == 2 && w.ndim() == 2 && x.size(1) == w.size(1),
           "linear: x " << x.shape().str() << " and w " << w.shape().str() << " (want x [N, in], w [out, in])");
  const int64_t N = x.size(0), in = x.size(1), out = w.size(0);
  const bool has_bias = bias.defined();
  IM_CHECK(!has_bias || (bias.ndim() == 1 && bias.size(0) == out),
           "linear: bias " << bias.shape().str() << " for w " << w.shape().str() << " (want [" << out << "])");
  IM_CHECK(w.device() == x.device() && (!has_bias || bias.device() == x.device()),
           "linear: inputs on different devices");
  IM_CHECK(x.is_contiguous() && w.is_contiguous() && (!has_bias || bias.is_contiguous()),
           "linear: inputs must be contiguous");
  Tensor y = Tensor::empty({N, out}, x.device());
  IM_DISPATCH(x.device(), linear_forward_cpu, linear_forward_cuda, y.data(), x.data(), w.data(),
              has_bias ? bias.data() : nullptr, N, in, out);
  if (autograd::needs_grad({&x, &w, &bias})) {
    autograd::record("linear", {y}, [x, w, bias, y, has_bias, N, in, out] {
      float* dx = x.requires_grad() ? x.grad_accumulator() : nullptr;
      float* dw = w.requires_grad() ? w.grad_accumulator() : nullptr;
      float* db = has_bias && bias.requires_grad() ? bias.grad_accumulator() : nullptr;
      IM_DISPATCH(y.device(), linear_backward_cpu, linear_backward_cuda, dx, dw, db, y.grad().data(), x.data(),
                  w.data(), N, in, out);
    });
  }
  return y;
}

}  // namespace im
