// Issue 2 on the GPU: the tiny MLP of tests/ops/test_mlp_learns.cpp learns on CUDA (loss falls 10x)
// and starts from the same loss as on the CPU.
#include <catch2/catch.hpp>

#include "ops/mlp_toy.h"

using namespace im;

TEST_CASE("parity: a tiny MLP learns on the GPU (loss falls 10x), tracking the CPU run") {
  test::ToyMlpRun gpu = test::train_toy_mlp(Device::CUDA, 400);
  test::ToyMlpRun cpu = test::train_toy_mlp(Device::CPU, 5);
  const float first = gpu.losses.front(), last = gpu.losses.back();
  INFO("GPU loss " << first << " -> " << last);
  CHECK(last < first / 10.f);
  for (int k = 0; k < 5; ++k) CHECK(gpu.losses[k] == Approx(cpu.losses[k]).epsilon(1e-3));
}
