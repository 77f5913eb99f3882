// prepare()/unprepare(): input grid <-> canonical, normalized, resampled, padded processed grid.
#include "io/prep.h"

#include <algorithm>

#include "io/error.h"

namespace im::io {
namespace {

void zero_outside(Volume& v, const Mask& m) {
  for (size_t i = 0; i < v.data.size(); ++i)
    if (!m[i]) v.data[i] = 0;
}

// Extent of the mask along x (axis 0) or y (axis 1): first and last index holding a mask voxel.
std::pair<int64_t, int64_t> mask_extent(const Mask& m, const Dims& d, int axis) {
  int64_t lo = d[axis], hi = -1;
  for (int64_t z = 0; z < d[2]; ++z)
    for (int64_t y = 0; y < d[1]; ++y)
      for (int64_t x = 0; x < d[0]; ++x)
        if (m[x + d[0] * (y + d[1] * z)]) {
          const int64_t c = axis == 0 ? x : y;
          lo = std::min(lo, c), hi = std::max(hi, c);
        }
  return {lo, hi};
}

// The pad/crop of the axial plane. A crop window starts centred and slides (never beyond the
// volume) just enough to hold the whole brain; a brain wider than the window is an error.
GridMap plan_plane(const Volume& v, const Mask& m, const PrepOptions& o) {
  const int64_t target[2] = {o.plane_x > 0 ? o.plane_x : round_up(v.dim[0], o.pad_multiple),
                             o.plane_y > 0 ? o.plane_y : round_up(v.dim[1], o.pad_multiple)};
  int64_t shift[2] = {0, 0};
  for (int a = 0; a < 2; ++a) {
    if (target[a] >= v.dim[a]) continue;
    const auto [lo, hi] = mask_extent(m, v.dim, a);
    if (hi < lo) continue;
    if (hi - lo + 1 > target[a])
      throw Error(std::string("the brain spans ") + std::to_string(hi - lo + 1) + " voxels along " + (a ? "y" : "x") +
                  ", more than the " + std::to_string(target[a]) + " of the axial plane size");
    const int64_t start = (v.dim[a] - target[a]) / 2;  // first source index kept by a centred crop
    int64_t s = start;
    if (lo < s) s = lo;
    if (hi > s + target[a] - 1) s = hi - target[a] + 1;
    shift[a] = s - start;
  }
  return plane_pad_map(v.dim, target[0], target[1], shift[0], shift[1]);
}

const char* const kAutoMaskSource = "auto (head/foreground by Otsu + morphology, not skull stripping)";

}  // namespace

std::string MaskSpec::describe() const {
  switch (kind) {
    case Kind::file: return "mask:" + path;
    case Kind::labels: return "labels:" + path;
    case Kind::net: return "net (brain-mask network, imunity-brainmask)";
    default: return kAutoMaskSource;
  }
}

bool is_automatic_mask_source(const std::string& mask_source) { return mask_source == kAutoMaskSource; }

Mask load_mask(const Volume& input, const MaskSpec& spec) {
  switch (spec.kind) {
    case MaskSpec::Kind::file: return read_mask_file(input, spec.path);
    case MaskSpec::Kind::labels: return read_label_mask(input, spec.path);
    case MaskSpec::Kind::net: throw Error("the brain-mask network's mask is made by the tools (tools::load_any_mask), not by io::load_mask");
    default: return auto_mask(input);
  }
}

Prepared prepare(const Volume& input, const Mask& mask, const PrepOptions& o, const std::string& mask_source, Volume* corrected) {
  if (mask.size() != input.data.size()) throw Error("prepare: the mask does not match the volume's grid");
  if (mask_count(mask) == 0) throw Error("prepare: the brain mask is empty");
  Prepared p;
  PrepRecord& r = p.record;
  r.input_dim = input.dim;
  r.input_affine = input.affine;
  r.input_header = input.header;
  r.input_header.extensions.clear();
  r.mask_source = mask_source;
  r.mask_applied = o.apply_mask;

  // N4 on the input's own grid (its field is smooth in world space, so the grid does not matter to
  // it, but the detail output stage maps this corrected volume there).
  Volume n4;
  if (o.n4) {
    n4 = n4_correct(input, mask, o.n4_options, &r.n4_info);
    r.n4 = true;
    r.n4_options = o.n4_options;
  }
  Volume v = to_canonical(o.n4 ? n4 : input, &r.reorientation);
  Mask m = r.reorientation.forward(mask);
  if (corrected) *corrected = o.n4 ? std::move(n4) : input;
  // Normalization is fitted at the input's resolution (more voxels, no interpolation blur).
  r.norm = fit_normalization(v, m, o.norm, is_automatic_mask_source(mask_source));
  apply_normalization(v, r.norm);
  if (o.apply_mask) zero_outside(v, m);  // before resampling, so the skull does not bleed in

  const Vec3 target{o.voxel_size, o.voxel_size, o.voxel_size};
  r.resample = resampling_map(v.dim, v.voxel_size(), target);
  if (!r.resample.is_identity()) {
    if (o.antialias) antialias_for(v, r.resample);
    v = regrid(v, r.resample, Interp::linear);
    m = regrid_mask(m, r.resample);
  }
  r.pad = plan_plane(v, m, o);
  v = regrid(v, r.pad, Interp::nearest);
  m = regrid_mask(m, r.pad);
  if (o.apply_mask) zero_outside(v, m);

  v.header.datatype = dtype::float32;
  v.header.scl_slope = 1, v.header.scl_inter = 0;
  v.header.extensions.clear();
  r.output_dim = v.dim;
  r.output_affine = v.affine;
  r.mask_fraction = mask_fraction(m);
  p.image = std::move(v);
  p.mask = std::move(m);
  return p;
}

Volume unprepare(const Volume& processed, const PrepRecord& r, bool restore_intensity) {
  if (processed.dim != r.output_dim)
    throw Error("unprepare: the volume is " + std::to_string(processed.dim[0]) + "x" + std::to_string(processed.dim[1]) + "x" +
                std::to_string(processed.dim[2]) + ", the record's processed grid is " + std::to_string(r.output_dim[0]) + "x" +
                std::to_string(r.output_dim[1]) + "x" + std::to_string(r.output_dim[2]));
  Volume v = processed;
  v = regrid(v, r.pad.inverse(), Interp::nearest);
  if (!r.resample.is_identity()) v = regrid(v, r.resample.inverse(), Interp::linear);
  v = from_canonical(v, r.reorientation);
  // The geometry is the input's, exactly (not the product of the round trip's float arithmetic).
  v.affine = r.input_affine;
  v.header = r.input_header;
  v.header.datatype = restore_intensity ? r.input_header.datatype : dtype::float32;
  if (restore_intensity) {
    invert_normalization(v, r.norm);
  } else if (r.norm.method != NormMethod::none) {
    v.header.cal_min = v.header.cal_max = 0;  // the input's display window means nothing on [0, 1]
  }
  return v;
}

Mask unprepare_mask(const Mask& processed, const PrepRecord& r) {
  Mask m = regrid_mask(processed, r.pad.inverse());
  if (!r.resample.is_identity()) m = regrid_mask(m, r.resample.inverse());
  return r.reorientation.backward(m);
}

}  // namespace im::io
