// Brain-mask weight files and the inference pipeline around the network.
#include "tools/common/brain_mask.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <mutex>

#include "engine/autograd.h"
#include "engine/ops.h"
#include "io/error.h"
#include "io/normalize.h"
#include "io/safetensors.h"
#include "kernels/check.h"
#include "tools/common/sha256.h"
#include "tools/common/weight_file.h"

namespace im::tools {

namespace {
constexpr const char* kFormat = "imunity-brainmask/1";

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}
}  // namespace

namespace {
std::vector<std::pair<std::string, Tensor>> file_tensors(model::BrainMaskNet& net, bool with_optimizer) {
  std::vector<std::pair<std::string, Tensor>> out = net.state();
  if (with_optimizer) {
    out.emplace_back("optimizer.m", net.params.adam_m());
    out.emplace_back("optimizer.v", net.params.adam_v());
  }
  return out;
}
}  // namespace

void save_brain_mask_model(const std::string& path, model::BrainMaskNet& net, const nlohmann::json& training,
                           bool with_optimizer) {
  io::SafeTensors st;
  put_tensors(st, file_tensors(net, with_optimizer));
  st.metadata["format"] = kFormat;
  st.metadata["imunity_version"] = IMUNITY_VERSION;
  st.metadata["brainmask_config"] = nlohmann::json(net.config()).dump();
  st.metadata["training"] = training.dump();
  if (with_optimizer) st.metadata["adam_step"] = std::to_string(net.params.adam_step);
  io::write_safetensors(path, st);
}

std::unique_ptr<BrainMaskModel> load_brain_mask_model(const std::string& path, Device dev, bool with_optimizer) {
  io::SafeTensors st = io::read_safetensors(path);
  auto meta = [&](const char* key) -> const std::string& {
    auto it = st.metadata.find(key);
    if (it == st.metadata.end()) io::fail(path, std::string("not a brain-mask network file: metadata has no \"") + key + "\"");
    return it->second;
  };
  if (meta("format") != kFormat)
    io::fail(path, "unsupported brain-mask file format \"" + meta("format") + "\" (this imunity reads " + kFormat + ")");
  auto m = std::make_unique<BrainMaskModel>();
  m->path = path;
  m->sha256 = sha256_file(path);
  model::BrainMaskConfig cfg;
  try {
    cfg = nlohmann::json::parse(meta("brainmask_config")).get<model::BrainMaskConfig>();
    m->training = nlohmann::json::parse(meta("training"));
  } catch (const std::exception& e) {
    io::fail(path, std::string("corrupted brain-mask metadata: ") + e.what());
  }
  m->net = std::make_unique<model::BrainMaskNet>(cfg, Device::CPU, 0);
  NamedTensors state = file_tensors(*m->net, with_optimizer);
  take_tensors(path, st, state, with_optimizer ? " (a weights-only file cannot be resumed)" : "");
  if (with_optimizer) {
    try {
      m->net->params.adam_step = std::stoll(meta("adam_step"));
    } catch (const std::logic_error&) {
      io::fail(path, "corrupted brain-mask metadata: adam_step is not a number");
    }
  }
  m->net->to(dev);
  return m;
}

std::string default_brain_mask_model_path() {
  if (const char* env = std::getenv("IMUNITY_BRAINMASK_MODEL"); env && *env) return env;
  return std::string(IMUNITY_MODEL_DIR) + "/brainmask-2mm.safetensors";
}

const BrainMaskModel& default_brain_mask_model() {
  static std::once_flag once;
  static std::unique_ptr<BrainMaskModel> model;
  std::call_once(once, [] { model = load_brain_mask_model(default_brain_mask_model_path(), Device::CPU); });
  return *model;
}

double scale_intensities(io::Volume& v) {
  double p = io::percentile(v.data, 99.5);
  if (!(p > 0)) p = 1;
  const float inv = static_cast<float>(1 / p);
  for (float& x : v.data) x = std::clamp(x * inv, 0.f, kMaxIntensity);
  return p;
}

io::Prepared to_network_grid(const io::Volume& input, const io::Mask& mask, const model::BrainMaskConfig& cfg) {
  io::PrepOptions o;
  o.voxel_size = cfg.voxel_mm;
  o.norm.method = io::NormMethod::none;
  o.pad_multiple = cfg.size_multiple();
  o.apply_mask = false;
  return io::prepare(input, mask, o, "brain-mask network input");
}

BrainMaskInput brain_mask_input(const io::Volume& input, const model::BrainMaskConfig& cfg) {
  BrainMaskInput in;
  in.prepared = to_network_grid(input, io::Mask(input.data.size(), 1), cfg);
  in.scale = scale_intensities(in.prepared.image);
  return in;
}

void slice_window(const io::SliceStack& s, int64_t z, int context, float* dst) {
  const int64_t plane = s.h * s.w;
  for (int c = -context; c <= context; ++c) {
    const int64_t k = std::clamp<int64_t>(z + c, 0, s.n - 1);
    std::copy(s.slice(k), s.slice(k) + plane, dst + (c + context) * plane);
  }
}

BrainMaskResult predict_brain_mask(model::BrainMaskNet& net, const io::Volume& input, const BrainMaskOptions& o) {
  auto t = std::chrono::steady_clock::now();
  BrainMaskResult r;
  const model::BrainMaskConfig& cfg = net.config();
  BrainMaskInput in = brain_mask_input(input, cfg);
  const io::Volume& img = in.prepared.image;
  io::SliceStack stack = io::extract_slices(img, io::SliceAxis::axial, cfg.size_multiple());
  io::SliceStack prob = stack;
  std::fill(prob.data.begin(), prob.data.end(), 0.f);
  r.seconds_prepare = seconds_since(t);

  // The network predicts a slab of 2 * out_context + 1 slices per call: slabs are laid end to end
  // (the last one overlapping, averaged). A slab whose whole input window is background (nothing
  // above 2% of the intensity scale) is not run: its probability stays 0.
  t = std::chrono::steady_clock::now();
  const int64_t plane = stack.h * stack.w, oc = cfg.out_context, step = cfg.out_channels(), ch = cfg.in_channels();
  std::vector<char> has_signal(static_cast<size_t>(stack.n), 0);
  for (int64_t z = 0; z < stack.n; ++z)
    has_signal[z] = *std::max_element(stack.slice(z), stack.slice(z) + plane) > 0.02f;
  std::vector<int64_t> centres;
  for (int64_t z = oc;; z += step) {
    const int64_t c = std::max<int64_t>(0, std::min(z, stack.n - 1 - oc));
    bool any = false;
    for (int64_t k = c - cfg.context; k <= c + cfg.context; ++k) any |= has_signal[std::clamp<int64_t>(k, 0, stack.n - 1)] != 0;
    if (any) centres.push_back(c);
    if (c + oc >= stack.n - 1) break;
  }
  r.slices_total = stack.n;
  std::vector<float> count(static_cast<size_t>(stack.n), 0.f);
  const int64_t batch = std::max<int64_t>(1, o.batch);
  NoGrad ng;
  for (size_t b0 = 0; b0 < centres.size(); b0 += static_cast<size_t>(batch)) {
    const int64_t n = std::min<int64_t>(batch, static_cast<int64_t>(centres.size() - b0));
    Tensor x = Tensor::empty({n, ch, stack.h, stack.w});
    for (int64_t i = 0; i < n; ++i) slice_window(stack, centres[b0 + i], cfg.context, x.data() + i * ch * plane);
    const Tensor p = sigmoid(net.forward(x.to(net.device()), false, false)).to(Device::CPU);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t k = 0; k < step; ++k) {
        const int64_t z = centres[b0 + i] - oc + k;
        if (z < 0 || z >= stack.n) continue;
        const float* src = p.data() + (i * step + k) * plane;
        float* dst = prob.slice(z);
        for (int64_t j = 0; j < plane; ++j) dst[j] += src[j];
        count[z] += 1;
      }
  }
  for (int64_t z = 0; z < stack.n; ++z) {
    r.slices_run += count[z] > 0;
    if (count[z] > 1)
      for (int64_t j = 0; j < plane; ++j) prob.slice(z)[j] /= count[z];
  }
  r.seconds_network = seconds_since(t);

  t = std::chrono::steady_clock::now();
  io::Volume pv = img;
  io::insert_slices(prob, pv);
  const io::Volume back = io::unprepare(pv, in.prepared.record);
  r.probability = back.data;
  r.mask = probability_to_mask(r.probability, input.dim, o);
  r.seconds_finish = seconds_since(t);
  return r;
}

io::Mask probability_to_mask(const std::vector<float>& probability, const io::Dims& d, const BrainMaskOptions& o) {
  io::Mask m(probability.size(), 0);
  int64_t lo[3] = {d[0], d[1], d[2]}, hi[3] = {-1, -1, -1};
  for (int64_t z = 0; z < d[2]; ++z)
    for (int64_t y = 0; y < d[1]; ++y)
      for (int64_t x = 0; x < d[0]; ++x) {
        const int64_t i = x + d[0] * (y + d[1] * z);
        if (!(probability[i] >= o.threshold)) continue;
        m[i] = 1;
        const int64_t p[3] = {x, y, z};
        for (int a = 0; a < 3; ++a) lo[a] = std::min(lo[a], p[a]), hi[a] = std::max(hi[a], p[a]);
      }
  if (hi[0] < 0)
    throw io::Error("the brain-mask network found no brain (no voxel reaches probability " + std::to_string(o.threshold) + ")");
  if (!o.largest_component && !o.fill_holes) return m;
  // Components and holes are found in the mask's bounding box grown by one voxel: the ring of
  // background around it connects everything outside, so the result is that of the whole grid
  // at a fraction of the work on large grids.
  io::Dims b;
  for (int a = 0; a < 3; ++a) lo[a] = std::max<int64_t>(0, lo[a] - 1), hi[a] = std::min(d[a] - 1, hi[a] + 1), b[a] = hi[a] - lo[a] + 1;
  io::Mask box(static_cast<size_t>(b[0] * b[1] * b[2]));
  for (int64_t z = 0; z < b[2]; ++z)
    for (int64_t y = 0; y < b[1]; ++y)
      std::copy_n(m.begin() + (lo[0] + d[0] * (lo[1] + y + d[1] * (lo[2] + z))), b[0], box.begin() + b[0] * (y + b[1] * z));
  if (o.largest_component) io::keep_largest_component(box, b);
  if (o.fill_holes) io::fill_holes(box, b);
  for (int64_t z = 0; z < b[2]; ++z)
    for (int64_t y = 0; y < b[1]; ++y)
      std::copy_n(box.begin() + b[0] * (y + b[1] * z), b[0], m.begin() + (lo[0] + d[0] * (lo[1] + y + d[1] * (lo[2] + z))));
  return m;
}

io::Mask brain_mask_net(const io::Volume& input) { return predict_brain_mask(*default_brain_mask_model().net, input).mask; }

io::Mask load_any_mask(const io::Volume& input, const io::MaskSpec& spec) {
  return spec.kind == io::MaskSpec::Kind::net ? brain_mask_net(input) : io::load_mask(input, spec);
}

}  // namespace im::tools
