// Through-slice detail correlation (eval/texture.h).
#include "eval/texture.h"

#include <cmath>
#include <limits>

#include "io/grid.h"

namespace im::eval {

double through_slice_detail_correlation(const io::Volume& v, const io::Mask& brain, int lag, double sigma_vox) {
  io::Volume blur = v;
  io::gaussian_blur_axis(blur, 0, sigma_vox);
  io::gaussian_blur_axis(blur, 1, sigma_vox);
  const int64_t nx = v.dim[0], ny = v.dim[1], nz = v.dim[2], plane = nx * ny;
  double sum = 0;
  int pairs = 0;
  for (int64_t z = 0; z + lag < nz; ++z) {
    double n = 0, sa = 0, sb = 0, saa = 0, sbb = 0, sab = 0;
    for (int64_t i = 0; i < plane; ++i) {
      const size_t a = static_cast<size_t>(z * plane + i), b = static_cast<size_t>((z + lag) * plane + i);
      if (!brain[a] || !brain[b]) continue;
      const double da = v.data[a] - blur.data[a], db = v.data[b] - blur.data[b];
      n += 1, sa += da, sb += db, saa += da * da, sbb += db * db, sab += da * db;
    }
    if (n < 100) continue;
    const double va = saa - sa * sa / n, vb = sbb - sb * sb / n;
    if (va <= 0 || vb <= 0) continue;
    sum += (sab - sa * sb / n) / std::sqrt(va * vb);
    ++pairs;
  }
  return pairs ? sum / pairs : std::numeric_limits<double>::quiet_NaN();
}

}  // namespace im::eval
