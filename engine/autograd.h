// Reverse-mode autograd: a thread-local tape of recorded ops, each with a backward closure.
// backward(root) walks the tape in reverse and runs every node whose outputs received a gradient;
// gradients accumulate (+=) into the inputs' gradient buffers.
#pragma once
#include <functional>
#include <initializer_list>
#include <vector>

#include "engine/tensor.h"

namespace im {

bool grad_enabled();

// Inference scope: ops inside record nothing and their outputs never require gradients.
class NoGrad {
 public:
  NoGrad();
  ~NoGrad();
  NoGrad(const NoGrad&) = delete;
  NoGrad& operator=(const NoGrad&) = delete;

 private:
  bool prev_;
};

namespace autograd {

// True when an op on these inputs must be recorded (grad mode on and some input requires grad).
bool needs_grad(std::initializer_list<const Tensor*> inputs);
bool needs_grad(const std::vector<Tensor>& inputs);

// Records a node: marks the outputs as non-leaf tensors requiring gradients and stores the closure,
// which reads its outputs' grad() and accumulates into its inputs' grad_accumulator().
void record(const char* name, std::vector<Tensor> outputs, std::function<void()> backward);

// Seeds root's gradient (ones, or `grad`) and runs the tape backwards. With retain_tape the tape is
// kept, so that a second loss over other parts of the same graph can be differentiated later.
void backward(const Tensor& root, bool retain_tape = false);
void backward(const Tensor& root, const Tensor& grad, bool retain_tape = false);

void clear_tape();
size_t tape_size();

}  // namespace autograd
}  // namespace im
