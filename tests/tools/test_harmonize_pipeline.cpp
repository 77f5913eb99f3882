// The harmonization pipeline in-process (tools/harmonize/harmonize.h): skipping background slices
// changes nothing, batch size changes nothing, outside voxels and restored intensities are what
// the documentation says, 2.5D with borrowed and per-orientation models.
#include <catch2/catch.hpp>

#include <cmath>

#include "engine/autograd.h"
#include "harmonize_test_util.h"
#include "io/mask.h"
#include "io/nifti.h"
#include "model/inference.h"
#include "support/paths.h"
#include "tools/harmonize/harmonize.h"

using namespace im;
using namespace im::tools;

namespace {

struct Setup {
  std::string dir;
  io::Volume input;
  io::Mask mask;
};

// A 3 mm LAS volume whose brain needs a crop of the 32 x 32 plane along y.
Setup make_setup(const std::string& name) {
  Setup s;
  s.dir = test::scratch_dir(name);
  s.input = io::read_volume(test::write_synthetic(s.dir, "in.nii.gz", {40, 44, 36}, test::diagonal_affine(-3, 3, 3, 60, -66, -54)));
  s.mask = io::auto_mask(s.input);
  return s;
}

float max_abs_diff(const io::Volume& a, const io::Volume& b) {
  REQUIRE(a.dim == b.dim);
  float m = 0;
  for (size_t i = 0; i < a.data.size(); ++i) m = std::max(m, std::abs(a.data[i] - b.data[i]));
  return m;
}

}  // namespace

TEST_CASE("harmonize: skipping background slices and batching do not change the output", "[harmonize][pipeline]") {
  const Setup s = make_setup("harmonize_skip");
  const std::string ck = test::make_checkpoint(s.dir, "m.safetensors", test::tiny_model_config(32, 32), 4.0);
  const ModelSet models = load_models(ck, Device::CPU, false);
  const TargetCode target = target_from_site(models, "site_a");
  const PreparedInput p = prepare_input(s.input, s.mask, models, "auto");
  NetworkStats stats;
  HarmonizeOptions dec;
  dec.output = OutputStage::decoder;
  const io::Volume skipped = harmonize_prepared(models, target, p.prepared, dec, &stats).decoder;
  const auto counts = stats.slices.at("axial");
  CHECK(counts[0] == p.prepared.image.dim[2]);
  CHECK(counts[1] < counts[0]);  // there are background-only slices, and they were not run
  CHECK(counts[1] > 0);

  // Every slice through the network at once.
  io::SliceStack st = io::extract_slices(p.prepared.image, io::SliceAxis::axial, 1);
  REQUIRE(st.h == 32);
  REQUIRE(st.w == 32);
  const auto& c = target.codes.at("axial");
  const Tensor code = Tensor::from_vector(c.values, Shape::of(c.shape.data(), 4));
  st.data = model::harmonize_slices(*models.axial().net, Tensor::from_vector(st.data, {st.n, 1, 32, 32}), code).to_vector();
  io::Volume all = io::zeros_like(p.prepared.image);
  io::insert_slices(st, all);
  CHECK(max_abs_diff(skipped, all) < 1e-5f);

  HarmonizeOptions small = dec;
  small.batch_size = 3;
  CHECK(max_abs_diff(harmonize_prepared(models, target, p.prepared, small).decoder, skipped) < 1e-5f);

  // The detail stage with every slice renders the same slices under the target code (the decoder
  // output above) and under the volume's own code, whatever the batch size.
  HarmonizeOptions every;
  every.map_slice_step = 1;
  const NetworkResult detail = harmonize_prepared(models, target, p.prepared, every);
  CHECK(detail.slice_step == 1);
  CHECK(max_abs_diff(detail.decoder, skipped) < 1e-5f);
  HarmonizeOptions small_detail = every;
  small_detail.batch_size = 3;
  const NetworkResult detail3 = harmonize_prepared(models, target, p.prepared, small_detail);
  CHECK(max_abs_diff(detail3.own, detail.own) < 1e-5f);
  CHECK(detail3.map.x == detail.map.x);

  // By default every 2nd slice: those slices are the decoder's, the others the input's, about half
  // as many slices run, and the map is fitted on them.
  NetworkStats half_stats;
  const NetworkResult half = harmonize_prepared(models, target, p.prepared, {}, &half_stats);
  REQUIRE(half.slice_step == 2);
  const int64_t nz = p.prepared.image.dim[2], plane = p.prepared.image.dim[0] * p.prepared.image.dim[1];
  for (int64_t z = 0; z < nz; ++z)
    for (int64_t i = z * plane; i < (z + 1) * plane; ++i) {
      const float expected = z % 2 == 1 ? skipped.data[i] : p.prepared.image.data[i];
      REQUIRE(std::abs(half.decoder.data[i] - expected) < 1e-5f);
    }
  const auto run = half_stats.slices.at("axial")[1];
  CHECK(std::abs(2 * run - counts[1]) <= 2);
  CHECK_FALSE(half.map.x.empty());
}

TEST_CASE("harmonize: the output lies on the input grid, outside voxels zero or the normalized input", "[harmonize][pipeline]") {
  const Setup s = make_setup("harmonize_outside");
  const std::string ck = test::make_checkpoint(s.dir, "m.safetensors", test::tiny_model_config(32, 32), 4.0);
  const ModelSet models = load_models(ck, Device::CPU, false);
  const TargetCode target = target_from_site(models, "site_b");
  const PreparedInput p = prepare_input(s.input, s.mask, models, "auto");
  HarmonizeOptions dec;
  dec.output = OutputStage::decoder;
  const NetworkResult h = harmonize_prepared(models, target, p.prepared, dec);

  const io::Volume zero = finish_output(p, h, dec);
  REQUIRE(zero.dim == s.input.dim);
  CHECK(io::max_abs_diff(zero.affine, s.input.affine) == 0);
  CHECK(zero.header.qform_code == s.input.header.qform_code);
  CHECK(zero.header.sform_code == s.input.header.sform_code);
  HarmonizeOptions keep = dec;
  keep.outside = Outside::keep;
  const io::Volume kept = finish_output(p, h, keep);
  io::Volume normalized = s.input;
  io::apply_normalization(normalized, p.prepared.record.norm);
  int64_t outside = 0, inside_in_range = 0, inside = 0;
  for (size_t i = 0; i < s.mask.size(); ++i) {
    if (!s.mask[i]) {
      ++outside;
      REQUIRE(zero.data[i] == 0.f);
      REQUIRE(kept.data[i] == normalized.data[i]);
    } else {
      ++inside;
      inside_in_range += zero.data[i] >= 0.f && zero.data[i] <= 1.f && kept.data[i] == zero.data[i];
    }
  }
  CHECK(outside > 0);
  CHECK(inside_in_range == inside);

  // --restore-intensity: the inverse of the input's linear map, inside the mask.
  HarmonizeOptions restore = dec;
  restore.restore_intensity = true;
  const io::Volume restored = finish_output(p, h, restore);
  const auto& n = p.prepared.record.norm;
  for (size_t i = 0; i < s.mask.size(); ++i)
    if (s.mask[i] && zero.data[i] > 0)
      REQUIRE(restored.data[i] == Approx((zero.data[i] - n.offset) / n.scale).epsilon(1e-5));
}

TEST_CASE("harmonize: 2.5D with the axial model borrowed, and with per-orientation models", "[harmonize][pipeline]") {
  const Setup s = make_setup("harmonize_25d");
  const std::string ck = test::make_checkpoint(s.dir, "m.safetensors", test::tiny_model_config(32, 32), 4.0);
  const ModelSet borrowed = load_models(ck, Device::CPU, true);
  CHECK(borrowed.borrows_axial_model());
  CHECK(borrowed.distinct().size() == 1);
  const io::Volume a = harmonize_volume(borrowed, target_from_site(borrowed, "site_a"), s.input, s.mask, {});
  CHECK(a.dim == s.input.dim);

  // Coronal slices are z x x (27 x 32 here), sagittal z x y: models of other sizes get windows.
  const std::string cor = test::make_checkpoint(s.dir, "cor.safetensors", test::tiny_model_config(16, 32), 4.0, 2);
  const std::string sag = test::make_checkpoint(s.dir, "sag.safetensors", test::tiny_model_config(48, 16), 4.0, 3);
  const ModelSet per = load_models(ck, Device::CPU, true, cor, sag);
  CHECK_FALSE(per.borrows_axial_model());
  CHECK(per.distinct().size() == 3);
  const TargetCode t = target_from_volume(per, s.input, s.mask, "in.nii.gz", "auto");
  CHECK(t.codes.size() == 3);
  NetworkStats stats;
  const PreparedInput p = prepare_input(s.input, s.mask, per, "auto");
  HarmonizeOptions dec;
  dec.output = OutputStage::decoder;
  const io::Volume fused = harmonize_prepared(per, t, p.prepared, dec, &stats).decoder;
  CHECK(stats.slices.size() == 3);
  CHECK(stats.slices.at("coronal")[0] > p.prepared.image.dim[1]);  // several windows per slice
  for (float v : fused.data) REQUIRE((v >= 0.f && v <= 1.f));

  const std::string other = test::make_checkpoint(s.dir, "other.safetensors", test::tiny_model_config(32, 32), 2.0, 4);
  CHECK_THROWS_WITH(load_models(ck, Device::CPU, true, other, ""), Catch::Contains("share one preprocessing"));
  CHECK_THROWS_WITH(load_models(ck, Device::CPU, false, other, ""), Catch::Contains("--orientations all"));
}
