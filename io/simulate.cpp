// simulate_site: normalize, contrast curve, resolution loss, bias field, Rician noise, scale.
#include <algorithm>
#include <cmath>

#include "io/error.h"
#include "io/grid.h"
#include "io/orientation.h"
#include "io/rng.h"
#include "io/simulate.h"

namespace im::io {
namespace {

// Averages blocks of `f` voxels along `axis`, then interpolates linearly back to every voxel from
// the block centres: thick slices re-sampled onto the thin grid.
void downsample_upsample(Volume& v, int axis, int f) {
  const Dims& d = v.dim;
  const int64_t n = d[axis], stride = axis == 0 ? 1 : axis == 1 ? d[0] : d[0] * d[1];
  const int64_t blocks = (n + f - 1) / f, lines = v.size() / n;
#pragma omp parallel
  {
    std::vector<double> avg(static_cast<size_t>(blocks));
#pragma omp for schedule(static)
    for (int64_t l = 0; l < lines; ++l) {
      const int64_t start = line_start(d, axis, l);
      for (int64_t b = 0; b < blocks; ++b) {
        double s = 0;
        const int64_t end = std::min(n, (b + 1) * f);
        for (int64_t i = b * f; i < end; ++i) s += v.data[start + i * stride];
        avg[b] = s / double(end - b * f);
      }
      for (int64_t i = 0; i < n; ++i) {
        const double p = std::clamp((double(i) - (f - 1) / 2.0) / f, 0.0, double(blocks - 1));
        const int64_t b0 = static_cast<int64_t>(std::floor(p)), b1 = std::min(b0 + 1, blocks - 1);
        const double w = p - double(b0);
        v.data[start + i * stride] = static_cast<float>((1 - w) * avg[b0] + w * avg[b1]);
      }
    }
  }
}

// Smooth random field g, rescaled so that it spans exactly [-1, 1] over the mask.
std::vector<float> bias_field(const Volume& v, const Mask& m, const BiasSpec& b, uint64_t seed) {
  std::vector<float> g(v.data.size(), 0.0f);
  if (b.kind == BiasSpec::Kind::none || b.amplitude == 0) return std::vector<float>(v.data.size(), 1.0f);
  // The brain's bounding box in world coordinates anchors the field.
  Vec3 lo{1e30, 1e30, 1e30}, hi{-1e30, -1e30, -1e30};
  for (int64_t z = 0; z < v.dim[2]; ++z)
    for (int64_t y = 0; y < v.dim[1]; ++y)
      for (int64_t x = 0; x < v.dim[0]; ++x)
        if (m[v.index(x, y, z)]) {
          const Vec3 w = apply(v.affine, double(x), double(y), double(z));
          for (int a = 0; a < 3; ++a) lo[a] = std::min(lo[a], w[a]), hi[a] = std::max(hi[a], w[a]);
        }
  Vec3 centre, half;
  for (int a = 0; a < 3; ++a) centre[a] = (lo[a] + hi[a]) / 2, half[a] = std::max(1.0, (hi[a] - lo[a]) / 2);
  Rng rng(seed);
  std::vector<std::array<double, 5>> terms;  // gaussians: centre xyz, sign*weight ; polynomial: powers, coefficient
  if (b.kind == BiasSpec::Kind::gaussians) {
    for (int k = 0; k < b.count; ++k) {
      std::array<double, 5> t{};
      for (int a = 0; a < 3; ++a) t[a] = centre[a] + half[a] * (2 * rng.uniform() - 1);
      t[3] = (rng.uniform() < 0.5 ? -1 : 1) * (0.5 + 0.5 * rng.uniform());
      terms.push_back(t);
    }
  } else {
    for (int i = 0; i <= b.order; ++i)
      for (int j = 0; i + j <= b.order; ++j)
        for (int k = 0; i + j + k <= b.order; ++k)
          if (i + j + k > 0) terms.push_back({double(i), double(j), double(k), rng.normal(), 0});
  }
  const double inv2w2 = 1 / (2 * b.width_mm * b.width_mm);
#pragma omp parallel for schedule(static)
  for (int64_t z = 0; z < v.dim[2]; ++z)
    for (int64_t y = 0; y < v.dim[1]; ++y)
      for (int64_t x = 0; x < v.dim[0]; ++x) {
        const Vec3 w = apply(v.affine, double(x), double(y), double(z));
        double s = 0;
        for (const auto& t : terms) {
          if (b.kind == BiasSpec::Kind::gaussians) {
            const double dx = w[0] - t[0], dy = w[1] - t[1], dz = w[2] - t[2];
            s += t[3] * std::exp(-(dx * dx + dy * dy + dz * dz) * inv2w2);
          } else {
            s += t[3] * std::pow((w[0] - centre[0]) / half[0], t[0]) * std::pow((w[1] - centre[1]) / half[1], t[1]) *
                 std::pow((w[2] - centre[2]) / half[2], t[2]);
          }
        }
        g[v.index(x, y, z)] = static_cast<float>(s);
      }
  double gmin = 1e300, gmax = -1e300;
  for (size_t i = 0; i < g.size(); ++i)
    if (m[i]) gmin = std::min(gmin, double(g[i])), gmax = std::max(gmax, double(g[i]));
  std::vector<float> field(g.size(), 1.0f);
  if (!(gmax > gmin)) return field;
  for (size_t i = 0; i < g.size(); ++i) {
    const double u = 2 * (g[i] - gmin) / (gmax - gmin) - 1;  // [-1, 1] on the mask, smooth beyond
    field[i] = static_cast<float>(std::max(0.05, 1 + b.amplitude * u));
  }
  return field;
}

}  // namespace

Volume simulate_site(const Volume& input, const Mask& mask, const Site& site, uint64_t seed, const std::string& subject,
                     SimulationDetail* detail) {
  if (mask.size() != input.data.size()) throw Error("simulate: the mask does not match the volume's grid");
  const uint64_t base = mix(mix(seed, hash_string(site.name)), hash_string(subject));
  Volume v = input;
  NormOptions no;
  no.method = NormMethod::wm_peak;
  const NormParams norm = fit_normalization(v, mask, no);
  apply_normalization(v, norm);
  for (float& x : v.data) x = static_cast<float>(site.curve(x));

  const ResolutionSpec& r = site.resolution;
  if (r.mode != ResolutionSpec::Mode::none) {
    // The world axis asked for is carried by the voxel axis most aligned with it.
    const int axis = canonical_reorientation(v.affine, v.dim).perm[r.axis];
    if (r.mode == ResolutionSpec::Mode::blur && r.fwhm_mm > 0)
      gaussian_blur_axis(v, axis, r.fwhm_mm / 2.3548200450309493 / v.voxel_size()[axis]);
    if (r.mode == ResolutionSpec::Mode::downsample && r.factor > 1) downsample_upsample(v, axis, r.factor);
  }

  const std::vector<float> field = bias_field(v, mask, site.bias, mix(base, 1));
  const double wm = site.curve(no.wm_target), sigma = site.noise_sigma * wm;
  const uint64_t noise_seed = mix(base, 2);
  const int64_t plane = v.dim[0] * v.dim[1];
#pragma omp parallel for schedule(static)
  for (int64_t z = 0; z < v.dim[2]; ++z) {
    Rng rng(mix(noise_seed, static_cast<uint64_t>(z)));  // per slice: independent of the thread count
    for (int64_t i = z * plane; i < (z + 1) * plane; ++i) {
      double s = v.data[i] * field[i];
      if (sigma > 0) {
        const double re = s + sigma * rng.normal(), im = sigma * rng.normal();
        s = std::sqrt(re * re + im * im);  // magnitude of complex Gaussian noise: Rician
      }
      v.data[i] = static_cast<float>(s * site.scale);
    }
  }
  v.header.datatype = site.datatype;
  v.header.scl_slope = 1, v.header.scl_inter = 0;
  v.header.cal_min = v.header.cal_max = 0;
  v.header.descrip = "imunity-simulate site " + site.name;
  if (detail) {
    detail->norm = norm;
    detail->bias = field;
    detail->wm_level = wm;
    detail->noise_sigma = sigma;
  }
  return v;
}

}  // namespace im::io
