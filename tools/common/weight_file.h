// What the small networks' weight files (brain mask, thick slices) share: named tensors into and out
// of a safetensors table with every check, and the training loops' schedule and log lines.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/tensor.h"
#include "io/safetensors.h"

namespace im::tools {

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

// Appends every tensor of `state` to `st` (float32 values, its shape).
void put_tensors(io::SafeTensors& st, const NamedTensors& state);
// Copies every tensor of `state` from `st`, read from `path`: each must be present (else the message
// names it, followed by `missing_hint`), of the network's shape and finite. Throws io::Error naming
// the file and the tensor.
void take_tensors(const std::string& path, const io::SafeTensors& st, NamedTensors& state, const std::string& missing_hint = "");

// Linear warm-up to `lr` over `warmup` steps, then a cosine from `lr` to `lr_min` at `steps`.
float warmup_cosine_lr(float lr, float lr_min, int64_t warmup, int64_t steps, int64_t step);
// Appends one JSON line to a log file (log.jsonl).
void append_json_line(const std::string& path, const nlohmann::json& j);

}  // namespace im::tools
