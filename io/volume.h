// Volume: a 3-D float32 image on a voxel grid with its world geometry and the NIfTI header it came with.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "io/geometry.h"

namespace im::io {

// NIfTI datatype codes we read and write (the values of nifti1.h's DT_*).
namespace dtype {
constexpr int uint8 = 2, int16 = 4, int32 = 8, float32 = 16, float64 = 64, int8 = 256, uint16 = 512,
              uint32 = 768, int64 = 1024, uint64 = 1280;
}  // namespace dtype
const char* dtype_name(int datatype);  // "uint8", ... or "unsupported"
int dtype_size(int datatype);          // bytes per voxel; 0 when unsupported

struct NiftiExtension {
  int code = 0;
  std::string data;  // raw payload (without the 8-byte esize/ecode prefix)
};

// Everything of a NIfTI header that an output should keep. qform and sform are the two
// voxel-to-world matrices of the CURRENT voxel grid: geometry operations (reorientation, resampling,
// padding) update them together with Volume::affine, so writing keeps both with their codes.
struct NiftiHeaderInfo {
  int version = 1;                // 1: NIfTI-1 (348-byte header), 2: NIfTI-2 (540)
  int datatype = dtype::float32;  // datatype in the file it was read from
  int qform_code = 0, sform_code = 0;
  Mat4 qform = identity4(), sform = identity4();
  double pixdim[8] = {1, 1, 1, 1, 0, 0, 0, 0};  // [0] qfac, [1..3] voxel sizes, [4] TR, ...
  int xyzt_units = 0;
  int intent_code = 0;
  double intent_p[3] = {0, 0, 0};
  std::string intent_name, descrip, aux_file;
  int dim_info = 0, slice_code = 0;
  int64_t slice_start = 0, slice_end = 0;
  double slice_duration = 0, toffset = 0, cal_min = 0, cal_max = 0;
  double scl_slope = 1, scl_inter = 0;  // as stored in the file (already applied to the voxels)
  std::vector<NiftiExtension> extensions;

  // The file's own geometry fields: when a volume is written back on the grid it was read on, these
  // are written verbatim so that the output header is bit-identical (no quaternion round trip).
  struct Raw {
    bool valid = false;
    Dims dim{};
    double quatern[3] = {0, 0, 0}, qoffset[3] = {0, 0, 0}, qfac = 1, pixdim[3] = {1, 1, 1};
    Mat4 qform = identity4(), sform = identity4();
  } raw;
};

struct Volume {
  Dims dim{0, 0, 0};          // nx, ny, nz
  std::vector<float> data;    // x fastest, then y, then z: data[x + nx * (y + ny * z)]
  Mat4 affine = identity4();  // voxel index -> world (mm): the sform if sform_code > 0, else the qform
  NiftiHeaderInfo header;

  int64_t size() const { return dim[0] * dim[1] * dim[2]; }
  int64_t index(int64_t x, int64_t y, int64_t z) const { return x + dim[0] * (y + dim[1] * z); }
  float& at(int64_t x, int64_t y, int64_t z) { return data[index(x, y, z)]; }
  float at(int64_t x, int64_t y, int64_t z) const { return data[index(x, y, z)]; }
  Vec3 voxel_size() const { return column_norms(affine); }  // mm along each voxel axis
};

// A fresh zero volume with the given grid; qform and sform both set to the affine (code 1, scanner).
Volume make_volume(const Dims& dim, const Mat4& affine);
// A zero volume on the same grid and with the same header as `ref` (datatype etc. kept).
Volume zeros_like(const Volume& ref);

// Moves a volume's geometry to a new voxel grid: `new_to_old` maps new voxel indices to old ones
// (homogeneous, index space). Updates affine, qform, sform, pixdim and dim_info; voxels untouched.
void remap_geometry(Volume& v, const Dims& new_dim, const Mat4& new_to_old);

}  // namespace im::io
