// CPU vs CUDA: activations.
#include <catch2/catch.hpp>

#include "engine/ops.h"
#include "engine/rng.h"
#include "support/gradcheck.h"

using namespace im;

TEST_CASE("parity: activations") {
  Tensor x = test::random_tensor({4, 8, 16, 16}, 3, -3.f, 3.f).set_requires_grad(true);
  test::check_parity([](const std::vector<Tensor>& in) { return relu(in[0]); }, {x}, 1e-6, "relu");
  test::check_parity([](const std::vector<Tensor>& in) { return leaky_relu(in[0], 0.3f); }, {x}, 1e-6, "leaky_relu");
  test::check_parity([](const std::vector<Tensor>& in) { return sigmoid(in[0]); }, {x}, 1e-6, "sigmoid");
}

TEST_CASE("parity: Philox draws agree between CPU and GPU") {
  Generator a(9), b(9);
  std::vector<float> uc = rand_uniform({4099}, a, Device::CPU).to_vector();
  std::vector<float> ug = rand_uniform({4099}, b, Device::CUDA).to_vector();
  CHECK(uc == ug);
  std::vector<float> nc = rand_normal({4099}, a, Device::CPU).to_vector();
  std::vector<float> ng = rand_normal({4099}, b, Device::CUDA).to_vector();
  test::check_close(ng, nc, 1e-6, "rand_normal");
}
