// Slices: the three layouts, padding, exact reinsertion, brain-slice selection, median fusion.
#include <catch2/catch.hpp>

#include "io/slices.h"
#include "io_test_util.h"

using namespace im;

namespace {
io::Volume numbered() {
  return test::synthetic({37, 23, 19}, test::diag_affine(1, 1, 1), [](int64_t x, int64_t y, int64_t z) { return float(x + 100 * y + 10000 * z); });
}
}  // namespace

TEST_CASE("slices: layout of each orientation, padded to multiples of 16", "[slices]") {
  const io::Volume v = numbered();
  const io::SliceStack ax = io::extract_slices(v, io::SliceAxis::axial);
  REQUIRE((ax.n == 19 && ax.h == 32 && ax.w == 48));
  REQUIRE((ax.row_offset == 4 && ax.col_offset == 5));
  REQUIRE(ax.slice(7)[(3 + 4) * 48 + (11 + 5)] == v.at(11, 3, 7));  // [z][y][x]
  REQUIRE(ax.slice(7)[0] == 0);                                      // padding
  const io::SliceStack co = io::extract_slices(v, io::SliceAxis::coronal);
  REQUIRE((co.n == 23 && co.h == 32 && co.w == 48));
  REQUIRE(co.slice(5)[(2 + co.row_offset) * co.w + 30 + co.col_offset] == v.at(30, 5, 2));  // [y][z][x]
  const io::SliceStack sa = io::extract_slices(v, io::SliceAxis::sagittal);
  REQUIRE((sa.n == 37 && sa.h == 32 && sa.w == 32));
  REQUIRE(sa.slice(9)[(18 + sa.row_offset) * sa.w + 22 + sa.col_offset] == v.at(9, 22, 18));  // [x][z][y]
  const io::SliceStack plain = io::extract_slices(v, io::SliceAxis::axial, 1);
  REQUIRE(plain.data == v.data);  // unpadded axial slices are the volume's own memory layout
}

TEST_CASE("slices: volume -> slices -> volume is exact for every orientation", "[slices]") {
  const io::Volume v = numbered();
  for (auto axis : {io::SliceAxis::axial, io::SliceAxis::coronal, io::SliceAxis::sagittal}) {
    INFO(io::slice_axis_name(axis));
    const io::SliceStack s = io::extract_slices(v, axis);
    io::Volume back = io::zeros_like(v);
    io::insert_slices(s, back);
    REQUIRE(back.data == v.data);
  }
  io::Volume other = test::synthetic({5, 5, 5}, test::diag_affine(1, 1, 1), [](int64_t, int64_t, int64_t) { return 0.0f; });
  REQUIRE_THROWS(io::insert_slices(io::extract_slices(v, io::SliceAxis::axial), other));
}

TEST_CASE("slices: brain slices need at least 1% brain voxels", "[slices]") {
  const io::Dims d{20, 10, 6};
  io::Mask m(20 * 10 * 6, 0);
  m[0 + 20 * (0 + 10 * 1)] = 1;                        // z = 1: 1 of 200 voxels = 0.5%
  m[0 + 20 * (0 + 10 * 3)] = m[1 + 20 * (0 + 10 * 3)] = 1;  // z = 3: 2 of 200 = 1%
  for (int i = 0; i < 100; ++i) m[i + 200 * 5] = 1;        // z = 5: half
  REQUIRE(io::brain_slices(m, d, io::SliceAxis::axial) == std::vector<int64_t>{3, 5});
  REQUIRE(io::brain_slices(m, d, io::SliceAxis::axial, 0.6).empty());
  REQUIRE(io::brain_slices(m, d, io::SliceAxis::sagittal, 0.0).size() == 20);
}

TEST_CASE("slices: median fusion of three volumes", "[slices]") {
  const io::Volume a = test::synthetic({2, 2, 1}, test::diag_affine(1, 1, 1), [](int64_t x, int64_t y, int64_t) { return float(x + 2 * y); });
  const io::Volume b = test::synthetic({2, 2, 1}, test::diag_affine(1, 1, 1), [](int64_t x, int64_t, int64_t) { return float(5 * x); });
  const io::Volume c = test::synthetic({2, 2, 1}, test::diag_affine(1, 1, 1), [](int64_t, int64_t, int64_t) { return 1.0f; });
  const io::Volume m = io::median_fusion(a, b, c);
  // a = 0 1 2 3, b = 0 5 0 5, c = 1 1 1 1 -> medians 0 1 1 3
  REQUIRE(m.data == std::vector<float>{0, 1, 1, 3});
}
