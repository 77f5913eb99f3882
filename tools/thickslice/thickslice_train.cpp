// imunity-thickslice-train's loop: subjects, on-the-fly degraded planes, Adam, validation, weights.
#include "tools/thickslice/thickslice_train.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "engine/autograd.h"
#include "engine/losses.h"
#include "engine/optim.h"
#include "io/error.h"
#include "io/mask.h"
#include "io/nifti.h"
#include "io/normalize.h"
#include "tools/brainmask/brainmask_train.h"
#include "tools/common/progress.h"
#include "tools/common/thickslice.h"
#include "tools/common/weight_file.h"

namespace fs = std::filesystem;

namespace im::tools {

void thick_slice_rows(std::vector<float>& plane, int64_t h, int64_t w, int factor, int phase) {
  if (factor <= 1) return;
  // Blocks [phase - factor, phase), [phase, phase + factor), ... clipped to the row.
  const int64_t first = phase > 0 ? phase - factor : 0, blocks = (w - first + factor - 1) / factor;
  std::vector<double> avg(static_cast<size_t>(blocks)), centre(static_cast<size_t>(blocks));
  for (int64_t r = 0; r < h; ++r) {
    float* row = plane.data() + r * w;
    for (int64_t b = 0; b < blocks; ++b) {
      const int64_t lo = std::max<int64_t>(0, first + b * factor), hi = std::min(w, first + (b + 1) * factor);
      double s = 0;
      for (int64_t i = lo; i < hi; ++i) s += row[i];
      avg[b] = s / double(hi - lo);
      centre[b] = (double(lo) + double(hi - 1)) / 2;
    }
    for (int64_t i = 0; i < w; ++i) {
      int64_t b = 0;
      while (b + 1 < blocks && centre[b + 1] <= double(i)) ++b;
      if (b + 1 >= blocks || double(i) <= centre[b]) {
        row[i] = static_cast<float>(double(i) <= centre[0] ? avg[0] : avg[b]);
      } else {
        const double t = (double(i) - centre[b]) / (centre[b + 1] - centre[b]);
        row[i] = static_cast<float>((1 - t) * avg[b] + t * avg[b + 1]);
      }
    }
  }
}

void blur_rows(std::vector<float>& plane, int64_t h, int64_t w, double sigma) {
  if (sigma <= 0) return;
  const int r = std::max(1, static_cast<int>(std::ceil(3 * sigma)));
  std::vector<double> k(static_cast<size_t>(2 * r + 1));
  double norm = 0;
  for (int i = -r; i <= r; ++i) norm += k[i + r] = std::exp(-0.5 * i * i / (sigma * sigma));
  std::vector<float> row(static_cast<size_t>(w));
  for (int64_t y = 0; y < h; ++y) {
    std::copy(plane.begin() + y * w, plane.begin() + (y + 1) * w, row.begin());
    for (int64_t x = 0; x < w; ++x) {
      double s = 0;
      for (int i = -r; i <= r; ++i) s += k[i + r] * row[std::clamp<int64_t>(x + i, 0, w - 1)];
      plane[y * w + x] = static_cast<float>(s / norm);
    }
  }
}

void degrade_volume_axis(io::Volume& v, int axis, int factor, double sigma) {
  const io::Dims& d = v.dim;
  const int64_t stride[3] = {1, d[0], d[0] * d[1]}, n = d[axis];
  const int o1 = (axis + 1) % 3, o2 = (axis + 2) % 3;
  std::vector<float> line(static_cast<size_t>(n));
  for (int64_t a = 0; a < d[o1]; ++a)
    for (int64_t b = 0; b < d[o2]; ++b) {
      const int64_t start = a * stride[o1] + b * stride[o2];
      for (int64_t i = 0; i < n; ++i) line[i] = v.data[start + i * stride[axis]];
      if (sigma > 0) blur_rows(line, 1, n, sigma);
      else thick_slice_rows(line, 1, n, factor, 0);
      for (int64_t i = 0; i < n; ++i) v.data[start + i * stride[axis]] = line[i];
    }
}

double brain_l1(const io::Volume& a, const io::Volume& b, const io::Mask& m) {
  double s = 0;
  int64_t n = 0;
  for (size_t i = 0; i < m.size(); ++i)
    if (m[i]) s += std::abs(double(a.data[i]) - double(b.data[i])), ++n;
  return n ? s / double(n) : 0;
}

namespace {

// A training subject: intensities divided by the brain's 90th percentile, and its brain voxels.
struct Subject {
  io::Volume v;
  io::Mask mask;
  std::vector<int64_t> brain;
};

Subject load_subject(const LabelledScan& s) {
  Subject out;
  out.v = io::read_volume(s.t1);
  out.mask = io::read_label_mask(out.v, s.labels);
  std::vector<float> vals;
  for (size_t i = 0; i < out.mask.size(); ++i)
    if (out.mask[i]) vals.push_back(out.v.data[i]), out.brain.push_back(static_cast<int64_t>(i));
  if (out.brain.size() < 1000) io::fail(s.labels, "fewer than 1000 brain voxels on the T1 grid");
  const double p90 = io::percentile(vals, 90.0);
  if (!(p90 > 0)) io::fail(s.t1, "the brain's 90th percentile is not positive");
  for (float& x : out.v.data) x = static_cast<float>(x / p90);
  return out;
}


// The validation cases: thick slices along the last voxel axis (factor, noise) and a thin volume.
struct Case {
  int factor;
  double noise;
};
constexpr Case kCases[] = {{3, 0.015}, {2, 0.045}, {1, 0.0}};

// Brain L1 to the thin volume, per case: {degraded, restored}; the score is the sum of the restored
// L1 over the three cases (the thin one included: a network that harms thin input pays for it).
struct Validation {
  std::vector<std::array<double, 2>> l1;
  double score = 0;
};
Validation validate(model::ThickSliceNet& net, const std::vector<Subject>& subjects, uint64_t seed) {
  Validation r;
  r.l1.assign(std::size(kCases), {0, 0});
  for (size_t s = 0; s < subjects.size(); ++s)
    for (size_t c = 0; c < std::size(kCases); ++c) {
      io::Volume d = subjects[s].v;
      degrade_volume_axis(d, 2, kCases[c].factor, 0);
      io::Rng rng(io::mix(seed, s * 16 + c));
      if (kCases[c].noise > 0)
        for (float& x : d.data) x += static_cast<float>(kCases[c].noise * rng.normal());
      r.l1[c][0] += brain_l1(d, subjects[s].v, subjects[s].mask) / double(subjects.size());
      restore_axis(d, subjects[s].mask, 2, net);
      r.l1[c][1] += brain_l1(d, subjects[s].v, subjects[s].mask) / double(subjects.size());
    }
  for (size_t c = 0; c < std::size(kCases); ++c) r.score += r.l1[c][1];
  return r;
}


// One training pair: a P x P patch of a plane containing a random axis (along W), around a brain
// voxel, the input degraded along W, both through one random gamma (contrast variety).
void draw_pair(const std::vector<Subject>& subjects, const ThickSliceTrainOptions& o, io::Rng& rng, float* x, float* y) {
  const Subject& s = subjects[rng.below(subjects.size())];
  const io::Dims& d = s.v.dim;
  const int64_t stride[3] = {1, d[0], d[0] * d[1]};
  const int a = static_cast<int>(rng.below(3));                          // the thick axis: W
  const int b = (a + 1 + static_cast<int>(rng.below(2))) % 3, c = 3 - a - b;  // b fixed, c: H
  const int64_t centre = s.brain[rng.below(s.brain.size())];
  const int64_t at[3] = {centre % d[0], (centre / d[0]) % d[1], centre / (d[0] * d[1])};
  constexpr int64_t kPad = 8;  // the degradation sees a wider strip, so the patch has no edge of its own
  const int64_t P = o.patch, H = std::min<int64_t>(P, d[c]), W = std::min<int64_t>(P + 2 * kPad, d[a]);
  const int64_t h0 = std::clamp<int64_t>(at[c] - H / 2, 0, d[c] - H), w0 = std::clamp<int64_t>(at[a] - W / 2, 0, d[a] - W);
  const double gamma = std::exp((rng.uniform() * 2 - 1) * std::log(1.6));
  std::vector<float> clean(static_cast<size_t>(H * W));
  for (int64_t h = 0; h < H; ++h)
    for (int64_t w = 0; w < W; ++w)
      clean[h * W + w] = static_cast<float>(
          std::pow(std::max(0.f, s.v.data[at[b] * stride[b] + (h0 + h) * stride[c] + (w0 + w) * stride[a]]), gamma));
  std::vector<float> deg = clean;
  const double u = rng.uniform();
  if (u < 0.7) {
    const int f = 2 + static_cast<int>(rng.below(3));
    thick_slice_rows(deg, H, W, f, static_cast<int>(rng.below(static_cast<uint64_t>(f))));
  } else if (u < 0.85) {
    blur_rows(deg, H, W, 0.4 + 0.8 * rng.uniform());  // FWHM 2-5.6 mm on a 2 mm grid
  }  // else thin: the network must leave it alone
  const double sigma = o.max_noise * rng.uniform();
  const int64_t wo = std::min<int64_t>(kPad, (W - std::min<int64_t>(P, W)) / 2);
  // Patches smaller than P (small volumes) are zero-padded.
  std::fill(x, x + P * P, 0.f);
  std::fill(y, y + P * P, 0.f);
  for (int64_t h = 0; h < H; ++h)
    for (int64_t w = 0; w < std::min<int64_t>(P, W); ++w) {
      x[h * P + w] = static_cast<float>(deg[h * W + w + wo] + sigma * rng.normal());
      y[h * P + w] = clean[h * W + w + wo];
    }
}


}  // namespace

int train_thick_slice(const ThickSliceTrainOptions& o) {
  using Clock = std::chrono::steady_clock;
  const BrainMaskSplit split = split_scans(list_labelled_scans(o.data_dir), o.test_subjects, o.validation_subjects);
  if (split.train.empty()) throw io::Error(o.data_dir + ": no training subjects left after the test and validation sets");
  const fs::path out(o.out_dir);
  fs::create_directories(out);
  const fs::path weights = out / "thickslice.safetensors", log = out / "log.jsonl";
  if (fs::exists(weights)) io::fail(weights.string(), "exists: choose another --out (a run takes minutes; there is no resume)");

  model::ThickSliceNet net(o.net, Device::CPU, o.seed);
  std::printf("imunity-thickslice-train: %zu scans: %zu test (held out, never read), %zu validation, %zu training; network "
              "%lld parameters\n",
              split.test.size() + split.validation.size() + split.train.size(), split.test.size(), split.validation.size(),
              split.train.size(), static_cast<long long>(net.params.numel()));
  std::vector<Subject> train, val;
  {
    Progress p(static_cast<int64_t>(split.train.size() + split.validation.size()), "load", !o.quiet);
    for (const LabelledScan& s : split.train) train.push_back(load_subject(s)), p.update(int64_t(train.size()), s.name);
    for (const LabelledScan& s : split.validation)
      val.push_back(load_subject(s)), p.update(int64_t(train.size() + val.size()), s.name);
    p.finish("loaded");
  }

  io::Rng rng(o.seed);
  AdamConfig adam;
  adam.beta1 = 0.9f;
  adam.beta2 = 0.999f;
  const int64_t P = o.patch, n = static_cast<int64_t>(o.batch) * P * P;
  const Tensor ones = Tensor::full({o.batch, 1, P, P}, 1.f);
  const auto t0 = Clock::now();
  double best = 1e30, loss_sum = 0;
  int64_t best_step = -1, logged = 0;
  nlohmann::json history = nlohmann::json::array();
  auto training_json = [&](int64_t step) {
    return nlohmann::json{{"data", fs::path(o.data_dir).filename().string()}, {"command", o.command},
                          {"test_subjects", o.test_subjects}, {"validation_subjects", o.validation_subjects},
                          {"training_subjects", split.train.size()}, {"first_training_subject", split.train.front().name},
                          {"steps", o.steps}, {"step", step}, {"batch", o.batch}, {"patch", o.patch}, {"lr", o.lr},
                          {"max_noise", o.max_noise}, {"seed", o.seed}, {"validation", history},
                          {"seconds", std::chrono::duration<double>(Clock::now() - t0).count()}};
  };
  auto run_validation = [&](int64_t step) {
    const Validation v = validate(net, val, o.seed ^ 0x5eedULL);
    nlohmann::json cases = nlohmann::json::array();
    for (size_t c = 0; c < std::size(kCases); ++c)
      cases.push_back({{"factor", kCases[c].factor}, {"noise", kCases[c].noise}, {"l1_degraded", v.l1[c][0]}, {"l1_restored", v.l1[c][1]}});
    history.push_back({{"step", step}, {"cases", cases}, {"score", v.score}});
    append_json_line(log.string(), history.back());
    std::printf("\nvalidation at step %lld: brain L1 6 mm %.4f -> %.4f, 4 mm noisy %.4f -> %.4f, thin %.4f -> %.4f\n",
                static_cast<long long>(step), v.l1[0][0], v.l1[0][1], v.l1[1][0], v.l1[1][1], v.l1[2][0], v.l1[2][1]);
    if (v.score < best) {
      best = v.score, best_step = step;
      save_thick_slice_model(weights.string(), net, training_json(step));
    }
  };
  Progress progress(o.steps, "train", !o.quiet);
  std::vector<float> x(static_cast<size_t>(n)), y(static_cast<size_t>(n));
  for (int64_t step = 0; step < o.steps; ++step) {
    if (o.interrupted && *o.interrupted) {
      std::printf("\nimunity-thickslice-train: interrupted at step %lld; %s holds the best validated state (step %lld)\n",
                  static_cast<long long>(step), weights.c_str(), static_cast<long long>(best_step));
      return 130;
    }
    for (int i = 0; i < o.batch; ++i) draw_pair(train, o, rng, x.data() + i * P * P, y.data() + i * P * P);
    adam.lr = warmup_cosine_lr(o.lr, o.lr_min, o.warmup, o.steps, step);
    net.params.zero_grad();
    const Tensor loss = masked_l1(net.forward(Tensor::from_vector(x, {o.batch, 1, P, P})), Tensor::from_vector(y, {o.batch, 1, P, P}), ones);
    autograd::backward(loss);
    adam_step(net.params, adam);
    loss_sum += loss.to_vector()[0], ++logged;
    if ((step + 1) % o.log_every == 0) {
      append_json_line(log.string(), {{"step", step + 1}, {"loss", loss_sum / double(logged)}, {"lr", adam.lr}});
      char buf[96];
      std::snprintf(buf, sizeof buf, "L1 %.4f lr %.2e", loss_sum / double(logged), adam.lr);
      progress.update(step + 1, buf);
      loss_sum = 0, logged = 0;
    }
    if ((step + 1) % o.validate_every == 0 || step + 1 == o.steps) run_validation(step + 1);
  }
  progress.finish("done");
  std::printf("imunity-thickslice-train: best validation at step %lld: %s\n", static_cast<long long>(best_step), weights.c_str());
  return 0;
}

}  // namespace im::tools
