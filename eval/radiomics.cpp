// First-order and GLCM radiomic features (pyradiomics definitions; see docs/evaluation.md).
#include "eval/radiomics.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace im::eval {

namespace {

constexpr double kEps = std::numeric_limits<double>::epsilon();  // numpy.spacing(1), as pyradiomics
const double kNaN = std::numeric_limits<double>::quiet_NaN();

double entropy_of(const std::vector<double>& p) {
  double h = 0;
  for (double v : p) h -= v * std::log2(v + kEps);
  return h;
}

}  // namespace

std::vector<int> discretize(const std::vector<double>& x, int bins) {
  if (bins < 1) throw std::invalid_argument("discretize: bins must be >= 1");
  std::vector<int> out(x.size(), 1);
  if (x.empty()) return out;
  const auto [mn, mx] = std::minmax_element(x.begin(), x.end());
  const double lo = *mn, hi = *mx;
  if (!(hi > lo)) return out;
  // numpy.linspace(lo, hi, bins + 1): lo + i * step, the last one exactly hi; then + 1.
  std::vector<double> edges(bins + 1);
  const double step = (hi - lo) / bins;
  for (int i = 0; i <= bins; ++i) edges[i] = lo + i * step;
  edges[bins] = hi + 1;
  for (size_t k = 0; k < x.size(); ++k) {
    // numpy.digitize (right=False): i such that edges[i-1] <= x < edges[i].
    const int i = static_cast<int>(std::upper_bound(edges.begin(), edges.end(), x[k]) - edges.begin());
    out[k] = std::clamp(i, 1, bins);
  }
  return out;
}

double percentile_sorted(const std::vector<double>& s, double q) {
  if (s.empty()) return kNaN;
  const double pos = q / 100.0 * static_cast<double>(s.size() - 1);
  const auto i = static_cast<size_t>(std::floor(pos));
  if (i + 1 >= s.size()) return s.back();
  const double f = pos - static_cast<double>(i);
  return s[i] + f * (s[i + 1] - s[i]);
}

const std::vector<std::string>& first_order_names() {
  static const std::vector<std::string> names = {
      "Energy", "TotalEnergy", "Entropy", "Minimum", "10Percentile", "90Percentile", "Maximum", "Mean",
      "Median", "InterquartileRange", "Range", "MeanAbsoluteDeviation", "RobustMeanAbsoluteDeviation",
      "RootMeanSquared", "StandardDeviation", "Skewness", "Kurtosis", "Variance", "Uniformity"};
  return names;
}

std::vector<double> first_order(const std::vector<double>& x, const std::vector<int>& levels, double voxel_volume) {
  const size_t n = x.size();
  if (n == 0) return std::vector<double>(first_order_names().size(), kNaN);
  std::vector<double> s = x;
  std::sort(s.begin(), s.end());
  double sum = 0, sum2 = 0;
  for (double v : x) sum += v, sum2 += v * v;
  const double N = static_cast<double>(n), mean = sum / N;
  double m2 = 0, m3 = 0, m4 = 0, mad = 0;
  for (double v : x) {
    const double d = v - mean;
    m2 += d * d, m3 += d * d * d, m4 += d * d * d * d, mad += std::fabs(d);
  }
  m2 /= N, m3 /= N, m4 /= N, mad /= N;
  const double p10 = percentile_sorted(s, 10), p90 = percentile_sorted(s, 90);
  double rsum = 0, rn = 0;
  for (double v : x)
    if (v >= p10 && v <= p90) rsum += v, rn += 1;
  const double rmean = rn > 0 ? rsum / rn : kNaN;
  double rmad = 0;
  for (double v : x)
    if (v >= p10 && v <= p90) rmad += std::fabs(v - rmean);
  rmad = rn > 0 ? rmad / rn : kNaN;
  int nbins = 0;
  for (int l : levels) nbins = std::max(nbins, l);
  std::vector<double> p(nbins, 0.0);
  for (int l : levels) p[l - 1] += 1;
  double uniformity = 0;
  for (double& v : p) v /= static_cast<double>(levels.size()), uniformity += v * v;
  return {sum2,
          voxel_volume * sum2,
          entropy_of(p),
          s.front(),
          p10,
          p90,
          s.back(),
          mean,
          percentile_sorted(s, 50),
          percentile_sorted(s, 75) - percentile_sorted(s, 25),
          s.back() - s.front(),
          mad,
          rmad,
          std::sqrt(sum2 / N),
          std::sqrt(m2),
          m2 > 0 ? m3 / std::pow(m2, 1.5) : 0.0,
          m2 > 0 ? m4 / (m2 * m2) : 0.0,
          m2,
          uniformity};
}

double Glcm::total() const {
  double t = 0;
  for (double v : count) t += v;
  return t;
}

const std::vector<std::array<int, 3>>& glcm_directions() {
  static const std::vector<std::array<int, 3>> d = [] {
    std::vector<std::array<int, 3>> out;
    for (int dz = 1; dz >= 0; --dz)
      for (int dy = 1; dy >= -1; --dy)
        for (int dx = 1; dx >= -1; --dx) {
          if (dz == 0 && (dy < 0 || (dy == 0 && dx <= 0))) continue;
          out.push_back({dx, dy, dz});
        }
    return out;
  }();
  return d;
}

Glcm glcm(const std::vector<int>& levels, const io::Dims& dim, int n, const std::array<int, 3>& d) {
  Glcm m;
  m.n = n;
  m.count.assign(static_cast<size_t>(n) * n, 0.0);
  for (int64_t z = 0; z < dim[2]; ++z) {
    const int64_t z2 = z + d[2];
    if (z2 < 0 || z2 >= dim[2]) continue;
    for (int64_t y = 0; y < dim[1]; ++y) {
      const int64_t y2 = y + d[1];
      if (y2 < 0 || y2 >= dim[1]) continue;
      for (int64_t x = 0; x < dim[0]; ++x) {
        const int64_t x2 = x + d[0];
        if (x2 < 0 || x2 >= dim[0]) continue;
        const int a = levels[x + dim[0] * (y + dim[1] * z)];
        const int b = levels[x2 + dim[0] * (y2 + dim[1] * z2)];
        if (a <= 0 || b <= 0) continue;
        m.count[static_cast<size_t>(a - 1) * n + (b - 1)] += 1;
        m.count[static_cast<size_t>(b - 1) * n + (a - 1)] += 1;
      }
    }
  }
  return m;
}

const std::vector<std::string>& glcm_names() {
  static const std::vector<std::string> names = {
      "Autocorrelation", "JointAverage", "ClusterProminence", "ClusterShade", "ClusterTendency", "Contrast",
      "Correlation", "DifferenceAverage", "DifferenceEntropy", "DifferenceVariance", "JointEnergy",
      "JointEntropy", "Imc1", "Imc2", "Idm", "Idmn", "Id", "Idn", "InverseVariance", "MaximumProbability",
      "SumAverage", "SumEntropy", "SumSquares"};
  return names;
}

std::vector<double> glcm_features(const Glcm& m) {
  const int n = m.n;
  const double total = m.total();
  if (n == 0 || total <= 0) return std::vector<double>(glcm_names().size(), kNaN);
  auto P = [&](int i, int j) { return m.count[static_cast<size_t>(i) * n + j] / total; };  // 0-based
  std::vector<double> px(n, 0.0), py(n, 0.0), psum(2 * n + 1, 0.0), pdiff(n, 0.0);
  double autocorr = 0, energy = 0, hxy = 0, maxp = 0, idm = 0, idmn = 0, id = 0, idn = 0, contrast = 0;
  const double Ng = n;
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j) {
      const double p = P(i, j);
      const int gi = i + 1, gj = j + 1;  // gray levels
      px[i] += p, py[j] += p;
      psum[gi + gj] += p;
      pdiff[std::abs(gi - gj)] += p;
      autocorr += p * gi * gj;
      energy += p * p;
      hxy -= p * std::log2(p + kEps);
      maxp = std::max(maxp, p);
      const double d = gi - gj;
      contrast += p * d * d;
      idm += p / (1 + d * d);
      idmn += p / (1 + d * d / (Ng * Ng));
      id += p / (1 + std::fabs(d));
      idn += p / (1 + std::fabs(d) / Ng);
    }
  double ux = 0, uy = 0;
  for (int i = 0; i < n; ++i) ux += px[i] * (i + 1), uy += py[i] * (i + 1);
  double sx = 0, sy = 0;
  for (int i = 0; i < n; ++i) sx += px[i] * (i + 1 - ux) * (i + 1 - ux), sy += py[i] * (i + 1 - uy) * (i + 1 - uy);
  double prom = 0, shade = 0, tend = 0, hxy1 = 0, hxy2 = 0;
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j) {
      const double p = P(i, j), c = (i + 1) + (j + 1) - ux - uy, q = px[i] * py[j];
      prom += c * c * c * c * p, shade += c * c * c * p, tend += c * c * p;
      hxy1 -= p * std::log2(q + kEps);
      hxy2 -= q * std::log2(q + kEps);
    }
  const double corr = (sx > 0 && sy > 0) ? (autocorr - ux * uy) / std::sqrt(sx * sy) : 1.0;
  double davg = 0, dvar = 0, inv_var = 0;
  for (int k = 0; k < n; ++k) davg += k * pdiff[k];
  for (int k = 0; k < n; ++k) dvar += (k - davg) * (k - davg) * pdiff[k];
  for (int k = 1; k < n; ++k) inv_var += pdiff[k] / (static_cast<double>(k) * k);
  double savg = 0;
  for (int k = 2; k <= 2 * n; ++k) savg += k * psum[k];
  const double hx = entropy_of(px), hy = entropy_of(py);
  const double imc1 = std::max(hx, hy) > 0 ? (hxy - hxy1) / std::max(hx, hy) : 0.0;
  const double imc2 = hxy2 > hxy ? std::sqrt(1 - std::exp(-2 * (hxy2 - hxy))) : 0.0;
  return {autocorr, ux, prom, shade, tend, contrast, corr, davg, entropy_of(pdiff), dvar, energy, hxy, imc1, imc2,
          idm, idmn, id, idn, inv_var, maxp, savg, entropy_of(psum), sx};
}

std::vector<std::string> radiomic_feature_names(const RadiomicsOptions& o) {
  std::vector<std::string> names;
  for (const auto& n : first_order_names()) names.push_back("firstorder_" + n);
  if (o.texture)
    for (const auto& n : glcm_names()) names.push_back("glcm_" + n);
  names.push_back("shape_VoxelVolume");
  return names;
}

FeatureVector radiomic_features(const io::Volume& v, const io::Mask& mask, const RadiomicsOptions& o) {
  if (static_cast<int64_t>(mask.size()) != v.size())
    throw std::invalid_argument("radiomic_features: the mask does not match the volume's grid");
  std::vector<double> x;
  for (int64_t i = 0; i < v.size(); ++i)
    if (mask[i]) x.push_back(v.data[i]);
  if (x.empty()) throw std::invalid_argument("radiomic_features: empty mask");
  const io::Vec3 vs = v.voxel_size();
  const double voxel_volume = vs[0] * vs[1] * vs[2];
  const std::vector<int> lv = discretize(x, o.bins);
  FeatureVector f;
  f.names = radiomic_feature_names(o);
  f.values = first_order(x, lv, voxel_volume);
  if (o.texture) {
    std::vector<int> levels(v.data.size(), 0);
    for (int64_t i = 0, k = 0; i < v.size(); ++i)
      if (mask[i]) levels[i] = lv[k++];
    std::vector<double> sum(glcm_names().size(), 0.0);
    int used = 0;
    for (const auto& d : glcm_directions()) {
      const Glcm m = glcm(levels, v.dim, o.bins, d);
      if (m.total() <= 0) continue;
      const std::vector<double> g = glcm_features(m);
      for (size_t k = 0; k < g.size(); ++k) sum[k] += g[k];
      ++used;
    }
    for (double s : sum) f.values.push_back(used ? s / used : kNaN);
  }
  f.values.push_back(static_cast<double>(x.size()) * voxel_volume);
  return f;
}

}  // namespace im::eval
