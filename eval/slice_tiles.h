// Mosaic tiles cut from volumes: the axial slice of a canonical volume, and which slice to cut (the
// mask's centroid). Shared by imunity-eval's report and imunity-repro's mosaic.
#pragma once
#include <cstdint>
#include <string>

#include "eval/plot.h"
#include "io/mask.h"
#include "io/volume.h"

namespace im::eval {

// The axial slice z of a canonical (RAS+) volume, anterior up, shown between lo and hi.
Tile axial_tile(const io::Volume& v, int64_t z, double lo = 0, double hi = 1, const std::string& caption = "");

// The mosaic's axial slice: the mask's centroid (d[2] / 2 for an empty mask); for a head mask (neck
// and face included, so its centroid falls near the cerebellum) the widest slice above the centroid,
// the level of the ventricles in a whole-head T1.
int64_t mosaic_slice(const io::Mask& m, const io::Dims& d, bool head_mask = false);

}  // namespace im::eval
