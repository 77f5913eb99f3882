// One volume through the models: preparation, slicing into model-sized windows, batched network
// calls, reassembly, 2.5D median fusion and the way back to the input grid.
#include "tools/common/harmonize.h"

#include <algorithm>
#include <cmath>

#include "engine/autograd.h"
#include "io/error.h"
#include "model/trainer.h"
#include "tools/common/harmonize_sha256.h"
#include "tools/common/harmonize_slicing.h"

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
  // widest decoder layers and their im2col buffers); larger batches amortize per-call costs well.
  const double budget = dev == Device::CUDA ? 4.0 * (1 << 30) : 1.5 * (1 << 30);
  return std::max<int64_t>(1, static_cast<int64_t>(budget / (180.0 * static_cast<double>(h * w))));
}

PreparedInput prepare_input(io::Volume input, io::Mask mask, const ModelSet& models, const std::string& mask_source) {
  PreparedInput p;
  p.prepared = io::prepare(input, mask, models.prep, mask_source);
  p.input = std::move(input);
  p.mask = std::move(mask);
  return p;
}

nlohmann::json NetworkStats::to_json() const {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [axis, n] : slices) j[axis] = {{"slices", n[0]}, {"harmonized", n[1]}};
  return j;
}

io::Volume harmonize_prepared(const ModelSet& models, const TargetCode& target, const io::Prepared& p,
                              const HarmonizeOptions& options, NetworkStats* stats) {
  NoGrad ng;
  std::vector<io::Volume> results;
  for (io::SliceAxis axis : {io::SliceAxis::axial, io::SliceAxis::coronal, io::SliceAxis::sagittal}) {
    const auto& m = models.per_axis[static_cast<int>(axis)];
    if (!m) continue;
    const model::ModelConfig& cfg = m->net->config();
    const ContrastCode& cc = target.for_model(*m);
    const Tensor code = Tensor::from_vector(cc.values, Shape::of(cc.shape.data(), static_cast<int>(cc.shape.size())), models.device);

    const io::SliceStack in = io::extract_slices(p.image, axis, 1);
    const WindowPlan plan(in, cfg.image_h, cfg.image_w);
    const std::vector<Patch> patches = plan.foreground_patches(in, cfg.background_threshold);
    io::SliceStack out = in;  // skipped patches are below the threshold: the decoder would copy them
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
      const Tensor y = model::harmonize_slices(*m->net, x.to(models.device), code);
      std::vector<float> host;
      if (y.is_cuda() || !y.is_contiguous()) host = y.to_vector();
      const float* py = host.empty() ? y.data() : host.data();
      for (int64_t i = 0; i < b; ++i) plan.scatter(py + i * hw, patches[first + i], out);
    }
    if (stats) stats->slices[slice_axis_name(axis)] = {in.n * plan.windows_per_slice(), n};
    io::Volume v = io::zeros_like(p.image);
    io::insert_slices(out, v);
    results.push_back(std::move(v));
  }
  if (results.size() == 3) return io::median_fusion(results[0], results[1], results[2]);
  return std::move(results.front());
}

io::Volume finish_output(const PreparedInput& in, const io::Volume& harmonized, const HarmonizeOptions& options) {
  io::Volume out = io::unprepare(harmonized, in.prepared.record, options.restore_intensity);
  out.header.datatype = io::dtype::float32;
  out.header.scl_slope = 1, out.header.scl_inter = 0;
  io::Volume outside;
  if (options.outside_keep && !options.restore_intensity) {
    outside = in.input;
    io::apply_normalization(outside, in.prepared.record.norm);  // the scale the model's output lives on
  }
  const io::Volume& keep_src = options.restore_intensity ? in.input : outside;
  for (size_t i = 0; i < out.data.size(); ++i)
    if (!in.mask[i]) out.data[i] = options.outside_keep ? keep_src.data[i] : 0.f;
  return out;
}

io::Volume harmonize_volume(const ModelSet& models, const TargetCode& target, const io::Volume& input, const io::Mask& mask,
                            const HarmonizeOptions& options, const std::string& mask_source) {
  const PreparedInput p = prepare_input(input, mask, models, mask_source);
  return finish_output(p, harmonize_prepared(models, target, p.prepared, options), options);
}

}  // namespace im::tools
