// One volume through the models: preparation, slicing into model-sized windows, batched network
// calls, reassembly, 2.5D median fusion and the way back to the input grid.
#include "tools/harmonize/harmonize.h"

#include <algorithm>
#include <cmath>

#include "engine/autograd.h"
#include "io/denoise.h"
#include "io/error.h"
#include "io/n4.h"
#include "model/inference.h"
#include "tools/common/sha256.h"
#include "tools/harmonize/harmonize_slicing.h"

namespace im::tools {

namespace {

std::shared_ptr<HarmonizeModel> load_one(const std::string& path, Device dev, const std::string& orientation) {
  auto m = std::make_shared<HarmonizeModel>();
  m->path = path;
  m->orientation = orientation;
  m->net = load_checkpoint(path, dev, &m->info, false);
  m->sha256 = sha256_file(path);
  return m;
}

void require_same_prep(const HarmonizeModel& m, const HarmonizeModel& axial) {
  const auto& a = axial.info.train;
  const auto& b = m.info.train;
  if (a.voxel_size != b.voxel_size || a.norm != b.norm)
    io::fail(m.path, "the " + m.orientation + " model was trained with voxel size " + std::to_string(b.voxel_size) + " mm and " +
                         b.norm + " normalization, the axial model with " + std::to_string(a.voxel_size) + " mm and " + a.norm +
                         ": the orientations must share one preprocessing");
}

}  // namespace

bool ModelSet::borrows_axial_model() const {
  for (int a = 0; a < 2; ++a)
    if (per_axis[a] && per_axis[a]->orientation != slice_axis_name(static_cast<io::SliceAxis>(a))) return true;
  return false;
}

std::vector<const HarmonizeModel*> ModelSet::distinct() const {
  std::vector<const HarmonizeModel*> out{&axial()};
  for (int a = 0; a < 2; ++a)
    if (per_axis[a] && std::find(out.begin(), out.end(), per_axis[a].get()) == out.end()) out.push_back(per_axis[a].get());
  return out;
}

io::PrepOptions prep_options(const CheckpointInfo& info) {
  io::PrepOptions o;
  o.voxel_size = info.train.voxel_size;
  o.norm.method = io::parse_norm(info.train.norm);
  o.plane_x = info.model.image_w;
  o.plane_y = info.model.image_h;
  o.n4 = info.train.n4;
  return o;
}

std::vector<int64_t> code_shape(const model::ModelConfig& cfg) {
  if (cfg.contrast_pooled) return {1, cfg.contrast_channels, 1, 1};
  return {1, cfg.contrast_channels, cfg.latent_h(), cfg.latent_w()};
}

ModelSet load_models(const std::string& axial_path, Device dev, bool all_orientations, const std::string& coronal_path,
                     const std::string& sagittal_path) {
  if (!all_orientations && (!coronal_path.empty() || !sagittal_path.empty()))
    throw io::Error("--model-coronal and --model-sagittal need --orientations all");
  ModelSet s;
  s.device = dev;
  auto axial = load_one(axial_path, dev, "axial");
  s.prep = prep_options(axial->info);
  s.per_axis[static_cast<int>(io::SliceAxis::axial)] = axial;
  if (all_orientations) {
    const std::string paths[2] = {sagittal_path, coronal_path};  // SliceAxis order: sagittal, coronal
    for (int a = 0; a < 2; ++a) {
      if (paths[a].empty()) {
        s.per_axis[a] = axial;
        continue;
      }
      s.per_axis[a] = load_one(paths[a], dev, slice_axis_name(static_cast<io::SliceAxis>(a)));
      require_same_prep(*s.per_axis[a], *axial);
    }
  }
  return s;
}

int64_t auto_batch_size(int64_t h, int64_t w, Device dev) {
  // Peak memory of one inference call measured at ~170 bytes per input pixel (activations of the
  // widest decoder layers and their im2col buffers). On a GPU larger batches amortize per-call
  // costs well. On the CPU they do not, and every fresh page costs a fault: a whole 2 mm volume
  // in one call (73 slices of 128 x 128, 440 MB) took 1.56 s for a lone volume where 8 slices
  // per call (24 MB) took 1.08 s; 8 volumes 4.9 s against 4.5 s (1, 2 and 16 slices: slower).
  const double budget = dev == Device::CUDA ? 4.0 * (1 << 30) : 24.0 * (1 << 20);
  return std::max<int64_t>(1, static_cast<int64_t>(budget / (180.0 * static_cast<double>(h * w))));
}

PreparedInput prepare_input(io::Volume input, io::Mask mask, const ModelSet& models, const std::string& mask_source,
                            const ThickSliceOptions& thick) {
  PreparedInput p;
  // First, on the input's own grid and intensities: the network and the map then see the
  // restored volume, and the detail stage maps its voxels.
  p.thick = restore_thick_slices(input, mask, thick);
  if (models.prep.n4) {
    p.prepared = io::prepare(input, mask, models.prep, mask_source, &p.input);
  } else {
    p.prepared = io::prepare(input, mask, models.prep, mask_source);
    p.input = std::move(input);
  }
  p.mask = std::move(mask);
  return p;
}

bool harmonize_n4(int requested, bool trained_with_n4) {
  if (requested >= 0) return requested == 1;
  return (trained_with_n4 || kHarmonizeN4Default) && io::n4_available();
}

nlohmann::json NetworkStats::to_json() const {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [axis, n] : slices) j[axis] = {{"slices", n[0]}, {"harmonized", n[1]}};
  return j;
}

const char* output_stage_name(OutputStage s) { return s == OutputStage::detail ? "detail" : "decoder"; }

OutputStage parse_output_stage(const std::string& name) {
  if (name == "detail") return OutputStage::detail;
  if (name == "decoder") return OutputStage::decoder;
  throw io::Error("--output must be detail or decoder, got \"" + name + "\"");
}

nlohmann::json NetworkResult::summary() const {
  if (own.data.empty()) return {{"stage", "decoder"}};
  nlohmann::json j = {{"stage", "detail"},
          {"map", map.to_json()},
          {"network_weight", network_weight},
          {"map_slice_step", slice_step},
          {"noise", {{"input", noise_input}, {"target", noise_target}, {"excess_fraction", excess_fraction}}}};
  if (!quantile_map.identity()) j["network_map"] = network_map.to_json(), j["quantile_map"] = quantile_map.to_json();
  return j;
}

namespace {

// Code `c` as a tensor on the device.
Tensor code_tensor(const ContrastCode& c, Device dev) {
  return Tensor::from_vector(c.values, Shape::of(c.shape.data(), static_cast<int>(c.shape.size())), dev);
}

// The decoder's rendering of every axis of `models` under the target code, and under `own` when
// given: one anatomy encoding per batch serves both. step > 1: every step-th slice only (the
// others keep the input).
std::array<io::Volume, 2> render(const ModelSet& models, const TargetCode& target, const TargetCode* own, const io::Prepared& p,
                                 const HarmonizeOptions& options, NetworkStats* stats, int64_t step = 1) {
  NoGrad ng;
  std::array<std::vector<io::Volume>, 2> results;
  for (io::SliceAxis axis : {io::SliceAxis::axial, io::SliceAxis::coronal, io::SliceAxis::sagittal}) {
    const auto& m = models.per_axis[static_cast<int>(axis)];
    if (!m) continue;
    const model::ModelConfig& cfg = m->net->config();
    const Tensor code = code_tensor(target.for_model(*m), models.device);
    const Tensor own_code = own ? code_tensor(own->for_model(*m), models.device) : Tensor();

    const io::SliceStack in = io::extract_slices(p.image, axis, 1);
    const WindowPlan plan(in, cfg.image_h, cfg.image_w);
    std::vector<Patch> patches = plan.foreground_patches(in, cfg.background_threshold);
    if (step > 1) patches = every_kth_slice(patches, step);
    // Skipped patches are below the threshold: the decoder would copy them.
    std::array<io::SliceStack, 2> out{in, own ? in : io::SliceStack{}};
    const int64_t per_call = options.batch_size > 0 ? options.batch_size : auto_batch_size(cfg.image_h, cfg.image_w, models.device);
    const int64_t n = static_cast<int64_t>(patches.size());
    const int64_t calls = (n + per_call - 1) / std::max<int64_t>(per_call, 1);
    const int64_t batch = calls > 0 ? (n + calls - 1) / calls : 0;  // equal batches, no small tail
    const int64_t hw = int64_t(cfg.image_h) * cfg.image_w;
    for (int64_t first = 0; first < n; first += batch) {
      const int64_t b = std::min(batch, n - first);
      // Gathered straight into a host tensor; on a GPU one copy moves it over.
      Tensor x = Tensor::empty({b, 1, cfg.image_h, cfg.image_w});
      for (int64_t i = 0; i < b; ++i) plan.gather(in, patches[first + i], x.data() + i * hw);
      std::array<Tensor, 2> y;
      if (own) {
        model::DecodedPair d = model::harmonize_slices_pair(*m->net, x.to(models.device), code, own_code);
        y = {d.first, d.second};
      } else {
        y[0] = model::harmonize_slices(*m->net, x.to(models.device), code);
      }
      for (int k = 0; k < (own ? 2 : 1); ++k) {
        std::vector<float> host;
        if (y[k].is_cuda() || !y[k].is_contiguous()) host = y[k].to_vector();
        const float* py = host.empty() ? y[k].data() : host.data();
        for (int64_t i = 0; i < b; ++i) plan.scatter(py + i * hw, patches[first + i], out[k]);
      }
    }
    if (stats) stats->slices[slice_axis_name(axis)] = {in.n * plan.windows_per_slice(), n};
    for (int k = 0; k < (own ? 2 : 1); ++k) {
      io::Volume v = io::zeros_like(p.image);
      io::insert_slices(out[k], v);
      results[k].push_back(std::move(v));
    }
  }
  std::array<io::Volume, 2> fused;
  for (int k = 0; k < (own ? 2 : 1); ++k)
    fused[k] = results[k].size() == 3 ? io::median_fusion(results[k][0], results[k][1], results[k][2]) : std::move(results[k].front());
  return fused;
}

}  // namespace

void require_finite(const io::Volume& v, const std::string& what) {
  const auto bad = std::count_if(v.data.begin(), v.data.end(), [](float x) { return !std::isfinite(x); });
  if (bad > 0)
    throw io::Error(what + ": " + std::to_string(bad) + " of " + std::to_string(v.data.size()) +
                    " voxels are NaN or Inf (a broken model, or an input that makes the network overflow): not written");
}

NetworkResult harmonize_prepared(const ModelSet& models, const TargetCode& target, const io::Prepared& p,
                                 const HarmonizeOptions& options, NetworkStats* stats) {
  NetworkResult r;
  if (options.output == OutputStage::decoder) {
    r.decoder = std::move(render(models, target, nullptr, p, options, stats)[0]);
    require_finite(r.decoder, "the network's output");
    return r;
  }
  // Every slice_step-th axial slice (see HarmonizeOptions::map_slice_step).
  const bool axial_only = std::count_if(models.per_axis.begin(), models.per_axis.end(), [](const auto& m) { return m != nullptr; }) == 1 &&
                          models.per_axis[static_cast<int>(io::SliceAxis::axial)];
  const int64_t nz = p.image.dim[2], plane = p.image.dim[0] * p.image.dim[1];
  int64_t brain_slices = 0;
  for (int64_t z = 0; z < nz; ++z)
    brain_slices += std::any_of(p.mask.begin() + z * plane, p.mask.begin() + (z + 1) * plane, [](uint8_t m) { return m != 0; });
  r.slice_step = axial_only && brain_slices >= 16 ? std::max(1, options.map_slice_step) : 1;
  // The volume's own contrast, measured as a target image's would be: the mean code over its
  // brain slices (the rendered ones).
  const TargetCode own = target_from_prepared(models, p, p.record.input.empty() ? "the input" : p.record.input,
                                              p.record.mask_source, false, r.slice_step);
  std::array<io::Volume, 2> v = render(models, target, &own, p, options, stats, r.slice_step);
  r.decoder = std::move(v[0]);
  r.own = std::move(v[1]);
  require_finite(r.decoder, "the network's output under the target's code");
  require_finite(r.own, "the network's output under the volume's own code");
  // The map is fitted on the rendered slices, stacked as a volume of their own (the flatness
  // measure's through-plane neighbours are then the neighbouring rendered slices).
  std::vector<float> own_r, dec_r;
  io::Mask mask_r;
  int64_t kept = 0;
  for (int64_t z = 0; z < nz; ++z) {
    if (!is_kth_slice(z, r.slice_step)) continue;
    const size_t a = static_cast<size_t>(z * plane), b = a + static_cast<size_t>(plane);
    own_r.insert(own_r.end(), r.own.data.begin() + a, r.own.data.begin() + b);
    dec_r.insert(dec_r.end(), r.decoder.data.begin() + a, r.decoder.data.begin() + b);
    mask_r.insert(mask_r.end(), p.mask.begin() + a, p.mask.begin() + b);
    ++kept;
  }
  const int64_t dim[3] = {r.own.dim[0], r.own.dim[1], kept};
  r.network_map = io::fit_monotone_map(own_r, dec_r, io::flat_voxels(own_r, dim, mask_r, options.map.flat_fraction), options.map);
  // Noise: both measured on the models' grid, where the target's was (resampling averages noise);
  // the input's was measured with its own code.
  r.noise_input = own.noise;
  r.noise_target = target.noise;
  if (options.denoise && r.noise_target > 0 && r.noise_input > options.noise_ratio * r.noise_target)
    r.excess_fraction = std::sqrt(1.0 - (r.noise_target / r.noise_input) * (r.noise_target / r.noise_input));
  r.map = r.network_map;
  if (options.network_weight < 1 && !target.quantiles.empty()) {
    // The input's quantiles as the map will see its voxels: after the excess noise is removed
    // (noise widens a histogram, and matching a widened one would flatten the contrast).
    std::vector<double> source;
    if (r.excess_fraction > 0) {
      io::Volume clean = p.image;
      io::nlm_denoise(clean, p.mask, options.nlm_strength * r.excess_fraction * io::estimate_noise(clean, p.mask));
      source = prepared_quantiles(clean, p.mask);
    } else {
      source = prepared_quantiles(p.image, p.mask);
    }
    if (source.size() == target.quantiles.size()) {
      r.quantile_map = io::quantile_map(source, target.quantiles);
      r.network_weight = options.network_weight;
      r.map = io::blend_maps(r.network_map, r.quantile_map, options.network_weight);
    }
  }
  return r;
}

const char* outside_name(Outside o) { return o == Outside::zero ? "zero" : o == Outside::keep ? "keep" : "map"; }

Outside parse_outside(const std::string& name) {
  if (name == "zero") return Outside::zero;
  if (name == "keep") return Outside::keep;
  if (name == "map") return Outside::map;
  throw io::Error("--outside must be zero, keep or map, got \"" + name + "\"");
}

io::Volume finish_output(const PreparedInput& in, const NetworkResult& r, const HarmonizeOptions& options) {
  const bool detail = !r.own.data.empty();
  if (options.outside == Outside::map && !detail)
    throw io::Error("--outside map needs the detail output stage (the decoder stage has no map to apply)");
  // The input's own voxels on its own grid, on the model's scale (what --outside keep gives).
  io::Volume normalized = in.input;
  io::apply_normalization(normalized, in.prepared.record.norm);
  io::Volume out;
  if (!detail) {
    out = io::unprepare(r.decoder, in.prepared.record, false);
  } else {
    // The excess noise removed on the input's own grid (its noise there, times the excess fraction
    // found on the models' grid), then through the map, kept on the model's [0, 1] like the
    // decoder's sigmoid output.
    out = normalized;
    if (r.excess_fraction > 0)
      io::nlm_denoise(out, in.mask, options.nlm_strength * r.excess_fraction * io::estimate_noise(out, in.mask));
    for (size_t i = 0; i < out.data.size(); ++i)
      if (in.mask[i] || options.outside == Outside::map) out.data[i] = static_cast<float>(std::clamp(r.map(out.data[i]), 0.0, 1.0));
  }
  for (size_t i = 0; i < out.data.size(); ++i)
    if (!in.mask[i] && options.outside != Outside::map) out.data[i] = options.outside == Outside::keep ? normalized.data[i] : 0.f;
  if (options.restore_intensity) {
    // Back through the inverse of the input's normalization; kept voxels are the input itself.
    io::invert_normalization(out, in.prepared.record.norm);
    if (options.outside == Outside::keep)
      for (size_t i = 0; i < out.data.size(); ++i)
        if (!in.mask[i]) out.data[i] = in.input.data[i];
  }
  out.header.datatype = io::dtype::float32;
  out.header.scl_slope = 1, out.header.scl_inter = 0;
  return out;
}

io::Volume harmonize_volume(const ModelSet& models, const TargetCode& target, const io::Volume& input, const io::Mask& mask,
                            const HarmonizeOptions& options, const std::string& mask_source) {
  const PreparedInput p = prepare_input(input, mask, models, mask_source, options.thick_slices);
  return finish_output(p, harmonize_prepared(models, target, p.prepared, options), options);
}

}  // namespace im::tools
