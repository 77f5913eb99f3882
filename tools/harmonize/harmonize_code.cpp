// Target contrast codes: a checkpoint's per-site code, the mean code of a target volume, or a code
// file written earlier (--save-code), with its shape and model checked.
#include <cmath>

#include "engine/autograd.h"
#include "io/denoise.h"
#include "io/error.h"
#include "io/intensity_map.h"
#include "io/json_io.h"
#include "model/inference.h"
#include "tools/harmonize/harmonize.h"
#include "tools/common/sha256.h"
#include "tools/harmonize/harmonize_slicing.h"

namespace im::tools {

namespace {

constexpr const char* kCodeFormat = "imunity-contrast-code/1";

std::string shape_str(const std::vector<int64_t>& s) { return nlohmann::json(s).dump(); }

int64_t numel(const std::vector<int64_t>& s) {
  int64_t n = 1;
  for (int64_t d : s) n *= d;
  return n;
}

// A stored list of io::kBrainQuantileLevels finite, non-decreasing values in [0, 1].
std::vector<double> read_quantiles(const nlohmann::json& j, const std::string& file) {
  std::vector<double> q;
  try {
    q = j.get<std::vector<double>>();
  } catch (const std::exception& e) {
    io::fail(file, std::string("malformed brain-intensity quantiles: ") + e.what());
  }
  if (static_cast<int>(q.size()) != io::kBrainQuantileLevels)
    io::fail(file, std::to_string(q.size()) + " brain-intensity quantiles, expected " + std::to_string(io::kBrainQuantileLevels));
  for (size_t i = 0; i < q.size(); ++i)
    if (!std::isfinite(q[i]) || q[i] < 0 || q[i] > 1 || (i > 0 && q[i] < q[i - 1]))
      io::fail(file, "the brain-intensity quantiles are not non-decreasing values in [0, 1]");
  return q;
}

// The brain voxels of a prepared volume (the models' grid and scale).
std::vector<float> brain_values(const io::Volume& image, const io::Mask& mask) {
  std::vector<float> v;
  for (size_t i = 0; i < image.data.size(); ++i)
    if (mask[i] && image.data[i] > 0.f) v.push_back(image.data[i]);
  return v;
}

}  // namespace

std::vector<double> prepared_quantiles(const io::Volume& image, const io::Mask& mask) {
  return io::quantiles(brain_values(image, mask), io::kBrainQuantileLevels);
}

std::string ContrastCode::sha256() const { return sha256_hex(values.data(), values.size() * sizeof(float)); }

const ContrastCode& TargetCode::for_model(const HarmonizeModel& m) const {
  auto it = codes.find(m.orientation);
  if (it == codes.end()) throw io::Error("the target has no contrast code for the " + m.orientation + " model " + m.path);
  return it->second;
}

nlohmann::json TargetCode::summary() const {
  nlohmann::json j = {{"kind", kind}, {"source", source}};
  if (kind == "code") j["provenance"] = provenance;
  if (noise > 0) j["noise"] = noise;
  j["quantiles"] = !quantiles.empty();
  for (const auto& [orientation, c] : codes)
    j["codes"][orientation] = {{"sha256", c.sha256()}, {"shape", c.shape}, {"model_sha256", c.model_sha256}};
  return j;
}

TargetCode target_from_site(const ModelSet& models, const std::string& site) {
  TargetCode t;
  t.kind = "site";
  t.source = site;
  t.provenance = {{"kind", "site"}, {"source", site}};
  for (const HarmonizeModel* m : models.distinct()) {
    auto it = m->info.site_codes.find(site);
    if (it == m->info.site_codes.end()) {
      std::string have;
      for (const auto& [name, code] : m->info.site_codes) have += (have.empty() ? "" : ", ") + name;
      io::fail(m->path, "unknown target site \"" + site + "\"; this checkpoint holds codes for: " +
                            (have.empty() ? std::string("no site (not a trained model?)") : have));
    }
    const std::vector<int64_t> want = code_shape(m->net->config());
    if (m->info.code_shape != want || numel(want) != static_cast<int64_t>(it->second.size()))
      io::fail(m->path, "the stored site codes have shape " + shape_str(m->info.code_shape) + ", the model expects " + shape_str(want));
    t.codes[m->orientation] = {want, it->second, m->sha256};
  }
  const nlohmann::json& noise = models.axial().info.extra.value("site_noise", nlohmann::json::object());
  if (noise.contains(site) && noise[site].is_number()) t.noise = noise[site].get<double>();
  const nlohmann::json& q = models.axial().info.extra.value("site_quantiles", nlohmann::json::object());
  if (q.contains(site)) t.quantiles = read_quantiles(q[site], models.axial().path);
  return t;
}

TargetCode target_from_volume(const ModelSet& models, const io::Volume& target, const io::Mask& mask, const std::string& source,
                              const std::string& mask_source) {
  io::Prepared p;
  try {
    p = io::prepare(target, mask, models.prep, mask_source);
  } catch (const io::Error& e) {
    io::fail(source, e.what());
  }
  return target_from_prepared(models, p, source, mask_source);
}

TargetCode target_from_prepared(const ModelSet& models, const io::Prepared& p, const std::string& source,
                                const std::string& mask_source, bool with_quantiles, int64_t slice_step) {
  NoGrad ng;
  TargetCode t;
  t.kind = "image";
  t.source = source;
  t.provenance = {{"kind", "image"}, {"source", source}, {"mask", mask_source}};
  t.noise = io::estimate_noise(p.image, p.mask);
  if (with_quantiles) t.quantiles = prepared_quantiles(p.image, p.mask);
  io::Volume mask_vol = p.image;
  for (size_t i = 0; i < mask_vol.data.size(); ++i) mask_vol.data[i] = p.mask[i] ? 1.f : 0.f;
  for (const HarmonizeModel* m : models.distinct()) {
    const model::ModelConfig& cfg = m->net->config();
    const io::SliceAxis axis = m->orientation == "coronal" ? io::SliceAxis::coronal
                               : m->orientation == "sagittal" ? io::SliceAxis::sagittal
                                                              : io::SliceAxis::axial;
    const io::SliceStack image = io::extract_slices(p.image, axis, 1), ms = io::extract_slices(mask_vol, axis, 1);
    const WindowPlan plan(image, cfg.image_h, cfg.image_w);
    // The slices training drew from: at least 1% of the model's input in the brain.
    std::vector<Patch> patches = plan.brain_patches(ms, 0.01);
    if (patches.empty()) io::fail(source, "the target volume has no brain slice (1% of a slice in the mask)");
    if (slice_step > 1) patches = every_kth_slice(patches, slice_step);
    const int64_t hw = int64_t(cfg.image_h) * cfg.image_w;
    const int64_t per_call = auto_batch_size(cfg.image_h, cfg.image_w, models.device);
    std::vector<double> sum;
    std::vector<float> buf;
    for (size_t first = 0; first < patches.size(); first += static_cast<size_t>(per_call)) {
      const int64_t b = std::min<int64_t>(per_call, static_cast<int64_t>(patches.size() - first));
      buf.resize(static_cast<size_t>(b * hw));
      for (int64_t i = 0; i < b; ++i) plan.gather(image, patches[first + static_cast<size_t>(i)], buf.data() + i * hw);
      const Tensor x = Tensor::from_vector(buf, {b, 1, cfg.image_h, cfg.image_w}, models.device);
      const std::vector<float> mean = model::mean_contrast_code(*m->net, x).to_vector();
      sum.resize(mean.size(), 0.0);
      for (size_t k = 0; k < mean.size(); ++k) sum[k] += static_cast<double>(mean[k]) * static_cast<double>(b);
    }
    ContrastCode c;
    c.shape = code_shape(cfg);
    c.model_sha256 = m->sha256;
    for (double v : sum) c.values.push_back(static_cast<float>(v / static_cast<double>(patches.size())));
    if (numel(c.shape) != static_cast<int64_t>(c.values.size())) io::fail(m->path, "contrast encoder output does not match the code shape");
    t.codes[m->orientation] = std::move(c);
  }
  return t;
}

nlohmann::json target_code_json(const TargetCode& t, const ModelSet& models) {
  nlohmann::json j = {{"format", kCodeFormat}, {"imunity_version", IMUNITY_VERSION}, {"target", t.provenance}};
  if (t.noise > 0) j["noise"] = t.noise;
  if (!t.quantiles.empty()) j["quantiles"] = t.quantiles;
  j["codes"] = nlohmann::json::object();
  for (const HarmonizeModel* m : models.distinct()) {
    const ContrastCode& c = t.for_model(*m);
    j["codes"][m->orientation] = {{"model", m->path}, {"model_sha256", c.model_sha256}, {"shape", c.shape},
                                  {"sha256", c.sha256()},  {"values", c.values}};
  }
  return j;
}

void write_target_code(const std::string& path, const TargetCode& t, const ModelSet& models, bool overwrite) {
  io::write_json(path, target_code_json(t, models), overwrite);
}

TargetCode read_target_code(const std::string& path, const ModelSet& models) {
  const nlohmann::json j = io::read_json(path);
  if (!j.is_object() || j.value("format", "") != kCodeFormat)
    io::fail(path, std::string("not a contrast code file (expected \"format\": \"") + kCodeFormat + "\", as written by --save-code)");
  TargetCode t;
  t.kind = "code";
  t.source = path;
  t.provenance = j.value("target", nlohmann::json::object());
  if (j.contains("noise") && j["noise"].is_number()) t.noise = j["noise"].get<double>();
  if (j.contains("quantiles")) t.quantiles = read_quantiles(j["quantiles"], path);
  for (const HarmonizeModel* m : models.distinct()) {
    if (!j.contains("codes") || !j["codes"].contains(m->orientation))
      io::fail(path, "holds no code for the " + m->orientation + " model (it was saved with other models)");
    const nlohmann::json& e = j["codes"][m->orientation];
    ContrastCode c;
    try {
      c.shape = e.at("shape").get<std::vector<int64_t>>();
      c.model_sha256 = e.at("model_sha256").get<std::string>();
      for (const auto& v : e.at("values")) c.values.push_back(static_cast<float>(v.get<double>()));
    } catch (const std::exception& ex) {
      io::fail(path, std::string("malformed code entry: ") + ex.what());
    }
    const std::vector<int64_t> want = code_shape(m->net->config());
    if (c.shape != want)
      io::fail(path, "code shape " + shape_str(c.shape) + " does not fit the model " + m->path + ", which expects " + shape_str(want));
    if (numel(c.shape) != static_cast<int64_t>(c.values.size()))
      io::fail(path, std::to_string(c.values.size()) + " values for shape " + shape_str(c.shape));
    for (float v : c.values)
      if (!std::isfinite(v)) io::fail(path, "the code holds a non-finite value");
    if (e.contains("sha256") && e["sha256"].get<std::string>() != c.sha256())
      io::fail(path, "the code values do not match their recorded sha256 (edited or corrupted file)");
    if (c.model_sha256 != m->sha256)
      io::fail(path, "the code was computed with another model (sha256 " + c.model_sha256.substr(0, 12) + "..., this one is " +
                         m->sha256.substr(0, 12) + "...): a contrast code only means something to the encoder that made it; "
                         "recompute it with --save-code");
    t.codes[m->orientation] = std::move(c);
  }
  return t;
}

}  // namespace im::tools
