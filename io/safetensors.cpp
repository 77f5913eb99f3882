// safetensors reading and writing, with full validation of untrusted files.
#include "io/safetensors.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <cstring>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "io/atomic_file.h"
#include "io/error.h"

namespace im::io {

const NamedArray* SafeTensors::find(const std::string& name) const {
  for (const NamedArray& a : tensors)
    if (a.name == name) return &a;
  return nullptr;
}

namespace {
int64_t numel(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

float half_to_float(uint16_t h) {
  uint32_t sign = (h >> 15) & 1, exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
  float v;
  if (exp == 0)
    v = std::ldexp(static_cast<float>(mant), -24);
  else if (exp == 31)
    v = mant ? std::numeric_limits<float>::quiet_NaN() : std::numeric_limits<float>::infinity();
  else
    v = std::ldexp(static_cast<float>(mant | 0x400), static_cast<int>(exp) - 25);
  return sign ? -v : v;
}
}  // namespace

void write_safetensors(const std::string& path, const SafeTensors& st) {
  nlohmann::json header = nlohmann::json::object();
  if (!st.metadata.empty()) header["__metadata__"] = st.metadata;
  size_t offset = 0;
  for (const NamedArray& a : st.tensors) {
    if (a.name.empty() || a.name == "__metadata__") fail(path, "invalid tensor name \"" + a.name + "\"");
    if (header.contains(a.name)) fail(path, "duplicate tensor name \"" + a.name + "\"");
    if (numel(a.shape) != static_cast<int64_t>(a.values.size()))
      fail(path, "tensor " + a.name + ": shape does not match its " + std::to_string(a.values.size()) + " values");
    size_t bytes = a.values.size() * sizeof(float);
    header[a.name] = {{"dtype", "F32"}, {"shape", a.shape}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  std::string h = header.dump();
  // The data section starts 8-byte aligned (the format recommends padding the header with spaces).
  while ((8 + h.size()) % 8) h.push_back(' ');
  std::string buf;
  buf.resize(8 + h.size() + offset);
  uint64_t n = h.size();
  for (int i = 0; i < 8; ++i) buf[i] = static_cast<char>((n >> (8 * i)) & 0xff);  // little-endian
  std::memcpy(&buf[8], h.data(), h.size());
  size_t pos = 8 + h.size();
  for (const NamedArray& a : st.tensors) {
    std::memcpy(&buf[pos], a.values.data(), a.values.size() * sizeof(float));
    pos += a.values.size() * sizeof(float);
  }
  write_file_atomic(path, buf.data(), buf.size(), true);
}

SafeTensors read_safetensors(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, "cannot open the file (missing or unreadable)");
  in.seekg(0, std::ios::end);
  const int64_t size = static_cast<int64_t>(in.tellg());
  in.seekg(0);
  if (size < 8) fail(path, "not a safetensors file: shorter than its 8-byte header length");
  unsigned char lenb[8];
  in.read(reinterpret_cast<char*>(lenb), 8);
  uint64_t hlen = 0;
  for (int i = 0; i < 8; ++i) hlen |= static_cast<uint64_t>(lenb[i]) << (8 * i);
  if (hlen == 0 || hlen > 100u * 1024 * 1024 || static_cast<int64_t>(hlen) > size - 8)
    fail(path, "not a safetensors file or truncated: header length " + std::to_string(hlen) + " for a file of " +
                   std::to_string(size) + " bytes");
  std::string htext(hlen, '\0');
  in.read(&htext[0], static_cast<std::streamsize>(hlen));
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(htext);
  } catch (const std::exception& e) {
    fail(path, std::string("corrupted safetensors header (invalid JSON): ") + e.what());
  }
  if (!header.is_object()) fail(path, "corrupted safetensors header: not a JSON object");
  const int64_t data_start = 8 + static_cast<int64_t>(hlen), data_size = size - data_start;
  std::vector<char> data(static_cast<size_t>(data_size));
  in.read(data.data(), data_size);
  if (in.gcount() != data_size) fail(path, "truncated: could not read the data section");

  SafeTensors st;
  std::vector<std::pair<int64_t, int64_t>> ranges;
  for (auto it = header.begin(); it != header.end(); ++it) {
    const std::string& name = it.key();
    const nlohmann::json& v = it.value();
    if (name == "__metadata__") {
      if (!v.is_object()) fail(path, "__metadata__ is not an object");
      for (auto m = v.begin(); m != v.end(); ++m) {
        if (!m.value().is_string()) fail(path, "__metadata__ value of \"" + m.key() + "\" is not a string");
        st.metadata[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    NamedArray a;
    a.name = name;
    std::string dtype;
    int64_t b = 0, e = 0;
    try {
      dtype = v.at("dtype").get<std::string>();
      a.shape = v.at("shape").get<std::vector<int64_t>>();
      auto off = v.at("data_offsets").get<std::vector<int64_t>>();
      if (off.size() != 2) throw std::runtime_error("data_offsets needs two values");
      b = off[0], e = off[1];
    } catch (const std::exception& ex) {
      fail(path, "tensor \"" + name + "\": malformed entry (" + ex.what() + ")");
    }
    for (int64_t d : a.shape)
      if (d < 0 || d > (int64_t(1) << 40)) fail(path, "tensor \"" + name + "\": invalid dimension " + std::to_string(d));
    int esize = dtype == "F32" ? 4 : (dtype == "F16" || dtype == "BF16") ? 2 : dtype == "F64" ? 8 : 0;
    if (esize == 0) fail(path, "tensor \"" + name + "\": unsupported dtype " + dtype + " (F32, F16, BF16, F64 are read)");
    const int64_t n = numel(a.shape);
    if (b < 0 || e < b || e > data_size || e - b != n * esize)
      fail(path, "tensor \"" + name + "\": data_offsets [" + std::to_string(b) + ", " + std::to_string(e) +
                     ") do not match its shape and dtype, or lie beyond the end of the file (truncated?)");
    ranges.emplace_back(b, e);
    a.values.resize(static_cast<size_t>(n));
    const char* src = data.data() + b;
    for (int64_t i = 0; i < n; ++i) {
      if (esize == 4) {
        std::memcpy(&a.values[i], src + 4 * i, 4);
      } else if (esize == 8) {
        double d;
        std::memcpy(&d, src + 8 * i, 8);
        a.values[i] = static_cast<float>(d);
      } else {
        uint16_t h;
        std::memcpy(&h, src + 2 * i, 2);
        if (dtype == "BF16") {
          uint32_t u = static_cast<uint32_t>(h) << 16;
          std::memcpy(&a.values[i], &u, 4);
        } else {
          a.values[i] = half_to_float(h);
        }
      }
    }
    st.tensors.push_back(std::move(a));
  }
  std::sort(ranges.begin(), ranges.end());
  for (size_t i = 1; i < ranges.size(); ++i)
    if (ranges[i].first < ranges[i - 1].second) fail(path, "corrupted: two tensors overlap in the data section");
  return st;
}

}  // namespace im::io
