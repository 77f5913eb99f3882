// Training slice sampler: preloads and prepares every volume once, then serves batches of pairs of
// different brain slices of one volume, prefetched by background threads, reproducible for a seed.
#pragma once
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "io/augment.h"
#include "io/prep.h"

namespace im::io {

struct SamplerItem {
  std::string path;
  MaskSpec mask;                // automatic, mask file or label map
  int site = 0;                 // site (scanner) index, 0-based
  std::vector<float> covariates;  // biological features (age, sex, ...), same count for every item
};

struct SamplerOptions {
  PrepOptions prep;             // its plane_x/plane_y are overridden by height/width below
  int64_t height = 128, width = 128;  // common axial plane of every slice (multiples of 16)
  int batch_size = 16;
  uint64_t seed = 0;
  bool balance_sites = true;    // pick a site uniformly, then one of its volumes; false: volumes uniformly
  double min_brain_fraction = 0.01;  // a slice qualifies with at least this fraction of brain voxels
  int load_threads = 0;         // threads preparing volumes (0: all cores)
  int workers = 2;              // background threads making batches
  int queue_depth = 8;          // batches made ahead of the trainer
  int64_t first_batch = 0;      // index of the first batch next() serves (a resumed run starts at its step)
  // Also serve s1 through augment_slice as the anatomy encoder's input (Batch::s1_anatomy), drawn
  // from its own generator: the batches' slices are the same with or without it.
  bool anatomy_augment = false;
  AugmentOptions augment;
  // Makes each item's brain mask; empty: io::load_mask. The tools pass one that also runs the
  // brain-mask network (MaskSpec kind net), which the data path cannot.
  std::function<Mask(const Volume&, const MaskSpec&)> mask_loader;
};

// B pairs of H x W slices, [B][H][W] row-major (rows y, columns x of the canonical axial slice).
// No joint min-max normalization of a pair is done: prep already put every volume on [0, 1] with
// its WM peak at 0.7, which is what that normalization was for.
struct Batch {
  int64_t index = 0;
  int B = 0, H = 0, W = 0, n_cov = 0;
  std::vector<float> s1, s2;     // two different brain slices of the same volume
  std::vector<float> mask1;      // brain mask of s1 (0/1)
  std::vector<float> s1_anatomy;  // s1 augmented (SamplerOptions::anatomy_augment), else empty
  std::vector<int> site;         // [B]
  std::vector<float> covariates;  // [B][n_cov]
  std::vector<int> volume, slice1, slice2;  // provenance: item index and axial slice indices
};

class SliceSampler {
 public:
  // Reads and prepares every item (in parallel); throws Error naming the item that failed, or when
  // a volume does not fit height x width or has fewer than two brain slices.
  SliceSampler(const std::vector<SamplerItem>& items, const SamplerOptions& options);
  ~SliceSampler();
  SliceSampler(const SliceSampler&) = delete;
  SliceSampler& operator=(const SliceSampler&) = delete;

  // Batches 0, 1, 2, ... in order. Made ahead by background workers; each batch's randomness comes
  // from (seed, batch index) only, so the sequence does not depend on thread timing or count.
  Batch next();
  // Batch `index`, computed now (what next() returns for that index).
  Batch make_batch(int64_t index) const;

  int height() const { return static_cast<int>(opt_.height); }
  int width() const { return static_cast<int>(opt_.width); }
  size_t volume_count() const { return volumes_.size(); }
  int site_count() const { return static_cast<int>(sites_.size()); }
  const std::vector<int64_t>& brain_slices(size_t volume) const { return volumes_[volume].z; }

 private:
  struct Loaded {
    std::vector<float> slices;   // brain slices only: [z.size()][H][W]
    std::vector<uint8_t> masks;  // same layout
    std::vector<int64_t> z;      // their axial indices
    std::vector<double> quantiles;  // of its brain intensities (AugmentOptions::site_match), else empty
    int site = 0;
    size_t site_slot = 0;        // its site's index in sites_
    std::vector<float> covariates;
  };
  void start_workers();
  void worker();

  SamplerOptions opt_;
  int n_cov_ = 0;
  std::vector<Loaded> volumes_;
  std::vector<std::vector<int>> sites_;  // volume indices of each site present

  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::thread> threads_;
  std::deque<std::pair<int64_t, Batch>> ready_;  // finished batches, any order
  int64_t next_to_make_ = 0, next_to_serve_ = 0;
  bool stop_ = false;
};

struct Split {
  std::vector<SamplerItem> train, validation;
};
// Deterministic held-out split, stratified by site: round(fraction * n) items of each site (at
// least one when the site has two or more and fraction > 0) go to validation; order is kept.
Split split_validation(const std::vector<SamplerItem>& items, double fraction, uint64_t seed);

}  // namespace im::io
