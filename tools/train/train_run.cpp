// imunity-train's run, in the steps a reader follows: configure, load the data, build the model,
// then the loop (a training step; losses logged and the last checkpoint saved; validation, the best
// checkpoint and the schedule's reaction to it), and finish (site codes, the final model file).
#include "tools/train/train_run.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>

#include "engine/device.h"
#include "io/atomic_file.h"
#include "io/error.h"
#include "io/n4.h"
#include "io/sampler.h"
#include "kernels/check.h"
#include "kernels/cuda_api.h"
#include "model/trainer.h"
#include "tools/common/brain_mask.h"
#include "tools/common/checkpoint.h"
#include "tools/common/progress.h"
#include "tools/train/site_codes.h"

namespace fs = std::filesystem;

namespace im::tools {

namespace {

model::TrainBatch to_device(const io::Batch& b, Device dev, int n_bio) {
  model::TrainBatch t;
  Shape s{b.B, 1, b.H, b.W};
  t.s1 = Tensor::from_vector(b.s1, s, dev);
  t.s2 = Tensor::from_vector(b.s2, s, dev);
  if (!b.s1_anatomy.empty()) t.s1a = Tensor::from_vector(b.s1_anatomy, s, dev);
  std::vector<float> site(b.site.begin(), b.site.end());
  t.site = Tensor::from_vector(site, {b.B}, dev);
  if (n_bio > 0) t.bio = Tensor::from_vector(b.covariates, {b.B, n_bio}, dev);
  return t;
}

// The cosine schedule's learning rate for step `step` (0-based), a function of the step alone so
// that a resumed run continues it exactly.
float scheduled_lr(const model::TrainConfig& tc, int64_t step) {
  if (step < tc.warmup) return tc.lr * static_cast<float>(step + 1) / static_cast<float>(tc.warmup);
  const double span = static_cast<double>(std::max<int64_t>(tc.steps - tc.warmup, 1));
  const double t = std::min(1.0, static_cast<double>(step - tc.warmup) / span);
  const double f = tc.lr_final + (1.0 - tc.lr_final) * 0.5 * (1.0 + std::cos(M_PI * t));
  return static_cast<float>(tc.lr * f);
}

void append_line(const fs::path& file, const nlohmann::json& j) {
  std::ofstream out(file, std::ios::app);
  out << j.dump() << "\n";
}

nlohmann::json losses_json(const model::LossValues& v) {
  return {{"discriminator", v.discriminator}, {"site", v.site}, {"adversarial", v.adversarial},
          {"confusion", v.confusion},         {"biological", v.biological}, {"l1", v.l1},
          {"kl", v.kl},                       {"ssim", v.ssim},             {"invariance", v.invariance},
          {"generator", v.generator}};
}

// One training run; run() calls the steps in order. The state a step leaves for the next ones is
// held here, named, rather than in the locals of one long function.
class TrainingRun {
 public:
  explicit TrainingRun(const TrainRunOptions& o)
      : o_(o), run_(o.out_dir), last_path_(run_ / "last.safetensors"), best_path_(run_ / "best.safetensors"),
        model_path_(run_ / "model.safetensors"), log_path_(run_ / "log.jsonl") {}

  int run() {
    configure();
    load_data();
    build_model();
    start_loop();
    while (trainer_->step_count() < tc_.steps) {
      if (o_.interrupted && *o_.interrupted) return save_interrupted();
      const model::StepLosses losses = train_step();
      const int64_t step = trainer_->step_count();
      const bool log_now = step % tc_.log_every == 0 || step == tc_.steps;
      const bool ckpt_now = step % tc_.checkpoint_every == 0 || step == tc_.steps;
      if ((log_now || ckpt_now) && !log_losses(step, losses, ckpt_now)) return 3;
      if (val_sampler_ && (step % tc_.validate_every == 0 || step == tc_.steps) && !validate(step)) break;
    }
    return finish();
  }

 private:
  // ---- setup: the configuration (the resumed run's, or the options'), threads and device.
  void configure() {
    mc_ = o_.setup.model;
    tc_ = o_.setup.train;
    if (o_.resume) {
      if (!fs::exists(last_path_)) io::fail(last_path_.string(), "--resume: no checkpoint to resume in this run folder");
      resumed_ = read_checkpoint_info(last_path_.string());
      mc_ = resumed_.model;
      std::vector<FieldChange> changed;
      tc_ = resumed_train_config(resumed_.model, resumed_.train, o_.overrides, &changed);
      tc_.steps = std::max(tc_.steps, resumed_.step);
      // Another recipe from here on (any change but the length, the machine and the logging): the
      // best checkpoint is chosen among its own validations (the loss weights or augmentation
      // changed what a lower validation L1 costs elsewhere).
      static const std::set<std::string> kNotRecipe = {"steps", "threads", "device", "log_every", "checkpoint_every"};
      for (const FieldChange& c : changed) {
        std::fprintf(stderr, "imunity-train: resumed with %s %s\n", c.field.c_str(), c.values.c_str());
        recipe_changed_ = recipe_changed_ || !kNotRecipe.count(c.field);
      }
      if (recipe_changed_) std::fprintf(stderr, "imunity-train: the recipe changed: the best checkpoint is chosen among the validations from here on\n");
    } else if (fs::exists(last_path_) || fs::exists(model_path_)) {
      io::fail(o_.out_dir, "already holds a training run: use --resume to continue it, or choose another --out");
    }
    if (tc_.threads > 0) set_num_threads(tc_.threads);
    dev_ = parse_device(tc_.device);
    std::fprintf(stderr, "imunity-train: device %s%s, %d CPU threads\n", device_name(dev_),
                 dev_ == Device::CUDA ? (" (" + cuda::device_description() + ")").c_str() : "", num_threads());
  }

  // ---- data: the manifest's rows as sampler items (site index, mask, covariates), the validation
  // split, and the two slice samplers.
  void load_data() {
    Manifest manifest = read_manifest(o_.manifest);
    sites_ = o_.resume ? mc_.site_names : manifest.sites();
    if (!o_.resume) {
      resolve_bio_features(mc_, manifest);
      mc_.site_names = sites_;
      mc_.n_sites = static_cast<int>(sites_.size());
    }
    mc_.validate();
    std::vector<io::SamplerItem> items;
    for (const ManifestRow& r : manifest.rows) {
      io::SamplerItem it;
      it.path = r.path;
      if (!r.mask.empty()) it.mask = {io::MaskSpec::Kind::file, r.mask};
      else if (!r.labels.empty()) it.mask = {io::MaskSpec::Kind::labels, r.labels};
      else if (o_.brain_mask == "net") it.mask = {io::MaskSpec::Kind::net, ""};
      auto s = std::find(sites_.begin(), sites_.end(), r.site);
      if (s == sites_.end()) io::fail(o_.manifest, "line " + std::to_string(r.line) + ": site \"" + r.site + "\" is not a site of the resumed model");
      it.site = static_cast<int>(s - sites_.begin());
      it.covariates = covariates_of(mc_, r, o_.manifest);
      items.push_back(it);
    }
    io::Split split = io::split_validation(items, tc_.val_fraction, tc_.seed);
    io::SamplerOptions so;
    so.prep.voxel_size = tc_.voxel_size;
    so.prep.norm.method = io::parse_norm(tc_.norm);
    so.prep.n4 = tc_.n4;
    if (tc_.n4 && !io::n4_available())
      throw io::Error("train.n4: N4 bias-field correction is unavailable in this build (built without ITK)");
    so.height = mc_.image_h;
    so.width = mc_.image_w;
    so.batch_size = tc_.batch;
    so.seed = tc_.seed;
    so.first_batch = o_.resume ? resumed_.step : 0;
    so.anatomy_augment = tc_.anatomy_augment;
    so.augment.site_match = tc_.anatomy_site_match;
    so.mask_loader = load_any_mask;
    if (o_.brain_mask == "net")  // a missing or bad weight file stops here, once, not per volume
      std::fprintf(stderr, "imunity-train: brain masks by the network %s for rows without mask or labels\n",
                   default_brain_mask_model().path.c_str());
    std::fprintf(stderr, "imunity-train: preparing %zu training and %zu validation volumes from %zu sites\n",
                 split.train.size(), split.validation.size(), sites_.size());
    auto t_load = std::chrono::steady_clock::now();
    sampler_ = std::make_unique<io::SliceSampler>(split.train, so);
    if (!split.validation.empty()) {
      io::SamplerOptions vo = so;
      vo.seed = tc_.seed ^ 0xa11da7e5ull;
      vo.workers = 0;
      vo.first_batch = 0;
      vo.anatomy_augment = false;  // validation measures the reconstruction of slices as acquired
      val_sampler_ = std::make_unique<io::SliceSampler>(split.validation, vo);
    }
    std::fprintf(stderr, "imunity-train: data ready in %.1fs\n",
                 std::chrono::duration<double>(std::chrono::steady_clock::now() - t_load).count());
  }

  // ---- model: a fresh one or the resumed checkpoint (with the trainer's step, RNG and learning
  // rate); the run folder and its config.json.
  void build_model() {
    if (o_.resume) {
      m_ = load_checkpoint(last_path_.string(), dev_, &info_, true);
    } else if (!o_.init_from.empty()) {
      // Built and filled on the CPU, then moved (as a checkpoint is loaded).
      m_ = std::make_unique<model::ImUnity>(mc_, Device::CPU, tc_.seed);
      const std::vector<std::string> fresh = init_from_checkpoint(o_.init_from, *m_);
      m_->to(dev_);
      info_.model = mc_;
      info_.extra["init_from"] = o_.init_from;
      std::string names;
      for (const std::string& n : fresh) names += (names.empty() ? "" : ", ") + n;
      std::fprintf(stderr, "imunity-train: started from %s; initialized afresh: %s\n", o_.init_from.c_str(),
                   fresh.empty() ? "nothing" : names.c_str());
    } else {
      m_ = std::make_unique<model::ImUnity>(mc_, dev_, tc_.seed);
      info_.model = mc_;
    }
    info_.train = tc_;
    info_.extra["brain_mask"] = o_.brain_mask;  // how rows without mask or labels were masked
    trainer_ = std::make_unique<model::Trainer>(*m_, tc_);
    if (o_.resume) {
      trainer_->set_step_count(info_.step);
      trainer_->rng() = Generator(info_.rng_seed, info_.rng_offset);
      trainer_->set_lr(info_.lr);
    }
    fs::create_directories(run_);
    {
      nlohmann::json eff = {{"model", mc_}, {"train", tc_}};
      io::write_file_atomic((run_ / "config.json").string(), eff.dump(2).data(), eff.dump(2).size(), true);
    }
    std::fprintf(stderr, "imunity-train: %lld parameters; %lld steps of %d slice pairs; preset %s\n",
                 static_cast<long long>(m_->parameter_count()), static_cast<long long>(tc_.steps), tc_.batch, tc_.preset.c_str());
  }

  // ---- checkpoint: the model with the trainer's state (and the Adam moments when with_opt).
  void save(const fs::path& p, bool with_opt) {
    info_.step = trainer_->step_count();
    info_.rng_seed = trainer_->rng().seed;
    info_.rng_offset = trainer_->rng().offset;
    info_.lr = trainer_->lr();
    for (ParamGroup* g : {&m_->generator, &m_->discriminator, &m_->site_head}) info_.adam_steps[g->name()] = g->adam_step;
    save_checkpoint(p.string(), *m_, info_, with_opt);
  }

  // ---- loop: where a resumed run left its validation history; the progress line and clocks.
  void start_loop() {
    best_ = recipe_changed_ ? 1e30 : info_.extra.value("best_val_l1", 1e30);
    flat_ = recipe_changed_ ? 0 : info_.extra.value("flat_validations", 0);
    progress_ = std::make_unique<Progress>(tc_.steps, "train", !o_.quiet, trainer_->step_count());
    t0_ = std::chrono::steady_clock::now();
    first_ = trainer_->step_count();
    done_since_ = 0;
  }

  int save_interrupted() {
    std::fprintf(stderr, "\nimunity-train: interrupted at step %lld: saving %s\n",
                 static_cast<long long>(trainer_->step_count()), last_path_.string().c_str());
    save(last_path_, true);
    return 130;
  }

  // ---- loop step: the next batch, the scheduled learning rate, one step of all three updates.
  model::StepLosses train_step() {
    io::Batch b = sampler_->next();
    if (tc_.lr_schedule == "cosine") trainer_->set_lr(scheduled_lr(tc_, trainer_->step_count()));
    model::StepLosses losses = trainer_->step(to_device(b, dev_, static_cast<int>(mc_.bio.size())));
    ++done_since_;
    return losses;
  }

  // ---- logging: the losses into log.jsonl and the progress line, then the last checkpoint when
  // due. False (nothing saved) when a loss is NaN or Inf: the run stops with the last good checkpoint.
  bool log_losses(int64_t step, const model::StepLosses& losses, bool checkpoint_now) {
    model::LossValues v = model::read(losses);  // synchronizes: only every log_every steps
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count();
    double sps = static_cast<double>(done_since_ * tc_.batch) / std::max(secs, 1e-9);
    if (!v.finite()) {
      std::fprintf(stderr, "\nimunity-train: a loss became NaN or Inf at step %lld (%s): training stopped; %s\n",
                   static_cast<long long>(step), losses_json(v).dump().c_str(),
                   fs::exists(last_path_) ? ("the last good checkpoint is " + last_path_.string() + " (step " +
                                             std::to_string(read_checkpoint_info(last_path_.string()).step) + ")").c_str()
                                          : "no checkpoint had been saved yet: lower the learning rate or check the data");
      append_line(log_path_, {{"step", step}, {"error", "non-finite loss"}, {"losses", losses_json(v)}});
      return false;
    }
    append_line(log_path_, {{"step", step}, {"losses", losses_json(v)}, {"lr", trainer_->lr()}, {"slices_per_s", sps}});
    char status[160];
    std::snprintf(status, sizeof status, "L1 %.4f D %.3f site %.3f conf %.3f | %.1f slices/s", v.l1, v.discriminator,
                  v.site, v.confusion, sps);
    progress_->update(step, status);
    if (checkpoint_now) save(last_path_, true);
    return true;
  }

  // ---- validation: figures averaged over the validation batches, logged; a new best saves the
  // best checkpoint (with fresh site codes), a plateau may lower the learning rate. False when
  // early stopping ends the run.
  bool validate(int64_t step) {
    const model::ValidationFigures acc = validation_figures();
    const double snr = acc.code_between_var / std::max(acc.code_posterior_var, 1e-30);
    append_line(log_path_, {{"step", step}, {"validation", {{"l1", acc.l1}, {"ssim", acc.ssim},
                                                            {"site_accuracy", acc.site_accuracy},
                                                            {"chance", 1.0 / mc_.n_sites},
                                                            {"kl_per_slice", acc.kl_per_slice},
                                                            {"code_snr", snr},
                                                            {"grad_ratio_ssim_l1", acc.grad_ssim / std::max(acc.grad_l1, 1e-30)}}}});
    if (acc.l1 < best_) {
      best_ = acc.l1;
      flat_ = 0;
      info_.extra["best_val_l1"] = best_;
      info_.extra["best_step"] = step;
      info_.extra["best_validation"] = {{"l1", acc.l1}, {"ssim", acc.ssim}, {"site_accuracy", acc.site_accuracy}};
      compute_site_codes(*m_, *sampler_, sites_, info_, tc_.code_slices);
      save(best_path_, false);
    } else if (++flat_ % tc_.patience == 0 && tc_.lr_decay < 1.f && tc_.lr_schedule == "plateau") {
      trainer_->set_lr(trainer_->lr() * tc_.lr_decay);
    }
    info_.extra["flat_validations"] = flat_;
    if (tc_.early_stop > 0 && flat_ >= tc_.early_stop) {
      std::fprintf(stderr, "\nimunity-train: no validation improvement in %d validations: stopping early\n", flat_);
      return false;
    }
    return true;
  }

  model::ValidationFigures validation_figures() {
    model::ValidationFigures acc;
    for (int i = 0; i < tc_.validation_batches; ++i) {
      io::Batch vb = val_sampler_->make_batch(i);
      model::ValidationFigures f = trainer_->validate(to_device(vb, dev_, static_cast<int>(mc_.bio.size())));
      acc.l1 += f.l1 / tc_.validation_batches;
      acc.ssim += f.ssim / tc_.validation_batches;
      acc.site_accuracy += f.site_accuracy / tc_.validation_batches;
      acc.kl_per_slice += f.kl_per_slice / tc_.validation_batches;
      acc.code_between_var += f.code_between_var / tc_.validation_batches;
      acc.code_posterior_var += f.code_posterior_var / tc_.validation_batches;
      acc.grad_l1 += f.grad_l1 / tc_.validation_batches;
      acc.grad_ssim += f.grad_ssim / tc_.validation_batches;
    }
    return acc;
  }

  // ---- finish: the final site codes into the last checkpoint; model.safetensors is the best
  // validation checkpoint when there is one, else the last step.
  int finish() {
    double secs = progress_->elapsed_s();
    progress_->finish(std::to_string(trainer_->step_count()) + " steps");
    compute_site_codes(*m_, *sampler_, sites_, info_, tc_.code_slices);
    save(last_path_, true);
    fs::path final_src = fs::exists(best_path_) ? best_path_ : last_path_;
    if (final_src == last_path_) {
      save(model_path_, false);
    } else {
      std::error_code ec;
      fs::copy_file(best_path_, model_path_, fs::copy_options::overwrite_existing, ec);
      if (ec) io::fail(model_path_.string(), "cannot copy the best checkpoint: " + ec.message());
    }
    std::fprintf(stderr, "imunity-train: %s written (%s); %.1f slices/s over the run\n", model_path_.string().c_str(),
                 final_src == best_path_ ? "best validation" : "last step",
                 static_cast<double>((trainer_->step_count() - first_) * tc_.batch) / std::max(secs, 1e-9));
    return 0;
  }

  const TrainRunOptions& o_;
  const fs::path run_, last_path_, best_path_, model_path_, log_path_;
  model::ModelConfig mc_;
  model::TrainConfig tc_;
  CheckpointInfo resumed_;  // the checkpoint's metadata, when resuming
  Device dev_ = Device::CPU;
  std::vector<std::string> sites_;
  std::unique_ptr<io::SliceSampler> sampler_, val_sampler_;
  std::unique_ptr<model::ImUnity> m_;
  CheckpointInfo info_;  // what the next checkpoint records
  std::unique_ptr<model::Trainer> trainer_;
  std::unique_ptr<Progress> progress_;
  std::chrono::steady_clock::time_point t0_;
  int64_t first_ = 0, done_since_ = 0;
  double best_ = 1e30;  // best validation L1 so far
  bool recipe_changed_ = false;  // resumed with other training fields (resumed_train_config)
  int flat_ = 0;        // validations since the best
};

}  // namespace

int run_training(const TrainRunOptions& o) { return TrainingRun(o).run(); }

}  // namespace im::tools
