// NIfTI file names (io/nifti_name.h): extensions in any case, stems, and write_volume following them.
#include <catch2/catch.hpp>

#include "io/nifti.h"
#include "io/nifti_name.h"
#include "io_test_util.h"
#include "support/paths.h"

using namespace im;

TEST_CASE("NIfTI extensions are recognized in any case", "[nifti]") {
  for (const char* yes : {"a.nii", "a.nii.gz", "dir/IXI002.NII.GZ", "b.Nii", "c.nii.GZ", "d_T1w.NII"})
    CHECK(io::has_nifti_extension(yes));
  for (const char* no : {"a.img", "a.nii.bz2", "a.niigz", "a.gz", "nii", "a.nii.gz.tmp", ""}) CHECK_FALSE(io::has_nifti_extension(no));
  CHECK(io::is_gz_path("a.nii.gz"));
  CHECK(io::is_gz_path("A.NII.GZ"));
  CHECK_FALSE(io::is_gz_path("a.nii"));
  CHECK_FALSE(io::is_gz_path("a.gz"));
}

TEST_CASE("NIfTI stems drop the folder and the extension, in any case", "[nifti]") {
  CHECK(io::nifti_stem("data/t1/IXI002-Guys-0828_T1.nii.gz") == "IXI002-Guys-0828_T1");
  CHECK(io::nifti_stem("sub-01_T1w.NII.GZ") == "sub-01_T1w");
  CHECK(io::nifti_stem("x/patient01.Nii") == "patient01");
  CHECK(io::nifti_stem("x/notes.txt") == "notes.txt");
  CHECK(io::nifti_stem("x/a.nii.gz.bak") == "a.nii.gz.bak");
  CHECK(io::strip_nifti_extension("out/a.nii") == "out/a");             // folders kept
  CHECK(io::strip_nifti_extension("a.b.NII.gz") == "a.b");
  CHECK(io::strip_nifti_extension(".nii.gz") == ".nii.gz");              // only an extension: no subject
  CHECK(io::ends_with_nocase("sub-01_T1W", "_T1w"));
  CHECK_FALSE(io::ends_with_nocase("T1w", "_T1w"));
}

TEST_CASE("write_volume takes upper-case names and compresses .NII.GZ", "[nifti]") {
  const std::string dir = test::scratch_dir("nifti_name");
  const io::Volume v = test::synthetic({6, 5, 4}, test::diag_affine(1, 1, 1), [](int64_t x, int64_t y, int64_t z) { return float(x + 10 * y + 100 * z); });
  io::write_volume(dir + "/UP.NII.GZ", v);
  io::write_volume(dir + "/UP.NII", v);
  const std::vector<uint8_t> gz = test::read_bytes(dir + "/UP.NII.GZ"), raw = test::read_bytes(dir + "/UP.NII");
  REQUIRE(gz.size() > 2);
  CHECK((gz[0] == 0x1f && gz[1] == 0x8b));  // the gzip magic
  CHECK_FALSE((raw[0] == 0x1f && raw[1] == 0x8b));
  CHECK(io::read_volume(dir + "/UP.NII.GZ").data == v.data);
  CHECK(io::read_volume(dir + "/UP.NII").data == v.data);
}
