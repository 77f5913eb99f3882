// Internal to io/: NIfTI header bytes <-> validated fields (both versions through one wide form).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "io/nifti.h"

namespace im::io::detail {

struct ParsedHeader {
  NiftiHeaderInfo info;   // everything an output keeps, geometry of the file's grid
  Dims dim{};             // spatial dimensions
  int64_t nvol = 1;       // dim[4] (volumes of a 4-D file)
  int datatype = 0;
  bool swap = false;      // file is big-endian (opposite to this machine)
  int64_t vox_offset = 0;
  double slope = 1, inter = 0;  // scaling to apply (1, 0 when the file says none)
  Mat4 affine = identity4();
  int64_t volume_bytes() const { return dim[0] * dim[1] * dim[2] * dtype_size(datatype); }
};

constexpr size_t kMaxHeaderBytes = 540;

// Parses and validates the header at `p` (`avail` bytes of the decompressed file are there; the
// extensions are read when they fit). Throws Error naming `name` and the problem.
ParsedHeader parse_header(const uint8_t* p, size_t avail, const std::string& name, const ReadOptions& opt);

// Header bytes (sizeof_hdr .. vox_offset, extensions included) for `vol` stored as `datatype` with
// the given scaling. Keeps the file's raw geometry and extensions when the grid is unchanged.
std::vector<uint8_t> build_header(const Volume& vol, int version, int datatype, double slope, double inter);

}  // namespace im::io::detail
