// CPU vs CUDA: the fused Adam step over a parameter group of several tensors, five steps with and
// without weight decay, per element.
#include <catch2/catch.hpp>

#include "engine/ops.h"
#include "engine/optim.h"
#include "support/gradcheck.h"

using namespace im;

TEST_CASE("parity: Adam over a parameter group") {
  for (float wd : {0.f, 0.01f}) {
    ParamGroup gc("cpu"), gg("cuda");
    for (ParamGroup* g : {&gc, &gg}) {
      g->add("a", {37});
      g->add("b", {8, 3, 3, 3});
      g->add("c", {1000, 129});  // more elements than one block
    }
    gc.finalize(Device::CPU);
    gg.finalize(Device::CUDA);
    gc.params().copy_from(test::random_tensor({gc.numel()}, 1));
    gg.params().copy_from(gc.params());
    AdamConfig cfg;
    cfg.lr = 1e-2f;
    cfg.weight_decay = wd;
    for (int k = 0; k < 5; ++k) {
      // Gradients over several orders of magnitude, as real ones are.
      Tensor grad = mul(test::random_tensor({gc.numel()}, 10 + k), test::random_tensor({gc.numel()}, 20 + k, 1e-4f, 1.f));
      gc.grads().copy_from(grad);
      gg.grads().copy_from(grad);
      adam_step(gc, cfg);
      adam_step(gg, cfg);
      const std::string what = "step " + std::to_string(k + 1) + (wd > 0 ? ", weight decay" : "");
      test::check_close(gg.params().to_vector(), gc.params().to_vector(), 1e-6, "parameters, " + what);
      test::check_close(gg.adam_m().to_vector(), gc.adam_m().to_vector(), 1e-6, "first moments, " + what);
      test::check_close(gg.adam_v().to_vector(), gc.adam_v().to_vector(), 1e-6, "second moments, " + what);
    }
    CHECK(gg.adam_step == 5);
  }
}
