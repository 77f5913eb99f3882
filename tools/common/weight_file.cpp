// Named tensors in safetensors tables with their checks; the small trainers' schedule and logs.
#include "tools/common/weight_file.h"

#include <algorithm>
#include <cmath>
#include <fstream>

#include "io/error.h"

namespace im::tools {

void put_tensors(io::SafeTensors& st, const NamedTensors& state) {
  for (const auto& [name, t] : state) {
    io::NamedArray a;
    a.name = name;
    for (int i = 0; i < t.ndim(); ++i) a.shape.push_back(t.size(i));
    a.values = t.to_vector();
    st.tensors.push_back(std::move(a));
  }
}

void take_tensors(const std::string& path, const io::SafeTensors& st, NamedTensors& state, const std::string& missing_hint) {
  for (auto& [name, t] : state) {
    const io::NamedArray* a = st.find(name);
    if (!a) io::fail(path, "missing tensor \"" + name + "\"" + missing_hint);
    std::vector<int64_t> want;
    for (int i = 0; i < t.ndim(); ++i) want.push_back(t.size(i));
    if (a->shape != want)
      io::fail(path, "tensor \"" + name + "\" has shape " + nlohmann::json(a->shape).dump() + ", the network expects " +
                         nlohmann::json(want).dump());
    for (float v : a->values)
      if (!std::isfinite(v)) io::fail(path, "tensor \"" + name + "\" holds NaN or Inf");
    t.copy_from(Tensor::from_vector(a->values, t.shape()));
  }
}

float warmup_cosine_lr(float lr, float lr_min, int64_t warmup, int64_t steps, int64_t step) {
  if (step < warmup) return lr * static_cast<float>(step + 1) / static_cast<float>(warmup);
  const double t = static_cast<double>(step - warmup) / static_cast<double>(std::max<int64_t>(1, steps - warmup));
  return lr_min + (lr - lr_min) * static_cast<float>(0.5 * (1 + std::cos(3.141592653589793 * std::min(1.0, t))));
}

void append_json_line(const std::string& path, const nlohmann::json& j) {
  std::ofstream out(path, std::ios::app);
  out << j.dump() << "\n";
}

}  // namespace im::tools
