// The brain-mask network's training loop: data split, slice pool, steps, validation, checkpoints.
#include "tools/brainmask/brainmask_train.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "engine/autograd.h"
#include "engine/losses.h"
#include "engine/ops.h"
#include "engine/optim.h"
#include "eval/segmentation.h"
#include "io/error.h"
#include "io/nifti.h"
#include "io/nifti_name.h"
#include "io/rng.h"
#include "tools/common/brain_mask.h"
#include "tools/common/batch_inputs.h"
#include "tools/common/progress.h"
#include "tools/common/weight_file.h"

namespace fs = std::filesystem;

namespace im::tools {

std::vector<LabelledScan> list_labelled_scans(const std::string& dir) {
  const std::vector<std::string> t1 = list_nifti_dir((fs::path(dir) / "t1").string());
  const std::vector<std::string> labels = list_nifti_dir((fs::path(dir) / "labels").string());
  std::vector<LabelledScan> out;
  for (const std::string& path : t1) {
    LabelledScan s;
    s.t1 = path;
    s.name = output_stem(path);
    const std::string stem = io::nifti_stem(path);
    for (const std::string& l : labels)
      if (fs::path(l).filename().string().rfind(stem + "_", 0) == 0) s.labels = l;
    if (s.labels.empty()) io::fail(path, "no label map " + stem + "_*.nii[.gz] in " + (fs::path(dir) / "labels").string());
    out.push_back(s);
  }
  return out;
}

BrainMaskSplit split_scans(const std::vector<LabelledScan>& scans, int test, int validation) {
  if (static_cast<int>(scans.size()) <= test + validation)
    throw io::Error(std::to_string(scans.size()) + " labelled scans: not more than the " + std::to_string(test) + " test and " +
                    std::to_string(validation) + " validation subjects, nothing left to train on");
  BrainMaskSplit s;
  s.test.assign(scans.begin(), scans.begin() + test);
  s.validation.assign(scans.begin() + test, scans.begin() + test + validation);
  s.train.assign(scans.begin() + test + validation, scans.end());
  return s;
}

ValidationDice validate_brain_mask(model::BrainMaskNet& net, const std::vector<LabelledScan>& scans, uint64_t seed) {
  ValidationDice v;
  if (scans.empty()) return v;
  for (size_t k = 0; k < scans.size(); ++k) {
    const io::Volume t1 = io::read_volume(scans[k].t1);
    const io::Mask truth = io::read_label_mask(t1, scans[k].labels);
    v.raw += eval::dice(predict_brain_mask(net, t1).mask, truth);
    io::Rng rng(io::mix(seed, k));
    const io::Volume sim = io::simulate_site(t1, truth, random_site(rng), rng.next(), scans[k].name);
    v.site += eval::dice(predict_brain_mask(net, sim).mask, truth);
  }
  v.raw /= static_cast<double>(scans.size());
  v.site /= static_cast<double>(scans.size());
  return v;
}

namespace {

// An augmented volume cut into axial slices, and which of them training draws from.
struct PoolEntry {
  io::SliceStack image, mask;
  std::vector<int64_t> brain, signal;  // slices holding brain; slices holding anything
  int used = 0;
};

PoolEntry make_entry(const MaskSubject& s, const AugmentOptions& ao, io::Rng& rng, int multiple) {
  AugmentedVolume a = augment(s, ao, rng);
  PoolEntry e;
  e.image = io::extract_slices(a.image, io::SliceAxis::axial, multiple);
  io::Volume mv = a.image;
  for (size_t i = 0; i < mv.data.size(); ++i) mv.data[i] = a.mask[i];
  e.mask = io::extract_slices(mv, io::SliceAxis::axial, multiple);
  const int64_t plane = e.image.h * e.image.w;
  for (int64_t z = 0; z < e.image.n; ++z) {
    if (*std::max_element(e.mask.slice(z), e.mask.slice(z) + plane) > 0.5f) e.brain.push_back(z);
    if (*std::max_element(e.image.slice(z), e.image.slice(z) + plane) > 0.02f) e.signal.push_back(z);
  }
  if (e.signal.empty()) e.signal.push_back(e.image.n / 2);
  if (e.brain.empty()) e.brain = e.signal;
  return e;
}

float learning_rate(const BrainMaskTrainOptions& o, int64_t step) {
  return warmup_cosine_lr(o.lr, o.lr_min, o.warmup, o.steps, step);
}

}  // namespace

int train_brain_mask(const BrainMaskTrainOptions& o) {
  using Clock = std::chrono::steady_clock;
  const BrainMaskSplit split = split_scans(list_labelled_scans(o.data_dir), o.test_subjects, o.validation_subjects);
  const fs::path out(o.out_dir);
  fs::create_directories(out);
  const fs::path last = out / "last.safetensors", best = out / "best.safetensors", log = out / "log.jsonl";

  std::unique_ptr<model::BrainMaskNet> net;
  nlohmann::json state = {{"step", 0}, {"best_dice", -1.0}, {"best_step", -1}, {"seconds", 0.0}};
  if (o.resume) {
    if (!fs::exists(last)) io::fail(last.string(), "nothing to resume (no such file)");
    auto m = load_brain_mask_model(last.string(), Device::CPU, true);
    net = std::move(m->net);
    state = m->training.at("state");
    std::printf("imunity-brainmask-train: resuming %s at step %lld\n", last.c_str(), static_cast<long long>(state["step"].get<int64_t>()));
  } else {
    if (fs::exists(last)) io::fail(last.string(), "exists: give --resume to continue that run, or another --out");
    net = std::make_unique<model::BrainMaskNet>(o.net, Device::CPU, o.seed);
  }
  const model::BrainMaskConfig& cfg = net->config();
  int64_t step = state["step"].get<int64_t>();
  double best_dice = state["best_dice"].get<double>(), seconds = state["seconds"].get<double>();
  auto training_json = [&](int64_t best_step) {
    nlohmann::json names = nlohmann::json::array();
    for (const auto& s : split.train) names.push_back(s.name);
    state = {{"step", step}, {"best_dice", best_dice}, {"best_step", best_step}, {"seconds", seconds}};
    return nlohmann::json{{"data", o.data_dir}, {"command", o.command}, {"test_subjects", o.test_subjects},
                          {"validation_subjects", o.validation_subjects}, {"training_subjects", split.train.size()},
                          {"first_training_subject", split.train.front().name}, {"steps", o.steps}, {"batch", o.batch},
                          {"lr", o.lr}, {"seed", o.seed}, {"state", state}};
  };

  std::printf("imunity-brainmask-train: %zu scans: %zu test (held out, never read), %zu validation, %zu training; network "
              "%lld parameters\n",
              split.test.size() + split.validation.size() + split.train.size(), split.test.size(), split.validation.size(),
              split.train.size(), static_cast<long long>(net->params.numel()));
  std::vector<MaskSubject> subjects;
  {
    Progress p(static_cast<int64_t>(split.train.size()), "load", !o.quiet);
    for (const LabelledScan& s : split.train) {
      subjects.push_back(load_mask_subject(s.t1, s.labels, cfg));
      p.update(static_cast<int64_t>(subjects.size()), s.name);
    }
    p.finish("loaded");
  }

  io::Rng rng(io::mix(o.seed, static_cast<uint64_t>(step) + 1));  // a resumed run continues on a fresh stream
  const int multiple = cfg.size_multiple();
  std::vector<PoolEntry> pool;
  for (int i = 0; i < o.pool; ++i) pool.push_back(make_entry(subjects[rng.below(subjects.size())], o.augment, rng, multiple));
  const int64_t h = pool[0].image.h, w = pool[0].image.w, plane = h * w, ch = cfg.in_channels(), co = cfg.out_channels();
  AdamConfig adam;
  adam.beta1 = 0.9f;
  adam.beta2 = 0.999f;

  Progress progress(o.steps, "train", !o.quiet, step);
  auto t_start = Clock::now();
  double seconds_at_start = seconds, loss_sum = 0, dice_sum = 0;
  int64_t logged = 0;
  int64_t best_step = state["best_step"].get<int64_t>();
  auto elapsed = [&] { return seconds = seconds_at_start + std::chrono::duration<double>(Clock::now() - t_start).count(); };
  auto save_last = [&] {
    elapsed();
    save_brain_mask_model(last.string(), *net, training_json(best_step), true);
  };
  while (step < o.steps) {
    if (o.interrupted && *o.interrupted) {
      save_last();
      std::printf("\nimunity-brainmask-train: interrupted at step %lld; saved %s (resume with --resume)\n",
                  static_cast<long long>(step), last.c_str());
      return 130;
    }
    std::vector<float> x(static_cast<size_t>(o.batch * ch * plane)), y(static_cast<size_t>(o.batch * co * plane));
    for (int i = 0; i < o.batch; ++i) {
      PoolEntry& e = pool[rng.below(pool.size())];
      const std::vector<int64_t>& from = rng.uniform() < 0.8 ? e.brain : e.signal;
      const int64_t z = from[rng.below(from.size())];
      if (e.image.h != h || e.image.w != w) throw io::Error("training volumes must share one axial plane size on the network's grid");
      slice_window(e.image, z, cfg.context, x.data() + i * ch * plane);
      slice_window(e.mask, z, cfg.out_context, y.data() + i * co * plane);
      ++e.used;
    }
    for (PoolEntry& e : pool)
      if (e.used >= o.slices_per_volume) e = make_entry(subjects[rng.below(subjects.size())], o.augment, rng, multiple);

    adam.lr = learning_rate(o, step);
    net->params.zero_grad();
    const Tensor target = Tensor::from_vector(y, {o.batch, co, h, w});
    const Tensor logits = net->forward(Tensor::from_vector(x, {o.batch, ch, h, w}), true, true);
    const Tensor loss = bce_with_logits(logits, target);
    autograd::backward(loss);
    adam_step(net->params, adam);
    ++step;

    const float lv = loss.item();
    if (!std::isfinite(lv)) throw io::Error("training diverged: the loss is " + std::to_string(lv) + " at step " + std::to_string(step));
    {
      const std::vector<float> lg = logits.to_vector();
      io::Mask pm(lg.size()), tm(lg.size());
      for (size_t i = 0; i < lg.size(); ++i) pm[i] = lg[i] > 0, tm[i] = y[i] > 0.5f;
      dice_sum += eval::dice(pm, tm);
    }
    loss_sum += lv;
    ++logged;
    if (step % o.log_every == 0 || step == o.steps) {
      append_json_line(log.string(), {{"step", step}, {"loss", loss_sum / logged}, {"batch_dice", dice_sum / logged}, {"lr", adam.lr},
                        {"seconds", elapsed()}});
      char buf[160];
      std::snprintf(buf, sizeof buf, "loss %.4f dice %.4f lr %.2e", loss_sum / logged, dice_sum / logged, adam.lr);
      progress.update(step, buf);
      loss_sum = dice_sum = 0, logged = 0;
    }
    if (step % o.validate_every == 0 || step == o.steps) {
      const ValidationDice v = validate_brain_mask(*net, split.validation, o.seed);
      const double score = (v.raw + v.site) / 2;
      const bool better = score > best_dice;
      if (better) best_dice = score, best_step = step;
      append_json_line(log.string(), {{"step", step}, {"validation_dice", v.raw}, {"validation_dice_site", v.site}, {"best", better}});
      std::printf("\nimunity-brainmask-train: step %lld validation Dice %.4f as acquired, %.4f through a virtual site%s\n",
                  static_cast<long long>(step), v.raw, v.site, better ? " (best)" : "");
      std::fflush(stdout);
      elapsed();
      if (better) save_brain_mask_model(best.string(), *net, training_json(best_step));
      save_last();
    } else if (step % o.checkpoint_every == 0) {
      save_last();
    }
  }
  save_last();
  progress.finish("done: best validation Dice " + std::to_string(best_dice) + " at step " + std::to_string(best_step));
  return 0;
}

}  // namespace im::tools
