// Contiguous parameter storage and its views.
#include "engine/param_group.h"

#include "kernels/check.h"

namespace im {

namespace {
// Each parameter starts on a 64-byte boundary so that vectorized kernels can read it aligned.
int64_t align16(int64_t n) { return (n + 15) / 16 * 16; }
}  // namespace

Tensor ParamGroup::add(const std::string& name, const Shape& shape) {
  IM_CHECK(!finalized(), "ParamGroup " << name_ << ": add(" << name << ") after finalize");
  IM_CHECK(find(name) == nullptr, "ParamGroup " << name_ << ": duplicate parameter " << name);
  auto impl = std::make_shared<TensorImpl>();
  impl->shape = shape;
  impl->name = name;
  impl->requires_grad = true;
  Entry e{name, shape, total_, Tensor(impl)};
  total_ += align16(shape.numel());
  entries_.push_back(e);
  return e.param;
}

const ParamGroup::Entry* ParamGroup::find(const std::string& name) const {
  for (const Entry& e : entries_)
    if (e.name == name) return &e;
  return nullptr;
}

void ParamGroup::finalize(Device dev, bool optimizer_state) {
  IM_CHECK(!finalized(), "ParamGroup " << name_ << " finalized twice");
  Shape s{total_};
  params_ = Tensor::zeros(s, dev);
  if (optimizer_state) {
    grads_ = Tensor::zeros(s, dev);
    m_ = Tensor::zeros(s, dev);
    v_ = Tensor::zeros(s, dev);
  }
  bind();
}

void ParamGroup::zero_grad() {
  IM_CHECK(grads_.defined(), "ParamGroup " << name_ << " has no optimizer state (built for inference): it cannot be trained");
  grads_.zero_();
}

void ParamGroup::bind() {
  for (Entry& e : entries_) {
    TensorImpl* p = e.param.impl();
    p->storage = params_.impl()->storage;
    p->offset = e.offset;
    Tensor view = Tensor::view_of(params_.impl()->storage, e.offset, e.shape);
    for (int i = 0; i < Shape::kMaxDims; ++i) p->strides[i] = view.strides()[i];
    if (grads_.defined()) e.param.bind_grad(Tensor::view_of(grads_.impl()->storage, e.offset, e.shape));
  }
}

void ParamGroup::to(Device dev) {
  IM_CHECK(finalized(), "ParamGroup " << name_ << ": to() before finalize");
  if (params_.device() == dev) return;
  params_ = params_.to(dev);
  if (grads_.defined()) {
    grads_ = grads_.to(dev);
    m_ = m_.to(dev);
    v_ = v_.to(dev);
  }
  bind();
}

void ParamGroup::set_requires_grad(bool on) {
  for (Entry& e : entries_) e.param.impl()->requires_grad = on;
}

}  // namespace im
