// write_volume: float32 or the input's datatype (with a precision-keeping scl_slope), gzip through
// libdeflate, atomic placement.
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>

#include "io/atomic_file.h"
#include "io/error.h"
#include "io/gzip.h"
#include "io/nifti.h"
#include "io/nifti_header.h"

namespace im::io {
namespace {

struct Scaling {
  double slope = 1, inter = 0;
};

template <class T>
constexpr double type_min() { return static_cast<double>(std::numeric_limits<T>::lowest()); }
template <class T>
constexpr double type_max() {
  // 64-bit integer limits are not representable in double; stay inside what rounds back exactly.
  return sizeof(T) == 8 ? (std::is_signed<T>::value ? 9.007199254740992e15 : 1.8014398509481984e16)
                        : static_cast<double>(std::numeric_limits<T>::max());
}

// float(q * slope + inter), computed the way the reader computes it.
inline float reconstruct(double q, double slope, double inter) { return static_cast<float>(q * slope + inter); }

// The scaling to store float voxels in integer type T: identity when the values are integers that
// fit, else the input file's own scaling when it reproduces every voxel exactly (an IXI uint8 volume
// written back), else a slope that spreads the value range over the type's range.
template <class T>
Scaling choose_scaling(const Volume& v, bool float_params) {
  const double tmin = std::is_signed<T>::value ? type_min<T>() : 0.0, tmax = type_max<T>();
  double lo = 0, hi = 0;
  bool integral = true;
  const float* d = v.data.data();
  const int64_t n = v.size();
  if (n > 0) lo = hi = d[0];
  for (int64_t i = 0; i < n; ++i) {
    const double x = d[i];
    if (!std::isfinite(x)) continue;
    lo = std::min(lo, x), hi = std::max(hi, x);
    integral = integral && x == std::floor(x);
  }
  if (integral && lo >= tmin && hi <= tmax) return {};
  const auto exact = [&](double slope, double inter) {
    if (!(slope != 0) || !std::isfinite(slope) || !std::isfinite(inter)) return false;
    for (int64_t i = 0; i < n; ++i) {
      const double q = std::nearbyint((static_cast<double>(d[i]) - inter) / slope);
      if (q < tmin || q > tmax || reconstruct(q, slope, inter) != d[i]) return false;
    }
    return true;
  };
  if (exact(v.header.scl_slope, v.header.scl_inter)) return {v.header.scl_slope, v.header.scl_inter};
  Scaling s;
  if (lo < 0 && tmin == 0) s.inter = lo;  // unsigned type, negative values: shift
  s.slope = std::max((hi - s.inter) / tmax, tmin < 0 ? lo / tmin : 0.0);
  if (!(s.slope > 0)) s.slope = 1;
  if (float_params) s.slope = static_cast<float>(s.slope), s.inter = static_cast<float>(s.inter);
  return s;
}

template <class T>
void pack(const Volume& v, const Scaling& s, uint8_t* out) {
  const double tmin = std::is_signed<T>::value ? type_min<T>() : 0.0, tmax = type_max<T>();
  const int64_t n = v.size();
  const float* d = v.data.data();
#pragma omp parallel for schedule(static) if (n > (1 << 22))
  for (int64_t i = 0; i < n; ++i) {
    T q;
    if constexpr (std::is_floating_point<T>::value) {
      q = static_cast<T>(d[i]);
    } else {
      const double x = std::isfinite(d[i]) ? std::nearbyint((static_cast<double>(d[i]) - s.inter) / s.slope) : 0.0;
      q = static_cast<T>(std::clamp(x, tmin, tmax));
    }
    std::memcpy(out + i * int64_t(sizeof(T)), &q, sizeof(T));
  }
}

template <class T>
Scaling encode_as(const Volume& v, bool float_params, std::vector<uint8_t>& data) {
  Scaling s;
  if constexpr (!std::is_floating_point<T>::value) s = choose_scaling<T>(v, float_params);
  data.resize(static_cast<size_t>(v.size()) * sizeof(T));
  pack<T>(v, s, data.data());
  return s;
}

Scaling encode_data(const Volume& v, int datatype, bool float_params, std::vector<uint8_t>& data) {
  switch (datatype) {
    case dtype::uint8: return encode_as<uint8_t>(v, float_params, data);
    case dtype::int8: return encode_as<int8_t>(v, float_params, data);
    case dtype::int16: return encode_as<int16_t>(v, float_params, data);
    case dtype::uint16: return encode_as<uint16_t>(v, float_params, data);
    case dtype::int32: return encode_as<int32_t>(v, float_params, data);
    case dtype::uint32: return encode_as<uint32_t>(v, float_params, data);
    case dtype::int64: return encode_as<int64_t>(v, float_params, data);
    case dtype::uint64: return encode_as<uint64_t>(v, float_params, data);
    case dtype::float64: return encode_as<double>(v, float_params, data);
    default: return encode_as<float>(v, float_params, data);
  }
}

}  // namespace

std::vector<uint8_t> encode_volume(const Volume& vol, bool gzip, const WriteOptions& opt) {
  if (vol.dim[0] < 1 || vol.dim[1] < 1 || vol.dim[2] < 1 || static_cast<int64_t>(vol.data.size()) != vol.size())
    throw Error("cannot write a volume whose dimensions (" + std::to_string(vol.dim[0]) + "x" + std::to_string(vol.dim[1]) +
                "x" + std::to_string(vol.dim[2]) + ") do not match its " + std::to_string(vol.data.size()) + " voxels");
  int version = opt.version ? opt.version : vol.header.version;
  if (*std::max_element(vol.dim.begin(), vol.dim.end()) > 32767) version = 2;
  const int datatype = opt.keep_datatype && dtype_size(vol.header.datatype) ? vol.header.datatype : dtype::float32;
  std::vector<uint8_t> data;
  const Scaling s = encode_data(vol, datatype, version == 1, data);
  std::vector<uint8_t> bytes = detail::build_header(vol, version, datatype, s.slope, s.inter);
  bytes.insert(bytes.end(), data.begin(), data.end());
  if (!gzip) return bytes;
  const int threads = opt.threads > 0 ? opt.threads : omp_get_max_threads();
  return gzip_compress(bytes.data(), bytes.size(), opt.gzip_level, threads);
}

void write_volume(const std::string& path, const Volume& vol, const WriteOptions& opt) {
  if (!has_nifti_extension(path)) fail(path, "output name must end in .nii or .nii.gz");
  std::vector<uint8_t> bytes;
  try {
    bytes = encode_volume(vol, is_gz_path(path), opt);
  } catch (const Error& e) {
    fail(path, e.what());
  }
  write_file_atomic(path, bytes.data(), bytes.size(), opt.overwrite);
}

}  // namespace im::io
