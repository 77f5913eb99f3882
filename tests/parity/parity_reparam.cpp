// CPU vs CUDA: the reparameterization trick, forward and backward, and the same Philox noise on both
// devices, at a small odd shape and at the model's latent sizes (batch 16, 64 x H/16 x W/16).
#include <catch2/catch.hpp>

#include "engine/ops.h"
#include "support/gradcheck.h"

using namespace im;

TEST_CASE("parity: reparameterize (same Philox noise on both devices)") {
  for (Shape s : {Shape{3, 5, 7}, Shape{16, 64, 8, 8}, Shape{16, 64, 12, 14}}) {
    Tensor mu = test::random_tensor(s, 3, -2.f, 2.f).set_requires_grad(true);
    Tensor lv = test::random_tensor(s, 4, -3.f, 1.f).set_requires_grad(true);
    test::check_parity(
        [](const std::vector<Tensor>& in) {
          Generator g(77, 5);
          return reparameterize(in[0], in[1], g);
        },
        {mu, lv}, 1e-4, "reparameterize " + s.str());
    Generator gc(9, 1), gg(9, 1);
    Tensor ec, eg;
    reparameterize(mu.detach(), lv.detach(), gc, &ec);
    reparameterize(mu.detach().to(Device::CUDA), lv.detach().to(Device::CUDA), gg, &eg);
    test::check_close(eg.to_vector(), ec.to_vector(), 1e-6, "reparameterize noise");
  }
}
