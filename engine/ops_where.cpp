// Autograd wrappers of where and masked_select (kernels/where.*). The mask is never differentiated.
#include "engine/autograd.h"
#include "engine/dispatch.h"
#include "engine/ops.h"
#include "kernels/where.h"

namespace im {

namespace {
void check_same(const Tensor& t, const Tensor& ref, const char* op, const char* what) {
  IM_CHECK(t.defined(), op << ": undefined " << what);
  IM_CHECK(t.shape() == ref.shape(), op << ": " << what << " " << t.shape().str() << " does not match "
                                        << ref.shape().str());
  IM_CHECK(t.device() == ref.device(), op << ": " << what << " on another device");
  IM_CHECK(t.is_contiguous(), op << ": " << what << " must be contiguous");
}
}  // namespace

Tensor where(const Tensor& mask, const Tensor& a, const Tensor& b) {
  IM_CHECK(a.defined(), "where: undefined a");
  check_same(mask, a, "where", "mask");
  check_same(b, a, "where", "b");
  check_same(a, a, "where", "a");
  Tensor y = Tensor::empty_like(a);
  IM_DISPATCH(a.device(), where_forward_cpu, where_forward_cuda, y.data(), mask.data(), a.data(), b.data(), a.numel());
  if (autograd::needs_grad({&a, &b})) {
    autograd::record("where", {y}, [mask, a, b, y] {
      float* da = a.requires_grad() ? a.grad_accumulator() : nullptr;
      float* db = b.requires_grad() ? b.grad_accumulator() : nullptr;
      IM_DISPATCH(y.device(), where_backward_cpu, where_backward_cuda, da, db, y.grad().data(), mask.data(), y.numel());
    });
  }
  return y;
}

Tensor masked_select(const Tensor& x, const Tensor& mask) {
  IM_CHECK(x.defined(), "masked_select: undefined x");
  check_same(mask, x, "masked_select", "mask");
  check_same(x, x, "masked_select", "x");
  int64_t count = 0;
  IM_DISPATCH(x.device(), mask_count_cpu, mask_count_cuda, mask.data(), x.numel(), &count);
  Tensor y = Tensor::empty({count}, x.device());
  IM_DISPATCH(x.device(), masked_select_forward_cpu, masked_select_forward_cuda, y.data(), x.data(), mask.data(),
              x.numel());
  if (autograd::needs_grad({&x})) {
    autograd::record("masked_select", {y}, [x, mask, y] {
      if (x.requires_grad())
        IM_DISPATCH(x.device(), masked_select_backward_cpu, masked_select_backward_cuda, x.grad_accumulator(),
                    y.grad().data(), mask.data(), x.numel());
    });
  }
  return y;
}

}  // namespace im
