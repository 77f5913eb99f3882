// Baseline intensity methods of the reproducibility run.
#include "tools/repro/repro_baselines.h"

#include <algorithm>

#include "eval/histmatch.h"
#include "io/error.h"
#include "io/n4.h"

namespace im::tools {

io::Volume rescale_unit(const io::Volume& v, const io::Mask& brain, double upper_percentile) {
  std::vector<float> values;
  for (size_t i = 0; i < v.data.size(); ++i)
    if (brain[i]) values.push_back(v.data[i]);
  if (values.empty()) throw io::Error("rescale: the brain mask is empty");
  const double upper = io::percentile(std::move(values), upper_percentile);
  if (!(upper > 0)) throw io::Error("rescale: the brain intensities are not positive");
  io::Volume out = v;
  for (float& x : out.data) x = static_cast<float>(std::clamp(x / upper, 0.0, 1.0));
  return out;
}

io::Volume normalize_in_mask(const io::Volume& v, const io::Mask& brain, io::NormMethod method) {
  io::NormOptions o;
  o.method = method;
  io::Volume out = v;
  io::apply_normalization(out, io::fit_normalization(v, brain, o));
  return out;
}

io::Volume n4_normalize_in_mask(const io::Volume& v, const io::Mask& brain) {
  return normalize_in_mask(io::n4_correct(v, brain), brain, io::NormMethod::wm_peak);
}

io::Volume match_histogram(const io::Volume& source, const io::Mask& source_brain, const std::vector<double>& reference_values) {
  const eval::HistogramMatch m = eval::fit_histogram_match(eval::masked_values(source, &source_brain), reference_values);
  io::Volume out = source;
  eval::apply_histogram_match(out, m, 0.0, 1.0);
  return out;
}

}  // namespace im::tools
