// Reference fixtures written by tests/reference/make_torch_fixtures.py (PyTorch, never our code).
#pragma once
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/tensor.h"

namespace im::test {

// Loads tests/reference/fixtures/<name>.json.
nlohmann::json load_fixture(const std::string& name);
// A tensor stored in a fixture as {"shape": [...], "data": [...]}.
Tensor fixture_tensor(const nlohmann::json& j);
std::vector<float> fixture_values(const nlohmann::json& j);
// Copies a fixture's "weights" ({name: tensor}) into a network's named tensors (its state()): each
// must be in the fixture with the same shape (Catch REQUIRE), and the fixture holds no other.
void load_fixture_weights(const nlohmann::json& weights, const std::vector<std::pair<std::string, Tensor>>& state);

}  // namespace im::test
