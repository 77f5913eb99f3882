// Reference fixtures written by tests/reference/make_torch_fixtures.py (PyTorch, never our code).
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/tensor.h"

namespace im::test {

// Loads tests/reference/fixtures/<name>.json.
nlohmann::json load_fixture(const std::string& name);
// A tensor stored in a fixture as {"shape": [...], "data": [...]}.
Tensor fixture_tensor(const nlohmann::json& j);
std::vector<float> fixture_values(const nlohmann::json& j);

}  // namespace im::test
