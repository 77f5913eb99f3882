// Fixture loading.
#include "support/fixtures.h"

#include <catch2/catch.hpp>

#include <fstream>

#include "support/paths.h"

namespace im::test {

nlohmann::json load_fixture(const std::string& name) {
  std::string path = fixture_dir() + "/" + name + ".json";
  std::ifstream in(path);
  INFO("fixture " << path);
  REQUIRE(in.good());
  return nlohmann::json::parse(in);
}

std::vector<float> fixture_values(const nlohmann::json& j) { return j.at("data").get<std::vector<float>>(); }

Tensor fixture_tensor(const nlohmann::json& j) {
  std::vector<int64_t> dims = j.at("shape").get<std::vector<int64_t>>();
  return Tensor::from_vector(fixture_values(j), Shape::of(dims.data(), static_cast<int>(dims.size())));
}

void load_fixture_weights(const nlohmann::json& weights, const std::vector<std::pair<std::string, Tensor>>& state) {
  size_t loaded = 0;
  for (const auto& [name, t] : state) {
    INFO(name);
    REQUIRE(weights.contains(name));
    const Tensor src = fixture_tensor(weights[name]);
    REQUIRE(src.shape() == t.shape());
    Tensor(t).copy_from(src);
    ++loaded;
  }
  CHECK(loaded == weights.size());
}

}  // namespace im::test
