// Autograd wrappers of add/sub/mul with NumPy broadcasting and of the scalar ops (kernels/binary.*).
#include "engine/autograd.h"
#include "engine/dispatch.h"
#include "engine/ops.h"
#include "kernels/binary.h"
#include "kernels/elementwise.h"

namespace im {

namespace {

// Aligns the shapes on the right, checks they broadcast, and describes the result with size-1
// dimensions dropped and adjacent dimensions merged wherever both operands' strides allow.
Broadcast make_broadcast(const Shape& a, const Shape& b, Shape* out, const char* op) {
  const int nd = a.nd > b.nd ? a.nd : b.nd;
  int64_t dims[kBcastDims], sa[kBcastDims], sb[kBcastDims];
  int64_t stride_a = 1, stride_b = 1;
  out->nd = nd;
  for (int k = nd - 1; k >= 0; --k) {
    int ka = k - (nd - a.nd), kb = k - (nd - b.nd);
    int64_t da = ka >= 0 ? a.d[ka] : 1, db = kb >= 0 ? b.d[kb] : 1;
    IM_CHECK(da == db || da == 1 || db == 1,
             op << ": shapes " << a.str() << " and " << b.str() << " do not broadcast (dimension " << k << ")");
    dims[k] = da == 1 ? db : da;
    out->d[k] = dims[k];
    sa[k] = da == 1 ? 0 : stride_a;
    sb[k] = db == 1 ? 0 : stride_b;
    stride_a *= da;
    stride_b *= db;
  }
  Broadcast bc;
  bc.numel = out->numel();
  for (int k = 0; k < nd; ++k) {
    if (dims[k] == 1) continue;
    int p = bc.nd - 1;
    if (p >= 0 && bc.sa[p] == sa[k] * dims[k] && bc.sb[p] == sb[k] * dims[k]) {
      bc.dims[p] *= dims[k];
      bc.sa[p] = sa[k];
      bc.sb[p] = sb[k];
    } else {
      bc.dims[bc.nd] = dims[k];
      bc.sa[bc.nd] = sa[k];
      bc.sb[bc.nd] = sb[k];
      bc.nd += 1;
    }
  }
  if (bc.nd == 0) {  // a single element
    bc.nd = 1;
    bc.dims[0] = 1;
    bc.sa[0] = bc.sb[0] = 1;
  }
  return bc;
}

Tensor binary(const Tensor& a, const Tensor& b, BinaryOp op, const char* name) {
  IM_CHECK(a.defined() && b.defined(), name << ": undefined operand");
  IM_CHECK(a.device() == b.device(), name << ": operands on different devices (" << a.str() << ", " << b.str() << ")");
  IM_CHECK(a.is_contiguous() && b.is_contiguous(), name << ": operands must be contiguous");
  Shape out;
  const Broadcast bc = make_broadcast(a.shape(), b.shape(), &out, name);
  Tensor y = Tensor::empty(out, a.device());
  IM_DISPATCH(a.device(), binary_forward_cpu, binary_forward_cuda, y.data(), a.data(), b.data(), bc, op);
  if (autograd::needs_grad({&a, &b})) {
    autograd::record(name, {y}, [a, b, y, bc, op] {
      const float* dy = y.grad().data();
      const Device dev = y.device();
      if (a.requires_grad())
        IM_DISPATCH(dev, binary_backward_cpu, binary_backward_cuda, a.grad_accumulator(), dy,
                    op == BinaryOp::Mul ? b.data() : nullptr, bc, 1.f);
      if (b.requires_grad())
        IM_DISPATCH(dev, binary_backward_cpu, binary_backward_cuda, b.grad_accumulator(), dy,
                    op == BinaryOp::Mul ? a.data() : nullptr, swap_operands(bc), op == BinaryOp::Sub ? -1.f : 1.f);
    });
  }
  return y;
}

Tensor affine(const Tensor& x, float scale, float shift, const char* name) {
  IM_CHECK(x.defined() && x.is_contiguous(), name << ": operand must be defined and contiguous");
  Tensor y = Tensor::empty_like(x);
  IM_DISPATCH(x.device(), affine_forward_cpu, affine_forward_cuda, y.data(), x.data(), x.numel(), scale, shift);
  if (autograd::needs_grad({&x})) {
    autograd::record(name, {y}, [x, y, scale] {
      if (x.requires_grad())
        IM_DISPATCH(x.device(), add_inplace_cpu, add_inplace_cuda, x.grad_accumulator(), y.grad().data(), x.numel(),
                    scale);
    });
  }
  return y;
}

}  // namespace

Tensor add(const Tensor& a, const Tensor& b) { return binary(a, b, BinaryOp::Add, "add"); }
Tensor sub(const Tensor& a, const Tensor& b) { return binary(a, b, BinaryOp::Sub, "sub"); }
Tensor mul(const Tensor& a, const Tensor& b) { return binary(a, b, BinaryOp::Mul, "mul"); }
Tensor add_scalar(const Tensor& a, float s) { return affine(a, 1.f, s, "add_scalar"); }
Tensor mul_scalar(const Tensor& a, float s) { return affine(a, s, 0.f, "mul_scalar"); }

}  // namespace im
