// safetensors files (the format of Hugging Face's safetensors: 8-byte little-endian header length,
// a JSON header of {name: {dtype, shape, data_offsets}} plus "__metadata__" of string values, then
// the raw little-endian data). We write F32 only and read F32 (F16/BF16/F64 are converted).
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace im::io {

struct NamedArray {
  std::string name;
  std::vector<int64_t> shape;
  std::vector<float> values;
};

struct SafeTensors {
  std::vector<NamedArray> tensors;
  std::map<std::string, std::string> metadata;
  const NamedArray* find(const std::string& name) const;
};

// Written atomically (temporary file in the same folder, then rename). Throws im::io::Error.
void write_safetensors(const std::string& path, const SafeTensors& st);
// Validates everything (header length and JSON, dtypes, shapes against offsets, offsets against the
// file size, no overlaps); a corrupted or truncated file gives an im::io::Error naming the file and
// the problem, never a crash.
SafeTensors read_safetensors(const std::string& path);

}  // namespace im::io
