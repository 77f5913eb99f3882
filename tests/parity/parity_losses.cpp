// CPU vs CUDA: the fused ImUnity losses of engine/losses.h, forward and backward, at small odd shapes
// (scalar tails, partial tiles) and at the model's real sizes (batch 16; 128x128 and 192x224
// images; latent 64 x H/16 x W/16; 5 sites).
#include <catch2/catch.hpp>

#include "engine/losses.h"
#include "support/gradcheck.h"

using namespace im;

namespace {
Tensor rnd(const Shape& s, uint64_t seed, float lo, float hi, bool grad = false) {
  Tensor t = test::random_tensor(s, seed, lo, hi);
  if (grad) t.set_requires_grad(true);
  return t;
}
// A 0/1 mask keeping about 70% of the elements.
Tensor mask_of(const Shape& s, uint64_t seed) {
  std::vector<float> v = test::random_tensor(s, seed, 0.f, 1.f).to_vector();
  for (float& m : v) m = m < 0.7f ? 1.f : 0.f;
  return Tensor::from_vector(v, s);
}
}  // namespace

TEST_CASE("parity: KL divergence") {
  for (Shape s : {Shape{3, 5, 7}, Shape{16, 64, 8, 8}, Shape{16, 64, 12, 14}}) {
    Tensor mu = rnd(s, 5, -2.f, 2.f, true), lv = rnd(s, 6, -3.f, 2.f, true);
    test::check_parity([](const std::vector<Tensor>& in) { return kl_divergence(in[0], in[1]); }, {mu, lv}, 1e-4,
                       "kl " + s.str());
  }
}

TEST_CASE("parity: site cross-entropy and confusion") {
  for (Shape s : {Shape{16, 5}, Shape{37, 40}, Shape{1, 2}}) {
    Tensor logits = rnd(s, 7, -5.f, 5.f, true);
    std::vector<float> lab = test::random_tensor({s[0]}, 8, 0.f, static_cast<float>(s[1])).to_vector();
    for (float& l : lab) l = static_cast<float>(static_cast<int>(l));
    Tensor labels = Tensor::from_vector(lab, {s[0]});
    for (float sm : {0.f, 0.1f})
      test::check_parity(
          [sm](const std::vector<Tensor>& in) { return site_cross_entropy(in[0], in[1], sm); }, {logits, labels},
          1e-4, "site CE " + s.str() + (sm > 0.f ? " smoothing 0.1" : ""));
    test::check_parity([](const std::vector<Tensor>& in) { return confusion_loss(in[0]); }, {logits}, 1e-4,
                       "confusion " + s.str());
  }
}

TEST_CASE("parity: BCE with logits") {
  for (Shape s : {Shape{16, 1}, Shape{3, 1, 5, 7}, Shape{16, 1, 16, 16}, Shape{16, 1, 24, 28}}) {
    Tensor x = rnd(s, 9, -8.f, 8.f, true), t = rnd(s, 10, 0.f, 1.f, true);
    test::check_parity([](const std::vector<Tensor>& in) { return bce_with_logits(in[0], in[1]); }, {x, t}, 1e-4,
                       "bce " + s.str());
  }
}

TEST_CASE("parity: masked L1") {
  for (Shape s : {Shape{2, 1, 13, 11}, Shape{16, 1, 128, 128}, Shape{16, 1, 192, 224}}) {
    Tensor a = rnd(s, 11, 0.f, 1.f, true), b = rnd(s, 12, 0.f, 1.f, true);
    test::check_parity([](const std::vector<Tensor>& in) { return masked_l1(in[0], in[1], in[2]); },
                       {a, b, mask_of(s, 13)}, 1e-4, "masked l1 " + s.str());
  }
  Tensor a = rnd({2, 1, 8, 8}, 14, 0.f, 1.f, true), b = rnd({2, 1, 8, 8}, 15, 0.f, 1.f, true);
  Tensor empty = Tensor::zeros({2, 1, 8, 8}, Device::CUDA);
  Tensor loss = masked_l1(a.to(Device::CUDA), b.to(Device::CUDA), empty);
  CHECK(loss.item() == 0.f);
}

TEST_CASE("parity: SSIM") {
  for (Shape s : {Shape{1, 1, 11, 11}, Shape{2, 1, 16, 16}, Shape{2, 1, 24, 20}, Shape{2, 1, 40, 37},
                  Shape{16, 1, 128, 128}, Shape{16, 1, 192, 224}}) {
    Tensor a = rnd(s, 16, 0.f, 1.f, true);
    std::vector<float> av = a.to_vector(), nv = rnd(s, 17, 0.f, 1.f).to_vector(), bv(av.size());
    for (size_t i = 0; i < av.size(); ++i) bv[i] = 0.7f * av[i] + 0.3f * nv[i];
    Tensor b = Tensor::from_vector(bv, s).set_requires_grad(true);
    test::check_parity([](const std::vector<Tensor>& in) { return ssim_loss(in[0], in[1]); }, {a, b}, 1e-4,
                       "ssim " + s.str());
  }
}
