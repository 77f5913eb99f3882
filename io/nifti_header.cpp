// NIfTI-1/2 header parsing with validation, and header building for writes. Both versions go
// through nifti_2_header as one wide form. Only libnifti2-specific functions are called here: the
// names shared with libniftiio (nifti_image_read, ...) have a different struct layout there.
#include "io/nifti_header.h"

#include <nifti2_io.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "io/error.h"

namespace im::io::detail {
namespace {

int32_t bswap32(int32_t v) {
  uint32_t u;
  std::memcpy(&u, &v, 4);
  u = __builtin_bswap32(u);
  std::memcpy(&v, &u, 4);
  return v;
}

std::string field_string(const char* s, size_t n) { return std::string(s, strnlen(s, n)); }

nifti_2_header widen(const nifti_1_header& h) {
  nifti_2_header w{};
  w.sizeof_hdr = h.sizeof_hdr;
  std::memcpy(w.magic, h.magic, 4);
  w.datatype = h.datatype;
  w.bitpix = h.bitpix;
  for (int i = 0; i < 8; ++i) w.dim[i] = h.dim[i], w.pixdim[i] = h.pixdim[i];
  w.intent_p1 = h.intent_p1, w.intent_p2 = h.intent_p2, w.intent_p3 = h.intent_p3;
  w.vox_offset = 0;  // checked separately: it is a float in NIfTI-1
  w.scl_slope = h.scl_slope, w.scl_inter = h.scl_inter;
  w.cal_max = h.cal_max, w.cal_min = h.cal_min, w.slice_duration = h.slice_duration, w.toffset = h.toffset;
  w.slice_start = h.slice_start, w.slice_end = h.slice_end;
  std::memcpy(w.descrip, h.descrip, 80);
  std::memcpy(w.aux_file, h.aux_file, 24);
  w.qform_code = h.qform_code, w.sform_code = h.sform_code;
  w.quatern_b = h.quatern_b, w.quatern_c = h.quatern_c, w.quatern_d = h.quatern_d;
  w.qoffset_x = h.qoffset_x, w.qoffset_y = h.qoffset_y, w.qoffset_z = h.qoffset_z;
  for (int i = 0; i < 4; ++i) w.srow_x[i] = h.srow_x[i], w.srow_y[i] = h.srow_y[i], w.srow_z[i] = h.srow_z[i];
  w.slice_code = static_cast<unsigned char>(h.slice_code);
  w.xyzt_units = static_cast<unsigned char>(h.xyzt_units);
  w.intent_code = h.intent_code;
  std::memcpy(w.intent_name, h.intent_name, 16);
  w.dim_info = h.dim_info;
  return w;
}

Mat4 quatern_matrix(double b, double c, double d, double qx, double qy, double qz, const double* pix, double qfac) {
  const nifti_dmat44 q = nifti_quatern_to_dmat44(b, c, d, qx, qy, qz, pix[0], pix[1], pix[2], qfac);
  Mat4 m;
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 4; ++j) m[4 * i + j] = q.m[i][j];
  return m;
}

Mat4 sform_matrix(const double* x, const double* y, const double* z) {
  return {x[0], x[1], x[2], x[3], y[0], y[1], y[2], y[3], z[0], z[1], z[2], z[3], 0, 0, 0, 1};
}

void read_extensions(const uint8_t* p, size_t avail, int64_t hsize, int64_t vox_offset, bool swap,
                     std::vector<NiftiExtension>& out) {
  // Malformed extensions are dropped, not fatal: the voxels are still well defined.
  const size_t end = std::min<size_t>(avail, static_cast<size_t>(vox_offset));
  size_t pos = static_cast<size_t>(hsize) + 4;
  if (avail < pos || p[hsize] == 0) return;
  while (pos + 8 <= end) {
    int32_t esize, ecode;
    std::memcpy(&esize, p + pos, 4);
    std::memcpy(&ecode, p + pos + 4, 4);
    if (swap) esize = bswap32(esize), ecode = bswap32(ecode);
    if (esize < 8 || static_cast<size_t>(esize) > end - pos) break;
    out.push_back({ecode, std::string(reinterpret_cast<const char*>(p + pos + 8), static_cast<size_t>(esize) - 8)});
    pos += static_cast<size_t>(esize);
  }
}

}  // namespace

ParsedHeader parse_header(const uint8_t* p, size_t avail, const std::string& name, const ReadOptions& opt) {
  if (avail == 0) fail(name, "empty file: not a NIfTI file");
  if (avail < 348)
    fail(name, "not a NIfTI file: only " + std::to_string(avail) + " bytes (a NIfTI header has at least 348)");
  int32_t sz;
  std::memcpy(&sz, p, 4);
  int version = 0;
  bool swap = false;
  if (sz == 348 || bswap32(sz) == 348) version = 1, swap = sz != 348;
  if (sz == 540 || bswap32(sz) == 540) version = 2, swap = sz != 540;
  if (version == 0)
    fail(name, "not a NIfTI file (sizeof_hdr is " + std::to_string(sz) + "; NIfTI-1 has 348, NIfTI-2 540)");
  if (version == 2 && avail < 540) fail(name, "NIfTI-2 header cut short (" + std::to_string(avail) + " of 540 bytes)");

  nifti_2_header w{};
  double vox_offset_f = 0;
  if (version == 1) {
    nifti_1_header h;
    std::memcpy(&h, p, sizeof h);
    if (swap) nifti_swap_as_nifti1(&h);
    w = widen(h);
    vox_offset_f = h.vox_offset;
    if (std::memcmp(h.magic, "ni1", 4) == 0) fail(name, "two-file NIfTI (.hdr/.img pair) is not supported: convert it to .nii");
    if (std::memcmp(h.magic, "n+1", 4) != 0) fail(name, "bad NIfTI-1 magic (expected \"n+1\")");
  } else {
    std::memcpy(&w, p, sizeof w);
    if (swap) nifti_swap_as_nifti2(&w);
    vox_offset_f = static_cast<double>(w.vox_offset);
    if (std::memcmp(w.magic, "ni2", 4) == 0) fail(name, "two-file NIfTI-2 (.hdr/.img pair) is not supported: convert it to .nii");
    if (std::memcmp(w.magic, "n+2", 4) != 0) fail(name, "bad NIfTI-2 magic (expected \"n+2\")");
  }
  const int64_t hsize = version == 1 ? 348 : 540;

  ParsedHeader r;
  r.swap = swap;
  // Dimensions.
  const int64_t ndim = w.dim[0];
  if (ndim < 1 || ndim > 7) fail(name, "bad dim[0] = " + std::to_string(ndim) + " (must be 1 to 7)");
  int64_t d[8] = {ndim, 1, 1, 1, 1, 1, 1, 1};
  for (int i = 1; i <= ndim; ++i) {
    if (w.dim[i] < 1)
      fail(name, (w.dim[i] == 0 ? "zero dimension: dim[" : "negative dimension: dim[") + std::to_string(i) +
                     "] = " + std::to_string(w.dim[i]));
    d[i] = w.dim[i];
  }
  const double nvox = static_cast<double>(d[1]) * static_cast<double>(d[2]) * static_cast<double>(d[3]);
  if (nvox > static_cast<double>(opt.max_voxels) || d[1] > (1 << 24) || d[2] > (1 << 24) || d[3] > (1 << 24))
    fail(name, "absurd dimensions " + std::to_string(d[1]) + "x" + std::to_string(d[2]) + "x" + std::to_string(d[3]) +
                   " (more than " + std::to_string(opt.max_voxels) + " voxels)");
  for (int i = 5; i <= 7; ++i)
    if (d[i] > 1) fail(name, std::to_string(ndim) + "-D data (dim[" + std::to_string(i) + "] = " + std::to_string(d[i]) + "): only 3-D and 4-D files are supported");
  r.dim = {d[1], d[2], d[3]};
  r.nvol = d[4];
  if (r.nvol > 1 && opt.volume < 0)
    fail(name, "4-D file with " + std::to_string(r.nvol) +
                   " volumes: choose one with --volume N (0-based) of imunity-prep or imunity-harmonize");
  if (opt.volume >= r.nvol)
    fail(name, "volume index " + std::to_string(opt.volume) + " out of range (the file has " + std::to_string(r.nvol) + " volume(s))");
  if (static_cast<double>(r.nvol) * nvox > 64.0 * static_cast<double>(opt.max_voxels))
    fail(name, "absurd number of volumes (" + std::to_string(r.nvol) + ")");

  // Datatype and where the voxels are.
  r.datatype = w.datatype;
  if (dtype_size(r.datatype) == 0)
    fail(name, "unsupported datatype code " + std::to_string(r.datatype) +
                   " (supported: uint8, int8, int16, uint16, int32, uint32, int64, uint64, float32, float64)");
  if (!std::isfinite(vox_offset_f) || vox_offset_f != std::floor(vox_offset_f))
    fail(name, "wrong vox_offset " + std::to_string(vox_offset_f) + " (not a whole byte offset)");
  if (vox_offset_f > 1e12) fail(name, "wrong vox_offset " + std::to_string(vox_offset_f) + " (past any plausible file end)");
  r.vox_offset = static_cast<int64_t>(vox_offset_f);
  if (r.vox_offset < hsize + 4)
    fail(name, "wrong vox_offset " + std::to_string(r.vox_offset) + ": the voxel data would start inside the header (minimum " +
                   std::to_string(hsize + 4) + ")");

  // Scaling: a zero or non-finite slope means "none" (as in the NIfTI standard and nibabel).
  if (w.scl_slope != 0 && std::isfinite(w.scl_slope)) {
    r.slope = w.scl_slope;
    r.inter = std::isfinite(w.scl_inter) ? w.scl_inter : 0;
  }

  // Geometry: sform if sform_code > 0, else qform if qform_code > 0, else pixdim scaling (NIfTI method 1).
  NiftiHeaderInfo& info = r.info;
  const double qfac = w.pixdim[0] < 0 ? -1 : 1;
  double zoom[3];
  for (int a = 0; a < 3; ++a) {
    const double p = w.pixdim[a + 1];
    // The qform and the no-transform fallback take the voxel size from pixdim: without one, every
    // distance (resampling, masks on other grids) would be a guess.
    if (w.sform_code <= 0 && !(std::isfinite(p) && p > 0))
      fail(name, "pixdim[" + std::to_string(a + 1) + "] = " + std::to_string(p) + ": no voxel size, and the " +
                     (w.qform_code > 0 ? "qform" : "header (qform_code and sform_code are 0)") +
                     " takes it from pixdim; fix the header (e.g. nibabel's set_zooms)");
    zoom[a] = std::isfinite(p) && p > 0 ? p : 1;  // an sform gives the geometry; the unused qform gets 1
  }
  info.qform = quatern_matrix(w.quatern_b, w.quatern_c, w.quatern_d, w.qoffset_x, w.qoffset_y, w.qoffset_z, zoom, qfac);
  info.sform = sform_matrix(w.srow_x, w.srow_y, w.srow_z);
  info.qform_code = std::max<int>(0, w.qform_code);
  info.sform_code = std::max<int>(0, w.sform_code);
  const char* source = "sform";
  if (w.sform_code > 0) {
    r.affine = info.sform;
  } else if (w.qform_code > 0) {
    r.affine = info.qform, source = "qform";
  } else {
    r.affine = identity4(), source = "pixdim (qform_code and sform_code are 0)";
    for (int a = 0; a < 3; ++a) r.affine[5 * a] = zoom[a];
  }
  if (!all_finite(r.affine)) fail(name, std::string("the voxel-to-world affine from the ") + source + " is not finite");
  if (is_singular(r.affine)) fail(name, std::string("singular voxel-to-world affine from the ") + source);
  // A broken transform that is not the one used is dropped rather than written back.
  if (info.qform_code > 0 && w.sform_code > 0 && is_singular(info.qform)) info.qform_code = 0;
  if (info.qform_code <= 0) info.qform = r.affine;
  if (info.sform_code <= 0) info.sform = r.affine;

  info.version = version;
  info.datatype = r.datatype;
  for (int i = 0; i < 8; ++i) info.pixdim[i] = w.pixdim[i];
  info.xyzt_units = w.xyzt_units;
  info.intent_code = w.intent_code;
  info.intent_p[0] = w.intent_p1, info.intent_p[1] = w.intent_p2, info.intent_p[2] = w.intent_p3;
  info.intent_name = field_string(w.intent_name, 16);
  info.descrip = field_string(w.descrip, 80);
  info.aux_file = field_string(w.aux_file, 24);
  info.dim_info = static_cast<unsigned char>(w.dim_info);
  info.slice_code = w.slice_code;
  info.slice_start = w.slice_start, info.slice_end = w.slice_end;
  info.slice_duration = w.slice_duration, info.toffset = w.toffset;
  info.cal_min = w.cal_min, info.cal_max = w.cal_max;
  info.scl_slope = w.scl_slope, info.scl_inter = w.scl_inter;
  info.raw.valid = true;
  info.raw.dim = r.dim;
  info.raw.quatern[0] = w.quatern_b, info.raw.quatern[1] = w.quatern_c, info.raw.quatern[2] = w.quatern_d;
  info.raw.qoffset[0] = w.qoffset_x, info.raw.qoffset[1] = w.qoffset_y, info.raw.qoffset[2] = w.qoffset_z;
  info.raw.qfac = w.pixdim[0];
  for (int a = 0; a < 3; ++a) info.raw.pixdim[a] = w.pixdim[a + 1];
  info.raw.qform = info.qform;
  info.raw.sform = info.sform;
  read_extensions(p, avail, hsize, r.vox_offset, swap, info.extensions);
  return r;
}

}  // namespace im::io::detail

namespace im::io {

std::string orientation_warning(const NiftiHeaderInfo& h) {
  if (h.qform_code > 0 || h.sform_code > 0) return "";
  return "qform_code and sform_code are 0: the file gives no orientation; its voxel axes were taken as right, anterior, "
         "superior with the pixdim voxel sizes (NIfTI method 1), so the orientation used (and the axial slices) may be wrong";
}

}  // namespace im::io
