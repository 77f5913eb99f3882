// Autograd wrapper of nearest 2x upsampling (kernels/upsample.*).
#include "engine/autograd.h"
#include "engine/dispatch.h"
#include "engine/ops.h"
#include "kernels/upsample.h"

namespace im {

Tensor upsample2x(const Tensor& x) {
  IM_CHECK(x.ndim() == 4, "upsample2x: expected [N, C, H, W], got " << x.shape().str());
  IM_CHECK(x.is_contiguous(), "upsample2x: the input must be contiguous");
  const int64_t planes = x.size(0) * x.size(1), h = x.size(2), w = x.size(3);
  Tensor y = Tensor::empty({x.size(0), x.size(1), 2 * h, 2 * w}, x.device());
  IM_DISPATCH(x.device(), upsample2x_forward_cpu, upsample2x_forward_cuda, y.data(), x.data(), planes, h, w);
  if (autograd::needs_grad({&x})) {
    autograd::record("upsample2x", {y}, [x, y, planes, h, w] {
      if (x.requires_grad())
        IM_DISPATCH(x.device(), upsample2x_backward_cpu, upsample2x_backward_cuda, x.grad_accumulator(),
                    y.grad().data(), planes, h, w);
    });
  }
  return y;
}

}  // namespace im
