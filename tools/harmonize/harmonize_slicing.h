// Model-sized windows over a stack of slices: an axial model on axial slices is one window per
// slice; a stack whose slices differ from the model's input size (another orientation, another
// model) is padded (centred) or covered by overlapping windows, each pixel taken from the window
// in which it lies most centrally.
#pragma once
#include <cstdint>
#include <vector>

#include "io/slices.h"

namespace im::tools {

// Windows along one in-plane axis of length `length` for a model side of `size`.
struct AxisWindows {
  std::vector<int64_t> start;  // first position of each window; negative: centred zero padding
  std::vector<int> owner;      // per position: the window whose output it takes
};
AxisWindows plan_axis_windows(int64_t length, int64_t size);

struct Patch {
  int64_t slice = 0;
  int row_window = 0, col_window = 0;
};

class WindowPlan {
 public:
  // `stack` must be unpadded (extract_slices with multiple 1); model input is h x w.
  WindowPlan(const io::SliceStack& stack, int64_t h, int64_t w);
  int64_t windows_per_slice() const { return static_cast<int64_t>(rows_.start.size() * cols_.start.size()); }
  // Every window holding at least one voxel >= threshold (the others pass through the decoder
  // unchanged, so they need not be run).
  std::vector<Patch> foreground_patches(const io::SliceStack& stack, float threshold) const;
  // Windows in which at least `fraction` of the window's pixels are in the mask (a stack of 0/1).
  std::vector<Patch> brain_patches(const io::SliceStack& mask, double fraction) const;
  // Copies a window into `dst` (h * w, zero outside the stack).
  void gather(const io::SliceStack& stack, const Patch& p, float* dst) const;
  // Writes the pixels of a window's output that it owns into `stack`.
  void scatter(const float* src, const Patch& p, io::SliceStack& stack) const;

 private:
  int64_t h_, w_;
  AxisWindows rows_, cols_;
};

// The patches of every k-th slice, counted from k / 2 (centred), for k >= 1; all of them when
// that would leave none.
std::vector<Patch> every_kth_slice(const std::vector<Patch>& patches, int64_t k);
// Whether slice s is one of those (the same rule).
inline bool is_kth_slice(int64_t s, int64_t k) { return k <= 1 || s % k == k / 2; }

}  // namespace im::tools
