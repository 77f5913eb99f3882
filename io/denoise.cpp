// Noise estimation (Immerkaer with a median) and slice-wise non-local means (io/denoise.h).
#include "io/denoise.h"

#include <algorithm>
#include <cmath>

namespace im::io {

namespace {

// Laplacian-difference responses of one h x w slice at voxels whose 3 x 3 neighbourhood is in the mask.
void responses(const float* s, const uint8_t* m, int64_t h, int64_t w, std::vector<float>& out) {
  for (int64_t y = 1; y + 1 < h; ++y)
    for (int64_t x = 1; x + 1 < w; ++x) {
      bool inside = true;
      for (int64_t dy = -1; dy <= 1 && inside; ++dy)
        for (int64_t dx = -1; dx <= 1; ++dx) inside = inside && m[(y + dy) * w + x + dx];
      if (!inside) continue;
      const float* c = s + y * w + x;
      const float r = c[-w - 1] - 2 * c[-w] + c[-w + 1] - 2 * c[-1] + 4 * c[0] - 2 * c[1] + c[w - 1] - 2 * c[w] + c[w + 1];
      out.push_back(std::abs(r));
    }
}

double sigma_from(std::vector<float>& r) {
  if (r.size() < 100) return 0;
  const auto mid = r.begin() + static_cast<long>(r.size() / 2);
  std::nth_element(r.begin(), mid, r.end());
  return 1.4826 * static_cast<double>(*mid) / 6.0;  // the filter's weights have a norm of 6
}

}  // namespace

double estimate_noise_slices(const std::vector<float>& slices, const std::vector<uint8_t>& masks, int64_t n, int64_t h, int64_t w) {
  std::vector<float> r;
  for (int64_t k = 0; k < n; ++k) responses(slices.data() + k * h * w, masks.data() + k * h * w, h, w, r);
  return sigma_from(r);
}

double estimate_noise(const Volume& v, const Mask& mask) {
  const int64_t nx = v.dim[0], ny = v.dim[1], nz = v.dim[2], plane = nx * ny;
  std::vector<float> r;
  for (int64_t z = 0; z < nz; ++z) responses(v.data.data() + z * plane, mask.data() + z * plane, ny, nx, r);
  return sigma_from(r);
}

void nlm_denoise(Volume& v, const Mask& mask, double h, const NlmOptions& o) {
  if (!(h > 0)) return;
  const int64_t nx = v.dim[0], ny = v.dim[1], nz = v.dim[2], plane = nx * ny;
  const int P = o.patch_radius, S = o.search_radius;
  const double inv_h2 = 1.0 / (h * h), patch_n = static_cast<double>((2 * P + 1) * (2 * P + 1));
  const std::vector<float> src = v.data;
#pragma omp parallel for schedule(dynamic)
  for (int64_t z = 0; z < nz; ++z) {
    const float* s = src.data() + z * plane;
    const uint8_t* m = mask.data() + z * plane;
    auto at = [&](int64_t x, int64_t y) { return s[std::clamp<int64_t>(y, 0, ny - 1) * nx + std::clamp<int64_t>(x, 0, nx - 1)]; };
    for (int64_t y = 0; y < ny; ++y)
      for (int64_t x = 0; x < nx; ++x) {
        if (!m[y * nx + x]) continue;
        double wsum = 0, vsum = 0;
        for (int64_t qy = std::max<int64_t>(0, y - S); qy <= std::min(ny - 1, y + S); ++qy)
          for (int64_t qx = std::max<int64_t>(0, x - S); qx <= std::min(nx - 1, x + S); ++qx) {
            if (!m[qy * nx + qx]) continue;
            double d2 = 0;
            for (int64_t dy = -P; dy <= P; ++dy)
              for (int64_t dx = -P; dx <= P; ++dx) {
                const double d = at(x + dx, y + dy) - at(qx + dx, qy + dy);
                d2 += d * d;
              }
            const double wgt = std::exp(-d2 / patch_n * inv_h2);
            wsum += wgt, vsum += wgt * s[qy * nx + qx];
          }
        v.data[static_cast<size_t>(z * plane + y * nx + x)] = static_cast<float>(vsum / wsum);
      }
  }
}

}  // namespace im::io
