// Gradient checks by central differences, and CPU/CUDA parity.
#include "support/gradcheck.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <sstream>

#include "engine/autograd.h"
#include "engine/rng.h"

namespace im::test {

Tensor random_tensor(const Shape& shape, uint64_t seed, float lo, float hi) {
  Generator g(seed);
  return rand_uniform(shape, g, Device::CPU, lo, hi);
}

Tensor random_mask(const Shape& shape, uint64_t seed, float p_one) {
  std::vector<float> v = random_tensor(shape, seed, 0.f, 1.f).to_vector();
  for (float& m : v) m = m < p_one ? 1.f : 0.f;
  return Tensor::from_vector(v, shape);
}

double rel_error(const std::vector<float>& a, const std::vector<float>& b) {
  REQUIRE(a.size() == b.size());
  double num = 0, den = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    double d = static_cast<double>(a[i]) - b[i];
    num += d * d;
    den += static_cast<double>(b[i]) * b[i];
  }
  return std::sqrt(num) / std::max(std::sqrt(den), 1e-30);
}

ElementError worst_element(const std::vector<float>& a, const std::vector<float>& b) {
  REQUIRE(a.size() == b.size());
  double ss = 0;
  for (float v : b) ss += static_cast<double>(v) * v;
  const double rms = b.empty() ? 0 : std::sqrt(ss / static_cast<double>(b.size()));
  ElementError w;
  for (size_t i = 0; i < a.size(); ++i) {
    const double d = std::fabs(static_cast<double>(a[i]) - b[i]);
    const double e = d / std::max(std::max(std::fabs(static_cast<double>(b[i])), rms), 1e-30);
    if (!(e <= w.error)) {  // NaN counts as the worst
      w.error = std::isnan(e) ? INFINITY : e;
      w.index = i;
      w.got = a[i];
      w.want = b[i];
    }
    if (std::isinf(w.error)) break;
  }
  return w;
}

void check_close(const std::vector<float>& a, const std::vector<float>& b, double tol, const std::string& what,
                 double elem_factor) {
  const double norm = rel_error(a, b);
  const ElementError w = worst_element(a, b);
  INFO(what << ": rel error " << norm << " (bound " << tol << "), worst element " << w.index << ": " << w.got << " vs "
            << w.want << ", error " << w.error << " (bound " << elem_factor * tol << ")");
  CHECK(norm < tol);
  CHECK(w.error < elem_factor * tol);
}

namespace {
double weighted_sum(const Tensor& y, const std::vector<float>& w) {
  std::vector<float> v = y.to_vector();
  double s = 0;
  for (size_t i = 0; i < v.size(); ++i) s += static_cast<double>(v[i]) * w[i];
  return s;
}
}  // namespace

void check_gradients(const OpFn& f, const std::vector<Tensor>& inputs, const GradCheckOptions& opt,
                     const std::string& what) {
  for (const Tensor& t : inputs)
    if (t.defined() && t.requires_grad()) t.drop_grad();
  autograd::clear_tape();
  Tensor y = f(inputs);
  REQUIRE(y.requires_grad());
  Tensor w = random_tensor(y.shape(), opt.seed, -1.f, 1.f);
  std::vector<float> wv = w.to_vector();
  autograd::backward(y, w);

  for (size_t k = 0; k < inputs.size(); ++k) {
    const Tensor& x = inputs[k];
    if (!x.defined() || !x.requires_grad()) continue;
    REQUIRE(x.has_grad());
    std::vector<float> analytic = x.grad().to_vector();
    std::vector<float> numeric(analytic.size());
    {
      NoGrad ng;
      float* p = x.data();
      for (size_t j = 0; j < numeric.size(); ++j) {
        float orig = p[j];
        p[j] = orig + static_cast<float>(opt.eps);
        double lp = weighted_sum(f(inputs), wv);
        p[j] = orig - static_cast<float>(opt.eps);
        double lm = weighted_sum(f(inputs), wv);
        p[j] = orig;
        // Divide by the step actually taken (float rounding of orig +- eps).
        double h = (static_cast<double>(orig + static_cast<float>(opt.eps)) -
                    static_cast<double>(orig - static_cast<float>(opt.eps)));
        numeric[j] = static_cast<float>((lp - lm) / h);
      }
    }
    double rel = rel_error(analytic, numeric);
    size_t worst = 0;
    double worst_excess = -1;
    for (size_t j = 0; j < numeric.size(); ++j) {
      double tol = opt.elem_atol + opt.elem_rtol * std::fabs(numeric[j]);
      double excess = std::fabs(analytic[j] - numeric[j]) - tol;
      if (excess > worst_excess) {
        worst_excess = excess;
        worst = j;
      }
    }
    std::ostringstream os;
    os << (what.empty() ? "" : what + ": ") << "input " << k << " " << x.shape().str() << " rel error " << rel
       << ", worst element " << worst << " analytic " << analytic[worst] << " numeric " << numeric[worst];
    INFO(os.str());
    CHECK(rel < opt.rtol);
    CHECK(worst_excess <= 0);
  }
  for (const Tensor& t : inputs)
    if (t.defined() && t.requires_grad()) t.drop_grad();
}

void check_parity(const OpFn& f, const std::vector<Tensor>& cpu_inputs, double tol, const std::string& what, double elem_factor) {
  std::vector<Tensor> gpu_inputs;
  for (const Tensor& t : cpu_inputs) {
    if (!t.defined()) {
      gpu_inputs.emplace_back();
      continue;
    }
    t.drop_grad();
    Tensor g = t.to(Device::CUDA);
    if (t.requires_grad()) g.set_requires_grad(true);
    gpu_inputs.push_back(g);
  }
  autograd::clear_tape();
  Tensor yc = f(cpu_inputs);
  Tensor yg = f(gpu_inputs);
  REQUIRE(yc.shape() == yg.shape());
  REQUIRE(yg.device() == Device::CUDA);
  std::string label = what.empty() ? std::string("op") : what;
  check_close(yg.to_vector(), yc.to_vector(), tol, label + ", forward", elem_factor);
  if (!yc.requires_grad()) {
    autograd::clear_tape();
    return;
  }
  Tensor w = random_tensor(yc.shape(), 11, -1.f, 1.f);
  autograd::backward(yc, w, true);
  autograd::backward(yg, w.to(Device::CUDA));
  for (size_t k = 0; k < cpu_inputs.size(); ++k) {
    if (!cpu_inputs[k].defined() || !cpu_inputs[k].requires_grad()) continue;
    check_close(gpu_inputs[k].grad().to_vector(), cpu_inputs[k].grad().to_vector(), tol,
                label + ", gradient of input " + std::to_string(k), elem_factor);
    cpu_inputs[k].drop_grad();
  }
}

}  // namespace im::test
