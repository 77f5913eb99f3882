// Volume helpers: datatype names and sizes, fresh volumes, grid changes of the geometry.
#include "io/volume.h"

#include <cmath>

namespace im::io {

const char* dtype_name(int datatype) {
  switch (datatype) {
    case dtype::uint8: return "uint8";
    case dtype::int8: return "int8";
    case dtype::int16: return "int16";
    case dtype::uint16: return "uint16";
    case dtype::int32: return "int32";
    case dtype::uint32: return "uint32";
    case dtype::int64: return "int64";
    case dtype::uint64: return "uint64";
    case dtype::float32: return "float32";
    case dtype::float64: return "float64";
    default: return "unsupported";
  }
}

int dtype_size(int datatype) {
  switch (datatype) {
    case dtype::uint8: case dtype::int8: return 1;
    case dtype::int16: case dtype::uint16: return 2;
    case dtype::int32: case dtype::uint32: case dtype::float32: return 4;
    case dtype::int64: case dtype::uint64: case dtype::float64: return 8;
    default: return 0;
  }
}

Volume make_volume(const Dims& dim, const Mat4& affine) {
  Volume v;
  v.dim = dim;
  v.data.assign(static_cast<size_t>(v.size()), 0.0f);
  v.affine = affine;
  v.header.qform_code = v.header.sform_code = 1;
  v.header.qform = v.header.sform = affine;
  const Vec3 s = column_norms(affine);
  for (int a = 0; a < 3; ++a) v.header.pixdim[a + 1] = s[a];
  v.header.pixdim[0] = det3(affine) < 0 ? -1 : 1;
  v.header.xyzt_units = 2 | 8;  // mm, s
  return v;
}

Volume zeros_like(const Volume& ref) {
  Volume v;
  v.dim = ref.dim;
  v.affine = ref.affine;
  v.header = ref.header;
  v.data.assign(static_cast<size_t>(v.size()), 0.0f);
  return v;
}

void remap_geometry(Volume& v, const Dims& new_dim, const Mat4& new_to_old) {
  v.affine = mul(v.affine, new_to_old);
  v.header.qform = mul(v.header.qform, new_to_old);
  v.header.sform = mul(v.header.sform, new_to_old);
  const Vec3 s = column_norms(v.header.qform_code > 0 ? v.header.qform : v.affine);
  for (int a = 0; a < 3; ++a) v.header.pixdim[a + 1] = s[a];
  // dim_info names the frequency/phase/slice axes (1-based): follow them through a permutation.
  int fields[3] = {v.header.dim_info & 3, (v.header.dim_info >> 2) & 3, (v.header.dim_info >> 4) & 3};
  for (int& f : fields) {
    if (f == 0) continue;
    int moved = 0;
    for (int a = 0; a < 3; ++a)
      if (std::fabs(new_to_old[4 * (f - 1) + a]) > 1e-12 && moved == 0) moved = a + 1;
    f = moved;
  }
  v.header.dim_info = fields[0] | (fields[1] << 2) | (fields[2] << 4);
  v.dim = new_dim;
}

}  // namespace im::io
