// Thick-slice detection, restoration by the network on the planes containing the thick axis, and
// the network's weight files.
#include "tools/common/thickslice.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <mutex>
#include <sstream>

#include "engine/autograd.h"
#include "io/denoise.h"
#include "io/error.h"
#include "io/normalize.h"
#include "io/safetensors.h"
#include "tools/common/sha256.h"
#include "tools/common/weight_file.h"

namespace im::tools {

namespace {
constexpr const char* kFormat = "imunity-thickslice/1";
const char* kAxisNames[3] = {"i", "j", "k"};
}  // namespace

void save_thick_slice_model(const std::string& path, model::ThickSliceNet& net, const nlohmann::json& training) {
  io::SafeTensors st;
  put_tensors(st, net.state());
  st.metadata["format"] = kFormat;
  st.metadata["imunity_version"] = IMUNITY_VERSION;
  st.metadata["thickslice_config"] = nlohmann::json(net.config()).dump();
  st.metadata["training"] = training.dump();
  io::write_safetensors(path, st);
}

std::unique_ptr<ThickSliceModel> load_thick_slice_model(const std::string& path, Device dev) {
  io::SafeTensors st = io::read_safetensors(path);
  auto meta = [&](const char* key) -> const std::string& {
    auto it = st.metadata.find(key);
    if (it == st.metadata.end()) io::fail(path, std::string("not a thick-slice network file: metadata has no \"") + key + "\"");
    return it->second;
  };
  if (meta("format") != kFormat)
    io::fail(path, "unsupported thick-slice file format \"" + meta("format") + "\" (this imunity reads " + kFormat + ")");
  auto m = std::make_unique<ThickSliceModel>();
  m->path = path;
  m->sha256 = sha256_file(path);
  model::ThickSliceConfig cfg;
  try {
    cfg = nlohmann::json::parse(meta("thickslice_config")).get<model::ThickSliceConfig>();
    m->training = nlohmann::json::parse(meta("training"));
  } catch (const std::exception& e) {
    io::fail(path, std::string("corrupted thick-slice metadata: ") + e.what());
  }
  m->net = std::make_unique<model::ThickSliceNet>(cfg, Device::CPU, 0);
  NamedTensors state = m->net->state();
  take_tensors(path, st, state);
  m->net->to(dev);
  return m;
}

std::string default_thick_slice_model_path() {
  if (const char* env = std::getenv("IMUNITY_THICKSLICE_MODEL"); env && *env) return env;
  return std::string(IMUNITY_MODEL_DIR) + "/thickslice-2mm.safetensors";
}

const ThickSliceModel& default_thick_slice_model() {
  static std::once_flag once;
  static std::unique_ptr<ThickSliceModel> model;
  std::call_once(once, [] { model = load_thick_slice_model(default_thick_slice_model_path(), Device::CPU); });
  return *model;
}

nlohmann::json ThickSliceDetection::to_json() const {
  return {{"ratio_ijk", ratio}, {"axis", axis < 0 ? nlohmann::json(nullptr) : nlohmann::json(kAxisNames[axis])},
          {"threshold", threshold}, {"measured", measured}, {"noise_sigma", noise_sigma}};
}

ThickSliceDetection detect_thick_slices(const io::Volume& v, const io::Mask& mask, double threshold) {
  if (mask.size() != v.data.size()) throw io::Error("thick-slice detection: the mask does not match the volume's grid");
  const io::Dims& d = v.dim;
  const int64_t stride[3] = {1, d[0], d[0] * d[1]};
  std::array<double, 3> energy{};
  for (int a = 0; a < 3; ++a) {
    double sum = 0;
    int64_t pairs = 0;
#pragma omp parallel for reduction(+ : sum, pairs) schedule(static)
    for (int64_t z = 0; z < d[2]; ++z)
      for (int64_t y = 0; y < d[1]; ++y)
        for (int64_t x = 0; x < d[0]; ++x) {
          const int64_t c[3] = {x, y, z};
          if (c[a] + 1 >= d[a]) continue;
          const int64_t i = x + d[0] * (y + d[1] * z), j = i + stride[a];
          // Pairs with a voxel at exactly 0 are the edge of missing data (a zeroed or cropped part),
          // not anatomy: they would make the axis crossing that edge look sharp.
          if (!mask[i] || !mask[j] || v.data[i] == 0.f || v.data[j] == 0.f) continue;
          const double diff = double(v.data[j]) - double(v.data[i]);
          sum += diff * diff;
          ++pairs;
        }
    energy[a] = pairs >= 1000 ? sum / double(pairs) : -1;
  }
  ThickSliceDetection r;
  r.threshold = threshold;
  if (*std::min_element(energy.begin(), energy.end()) < 0) {
    r.measured = false;  // too small a mask to say
    return r;
  }
  // White noise adds 2 sigma^2 to every axis's mean squared difference: taken out, so that noisy
  // thick slices do not read as thinner than they are (the estimate's share of anatomy takes out
  // a little more; a floor of 2% keeps the energies positive).
  r.noise_sigma = io::estimate_noise(v, mask);
  for (double& e : energy) e = std::max(e - 2 * r.noise_sigma * r.noise_sigma, 0.02 * e);
  for (int a = 0; a < 3; ++a) {
    const double others = (energy[(a + 1) % 3] + energy[(a + 2) % 3]) / 2;
    r.ratio[a] = others > 0 ? energy[a] / others : 1.0;
  }
  const int low = static_cast<int>(std::min_element(r.ratio.begin(), r.ratio.end()) - r.ratio.begin());
  if (r.ratio[low] < threshold) r.axis = low;
  return r;
}

const char* thick_slice_mode_name(ThickSliceMode m) {
  return m == ThickSliceMode::off ? "off" : m == ThickSliceMode::on ? "on" : "auto";
}

ThickSliceMode parse_thick_slice_mode(const std::string& name) {
  if (name == "off") return ThickSliceMode::off;
  if (name == "auto") return ThickSliceMode::automatic;
  if (name == "on") return ThickSliceMode::on;
  throw io::Error("--thick-slices must be off, auto or on, got \"" + name + "\"");
}

nlohmann::json ThickSliceResult::to_json() const {
  nlohmann::json j = {{"mode", thick_slice_mode_name(mode)}, {"restored", restored}, {"reason", reason}};
  if (mode != ThickSliceMode::off) j["detection"] = detection.to_json();
  if (restored) {
    j["model_sha256"] = model_sha256;
    j["seconds"] = seconds;
  }
  return j;
}

void restore_axis(io::Volume& v, const io::Mask& mask, int axis, model::ThickSliceNet& net, int64_t batch) {
  if (mask.size() != v.data.size()) throw io::Error("thick-slice restoration: the mask does not match the volume's grid");
  if (axis < 0 || axis > 2) throw io::Error("thick-slice restoration: axis must be 0, 1 or 2");
  const io::Dims& d = v.dim;
  // The mask's bounding box, with a margin of context for the convolutions (7 layers see 7 voxels).
  constexpr int64_t kMargin = 8;
  int64_t lo[3] = {d[0], d[1], d[2]}, hi[3] = {-1, -1, -1};
  std::vector<float> brain;
  for (int64_t z = 0; z < d[2]; ++z)
    for (int64_t y = 0; y < d[1]; ++y)
      for (int64_t x = 0; x < d[0]; ++x) {
        const int64_t i = x + d[0] * (y + d[1] * z);
        if (!mask[i]) continue;
        const int64_t c[3] = {x, y, z};
        for (int a = 0; a < 3; ++a) lo[a] = std::min(lo[a], c[a]), hi[a] = std::max(hi[a], c[a]);
        brain.push_back(v.data[i]);
      }
  if (brain.empty()) return;
  // The network was trained on intensities divided by the brain's 90th percentile.
  const double scale = io::percentile(brain, 90.0);
  if (!(scale > 0)) return;
  int64_t cd[3];
  for (int a = 0; a < 3; ++a) lo[a] = std::max<int64_t>(0, lo[a] - kMargin), hi[a] = std::min(d[a] - 1, hi[a] + kMargin),
                             cd[a] = hi[a] - lo[a] + 1;
  const int64_t cs[3] = {1, cd[0], cd[0] * cd[1]}, n = cd[0] * cd[1] * cd[2];
  std::vector<float> crop(static_cast<size_t>(n)), sum(static_cast<size_t>(n), 0.f);
  for (int64_t z = 0; z < cd[2]; ++z)
    for (int64_t y = 0; y < cd[1]; ++y)
      for (int64_t x = 0; x < cd[0]; ++x)
        crop[x + cd[0] * (y + cd[1] * z)] =
            static_cast<float>(v.data[(x + lo[0]) + d[0] * ((y + lo[1]) + d[1] * (z + lo[2]))] / scale);
  NoGrad ng;
  const Device dev = net.device();
  int families = 0;
  for (int b = 0; b < 3; ++b) {
    if (b == axis) continue;
    const int c = 3 - axis - b;  // the plane's other axis: H; the thick axis: W
    const int64_t H = cd[c], W = cd[axis], plane = H * W;
    for (int64_t p0 = 0; p0 < cd[b]; p0 += batch) {
      const int64_t nb = std::min(batch, cd[b] - p0);
      std::vector<float> in(static_cast<size_t>(nb * plane));
      for (int64_t p = 0; p < nb; ++p)
        for (int64_t h = 0; h < H; ++h)
          for (int64_t w = 0; w < W; ++w) in[p * plane + h * W + w] = crop[(p0 + p) * cs[b] + h * cs[c] + w * cs[axis]];
      const std::vector<float> out = net.forward(Tensor::from_vector(in, {nb, 1, H, W}, dev)).to_vector();
      for (int64_t p = 0; p < nb; ++p)
        for (int64_t h = 0; h < H; ++h)
          for (int64_t w = 0; w < W; ++w) sum[(p0 + p) * cs[b] + h * cs[c] + w * cs[axis]] += out[p * plane + h * W + w];
    }
    ++families;
  }
  for (int64_t z = 0; z < cd[2]; ++z)
    for (int64_t y = 0; y < cd[1]; ++y)
      for (int64_t x = 0; x < cd[0]; ++x) {
        const int64_t i = (x + lo[0]) + d[0] * ((y + lo[1]) + d[1] * (z + lo[2]));
        // A voxel at exactly 0 holds no signal (a zeroed or cropped part): it stays 0.
        if (mask[i] && v.data[i] != 0.f)
          v.data[i] = static_cast<float>(std::max(0.0, sum[x + cd[0] * (y + cd[1] * z)] / families * scale));
      }
}

ThickSliceResult restore_thick_slices(io::Volume& v, const io::Mask& mask, const ThickSliceOptions& options,
                                      const ThickSliceModel* model) {
  ThickSliceResult r;
  r.mode = options.mode;
  if (options.mode == ThickSliceMode::off) {
    r.reason = "off";
    return r;
  }
  const auto t0 = std::chrono::steady_clock::now();
  r.detection = detect_thick_slices(v, mask, options.threshold);
  std::ostringstream why;
  int axis = r.detection.axis;
  if (options.mode == ThickSliceMode::on) {
    axis = static_cast<int>(std::min_element(r.detection.ratio.begin(), r.detection.ratio.end()) - r.detection.ratio.begin());
    why << "asked for (--thick-slices on): axis " << kAxisNames[axis] << ", ratio " << r.detection.ratio[axis];
  } else if (!r.detection.measured) {
    r.reason = "not measured: under 1000 voxel pairs inside the mask along some axis";
    return r;
  } else if (axis < 0) {
    r.reason = "no thick slices detected (lowest ratio " +
               std::to_string(*std::min_element(r.detection.ratio.begin(), r.detection.ratio.end())) + " >= " +
               std::to_string(options.threshold) + ")";
    return r;
  }
  if (!model) model = &default_thick_slice_model();
  const double trained = model->net->config().voxel_mm;
  if (options.mode == ThickSliceMode::automatic) {
    const io::Vec3 vox = v.voxel_size();
    for (int a = 0; a < 3; ++a)
      if (std::abs(vox[a] - trained) > options.voxel_tolerance * trained) {
        why << "thick slices detected along axis " << kAxisNames[axis] << " (ratio " << r.detection.ratio[axis]
            << ") but not restored: the voxels (" << vox[0] << " x " << vox[1] << " x " << vox[2]
            << " mm) are not within " << options.voxel_tolerance * 100 << "% of the " << trained
            << " mm grid the network was trained on (--thick-slices on forces it)";
        r.reason = why.str();
        return r;
      }
    why << "thick slices detected along axis " << kAxisNames[axis] << " (ratio " << r.detection.ratio[axis] << " < "
        << options.threshold << ")";
  }
  restore_axis(v, mask, axis, *model->net, options.batch);
  r.restored = true;
  r.reason = why.str();
  r.model_sha256 = model->sha256;
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

}  // namespace im::tools
