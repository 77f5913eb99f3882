// CPU vs CUDA: conv2d and conv_transpose2d (cuDNN) at small odd shapes and at the model's shapes,
// the accumulating backward kernels, the plan cache, and TF32.
#include <catch2/catch.hpp>

#include <string>

#include "engine/autograd.h"
#include "engine/ops.h"
#include "kernels/conv2d.h"
#include "kernels/conv_transpose2d.h"
#include "kernels/cuda_api.h"
#include "kernels/cudnn_conv.h"
#include "support/gradcheck.h"

using namespace im;

namespace {
struct Case {
  bool transposed;
  Shape x;
  int64_t c_out, k;
  int stride;
  bool bias;
};

std::string name(const Case& c) {
  return std::string(c.transposed ? "conv_transpose2d " : "conv2d ") + c.x.str() + " -> " + std::to_string(c.c_out) +
         " k" + std::to_string(c.k) + " s" + std::to_string(c.stride) + (c.bias ? "" : " no bias");
}

void check_case(const Case& c, double tol, uint64_t seed) {
  const int64_t cin = c.x[1];
  Tensor x = test::random_tensor(c.x, seed).set_requires_grad(true);
  Shape ws = c.transposed ? Shape{cin, c.c_out, c.k, c.k} : Shape{c.c_out, cin, c.k, c.k};
  Tensor w = test::random_tensor(ws, seed + 1, -0.2f, 0.2f).set_requires_grad(true);
  Tensor b = c.bias ? test::random_tensor({c.c_out}, seed + 2).set_requires_grad(true) : Tensor();
  const bool t = c.transposed;
  const int s = c.stride;
  test::check_parity(
      [t, s](const std::vector<Tensor>& in) {
        return t ? conv_transpose2d(in[0], in[1], in[2], s) : conv2d(in[0], in[1], in[2], s);
      },
      {x, w, b}, tol, name(c));
}
}  // namespace

TEST_CASE("parity: conv2d and conv_transpose2d, small odd shapes") {
  uint64_t seed = 20;
  for (bool t : {false, true})
    for (int64_t k : {1, 3, 5})
      for (int s : {1, 2})
        for (bool bias : {true, false}) check_case(Case{t, {2, 3, 5, 6}, 4, k, s, bias}, 1e-4, seed += 3);
}

TEST_CASE("parity: conv2d and conv_transpose2d at the model's shapes") {
  const Case cases[] = {
      {false, {4, 1, 64, 64}, 16, 3, 2, true},    // encoder, first conv
      {false, {4, 16, 32, 32}, 32, 3, 2, true},   // encoder
      {false, {4, 128, 8, 8}, 128, 3, 1, true},   // encoder, last conv
      {false, {4, 128, 8, 8}, 128, 1, 1, true},   // contrast encoder, per-pixel dense
      {true, {4, 128, 8, 8}, 128, 3, 1, true},    // decoder, first transposed conv
      {true, {4, 128, 8, 8}, 64, 3, 2, true},     // decoder
      {true, {4, 16, 32, 32}, 8, 3, 2, true},     // decoder
      {true, {4, 8, 64, 64}, 1, 3, 1, true},      // decoder, last transposed conv
      {false, {4, 64, 32, 32}, 64, 3, 2, true},   // discriminator
      {false, {4, 64, 16, 16}, 1, 3, 1, true},    // discriminator, patch logits
      {false, {3, 32, 24, 28}, 64, 3, 2, true},   // a 192 x 224 slice at 1/8 scale
  };
  uint64_t seed = 200;
  for (const Case& c : cases) check_case(c, 1e-4, seed += 3);
}

#if defined(IMUNITY_WITH_CUDA)  // calls the _cuda kernels and the plan cache directly
TEST_CASE("parity: backward kernels accumulate into existing gradients (cuDNN beta = 1)") {
  for (bool t : {false, true}) {
    ConvShape s;
    s.n = 2, s.c_in = 6, s.h = 9, s.w = 10, s.c_out = 5, s.k = 3, s.stride = 2;
    const Shape xs{s.n, s.c_in, s.h, s.w};
    const Shape ys = t ? Shape{s.n, s.c_out, s.h * 2, s.w * 2} : Shape{s.n, s.c_out, 5, 5};
    const Shape ws = t ? Shape{s.c_in, s.c_out, 3, 3} : Shape{s.c_out, s.c_in, 3, 3};
    Tensor x = test::random_tensor(xs, 1), w = test::random_tensor(ws, 2), dy = test::random_tensor(ys, 3);
    // Starting gradients (random) on both devices; the kernels must add to them.
    Tensor dx0 = test::random_tensor(xs, 4), dw0 = test::random_tensor(ws, 5), db0 = test::random_tensor({s.c_out}, 6);
    Tensor dxc = Tensor::empty_like(dx0), dwc = Tensor::empty_like(dw0), dbc = Tensor::empty_like(db0);
    dxc.copy_from(dx0), dwc.copy_from(dw0), dbc.copy_from(db0);
    Tensor xg = x.to(Device::CUDA), wg = w.to(Device::CUDA), dyg = dy.to(Device::CUDA);
    Tensor dxg = dx0.to(Device::CUDA), dwg = dw0.to(Device::CUDA), dbg = db0.to(Device::CUDA);
    const int64_t hw = ys[2] * ys[3];
    if (t) {
      conv_transpose2d_backward_data_cpu(dxc.data(), dy.data(), w.data(), s);
      conv_transpose2d_backward_weight_cpu(dwc.data(), x.data(), dy.data(), s);
      conv_transpose2d_backward_data_cuda(dxg.data(), dyg.data(), wg.data(), s);
      conv_transpose2d_backward_weight_cuda(dwg.data(), xg.data(), dyg.data(), s);
    } else {
      conv2d_backward_data_cpu(dxc.data(), dy.data(), w.data(), s);
      conv2d_backward_weight_cpu(dwc.data(), x.data(), dy.data(), s);
      conv2d_backward_data_cuda(dxg.data(), dyg.data(), wg.data(), s);
      conv2d_backward_weight_cuda(dwg.data(), xg.data(), dyg.data(), s);
    }
    conv_bias_backward_cpu(dbc.data(), dy.data(), s.n, s.c_out, hw);
    conv_bias_backward_cuda(dbg.data(), dyg.data(), s.n, s.c_out, hw);
    INFO((t ? "conv_transpose2d" : "conv2d"));
    test::check_close(dxg.to_vector(), dxc.to_vector(), 1e-4, "input gradient");
    test::check_close(dwg.to_vector(), dwc.to_vector(), 1e-4, "weight gradient");
    test::check_close(dbg.to_vector(), dbc.to_vector(), 1e-4, "bias gradient");
    // The starting values weigh enough that a kernel overwriting instead of adding would fail above.
    CHECK(test::rel_error(dxc.to_vector(), dx0.to_vector()) > 1e-3);
  }
}

#endif

TEST_CASE("parity: a weight used twice accumulates both gradients") {
  Tensor x = test::random_tensor({2, 4, 12, 10}, 7).set_requires_grad(true);
  Tensor w = test::random_tensor({4, 4, 3, 3}, 8, -0.3f, 0.3f).set_requires_grad(true);
  Tensor b = test::random_tensor({4}, 9).set_requires_grad(true);
  test::check_parity(
      [](const std::vector<Tensor>& in) {
        Tensor h = relu(conv2d(in[0], in[1], in[2], 2));
        return conv_transpose2d(h, in[1], in[2], 2);  // [C_in = 4, C_out = 4, 3, 3]: the same weights
      },
      {x, w, b}, 1e-4, "conv2d then conv_transpose2d sharing w and b");
}

#if defined(IMUNITY_WITH_CUDA)
TEST_CASE("parity: cuDNN plans are found once per shape and direction, TF32 included") {
  Tensor x = test::random_tensor({2, 8, 16, 16}, 1).to(Device::CUDA).set_requires_grad(true);
  Tensor w = test::random_tensor({8, 8, 3, 3}, 2, -0.2f, 0.2f).to(Device::CUDA).set_requires_grad(true);
  auto run = [&] {
    Tensor y = conv2d(x, w, Tensor(), 2);
    autograd::backward(y, Tensor::full(y.shape(), 1.f, Device::CUDA));
    return y;
  };
  run();
  const int64_t plans = cudnn_conv_plan_count();
  run();
  CHECK(cudnn_conv_plan_count() == plans);
  cuda::set_tf32(true);
  Tensor yt = run();
  CHECK(cudnn_conv_plan_count() == plans + 3);  // forward, backward data, backward filter with TF32
  cuda::set_tf32(false);
  Tensor y = run();
  CHECK(cudnn_conv_plan_count() == plans + 3);
  test::check_close(yt.to_vector(), y.to_vector(), 1e-2, "TF32 forward");
}

TEST_CASE("parity: batch sizes of one bucket reuse one algorithm search, and deterministic mode repeats bytes") {
  Tensor w = test::random_tensor({8, 8, 3, 3}, 2, -0.2f, 0.2f).to(Device::CUDA).set_requires_grad(true);
  auto run = [&](int64_t n) {
    Tensor x = test::random_tensor({n, 8, 12, 20}, 3).to(Device::CUDA).set_requires_grad(true);
    Tensor y = conv2d(x, w, Tensor(), 1);
    autograd::backward(y, Tensor::full(y.shape(), 1.f, Device::CUDA));
    return y.to_vector();
  };
  run(5);  // bucket 8: 5..8
  const int64_t plans = cudnn_conv_plan_count(), searches = cudnn_conv_search_count();
  for (int64_t n : {6, 7, 8}) run(n);
  CHECK(cudnn_conv_plan_count() == plans + 9);        // descriptors per exact shape and direction
  CHECK(cudnn_conv_search_count() == searches);       // no new search: cuDNN supports the bucket's choice
  run(9);                                             // bucket 16
  CHECK(cudnn_conv_search_count() == searches + 3);

  // Deterministic mode: heuristics per exact shape (no timing), the same bytes on every run, and
  // the result agrees with the CPU.
  cuda::set_deterministic(true);
  const int64_t before = cudnn_conv_search_count();
  const std::vector<float> a = run(6), b = run(6);
  CHECK(cudnn_conv_search_count() == before + 3);
  CHECK(a == b);
  cuda::set_deterministic(false);
  Tensor xc = test::random_tensor({6, 8, 12, 20}, 3);
  test::check_close(a, conv2d(xc, w.detach().to(Device::CPU), Tensor(), 1).to_vector(), 1e-4, "deterministic conv2d");
  w.drop_grad();
}
#endif
