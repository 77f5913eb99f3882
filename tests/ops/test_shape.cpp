// reshape, flatten, concat, split: PyTorch fixtures (torch.cat and its inverse) and
// finite-difference gradients along every dimension with unequal sizes.
#include <catch2/catch.hpp>

#include "engine/autograd.h"
#include "engine/ops.h"
#include "kernels/check.h"
#include "support/fixtures.h"
#include "support/gradcheck.h"

using namespace im;

TEST_CASE("shape: concat and split along every dim match torch.cat") {
  nlohmann::json fx = test::load_fixture("shape");
  for (int dim = 0; dim < 4; ++dim) {
    const nlohmann::json& c = fx["concat" + std::to_string(dim)];
    INFO("dim " << dim);
    std::vector<Tensor> parts;
    for (int k = 0; k < 3; ++k) parts.push_back(test::fixture_tensor(c["parts"][std::to_string(k)]).set_requires_grad(true));
    Tensor y = concat(parts, dim);
    CHECK(y.shape() == test::fixture_tensor(c["y"]).shape());
    CHECK(test::rel_error(y.to_vector(), test::fixture_values(c["y"])) == 0);
    autograd::backward(y, test::fixture_tensor(c["dy"]));
    for (int k = 0; k < 3; ++k)
      CHECK(test::rel_error(parts[k].grad().to_vector(), test::fixture_values(c["dparts"][std::to_string(k)])) == 0);

    // split is the inverse: the pieces are torch's parts; seeding them with torch's gradients of
    // the parts gives back torch's dy.
    Tensor x = test::fixture_tensor(c["y"]).set_requires_grad(true);
    std::vector<Tensor> pieces = split(x, {1, 3, 2}, dim);
    REQUIRE(pieces.size() == 3);
    for (int k = 0; k < 3; ++k) {
      CHECK(pieces[k].shape() == test::fixture_tensor(c["parts"][std::to_string(k)]).shape());
      CHECK(test::rel_error(pieces[k].to_vector(), test::fixture_values(c["parts"][std::to_string(k)])) == 0);
      autograd::backward(pieces[k], test::fixture_tensor(c["dparts"][std::to_string(k)]), k < 2);
    }
    CHECK(test::rel_error(x.grad().to_vector(), test::fixture_values(c["dy"])) == 0);
  }
}

TEST_CASE("shape: finite-difference gradients of concat and split along every dim") {
  for (int dim = 0; dim < 4; ++dim) {
    std::vector<Tensor> parts;
    const int64_t sizes[3] = {2, 1, 3};
    for (int k = 0; k < 3; ++k) {
      Shape s{2, 3, 2, 4};
      s[dim] = sizes[k];
      parts.push_back(test::random_tensor(s, 10 * dim + k).set_requires_grad(true));
    }
    const std::string what = "dim " + std::to_string(dim);
    test::check_gradients([dim](const std::vector<Tensor>& in) { return concat(in, dim); }, parts, {}, "concat " + what);
    // One input without gradient.
    parts[1] = parts[1].detach();
    test::check_gradients([dim](const std::vector<Tensor>& in) { return concat(in, dim); }, parts, {},
                          "concat, middle constant, " + what);

    Shape s{3, 4, 5, 6};
    Tensor x = test::random_tensor(s, 40 + dim).set_requires_grad(true);
    std::vector<int64_t> split_sizes = {1, s[dim] - 3, 2};
    for (int k = 0; k < 3; ++k)
      test::check_gradients([dim, split_sizes, k](const std::vector<Tensor>& in) { return split(in[0], split_sizes, dim)[k]; },
                            {x}, {}, "split piece " + std::to_string(k) + " " + what);
  }
  // Negative dims count from the end, as in PyTorch.
  Tensor a = test::random_tensor({2, 3}, 50), b = test::random_tensor({2, 1}, 51);
  CHECK(concat({a, b}, -1).shape() == Shape{2, 4});
  CHECK(split(concat({a, b}, -1), {3, 1}, -1)[1].to_vector() == b.to_vector());
}

TEST_CASE("shape: reshape and flatten are recorded views") {
  Tensor x = test::random_tensor({2, 3, 4}, 60).set_requires_grad(true);
  Tensor y = reshape(x, {6, 4});
  CHECK(y.data() == x.data());
  CHECK(y.shape() == Shape{6, 4});
  test::check_gradients([](const std::vector<Tensor>& in) { return reshape(in[0], {4, 3, 2}); }, {x}, {}, "reshape");
  test::check_gradients([](const std::vector<Tensor>& in) { return flatten(in[0]); }, {x}, {}, "flatten");
  CHECK(flatten(x).shape() == Shape{2, 12});
  // Used twice: both gradients reach x.
  test::check_gradients([](const std::vector<Tensor>& in) { return mul(reshape(in[0], {24}), reshape(flatten(in[0]), {24})); },
                        {x}, {}, "reshape used with another view");
}

TEST_CASE("shape: invalid arguments are rejected") {
  Tensor x = Tensor::zeros({2, 3});
  CHECK_THROWS_AS(reshape(x, {4, 2}), Error);
  CHECK_THROWS_AS(concat({x, Tensor::zeros({3, 3})}, 1), Error);
  CHECK_THROWS_AS(concat({}, 0), Error);
  CHECK_THROWS_AS(split(x, {1, 1}, 1), Error);
  CHECK_THROWS_AS(split(x, {1, 2}, 2), Error);
}
