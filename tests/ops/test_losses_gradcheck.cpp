// Finite-difference gradient checks of every differentiable input of the fused ImUnity losses.
#include <catch2/catch.hpp>

#include <cmath>

#include "engine/losses.h"
#include "support/gradcheck.h"

using namespace im;

namespace {
Tensor rnd(const Shape& s, uint64_t seed, float lo, float hi) { return test::random_tensor(s, seed, lo, hi); }
}  // namespace

TEST_CASE("losses: KL divergence gradients") {
  Tensor mu = rnd({3, 4, 2, 2}, 4, -1.5f, 1.5f).set_requires_grad(true);
  Tensor lv = rnd({3, 4, 2, 2}, 5, -2.f, 1.5f).set_requires_grad(true);
  test::check_gradients([](const std::vector<Tensor>& in) { return kl_divergence(in[0], in[1]); }, {mu, lv}, {},
                        "kl");
}

TEST_CASE("losses: site cross-entropy and confusion gradients") {
  Tensor logits = rnd({5, 4}, 6, -3.f, 3.f).set_requires_grad(true);
  Tensor labels = Tensor::from_vector({0, 3, 1, 1, 2}, {5});
  for (float s : {0.f, 0.1f})
    test::check_gradients([labels, s](const std::vector<Tensor>& in) { return site_cross_entropy(in[0], labels, s); },
                          {logits}, {}, s == 0.f ? "site CE" : "site CE, smoothing 0.1");
  test::check_gradients([](const std::vector<Tensor>& in) { return confusion_loss(in[0]); }, {logits}, {},
                        "confusion");
}

TEST_CASE("losses: BCE with logits gradients (logits and targets)") {
  Tensor x = rnd({2, 1, 4, 4}, 7, -4.f, 4.f).set_requires_grad(true);
  Tensor t = rnd({2, 1, 4, 4}, 8, 0.f, 1.f).set_requires_grad(true);
  test::check_gradients([](const std::vector<Tensor>& in) { return bce_with_logits(in[0], in[1]); }, {x, t}, {},
                        "bce");
}

TEST_CASE("losses: masked L1 gradients with a partial mask") {
  // |a - b| >= 0.1 everywhere, so the finite differences (step 0.01) never cross the kink.
  Tensor a = rnd({2, 1, 5, 6}, 9, 0.f, 1.f);
  std::vector<float> av = a.to_vector(), off = rnd({2, 1, 5, 6}, 10, -0.5f, 0.5f).to_vector(), bv(av.size());
  for (size_t i = 0; i < av.size(); ++i) bv[i] = av[i] + (off[i] < 0.f ? off[i] - 0.1f : off[i] + 0.1f);
  Tensor b = Tensor::from_vector(bv, a.shape()).set_requires_grad(true);
  a.set_requires_grad(true);
  std::vector<float> mv = rnd({2, 1, 5, 6}, 11, 0.f, 1.f).to_vector();
  for (float& m : mv) m = m > 0.4f ? 1.f : 0.f;
  Tensor mask = Tensor::from_vector(mv, a.shape());
  test::check_gradients([mask](const std::vector<Tensor>& in) { return masked_l1(in[0], in[1], mask); }, {a, b}, {},
                        "masked l1");
}

TEST_CASE("losses: SSIM gradients in both images (16x16 and 24x20, batch 2)") {
  for (Shape s : {Shape{2, 1, 16, 16}, Shape{2, 1, 24, 20}}) {
    Tensor a = rnd(s, 12, 0.f, 1.f);
    std::vector<float> av = a.to_vector(), nv = rnd(s, 13, 0.f, 1.f).to_vector(), bv(av.size());
    for (size_t i = 0; i < av.size(); ++i) bv[i] = 0.6f * av[i] + 0.4f * nv[i];
    Tensor b = Tensor::from_vector(bv, s).set_requires_grad(true);
    a.set_requires_grad(true);
    test::GradCheckOptions opt;
    opt.eps = 1e-2;
    opt.elem_atol = 2e-5;  // the gradients are O(1 / #windows) ~ 1e-3
    test::check_gradients([](const std::vector<Tensor>& in) { return ssim_loss(in[0], in[1]); }, {a, b}, opt,
                          "ssim " + s.str());
  }
}
