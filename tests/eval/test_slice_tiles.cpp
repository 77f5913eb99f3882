// Mosaic tiles (eval/slice_tiles.h): the axial tile's orientation and the slice chosen from a mask.
#include <catch2/catch.hpp>

#include "eval/slice_tiles.h"

using namespace im;

TEST_CASE("axial_tile: slice z, anterior (high y) up, with its display range and caption", "[plot]") {
  io::Volume v;
  v.dim = {3, 2, 4};
  v.data.resize(24);
  for (int64_t z = 0; z < 4; ++z)
    for (int64_t y = 0; y < 2; ++y)
      for (int64_t x = 0; x < 3; ++x) v.data[static_cast<size_t>(x + 3 * y + 6 * z)] = static_cast<float>(100 * z + 10 * y + x);
  const eval::Tile t = eval::axial_tile(v, 2, 0.5, 250, "cap");
  REQUIRE(t.w == 3);
  REQUIRE(t.h == 2);
  CHECK(t.value == std::vector<float>{210, 211, 212, 200, 201, 202});  // top row is y = 1
  CHECK(t.lo == 0.5);
  CHECK(t.hi == 250);
  CHECK(t.caption == "cap");
}

TEST_CASE("mosaic_slice: the mask's centroid, or for a head mask the widest slice above it", "[plot]") {
  const io::Dims d{4, 4, 10};
  io::Mask m(160, 0);
  auto fill = [&](int64_t z, int64_t voxels) {
    for (int64_t i = 0; i < voxels; ++i) m[static_cast<size_t>(z * 16 + i)] = 1;
  };
  CHECK(eval::mosaic_slice(m, d) == 5);  // empty: the middle slice
  fill(2, 4), fill(3, 4), fill(4, 4), fill(7, 12);  // centroid (8 + 12 + 16 + 84) / 24 = 5
  CHECK(eval::mosaic_slice(m, d) == 5);
  CHECK(eval::mosaic_slice(m, d, true) == 7);  // the widest slice at or above 5
}
