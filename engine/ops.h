// The differentiable ops of the engine. Each is recorded on the autograd tape when an input
// requires a gradient, and runs on the device of its inputs (all inputs on one device).
//
// Where an op's pieces live (docs/architecture.md). An op family x has its CPU reference and CUDA
// kernel in kernels/x.{h,cpp,cu} (written kernels/x.* below), its autograd wrapper in
// engine/ops_x.cpp, its PyTorch agreement and finite-difference gradient checks in
// tests/ops/test_x.cpp, its CPU-vs-CUDA parity in tests/parity/parity_x.cpp, its PyTorch fixtures
// made by a script of tests/reference/, and its timings in a training step
// (benchmarks/imunity_bench_train.cpp) and, where named, alone. Every path in the rows below exists
// and every engine/ops_*.cpp has a row (tests/architecture/op_map.cmake, run by ctest).
//   binary      kernels/binary.* kernels/elementwise.* engine/ops_binary.cpp tests/ops/test_binary.cpp
//               tests/parity/parity_binary.cpp tests/reference/torch_binary.py
//   activation  kernels/activation.* engine/ops_activation.cpp tests/ops/test_activation.cpp
//               tests/parity/parity_activation.cpp tests/reference/torch_activation.py
//   conv        kernels/conv2d.* kernels/conv_transpose2d.* engine/ops_conv.cpp tests/ops/test_conv.cpp
//               tests/parity/parity_conv.cpp tests/reference/torch_conv.py benchmarks/imunity_bench_ops.cpp,
//               the CPU convolution engine kernels/conv_gemm.cpp kernels/im2col.cpp kernels/gemm_cpu.cpp,
//               the GPU one kernels/cudnn_conv.cu
//   upsample    kernels/upsample.* engine/ops_upsample.cpp tests/ops/test_upsample.cpp
//               tests/parity/parity_upsample.cpp tests/reference/torch_upsample.py
//               benchmarks/imunity_bench_kernels.cu
//   linear      kernels/linear.* engine/ops_linear.cpp tests/ops/test_linear.cpp tests/parity/parity_linear.cpp
//               tests/reference/torch_linear.py
//   batchnorm   kernels/batchnorm.* engine/ops_batchnorm.cpp tests/ops/test_batchnorm.cpp
//               tests/parity/parity_batchnorm.cpp tests/reference/torch_batchnorm.py
//   shape       kernels/concat.* engine/ops_shape.cpp tests/ops/test_shape.cpp tests/parity/parity_shape.cpp
//               tests/reference/torch_binary.py
//   reduce      kernels/reduce.* engine/ops_reduce.cpp tests/ops/test_reduce.cpp tests/parity/parity_reduce.cpp
//               tests/reference/torch_binary.py
//   where       kernels/where.* engine/ops_where.cpp tests/ops/test_where.cpp tests/parity/parity_where.cpp
//               tests/reference/torch_binary.py
//   compare     kernels/compare.* engine/ops_compare.cpp tests/ops/test_compare.cpp
//               tests/parity/parity_compare.cpp (no fixture, no gradient: a mask checked by its definition)
//   rank        kernels/rank.* engine/ops_rank.cpp tests/ops/test_rank.cpp tests/parity/parity_rank.cpp
//               tests/reference/torch_rank.py benchmarks/imunity_bench_ops.cpp (no gradient: input data only)
//   gamma       kernels/gamma.* engine/ops_gamma.cpp tests/ops/test_gamma.cpp tests/parity/parity_gamma.cpp
//               tests/reference/torch_gamma.py benchmarks/imunity_bench_kernels.cu
//   reparam     kernels/reparam.* engine/ops_reparam.cpp tests/ops/test_reparam.cpp
//               tests/parity/parity_reparam.cpp benchmarks/imunity_bench_kernels.cu (no fixture: the noise is
//               kernels/philox.h's, checked against it)
//   losses      (declared in engine/losses.h) kernels/kl.* kernels/site_loss.* kernels/bce.* kernels/masked_l1.*
//               kernels/ssim.* engine/ops_losses.cpp tests/ops/test_losses.cpp tests/ops/test_losses_gradcheck.cpp
//               tests/parity/parity_losses.cpp tests/reference/torch_losses.py benchmarks/imunity_bench_kernels.cu
#pragma once
#include <vector>

#include "engine/rng.h"
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

// ---- within-sample ranks (data, never differentiated) -- ops_rank.cpp, kernels/rank.*
// Each sample's values >= threshold replaced by their mid-rank among them mapped onto [lo, 1] (ties
// share one value), the rest 0: what any strictly increasing change of the intensities leaves as it
// was. The anatomy encoder's contrast-free input (model.anatomy_input "rank").
Tensor rank_normalize(const Tensor& x, float threshold, float lo);

// ---- per-sample gamma transform (training's contrast augmentation) -- ops_gamma.cpp, kernels/gamma.*
// y = x ^ gamma[n] per sample, x in [0, 1] of shape [N, ...], gamma [N]. Zero stays zero (the
// gradient at x = 0 is taken as 0). Differentiable in x only.
Tensor gamma_transform(const Tensor& x, const Tensor& gamma);

// ---- reparameterization trick (sampling a code) -- ops_reparam.cpp, kernels/reparam.*
// z = mu + eps * exp(0.5 * logvar), eps ~ N(0, 1) drawn from gen (the same numbers on CPU and GPU).
// When eps_out is given it receives the noise used.
Tensor reparameterize(const Tensor& mu, const Tensor& logvar, Generator& gen, Tensor* eps_out = nullptr);

}  // namespace im
