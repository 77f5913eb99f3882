// Fused ImUnity losses (engine/losses.h) against PyTorch fixtures (tests/reference/torch_losses.py),
// plus properties that hold by definition: empty masks, SSIM of identical images.
#include <catch2/catch.hpp>

#include <cmath>

#include "engine/autograd.h"
#include "engine/device.h"
#include "engine/losses.h"
#include "support/fixtures.h"
#include "support/gradcheck.h"

using namespace im;

namespace {
Tensor leaf(const nlohmann::json& j) { return test::fixture_tensor(j).set_requires_grad(true); }

void check_close(const Tensor& t, const nlohmann::json& ref, double tol, const std::string& what) {
  double e = test::rel_error(t.to_vector(), test::fixture_values(ref));
  INFO(what << ": rel error " << e << " (tolerance " << tol << ")");
  CHECK(e < tol);
}

constexpr double kLossTol = 2e-6, kGradTol = 2e-5;
}  // namespace

TEST_CASE("losses: KL divergence matches PyTorch") {
  nlohmann::json fx = test::load_fixture("losses")["kl"];
  Tensor mu = leaf(fx["mu"]), lv = leaf(fx["logvar"]);
  Tensor loss = kl_divergence(mu, lv);
  CHECK(loss.shape() == Shape{1});
  check_close(loss, fx["loss"], kLossTol, "loss");
  autograd::backward(loss);
  check_close(mu.grad(), fx["dmu"], kGradTol, "dmu");
  check_close(lv.grad(), fx["dlogvar"], kGradTol, "dlogvar");
}

TEST_CASE("losses: site cross-entropy (label smoothing 0 and 0.1) and confusion match PyTorch") {
  nlohmann::json all = test::load_fixture("losses");
  for (const char* set : {"site", "site_large"}) {
    nlohmann::json fx = all[set];
    Tensor labels = test::fixture_tensor(fx["labels"]);
    for (float s : {0.f, 0.1f}) {
      INFO(set << ", smoothing " << s);
      nlohmann::json ref = fx[s == 0.f ? "ce_0" : "ce_0.1"];
      Tensor logits = leaf(fx["logits"]);
      Tensor loss = site_cross_entropy(logits, labels, s);
      check_close(loss, ref["loss"], kLossTol, "loss");
      autograd::backward(loss);
      check_close(logits.grad(), ref["dlogits"], kGradTol, "dlogits");
    }
    INFO(set << ", confusion");
    Tensor logits = leaf(fx["logits"]);
    Tensor loss = confusion_loss(logits);
    check_close(loss, fx["confusion"]["loss"], kLossTol, "loss");
    autograd::backward(loss);
    check_close(logits.grad(), fx["confusion"]["dlogits"], kGradTol, "dlogits");
  }
}

TEST_CASE("losses: BCE with logits matches PyTorch, saturated logits included") {
  nlohmann::json fx = test::load_fixture("losses")["bce"];
  Tensor x = leaf(fx["logits"]), t = leaf(fx["targets"]);
  Tensor loss = bce_with_logits(x, t);
  check_close(loss, fx["loss"], kLossTol, "loss");
  autograd::backward(loss);
  check_close(x.grad(), fx["dlogits"], kGradTol, "dlogits");
  check_close(t.grad(), fx["dtargets"], kGradTol, "dtargets");
}

TEST_CASE("losses: masked L1 matches PyTorch (partial mask, exact ties)") {
  nlohmann::json fx = test::load_fixture("losses")["masked_l1"];
  Tensor a = leaf(fx["a"]), b = leaf(fx["b"]);
  Tensor loss = masked_l1(a, b, test::fixture_tensor(fx["mask"]));
  check_close(loss, fx["loss"], kLossTol, "loss");
  autograd::backward(loss);
  check_close(a.grad(), fx["da"], kGradTol, "da");
  check_close(b.grad(), fx["db"], kGradTol, "db");
}

TEST_CASE("losses: SSIM matches tf.image.ssim's algorithm (PyTorch float64, checked against skimage)") {
  nlohmann::json all = test::load_fixture("losses");
  for (const char* set : {"ssim_16x16", "ssim_24x20"}) {
    INFO(set);
    nlohmann::json fx = all[set];
    Tensor a = leaf(fx["a"]), b = leaf(fx["b"]);
    Tensor loss = ssim_loss(a, b);
    check_close(loss, fx["loss"], kLossTol, "loss");
    autograd::backward(loss);
    check_close(a.grad(), fx["da"], kGradTol, "da");
    check_close(b.grad(), fx["db"], kGradTol, "db");
  }
}

TEST_CASE("losses: masked L1 of an empty mask is 0 with zero gradients") {
  Tensor a = test::random_tensor({2, 1, 4, 4}, 1).set_requires_grad(true);
  Tensor b = test::random_tensor({2, 1, 4, 4}, 2).set_requires_grad(true);
  Tensor loss = masked_l1(a, b, Tensor::zeros({2, 1, 4, 4}));
  CHECK(loss.item() == 0.f);
  autograd::backward(loss);
  for (float v : a.grad().to_vector()) CHECK(v == 0.f);
  for (float v : b.grad().to_vector()) CHECK(v == 0.f);
}

TEST_CASE("losses: SSIM of identical images is 1 (loss 0) and a stationary point") {
  Tensor a = test::random_tensor({2, 1, 16, 13}, 3, 0.f, 1.f).set_requires_grad(true);
  Tensor b = a.detach().set_requires_grad(true);
  Tensor loss = ssim_loss(a, b);
  CHECK(std::fabs(loss.item()) < 1e-6f);
  autograd::backward(loss);
  std::vector<float> ga = a.grad().to_vector(), gb = b.grad().to_vector();
  for (size_t i = 0; i < ga.size(); ++i) {
    CHECK(std::fabs(ga[i]) < 1e-5f);
    CHECK(std::fabs(gb[i]) < 1e-5f);
  }
}

TEST_CASE("losses: CPU losses do not depend on the thread count") {
  const int threads = num_threads();
  Tensor a = test::random_tensor({4, 1, 96, 96}, 6, 0.f, 1.f), b = test::random_tensor({4, 1, 96, 96}, 7, 0.f, 1.f);
  Tensor mask = test::random_tensor({4, 1, 96, 96}, 8, 0.f, 1.f);
  auto run = [&] {
    return std::vector<float>{kl_divergence(a, b).item(), bce_with_logits(a, b).item(), masked_l1(a, b, mask).item(),
                              ssim_loss(a, b).item()};
  };
  set_num_threads(1);
  std::vector<float> one = run();
  set_num_threads(2);
  std::vector<float> two = run();
  set_num_threads(threads);
  CHECK(one == two);
}

TEST_CASE("losses: bad shapes and labels are reported") {
  Tensor img = Tensor::zeros({2, 1, 10, 16});
  CHECK_THROWS_WITH(ssim_loss(img, img), Catch::Contains("at least 11x11"));
  Tensor rgb = Tensor::zeros({2, 3, 16, 16});
  CHECK_THROWS_WITH(ssim_loss(rgb, rgb), Catch::Contains("[N, 1, H, W]"));
  Tensor logits = Tensor::zeros({3, 4});
  CHECK_THROWS_WITH(site_cross_entropy(logits, Tensor::from_vector({0, 4, 1}, {3})), Catch::Contains("label 4"));
  CHECK_THROWS_WITH(site_cross_entropy(logits, Tensor::from_vector({0, 1.5f, 1}, {3})), Catch::Contains("label 1.5"));
  CHECK_THROWS_WITH(kl_divergence(Tensor::zeros({2, 3}), Tensor::zeros({2, 4})), Catch::Contains("differ"));
}
