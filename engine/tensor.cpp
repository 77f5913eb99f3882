// Tensor construction, transfer between devices, views and gradient buffers.
#include "engine/tensor.h"

#include <cstring>

#include "engine/allocator.h"
#include "engine/dispatch.h"
#include "kernels/check.h"
#include "kernels/cuda_api.h"
#include "kernels/elementwise.h"

namespace im {

Storage::Storage(size_t n, Device d) : numel(n), dev(d), owned(true) {
  ptr = static_cast<float*>(allocate(n * sizeof(float), d));
}

Storage::~Storage() {
  if (owned) deallocate(ptr, numel * sizeof(float), dev);
}

namespace {
void set_contiguous_strides(TensorImpl& t) {
  int64_t s = 1;
  for (int i = t.shape.nd - 1; i >= 0; --i) {
    t.strides[i] = s;
    s *= t.shape.d[i];
  }
}
}  // namespace

Tensor Tensor::empty(const Shape& shape, Device dev) {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = std::make_shared<Storage>(static_cast<size_t>(shape.numel()), dev);
  impl->shape = shape;
  set_contiguous_strides(*impl);
  return Tensor(std::move(impl));
}

Tensor Tensor::zeros(const Shape& shape, Device dev) {
  Tensor t = empty(shape, dev);
  t.fill_(0.f);
  return t;
}

Tensor Tensor::full(const Shape& shape, float value, Device dev) {
  Tensor t = empty(shape, dev);
  t.fill_(value);
  return t;
}

Tensor Tensor::from_vector(const std::vector<float>& values, const Shape& shape, Device dev) {
  IM_CHECK(static_cast<int64_t>(values.size()) == shape.numel(),
           "from_vector: " << values.size() << " values for shape " << shape.str());
  Tensor t = empty(shape, dev);
  if (dev == Device::CUDA)
    cuda::copy_h2d(t.data(), values.data(), values.size() * sizeof(float));
  else if (!values.empty())
    std::memcpy(t.data(), values.data(), values.size() * sizeof(float));
  return t;
}

Tensor Tensor::view_of(const std::shared_ptr<Storage>& storage, int64_t offset, const Shape& shape) {
  IM_CHECK(offset >= 0 && offset + shape.numel() <= static_cast<int64_t>(storage->numel),
           "view_of: window " << offset << "+" << shape.numel() << " outside storage of " << storage->numel);
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = storage;
  impl->offset = offset;
  impl->shape = shape;
  set_contiguous_strides(*impl);
  return Tensor(std::move(impl));
}

const Shape& Tensor::shape() const {
  IM_CHECK(impl_, "use of an undefined tensor");
  return impl_->shape;
}

Device Tensor::device() const {
  IM_CHECK(impl_ && impl_->storage, "use of an undefined tensor");
  return impl_->storage->dev;
}

float* Tensor::data() const {
  IM_CHECK(impl_ && impl_->storage, "use of an undefined or unbound tensor");
  return impl_->storage->ptr + impl_->offset;
}

bool Tensor::is_contiguous() const {
  int64_t s = 1;
  for (int i = impl_->shape.nd - 1; i >= 0; --i) {
    if (impl_->shape.d[i] != 1 && impl_->strides[i] != s) return false;
    s *= impl_->shape.d[i];
  }
  return true;
}

Tensor Tensor::to(Device dev) const {
  if (device() == dev) return *this;
  Tensor t = empty(shape(), dev);
  t.copy_from(*this);
  return t;
}

void Tensor::copy_from(const Tensor& src) {
  IM_CHECK(src.numel() == numel(), "copy_from: " << src.shape().str() << " into " << shape().str());
  size_t bytes = static_cast<size_t>(numel()) * sizeof(float);
  if (bytes == 0) return;
  Device d = device(), s = src.device();
  if (d == Device::CPU && s == Device::CPU)
    std::memcpy(data(), src.data(), bytes);
  else if (d == Device::CUDA && s == Device::CPU)
    cuda::copy_h2d(data(), src.data(), bytes);
  else if (d == Device::CPU && s == Device::CUDA)
    cuda::copy_d2h(data(), src.data(), bytes);
  else
    cuda::copy_d2d(data(), src.data(), bytes);
}

std::vector<float> Tensor::to_vector() const {
  std::vector<float> v(static_cast<size_t>(numel()));
  if (v.empty()) return v;
  if (device() == Device::CUDA)
    cuda::copy_d2h(v.data(), data(), v.size() * sizeof(float));
  else
    std::memcpy(v.data(), data(), v.size() * sizeof(float));
  return v;
}

float Tensor::item() const {
  IM_CHECK(numel() == 1, "item() of a tensor with " << numel() << " elements");
  return to_vector()[0];
}

void Tensor::fill_(float value) {
  if (numel() == 0) return;
  if (value == 0.f) {
    if (device() == Device::CUDA)
      cuda::memset_zero(data(), static_cast<size_t>(numel()) * sizeof(float));
    else
      std::memset(data(), 0, static_cast<size_t>(numel()) * sizeof(float));
    return;
  }
  IM_DISPATCH(device(), fill_cpu, fill_cuda, data(), numel(), value);
}

Tensor Tensor::view(const Shape& s) const {
  IM_CHECK(s.numel() == numel(), "view: shape " << s.str() << " does not hold " << numel() << " elements");
  IM_CHECK(is_contiguous(), "view of a non-contiguous tensor");
  return view_of(impl_->storage, impl_->offset, s);
}

Tensor& Tensor::set_requires_grad(bool on) {
  IM_CHECK(impl_->is_leaf || on, "set_requires_grad(false) on a non-leaf tensor: use detach()");
  impl_->requires_grad = on;
  return *this;
}

Tensor Tensor::grad() const {
  if (!impl_->grad) return Tensor();
  return Tensor(impl_->grad);
}

float* Tensor::grad_accumulator() const {
  if (!impl_->grad) impl_->grad = zeros(shape(), device()).impl_ptr();
  return impl_->grad->storage->ptr + impl_->grad->offset;
}

void Tensor::bind_grad(const Tensor& g) {
  IM_CHECK(g.shape() == shape() && g.device() == device(), "bind_grad: gradient " << g.str() << " for " << str());
  impl_->grad = g.impl_ptr();
}

Tensor Tensor::detach() const {
  Tensor t = view_of(impl_->storage, impl_->offset, impl_->shape);
  t.impl_->name = impl_->name;
  return t;
}

std::string Tensor::str() const {
  if (!impl_) return "Tensor(undefined)";
  return "Tensor(" + (impl_->name.empty() ? std::string() : impl_->name + " ") + impl_->shape.str() + ", " +
         device_name(device()) + (requires_grad() ? ", requires_grad" : "") + ")";
}

}  // namespace im
