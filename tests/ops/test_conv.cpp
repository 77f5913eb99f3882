// conv2d and conv_transpose2d: PyTorch fixtures, finite-difference gradients of every input,
// thread-count independence, and a tiny conv net that learns.
#include <catch2/catch.hpp>

#include <cmath>
#include <string>

#include "engine/autograd.h"
#include "engine/device.h"
#include "engine/ops.h"
#include "engine/optim.h"
#include "engine/param_group.h"
#include "engine/rng.h"
#include "support/fixtures.h"
#include "support/gradcheck.h"

using namespace im;

namespace {
Tensor leaf(const Tensor& t) { return t.detach().set_requires_grad(true); }

Tensor run_conv(bool transposed, const Tensor& x, const Tensor& w, const Tensor& b, int stride) {
  return transposed ? conv_transpose2d(x, w, b, stride) : conv2d(x, w, b, stride);
}
}  // namespace

TEST_CASE("conv: outputs and gradients match PyTorch") {
  nlohmann::json fx = test::load_fixture("conv");
  int cases = 0;
  for (auto it = fx.begin(); it != fx.end(); ++it) {
    if (it.key()[0] == '_') continue;
    const nlohmann::json& c = it.value();
    const bool transposed = it.key().rfind("convT", 0) == 0;
    const bool has_bias = c.contains("b");
    Tensor x = leaf(test::fixture_tensor(c["x"]));
    Tensor w = leaf(test::fixture_tensor(c["w"]));
    Tensor b = has_bias ? leaf(test::fixture_tensor(c["b"])) : Tensor();
    Tensor y = run_conv(transposed, x, w, b, c["stride"].get<int>());
    INFO(it.key());
    REQUIRE(y.shape() == test::fixture_tensor(c["y"]).shape());
    CHECK(test::rel_error(y.to_vector(), test::fixture_values(c["y"])) < 1e-5);
    autograd::backward(y, test::fixture_tensor(c["dy"]));
    CHECK(test::rel_error(x.grad().to_vector(), test::fixture_values(c["dx"])) < 1e-5);
    CHECK(test::rel_error(w.grad().to_vector(), test::fixture_values(c["dw"])) < 1e-5);
    if (has_bias) CHECK(test::rel_error(b.grad().to_vector(), test::fixture_values(c["db"])) < 1e-5);
    ++cases;
  }
  CHECK(cases == 12);
}

TEST_CASE("conv: output sizes are ceil(H/stride) and H*stride") {
  Tensor x = test::random_tensor({1, 2, 7, 6}, 1);
  CHECK(conv2d(x, test::random_tensor({3, 2, 3, 3}, 2), Tensor(), 2).shape() == Shape{1, 3, 4, 3});
  CHECK(conv2d(x, test::random_tensor({3, 2, 5, 5}, 2), Tensor(), 1).shape() == Shape{1, 3, 7, 6});
  CHECK(conv_transpose2d(x, test::random_tensor({2, 3, 3, 3}, 2), Tensor(), 2).shape() == Shape{1, 3, 14, 12});
  CHECK(conv_transpose2d(x, test::random_tensor({2, 3, 1, 1}, 2), Tensor(), 1).shape() == Shape{1, 3, 7, 6});
  CHECK_THROWS(conv2d(x, test::random_tensor({3, 4, 3, 3}, 2), Tensor(), 1));    // channel mismatch
  CHECK_THROWS(conv2d(x, test::random_tensor({3, 2, 2, 2}, 2), Tensor(), 1));    // even kernel
  CHECK_THROWS(conv2d(x, test::random_tensor({3, 2, 3, 3}, 2), test::random_tensor({2}, 3), 1));  // bias size
  CHECK_THROWS(conv_transpose2d(x, test::random_tensor({3, 2, 3, 3}, 2), Tensor(), 2));  // [C_in, C_out, k, k]
}

TEST_CASE("conv: finite-difference gradients of x, w and bias") {
  uint64_t seed = 100;
  for (bool transposed : {false, true}) {
    for (int k : {1, 3, 5}) {
      for (int stride : {1, 2}) {
        for (auto hw : {std::pair<int, int>{5, 6}, std::pair<int, int>{8, 8}}) {
          for (bool has_bias : {true, false}) {
            if (k == 5 && (hw.first == 8 || !has_bias)) continue;  // one k = 5 case per variant is enough
            // 3 -> 6 and 6 -> 3 channels: the stride-1 data gradient takes another path from 6 up.
            const int64_t cin = has_bias == (hw.first == 8) ? 6 : 3, cout = 9 - cin;
            Tensor x = test::random_tensor({2, cin, hw.first, hw.second}, seed++).set_requires_grad(true);
            Shape ws = transposed ? Shape{cin, cout, k, k} : Shape{cout, cin, k, k};
            Tensor w = test::random_tensor(ws, seed++).set_requires_grad(true);
            Tensor b = has_bias ? test::random_tensor({cout}, seed++).set_requires_grad(true) : Tensor();
            std::string what = std::string(transposed ? "conv_transpose2d" : "conv2d") + " k" + std::to_string(k) +
                               " s" + std::to_string(stride) + " " + std::to_string(hw.first) + "x" +
                               std::to_string(hw.second) + " " + std::to_string(cin) + "->" + std::to_string(cout) +
                               (has_bias ? " bias" : " no bias");
            test::check_gradients(
                [&](const std::vector<Tensor>& in) { return run_conv(transposed, in[0], in[1], in[2], stride); },
                {x, w, b}, {}, what);
          }
        }
      }
    }
  }
}

TEST_CASE("conv: results do not depend on the number of threads") {
  const int saved = num_threads();
  struct Case {
    bool transposed;
    Shape x, w;
    int stride;
  };
  // Shapes that take every path: bands within an image, several images per chunk, 1x1 pointwise.
  for (const Case& c : {Case{false, {5, 8, 40, 36}, {16, 8, 3, 3}, 2}, Case{false, {5, 16, 9, 7}, {8, 16, 3, 3}, 1},
                        Case{true, {5, 16, 20, 18}, {16, 8, 3, 3}, 2}, Case{true, {4, 24, 30, 26}, {24, 12, 1, 1}, 1},
                        Case{false, {1, 4, 70, 66}, {6, 4, 3, 3}, 1}}) {
    std::vector<std::vector<float>> first;
    for (int threads : {1, 2, 3}) {
      set_num_threads(threads);
      Tensor x = test::random_tensor(c.x, 1).set_requires_grad(true);
      Tensor w = test::random_tensor(c.w, 2).set_requires_grad(true);
      Tensor b = test::random_tensor({c.transposed ? c.w[1] : c.w[0]}, 3).set_requires_grad(true);
      Tensor y = run_conv(c.transposed, x, w, b, c.stride);
      autograd::backward(y, test::random_tensor(y.shape(), 4));
      std::vector<std::vector<float>> got = {y.to_vector(), x.grad().to_vector(), w.grad().to_vector(),
                                             b.grad().to_vector()};
      if (first.empty())
        first = got;
      else
        for (size_t i = 0; i < got.size(); ++i) {
          INFO("x " << c.x.str() << " threads " << threads << " tensor " << i);
          CHECK(got[i] == first[i]);
        }
    }
  }
  set_num_threads(saved);
}

// Issue 2: a tiny conv net learns a toy task (loss falls 10x). The net must squeeze images through
// a stride-2 ReLU bottleneck and rebuild them with a transposed conv; Adam on one ParamGroup.
TEST_CASE("conv: a tiny conv net learns to reconstruct images through a stride-2 bottleneck") {
  ParamGroup params("tiny_conv_net");
  Tensor w1 = params.add("enc.w", {8, 1, 3, 3}), b1 = params.add("enc.b", {8});
  Tensor w2 = params.add("dec.w", {8, 1, 3, 3}), b2 = params.add("dec.b", {1});
  params.finalize(Device::CPU);
  Generator gen(5);
  w1.copy_from(rand_normal(w1.shape(), gen, Device::CPU, 0.f, 0.3f));
  w2.copy_from(rand_normal(w2.shape(), gen, Device::CPU, 0.f, 0.3f));

  // Smooth positive images: a random bump per image on a faint background.
  const int64_t n = 8, side = 16;
  std::vector<float> img(n * side * side);
  for (int64_t i = 0; i < n; ++i) {
    const float cy = 3.f + (i * 5) % 10, cx = 3.f + (i * 7) % 10, r = 2.f + i % 3;
    for (int64_t y = 0; y < side; ++y)
      for (int64_t x = 0; x < side; ++x)
        img[(i * side + y) * side + x] = 0.1f + std::exp(-((y - cy) * (y - cy) + (x - cx) * (x - cx)) / (2 * r * r));
  }
  Tensor target = Tensor::from_vector(img, {n, 1, side, side});

  AdamConfig cfg;
  cfg.lr = 1e-2f;
  cfg.beta1 = 0.9f;
  auto step = [&](bool learn) {
    params.zero_grad();
    Tensor y = conv_transpose2d(relu(conv2d(target, w1, b1, 2)), w2, b2, 2);
    // Mean squared error and its gradient 2 (y - t) / numel, computed by hand.
    std::vector<float> yv = y.to_vector(), g(yv.size());
    double loss = 0;
    for (size_t i = 0; i < yv.size(); ++i) {
      const double d = yv[i] - img[i];
      loss += d * d;
      g[i] = static_cast<float>(2 * d / yv.size());
    }
    if (learn) {
      autograd::backward(y, Tensor::from_vector(g, y.shape()));
      adam_step(params, cfg);
    } else {
      autograd::clear_tape();
    }
    return loss / yv.size();
  };
  const double initial = step(false);
  for (int it = 0; it < 300; ++it) step(true);
  const double final_loss = step(false);
  INFO("loss " << initial << " -> " << final_loss);
  CHECK(final_loss < initial / 10);
}
