// The tape, grad mode and the backward walk.
#include "engine/autograd.h"

#include <string>

#include "engine/dispatch.h"
#include "kernels/check.h"
#include "kernels/elementwise.h"

namespace im {

namespace {
thread_local bool t_grad_enabled = true;

struct Node {
  const char* name;
  std::vector<Tensor> outputs;
  std::function<void()> backward;
};
thread_local std::vector<Node> t_tape;
}  // namespace

bool grad_enabled() { return t_grad_enabled; }
NoGrad::NoGrad() : prev_(t_grad_enabled) { t_grad_enabled = false; }
NoGrad::~NoGrad() { t_grad_enabled = prev_; }

namespace autograd {

bool needs_grad(std::initializer_list<const Tensor*> inputs) {
  if (!t_grad_enabled) return false;
  for (const Tensor* t : inputs)
    if (t && t->defined() && t->requires_grad()) return true;
  return false;
}

bool needs_grad(const std::vector<Tensor>& inputs) {
  if (!t_grad_enabled) return false;
  for (const Tensor& t : inputs)
    if (t.defined() && t.requires_grad()) return true;
  return false;
}

void record(const char* name, std::vector<Tensor> outputs, std::function<void()> backward) {
  for (Tensor& o : outputs) {
    o.impl()->requires_grad = true;
    o.impl()->is_leaf = false;
  }
  t_tape.push_back(Node{name, std::move(outputs), std::move(backward)});
}

void backward(const Tensor& root, const Tensor& grad, bool retain_tape) {
  IM_CHECK(root.requires_grad(), "backward: the root tensor does not require a gradient (was it computed under NoGrad, or from detached inputs?)");
  IM_CHECK(grad.shape() == root.shape() && grad.device() == root.device(),
           "backward: seed gradient " << grad.str() << " does not match root " << root.str());
  float* g = root.grad_accumulator();
  IM_DISPATCH(root.device(), add_inplace_cpu, add_inplace_cuda, g, grad.data(), root.numel(), 1.f);
  for (size_t i = t_tape.size(); i-- > 0;) {
    Node& n = t_tape[i];
    bool reached = false;
    for (const Tensor& o : n.outputs) reached = reached || o.has_grad();
    if (!reached) continue;
    try {
      n.backward();
    } catch (const Error& e) {
      throw Error(std::string("in the backward of ") + n.name + ": " + e.what());
    }
    // All consumers of these outputs come later on the tape, so their gradients are complete and
    // no longer needed (unless kept on purpose).
    for (const Tensor& o : n.outputs)
      if (!o.is_leaf() && !o.impl()->retain_grad) o.drop_grad();
  }
  if (!retain_tape) clear_tape();
}

void backward(const Tensor& root, bool retain_tape) {
  IM_CHECK(root.numel() == 1, "backward without a seed gradient needs a scalar root, got " << root.shape().str());
  backward(root, Tensor::full(root.shape(), 1.f, root.device()), retain_tape);
}

void clear_tape() { t_tape.clear(); }
size_t tape_size() { return t_tape.size(); }

}  // namespace autograd
}  // namespace im
