// Read -> write -> read round trips: every shared volume, every datatype, both NIfTI versions, 4-D
// volume selection, atomic writes.
#include <catch2/catch.hpp>

#include <filesystem>

#include "io/error.h"
#include "io/nifti.h"
#include "io/volume.h"
#include "io_test_util.h"
#include "support/paths.h"

namespace fs = std::filesystem;
using namespace im;

namespace {

// The header fields that matter for an output to stand in for its input.
void require_same_header(const io::Volume& a, const io::Volume& b, bool same_datatype) {
  REQUIRE(a.dim == b.dim);
  REQUIRE(a.affine == b.affine);  // bit-identical: the file's own geometry fields are written back
  REQUIRE(a.header.qform_code == b.header.qform_code);
  REQUIRE(a.header.sform_code == b.header.sform_code);
  REQUIRE(a.header.qform == b.header.qform);
  REQUIRE(a.header.sform == b.header.sform);
  for (int i = 0; i < 4; ++i) REQUIRE(a.header.pixdim[i] == b.header.pixdim[i]);
  REQUIRE(a.header.xyzt_units == b.header.xyzt_units);
  REQUIRE(a.header.descrip == b.header.descrip);
  REQUIRE(a.header.intent_code == b.header.intent_code);
  REQUIRE(a.header.dim_info == b.header.dim_info);
  REQUIRE(a.header.extensions.size() == b.header.extensions.size());
  if (same_datatype) REQUIRE(a.header.datatype == b.header.datatype);
}

// Writes every file in its own datatype as .nii.gz and reads it back; every `float_every`-th file
// also as float32 .nii (the same code path for all files, so a sample keeps the test short).
void round_trip(const std::vector<std::string>& files, const std::string& scratch_name, size_t float_every = 1) {
  const std::string dir = test::scratch_dir(scratch_name);
  for (size_t i = 0; i < files.size(); ++i) {
    INFO(files[i]);
    const io::Volume a = io::read_volume(files[i]);
    io::WriteOptions keep;
    keep.keep_datatype = true;
    keep.gzip_level = 1;
    io::write_volume(dir + "/keep.nii.gz", a, keep);
    const io::Volume b = io::read_volume(dir + "/keep.nii.gz");
    require_same_header(a, b, true);
    REQUIRE(a.data == b.data);
    if (i % float_every) continue;
    io::write_volume(dir + "/float.nii", a);
    const io::Volume c = io::read_volume(dir + "/float.nii");
    require_same_header(a, c, false);
    REQUIRE(c.header.datatype == io::dtype::float32);
    REQUIRE(a.data == c.data);
  }
  REQUIRE(test::temp_leftovers(dir).empty());
}

}  // namespace

TEST_CASE("round trip: every IXI T1 volume", "[nifti][data]") {
  const auto files = test::data_files("ixi_hh_2mm/t1");
  REQUIRE(files.size() == 138);
  round_trip(files, "rt_ixi_t1", 5);
}

TEST_CASE("round trip: every IXI label map", "[nifti][data]") {
  // All 138: here they are on the 2 mm grid (120x120x90 uint8, not the 256x256x150 the data README
  // announces), as small as the T1 volumes.
  const auto files = test::data_files("ixi_hh_2mm/labels");
  REQUIRE(files.size() == 138);
  round_trip(files, "rt_ixi_labels", 5);
}

TEST_CASE("round trip: unseen scanner, clinical and template volumes", "[nifti][data]") {
  std::vector<std::string> files;
  for (const char* sub : {"unseen_scanners", "clinical_t1", "templates"})
    for (const auto& f : test::data_files(sub)) files.push_back(f);
  REQUIRE(files.size() == 11);
  round_trip(files, "rt_others");
}

TEST_CASE("round trip: every datatype, NIfTI-1 and -2, .nii and .nii.gz", "[nifti]") {
  const std::string dir = test::scratch_dir("rt_types");
  const io::Mat4 oblique = {0.9, -0.2, 0.1, -10.5, 0.25, 1.1, 0.05, 20.25, -0.1, 0.0, 2.5, 5.0, 0, 0, 0, 1};
  for (int dt : {io::dtype::uint8, io::dtype::int8, io::dtype::int16, io::dtype::uint16, io::dtype::int32, io::dtype::uint32,
                 io::dtype::int64, io::dtype::uint64, io::dtype::float32, io::dtype::float64})
    for (int version : {1, 2})
      for (const char* ext : {".nii", ".nii.gz"}) {
        INFO(io::dtype_name(dt) << " NIfTI-" << version << ext);
        io::Volume v = test::synthetic({7, 5, 3}, oblique, [](int64_t x, int64_t y, int64_t z) { return float(x + 7 * y + 35 * z); });
        v.header.datatype = dt;
        v.header.descrip = "synthetic";
        io::WriteOptions o;
        o.keep_datatype = true;
        o.version = version;
        const std::string p = dir + "/v" + ext;
        io::write_volume(p, v, o);
        const io::Volume b = io::read_volume(p);
        REQUIRE(b.header.version == version);
        REQUIRE(b.header.datatype == dt);
        REQUIRE(b.data == v.data);
        REQUIRE(io::max_abs_diff(b.affine, v.affine) < 1e-5);  // NIfTI-1 stores the sform as float32
        REQUIRE(b.header.descrip == "synthetic");
      }
}

TEST_CASE("round trip: qform_code = sform_code = 0 (orientation unknown) is written back with both codes 0", "[nifti]") {
  const std::string dir = test::scratch_dir("rt_no_codes");
  const io::Volume v = test::synthetic({6, 5, 4}, test::diag_affine(2, 2.5, 3, -5, -4, -3),
                                       [](int64_t x, int64_t y, int64_t z) { return float(1 + x + 6 * y + 30 * z); });
  auto b = io::encode_volume(v, false);
  test::set_field<int16_t>(b, test::n1::qform_code, 0);
  test::set_field<int16_t>(b, test::n1::sform_code, 0);
  test::write_bytes(dir + "/in.nii", b);
  const io::Volume a = io::read_volume(dir + "/in.nii");
  REQUIRE(a.header.qform_code == 0);
  REQUIRE(a.header.sform_code == 0);
  REQUIRE(a.affine == test::diag_affine(2, 2.5, 3));  // NIfTI method 1: the voxel sizes alone
  for (const char* name : {"/out.nii", "/out.nii.gz"}) {
    io::write_volume(dir + name, a);
    const io::Volume c = io::read_volume(dir + name);
    require_same_header(a, c, false);
    REQUIRE(c.data == a.data);
  }
}

TEST_CASE("round trip: non-integer values into integer types keep precision", "[nifti]") {
  const std::string dir = test::scratch_dir("rt_scaled");
  io::Volume v = test::synthetic({16, 16, 4}, test::diag_affine(1, 1, 1),
                                 [](int64_t x, int64_t y, int64_t z) { return 0.37f * float(x) - 1.3f * float(y) + 0.011f * float(z); });
  float lo = 1e30f, hi = -1e30f;
  for (float x : v.data) lo = std::min(lo, x), hi = std::max(hi, x);
  for (int dt : {io::dtype::uint8, io::dtype::int16, io::dtype::uint16}) {
    INFO(io::dtype_name(dt));
    v.header.datatype = dt;
    v.header.scl_slope = 1;
    io::WriteOptions o;
    o.keep_datatype = true;
    io::write_volume(dir + "/s.nii", v, o);
    const io::Volume b = io::read_volume(dir + "/s.nii");
    const double levels = dt == io::dtype::uint8 ? 255 : dt == io::dtype::int16 ? 32767 : 65535;
    // Half a quantization step of the range is the most rounding may cost.
    const double tol = 0.5 * (hi - std::min(0.0f, lo)) / (dt == io::dtype::int16 ? levels / 2 : levels) * 1.01 + 1e-6;
    for (size_t i = 0; i < v.data.size(); ++i) REQUIRE(std::fabs(b.data[i] - v.data[i]) <= tol);
  }
}

TEST_CASE("4-D files: a volume index picks one volume", "[nifti]") {
  const std::string dir = test::scratch_dir("rt_4d");
  io::Volume v = test::synthetic({4, 3, 2}, test::diag_affine(1, 1, 1), [](int64_t x, int64_t y, int64_t z) { return float(x + 4 * y + 12 * z); });
  std::vector<uint8_t> b = io::encode_volume(v, false);
  // Turn it into a 2-volume 4-D file: the second volume is the first plus 100.
  test::set_field<int16_t>(b, test::n1::dim, 4);
  test::set_field<int16_t>(b, test::n1::dim + 8, 2);
  for (float x : v.data) {
    const float y = x + 100;
    const auto* p = reinterpret_cast<const uint8_t*>(&y);
    b.insert(b.end(), p, p + 4);
  }
  test::write_bytes(dir + "/four.nii", b);
  REQUIRE_THROWS_WITH(io::read_volume(dir + "/four.nii"), Catch::Contains("4-D") && Catch::Contains("four.nii"));
  io::ReadOptions o;
  o.volume = 1;
  const io::Volume second = io::read_volume(dir + "/four.nii", o);
  for (size_t i = 0; i < v.data.size(); ++i) REQUIRE(second.data[i] == v.data[i] + 100);
  o.volume = 2;
  REQUIRE_THROWS_WITH(io::read_volume(dir + "/four.nii", o), Catch::Contains("out of range"));
}

TEST_CASE("atomic writes: no partial file, no clobbering without overwrite", "[nifti]") {
  const std::string dir = test::scratch_dir("rt_atomic");
  const io::Volume v = test::synthetic({8, 8, 8}, test::diag_affine(1, 1, 1), [](int64_t x, int64_t, int64_t) { return float(x); });
  // The target is a folder: the rename fails and the temporary must be gone.
  fs::create_directories(dir + "/taken.nii");
  REQUIRE_THROWS_AS(io::write_volume(dir + "/taken.nii", v), io::Error);
  REQUIRE(test::temp_leftovers(dir).empty());
  // A missing folder: nothing is created.
  REQUIRE_THROWS_WITH(io::write_volume(dir + "/missing/out.nii.gz", v), Catch::Contains("missing/out.nii.gz"));
  REQUIRE(!fs::exists(dir + "/missing"));
  // overwrite = false keeps an existing file untouched.
  io::write_volume(dir + "/a.nii", v);
  const auto before = test::read_bytes(dir + "/a.nii");
  io::Volume w = v;
  w.data[0] = 42;
  io::WriteOptions o;
  o.overwrite = false;
  REQUIRE_THROWS_WITH(io::write_volume(dir + "/a.nii", w, o), Catch::Contains("already exists"));
  REQUIRE(test::read_bytes(dir + "/a.nii") == before);
  io::write_volume(dir + "/a.nii", w);  // the default replaces it
  REQUIRE(io::read_volume(dir + "/a.nii").data[0] == 42);
  REQUIRE(test::temp_leftovers(dir).empty());
  REQUIRE_THROWS_WITH(io::write_volume(dir + "/a.img", v), Catch::Contains(".nii"));
}

TEST_CASE("gzip output is the same for any thread count and readable in pieces", "[nifti]") {
  // Large enough for several 8 MiB gzip members.
  const io::Volume v = test::synthetic({256, 256, 80}, test::diag_affine(1, 1, 1),
                                       [](int64_t x, int64_t y, int64_t z) { return float((x * 7 + y * 13 + z * 29) % 1000) / 7.0f; });
  io::WriteOptions o1, o2;
  o1.threads = 1, o2.threads = 2;
  const auto a = io::encode_volume(v, true, o1), b = io::encode_volume(v, true, o2);
  REQUIRE(a == b);
  REQUIRE(io::read_volume_bytes(a, "multi-member").data == v.data);
}
