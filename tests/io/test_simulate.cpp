// Virtual-site simulator: determinism, geometry, monotone curves, bias amplitude, noise level,
// resolution loss along the chosen axis, the example site files.
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>

#include "io/error.h"
#include "io/json_io.h"
#include "io/nifti.h"
#include "io/rng.h"
#include "io/simulate.h"
#include "io_test_util.h"
#include "support/paths.h"

namespace fs = std::filesystem;
using namespace im;
using nlohmann::json;

namespace {

// A textured "brain" ball (values 300..900) in a zero background; PSR-oriented like IXI, so that
// world axes and voxel axes differ.
struct Subject {
  io::Volume v;
  io::Mask mask;
};
Subject subject() {
  Subject s;
  const io::Mat4 psr = {0, 0, 1.5, -30, -1.5, 0, 0, 40, 0, 1.5, 0, -30, 0, 0, 0, 1};
  uint64_t state = 3;
  s.v = test::synthetic({48, 48, 48}, psr, [&](int64_t x, int64_t y, int64_t z) {
    const double r = std::sqrt(double((x - 24) * (x - 24) + (y - 24) * (y - 24) + (z - 24) * (z - 24)));
    return r < 20 ? float(300 + io::splitmix64(state) % 600) : 0.0f;
  });
  s.mask.resize(s.v.data.size());
  for (size_t i = 0; i < s.mask.size(); ++i) s.mask[i] = s.v.data[i] > 0;
  return s;
}

io::Site site(const std::string& text) { return io::site_from_json(json::parse(text), "test-site"); }

// Mean squared difference of neighbours along voxel axis a, inside the mask (high-frequency energy).
double hf_energy(const io::Volume& v, const io::Mask& m, int a) {
  const int64_t step = a == 0 ? 1 : a == 1 ? v.dim[0] : v.dim[0] * v.dim[1];
  double s = 0;
  int64_t n = 0;
  for (int64_t z = 2; z < v.dim[2] - 2; ++z)
    for (int64_t y = 2; y < v.dim[1] - 2; ++y)
      for (int64_t x = 2; x < v.dim[0] - 2; ++x) {
        const int64_t i = v.index(x, y, z);
        if (m[i] && m[i + step]) s += std::pow(v.data[i + step] - v.data[i], 2), ++n;
      }
  return s / double(n);
}

}  // namespace

TEST_CASE("simulate: deterministic for a seed, different for another, geometry kept", "[simulate]") {
  const Subject s = subject();
  const io::Site st = site(R"({"name": "a", "contrast": [[0,0],[0.5,0.4],[1,1]], "bias": {"type": "gaussians", "amplitude": 0.2},
                               "noise": {"sigma": 0.03}, "resolution": {"mode": "blur", "axis": "z", "fwhm_mm": 4}})");
  const io::Volume a = io::simulate_site(s.v, s.mask, st, 7, "sub1"), b = io::simulate_site(s.v, s.mask, st, 7, "sub1");
  const io::Volume c = io::simulate_site(s.v, s.mask, st, 8, "sub1"), d = io::simulate_site(s.v, s.mask, st, 7, "sub2");
  REQUIRE(a.data == b.data);
  REQUIRE(a.data != c.data);
  REQUIRE(a.data != d.data);
  REQUIRE(a.dim == s.v.dim);
  REQUIRE(a.affine == s.v.affine);
  const std::string dir = test::scratch_dir("sim_geometry");
  io::write_volume(dir + "/a.nii.gz", a);
  const io::Volume r = io::read_volume(dir + "/a.nii.gz");
  REQUIRE(io::max_abs_diff(r.affine, s.v.affine) < 1e-5);
  REQUIRE(r.header.qform_code == s.v.header.qform_code);
}

TEST_CASE("simulate: contrast curves are monotone, non-monotone points are refused", "[simulate]") {
  io::Rng rng(1);
  for (int trial = 0; trial < 50; ++trial) {
    std::vector<std::pair<double, double>> pts{{0, 0}};
    double y = 0;
    const int n = 2 + static_cast<int>(rng.below(5));
    for (int i = 1; i < n; ++i) pts.push_back({double(i) / n, y += rng.uniform() * rng.uniform()});
    pts.push_back({1, y + rng.uniform()});
    const io::ContrastCurve c = io::ContrastCurve::from_points(pts, "trial");
    double prev = c(0);
    for (int i = 1; i <= 1000; ++i) {
      const double v = c(i / 1000.0);
      REQUIRE(v >= prev - 1e-12);
      prev = v;
    }
    for (const auto& p : pts) REQUIRE(c(p.first) == Approx(p.second).margin(1e-12));
  }
  REQUIRE_THROWS_WITH(site(R"({"name": "bad", "contrast": [[0,0],[0.5,0.6],[0.7,0.5],[1,1]]})"), Catch::Contains("monotone"));
  REQUIRE_THROWS_WITH(site(R"({"name": "bad", "contrast": [[0.1,0],[1,1]]})"), Catch::Contains("x = 0"));
  REQUIRE_THROWS_WITH(site(R"({"name": "bad", "bias": {"type": "wavy"}})"), Catch::Contains("bias.type"));
  REQUIRE_THROWS_WITH(site(R"({"noise": {"sigma": 0.1}})"), Catch::Contains("test-site"));
}

TEST_CASE("simulate: the bias field spans exactly 1 +- amplitude over the brain", "[simulate]") {
  const Subject s = subject();
  for (const char* type : {"gaussians", "polynomial"}) {
    INFO(type);
    const io::Site st = site(std::string(R"({"name": "b", "bias": {"type": ")") + type + R"(", "amplitude": 0.25, "width_mm": 30}})");
    io::SimulationDetail d;
    io::simulate_site(s.v, s.mask, st, 3, "sub", &d);
    float lo = 10, hi = -10;
    for (size_t i = 0; i < d.bias.size(); ++i)
      if (s.mask[i]) lo = std::min(lo, d.bias[i]), hi = std::max(hi, d.bias[i]);
    REQUIRE(lo == Approx(0.75).margin(1e-6));
    REQUIRE(hi == Approx(1.25).margin(1e-6));
  }
}

TEST_CASE("simulate: Rician noise has the requested sigma (measured in the background)", "[simulate]") {
  const Subject s = subject();
  const io::Site st = site(R"({"name": "n", "noise": {"sigma": 0.05}, "scale": 1000})");
  io::SimulationDetail d;
  const io::Volume v = io::simulate_site(s.v, s.mask, st, 11, "sub", &d);
  REQUIRE(d.wm_level == Approx(0.7));          // identity curve
  REQUIRE(d.noise_sigma == Approx(0.05 * 0.7));  // relative to the WM intensity
  // Background (signal 0): magnitude of complex Gaussian noise is Rayleigh, E[x^2] = 2 sigma^2.
  double sum2 = 0;
  int64_t n = 0;
  for (size_t i = 0; i < v.data.size(); ++i)
    if (s.v.data[i] == 0) sum2 += double(v.data[i]) * v.data[i], ++n;
  const double sigma = std::sqrt(sum2 / (2.0 * n)) / 1000.0;
  INFO("measured sigma " << sigma << " over " << n << " voxels");
  REQUIRE(sigma == Approx(0.035).epsilon(0.02));
}

TEST_CASE("simulate: resolution loss removes high frequencies along the chosen world axis only", "[simulate]") {
  const Subject s = subject();
  const io::Volume plain = io::simulate_site(s.v, s.mask, site(R"({"name": "p"})"), 1, "sub");
  // PSR grid: world z (superior) runs along voxel axis 1, world x along voxel axis 2.
  // The texture is white noise, isotropic: neighbour differences are alike along every axis. After
  // resolution loss along voxel axis 1 they are much smaller along it than across it.
  const double plain_ratio = hf_energy(plain, s.mask, 1) / hf_energy(plain, s.mask, 0);
  REQUIRE((plain_ratio > 0.8 && plain_ratio < 1.25));
  for (const char* mode : {R"("mode": "blur", "fwhm_mm": 6)", R"("mode": "downsample", "factor": 3)"}) {
    INFO(mode);
    const io::Volume v = io::simulate_site(s.v, s.mask, site(std::string(R"({"name": "r", "resolution": {"axis": "z", )") + mode + "}}"), 1, "sub");
    const double e0 = hf_energy(v, s.mask, 0), e1 = hf_energy(v, s.mask, 1), e2 = hf_energy(v, s.mask, 2);
    INFO("neighbour-difference energy along voxel axes: " << e0 << " " << e1 << " " << e2);
    REQUIRE(e1 / e0 < 0.3);
    REQUIRE(e1 / e2 < 0.3);
    REQUIRE((e0 / e2 > 0.8 && e0 / e2 < 1.25));
    REQUIRE(e0 < hf_energy(plain, s.mask, 0));  // the blur also averaged the texture
  }
}

TEST_CASE("simulate: the example sites in docs/sites parse and run", "[simulate]") {
  const fs::path dir = fs::path(IMUNITY_SOURCE_DIR) / "docs" / "sites";
  int n = 0;
  const Subject s = subject();
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().extension() != ".json") continue;
    INFO(e.path().string());
    for (const auto& st : io::read_sites(e.path().string())) {
      const io::Volume v = io::simulate_site(s.v, s.mask, st, 0, "sub");
      for (float x : v.data) REQUIRE(std::isfinite(x));
      ++n;
    }
  }
  REQUIRE((n >= 4 && n <= 12));
}
