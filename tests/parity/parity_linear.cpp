// CPU vs CUDA: linear (cuBLAS at full fp32; a TF32 run checks the math-mode switch).
#include <catch2/catch.hpp>

#include "engine/ops.h"
#include "kernels/cuda_api.h"
#include "support/gradcheck.h"

using namespace im;

TEST_CASE("parity: linear") {
  struct Case {
    int64_t N, in, out;
  };
  for (const Case& c : {Case{64, 300, 200}, Case{3, 5, 7}, Case{1000, 64, 10}}) {
    Tensor x = test::random_tensor({c.N, c.in}, 1).set_requires_grad(true);
    Tensor w = test::random_tensor({c.out, c.in}, 2).set_requires_grad(true);
    Tensor b = test::random_tensor({c.out}, 3).set_requires_grad(true);
    const std::string s = " N=" + std::to_string(c.N) + " in=" + std::to_string(c.in) + " out=" + std::to_string(c.out);
    test::check_parity([](const std::vector<Tensor>& in) { return linear(in[0], in[1], in[2]); }, {x, w, b}, 1e-4,
                       "linear with bias" + s);
    test::check_parity([](const std::vector<Tensor>& in) { return linear(in[0], in[1], Tensor()); }, {x, w}, 1e-4,
                       "linear without bias" + s);
  }
}

TEST_CASE("parity: linear with TF32 stays close") {
  Tensor x = test::random_tensor({128, 256}, 4).set_requires_grad(true);
  Tensor w = test::random_tensor({64, 256}, 5).set_requires_grad(true);
  Tensor b = test::random_tensor({64}, 6).set_requires_grad(true);
  struct Tf32On {  // back to full fp32 for the other parity tests, even if this one fails
    Tf32On() { cuda::set_tf32(true); }
    ~Tf32On() { cuda::set_tf32(false); }
  } tf32;
  test::check_parity([](const std::vector<Tensor>& in) { return linear(in[0], in[1], in[2]); }, {x, w, b}, 1e-2,
                     "linear TF32");
}
