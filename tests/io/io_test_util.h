// Helpers shared by the data-path tests: synthetic volumes, raw header patching, the shared data
// listing, running the command-line tools.
#pragma once
#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "io/nifti.h"
#include "tests/support/command.h"

namespace im::test {

// A volume on `dim` with the given affine, voxel (x, y, z) = f(x, y, z).
io::Volume synthetic(const io::Dims& dim, const io::Mat4& affine, const std::function<float(int64_t, int64_t, int64_t)>& f);
io::Mat4 diag_affine(double sx, double sy, double sz, double tx = 0, double ty = 0, double tz = 0);

// Every volume of the shared data under `sub` (e.g. "ixi_hh_2mm/t1"), sorted; throws naming the folder
// when it is absent or holds none.
std::vector<std::string> data_files(const std::string& sub);

std::vector<uint8_t> base64_decode(const std::string& s);

// Raw file bytes.
std::vector<uint8_t> read_bytes(const std::string& path);
void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes);

// Reads/writes a field of an uncompressed NIfTI-1 header in place (little-endian).
template <class T>
T get_field(const std::vector<uint8_t>& b, size_t offset) {
  T v;
  std::memcpy(&v, b.data() + offset, sizeof v);
  return v;
}
template <class T>
void set_field(std::vector<uint8_t>& b, size_t offset, T v) {
  std::memcpy(b.data() + offset, &v, sizeof v);
}
// NIfTI-1 header offsets used by the tests.
namespace n1 {
constexpr size_t dim = 40, datatype = 70, bitpix = 72, pixdim = 76, vox_offset = 108, scl_slope = 112,
                 qform_code = 252, sform_code = 254, quatern_b = 256, srow_x = 280, srow_y = 296, srow_z = 312,
                 magic = 344;
}


}  // namespace im::test
