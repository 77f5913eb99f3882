// What a rerun of imunity-harmonize does with the outputs an earlier run left: a complete pair of
// this very run is skipped, a pair an interruption left incomplete is redone, another run's
// outputs are refused (they are only replaced with --overwrite).
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tools/harmonize/harmonize.h"

namespace im::tools {

// The sidecar fields that identify a run: its models, its target and its options, of which
// `compared_options` change the output (the others, such as threads, may differ between runs).
struct RunRecord {
  nlohmann::json models, target, options;
  std::vector<std::string> compared_options;
};

// The sidecar's "model": the axial checkpoint (path, SHA-256, step, input size) and per orientation
// the model used.
nlohmann::json models_record(const ModelSet& models);

struct Existing {
  enum class Verdict {
    absent,     // neither file: harmonize
    done,       // the sidecar records this run (input, models, target, compared options) and the
                // volume matches its output_sha256: skip
    redo,       // a volume without its sidecar (written last), a sidecar without its volume, a volume
                // that does not match the sidecar, a sidecar without output_sha256: redo, replacing
    other_run,  // another run's outputs, or a sidecar that is not ours: refuse (`why` says what differs)
  };
  Verdict verdict = Verdict::absent;
  std::string why;
};
Existing examine_outputs(const std::string& input, const std::string& output, const std::string& sidecar, const RunRecord& run);

}  // namespace im::tools
