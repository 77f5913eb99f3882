// Bad inputs: each must raise im::io::Error whose message names the file and the problem.
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <limits>

#include "io/error.h"
#include "io/gzip.h"
#include "io/nifti.h"
#include "io_test_util.h"
#include "support/paths.h"

namespace fs = std::filesystem;
using namespace im;

namespace {

io::Volume small() {
  return test::synthetic({6, 5, 4}, test::diag_affine(2, 2, 2, -5, -4, -3),
                         [](int64_t x, int64_t y, int64_t z) { return float(1 + x + 6 * y + 30 * z); });
}

// Writes `bytes` to a fresh file and expects read_volume to fail naming it and `problem`.
void expect_error(const std::string& dir, const std::string& name, const std::vector<uint8_t>& bytes, const std::string& problem,
                  const io::ReadOptions& o = {}) {
  const std::string path = dir + "/" + name;
  test::write_bytes(path, bytes);
  INFO(name);
  try {
    io::read_volume(path, o);
    FAIL("no error for " << name);
  } catch (const io::Error& e) {
    const std::string msg = e.what();
    INFO(msg);
    REQUIRE(msg.find(path) != std::string::npos);
    REQUIRE(msg.find(problem) != std::string::npos);
  }
}

}  // namespace

TEST_CASE("bad input: missing, empty, not NIfTI, folder", "[nifti][bad]") {
  const std::string dir = test::scratch_dir("bad_basic");
  REQUIRE_THROWS_WITH(io::read_volume(dir + "/nope.nii.gz"), Catch::Contains(dir + "/nope.nii.gz") && Catch::Contains("no such file"));
  expect_error(dir, "empty.nii", {}, "empty file");
  std::vector<uint8_t> noise(5000);
  uint32_t s = 12345;
  for (auto& b : noise) s = s * 1664525u + 1013904223u, b = static_cast<uint8_t>(s >> 24);
  noise[0] = 'x';  // not the gzip magic
  expect_error(dir, "noise.nii", noise, "not a NIfTI file");
  expect_error(dir, "short.nii", std::vector<uint8_t>(100, 0), "not a NIfTI file");
  fs::create_directories(dir + "/folder.nii");
  REQUIRE_THROWS_WITH(io::read_volume(dir + "/folder.nii"), Catch::Contains("folder.nii") && Catch::Contains("not a regular file"));
  // Random bytes behind a gzip magic: a corrupt stream, not a crash.
  std::vector<uint8_t> fake_gz = noise;
  fake_gz[0] = 0x1f, fake_gz[1] = 0x8b, fake_gz[2] = 8, fake_gz[3] = 0;
  const std::string path = dir + "/fake.nii.gz";
  test::write_bytes(path, fake_gz);
  REQUIRE_THROWS_AS(io::read_volume(path), io::Error);
  REQUIRE_THROWS_WITH(io::read_volume(path), Catch::Contains(path));
}

TEST_CASE("bad input: truncated .nii and .nii.gz at many cut points", "[nifti][bad]") {
  const std::string dir = test::scratch_dir("bad_truncated");
  const auto gz = io::encode_volume(small(), true), raw = io::encode_volume(small(), false);
  for (size_t cut : {size_t(1), size_t(2), size_t(10), size_t(18), gz.size() / 4, gz.size() / 2, gz.size() - 9, gz.size() - 4, gz.size() - 1}) {
    const std::vector<uint8_t> b(gz.begin(), gz.begin() + static_cast<long>(cut));
    const std::string path = dir + "/cut" + std::to_string(cut) + ".nii.gz";
    test::write_bytes(path, b);
    INFO("cut at " << cut << " of " << gz.size());
    REQUIRE_THROWS_AS(io::read_volume(path), io::Error);
    REQUIRE_THROWS_WITH(io::read_volume(path), Catch::Contains(path));
  }
  for (size_t cut : {size_t(200), size_t(348), size_t(352), raw.size() - 1})
    expect_error(dir, "cut" + std::to_string(cut) + ".nii", std::vector<uint8_t>(raw.begin(), raw.begin() + static_cast<long>(cut)),
                 cut < 348 ? "not a NIfTI file" : "file too short");
  const std::vector<uint8_t> b(gz.begin(), gz.begin() + static_cast<long>(gz.size() / 2));
  test::write_bytes(dir + "/half.nii.gz", b);
  REQUIRE_THROWS_WITH(io::read_volume(dir + "/half.nii.gz"), Catch::Contains("truncated"));
}

TEST_CASE("bad input: wrong vox_offset", "[nifti][bad]") {
  const std::string dir = test::scratch_dir("bad_offset");
  auto b = io::encode_volume(small(), false);
  test::set_field<float>(b, test::n1::vox_offset, 100.0f);
  expect_error(dir, "inside.nii", b, "vox_offset");
  test::set_field<float>(b, test::n1::vox_offset, 352.5f);
  expect_error(dir, "fraction.nii", b, "vox_offset");
  test::set_field<float>(b, test::n1::vox_offset, 4000.0f);
  expect_error(dir, "past.nii", b, "wrong vox_offset");
  test::set_field<float>(b, test::n1::vox_offset, std::numeric_limits<float>::quiet_NaN());
  expect_error(dir, "nan.nii", b, "vox_offset");
}

TEST_CASE("bad input: dimensions (4-D, zero, negative, huge, dim[0])", "[nifti][bad]") {
  const std::string dir = test::scratch_dir("bad_dims");
  const auto good = io::encode_volume(small(), false);
  auto b = good;
  test::set_field<int16_t>(b, test::n1::dim, 4);
  test::set_field<int16_t>(b, test::n1::dim + 8, 3);
  expect_error(dir, "four_d.nii", b, "4-D file with 3 volumes");
  b = good;
  test::set_field<int16_t>(b, test::n1::dim + 4, 0);
  expect_error(dir, "zero.nii", b, "zero dimension");
  b = good;
  test::set_field<int16_t>(b, test::n1::dim + 2, -6);
  expect_error(dir, "negative.nii", b, "negative dimension");
  b = good;
  for (int i = 1; i <= 3; ++i) test::set_field<int16_t>(b, test::n1::dim + 2 * i, 32000);
  expect_error(dir, "huge.nii", b, "absurd dimensions");
  b = good;
  test::set_field<int16_t>(b, test::n1::dim, 9);
  expect_error(dir, "dim0.nii", b, "dim[0]");
  b = good;
  test::set_field<int16_t>(b, test::n1::dim, 5);
  test::set_field<int16_t>(b, test::n1::dim + 10, 2);
  expect_error(dir, "five_d.nii", b, "only 3-D and 4-D");
  b = good;  // huge in a gzip: refused before allocating
  test::set_field<int16_t>(b, test::n1::dim + 2, 30000);
  test::set_field<int16_t>(b, test::n1::dim + 4, 1000);  // 480 MB declared, under the voxel limit
  expect_error(dir, "huge.nii.gz", io::gzip_compress(b.data(), b.size(), 1, 1), "cannot hold");
}

TEST_CASE("bad input: datatype, magic, NaN/Inf voxels, singular affine", "[nifti][bad]") {
  const std::string dir = test::scratch_dir("bad_misc");
  const auto good = io::encode_volume(small(), false);
  auto b = good;
  test::set_field<int16_t>(b, test::n1::datatype, 128);  // RGB24
  expect_error(dir, "rgb.nii", b, "unsupported datatype");
  b = good;
  std::memcpy(b.data() + test::n1::magic, "ni1", 4);
  expect_error(dir, "pair.nii", b, ".hdr/.img");
  b = good;
  b[test::n1::magic] = 'x';
  expect_error(dir, "magic.nii", b, "magic");

  io::Volume v = small();
  v.data[7] = std::numeric_limits<float>::quiet_NaN();
  v.data[9] = std::numeric_limits<float>::infinity();
  const auto nan_bytes = io::encode_volume(v, true);
  expect_error(dir, "nan.nii.gz", nan_bytes, "2 voxel(s) are NaN or Inf");
  io::ReadOptions zero;
  zero.nonfinite = io::NonFinite::zero;
  const io::Volume z = io::read_volume(dir + "/nan.nii.gz", zero);
  REQUIRE(z.data[7] == 0);
  REQUIRE(z.data[9] == 0);
  REQUIRE(z.data[8] == v.data[8]);

  b = good;  // sform with a zero row
  for (int i = 0; i < 4; ++i) test::set_field<float>(b, test::n1::srow_y + 4 * i, 0.0f);
  expect_error(dir, "singular.nii", b, "singular");
  b = good;  // sform whose columns are parallel
  for (size_t row : {test::n1::srow_x, test::n1::srow_y, test::n1::srow_z})
    for (int i = 0; i < 3; ++i) test::set_field<float>(b, row + 4 * i, 1.0f);
  expect_error(dir, "parallel.nii", b, "singular");
  b = good;
  test::set_field<float>(b, test::n1::srow_x, std::numeric_limits<float>::infinity());
  expect_error(dir, "inf_affine.nii", b, "not finite");
  // A scale factor that overflows float32 gives Inf voxels: refused too.
  b = good;
  test::set_field<float>(b, test::n1::scl_slope, 3e38f);
  expect_error(dir, "overflow.nii", b, "NaN or Inf");
}

TEST_CASE("bad input: a voxel size of 0, negative or NaN where the geometry comes from pixdim", "[nifti][bad]") {
  const std::string dir = test::scratch_dir("bad_pixdim");
  auto good = io::encode_volume(small(), false);
  test::set_field<int16_t>(good, test::n1::sform_code, 0);
  int k = 0;
  for (const float bad : {0.f, -2.f, std::numeric_limits<float>::quiet_NaN()})
    for (const int16_t qform_code : {1, 0}) {  // the qform, or no transform at all (NIfTI method 1)
      auto b = good;
      test::set_field<int16_t>(b, test::n1::qform_code, qform_code);
      test::set_field<float>(b, test::n1::pixdim + 8, bad);
      expect_error(dir, "pixdim" + std::to_string(k++) + ".nii", b, "pixdim[2]");
    }
  // With an sform, pixdim does not make the geometry: read as before.
  auto b = io::encode_volume(small(), false);
  test::set_field<float>(b, test::n1::pixdim + 8, 0.f);
  test::write_bytes(dir + "/sform.nii", b);
  REQUIRE(io::read_volume(dir + "/sform.nii").affine == small().affine);
}
