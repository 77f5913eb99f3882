// Reading and writing NIfTI-1/NIfTI-2 volumes (.nii, .nii.gz): validated, crash-free, atomic.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "io/nifti_name.h"  // has_nifti_extension, is_gz_path: which names write_volume takes
#include "io/volume.h"

namespace im::io {

enum class NonFinite {
  reject,  // NaN or Inf voxels make the read fail (default: they poison every later statistic)
  zero,    // replace them by 0
};

struct ReadOptions {
  int64_t volume = -1;                   // for 4-D files: which volume (0-based); -1 refuses 4-D input
  NonFinite nonfinite = NonFinite::reject;
  int64_t max_voxels = int64_t(1) << 30;  // anything larger is called absurd (4 GiB of float32)
};

// Reads a NIfTI-1 or NIfTI-2 file (.nii or .nii.gz, detected from the bytes, not the name). Voxels
// are converted to float32 with scl_slope/scl_inter applied. Throws Error("<path>: <problem>") for a
// missing or unreadable file, anything that is not a single-file NIfTI, a truncated or corrupt
// gzip stream, a vox_offset inside the header or past the end of the data, a 4-D file without
// `volume`, a zero/negative/absurd dimension, an unsupported datatype, a singular or non-finite
// affine, no voxel size where pixdim gives the geometry (pixdim <= 0 without an sform), or NaN/Inf
// voxels (unless options.nonfinite says zero).
Volume read_volume(const std::string& path, const ReadOptions& options = {});
// The same from bytes already in memory; `name` is used in messages (fuzzing, tests).
Volume read_volume_bytes(const std::vector<uint8_t>& bytes, const std::string& name,
                         const ReadOptions& options = {});

struct WriteOptions {
  bool keep_datatype = false;  // false: float32; true: the input's datatype (header.datatype), with
                               // rounding, clamping and a scl_slope/scl_inter chosen to keep precision
  int gzip_level = 1;          // libdeflate level for .nii.gz (0-12): 1 is the fastest and within
                               // ~2% of level 2 in size (measurements in docs/data-path.md)
  int threads = 0;             // gzip threads; 0: OpenMP's default
  bool overwrite = true;       // false: fail if the file exists (checked atomically at the rename)
  int version = 0;             // 0: the header's (NIfTI-2 forced when a dimension exceeds 32767)
};

// Writes `vol` to `path` (.nii or .nii.gz, chosen by the name). The header keeps the volume's
// qform and sform with their codes, pixdim, units, intent, description, slice and calibration
// fields; when the grid is still the one it was read on, the file's own quaternion and extensions
// are written verbatim. Atomic: the bytes go to "<dir>/.<name>.tmp-<pid>-<random>", which is renamed
// over `path` only when complete; on any failure it is removed and Error is thrown.
void write_volume(const std::string& path, const Volume& vol, const WriteOptions& options = {});
// The bytes write_volume would write (gzip when `gzip`).
std::vector<uint8_t> encode_volume(const Volume& vol, bool gzip, const WriteOptions& options = {});

// A warning for a volume whose file gives no orientation (qform_code = sform_code = 0): its affine
// is then the voxel sizes alone (NIfTI method 1), so left/right, front/back and up/down are a guess.
// Empty when the file has a qform or an sform. Writing such a volume on its own grid keeps both codes 0.
std::string orientation_warning(const NiftiHeaderInfo& header);

}  // namespace im::io
