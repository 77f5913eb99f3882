// Tensor: a float32 NCHW array on the CPU or a CUDA device, with autograd bookkeeping.
// A Tensor is a cheap handle (shared ownership); copies alias the same data.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "engine/device.h"
#include "engine/shape.h"

namespace im {

// One allocation from the caching allocator, or a window into another Storage's memory.
struct Storage {
  float* ptr = nullptr;
  size_t numel = 0;
  Device dev = Device::CPU;
  bool owned = true;
  Storage(size_t n, Device d);
  Storage(float* p, size_t n, Device d) : ptr(p), numel(n), dev(d), owned(false) {}
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
};

struct TensorImpl {
  std::shared_ptr<Storage> storage;
  int64_t offset = 0;  // in elements
  Shape shape;
  int64_t strides[Shape::kMaxDims] = {0, 0, 0, 0, 0};
  bool requires_grad = false;
  bool is_leaf = true;       // made by the user or a parameter, not by a recorded op
  bool retain_grad = false;  // keep the gradient of a non-leaf after backward
  std::shared_ptr<TensorImpl> grad;
  std::string name;
};

class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  static Tensor empty(const Shape& shape, Device dev = Device::CPU);
  static Tensor zeros(const Shape& shape, Device dev = Device::CPU);
  static Tensor full(const Shape& shape, float value, Device dev = Device::CPU);
  static Tensor from_vector(const std::vector<float>& values, const Shape& shape, Device dev = Device::CPU);
  static Tensor empty_like(const Tensor& t) { return empty(t.shape(), t.device()); }
  static Tensor zeros_like(const Tensor& t) { return zeros(t.shape(), t.device()); }
  // A tensor over memory owned elsewhere (e.g. a parameter inside one contiguous buffer).
  static Tensor view_of(const std::shared_ptr<Storage>& storage, int64_t offset, const Shape& shape);

  bool defined() const { return impl_ != nullptr; }
  const Shape& shape() const;
  int ndim() const { return shape().nd; }
  int64_t size(int i) const { return shape()[i]; }
  int64_t numel() const { return shape().numel(); }
  Device device() const;
  bool is_cuda() const { return device() == Device::CUDA; }
  float* data() const;
  const int64_t* strides() const { return impl_->strides; }
  bool is_contiguous() const;

  // Copies to a device (returns this tensor when already there); the copy is a new leaf.
  Tensor to(Device dev) const;
  std::vector<float> to_vector() const;
  float item() const;
  // Copies src's values into this tensor (same number of elements; devices may differ).
  void copy_from(const Tensor& src);
  void fill_(float value);
  void zero_() { fill_(0.f); }
  // The same memory under another shape (no autograd; see ops reshape() for the recorded one).
  Tensor view(const Shape& shape) const;

  // Autograd.
  bool requires_grad() const { return impl_ && impl_->requires_grad; }
  Tensor& set_requires_grad(bool on);
  bool is_leaf() const { return impl_->is_leaf; }
  Tensor grad() const;
  bool has_grad() const { return impl_ && impl_->grad != nullptr; }
  // Gradient buffer to accumulate into, allocated as zeros the first time.
  float* grad_accumulator() const;
  // Binds the gradient to given memory (parameters keep their gradients in one buffer).
  void bind_grad(const Tensor& g);
  void drop_grad() const { impl_->grad.reset(); }
  void retain_grad() { impl_->retain_grad = true; }
  // Same data, cut from the graph: no gradient flows back through the result.
  Tensor detach() const;

  const std::string& name() const { return impl_->name; }
  Tensor& set_name(std::string n) {
    impl_->name = std::move(n);
    return *this;
  }
  TensorImpl* impl() const { return impl_.get(); }
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }
  std::string str() const;

 private:
  std::shared_ptr<TensorImpl> impl_;
};

}  // namespace im
