// Issue 2: a tiny MLP (linear, relu, sub, mul, mean, ParamGroup + Adam) learns a smooth 2-D
// function on the CPU: the loss falls at least 10x.
#include <catch2/catch.hpp>

#include "ops/mlp_toy.h"

using namespace im;

TEST_CASE("mlp: a tiny MLP learns a smooth regression on the CPU (loss falls 10x)") {
  test::ToyMlpRun run = test::train_toy_mlp(Device::CPU, 400);
  const float first = run.losses.front(), last = run.losses.back();
  INFO("loss " << first << " -> " << last);
  CHECK(first > 0.05f);  // the task is not trivially solved at initialization
  CHECK(last < first / 10.f);
}
