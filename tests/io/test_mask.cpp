// Brain masks: label maps on other grids (exact on synthetic grids, plausible on IXI), auto masks.
#include <catch2/catch.hpp>

#include <cmath>

#include "io/mask.h"
#include "io/nifti.h"
#include "io_test_util.h"
#include "support/paths.h"

using namespace im;

TEST_CASE("mask: label map on a finer grid with another orientation, exact", "[mask]") {
  // Labels: 1 mm, LPS, 40^3; image: 2 mm, RAS, 16^3, world-aligned so that image voxel (x, y, z)
  // has its centre on label voxel (39 - (2x + 4), 39 - (2y + 4), 2z + 4).
  const io::Volume labels = test::synthetic({40, 40, 40}, test::diag_affine(-1, -1, 1, 39, 39, 0),
                                            [](int64_t x, int64_t y, int64_t z) { return float((x * 3 + y * 5 + z * 7) % 4); });
  const io::Volume img = test::synthetic({16, 16, 16}, test::diag_affine(2, 2, 2, 4, 4, 4), [](int64_t, int64_t, int64_t) { return 1.0f; });
  const io::Mask m = io::mask_from_volume(img, labels, 0.0f);
  for (int64_t z = 0; z < 16; ++z)
    for (int64_t y = 0; y < 16; ++y)
      for (int64_t x = 0; x < 16; ++x) {
        const int64_t lx = 39 - (2 * x + 4), ly = 39 - (2 * y + 4), lz = 2 * z + 4;
        INFO(x << "," << y << "," << z);
        REQUIRE(m[img.index(x, y, z)] == (labels.at(lx, ly, lz) > 0));
      }
}

TEST_CASE("mask: voxels mapped outside the label grid are outside the mask", "[mask]") {
  const io::Volume labels = test::synthetic({10, 10, 10}, test::diag_affine(1, 1, 1), [](int64_t, int64_t, int64_t) { return 5.0f; });
  const io::Volume img = test::synthetic({10, 10, 10}, test::diag_affine(1, 1, 1, 5, 0, 0), [](int64_t, int64_t, int64_t) { return 1.0f; });
  const io::Mask m = io::mask_from_volume(img, labels, 0.0f);
  for (int64_t x = 0; x < 10; ++x) REQUIRE(m[img.index(x, 3, 3)] == (x + 5 <= 9));
}

TEST_CASE("mask: IXI label map gives a plausible brain fraction", "[mask][data]") {
  const auto t1 = test::data_files("ixi_hh_2mm/t1");
  for (const char* s : {"IXI013-HH-1212", "IXI039-HH-1261"}) {
    const std::string root = test::data_dir() + "/ixi_hh_2mm/";
    const io::Volume v = io::read_volume(root + "t1/" + s + "_T1.nii.gz");
    const io::Mask m = io::read_label_mask(v, root + "labels/" + s + "_T1_DLMUSE.nii.gz");
    const double f = io::mask_fraction(m);
    INFO(s << " brain fraction " << f);
    REQUIRE((f > 0.10 && f < 0.40));
  }
}

TEST_CASE("mask: automatic head mask fills the head, not the background", "[mask]") {
  // A "head": bright shell (scalp) around a mid-grey interior with a dark cavity, in noisy air.
  uint32_t s = 7;
  const auto noise = [&s] { return (s = s * 1664525u + 1013904223u) >> 8 & 0xff; };
  const io::Volume v = test::synthetic({48, 48, 48}, test::diag_affine(2, 2, 2), [&](int64_t x, int64_t y, int64_t z) {
    const double r = std::sqrt(double((x - 24) * (x - 24) + (y - 24) * (y - 24) + (z - 24) * (z - 24)));
    if (r > 18) return float(noise() % 20);          // air
    if (r > 16) return float(800 + noise() % 50);    // scalp
    if (r < 4) return float(noise() % 20);           // a dark cavity inside
    return float(400 + noise() % 100);               // tissue
  });
  const io::Mask m = io::auto_mask(v);
  int64_t wrong = 0;
  for (int64_t z = 0; z < 48; ++z)
    for (int64_t y = 0; y < 48; ++y)
      for (int64_t x = 0; x < 48; ++x) {
        const double r = std::sqrt(double((x - 24) * (x - 24) + (y - 24) * (y - 24) + (z - 24) * (z - 24)));
        if (r < 17.5 && !m[v.index(x, y, z)]) ++wrong;   // inside the head (cavity included): in
        if (r > 19.5 && m[v.index(x, y, z)]) ++wrong;    // clear air: out
      }
  REQUIRE(wrong == 0);
}

TEST_CASE("mask: Otsu threshold separates two classes", "[mask]") {
  std::vector<float> v;
  for (int i = 0; i < 1000; ++i) v.push_back(float(i % 10));        // class around 5
  for (int i = 0; i < 1000; ++i) v.push_back(float(100 + i % 10));  // class around 105
  const double t = io::otsu_threshold(v);
  REQUIRE((t > 9 && t <= 100));
}
