// CPU vs CUDA: batch norm in training and eval mode, gradients and running statistics.
#include <catch2/catch.hpp>

#include "engine/ops.h"
#include "support/gradcheck.h"

using namespace im;

TEST_CASE("parity: batch_norm") {
  for (const Shape& s : {Shape{8, 16, 32, 32}, Shape{64, 10}, Shape{4, 3, 5, 7}, Shape{2, 128, 8, 8}}) {
    const int64_t C = s[1];
    Tensor x = test::random_tensor(s, 1, -2.f, 3.f).set_requires_grad(true);
    Tensor gamma = test::random_tensor({C}, 2, 0.5f, 1.5f).set_requires_grad(true);
    Tensor beta = test::random_tensor({C}, 3).set_requires_grad(true);
    for (bool training : {true, false}) {
      Tensor rm_c = test::random_tensor({C}, 4, -0.5f, 0.5f), rv_c = test::random_tensor({C}, 5, 0.5f, 2.f);
      Tensor rm_g = rm_c.to(Device::CUDA), rv_g = rv_c.to(Device::CUDA);
      auto f = [&](const std::vector<Tensor>& in) {
        const bool gpu = in[0].is_cuda();
        return batch_norm(in[0], in[1], in[2], gpu ? rm_g : rm_c, gpu ? rv_g : rv_c, training, 0.1f, 1e-5f);
      };
      const std::string what = s.str() + (training ? " training" : " eval");
      test::check_parity(f, {x, gamma, beta}, 1e-4, "batch_norm " + what);
      INFO(what);
      test::check_close(rm_g.to_vector(), rm_c.to_vector(), 1e-5, "running mean " + what);
      test::check_close(rv_g.to_vector(), rv_c.to_vector(), 1e-5, "running var " + what);
      // Gradient of x only (dgamma/dbeta not requested), and no affine parameters.
      Tensor xg = x.detach().set_requires_grad(true);
      auto g = [&](const std::vector<Tensor>& in) {
        const bool gpu = in[0].is_cuda();
        return batch_norm(in[0], Tensor(), Tensor(), gpu ? rm_g : rm_c, gpu ? rv_g : rv_c, training, 0.1f, 1e-5f);
      };
      test::check_parity(g, {xg}, 1e-4, "batch_norm without affine " + what);
    }
  }
}
