// Per-site contrast codes and noise levels of a trained model, for its checkpoint.
#include "tools/train/site_codes.h"

#include <map>

#include "io/denoise.h"
#include "io/intensity_map.h"
#include "model/inference.h"

namespace im::tools {

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
    const Tensor mu = model::contrast_codes(m, Tensor::from_vector(b.s1, {b.B, 1, b.H, b.W}, dev));
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
  // Each site's noise level on the model's grid (io::estimate_noise over its slices: the target of
  // the detail stage's noise harmonization) and its brain intensities (io::kBrainQuantileLevels
  // quantiles of the brain voxels: the target of its histogram-matching part), both from the
  // slices of 64 batches.
  std::vector<std::vector<float>> slices(sites.size());
  std::vector<std::vector<uint8_t>> masks(sites.size());
  for (int64_t bi = 0; bi < 64; ++bi) {
    io::Batch b = sampler.make_batch(2000000 + bi);
    const int64_t hw = static_cast<int64_t>(b.H) * b.W;
    for (int i = 0; i < b.B; ++i) {
      const size_t s = static_cast<size_t>(b.site[i]);
      if (s >= sites.size()) continue;
      slices[s].insert(slices[s].end(), b.s1.begin() + i * hw, b.s1.begin() + (i + 1) * hw);
      for (int64_t k = 0; k < hw; ++k) masks[s].push_back(b.mask1[static_cast<size_t>(i * hw + k)] > 0.5f);
    }
  }
  nlohmann::json noise = nlohmann::json::object(), quant = nlohmann::json::object();
  for (size_t s = 0; s < sites.size(); ++s) {
    if (slices[s].empty()) continue;
    noise[sites[s]] = io::estimate_noise_slices(slices[s], masks[s], static_cast<int64_t>(masks[s].size()) / (sampler.height() * sampler.width()),
                                                sampler.height(), sampler.width());
    std::vector<float> values;
    for (size_t k = 0; k < slices[s].size(); ++k)
      if (masks[s][k] && slices[s][k] > 0.f) values.push_back(slices[s][k]);
    if (values.empty()) continue;
    std::vector<double> q = io::quantiles(std::move(values), io::kBrainQuantileLevels);
    for (double& v : q) v = static_cast<float>(v);  // float precision: a shorter header
    quant[sites[s]] = q;
  }
  info.extra["site_noise"] = noise;
  info.extra["site_quantiles"] = quant;
  info.site_codes.clear();
  for (size_t s = 0; s < sites.size(); ++s) {
    int k = static_cast<int>(s);
    if (!count[k]) continue;
    std::vector<float> code(sum[k].size());
    for (size_t i = 0; i < code.size(); ++i) code[i] = static_cast<float>(sum[k][i] / count[k]);
    info.site_codes[sites[s]] = code;
  }
}

}  // namespace im::tools
