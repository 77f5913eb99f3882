// Site descriptions: the monotone contrast curve and the JSON format of a virtual site.
#include <algorithm>
#include <cmath>

#include "io/error.h"
#include "io/json_io.h"
#include "io/simulate.h"

using nlohmann::json;

namespace im::io {

ContrastCurve::ContrastCurve() : x_{0, 1}, y_{0, 1}, m_{1, 1} {}

ContrastCurve ContrastCurve::from_points(const std::vector<std::pair<double, double>>& p, const std::string& where) {
  if (p.size() < 2) fail(where, "a contrast curve needs at least two points");
  if (p.front().first != 0 || p.back().first != 1) fail(where, "contrast points must run from x = 0 to x = 1");
  ContrastCurve c;
  c.x_.clear(), c.y_.clear();
  for (size_t i = 0; i < p.size(); ++i) {
    if (!std::isfinite(p[i].first) || !std::isfinite(p[i].second) || p[i].second < 0)
      fail(where, "contrast points must be finite with y >= 0");
    if (i > 0 && !(p[i].first > p[i - 1].first)) fail(where, "contrast x values must increase strictly");
    if (i > 0 && p[i].second < p[i - 1].second) fail(where, "contrast y values must not decrease (the curve must be monotone)");
    c.x_.push_back(p[i].first), c.y_.push_back(p[i].second);
  }
  // Fritsch-Carlson tangents: the cubic Hermite interpolant is then monotone on every interval.
  const size_t n = c.x_.size();
  std::vector<double> d(n - 1);
  for (size_t k = 0; k + 1 < n; ++k) d[k] = (c.y_[k + 1] - c.y_[k]) / (c.x_[k + 1] - c.x_[k]);
  c.m_.assign(n, 0);
  c.m_[0] = d[0], c.m_[n - 1] = d[n - 2];
  for (size_t k = 1; k + 1 < n; ++k) c.m_[k] = d[k - 1] * d[k] <= 0 ? 0 : (d[k - 1] + d[k]) / 2;
  for (size_t k = 0; k + 1 < n; ++k) {
    if (d[k] == 0) {
      c.m_[k] = c.m_[k + 1] = 0;
      continue;
    }
    const double a = c.m_[k] / d[k], b = c.m_[k + 1] / d[k], s = a * a + b * b;
    if (s > 9) {
      const double t = 3 / std::sqrt(s);
      c.m_[k] = t * a * d[k], c.m_[k + 1] = t * b * d[k];
    }
  }
  return c;
}

double ContrastCurve::operator()(double x) const {
  const size_t n = x_.size();
  if (x <= x_[0]) return y_[0] + m_[0] * (x - x_[0]);
  if (x >= x_[n - 1]) return y_[n - 1] + m_[n - 1] * (x - x_[n - 1]);
  const size_t k = static_cast<size_t>(std::upper_bound(x_.begin(), x_.end(), x) - x_.begin()) - 1;
  const double h = x_[k + 1] - x_[k], t = (x - x_[k]) / h, t2 = t * t, t3 = t2 * t;
  return (2 * t3 - 3 * t2 + 1) * y_[k] + (t3 - 2 * t2 + t) * h * m_[k] + (-2 * t3 + 3 * t2) * y_[k + 1] +
         (t3 - t2) * h * m_[k + 1];
}

namespace {

int parse_axis(const json& j, const std::string& where) {
  if (j.is_number_integer() && j.get<int>() >= 0 && j.get<int>() <= 2) return j.get<int>();
  const std::string s = j.is_string() ? j.get<std::string>() : "";
  if (s == "x") return 0;
  if (s == "y") return 1;
  if (s == "z") return 2;
  fail(where, "resolution.axis must be \"x\", \"y\" or \"z\" (world axes: left-right, posterior-anterior, inferior-superior)");
}

}  // namespace

Site site_from_json(const json& j, const std::string& where) {
  Site s;
  try {
    s.source = j;
    s.name = j.at("name").get<std::string>();
    if (s.name.empty() || s.name.find('/') != std::string::npos || s.name[0] == '.')
      fail(where, "site name must be a plain, non-empty folder name");
    s.description = j.value("description", "");
    const std::string at = where + " (site " + s.name + ")";
    if (j.contains("contrast")) {
      std::vector<std::pair<double, double>> pts;
      for (const auto& p : j.at("contrast")) pts.emplace_back(p.at(0).get<double>(), p.at(1).get<double>());
      s.curve = ContrastCurve::from_points(pts, at);
    }
    if (j.contains("bias")) {
      const json& b = j.at("bias");
      const std::string type = b.value("type", "none");
      s.bias.kind = type == "polynomial" ? BiasSpec::Kind::polynomial : type == "gaussians" ? BiasSpec::Kind::gaussians
                                                                                           : BiasSpec::Kind::none;
      if (type != "none" && s.bias.kind == BiasSpec::Kind::none) fail(at, "bias.type must be none, polynomial or gaussians");
      s.bias.amplitude = b.value("amplitude", 0.0);
      s.bias.order = b.value("order", 2);
      s.bias.count = b.value("count", 3);
      s.bias.width_mm = b.value("width_mm", 60.0);
      if (!(s.bias.amplitude >= 0 && s.bias.amplitude < 1)) fail(at, "bias.amplitude must be in [0, 1)");
      if (s.bias.order < 1 || s.bias.order > 4 || s.bias.count < 1 || !(s.bias.width_mm > 0))
        fail(at, "bias needs order 1-4, count >= 1 and width_mm > 0");
    }
    if (j.contains("noise")) s.noise_sigma = j.at("noise").value("sigma", 0.0);
    if (!(s.noise_sigma >= 0 && s.noise_sigma < 1)) fail(at, "noise.sigma must be in [0, 1)");
    if (j.contains("resolution")) {
      const json& r = j.at("resolution");
      const std::string mode = r.value("mode", "none");
      s.resolution.mode = mode == "blur" ? ResolutionSpec::Mode::blur
                          : mode == "downsample" ? ResolutionSpec::Mode::downsample : ResolutionSpec::Mode::none;
      if (mode != "none" && s.resolution.mode == ResolutionSpec::Mode::none)
        fail(at, "resolution.mode must be none, blur or downsample");
      if (r.contains("axis")) s.resolution.axis = parse_axis(r.at("axis"), at);
      s.resolution.fwhm_mm = r.value("fwhm_mm", 0.0);
      s.resolution.factor = r.value("factor", 1);
      if (s.resolution.fwhm_mm < 0 || s.resolution.factor < 1 || s.resolution.factor > 16)
        fail(at, "resolution needs fwhm_mm >= 0 and factor 1-16");
    }
    s.scale = j.value("scale", 1000.0);
    if (!(s.scale > 0)) fail(at, "scale must be positive");
    const std::string dt = j.value("datatype", "float32");
    if (dt != "float32" && dt != "int16") fail(at, "datatype must be float32 or int16");
    s.datatype = dt == "int16" ? dtype::int16 : dtype::float32;
  } catch (const json::exception& e) {
    fail(where, std::string("bad site description: ") + e.what());
  }
  return s;
}

std::vector<Site> read_sites(const std::string& path) {
  const json j = read_json(path);
  std::vector<Site> out;
  const json& list = j.is_object() && j.contains("sites") ? j.at("sites") : j;
  if (list.is_array()) {
    for (const auto& s : list) out.push_back(site_from_json(s, path));
  } else {
    out.push_back(site_from_json(list, path));
  }
  if (out.empty()) fail(path, "no sites in the file");
  return out;
}

}  // namespace im::io
