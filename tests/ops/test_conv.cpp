// conv2d and conv_transpose2d: PyTorch fixtures, finite-difference gradients of every input,
// thread-count independence, and a tiny conv net that learns.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <string>

#include "engine/autograd.h"
#include "engine/device.h"
#include "engine/ops.h"
#include "engine/optim.h"
#include "engine/param_group.h"
#include "engine/rng.h"
#include "kernels/gemm_cpu.h"
#include "support/fixtures.h"
#include "support/gradcheck.h"

using namespace im;

namespace {
Tensor leaf(const Tensor& t) { return t.detach().set_requires_grad(true); }

Tensor run_conv(bool transposed, const Tensor& x, const Tensor& w, const Tensor& b, int stride) {
  return transposed ? conv_transpose2d(x, w, b, stride) : conv2d(x, w, b, stride);
}

// Rounding bounds (test::fp32_rtol) of a conv's results, from the longest sums behind them: y and dx
// sum at most (the channels of either side) x (taps), dw and db at most every pixel of the larger side.
struct ConvRtol {
  double data, params;
};
ConvRtol conv_rtol(const Tensor& x, const Tensor& w, const Tensor& y) {
  const auto pixels = [](const Tensor& t) { return static_cast<double>(t.numel() / t.size(1)); };
  return {test::fp32_rtol(static_cast<double>(std::max(w.size(0), w.size(1)) * w.size(2) * w.size(3))),
          test::fp32_rtol(std::max(pixels(x), pixels(y)))};
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
    const ConvRtol tol = conv_rtol(x, w, y);
    CHECK(test::rel_error(y.to_vector(), test::fixture_values(c["y"])) < tol.data);
    autograd::backward(y, test::fixture_tensor(c["dy"]));
    CHECK(test::rel_error(x.grad().to_vector(), test::fixture_values(c["dx"])) < tol.data);
    CHECK(test::rel_error(w.grad().to_vector(), test::fixture_values(c["dw"])) < tol.params);
    if (has_bias) CHECK(test::rel_error(b.grad().to_vector(), test::fixture_values(c["db"])) < tol.params);
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

TEST_CASE("conv: the packed GEMM matches a naive product across its blocking and layouts") {
  struct Case {
    int64_t m, k, n;
  };
  for (const Case& c : {Case{100, 600, 1100}, Case{1, 1, 1}, Case{7, 3, 17}, Case{13, 257, 513}}) {
    std::vector<float> a = test::random_tensor({c.m, c.k}, 1).to_vector();   // row-major [m x k]
    std::vector<float> b = test::random_tensor({c.k, c.n}, 2).to_vector();   // row-major [k x n]
    std::vector<float> bt(c.k * c.n), c0 = test::random_tensor({c.m, c.n}, 3).to_vector();
    for (int64_t p = 0; p < c.k; ++p)
      for (int64_t j = 0; j < c.n; ++j) bt[j * c.k + p] = b[p * c.n + j];  // B stored transposed
    std::vector<float> want(c.m * c.n);
    for (int64_t i = 0; i < c.m; ++i)
      for (int64_t j = 0; j < c.n; ++j) {
        double acc = 0;
        for (int64_t p = 0; p < c.k; ++p) acc += static_cast<double>(a[i * c.k + p]) * b[p * c.n + j];
        want[i * c.n + j] = static_cast<float>(acc);
      }
    std::vector<float> packed(packed_a_size(c.m, c.k));
    const PackedA A = pack_a(packed.data(), MatView{a.data(), c.k, 1}, c.m, c.k);
    for (bool transposed_b : {false, true}) {
      std::vector<float> got = c0;
      const MatView B = transposed_b ? MatView{bt.data(), 1, c.k} : MatView{b.data(), c.n, 1};
      gemm(A, B, c.n, got.data(), c.n, false);
      INFO(c.m << "x" << c.k << "x" << c.n << (transposed_b ? " B^T" : ""));
      CHECK(test::rel_error(got, want) < test::fp32_rtol(c.k));  // sums of k products
      gemm(A, B, c.n, got.data(), c.n, true);  // accumulate: 2 * want
      for (float& v : got) v *= 0.5f;
      CHECK(test::rel_error(got, want) < test::fp32_rtol(c.k, 2));  // then one more rounded add
    }
  }
}

namespace {
// Direct double-precision convolution by its definition (as PyTorch's conv2d, padding k/2): the
// product from x [n, c, h, w] to y [n, o, ceil(h/s), ceil(w/s)] and its two adjoints.
struct Direct {
  int64_t n, c, h, w, o, k, s;
  int64_t ho() const { return (h + s - 1) / s; }
  int64_t wo() const { return (w + s - 1) / s; }
  template <typename F>  // f(x index, y index, w index) for every (pixel, tap) pair inside the image
  void each(F f) const {
    const int64_t p = k / 2;
    for (int64_t i = 0; i < n; ++i)
      for (int64_t oc = 0; oc < o; ++oc)
        for (int64_t yo = 0; yo < ho(); ++yo)
          for (int64_t xo = 0; xo < wo(); ++xo)
            for (int64_t ic = 0; ic < c; ++ic)
              for (int64_t a = 0; a < k; ++a)
                for (int64_t b = 0; b < k; ++b) {
                  const int64_t iy = yo * s - p + a, ix = xo * s - p + b;
                  if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                  f(((i * c + ic) * h + iy) * w + ix, ((i * o + oc) * ho() + yo) * wo() + xo, ((oc * c + ic) * k + a) * k + b);
                }
  }
  std::vector<double> forward(const std::vector<float>& x, const std::vector<float>& wt) const {
    std::vector<double> y(n * o * ho() * wo(), 0.0);
    each([&](int64_t xi, int64_t yi, int64_t wi) { y[yi] += static_cast<double>(wt[wi]) * x[xi]; });
    return y;
  }
  std::vector<double> adjoint(const std::vector<float>& y, const std::vector<float>& wt) const {
    std::vector<double> x(n * c * h * w, 0.0);
    each([&](int64_t xi, int64_t yi, int64_t wi) { x[xi] += static_cast<double>(wt[wi]) * y[yi]; });
    return x;
  }
  std::vector<double> weight_grad(const std::vector<float>& x, const std::vector<float>& y) const {
    std::vector<double> g(o * c * k * k, 0.0);
    each([&](int64_t xi, int64_t yi, int64_t wi) { g[wi] += static_cast<double>(x[xi]) * y[yi]; });
    return g;
  }
};

std::vector<float> to_float(const std::vector<double>& v) { return std::vector<float>(v.begin(), v.end()); }

// t [n, ch, hw] + b [ch]; and the bias gradient of dy [n, ch, hw].
std::vector<double> plus_bias(std::vector<double> t, const std::vector<float>& b, int64_t hw) {
  for (size_t e = 0; e < t.size(); ++e) t[e] += b[e / hw % b.size()];
  return t;
}
std::vector<float> bias_grad(const std::vector<float>& dy, int64_t ch, int64_t hw) {
  std::vector<double> g(ch, 0.0);
  for (size_t e = 0; e < dy.size(); ++e) g[e / hw % ch] += dy[e];
  return to_float(g);
}
}  // namespace

TEST_CASE("conv: layer-sized shapes match a direct double-precision convolution") {
  struct Case {
    bool transposed;
    Shape x;
    int64_t c_out, k;
    int stride;
  };
  // Bands within an image, several images per weight-gradient chunk, GEMM blocks over k and m,
  // and both data-gradient paths (stride-1 flipped conv from 6 channels up, col2im otherwise).
  for (const Case& c : {Case{false, {2, 64, 40, 40}, 24, 3, 2}, Case{false, {3, 16, 10, 9}, 12, 3, 1},
                        Case{true, {2, 24, 20, 20}, 64, 3, 2}, Case{true, {3, 12, 9, 10}, 8, 3, 1},
                        Case{false, {2, 5, 30, 28}, 7, 5, 1}}) {
    const int64_t n = c.x[0], cin = c.x[1], h = c.x[2], w = c.x[3], k = c.k;
    Tensor x = test::random_tensor(c.x, 1).set_requires_grad(true);
    Shape ws = c.transposed ? Shape{cin, c.c_out, k, k} : Shape{c.c_out, cin, k, k};
    Tensor wt = test::random_tensor(ws, 2, -0.2f, 0.2f).set_requires_grad(true);
    Tensor b = test::random_tensor({c.c_out}, 3).set_requires_grad(true);
    Tensor y = run_conv(c.transposed, x, wt, b, c.stride);
    Tensor dy = test::random_tensor(y.shape(), 4);
    autograd::backward(y, dy);
    const std::vector<float> xv = x.to_vector(), wv = wt.to_vector(), dyv = dy.to_vector();
    const int64_t hw_out = y.size(2) * y.size(3);
    std::vector<float> y_ref, dx_ref, dw_ref;
    if (!c.transposed) {
      const Direct d{n, cin, h, w, c.c_out, k, c.stride};
      y_ref = to_float(plus_bias(d.forward(xv, wv), b.to_vector(), hw_out));
      dx_ref = to_float(d.adjoint(dyv, wv));
      dw_ref = to_float(d.weight_grad(xv, dyv));
    } else {  // the adjoint of the conv from the output [n, c_out, h s, w s] to the input
      const Direct d{n, c.c_out, h * c.stride, w * c.stride, cin, k, c.stride};
      y_ref = to_float(plus_bias(d.adjoint(xv, wv), b.to_vector(), hw_out));
      dx_ref = to_float(d.forward(dyv, wv));
      dw_ref = to_float(d.weight_grad(dyv, xv));
    }
    INFO((c.transposed ? "conv_transpose2d " : "conv2d ") << c.x.str() << " -> " << c.c_out << " s" << c.stride);
    const ConvRtol tol = conv_rtol(x, wt, y);
    CHECK(test::rel_error(y.to_vector(), y_ref) < tol.data);
    CHECK(test::rel_error(x.grad().to_vector(), dx_ref) < tol.data);
    CHECK(test::rel_error(wt.grad().to_vector(), dw_ref) < tol.params);
    CHECK(test::rel_error(b.grad().to_vector(), bias_grad(dyv, c.c_out, hw_out)) < tol.params);
  }
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
