// SSIM (scikit-image and TensorFlow border conventions), PSNR and MAE.
#include "eval/ssim.h"

#include <cmath>
#include <cstdio>
#include <limits>
#include <stdexcept>

namespace im::eval {

namespace {

// scipy.ndimage's Gaussian kernel: exp(-x^2 / (2 sigma^2)) on x = -r..r, normalized to sum 1.
std::vector<double> gaussian_kernel(double sigma, int r) {
  std::vector<double> k(2 * r + 1);
  double sum = 0;
  for (int i = -r; i <= r; ++i) sum += k[i + r] = std::exp(-0.5 * i * i / (sigma * sigma));
  for (double& w : k) w /= sum;
  return k;
}

// scipy's 'reflect' (half-sample symmetric) index for any i, also when |i| exceeds the length.
int64_t reflect(int64_t i, int64_t n) {
  const int64_t period = 2 * n;
  int64_t m = i % period;
  if (m < 0) m += period;
  return m < n ? m : period - 1 - m;
}

// Correlates every line along `axis` with the kernel, reflect padding, in place. Along x the lines
// are contiguous; along y and z whole rows / planes are combined at once, so the inner loop runs
// over contiguous memory.
void filter_axis(std::vector<double>& data, const io::Dims& dim, int axis, const std::vector<double>& k) {
  const int64_t n = dim[axis];
  if (n <= 0) return;
  const int r = static_cast<int>(k.size() / 2);
  if (axis == 0) {
    const int64_t lines = static_cast<int64_t>(data.size()) / n;
#pragma omp parallel
    {
      std::vector<double> buf(n + 2 * r);
#pragma omp for schedule(static)
      for (int64_t l = 0; l < lines; ++l) {
        double* line = data.data() + l * n;
        for (int64_t i = -r; i < n + r; ++i) buf[i + r] = line[reflect(i, n)];
        for (int64_t i = 0; i < n; ++i) {
          double s = 0;
          for (int j = 0; j <= 2 * r; ++j) s += k[j] * buf[i + j];
          line[i] = s;
        }
      }
    }
    return;
  }
  // Blocks: axis 1 -> each z plane is a block of ny rows of length nx; axis 2 -> one block of nz
  // planes of length nx * ny.
  const int64_t row = axis == 1 ? dim[0] : dim[0] * dim[1];
  const int64_t blocks = axis == 1 ? dim[2] : 1;
  const std::vector<double> src = data;
  for (int64_t b = 0; b < blocks; ++b) {
    const double* in = src.data() + b * n * row;
    double* out = data.data() + b * n * row;
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; ++i) {
      double* o = out + i * row;
      for (int64_t x = 0; x < row; ++x) o[x] = 0;
      for (int j = 0; j <= 2 * r; ++j) {
        const double w = k[j];
        const double* p = in + reflect(i + j - r, n) * row;
        for (int64_t x = 0; x < row; ++x) o[x] += w * p[x];
      }
    }
  }
}

void filter(std::vector<double>& data, const io::Dims& dim, int ndim, const std::vector<double>& k) {
  for (int a = ndim - 1; a >= 0; --a) filter_axis(data, dim, a, k);  // scipy's order: slowest axis first
}

bool window_fits(int64_t x, int64_t y, int64_t z, const io::Dims& dim, int ndim, int r) {
  const int64_t c[3] = {x, y, z};
  for (int a = 0; a < ndim; ++a)
    if (c[a] < r || c[a] > dim[a] - 1 - r) return false;
  return true;
}

// Mean of the map over z in [z0, z1).
SsimMean mean_over(const std::vector<double>& map, const io::Dims& dim, int ndim, const uint8_t* mask,
                   const SsimOptions& o, int64_t z0, int64_t z1) {
  const int r = o.radius();
  const bool need_fit = mask == nullptr || o.border == SsimBorder::valid;
  double sum = 0;
  int64_t count = 0;
  for (int64_t z = z0; z < z1; ++z)
    for (int64_t y = 0; y < dim[1]; ++y)
      for (int64_t x = 0; x < dim[0]; ++x) {
        const int64_t i = x + dim[0] * (y + dim[1] * z);
        if (mask && !mask[i]) continue;
        if (need_fit && !window_fits(x, y, z, dim, ndim, r)) continue;
        sum += map[i];
        ++count;
      }
  SsimMean m;
  m.count = count;
  m.value = count ? sum / static_cast<double>(count) : std::numeric_limits<double>::quiet_NaN();
  return m;
}

void check_same_grid(const io::Volume& a, const io::Volume& b, const char* what) {
  if (a.dim != b.dim || a.data.size() != b.data.size())
    throw std::invalid_argument(std::string(what) + ": the two volumes are on different grids (" +
                                std::to_string(a.dim[0]) + "x" + std::to_string(a.dim[1]) + "x" +
                                std::to_string(a.dim[2]) + " vs " + std::to_string(b.dim[0]) + "x" +
                                std::to_string(b.dim[1]) + "x" + std::to_string(b.dim[2]) + ")");
}

void check_mask(const io::Volume& a, const io::Mask* mask, const char* what) {
  if (mask && static_cast<int64_t>(mask->size()) != a.size())
    throw std::invalid_argument(std::string(what) + ": the mask does not match the volume's grid");
}

std::string fmt(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

}  // namespace

const char* border_name(SsimBorder b) {
  return b == SsimBorder::skimage ? "skimage border handling" : "TensorFlow 'valid' windows";
}

std::vector<double> ssim_map(const float* a, const float* b, const io::Dims& dim, int ndim,
                             const SsimOptions& o) {
  if (ndim != 2 && ndim != 3) throw std::invalid_argument("ssim_map: ndim must be 2 or 3");
  const size_t n = static_cast<size_t>(dim[0] * dim[1] * dim[2]);
  const std::vector<double> k = gaussian_kernel(o.sigma, o.radius());
  std::vector<double> ux(n), uy(n), uxx(n), uyy(n), uxy(n);
  for (size_t i = 0; i < n; ++i) {
    const double x = a[i], y = b[i];
    ux[i] = x, uy[i] = y, uxx[i] = x * x, uyy[i] = y * y, uxy[i] = x * y;
  }
  for (auto* v : {&ux, &uy, &uxx, &uyy, &uxy}) filter(*v, dim, ndim, k);
  const double c1 = (o.k1 * o.data_range) * (o.k1 * o.data_range);
  const double c2 = (o.k2 * o.data_range) * (o.k2 * o.data_range);
  std::vector<double>& s = uxx;  // reuse: the map overwrites uxx
  for (size_t i = 0; i < n; ++i) {
    const double mx = ux[i], my = uy[i];
    const double vx = uxx[i] - mx * mx, vy = uyy[i] - my * my, vxy = uxy[i] - mx * my;
    s[i] = ((2 * mx * my + c1) * (2 * vxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2));
  }
  return std::move(s);
}

SsimMean ssim_mean(const std::vector<double>& map, const io::Dims& dim, int ndim, const uint8_t* mask,
                   const SsimOptions& o) {
  return mean_over(map, dim, ndim, mask, o, 0, dim[2]);
}

SsimMean ssim3d(const io::Volume& a, const io::Volume& b, const io::Mask* mask, const SsimOptions& o) {
  check_same_grid(a, b, "ssim3d");
  check_mask(a, mask, "ssim3d");
  const std::vector<double> map = ssim_map(a.data.data(), b.data.data(), a.dim, 3, o);
  return ssim_mean(map, a.dim, 3, mask ? mask->data() : nullptr, o);
}

SliceSsim ssim2d_axial(const io::Volume& a, const io::Volume& b, const io::Mask* mask, bool masked,
                       const SsimOptions& o, double min_brain_fraction) {
  check_same_grid(a, b, "ssim2d_axial");
  check_mask(a, mask, "ssim2d_axial");
  if (masked && !mask) throw std::invalid_argument("ssim2d_axial: a masked mean needs a mask");
  return slice_means(ssim_map(a.data.data(), b.data.data(), a.dim, 2, o), a.dim, mask, masked, o, min_brain_fraction);
}

SliceSsim slice_means(const std::vector<double>& map, const io::Dims& dim, const io::Mask* mask, bool masked,
                      const SsimOptions& o, double min_brain_fraction) {
  if (masked && !mask) throw std::invalid_argument("slice_means: a masked mean needs a mask");
  const io::Dims& d = dim;
  const int64_t plane = d[0] * d[1];
  if (static_cast<int64_t>(map.size()) != plane * d[2] || (mask && mask->size() != map.size()))
    throw std::invalid_argument("slice_means: the map or the mask does not match the dims");
  SliceSsim out;
  double sum = 0;
  for (int64_t z = 0; z < d[2]; ++z) {
    if (mask) {
      int64_t brain = 0;
      for (int64_t i = 0; i < plane; ++i) brain += (*mask)[z * plane + i] != 0;
      if (brain == 0 || static_cast<double>(brain) < min_brain_fraction * static_cast<double>(plane)) continue;
    }
    const SsimMean m = mean_over(map, d, 2, masked ? mask->data() : nullptr, o, z, z + 1);
    if (m.count == 0) continue;
    out.slice.push_back(z);
    out.value.push_back(m.value);
    sum += m.value;
  }
  out.mean = out.value.empty() ? std::numeric_limits<double>::quiet_NaN()
                               : sum / static_cast<double>(out.value.size());
  return out;
}

double psnr(const io::Volume& a, const io::Volume& b, const io::Mask* mask, double data_range) {
  check_same_grid(a, b, "psnr");
  check_mask(a, mask, "psnr");
  double se = 0;
  int64_t n = 0;
  for (int64_t i = 0; i < a.size(); ++i) {
    if (mask && !(*mask)[i]) continue;
    const double d = static_cast<double>(a.data[i]) - b.data[i];
    se += d * d;
    ++n;
  }
  if (n == 0) return std::numeric_limits<double>::quiet_NaN();
  const double mse = se / static_cast<double>(n);
  if (mse == 0) return std::numeric_limits<double>::infinity();
  return 10.0 * std::log10(data_range * data_range / mse);
}

double mae(const io::Volume& a, const io::Volume& b, const io::Mask* mask) {
  check_same_grid(a, b, "mae");
  check_mask(a, mask, "mae");
  double s = 0;
  int64_t n = 0;
  for (int64_t i = 0; i < a.size(); ++i) {
    if (mask && !(*mask)[i]) continue;
    s += std::fabs(static_cast<double>(a.data[i]) - b.data[i]);
    ++n;
  }
  return n ? s / static_cast<double>(n) : std::numeric_limits<double>::quiet_NaN();
}

std::string ssim_convention(int ndim, bool masked, const SsimOptions& o, const std::string& scaling) {
  const int w = 2 * o.radius() + 1;
  std::string win = std::to_string(w) + "x" + std::to_string(w) + (ndim == 3 ? "x" + std::to_string(w) : "");
  std::string s = std::string("SSIM ") + (ndim == 2 ? "2D axial (mean over slices with >= 1% brain)" : "3D") +
                  ", " + win + " Gaussian sigma " + fmt(o.sigma) + ", K1 " + fmt(o.k1) + " K2 " + fmt(o.k2) +
                  ", L=" + fmt(o.data_range) + ", " + border_name(o.border) + ", " +
                  (masked ? "masked: mean over brain" : "unmasked: mean over the image");
  if (!scaling.empty()) s += ", intensities: " + scaling;
  return s;
}

std::string psnr_convention(bool masked, double data_range, const std::string& scaling) {
  std::string s = "PSNR = 10 log10(L^2 / MSE), L=" + fmt(data_range) + ", " +
                  (masked ? "MSE over brain voxels" : "MSE over all voxels");
  if (!scaling.empty()) s += ", intensities: " + scaling;
  return s;
}

std::string mae_convention(bool masked, const std::string& scaling) {
  std::string s = std::string("MAE = mean |a - b| ") + (masked ? "over brain voxels" : "over all voxels");
  if (!scaling.empty()) s += ", intensities: " + scaling;
  return s;
}

}  // namespace im::eval
