// Autograd wrappers of sum and mean, over all elements or a range of dimensions (kernels/reduce.*).
#include "engine/autograd.h"
#include "engine/dispatch.h"
#include "engine/ops.h"
#include "kernels/reduce.h"

namespace im {

namespace {

// x viewed as [outer, R, inner]; the result has shape out.
Tensor reduce(const Tensor& x, int64_t outer, int64_t R, int64_t inner, const Shape& out, bool is_mean,
              const char* name) {
  IM_CHECK(x.is_contiguous(), name << ": input must be contiguous");
  IM_CHECK(!is_mean || R > 0, name << ": mean over zero elements of " << x.shape().str());
  const float scale = is_mean ? static_cast<float>(1.0 / static_cast<double>(R)) : 1.f;
  Tensor y = Tensor::empty(out, x.device());
  IM_DISPATCH(x.device(), reduce_sum_forward_cpu, reduce_sum_forward_cuda, y.data(), x.data(), outer, R, inner, scale);
  if (autograd::needs_grad({&x})) {
    autograd::record(name, {y}, [x, y, outer, R, inner, scale] {
      if (x.requires_grad())
        IM_DISPATCH(x.device(), reduce_sum_backward_cpu, reduce_sum_backward_cuda, x.grad_accumulator(),
                    y.grad().data(), outer, R, inner, scale);
    });
  }
  return y;
}

Tensor reduce_dims(const Tensor& x, int begin, int end, bool keepdim, bool is_mean, const char* name) {
  IM_CHECK(x.defined(), name << ": undefined input");
  const Shape& s = x.shape();
  IM_CHECK(0 <= begin && begin < end && end <= s.nd,
           name << ": dims [" << begin << ", " << end << ") of " << s.str() << " (want 0 <= begin < end <= ndim)");
  Shape out;
  for (int i = 0; i < s.nd; ++i) {
    if (i < begin || i >= end)
      out.d[out.nd++] = s.d[i];
    else if (keepdim)
      out.d[out.nd++] = 1;
  }
  if (out.nd == 0) out = Shape{1};  // everything reduced: a one-element tensor, as sum(x)
  return reduce(x, s.prod(0, begin), s.prod(begin, end), s.prod(end, s.nd), out, is_mean, name);
}

}  // namespace

Tensor sum(const Tensor& x) {
  IM_CHECK(x.defined(), "sum: undefined input");
  return reduce(x, 1, x.numel(), 1, Shape{1}, false, "sum");
}
Tensor mean(const Tensor& x) {
  IM_CHECK(x.defined(), "mean: undefined input");
  return reduce(x, 1, x.numel(), 1, Shape{1}, true, "mean");
}
Tensor sum(const Tensor& x, int begin, int end, bool keepdim) { return reduce_dims(x, begin, end, keepdim, false, "sum"); }
Tensor mean(const Tensor& x, int begin, int end, bool keepdim) { return reduce_dims(x, begin, end, keepdim, true, "mean"); }

}  // namespace im
