// Canonical reorientation: exact inverse, world coordinates kept, canonical axes R, A, S.
#include <catch2/catch.hpp>

#include <cmath>

#include "io/orientation.h"
#include "io_test_util.h"

using namespace im;

namespace {

// Affines for several orientations (columns = world direction of each voxel axis, scaled).
io::Mat4 affine_for(const std::string& code) {
  if (code == "RAS") return test::diag_affine(1.5, 2, 2.5, -10, 20, -30);
  if (code == "LPS") return test::diag_affine(-1.5, -2, 2.5, 60, 70, -30);
  if (code == "PIR") return {0, 0, 2.5, -40, -1.5, 0, 0, 50, 0, -2, 0, 60, 0, 0, 0, 1};
  if (code == "PSR") return {0, 0, 2, -74.6, -2, 0, 0, 116.7, 0, 2, 0, -136.2, 0, 0, 0, 1};  // IXI's
  // Oblique: a rotation of about 20 degrees around two axes, anisotropic voxels, nearest RAS is "LAS".
  const double c = std::cos(0.35), s = std::sin(0.35);
  return {-1.5 * c, 0, 2.5 * s, 30, 1.5 * s * s, 2 * c, 2.5 * c * s, -20, -1.5 * s * c, 2 * s, 2.5 * c * c, 10, 0, 0, 0, 1};
}

}  // namespace

TEST_CASE("orientation: to_canonical / from_canonical for several orientations", "[orientation]") {
  for (const std::string code : {"RAS", "LPS", "PIR", "PSR", "oblique"}) {
    INFO(code);
    const io::Volume v = test::synthetic({7, 5, 4}, affine_for(code), [](int64_t x, int64_t y, int64_t z) { return float(x + 10 * y + 100 * z); });
    if (code != "oblique") REQUIRE(io::axcodes(v.affine) == code);
    io::Reorientation r;
    const io::Volume c = io::to_canonical(v, &r);
    REQUIRE(io::axcodes(c.affine) == "RAS");
    // Each canonical axis points mostly along +R, +A, +S.
    for (int a = 0; a < 3; ++a) REQUIRE(c.affine[4 * a + a] > 0);
    // Every voxel keeps its world coordinates.
    const io::Mat4 t = r.canonical_to_source();
    for (int64_t z = 0; z < c.dim[2]; ++z)
      for (int64_t y = 0; y < c.dim[1]; ++y)
        for (int64_t x = 0; x < c.dim[0]; ++x) {
          const io::Vec3 s = io::apply(t, double(x), double(y), double(z));
          const auto sx = std::llround(s[0]), sy = std::llround(s[1]), sz = std::llround(s[2]);
          REQUIRE(c.at(x, y, z) == v.at(sx, sy, sz));
          const io::Vec3 wc = io::apply(c.affine, double(x), double(y), double(z)), ws = io::apply(v.affine, double(sx), double(sy), double(sz));
          for (int a = 0; a < 3; ++a) REQUIRE(std::fabs(wc[a] - ws[a]) < 1e-9);
        }
    // qform and sform follow the affine.
    REQUIRE(io::max_abs_diff(c.header.sform, c.affine) < 1e-12);
    REQUIRE(io::max_abs_diff(c.header.qform, c.affine) < 1e-12);
    const io::Volume back = io::from_canonical(c, r);
    REQUIRE(back.dim == v.dim);
    REQUIRE(back.data == v.data);
    REQUIRE(io::max_abs_diff(back.affine, v.affine) < 1e-9);
  }
}

TEST_CASE("orientation: canonical of an already RAS volume is the identity", "[orientation]") {
  const io::Volume v = test::synthetic({3, 4, 5}, affine_for("RAS"), [](int64_t x, int64_t y, int64_t z) { return float(x * y + z); });
  io::Reorientation r;
  const io::Volume c = io::to_canonical(v, &r);
  REQUIRE(r.is_identity());
  REQUIRE(c.data == v.data);
  REQUIRE(c.affine == v.affine);
}

TEST_CASE("orientation: masks follow with forward/backward", "[orientation]") {
  const io::Volume v = test::synthetic({6, 3, 4}, affine_for("PIR"), [](int64_t x, int64_t, int64_t z) { return float(x == z); });
  io::Reorientation r;
  const io::Volume c = io::to_canonical(v, &r);
  std::vector<uint8_t> m(v.data.size());
  for (size_t i = 0; i < m.size(); ++i) m[i] = v.data[i] > 0;
  const auto cm = r.forward(m);
  for (size_t i = 0; i < cm.size(); ++i) REQUIRE(cm[i] == (c.data[i] > 0));
  REQUIRE(r.backward(cm) == m);
}
