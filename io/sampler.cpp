// SliceSampler: parallel preload, deterministic batch construction, background prefetch.
#include "io/sampler.h"

#include <algorithm>
#include <atomic>
#include <exception>
#include <map>

#include "io/error.h"
#include "io/nifti.h"
#include "io/rng.h"
#include "io/slices.h"

namespace im::io {

SliceSampler::SliceSampler(const std::vector<SamplerItem>& items, const SamplerOptions& options) : opt_(options) {
  if (items.empty()) throw Error("sampler: no volumes given");
  if (opt_.height % 16 || opt_.width % 16 || opt_.height <= 0 || opt_.width <= 0)
    throw Error("sampler: height and width must be positive multiples of 16");
  if (opt_.batch_size < 1) throw Error("sampler: batch size must be at least 1");
  n_cov_ = static_cast<int>(items[0].covariates.size());
  for (const auto& it : items)
    if (static_cast<int>(it.covariates.size()) != n_cov_ || it.site < 0)
      throw Error(it.path + ": every item needs the same number of covariates and a site index >= 0");
  opt_.prep.plane_x = opt_.width;
  opt_.prep.plane_y = opt_.height;

  volumes_.resize(items.size());
  std::atomic<size_t> next{0};
  std::exception_ptr error;
  std::mutex error_mu;
  const auto load = [&] {
    for (size_t i; (i = next++) < items.size();) {
      try {
        const SamplerItem& it = items[i];
        const Volume v = read_volume(it.path);
        const Prepared p = prepare(v, opt_.mask_loader ? opt_.mask_loader(v, it.mask) : load_mask(v, it.mask), opt_.prep,
                                   it.mask.describe());
        Loaded& l = volumes_[i];
        l.site = it.site;
        l.covariates = it.covariates;
        l.z = io::brain_slices(p.mask, p.image.dim, SliceAxis::axial, opt_.min_brain_fraction);
        if (l.z.size() < 2) fail(it.path, "fewer than two axial slices with enough brain voxels");
        const int64_t plane = opt_.height * opt_.width;
        for (int64_t z : l.z) {
          l.slices.insert(l.slices.end(), p.image.data.begin() + z * plane, p.image.data.begin() + (z + 1) * plane);
          l.masks.insert(l.masks.end(), p.mask.begin() + z * plane, p.mask.begin() + (z + 1) * plane);
        }
        if (opt_.anatomy_augment && opt_.augment.site_match > 0) l.quantiles = brain_quantiles(l.slices.data(), l.slices.size());
      } catch (const std::exception& e) {
        std::lock_guard<std::mutex> lock(error_mu);
        const std::string what = e.what();
        const bool named = what.rfind(items[i].path, 0) == 0;
        if (!error) error = std::make_exception_ptr(Error(named ? what : items[i].path + ": " + what));
        next = items.size();  // stop the others early
      }
    }
  };
  int n_threads = opt_.load_threads > 0 ? opt_.load_threads : static_cast<int>(std::thread::hardware_concurrency());
  n_threads = std::clamp(n_threads, 1, static_cast<int>(items.size()));
  std::vector<std::thread> pool;
  for (int t = 1; t < n_threads; ++t) pool.emplace_back(load);
  load();
  for (auto& t : pool) t.join();
  if (error) std::rethrow_exception(error);

  std::map<int, std::vector<int>> by_site;
  for (size_t i = 0; i < volumes_.size(); ++i) by_site[volumes_[i].site].push_back(static_cast<int>(i));
  for (auto& kv : by_site) {
    for (int vi : kv.second) volumes_[static_cast<size_t>(vi)].site_slot = sites_.size();
    sites_.push_back(kv.second);
  }
}

SliceSampler::~SliceSampler() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
}

Batch SliceSampler::make_batch(int64_t index) const {
  Rng rng(mix(opt_.seed, static_cast<uint64_t>(index)));
  Batch b;
  b.index = index;
  b.B = opt_.batch_size, b.H = height(), b.W = width(), b.n_cov = n_cov_;
  const size_t plane = static_cast<size_t>(b.H) * static_cast<size_t>(b.W);
  b.s1.resize(plane * b.B), b.s2.resize(plane * b.B), b.mask1.resize(plane * b.B);
  b.site.resize(b.B), b.covariates.resize(static_cast<size_t>(b.B) * n_cov_);
  b.volume.resize(b.B), b.slice1.resize(b.B), b.slice2.resize(b.B);
  Rng arng(mix(opt_.seed ^ 0xa06e7a11ull, static_cast<uint64_t>(index)));
  if (opt_.anatomy_augment) b.s1_anatomy.resize(plane * b.B);
  for (int s = 0; s < b.B; ++s) {
    int vi;
    if (opt_.balance_sites) {
      const auto& members = sites_[rng.below(sites_.size())];
      vi = members[rng.below(members.size())];
    } else {
      vi = static_cast<int>(rng.below(volumes_.size()));
    }
    const Loaded& l = volumes_[static_cast<size_t>(vi)];
    const size_t n = l.z.size(), a = rng.below(n);
    size_t c = rng.below(n - 1);
    if (c >= a) ++c;  // a different slice, uniformly among the others
    std::copy_n(l.slices.begin() + a * plane, plane, b.s1.begin() + s * plane);
    std::copy_n(l.slices.begin() + c * plane, plane, b.s2.begin() + s * plane);
    std::transform(l.masks.begin() + a * plane, l.masks.begin() + (a + 1) * plane, b.mask1.begin() + s * plane,
                   [](uint8_t m) { return m ? 1.0f : 0.0f; });
    b.site[s] = l.site;
    std::copy(l.covariates.begin(), l.covariates.end(), b.covariates.begin() + s * n_cov_);
    b.volume[s] = vi, b.slice1[s] = static_cast<int>(l.z[a]), b.slice2[s] = static_cast<int>(l.z[c]);
    if (opt_.anatomy_augment) {
      // Neighbours only where the adjacent axial slice is a brain slice too (stored).
      const float* below = a > 0 && l.z[a - 1] == l.z[a] - 1 ? l.slices.data() + (a - 1) * plane : nullptr;
      const float* above = a + 1 < n && l.z[a + 1] == l.z[a] + 1 ? l.slices.data() + (a + 1) * plane : nullptr;
      float* dst = b.s1_anatomy.data() + s * plane;
      std::copy_n(l.slices.begin() + a * plane, plane, dst);
      if (opt_.augment.site_match > 0 && sites_.size() > 1 && arng.uniform() < opt_.augment.site_match) {
        // Another site's contrast: a volume of a different site, drawn uniformly by site.
        size_t slot = arng.below(sites_.size() - 1);
        if (slot >= l.site_slot) ++slot;
        const Loaded& other = volumes_[static_cast<size_t>(sites_[slot][arng.below(sites_[slot].size())])];
        match_intensities(dst, plane, l.quantiles, other.quantiles);
      }
      augment_slice(dst, below, above, b.H, b.W, arng, opt_.augment);
    }
  }
  return b;
}

void SliceSampler::start_workers() {
  for (int t = 0; t < std::max(1, opt_.workers); ++t) threads_.emplace_back([this] { worker(); });
}

void SliceSampler::worker() {
  for (;;) {
    int64_t index;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return stop_ || next_to_make_ < next_to_serve_ + std::max(1, opt_.queue_depth); });
      if (stop_) return;
      index = next_to_make_++;
    }
    Batch b = make_batch(index);
    {
      std::lock_guard<std::mutex> lock(mu_);
      ready_.emplace_back(index, std::move(b));
    }
    cv_.notify_all();
  }
}

Batch SliceSampler::next() {
  std::unique_lock<std::mutex> lock(mu_);
  if (threads_.empty()) {
    next_to_make_ = next_to_serve_ = opt_.first_batch;
    start_workers();
  }
  const int64_t want = next_to_serve_;
  auto found = ready_.end();
  cv_.wait(lock, [&] {
    found = std::find_if(ready_.begin(), ready_.end(), [&](const auto& p) { return p.first == want; });
    return found != ready_.end();
  });
  Batch b = std::move(found->second);
  ready_.erase(found);
  ++next_to_serve_;
  lock.unlock();
  cv_.notify_all();
  return b;
}

Split split_validation(const std::vector<SamplerItem>& items, double fraction, uint64_t seed) {
  std::map<int, std::vector<size_t>> by_site;
  for (size_t i = 0; i < items.size(); ++i) by_site[items[i].site].push_back(i);
  std::vector<bool> held(items.size(), false);
  for (auto& [site, idx] : by_site) {
    Rng rng(mix(seed, static_cast<uint64_t>(site)));
    for (size_t i = idx.size(); i > 1; --i) std::swap(idx[i - 1], idx[rng.below(i)]);  // Fisher-Yates
    size_t k = static_cast<size_t>(std::llround(fraction * static_cast<double>(idx.size())));
    if (fraction > 0 && idx.size() >= 2) k = std::max<size_t>(k, 1);
    k = std::min(k, idx.size());
    for (size_t i = 0; i < k; ++i) held[idx[i]] = true;
  }
  Split s;
  for (size_t i = 0; i < items.size(); ++i) (held[i] ? s.validation : s.train).push_back(items[i]);
  return s;
}

}  // namespace im::io
