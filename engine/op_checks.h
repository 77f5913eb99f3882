// Argument checks and gradient pointers shared by the op wrappers of engine/ops_*.cpp.
#pragma once
#include "engine/tensor.h"
#include "kernels/check.h"

namespace im::opcheck {

inline void input(const char* op, const char* name, const Tensor& t) {
  IM_CHECK(t.defined(), op << ": " << name << " is undefined");
  IM_CHECK(t.is_contiguous(), op << ": " << name << " " << t.shape().str() << " must be contiguous");
}

// Both defined and contiguous, of one shape, on one device.
inline void same(const char* op, const char* an, const Tensor& a, const char* bn, const Tensor& b) {
  input(op, an, a);
  input(op, bn, b);
  IM_CHECK(a.shape() == b.shape(),
           op << ": " << an << " " << a.shape().str() << " and " << bn << " " << b.shape().str() << " differ");
  IM_CHECK(a.device() == b.device(), op << ": " << an << " and " << bn << " are on different devices ("
                                        << device_name(a.device()) << ", " << device_name(b.device()) << ")");
}

// Where a backward adds t's gradient, or null when t needs none (the kernels then skip it).
inline float* grad_or_null(const Tensor& t) { return t.requires_grad() ? t.grad_accumulator() : nullptr; }

}  // namespace im::opcheck
