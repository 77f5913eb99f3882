// WM-peak and White-Stripe normalization: histograms, mode finding, the linear map and its inverse.
#include "io/normalize.h"

#include <algorithm>
#include <cmath>
#include <unordered_set>

#include "io/error.h"
#include "io/intensity_map.h"

namespace im::io {

const char* norm_name(NormMethod m) {
  switch (m) {
    case NormMethod::wm_peak: return "wm-peak";
    case NormMethod::white_stripe: return "white-stripe";
    default: return "none";
  }
}

NormMethod parse_norm(const std::string& name) {
  std::string n = name;
  std::replace(n.begin(), n.end(), '_', '-');
  if (n == "none") return NormMethod::none;
  if (n == "wm-peak") return NormMethod::wm_peak;
  if (n == "white-stripe") return NormMethod::white_stripe;
  throw Error("unknown normalization '" + name + "' (choose wm-peak, white-stripe or none)");
}

const char* region_name(NormRegion r) {
  switch (r) {
    case NormRegion::mask: return "mask";
    case NormRegion::brain_core: return "brain-core";
    default: return "auto";
  }
}

NormRegion parse_region(const std::string& name) {
  std::string n = name;
  std::replace(n.begin(), n.end(), '_', '-');
  if (n == "auto" || n == "automatic") return NormRegion::automatic;
  if (n == "mask") return NormRegion::mask;
  if (n == "brain-core") return NormRegion::brain_core;
  throw Error("unknown normalization region '" + name + "' (choose auto, mask or brain-core)");
}

Histogram histogram(const std::vector<float>& v, const Mask* mask, double lo, double hi, int bins) {
  Histogram h;
  h.lo = lo, h.hi = hi;
  h.count.assign(static_cast<size_t>(std::max(1, bins)), 0.0);
  const double w = h.width();
  for (size_t i = 0; i < v.size(); ++i) {
    if ((mask && !(*mask)[i]) || v[i] < lo || v[i] > hi) continue;
    const auto b = std::min<size_t>(static_cast<size_t>((v[i] - lo) / w), h.count.size() - 1);
    h.count[b] += 1;
  }
  return h;
}

std::vector<double> smooth(const std::vector<double>& h, double sigma) {
  if (!(sigma > 0)) return h;
  const int n = static_cast<int>(h.size()), r = static_cast<int>(std::ceil(3 * sigma));
  std::vector<double> out(h.size(), 0.0);
  for (int i = 0; i < n; ++i) {
    double acc = 0, wsum = 0;
    // Truncated at the ends and renormalised, so the edges are not pulled down.
    for (int j = std::max(0, i - r); j <= std::min(n - 1, i + r); ++j) {
      const double w = std::exp(-0.5 * (i - j) * (i - j) / (sigma * sigma));
      acc += w * h[j], wsum += w;
    }
    out[i] = acc / wsum;
  }
  return out;
}

double last_mode_bin(const std::vector<double>& h, double min_height) {
  const int n = static_cast<int>(h.size());
  if (n < 3) return -1;
  const double top = *std::max_element(h.begin(), h.end());
  for (int i = n - 2; i >= 1; --i) {
    if (!(h[i] >= h[i - 1] && h[i] > h[i + 1] && h[i] >= min_height * top && h[i] > 0)) continue;
    const double den = h[i - 1] - 2 * h[i] + h[i + 1];
    const double shift = den < 0 ? 0.5 * (h[i - 1] - h[i + 1]) / den : 0.0;
    return i + std::clamp(shift, -0.5, 0.5);
  }
  return -1;
}

double quantization_step(const NiftiHeaderInfo& h) {
  const bool integer = h.datatype != dtype::float32 && h.datatype != dtype::float64 && dtype_size(h.datatype) > 0;
  if (!integer) return 0;
  return std::isfinite(h.scl_slope) && h.scl_slope != 0 ? std::fabs(h.scl_slope) : 1.0;
}

double percentile(std::vector<float> values, double p) {
  if (values.empty()) return 0;
  const auto k = static_cast<long>(std::clamp(p / 100.0, 0.0, 1.0) * static_cast<double>(values.size() - 1));
  std::nth_element(values.begin(), values.begin() + k, values.end());
  return values[static_cast<size_t>(k)];
}

Lattice value_lattice(const std::vector<float>& values, size_t max_distinct) {
  // Continuous data leave after max_distinct insertions, so this costs little when it finds nothing.
  std::unordered_set<float> seen;
  for (float x : values) {
    seen.insert(x);
    if (seen.size() > max_distinct) return {};
  }
  if (seen.size() < 3) return {};
  std::vector<double> d(seen.begin(), seen.end());
  std::sort(d.begin(), d.end());
  double step = HUGE_VAL;
  for (size_t i = 1; i < d.size(); ++i) step = std::min(step, d[i] - d[i - 1]);
  // float32 rounding of k * step: allow a relative error well above it, well below a half step.
  const double tol = 1e-3 * step + 1e-6 * std::max(std::fabs(d.front()), std::fabs(d.back()));
  for (size_t i = 1; i < d.size(); ++i) {
    const double k = (d[i] - d[i - 1]) / step;
    if (std::fabs(k - std::nearbyint(k)) * step > tol) return {};
  }
  double phase = std::fmod(d.front(), step);
  if (phase < 0) phase += step;
  if (phase > step / 2) phase -= step;
  return {step, phase};
}

namespace {

// The voxels of `region`, their upper percentile and the WM peak: the last mode of their smoothed
// histogram. peak < 0 when there is no mode.
struct PeakFit {
  std::vector<float> values;
  double upper = 0, peak = -1;
};

double order_statistic(std::vector<float>& values, double q) {
  // Selection (O(n)) rather than a full sort of millions of voxels.
  const auto k = static_cast<long>(std::clamp(q, 0.0, 1.0) * static_cast<double>(values.size() - 1));
  std::nth_element(values.begin(), values.begin() + k, values.end());
  return static_cast<double>(values[static_cast<size_t>(k)]);
}

PeakFit fit_peak(const Volume& v, const Mask& region, const NormOptions& o, double smooth_fraction, double min_peak_height,
                 double flat_fraction = 1.0, double flat_peak_ratio = 1.0) {
  PeakFit f;
  for (size_t i = 0; i < v.data.size(); ++i)
    if (region[i]) f.values.push_back(v.data[i]);
  if (f.values.size() < 100) throw Error("cannot normalize: the brain mask has only " + std::to_string(f.values.size()) + " voxels");
  f.upper = order_statistic(f.values, o.upper_percentile / 100.0);
  if (!(f.upper > 0)) throw Error("cannot normalize: the masked intensities are not positive");
  // Rescaled to [0, 1] by the upper percentile, the histogram has the same shape whatever the
  // scanner's units; voxels above it (vessels, fat, the clipped tail) are left out. Integer data
  // (uint8 IXI with a scl_slope, say) take only multiples of a step: bins that are not whole
  // multiples of it alias into a comb of false modes, so the bins are aligned to the step.
  // Float data can be quantized too (a uint8 scan converted by another tool): the same comb, so the
  // lattice is found from the values when the header does not give it.
  // The range, the percentile and the value lattice come from all the region's voxels; the counts
  // from its flattest voxels when asked (NormOptions::flat_fraction).
  Mask flat_storage;
  const Mask* counted = &region;
  if (flat_fraction < 1.0) {
    flat_storage = flat_voxels(v.data, v.dim.data(), region, flat_fraction);
    if (mask_count(flat_storage) >= 100) counted = &flat_storage;
  }
  Histogram h = histogram(v.data, counted, 0.0, f.upper, o.bins);
  Lattice lat{quantization_step(v.header), 0.0};
  if (!(lat.step > 0)) lat = value_lattice(f.values);
  if (lat.step > 0 && lat.step < f.upper / 4) {
    const double step = lat.step, lo = lat.phase - step / 2;
    const double width = step * std::ceil(f.upper / o.bins / step);
    const int bins = static_cast<int>(std::ceil((f.upper - lo) / width));
    h = histogram(v.data, counted, lo, lo + width * bins, bins);
  }
  const double bin = last_mode_bin(smooth(h.count, smooth_fraction * f.upper / h.width()), min_peak_height);
  if (bin >= 0) f.peak = h.center(bin) / (counted == &region ? 1.0 : flat_peak_ratio);
  return f;
}

}  // namespace

NormParams fit_normalization(const Volume& v, const Mask& mask, const NormOptions& o, bool head_mask) {
  NormParams p;
  p.method = o.method;
  if (o.method == NormMethod::none) return p;
  if (mask.size() != v.data.size()) throw Error("cannot normalize: the mask does not match the volume's grid");
  PeakFit f;
  if (o.region == NormRegion::brain_core || (o.region == NormRegion::automatic && head_mask)) {
    // A core too small for a histogram (a thin slab, a small field of view) gets half the margin;
    // one that is still too small, or has no mode, gives way to the whole mask (as recorded).
    const auto wanted = std::max<int64_t>(100, static_cast<int64_t>(o.core.min_fraction * static_cast<double>(mask_count(mask))));
    for (double margin : {o.core.margin_mm, o.core.margin_mm / 2}) {
      const Mask core = brain_core(mask, v, margin, o.core.depth_mm);
      if (mask_count(core) < wanted) continue;
      f = fit_peak(v, core, o, o.core.smooth_fraction, o.core.min_peak_height);
      if (f.peak >= 0) p.region = NormRegion::brain_core, p.core_margin_mm = margin, p.core_depth_mm = o.core.depth_mm;
      break;
    }
  }
  if (p.region != NormRegion::brain_core)
    f = fit_peak(v, mask, o, o.smooth_fraction, o.min_peak_height, o.flat_fraction, o.flat_peak_ratio);
  if (f.peak < 0) throw Error("cannot normalize: no white-matter mode in the intensity histogram");
  std::vector<float>& in = f.values;
  p.region_voxels = static_cast<int64_t>(in.size());
  p.upper = f.upper;
  p.wm_peak = f.peak;
  if (o.method == NormMethod::wm_peak) {
    p.scale = o.wm_target / p.wm_peak;
    p.offset = 0;
    return p;
  }
  // White-Stripe: the voxels whose quantile is within tau of the WM peak's quantile.
  const float peak = static_cast<float>(p.wm_peak);
  const double q = static_cast<double>(std::count_if(in.begin(), in.end(), [peak](float x) { return x <= peak; })) /
                   static_cast<double>(in.size());
  p.stripe_lo = order_statistic(in, q - o.ws_tau);
  p.stripe_hi = order_statistic(in, q + o.ws_tau);
  double sum = 0, sum2 = 0;
  int64_t n = 0;
  for (float x : in)
    if (x >= p.stripe_lo && x <= p.stripe_hi) sum += x, sum2 += double(x) * x, ++n;
  p.stripe_mean = sum / double(n);
  p.stripe_sd = std::sqrt(std::max(0.0, sum2 / double(n) - p.stripe_mean * p.stripe_mean));
  if (!(p.stripe_sd > 0)) throw Error("cannot normalize: the white stripe has no spread");
  // z = (in - mean) / sd, then out = target + ws_sd_target * z on the [0, 1] scale.
  p.scale = o.ws_sd_target / p.stripe_sd;
  p.offset = o.wm_target - p.scale * p.stripe_mean;
  return p;
}

void apply_normalization(Volume& v, const NormParams& p) {
  if (p.method == NormMethod::none) return;
  const float a = static_cast<float>(p.scale), b = static_cast<float>(p.offset);
  for (float& x : v.data) x = x > 0 ? std::clamp(a * x + b, 0.0f, 1.0f) : 0.0f;
  v.header.cal_min = 0, v.header.cal_max = 1;
}

void invert_normalization(Volume& v, const NormParams& p) {
  if (p.method == NormMethod::none) return;
  const double a = p.scale, b = p.offset;
  for (float& x : v.data) x = x > 0 ? static_cast<float>((x - b) / a) : 0.0f;
  v.header.cal_min = v.header.cal_max = 0;
}

}  // namespace im::io
