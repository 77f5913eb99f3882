// Pointwise activations, forward and backward. The backward takes the forward output y where that
// is enough (ReLU, sigmoid) and accumulates: dx += dy * f'(.).
#pragma once
#include <cstdint>

namespace im {

// LeakyReLU with slope alpha below zero; alpha = 0 is ReLU.
void leaky_relu_forward_cpu(float* y, const float* x, int64_t n, float alpha);
void leaky_relu_forward_cuda(float* y, const float* x, int64_t n, float alpha);
// Uses the output y: for alpha >= 0, y > 0 exactly when x > 0.
void leaky_relu_backward_cpu(float* dx, const float* dy, const float* y, int64_t n, float alpha);
void leaky_relu_backward_cuda(float* dx, const float* dy, const float* y, int64_t n, float alpha);

void sigmoid_forward_cpu(float* y, const float* x, int64_t n);
void sigmoid_forward_cuda(float* y, const float* x, int64_t n);
void sigmoid_backward_cpu(float* dx, const float* dy, const float* y, int64_t n);
void sigmoid_backward_cuda(float* dx, const float* dy, const float* y, int64_t n);

}  // namespace im
