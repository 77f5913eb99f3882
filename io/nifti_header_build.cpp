// Building NIfTI-1/2 header bytes for a write, keeping the input's fields and, on an unchanged grid,
// its exact quaternion parameters and extensions.
#include <nifti2_io.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "io/error.h"
#include "io/nifti_header.h"

namespace im::io::detail {
namespace {

void put_string(char* dst, size_t n, const std::string& s) {
  std::memset(dst, 0, n);
  std::memcpy(dst, s.data(), std::min(n - 1, s.size()));
}

double tolerance(const Mat4& m) {
  double big = 0;
  for (double v : m) big = std::max(big, std::fabs(v));
  return 1e-7 * (1 + big);
}

nifti_1_header narrow(const nifti_2_header& w) {
  nifti_1_header h{};
  h.sizeof_hdr = 348;
  h.regular = 'r';
  h.dim_info = w.dim_info;
  for (int i = 0; i < 8; ++i) h.dim[i] = static_cast<short>(w.dim[i]), h.pixdim[i] = static_cast<float>(w.pixdim[i]);
  h.intent_p1 = static_cast<float>(w.intent_p1), h.intent_p2 = static_cast<float>(w.intent_p2);
  h.intent_p3 = static_cast<float>(w.intent_p3);
  h.intent_code = static_cast<short>(w.intent_code);
  h.datatype = w.datatype;
  h.bitpix = w.bitpix;
  h.slice_start = static_cast<short>(std::clamp<int64_t>(w.slice_start, -32768, 32767));
  h.slice_end = static_cast<short>(std::clamp<int64_t>(w.slice_end, -32768, 32767));
  h.vox_offset = static_cast<float>(w.vox_offset);
  h.scl_slope = static_cast<float>(w.scl_slope), h.scl_inter = static_cast<float>(w.scl_inter);
  h.slice_code = static_cast<char>(w.slice_code);
  h.xyzt_units = static_cast<char>(w.xyzt_units);
  h.cal_max = static_cast<float>(w.cal_max), h.cal_min = static_cast<float>(w.cal_min);
  h.slice_duration = static_cast<float>(w.slice_duration), h.toffset = static_cast<float>(w.toffset);
  std::memcpy(h.descrip, w.descrip, 80);
  std::memcpy(h.aux_file, w.aux_file, 24);
  h.qform_code = static_cast<short>(w.qform_code), h.sform_code = static_cast<short>(w.sform_code);
  h.quatern_b = static_cast<float>(w.quatern_b), h.quatern_c = static_cast<float>(w.quatern_c);
  h.quatern_d = static_cast<float>(w.quatern_d);
  h.qoffset_x = static_cast<float>(w.qoffset_x), h.qoffset_y = static_cast<float>(w.qoffset_y);
  h.qoffset_z = static_cast<float>(w.qoffset_z);
  for (int i = 0; i < 4; ++i) {
    h.srow_x[i] = static_cast<float>(w.srow_x[i]);
    h.srow_y[i] = static_cast<float>(w.srow_y[i]);
    h.srow_z[i] = static_cast<float>(w.srow_z[i]);
  }
  std::memcpy(h.intent_name, w.intent_name, 16);
  std::memcpy(h.magic, "n+1", 4);
  return h;
}

}  // namespace

std::vector<uint8_t> build_header(const Volume& vol, int version, int datatype, double slope, double inter) {
  const NiftiHeaderInfo& hi = vol.header;
  nifti_2_header w{};
  w.sizeof_hdr = 540;
  std::memcpy(w.magic, "n+2\0\r\n\032\n", 8);
  w.datatype = static_cast<int16_t>(datatype);
  w.bitpix = static_cast<int16_t>(8 * dtype_size(datatype));
  w.dim[0] = 3;
  for (int a = 0; a < 3; ++a) w.dim[a + 1] = vol.dim[a];
  for (int i = 4; i < 8; ++i) w.dim[i] = 1;
  for (int i = 0; i < 8; ++i) w.pixdim[i] = hi.pixdim[i];
  w.intent_p1 = hi.intent_p[0], w.intent_p2 = hi.intent_p[1], w.intent_p3 = hi.intent_p[2];
  w.intent_code = hi.intent_code;
  put_string(w.intent_name, 16, hi.intent_name);
  put_string(w.descrip, 80, hi.descrip);
  put_string(w.aux_file, 24, hi.aux_file);
  w.scl_slope = slope, w.scl_inter = inter;
  w.cal_min = hi.cal_min, w.cal_max = hi.cal_max;
  w.slice_duration = hi.slice_duration, w.toffset = hi.toffset;
  w.slice_start = hi.slice_start, w.slice_end = hi.slice_end, w.slice_code = hi.slice_code;
  w.xyzt_units = hi.xyzt_units;
  w.dim_info = static_cast<char>(hi.dim_info);

  // Geometry. Volume::affine is the truth: when the header's best transform disagrees with it (a
  // volume whose affine was set by hand), both transforms are rewritten from the affine.
  Mat4 q = hi.qform, s = hi.sform;
  int qcode = hi.qform_code, scode = hi.sform_code;
  const bool has_best = scode > 0 || qcode > 0;
  const Mat4& best = scode > 0 ? s : q;
  // A file without orientation (both codes 0) stays so while its grid is the one pixdim describes
  // (NIfTI method 1): codes of 1 would claim scanner coordinates nobody measured.
  Mat4 method1 = identity4();
  for (int a = 0; a < 3; ++a) method1[5 * a] = hi.pixdim[a + 1];
  const bool unoriented = !has_best && max_abs_diff(method1, vol.affine) <= tolerance(vol.affine);
  if (unoriented) {
    q = s = vol.affine;
  } else if (!has_best || max_abs_diff(best, vol.affine) > tolerance(vol.affine)) {
    q = s = vol.affine;
    if (scode <= 0) scode = qcode > 0 ? qcode : 1;
    if (qcode <= 0) qcode = scode;
  }
  if (qcode <= 0) q = vol.affine;  // an unused qform still describes the grid
  const auto& raw = hi.raw;
  const bool as_read = raw.valid && raw.dim == vol.dim && max_abs_diff(q, raw.qform) <= tolerance(q) &&
                       max_abs_diff(s, raw.sform) <= tolerance(s) && qcode == hi.qform_code && scode == hi.sform_code;
  if (as_read) {
    w.quatern_b = raw.quatern[0], w.quatern_c = raw.quatern[1], w.quatern_d = raw.quatern[2];
    w.qoffset_x = raw.qoffset[0], w.qoffset_y = raw.qoffset[1], w.qoffset_z = raw.qoffset[2];
    w.pixdim[0] = raw.qfac;
    for (int a = 0; a < 3; ++a) w.pixdim[a + 1] = raw.pixdim[a];
    s = raw.sform;
  } else {
    nifti_dmat44 m;
    for (int i = 0; i < 4; ++i)
      for (int j = 0; j < 4; ++j) m.m[i][j] = q[4 * i + j];
    double dx, dy, dz, qfac;
    nifti_dmat44_to_quatern(m, &w.quatern_b, &w.quatern_c, &w.quatern_d, &w.qoffset_x, &w.qoffset_y, &w.qoffset_z,
                            &dx, &dy, &dz, &qfac);
    w.pixdim[0] = qfac, w.pixdim[1] = dx, w.pixdim[2] = dy, w.pixdim[3] = dz;
  }
  w.qform_code = qcode, w.sform_code = scode;
  for (int j = 0; j < 4; ++j) w.srow_x[j] = s[j], w.srow_y[j] = s[4 + j], w.srow_z[j] = s[8 + j];

  // Extensions describe the grid they came with (AFNI's, for one, carries its own geometry): they
  // are kept only while the grid is the one read.
  const int64_t hsize = version == 1 ? 348 : 540;
  std::vector<uint8_t> ext;
  if (as_read)
    for (const auto& e : hi.extensions) {
      const size_t esize = (e.data.size() + 8 + 15) / 16 * 16;
      if (esize > (1u << 30)) continue;
      const size_t at = ext.size();
      ext.resize(at + esize, 0);
      const int32_t sz = static_cast<int32_t>(esize), code = e.code;
      std::memcpy(ext.data() + at, &sz, 4);
      std::memcpy(ext.data() + at + 4, &code, 4);
      std::memcpy(ext.data() + at + 8, e.data.data(), e.data.size());
    }
  w.vox_offset = hsize + 4 + static_cast<int64_t>(ext.size());

  std::vector<uint8_t> out(static_cast<size_t>(w.vox_offset), 0);
  if (version == 1) {
    const nifti_1_header h = narrow(w);
    std::memcpy(out.data(), &h, sizeof h);
  } else {
    std::memcpy(out.data(), &w, sizeof w);
  }
  out[static_cast<size_t>(hsize)] = ext.empty() ? 0 : 1;
  std::copy(ext.begin(), ext.end(), out.begin() + hsize + 4);
  return out;
}

}  // namespace im::io::detail
