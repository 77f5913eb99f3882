// Autograd wrapper of the per-sample gamma transform (engine/ops.h; kernels in kernels/gamma).
#include "engine/autograd.h"
#include "engine/dispatch.h"
#include "engine/op_checks.h"
#include "engine/ops.h"
#include "kernels/gamma.h"

namespace im {

Tensor gamma_transform(const Tensor& x, const Tensor& gamma) {
  opcheck::input("gamma_transform", "x", x);
  opcheck::input("gamma_transform", "gamma", gamma);
  IM_CHECK(x.ndim() >= 1 && gamma.numel() == x.size(0),
           "gamma_transform: gamma " << gamma.shape().str() << " needs one exponent per sample of x " << x.shape().str());
  IM_CHECK(x.device() == gamma.device(), "gamma_transform: x and gamma are on different devices");
  const int64_t N = x.size(0), per = N > 0 ? x.numel() / N : 0;
  Tensor y = Tensor::empty_like(x);
  IM_DISPATCH(x.device(), gamma_forward_cpu, gamma_forward_cuda, y.data(), x.data(), gamma.data(), N, per);
  if (autograd::needs_grad({&x})) {
    autograd::record("gamma_transform", {y}, [x, gamma, y, N, per] {
      IM_DISPATCH(x.device(), gamma_backward_cpu, gamma_backward_cuda, x.grad_accumulator(), y.grad().data(), x.data(),
                  gamma.data(), N, per);
    });
  }
  return y;
}

}  // namespace im
