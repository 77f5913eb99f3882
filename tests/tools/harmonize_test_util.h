// Helpers of the imunity-harmonize tests: tiny checkpoints, synthetic volumes, running the CLI.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "io/volume.h"
#include "model/config.h"
#include "tests/support/command.h"

namespace im::test {

// A small network (cheap on 2 cores) for geometry and plumbing tests: input h x w.
model::ModelConfig tiny_model_config(int h, int w);
// Writes a checkpoint with random weights (deterministic for a seed), sites "site_a" and
// "site_b" with codes from the contrast encoder on random slices; returns its path.
std::string make_checkpoint(const std::string& dir, const std::string& file, const model::ModelConfig& mc,
                            double voxel_size, uint64_t seed = 1);

// A head-like synthetic volume (an ellipsoid of two tissue intensities on a faint background) on
// `dim` with the given affine, written to dir/name; returns the path.
std::string write_synthetic(const std::string& dir, const std::string& name, const io::Dims& dim, const io::Mat4& affine);
io::Mat4 diagonal_affine(double sx, double sy, double sz, double tx = 0, double ty = 0, double tz = 0);

// "<build>/tools/imunity-harmonize"; throws naming the path when it is not built.
std::string harmonize_tool();
// False, with a warning saying why the test is skipped, when imunity-harmonize is not built.
bool harmonize_tool_built();
std::string read_text(const std::string& path);

// The tool with a tiny size x size, 4 mm model made in a fresh scratch folder `dir`, on 2 threads,
// without a progress bar.
struct HarmonizeCli {
  std::string dir, model;
  explicit HarmonizeCli(const std::string& name, int size = 80);
  CommandResult run(const std::string& args, const std::string& env = "") const;
  // A synthetic head on `d` (3 mm voxels, LAS) written to dir/name.
  std::string synthetic(const std::string& name, const io::Dims& d = {40, 44, 36}) const;
};

}  // namespace im::test
