// Comparison masks (no autograd: masks are data).
#include "engine/dispatch.h"
#include "engine/ops.h"
#include "kernels/compare.h"

namespace im {

Tensor greater_equal(const Tensor& x, float threshold) {
  Tensor y = Tensor::empty_like(x);
  IM_DISPATCH(x.device(), greater_equal_cpu, greater_equal_cuda, y.data(), x.data(), x.numel(), threshold);
  return y;
}

}  // namespace im
