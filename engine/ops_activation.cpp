// Autograd wrappers of the activations (kernels/activation.*).
#include "engine/autograd.h"
#include "engine/dispatch.h"
#include "engine/ops.h"
#include "kernels/activation.h"

namespace im {

Tensor leaky_relu(const Tensor& x, float alpha) {
  IM_CHECK(alpha >= 0.f, "leaky_relu: alpha must be >= 0 (the backward reads the sign of the output), got " << alpha);
  Tensor y = Tensor::empty_like(x);
  IM_DISPATCH(x.device(), leaky_relu_forward_cpu, leaky_relu_forward_cuda, y.data(), x.data(), x.numel(), alpha);
  if (autograd::needs_grad({&x})) {
    autograd::record("leaky_relu", {y}, [x, y, alpha] {
      if (x.requires_grad())
        IM_DISPATCH(x.device(), leaky_relu_backward_cpu, leaky_relu_backward_cuda, x.grad_accumulator(),
                    y.grad().data(), y.data(), x.numel(), alpha);
    });
  }
  return y;
}

Tensor relu(const Tensor& x) { return leaky_relu(x, 0.f); }

Tensor sigmoid(const Tensor& x) {
  Tensor y = Tensor::empty_like(x);
  IM_DISPATCH(x.device(), sigmoid_forward_cpu, sigmoid_forward_cuda, y.data(), x.data(), x.numel());
  if (autograd::needs_grad({&x})) {
    autograd::record("sigmoid", {y}, [x, y] {
      if (x.requires_grad())
        IM_DISPATCH(x.device(), sigmoid_backward_cpu, sigmoid_backward_cuda, x.grad_accumulator(), y.grad().data(),
                    y.data(), x.numel());
    });
  }
  return y;
}

}  // namespace im
