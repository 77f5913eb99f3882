// prepare()/unprepare(): exact identity round trips on every orientation of the shared data,
// geometry after resampling, records through JSON, fixed plane sizes, every shared volume prepares.
#include <catch2/catch.hpp>

#include <cmath>

#include "io/error.h"
#include "io/json_io.h"
#include "io/nifti.h"
#include "io/prep.h"
#include "io_test_util.h"
#include "support/paths.h"

using namespace im;

namespace {

io::PrepOptions identity_options() {
  io::PrepOptions o;
  o.voxel_size = 0;
  o.norm.method = io::NormMethod::none;
  o.apply_mask = false;
  return o;
}

}  // namespace

TEST_CASE("prep: identity processing round-trips exactly, every orientation in the shared data", "[prep][data]") {
  const std::string root = test::data_dir();
  // One volume per source: PSR (IXI), LPS oblique (clinical), LAS (MNI), RAS (Colin27, MPRAGE).
  for (const char* f : {"ixi_hh_2mm/t1/IXI013-HH-1212_T1.nii.gz", "clinical_t1/patient01_study1_T1W.nii.gz", "templates/mni.nii.gz",
                        "templates/ch2.nii.gz", "unseen_scanners/siemens_trio_mprage.nii.gz"}) {
    INFO(f);
    const io::Volume v = io::read_volume(root + "/" + f);
    const io::Mask m = io::auto_mask(v);
    const io::Prepared p = io::prepare(v, m, identity_options());
    REQUIRE(io::axcodes(p.image.affine) == "RAS");
    REQUIRE(p.image.dim[0] % 16 == 0);
    REQUIRE(p.image.dim[1] % 16 == 0);
    // Through JSON, as the sidecar would carry it.
    const io::PrepRecord r = io::record_from_json(nlohmann::json::parse(io::record_to_json(p.record).dump()));
    const io::Volume back = io::unprepare(p.image, r);
    REQUIRE(back.dim == v.dim);
    REQUIRE(back.data == v.data);
    REQUIRE(back.affine == v.affine);
    REQUIRE(back.header.qform == v.header.qform);
    REQUIRE(back.header.sform == v.header.sform);
    REQUIRE(io::unprepare_mask(p.mask, r) == m);
  }
}

TEST_CASE("prep: with resampling the unprepared volume is back on the input grid", "[prep]") {
  // A smooth image on an LPS 1x1x1.2 mm grid, prepared at 2 mm.
  const io::Mat4 a = test::diag_affine(-1, -1, 1.2, 50, 60, -20);
  const io::Volume v = test::synthetic({60, 70, 50}, a, [](int64_t x, int64_t y, int64_t z) {
    return float(500 + 200 * std::sin(x * 0.08) * std::cos(y * 0.07) + 3 * z);
  });
  const io::Mask m(v.data.size(), 1);
  io::PrepOptions o = identity_options();
  o.voxel_size = 2;
  o.antialias = false;
  const io::Prepared p = io::prepare(v, m, o);
  const io::Vec3 vs = p.image.voxel_size();
  for (double s : vs) REQUIRE(s == Approx(2));
  REQUIRE(p.image.dim[2] == 30);  // 50 * 1.2 / 2
  const io::Volume back = io::unprepare(p.image, p.record);
  REQUIRE(back.dim == v.dim);
  REQUIRE(back.affine == v.affine);
  // Trilinear down and up on a smooth image: small errors away from the edges.
  double worst = 0;
  for (int64_t z = 3; z < 47; ++z)
    for (int64_t y = 3; y < 67; ++y)
      for (int64_t x = 3; x < 57; ++x) worst = std::max(worst, double(std::fabs(back.at(x, y, z) - v.at(x, y, z))));
  REQUIRE(worst < 10);
  // World coordinates: the resampled grid (before the pad, whose odd differences cannot be
  // centred) has the input's centre.
  const io::Dims& rd = p.record.resample.dst_dim;
  const io::Vec3 c_in = io::apply(v.affine, 29.5, 34.5, 24.5);
  const io::Vec3 c_out = io::apply(p.image.affine, (rd[0] - 1) / 2.0 - p.record.pad.shift[0], (rd[1] - 1) / 2.0 - p.record.pad.shift[1],
                                   (rd[2] - 1) / 2.0 - p.record.pad.shift[2]);
  for (int i = 0; i < 3; ++i) REQUIRE(c_in[i] == Approx(c_out[i]).margin(1e-6));
}

TEST_CASE("prep: normalization is recorded and can be undone", "[prep]") {
  const io::Volume v = test::synthetic({32, 32, 20}, test::diag_affine(1, 1, 1), [](int64_t x, int64_t y, int64_t) {
    return float(100 + (x * 37 + y * 11) % 300);
  });
  const io::Mask m(v.data.size(), 1);
  io::PrepOptions o = identity_options();
  o.norm.method = io::NormMethod::wm_peak;
  const io::Prepared p = io::prepare(v, m, o);
  for (float x : p.image.data) REQUIRE((x >= 0 && x <= 1));
  const io::Volume back = io::unprepare(p.image, p.record, /*restore_intensity=*/true);
  for (size_t i = 0; i < v.data.size(); ++i)
    if (v.data[i] * p.record.norm.scale < 1) REQUIRE(back.data[i] == Approx(v.data[i]).epsilon(1e-5));
}

TEST_CASE("prep: a fixed plane crops around the brain, or says it does not fit", "[prep]") {
  const io::Volume v = test::synthetic({100, 90, 10}, test::diag_affine(1, 1, 1), [](int64_t, int64_t, int64_t) { return 100.0f; });
  io::Mask m(v.data.size(), 0);
  for (int64_t z = 0; z < 10; ++z)
    for (int64_t y = 5; y < 60; ++y)
      for (int64_t x = 2; x < 50; ++x) m[v.index(x, y, z)] = 1;  // off-centre brain, 48 x 55
  io::PrepOptions o = identity_options();
  o.plane_x = 64, o.plane_y = 64;
  const io::Prepared p = io::prepare(v, m, o);
  REQUIRE(p.image.dim == io::Dims{64, 64, 10});
  REQUIRE(io::mask_count(p.mask) == io::mask_count(m));  // nothing of the brain was cropped
  o.plane_x = 32;
  REQUIRE_THROWS_WITH(io::prepare(v, m, o), Catch::Contains("spans 48 voxels along x"));
}

TEST_CASE("prep: every shared volume prepares (labels for IXI, automatic masks otherwise)", "[prep][data]") {
  const std::string root = test::data_dir();
  std::vector<std::pair<std::string, io::MaskSpec>> jobs;
  for (const auto& f : test::data_files("ixi_hh_2mm/t1")) {
    std::string lab = f;
    lab.replace(lab.find("/t1/"), 4, "/labels/");
    lab.replace(lab.find(".nii.gz"), 7, "_DLMUSE.nii.gz");
    io::MaskSpec spec;
    spec.kind = io::MaskSpec::Kind::labels;
    spec.path = lab;
    jobs.emplace_back(f, spec);
  }
  for (const char* sub : {"unseen_scanners", "clinical_t1", "templates"})
    for (const auto& f : test::data_files(sub)) jobs.emplace_back(f, io::MaskSpec{});
  REQUIRE(jobs.size() == 138 + 11);
  for (const auto& [f, spec] : jobs) {
    INFO(f);
    const io::Volume v = io::read_volume(f);
    io::PrepOptions o;
    o.voxel_size = v.voxel_size()[0] < 1.5 ? 2 : 0;  // the model's 2 mm grid
    const io::Prepared p = io::prepare(v, io::load_mask(v, spec), o, spec.describe());
    REQUIRE(p.image.dim[0] % 16 == 0);
    REQUIRE(p.image.dim[1] % 16 == 0);
    REQUIRE((p.record.mask_fraction > 0.05 && p.record.mask_fraction < 0.7));
    REQUIRE(std::isfinite(p.record.norm.wm_peak));
    float hi = 0;
    for (float x : p.image.data) hi = std::max(hi, x);
    REQUIRE(hi <= 1.0f);
    REQUIRE(io::unprepare(p.image, p.record).dim == v.dim);
  }
}
