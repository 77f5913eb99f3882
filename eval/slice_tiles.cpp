// Mosaic tiles cut from volumes, and the slice to cut.
#include "eval/slice_tiles.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace im::eval {

Tile axial_tile(const io::Volume& v, int64_t z, double lo, double hi, const std::string& caption) {
  Tile t;
  t.w = static_cast<int>(v.dim[0]), t.h = static_cast<int>(v.dim[1]);
  t.lo = lo, t.hi = hi;
  t.caption = caption;
  t.value.resize(static_cast<size_t>(t.w) * t.h);
  for (int j = 0; j < t.h; ++j)
    for (int i = 0; i < t.w; ++i) t.value[static_cast<size_t>(j) * t.w + i] = v.at(i, t.h - 1 - j, z);
  return t;
}

int64_t mosaic_slice(const io::Mask& m, const io::Dims& d, bool head_mask) {
  double sz = 0, n = 0;
  std::vector<int64_t> area(static_cast<size_t>(d[2]), 0);
  for (int64_t z = 0; z < d[2]; ++z)
    for (int64_t i = 0; i < d[0] * d[1]; ++i)
      if (m[z * d[0] * d[1] + i]) sz += static_cast<double>(z), n += 1, ++area[static_cast<size_t>(z)];
  if (!(n > 0)) return d[2] / 2;
  const int64_t c = static_cast<int64_t>(std::lround(sz / n));
  if (!head_mask) return c;
  return static_cast<int64_t>(std::max_element(area.begin() + c, area.end()) - area.begin());
}

}  // namespace im::eval
