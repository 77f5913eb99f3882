// Preprocessing of one volume for the model (canonical orientation, brain mask, optional N4 bias-field
// correction, intensity normalization, resampling, axial-plane pad/crop) and its undoing.
#pragma once
#include <string>

#include "io/grid.h"
#include "io/mask.h"
#include "io/n4.h"
#include "io/normalize.h"
#include "io/orientation.h"
#include "io/volume.h"

namespace im::io {

struct PrepOptions {
  double voxel_size = 0;         // isotropic target voxel size in mm; 0 keeps the input's spacing
  NormOptions norm;              // wm-peak by default
  int64_t pad_multiple = 16;     // axial plane sides become multiples of this (centred zero pad)
  int64_t plane_x = 0, plane_y = 0;  // fixed axial plane size instead (pad or crop; 0: use pad_multiple)
  bool apply_mask = true;        // voxels outside the brain mask become 0 (the model sees brains)
  bool antialias = true;         // Gaussian prefilter along axes that are downsampled
  bool n4 = false;               // N4 bias-field correction inside the mask, before normalization (needs ITK)
  N4Options n4_options;
};

// Where the brain mask comes from. `net` is the brain-mask network, which runs above the data path
// (tools::load_any_mask): io::load_mask refuses it.
struct MaskSpec {
  enum class Kind { automatic, file, labels, net };
  Kind kind = Kind::automatic;
  std::string path;
  std::string describe() const;  // "auto (head/foreground, Otsu)", "labels:<path>", "mask:<path>", "net (...)"
};
Mask load_mask(const Volume& input, const MaskSpec& spec);
// True for MaskSpec::describe() of the automatic mask: prepare() then fits the normalization on the
// head mask's brain core (NormRegion::automatic), since the head holds scalp, marrow, face and neck.
bool is_automatic_mask_source(const std::string& mask_source);

// Everything needed to put processed voxels back on the input grid, and to undo the intensity map.
struct PrepRecord {
  std::string input;              // input path, when known
  Dims input_dim{};
  Mat4 input_affine = identity4();
  NiftiHeaderInfo input_header;   // geometry and fields of the input (without extensions)
  Reorientation reorientation;    // input -> canonical RAS
  GridMap resample;               // canonical -> resampled grid
  GridMap pad;                    // resampled -> processed grid (axial pad/crop)
  Dims output_dim{};
  Mat4 output_affine = identity4();
  NormParams norm;
  std::string mask_source;
  double mask_fraction = 0;       // brain fraction of the processed grid
  bool mask_applied = false;
  bool n4 = false;                // N4 ran: how (n4_options) and what it found and took (n4_info)
  N4Options n4_options;
  N4Info n4_info;
};

struct Prepared {
  Volume image;  // canonical RAS, processed grid, float32, [0,1] when normalized
  Mask mask;     // on the same grid
  PrepRecord record;
};

// `mask` lies on the input grid; mask_source says where it came from (MaskSpec::describe()), which
// also picks the normalization's region when options.norm.region is automatic. With options.n4 the
// input is divided by its N4 bias field (fitted inside the mask, on the input grid) before
// normalization; `corrected`, when given, receives that volume (the input itself without N4), on the
// input grid. Throws Error when the mask is empty, N4 is unavailable or fails, normalization fails or
// the brain does not fit a fixed plane size.
Prepared prepare(const Volume& input, const Mask& mask, const PrepOptions& options, const std::string& mask_source = "",
                 Volume* corrected = nullptr);

// Maps a processed volume (same grid as the prepared one) back onto the input grid: reverse pad/crop
// (cropped-away voxels become 0), resample back (trilinear), reverse orientation; the result has the
// input's exact geometry and header. With identity processing (voxel_size 0, norm none, apply_mask
// false, no N4) it returns the input voxels exactly. restore_intensity undoes the normalization's
// linear map (clipped values stay clipped), not N4: the result stays bias-corrected.
Volume unprepare(const Volume& processed, const PrepRecord& record, bool restore_intensity = false);
// The same for a mask on the processed grid (nearest neighbour).
Mask unprepare_mask(const Mask& processed, const PrepRecord& record);

}  // namespace im::io
