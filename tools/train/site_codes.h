// What a training checkpoint records about each site: its mean contrast code (the target of
// harmonization towards it) and its noise level (the target of the detail stage's noise matching).
#pragma once
#include <string>
#include <vector>

#include "io/sampler.h"
#include "model/imunity.h"
#include "tools/common/checkpoint.h"

namespace im::tools {

// Per-site mean contrast codes: the contrast encoder's mean over up to `per_site` brain slices of
// each site's training volumes (slices as acquired: no gamma), into info.site_codes and
// info.code_shape; each site's noise level on the model's grid into info.extra["site_noise"]. The
// slices come from batches far from the training stream, so the run's own batches are unchanged.
void compute_site_codes(model::ImUnity& m, const io::SliceSampler& sampler, const std::vector<std::string>& sites,
                        CheckpointInfo& info, int per_site);

}  // namespace im::tools
