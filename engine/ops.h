// The differentiable ops of the engine. Each is recorded on the autograd tape when an input
// requires a gradient, and runs on the device of its inputs (all inputs on one device).
// Where to find an op `x`: kernels/x.{h,cpp,cu} (CPU reference and CUDA kernel), engine/ops_*.cpp
// (autograd wrapper), tests/ops/test_x.cpp (gradient check, PyTorch fixtures), tests/parity/ (CPU
// vs CUDA), benchmarks/ (timings).
#pragma once
#include <vector>

#include "engine/tensor.h"

namespace im {

// ---- elementwise, with NumPy broadcasting (shapes aligned on the right) -- ops_binary.cpp
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor add_scalar(const Tensor& a, float s);
Tensor mul_scalar(const Tensor& a, float s);

// ---- activations -- ops_activation.cpp, kernels/activation.*
Tensor relu(const Tensor& x);
Tensor leaky_relu(const Tensor& x, float alpha);
Tensor sigmoid(const Tensor& x);

// ---- convolutions (NCHW; weights [Cout, Cin, k, k] for conv, [Cin, Cout, k, k] for the
// transposed conv as in PyTorch; k odd; padding k/2 on every side, so the output is exactly
// ceil(H / stride) for conv2d and H * stride for conv_transpose2d (PyTorch padding=k/2,
// output_padding=stride-1)). bias may be undefined. -- ops_conv.cpp, kernels/conv2d.*, conv_transpose2d.*
Tensor conv2d(const Tensor& x, const Tensor& w, const Tensor& bias, int stride);
Tensor conv_transpose2d(const Tensor& x, const Tensor& w, const Tensor& bias, int stride);

// ---- nearest-neighbour 2x upsampling of [N, C, H, W] to [N, C, 2H, 2W] (PyTorch interpolate,
// scale_factor 2, mode "nearest") -- ops_upsample.cpp, kernels/upsample.*
Tensor upsample2x(const Tensor& x);

// ---- dense: x [N, in], w [out, in], bias [out] (may be undefined) -- ops_linear.cpp, kernels/linear.*
Tensor linear(const Tensor& x, const Tensor& w, const Tensor& bias);

// ---- batch norm over N, H, W per channel of x [N, C, H, W] (or [N, C]). In training the batch
// statistics normalize (biased variance) and the running statistics are updated in place:
// running = (1 - momentum) * running + momentum * batch (unbiased variance), as in PyTorch.
// -- ops_batchnorm.cpp, kernels/batchnorm.*
Tensor batch_norm(const Tensor& x, const Tensor& gamma, const Tensor& beta, Tensor& running_mean,
                  Tensor& running_var, bool training, float momentum, float eps);

// ---- shape -- ops_shape.cpp, kernels/concat.*
Tensor reshape(const Tensor& x, const Shape& shape);
Tensor flatten(const Tensor& x);  // [N, ...] -> [N, rest]
Tensor concat(const std::vector<Tensor>& xs, int dim);
std::vector<Tensor> split(const Tensor& x, const std::vector<int64_t>& sizes, int dim);

// ---- reductions -- ops_reduce.cpp, kernels/reduce.*
Tensor sum(const Tensor& x);   // all elements -> shape [1]
Tensor mean(const Tensor& x);  // all elements -> shape [1]
// Over the dimensions [begin, end); kept as size-1 dimensions when keepdim.
Tensor sum(const Tensor& x, int begin, int end, bool keepdim);
Tensor mean(const Tensor& x, int begin, int end, bool keepdim);

// ---- masking: mask holds 0/1 floats with x's shape -- ops_where.cpp, kernels/where.*
Tensor where(const Tensor& mask, const Tensor& a, const Tensor& b);
// The elements of x where mask is 1, in order, as a 1-D tensor (its size needs a device sync).
Tensor masked_select(const Tensor& x, const Tensor& mask);

// ---- comparisons (data masks, never differentiated) -- ops_compare.cpp, kernels/compare.*
// 1 where x >= threshold, else 0.
Tensor greater_equal(const Tensor& x, float threshold);

}  // namespace im
