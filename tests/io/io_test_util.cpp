// Implementation of the data-path test helpers.
#include "io_test_util.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>

#include "support/paths.h"

namespace fs = std::filesystem;

namespace im::test {

io::Volume synthetic(const io::Dims& dim, const io::Mat4& affine, const std::function<float(int64_t, int64_t, int64_t)>& f) {
  io::Volume v = io::make_volume(dim, affine);
  for (int64_t z = 0; z < dim[2]; ++z)
    for (int64_t y = 0; y < dim[1]; ++y)
      for (int64_t x = 0; x < dim[0]; ++x) v.at(x, y, z) = f(x, y, z);
  return v;
}

io::Mat4 diag_affine(double sx, double sy, double sz, double tx, double ty, double tz) {
  return {sx, 0, 0, tx, 0, sy, 0, ty, 0, 0, sz, tz, 0, 0, 0, 1};
}

std::vector<std::string> data_files(const std::string& sub) {
  std::vector<std::string> out;
  const std::string dir = data_path(sub);
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_regular_file() && io::has_nifti_extension(e.path().string())) out.push_back(e.path().string());
  if (out.empty()) throw std::runtime_error("the shared data folder " + dir + " holds no NIfTI volume");
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<uint8_t> base64_decode(const std::string& s) {
  static const std::string chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::vector<uint8_t> out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : s) {
    const size_t v = chars.find(c);
    if (v == std::string::npos) continue;  // '=' padding
    acc = (acc << 6) | static_cast<uint32_t>(v), bits += 6;
    if (bits >= 8) bits -= 8, out.push_back(static_cast<uint8_t>(acc >> bits));
  }
  return out;
}

std::vector<uint8_t> read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(f), {});
}

void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream f(path, std::ios::binary);
  f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

}  // namespace im::test
