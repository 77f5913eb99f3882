// Training subjects on the network's grid and their random augmentation.
#include "tools/brainmask/brainmask_augment.h"

#include <algorithm>
#include <cmath>

#include "io/nifti.h"
#include "tools/common/brain_mask.h"

namespace im::tools {

MaskSubject load_mask_subject(const std::string& t1_path, const std::string& labels_path, const model::BrainMaskConfig& cfg) {
  const io::Volume t1 = io::read_volume(t1_path);
  io::Prepared p = to_network_grid(t1, io::read_label_mask(t1, labels_path), cfg);
  MaskSubject s;
  s.name = t1_path;
  s.image = std::move(p.image);
  s.mask = std::move(p.mask);
  return s;
}

io::Site random_site(io::Rng& rng) {
  auto uni = [&](double lo, double hi) { return lo + (hi - lo) * rng.uniform(); };
  io::Site s;
  s.name = "random";
  const double gamma = std::exp(uni(std::log(0.6), std::log(1.7)));
  std::vector<std::pair<double, double>> pts;
  double prev = 0;
  for (double x : {0.0, 0.25, 0.5, 0.7, 0.85, 1.0}) {
    double y = x == 0 ? 0 : std::pow(x, gamma) + uni(-0.05, 0.05);
    y = std::max(y, prev);  // monotone
    pts.emplace_back(x, y);
    prev = y;
  }
  s.curve = io::ContrastCurve::from_points(pts, "random site");
  const double b = rng.uniform();
  if (b < 0.4) {
    s.bias.kind = io::BiasSpec::Kind::polynomial;
    s.bias.order = 1 + static_cast<int>(rng.below(3));
  } else if (b < 0.8) {
    s.bias.kind = io::BiasSpec::Kind::gaussians;
    s.bias.count = 2 + static_cast<int>(rng.below(4));
    s.bias.width_mm = uni(40, 80);
  }
  s.bias.amplitude = uni(0, 0.35);
  s.noise_sigma = uni(0, 0.07);
  const double r = rng.uniform();
  if (r < 0.2) {
    s.resolution.mode = io::ResolutionSpec::Mode::blur;
    s.resolution.axis = static_cast<int>(rng.below(3));
    s.resolution.fwhm_mm = uni(1.5, 5);
  } else if (r < 0.45) {
    s.resolution.mode = io::ResolutionSpec::Mode::downsample;
    s.resolution.axis = rng.uniform() < 0.7 ? 2 : static_cast<int>(rng.below(3));
    s.resolution.factor = 2 + static_cast<int>(rng.below(2));
  }
  s.scale = uni(100, 3000);
  return s;
}

std::vector<float> resample_affine(const std::vector<float>& src, const io::Dims& d, const double m[12]) {
  std::vector<float> out(src.size(), 0.f);
  const int64_t nx = d[0], ny = d[1], nz = d[2];
#pragma omp parallel for schedule(static)
  for (int64_t k = 0; k < nz; ++k)
    for (int64_t j = 0; j < ny; ++j)
      for (int64_t i = 0; i < nx; ++i) {
        const double x = m[0] * i + m[1] * j + m[2] * k + m[3];
        const double y = m[4] * i + m[5] * j + m[6] * k + m[7];
        const double z = m[8] * i + m[9] * j + m[10] * k + m[11];
        const double fx = std::floor(x), fy = std::floor(y), fz = std::floor(z);
        const int64_t x0 = static_cast<int64_t>(fx), y0 = static_cast<int64_t>(fy), z0 = static_cast<int64_t>(fz);
        if (x0 < -1 || y0 < -1 || z0 < -1 || x0 >= nx || y0 >= ny || z0 >= nz) continue;
        const double tx = x - fx, ty = y - fy, tz = z - fz;
        double acc = 0;
        for (int c = 0; c < 8; ++c) {
          const int64_t xi = x0 + (c & 1), yi = y0 + ((c >> 1) & 1), zi = z0 + ((c >> 2) & 1);
          if (xi < 0 || yi < 0 || zi < 0 || xi >= nx || yi >= ny || zi >= nz) continue;
          const double w = ((c & 1) ? tx : 1 - tx) * (((c >> 1) & 1) ? ty : 1 - ty) * (((c >> 2) & 1) ? tz : 1 - tz);
          acc += w * src[static_cast<size_t>(xi + nx * (yi + ny * zi))];
        }
        out[static_cast<size_t>(i + nx * (j + ny * k))] = static_cast<float>(acc);
      }
  return out;
}

AugmentedVolume augment(const MaskSubject& s, const AugmentOptions& o, io::Rng& rng) {
  auto uni = [&](double lo, double hi) { return lo + (hi - lo) * rng.uniform(); };
  AugmentedVolume a;
  a.image = s.image;
  if (rng.uniform() < o.p_site) a.image = io::simulate_site(s.image, s.mask, random_site(rng), rng.next(), s.name);

  // dst voxel -> src voxel: rotation about the grid centre, scaling, flip, shift (isotropic voxels,
  // so index space is world space up to the voxel size).
  const double pi = 3.141592653589793, r = o.max_rotation_deg * pi / 180;
  const double ax = uni(-r, r), ay = uni(-r, r), az = uni(-r, r);
  const double rx[9] = {1, 0, 0, 0, std::cos(ax), -std::sin(ax), 0, std::sin(ax), std::cos(ax)};
  const double ry[9] = {std::cos(ay), 0, std::sin(ay), 0, 1, 0, -std::sin(ay), 0, std::cos(ay)};
  const double rz[9] = {std::cos(az), -std::sin(az), 0, std::sin(az), std::cos(az), 0, 0, 0, 1};
  auto mul3 = [](const double* p, const double* q, double* out) {
    for (int i = 0; i < 3; ++i)
      for (int j = 0; j < 3; ++j) out[3 * i + j] = p[3 * i] * q[j] + p[3 * i + 1] * q[3 + j] + p[3 * i + 2] * q[6 + j];
  };
  double t1[9], rot[9];
  mul3(rz, ry, t1);
  mul3(t1, rx, rot);
  const double iso = 1 + uni(-o.scale_range, o.scale_range);
  double sc[3];
  for (double& v : sc) v = 1 / (iso * (1 + uni(-o.scale_range / 2, o.scale_range / 2)));
  if (rng.uniform() < o.p_flip) sc[0] = -sc[0];
  const double vox = a.image.voxel_size()[0];
  double m[12];
  const io::Dims& d = a.image.dim;
  const double c[3] = {(d[0] - 1) / 2.0, (d[1] - 1) / 2.0, (d[2] - 1) / 2.0};
  for (int i = 0; i < 3; ++i) {
    double off = c[i] + uni(-o.max_shift_mm, o.max_shift_mm) / vox;
    for (int j = 0; j < 3; ++j) {
      m[4 * i + j] = rot[3 * i + j] * sc[j];
      off -= m[4 * i + j] * c[j];
    }
    m[4 * i + 3] = off;
  }
  a.image.data = resample_affine(a.image.data, d, m);
  const std::vector<float> mf = resample_affine(std::vector<float>(s.mask.begin(), s.mask.end()), d, m);
  a.mask.resize(mf.size());
  for (size_t i = 0; i < mf.size(); ++i) a.mask[i] = mf[i] >= 0.5f;

  if (rng.uniform() < o.p_brain_only) {
    io::Mask keep = a.mask;
    const int grow = static_cast<int>(rng.below(3));
    if (grow > 0) io::dilate(keep, d, {grow, grow, grow});
    for (size_t i = 0; i < keep.size(); ++i)
      if (!keep[i]) a.image.data[i] = 0;
  }
  scale_intensities(a.image);
  const float f = static_cast<float>(uni(1 - o.intensity_jitter, 1 + o.intensity_jitter));
  for (float& v : a.image.data) v = std::min(v * f, kMaxIntensity);
  return a;
}

}  // namespace im::tools
