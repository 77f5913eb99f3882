// Writing one harmonized volume: the output image and its JSON sidecar (the commit record), both
// atomic; and the BIDS-derivatives dataset_description.json of the output folder.
#pragma once
#include <chrono>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tools/harmonize/harmonize_batch.h"

namespace im::tools {

using Clock = std::chrono::steady_clock;
inline double ms_between(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double, std::milli>(b - a).count(); }

// A volume the network has been through, with what the sidecar records of its way there.
struct HarmonizedVolume {
  PreparedInput prepared;
  NetworkResult harmonized;
  NetworkStats stats;
  std::vector<std::string> warnings;                   // recorded in the sidecar
  nlohmann::json timings = nlohmann::json::object();  // stage -> ms ("total" is added here)
  Clock::time_point start;                            // when its job started
};

// Finishes the output (finish_output), refuses NaN/Inf voxels, and writes job.output, then
// job.sidecar (the commit record), atomically. Existing files are replaced when options.overwrite or
// `redo` (an incomplete pair of this run). Throws on failure.
void write_outputs(const BatchJob& job, HarmonizedVolume& v, bool redo, const ModelSet& models, const TargetCode& target,
                   const BatchOptions& options);

// BIDS-derivatives dataset_description.json of the output folder.
nlohmann::json dataset_description();
// Writes OUT/dataset_description.json unless it exists (identical content, so concurrent shards agree).
void write_dataset_description(const std::string& out_dir, bool overwrite);

}  // namespace im::tools
