// Intensity normalization against values computed by hand on synthetic volumes, and on real IXI.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>

#include "io/mask.h"
#include "io/nifti.h"
#include "io/normalize.h"
#include "io_test_util.h"
#include "support/paths.h"

using namespace im;

namespace {

// Inverse of the standard normal CDF by bisection (test-side, independent of the library).
double inv_phi(double p) {
  double lo = -10, hi = 10;
  for (int i = 0; i < 200; ++i) {
    const double mid = (lo + hi) / 2;
    (0.5 * std::erfc(-mid / std::sqrt(2.0)) < p ? lo : hi) = mid;
  }
  return (lo + hi) / 2;
}

// A 40^3 volume: background 0 outside a central 32^3 mask; inside, CSF/GM/WM with deterministic
// Gaussian-shaped distributions (values at evenly spaced quantiles), WM centred on `wm`.
struct Tissues {
  io::Volume v;
  io::Mask mask;
};
Tissues tissues(double csf, double gm, double wm, double sd, double wm_fraction = 0.5) {
  Tissues t;
  t.v = test::synthetic({40, 40, 40}, test::diag_affine(1, 1, 1), [](int64_t, int64_t, int64_t) { return 0.0f; });
  t.mask.assign(t.v.data.size(), 0);
  std::vector<size_t> inside;
  for (int64_t z = 4; z < 36; ++z)
    for (int64_t y = 4; y < 36; ++y)
      for (int64_t x = 4; x < 36; ++x) inside.push_back(static_cast<size_t>(t.v.index(x, y, z)));
  const size_t n = inside.size(), n_wm = static_cast<size_t>(wm_fraction * n), n_gm = (n - n_wm) * 2 / 3, n_csf = n - n_wm - n_gm;
  size_t k = 0;
  const auto fill = [&](size_t count, double centre) {
    for (size_t i = 0; i < count; ++i, ++k) {
      const size_t at = inside[(k * 7919) % n];  // spread the classes over the block
      t.v.data[at] = static_cast<float>(centre + sd * inv_phi((i + 0.5) / count));
      t.mask[at] = 1;
    }
  };
  fill(n_csf, csf), fill(n_gm, gm), fill(n_wm, wm);
  return t;
}

// The tissues above are scattered voxel by voxel: there are no tissue interiors for the flat-voxel
// selection of label masks (NormOptions::flat_fraction) to find, so these histogram tests count
// every voxel of the mask.
io::NormOptions all_voxels() {
  io::NormOptions o;
  o.flat_fraction = 1.0;
  return o;
}

}  // namespace

TEST_CASE("normalize: WM peak of a synthetic three-tissue histogram lands at 0.7", "[normalize]") {
  Tissues t = tissues(250, 550, 850, 30);
  const io::NormOptions o = all_voxels();
  const io::NormParams p = io::fit_normalization(t.v, t.mask, o);
  const double bin = p.upper / o.bins;
  INFO("peak " << p.wm_peak << " bin " << bin);
  REQUIRE(std::fabs(p.wm_peak - 850) <= bin);
  REQUIRE(p.scale == Approx(0.7 / p.wm_peak));
  REQUIRE(p.offset == 0);
  io::Volume n = t.v;
  io::apply_normalization(n, p);
  // The voxel nearest 850 maps to 0.7 within a bin (0.7 * bin / 850 on the output scale).
  const size_t i = static_cast<size_t>(std::min_element(t.v.data.begin(), t.v.data.end(), [](float a, float b) {
                                         return std::fabs(a - 850) < std::fabs(b - 850);
                                       }) - t.v.data.begin());
  REQUIRE(std::fabs(n.data[i] - 0.7) <= 0.7 * bin / 850 + 1e-4);
  for (float x : n.data) REQUIRE((x >= 0 && x <= 1));
  // Background stays 0, and the map is undone by invert_normalization.
  REQUIRE(n.data[0] == 0);
  io::invert_normalization(n, p);
  REQUIRE(n.data[i] == Approx(t.v.data[i]).epsilon(1e-5));
}

TEST_CASE("normalize: quantized integer data (uint8 with scl_slope) do not alias into false modes", "[normalize]") {
  // IXI-like: every value is k * 17.51 for an integer k; 200 plain bins would put a comb of empty
  // bins in the histogram and make a beat pattern of false modes.
  Tissues t = tissues(300, 700, 1150, 90, 0.35);
  const double step = 17.51;
  for (float& x : t.v.data) x = static_cast<float>(std::nearbyint(x / step) * step);
  t.v.header.datatype = io::dtype::uint8;
  t.v.header.scl_slope = step;
  REQUIRE(io::quantization_step(t.v.header) == step);
  const io::NormParams p = io::fit_normalization(t.v, t.mask, all_voxels());
  INFO("peak " << p.wm_peak);
  REQUIRE(std::fabs(p.wm_peak - 1150) <= 1.5 * step);
}

TEST_CASE("normalize: quantized data stored as float find their lattice and do not alias either", "[normalize]") {
  // The same comb as above, in a float32 file (no scl_slope to tell the step), and once more on a
  // lattice that does not pass through 0.
  for (const double phase : {0.0, 5.2}) {
    Tissues t = tissues(300, 700, 1150, 90, 0.35);
    const double step = 17.51;
    for (float& x : t.v.data) x = static_cast<float>(phase + std::nearbyint(x / step) * step);
    t.v.header.datatype = io::dtype::float32;
    REQUIRE(io::quantization_step(t.v.header) == 0);
    std::vector<float> in;
    for (size_t i = 0; i < t.v.data.size(); ++i)
      if (t.mask[i]) in.push_back(t.v.data[i]);
    const io::Lattice lat = io::value_lattice(in);
    REQUIRE(lat.step == Approx(step).epsilon(1e-4));
    REQUIRE(lat.phase == Approx(phase).margin(1e-3));
    const io::NormParams p = io::fit_normalization(t.v, t.mask, all_voxels());
    INFO("phase " << phase << " peak " << p.wm_peak);
    REQUIRE(std::fabs(p.wm_peak - 1150) <= 1.5 * step);
  }
  // Continuous values have no lattice.
  Tissues c = tissues(300, 700, 1150, 90, 0.35);
  REQUIRE(io::value_lattice(c.v.data).step == 0);
}

TEST_CASE("normalize: White-Stripe mean and sd match the hand computation", "[normalize]") {
  // WM (half the mask) ~ N(1000, 20^2). The stripe holds the masked voxels within +-5% (quantiles)
  // of the WM peak: the central 20% of the WM mass, +-z with Phi(z) - Phi(-z) = 0.2. Its mean is
  // 1000 and its sd that of a normal truncated to +-z: 20 * sqrt(1 - 2 z phi(z) / 0.2).
  Tissues t = tissues(300, 650, 1000, 20, 0.5);
  io::NormOptions o = all_voxels();
  o.method = io::NormMethod::white_stripe;
  const io::NormParams p = io::fit_normalization(t.v, t.mask, o);
  const double z = inv_phi(0.6), phi = std::exp(-z * z / 2) / std::sqrt(2 * M_PI);
  const double sd = 20 * std::sqrt(1 - 2 * z * phi / 0.2);
  INFO("peak " << p.wm_peak << " stripe " << p.stripe_lo << ".." << p.stripe_hi << " mean " << p.stripe_mean << " sd " << p.stripe_sd
               << " expected sd " << sd);
  REQUIRE(std::fabs(p.wm_peak - 1000) < 3);
  REQUIRE(std::fabs(p.stripe_mean - 1000) < 1.0);
  REQUIRE(std::fabs(p.stripe_sd - sd) < 0.1 * sd);
  REQUIRE(std::fabs(p.stripe_lo - (1000 - 20 * z)) < 2);
  REQUIRE(std::fabs(p.stripe_hi - (1000 + 20 * z)) < 2);
  // out = 0.7 + ws_sd_target * (in - mean) / sd
  REQUIRE(p.scale == Approx(o.ws_sd_target / p.stripe_sd));
  REQUIRE(p.scale * p.stripe_mean + p.offset == Approx(0.7));
  io::Volume n = t.v;
  io::apply_normalization(n, p);
  for (size_t i = 0; i < n.data.size(); ++i)
    if (t.v.data[i] > 0) REQUIRE(n.data[i] == Approx(std::clamp(0.7 + o.ws_sd_target * (t.v.data[i] - p.stripe_mean) / p.stripe_sd, 0.0, 1.0)).margin(1e-5));
}

TEST_CASE("normalize: errors name the problem", "[normalize]") {
  Tissues t = tissues(250, 550, 850, 30);
  io::Mask empty(t.mask.size(), 0);
  REQUIRE_THROWS_WITH(io::fit_normalization(t.v, empty, {}), Catch::Contains("mask"));
  REQUIRE_THROWS_WITH(io::parse_norm("zscore"), Catch::Contains("wm-peak"));
  REQUIRE(io::parse_norm("white_stripe") == io::NormMethod::white_stripe);
}

TEST_CASE("normalize: with a brain mask the WM peak comes from tissue interiors, not the grey/white blend", "[normalize]") {
  // A 2 mm-like brain: a white-matter ellipsoid (1000) under 4 mm of cortex (600) and 2 mm of CSF
  // (200), blurred (Gaussian, sigma 1 voxel) so that the borders hold every value in between, 2%
  // noise. Interiors keep the tissue values; the blur puts a third of the voxels on the borders.
  const io::Dims d{48, 56, 48};
  std::vector<float> sharp(static_cast<size_t>(d[0] * d[1] * d[2]), 0.f);
  io::Mask mask(sharp.size(), 0);
  for (int64_t z = 0, i = 0; z < d[2]; ++z)
    for (int64_t y = 0; y < d[1]; ++y)
      for (int64_t x = 0; x < d[0]; ++x, ++i) {
        const double r = std::sqrt(std::pow((x - 23.5) / 20, 2) + std::pow((y - 27.5) / 24, 2) + std::pow((z - 23.5) / 20, 2));
        const double depth = (1 - r) * 20;  // voxels inside the surface, roughly
        if (r >= 1) continue;
        mask[i] = 1;
        sharp[i] = depth < 1 ? 200.f : depth < 3 ? 600.f : 1000.f;
      }
  io::Volume v = test::synthetic(d, test::diag_affine(2, 2, 2), [](int64_t, int64_t, int64_t) { return 0.0f; });
  v.data = sharp;
  for (int axis = 0; axis < 3; ++axis) {  // separable blur, weights exp(-k^2/2), k = -3..3
    const int64_t stride = axis == 0 ? 1 : axis == 1 ? d[0] : d[0] * d[1];
    std::vector<float> out(v.data.size(), 0.f);
    for (int64_t i = 0; i < v.size(); ++i) {
      const int64_t c = axis == 0 ? i % d[0] : axis == 1 ? i / d[0] % d[1] : i / (d[0] * d[1]);
      double acc = 0, wsum = 0;
      for (int k = -3; k <= 3; ++k)
        if (c + k >= 0 && c + k < d[axis]) acc += std::exp(-0.5 * k * k) * v.data[static_cast<size_t>(i + k * stride)], wsum += std::exp(-0.5 * k * k);
      out[static_cast<size_t>(i)] = static_cast<float>(acc / wsum);
    }
    v.data = out;
  }
  for (int64_t i = 0; i < v.size(); ++i)
    v.data[static_cast<size_t>(i)] *= 1.f + 0.02f * static_cast<float>(inv_phi((static_cast<double>((i * 7919) % 10007) + 0.5) / 10007));
  const io::NormOptions o;
  const io::NormParams flat = io::fit_normalization(v, mask, o), all = io::fit_normalization(v, mask, all_voxels());
  INFO("flat-voxel peak " << flat.wm_peak << " (x " << o.flat_peak_ratio << " = " << flat.wm_peak * o.flat_peak_ratio << "), all voxels " << all.wm_peak);
  // The flattest 30% of the mask are white-matter interior: their mode is the WM value, divided by
  // the calibration ratio.
  REQUIRE(flat.wm_peak * o.flat_peak_ratio == Approx(1000).epsilon(0.02));
  REQUIRE(flat.region == io::NormRegion::mask);
  // Too few flat voxels for a histogram (a tiny mask) falls back to all of them, as does fraction 1.
  io::Mask tiny(mask.size(), 0);
  for (size_t i = 0, n = 0; i < mask.size() && n < 200; ++i)
    if (mask[i] && sharp[i] == 1000.f) tiny[i] = 1, ++n;
  REQUIRE(io::fit_normalization(v, tiny, o).wm_peak == io::fit_normalization(v, tiny, all_voxels()).wm_peak);
}

TEST_CASE("normalize: real IXI volume, WM at 0.7 and a plausible GM/WM ratio", "[normalize][data]") {
  const auto t1 = test::data_files("ixi_hh_2mm/t1");
  const std::string labels = test::data_dir() + "/ixi_hh_2mm/labels/IXI013-HH-1212_T1_DLMUSE.nii.gz";
  io::Volume v = io::read_volume(test::data_dir() + "/ixi_hh_2mm/t1/IXI013-HH-1212_T1.nii.gz");
  const io::Volume lab = io::read_volume(labels);
  const io::Mask mask = io::read_label_mask(v, labels);
  const io::NormParams p = io::fit_normalization(v, mask, {});
  io::apply_normalization(v, p);
  // MUSE labels 81-88 are the lobar white matter, 100 and above the cortical grey matter.
  std::vector<float> wm, gm;
  for (size_t i = 0; i < v.data.size(); ++i) {
    if (lab.data[i] >= 81 && lab.data[i] <= 88) wm.push_back(v.data[i]);
    if (lab.data[i] >= 100) gm.push_back(v.data[i]);
  }
  const auto median = [](std::vector<float> x) {
    std::nth_element(x.begin(), x.begin() + static_cast<long>(x.size() / 2), x.end());
    return double(x[x.size() / 2]);
  };
  const double wm_med = median(wm), gm_med = median(gm);
  INFO("WM median " << wm_med << " GM median " << gm_med);
  REQUIRE(p.wm_peak * p.scale == Approx(0.7));
  REQUIRE((wm_med > 0.6 && wm_med < 0.8));
  REQUIRE((gm_med / wm_med > 0.55 && gm_med / wm_med < 0.9));
}

TEST_CASE("normalize: a real uint8 IXI volume and the same voxels as float32 give the same WM peak", "[normalize][data]") {
  // Found by the reproducibility run: read as float32, 200 plain bins moved the peak by up to 41%.
  const auto t1 = test::data_files("ixi_hh_2mm/t1");
  const auto labels = test::data_dir() + "/ixi_hh_2mm/labels/";
  for (size_t k = 0; k < std::min<size_t>(t1.size(), 20); ++k) {
    io::Volume v = io::read_volume(t1[k]);
    REQUIRE(io::quantization_step(v.header) > 0);
    const io::Mask mask = io::auto_mask(v);
    const io::NormParams a = io::fit_normalization(v, mask, {}, true);
    v.header.datatype = io::dtype::float32;
    v.header.scl_slope = 0;
    const io::NormParams b = io::fit_normalization(v, mask, {}, true);
    INFO(t1[k] << ": uint8 peak " << a.wm_peak << ", float32 peak " << b.wm_peak);
    REQUIRE(b.wm_peak == Approx(a.wm_peak).epsilon(1e-3));
  }
}
