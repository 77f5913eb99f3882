// imunity-train's run loop.
#include "tools/common/train_run.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>

#include "engine/autograd.h"
#include "engine/device.h"
#include "io/atomic_file.h"
#include "io/denoise.h"
#include "io/error.h"
#include "io/n4.h"
#include "io/sampler.h"
#include "kernels/check.h"
#include "kernels/cuda_api.h"
#include "model/trainer.h"
#include "tools/common/brain_mask.h"
#include "tools/common/checkpoint.h"
#include "tools/common/progress.h"

namespace fs = std::filesystem;

namespace im::tools {

namespace {

model::TrainBatch to_device(const io::Batch& b, Device dev, int n_bio) {
  model::TrainBatch t;
  Shape s{b.B, 1, b.H, b.W};
  t.s1 = Tensor::from_vector(b.s1, s, dev);
  t.s2 = Tensor::from_vector(b.s2, s, dev);
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
          {"kl", v.kl},                       {"ssim", v.ssim},             {"generator", v.generator}};
}

// Per-site mean contrast codes: the contrast encoder's mean over up to `per_site` brain slices of
// each site's training volumes (slices as acquired: no gamma).
void compute_site_codes(model::ImUnity& m, const io::SliceSampler& sampler, const std::vector<std::string>& sites,
                        CheckpointInfo& info, int per_site) {
  const Device dev = m.device();
  std::map<int, std::vector<double>> sum;
  std::map<int, int> count;
  std::vector<int64_t> shape;
  for (int64_t bi = 0; bi < 1000; ++bi) {
    io::Batch b = sampler.make_batch(1000000 + bi);  // indices far from the training stream
    bool need = false;
    for (size_t s = 0; s < sites.size(); ++s) need = need || count[static_cast<int>(s)] < per_site;
    if (!need) break;
    Tensor x = Tensor::from_vector(b.s1, {b.B, 1, b.H, b.W}, dev);
    Tensor mu;
    {
      NoGrad ng;
      mu = m.encode_contrast(x, nullptr).mu;
    }
    std::vector<float> v = mu.to_vector();
    const int64_t per = mu.numel() / b.B;
    shape = {1, mu.size(1), mu.size(2), mu.size(3)};
    for (int i = 0; i < b.B; ++i) {
      int s = b.site[i];
      if (count[s] >= per_site) continue;
      auto& acc = sum[s];
      acc.resize(static_cast<size_t>(per), 0.0);
      for (int64_t k = 0; k < per; ++k) acc[k] += v[i * per + k];
      ++count[s];
    }
  }
  info.code_shape = shape;
  // Each site's noise level on the model's grid (io::estimate_noise over its slices): the target of
  // the detail stage's noise harmonization.
  nlohmann::json noise = nlohmann::json::object();
  for (size_t s = 0; s < sites.size(); ++s) {
    std::vector<float> slices, n;
    std::vector<uint8_t> masks;
    for (int64_t bi = 0; bi < 64; ++bi) {
      io::Batch b = sampler.make_batch(2000000 + bi);
      const int64_t hw = static_cast<int64_t>(b.H) * b.W;
      for (int i = 0; i < b.B; ++i) {
        if (b.site[i] != static_cast<int>(s)) continue;
        slices.insert(slices.end(), b.s1.begin() + i * hw, b.s1.begin() + (i + 1) * hw);
        for (int64_t k = 0; k < hw; ++k) masks.push_back(b.mask1[static_cast<size_t>(i * hw + k)] > 0.5f);
      }
    }
    if (!slices.empty())
      noise[sites[s]] = io::estimate_noise_slices(slices, masks, static_cast<int64_t>(masks.size()) / (sampler.height() * sampler.width()),
                                                  sampler.height(), sampler.width());
  }
  info.extra["site_noise"] = noise;
  info.site_codes.clear();
  for (size_t s = 0; s < sites.size(); ++s) {
    int k = static_cast<int>(s);
    if (!count[k]) continue;
    std::vector<float> code(sum[k].size());
    for (size_t i = 0; i < code.size(); ++i) code[i] = static_cast<float>(sum[k][i] / count[k]);
    info.site_codes[sites[s]] = code;
  }
}

}  // namespace

int run_training(const TrainRunOptions& o) {
  model::ModelConfig mc = o.setup.model;
  model::TrainConfig tc = o.setup.train;
  const fs::path run(o.out_dir);
  const fs::path last_path = run / "last.safetensors", best_path = run / "best.safetensors",
                 model_path = run / "model.safetensors", log_path = run / "log.jsonl";

  CheckpointInfo resumed;
  if (o.resume) {
    if (!fs::exists(last_path)) io::fail(last_path.string(), "--resume: no checkpoint to resume in this run folder");
    resumed = read_checkpoint_info(last_path.string());
    int64_t want_steps = tc.steps;
    mc = resumed.model;
    tc = resumed.train;
    tc.steps = std::max(want_steps, resumed.step);
  } else if (fs::exists(last_path) || fs::exists(model_path)) {
    io::fail(o.out_dir, "already holds a training run: use --resume to continue it, or choose another --out");
  }
  if (tc.threads > 0) set_num_threads(tc.threads);
  const Device dev = parse_device(tc.device);
  std::fprintf(stderr, "imunity-train: device %s%s, %d CPU threads\n", device_name(dev),
               dev == Device::CUDA ? (" (" + cuda::device_description() + ")").c_str() : "", num_threads());

  // ---- data
  Manifest manifest = read_manifest(o.manifest);
  std::vector<std::string> sites = o.resume ? mc.site_names : manifest.sites();
  if (!o.resume) {
    resolve_bio_features(mc, manifest);
    mc.site_names = sites;
    mc.n_sites = static_cast<int>(sites.size());
  }
  mc.validate();
  std::vector<io::SamplerItem> items;
  for (const ManifestRow& r : manifest.rows) {
    io::SamplerItem it;
    it.path = r.path;
    if (!r.mask.empty()) it.mask = {io::MaskSpec::Kind::file, r.mask};
    else if (!r.labels.empty()) it.mask = {io::MaskSpec::Kind::labels, r.labels};
    else if (o.brain_mask == "net") it.mask = {io::MaskSpec::Kind::net, ""};
    auto s = std::find(sites.begin(), sites.end(), r.site);
    if (s == sites.end()) io::fail(o.manifest, "line " + std::to_string(r.line) + ": site \"" + r.site + "\" is not a site of the resumed model");
    it.site = static_cast<int>(s - sites.begin());
    it.covariates = covariates_of(mc, r, o.manifest);
    items.push_back(it);
  }
  io::Split split = io::split_validation(items, tc.val_fraction, tc.seed);
  io::SamplerOptions so;
  so.prep.voxel_size = tc.voxel_size;
  so.prep.norm.method = io::parse_norm(tc.norm);
  so.prep.n4 = tc.n4;
  if (tc.n4 && !io::n4_available())
    throw io::Error("train.n4: N4 bias-field correction is unavailable in this build (built without ITK)");
  so.height = mc.image_h;
  so.width = mc.image_w;
  so.batch_size = tc.batch;
  so.seed = tc.seed;
  so.first_batch = o.resume ? resumed.step : 0;
  so.mask_loader = load_any_mask;
  if (o.brain_mask == "net")  // a missing or bad weight file stops here, once, not per volume
    std::fprintf(stderr, "imunity-train: brain masks by the network %s for rows without mask or labels\n",
                 default_brain_mask_model().path.c_str());
  std::fprintf(stderr, "imunity-train: preparing %zu training and %zu validation volumes from %zu sites\n",
               split.train.size(), split.validation.size(), sites.size());
  auto t_load = std::chrono::steady_clock::now();
  io::SliceSampler sampler(split.train, so);
  std::unique_ptr<io::SliceSampler> val_sampler;
  if (!split.validation.empty()) {
    io::SamplerOptions vo = so;
    vo.seed = tc.seed ^ 0xa11da7e5ull;
    vo.workers = 0;
    vo.first_batch = 0;
    val_sampler = std::make_unique<io::SliceSampler>(split.validation, vo);
  }
  std::fprintf(stderr, "imunity-train: data ready in %.1fs\n",
               std::chrono::duration<double>(std::chrono::steady_clock::now() - t_load).count());

  // ---- model
  std::unique_ptr<model::ImUnity> m;
  CheckpointInfo info;
  if (o.resume) {
    m = load_checkpoint(last_path.string(), dev, &info, true);
  } else {
    m = std::make_unique<model::ImUnity>(mc, dev, tc.seed);
    info.model = mc;
  }
  info.train = tc;
  info.extra["brain_mask"] = o.brain_mask;  // how rows without mask or labels were masked
  model::Trainer trainer(*m, tc);
  if (o.resume) {
    trainer.set_step_count(info.step);
    trainer.rng() = Generator(info.rng_seed, info.rng_offset);
    trainer.set_lr(info.lr);
  }
  fs::create_directories(run);
  {
    nlohmann::json eff = {{"model", mc}, {"train", tc}};
    io::write_file_atomic((run / "config.json").string(), eff.dump(2).data(), eff.dump(2).size(), true);
  }
  std::fprintf(stderr, "imunity-train: %lld parameters; %lld steps of %d slice pairs; preset %s\n",
               static_cast<long long>(m->parameter_count()), static_cast<long long>(tc.steps), tc.batch, tc.preset.c_str());

  auto save = [&](const fs::path& p, bool with_opt) {
    info.step = trainer.step_count();
    info.rng_seed = trainer.rng().seed;
    info.rng_offset = trainer.rng().offset;
    info.lr = trainer.lr();
    for (ParamGroup* g : {&m->generator, &m->discriminator, &m->site_head}) info.adam_steps[g->name()] = g->adam_step;
    save_checkpoint(p.string(), *m, info, with_opt);
  };

  // ---- loop
  double best = info.extra.value("best_val_l1", 1e30);
  int flat = info.extra.value("flat_validations", 0);
  Progress progress(tc.steps, "train", !o.quiet, trainer.step_count());
  auto t0 = std::chrono::steady_clock::now();
  int64_t first = trainer.step_count(), done_since = 0;
  model::StepLosses last;
  int exit_code = 0;
  while (trainer.step_count() < tc.steps) {
    if (o.interrupted && *o.interrupted) {
      std::fprintf(stderr, "\nimunity-train: interrupted at step %lld: saving %s\n",
                   static_cast<long long>(trainer.step_count()), last_path.string().c_str());
      save(last_path, true);
      return 130;
    }
    io::Batch b = sampler.next();
    if (tc.lr_schedule == "cosine") trainer.set_lr(scheduled_lr(tc, trainer.step_count()));
    last = trainer.step(to_device(b, dev, static_cast<int>(mc.bio.size())));
    ++done_since;
    const int64_t step = trainer.step_count();
    const bool log_now = step % tc.log_every == 0 || step == tc.steps;
    const bool ckpt_now = step % tc.checkpoint_every == 0 || step == tc.steps;
    if (log_now || ckpt_now) {
      model::LossValues v = model::read(last);  // synchronizes: only every log_every steps
      double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      double sps = static_cast<double>(done_since * tc.batch) / std::max(secs, 1e-9);
      if (!v.finite()) {
        std::fprintf(stderr, "\nimunity-train: a loss became NaN or Inf at step %lld (%s): training stopped; %s\n",
                     static_cast<long long>(step), losses_json(v).dump().c_str(),
                     fs::exists(last_path) ? ("the last good checkpoint is " + last_path.string() + " (step " +
                                              std::to_string(read_checkpoint_info(last_path.string()).step) + ")").c_str()
                                           : "no checkpoint had been saved yet: lower the learning rate or check the data");
        append_line(log_path, {{"step", step}, {"error", "non-finite loss"}, {"losses", losses_json(v)}});
        return 3;
      }
      append_line(log_path, {{"step", step}, {"losses", losses_json(v)}, {"lr", trainer.lr()}, {"slices_per_s", sps}});
      char status[160];
      std::snprintf(status, sizeof status, "L1 %.4f D %.3f site %.3f conf %.3f | %.1f slices/s", v.l1, v.discriminator,
                    v.site, v.confusion, sps);
      progress.update(step, status);
      if (ckpt_now) save(last_path, true);
    }
    if (val_sampler && (step % tc.validate_every == 0 || step == tc.steps)) {
      model::ValidationFigures acc;
      for (int i = 0; i < tc.validation_batches; ++i) {
        io::Batch vb = val_sampler->make_batch(i);
        model::ValidationFigures f = trainer.validate(to_device(vb, dev, static_cast<int>(mc.bio.size())));
        acc.l1 += f.l1 / tc.validation_batches;
        acc.ssim += f.ssim / tc.validation_batches;
        acc.site_accuracy += f.site_accuracy / tc.validation_batches;
        acc.kl_per_slice += f.kl_per_slice / tc.validation_batches;
        acc.code_between_var += f.code_between_var / tc.validation_batches;
        acc.code_posterior_var += f.code_posterior_var / tc.validation_batches;
        acc.grad_l1 += f.grad_l1 / tc.validation_batches;
        acc.grad_ssim += f.grad_ssim / tc.validation_batches;
      }
      const double snr = acc.code_between_var / std::max(acc.code_posterior_var, 1e-30);
      append_line(log_path, {{"step", step}, {"validation", {{"l1", acc.l1}, {"ssim", acc.ssim},
                                                             {"site_accuracy", acc.site_accuracy},
                                                             {"chance", 1.0 / mc.n_sites},
                                                             {"kl_per_slice", acc.kl_per_slice},
                                                             {"code_snr", snr},
                                                             {"grad_ratio_ssim_l1", acc.grad_ssim / std::max(acc.grad_l1, 1e-30)}}}});
      if (acc.l1 < best) {
        best = acc.l1;
        flat = 0;
        info.extra["best_val_l1"] = best;
        info.extra["best_step"] = step;
        info.extra["best_validation"] = {{"l1", acc.l1}, {"ssim", acc.ssim}, {"site_accuracy", acc.site_accuracy}};
        compute_site_codes(*m, sampler, sites, info, tc.code_slices);
        save(best_path, false);
      } else if (++flat % tc.patience == 0 && tc.lr_decay < 1.f && tc.lr_schedule == "plateau") {
        trainer.set_lr(trainer.lr() * tc.lr_decay);
      }
      info.extra["flat_validations"] = flat;
      if (tc.early_stop > 0 && flat >= tc.early_stop) {
        std::fprintf(stderr, "\nimunity-train: no validation improvement in %d validations: stopping early\n", flat);
        break;
      }
    }
  }
  (void)first;
  double secs = progress.elapsed_s();
  progress.finish(std::to_string(trainer.step_count()) + " steps");
  compute_site_codes(*m, sampler, sites, info, tc.code_slices);
  save(last_path, true);
  fs::path final_src = fs::exists(best_path) ? best_path : last_path;
  if (final_src == last_path) {
    save(model_path, false);
  } else {
    std::error_code ec;
    fs::copy_file(best_path, model_path, fs::copy_options::overwrite_existing, ec);
    if (ec) io::fail(model_path.string(), "cannot copy the best checkpoint: " + ec.message());
  }
  std::fprintf(stderr, "imunity-train: %s written (%s); %.1f slices/s over the run\n", model_path.string().c_str(),
               final_src == best_path ? "best validation" : "last step",
               static_cast<double>((trainer.step_count() - first) * tc.batch) / std::max(secs, 1e-9));
  return exit_code;
}

}  // namespace im::tools
