// Autograd wrappers of the shape ops: reshape/flatten (recorded views) and concat/split
// (kernels/concat.*).
#include "engine/autograd.h"
#include "engine/dispatch.h"
#include "engine/ops.h"
#include "kernels/concat.h"
#include "kernels/elementwise.h"

namespace im {

Tensor reshape(const Tensor& x, const Shape& shape) {
  IM_CHECK(x.defined(), "reshape: undefined input");
  IM_CHECK(shape.numel() == x.numel(),
           "reshape: " << x.shape().str() << " (" << x.numel() << " elements) to " << shape.str());
  Tensor y = x.view(shape);
  if (autograd::needs_grad({&x})) {
    // y shares x's memory, but gradients are separate buffers: pass dy through to dx.
    autograd::record("reshape", {y}, [x, y] {
      if (x.requires_grad())
        IM_DISPATCH(x.device(), add_inplace_cpu, add_inplace_cuda, x.grad_accumulator(), y.grad().data(), x.numel(),
                    1.f);
    });
  }
  return y;
}

Tensor flatten(const Tensor& x) {
  IM_CHECK(x.defined() && x.ndim() >= 1, "flatten: want a tensor [N, ...]");
  const int64_t n = x.size(0);
  return reshape(x, {n, n == 0 ? 0 : x.numel() / n});
}

namespace {
int normalize_dim(int dim, int nd, const char* op) {
  IM_CHECK(dim >= -nd && dim < nd, op << ": dim " << dim << " out of range for " << nd << " dimensions");
  return dim < 0 ? dim + nd : dim;
}
}  // namespace

Tensor concat(const std::vector<Tensor>& xs, int dim) {
  IM_CHECK(!xs.empty(), "concat: no inputs");
  const Tensor& x0 = xs[0];
  IM_CHECK(x0.defined(), "concat: undefined input 0");
  const int nd = x0.ndim();
  const int d = normalize_dim(dim, nd, "concat");
  Shape out = x0.shape();
  out[d] = 0;
  for (size_t k = 0; k < xs.size(); ++k) {
    const Tensor& t = xs[k];
    IM_CHECK(t.defined() && t.ndim() == nd, "concat: input " << k << " has another number of dimensions than input 0");
    for (int i = 0; i < nd; ++i)
      IM_CHECK(i == d || t.size(i) == x0.size(i), "concat along dim " << d << ": input " << k << " "
                                                       << t.shape().str() << " does not match input 0 "
                                                       << x0.shape().str());
    IM_CHECK(t.device() == x0.device(), "concat: input " << k << " on another device");
    IM_CHECK(t.is_contiguous(), "concat: input " << k << " must be contiguous");
    out[d] += t.size(d);
  }
  const int64_t rows = out.prod(0, d), inner = out.prod(d + 1, nd), out_cols = out[d] * inner;
  Tensor y = Tensor::empty(out, x0.device());
  std::vector<int64_t> offsets;
  int64_t off = 0;
  for (const Tensor& t : xs) {
    offsets.push_back(off);
    const int64_t cols = t.size(d) * inner;
    IM_DISPATCH(y.device(), block_copy_cpu, block_copy_cuda, y.data(), out_cols, off, t.data(), cols, 0, rows, cols,
                false);
    off += cols;
  }
  if (autograd::needs_grad(xs)) {
    autograd::record("concat", {y}, [xs, y, offsets, rows, inner, out_cols, d] {
      const float* dy = y.grad().data();
      for (size_t k = 0; k < xs.size(); ++k) {
        if (!xs[k].requires_grad()) continue;
        const int64_t cols = xs[k].size(d) * inner;
        IM_DISPATCH(y.device(), block_copy_cpu, block_copy_cuda, xs[k].grad_accumulator(), cols, 0, dy, out_cols,
                    offsets[k], rows, cols, true);
      }
    });
  }
  return y;
}

std::vector<Tensor> split(const Tensor& x, const std::vector<int64_t>& sizes, int dim) {
  IM_CHECK(x.defined(), "split: undefined input");
  IM_CHECK(x.is_contiguous(), "split: input must be contiguous");
  IM_CHECK(!sizes.empty(), "split: no sizes");
  const int nd = x.ndim();
  const int d = normalize_dim(dim, nd, "split");
  int64_t total = 0;
  for (int64_t s : sizes) {
    IM_CHECK(s >= 0, "split: negative size " << s);
    total += s;
  }
  IM_CHECK(total == x.size(d), "split: sizes add up to " << total << " but " << x.shape().str() << " has " << x.size(d)
                                                         << " along dim " << d);
  const int64_t rows = x.shape().prod(0, d), inner = x.shape().prod(d + 1, nd), in_cols = x.size(d) * inner;
  std::vector<Tensor> ys;
  std::vector<int64_t> offsets;
  int64_t off = 0;
  for (int64_t s : sizes) {
    Shape sh = x.shape();
    sh[d] = s;
    Tensor y = Tensor::empty(sh, x.device());
    IM_DISPATCH(x.device(), block_copy_cpu, block_copy_cuda, y.data(), s * inner, 0, x.data(), in_cols, off, rows,
                s * inner, false);
    offsets.push_back(off);
    off += s * inner;
    ys.push_back(y);
  }
  if (autograd::needs_grad({&x})) {
    // One node for all pieces; a piece that got no gradient contributes nothing.
    autograd::record("split", ys, [x, ys, offsets, rows, inner, in_cols, d] {
      if (!x.requires_grad()) return;
      for (size_t k = 0; k < ys.size(); ++k) {
        if (!ys[k].has_grad()) continue;
        const int64_t cols = ys[k].size(d) * inner;
        IM_DISPATCH(x.device(), block_copy_cpu, block_copy_cuda, x.grad_accumulator(), in_cols, offsets[k],
                    ys[k].grad().data(), cols, 0, rows, cols, true);
      }
    });
  }
  return ys;
}

}  // namespace im
