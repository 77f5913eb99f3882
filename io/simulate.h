// Virtual scanner sites: the same anatomy through a site-specific contrast curve, resolution loss,
// bias field, Rician noise and global scale, so every simulated image has a ground truth elsewhere.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "io/mask.h"
#include "io/normalize.h"
#include "io/volume.h"

namespace im::io {

// Monotone piecewise-cubic (Fritsch-Carlson) curve through control points on the normalized
// intensity scale: x from 0 to 1 strictly increasing, y non-decreasing. Beyond x = 1 it continues
// with its end slope. Unlike a gamma it can bend several times (e.g. compress GM-WM contrast).
class ContrastCurve {
 public:
  ContrastCurve();  // the identity
  // Throws Error naming `where` when the points are not a valid monotone curve.
  static ContrastCurve from_points(const std::vector<std::pair<double, double>>& points, const std::string& where);
  double operator()(double x) const;
  const std::vector<double>& xs() const { return x_; }
  const std::vector<double>& ys() const { return y_; }

 private:
  std::vector<double> x_, y_, m_;  // control points and tangents
};

struct BiasSpec {
  enum class Kind { none, polynomial, gaussians };
  Kind kind = Kind::none;
  double amplitude = 0;   // inside the brain mask the field spans exactly [1 - amplitude, 1 + amplitude]
  int order = 2;          // polynomial: total degree
  int count = 3;          // gaussians: how many bumps (random centres in the brain's bounding box, random signs)
  double width_mm = 60;   // gaussians: sigma of each bump
};

struct ResolutionSpec {
  enum class Mode { none, blur, downsample };
  Mode mode = Mode::none;
  int axis = 2;           // world axis: 0 = x (left-right), 1 = y (posterior-anterior), 2 = z (inferior-superior)
  double fwhm_mm = 0;     // blur: FWHM of the Gaussian along the axis
  int factor = 1;         // downsample: average blocks of `factor` voxels, then interpolate back (linear)
};

struct Site {
  std::string name, description;
  ContrastCurve curve;
  BiasSpec bias;
  double noise_sigma = 0;  // Rician noise sigma, as a fraction of the site's WM intensity
  ResolutionSpec resolution;
  double scale = 1000;     // global intensity scale of the output
  int datatype = 16;       // output datatype (float32 or int16)
  nlohmann::json source;   // the JSON it was read from
};

Site site_from_json(const nlohmann::json& j, const std::string& where);
// A file holding one site object, an array of them, or {"sites": [...]}.
std::vector<Site> read_sites(const std::string& path);

// What simulate_site did, for records and tests.
struct SimulationDetail {
  NormParams norm;          // how the input was put on [0, 1] (WM peak at 0.7) before the curve
  std::vector<float> bias;  // the multiplicative field, on the input grid
  double wm_level = 0;      // the site's WM intensity before scale: curve(0.7)
  double noise_sigma = 0;   // absolute sigma before scale
};

// The input (any grid; `mask` is its brain mask) as seen by `site`, on the input's grid with its
// geometry. Deterministic for (seed, site.name, subject); separate streams for bias and noise.
Volume simulate_site(const Volume& input, const Mask& mask, const Site& site, uint64_t seed,
                     const std::string& subject, SimulationDetail* detail = nullptr);

}  // namespace im::io
