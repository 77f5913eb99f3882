// Tiny checkpoints, synthetic inputs and command running for the harmonize tests.
#include "harmonize_test_util.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "engine/autograd.h"
#include "io/nifti.h"
#include "model/imunity.h"
#include "model/inference.h"
#include "support/gradcheck.h"
#include "support/paths.h"
#include "tools/common/checkpoint.h"

namespace fs = std::filesystem;

namespace im::test {

model::ModelConfig tiny_model_config(int h, int w) {
  model::ModelConfig mc;
  mc.image_h = h, mc.image_w = w;
  mc.encoder_widths = {4, 8, 8, 8, 8};
  mc.anatomy_channels = 4;
  mc.contrast_channels = 4;
  mc.contrast_dense_width = 8;
  mc.decoder_widths = {8, 8, 8, 8, 4};
  mc.disc_width = 4;
  mc.site_hidden = 8;
  mc.n_sites = 2;
  mc.site_names = {"site_a", "site_b"};
  return mc;
}

std::string make_checkpoint(const std::string& dir, const std::string& file, const model::ModelConfig& mc, double voxel_size,
                            uint64_t seed) {
  model::ImUnity m(mc, Device::CPU, seed);
  tools::CheckpointInfo info;
  info.model = mc;
  info.train.voxel_size = voxel_size;
  info.train.norm = "wm-peak";
  info.step = 1;
  for (size_t s = 0; s < mc.site_names.size(); ++s) {
    const Tensor x = random_tensor({2, 1, mc.image_h, mc.image_w}, seed * 100 + s, 0.f, 1.f);
    const Tensor code = model::mean_contrast_code(m, x);
    info.code_shape.clear();
    for (int i = 0; i < code.ndim(); ++i) info.code_shape.push_back(code.size(i));
    info.site_codes[mc.site_names[s]] = code.to_vector();
  }
  const std::string path = (fs::path(dir) / file).string();
  tools::save_checkpoint(path, m, info, false);
  return path;
}

io::Mat4 diagonal_affine(double sx, double sy, double sz, double tx, double ty, double tz) {
  return {sx, 0, 0, tx, 0, sy, 0, ty, 0, 0, sz, tz, 0, 0, 0, 1};
}

std::string write_synthetic(const std::string& dir, const std::string& name, const io::Dims& d, const io::Mat4& affine) {
  io::Volume v = io::make_volume(d, affine);
  const double cx = (d[0] - 1) / 2.0, cy = (d[1] - 1) / 2.0, cz = (d[2] - 1) / 2.0;
  for (int64_t z = 0; z < d[2]; ++z)
    for (int64_t y = 0; y < d[1]; ++y)
      for (int64_t x = 0; x < d[0]; ++x) {
        const double r = std::pow((x - cx) / (0.38 * d[0]), 2) + std::pow((y - cy) / (0.4 * d[1]), 2) +
                         std::pow((z - cz) / (0.38 * d[2]), 2);
        const double inner = r < 0.45 ? 700 : 420;  // "white matter" inside "grey matter"
        v.at(x, y, z) = r < 1 ? static_cast<float>(inner + (x * 7 + y * 3 + z * 5) % 11) : static_cast<float>((x + 2 * y + z) % 3);
      }
  const std::string path = (fs::path(dir) / name).string();
  io::write_volume(path, v);
  return path;
}

std::string harmonize_tool() { return tool_path("imunity-harmonize"); }

bool harmonize_tool_built() {
  return !harmonize_tool().empty();  // harmonize_tool() throws naming the path when it is not built
}

HarmonizeCli::HarmonizeCli(const std::string& name, int size) : dir(scratch_dir(name)) {
  model = make_checkpoint(dir, "model.safetensors", tiny_model_config(size, size), 4.0);
}

CommandResult HarmonizeCli::run(const std::string& args, const std::string& env) const {
  // --deterministic: these tests compare output bytes across runs; on a GPU cuDNN would otherwise
  // choose algorithms by timing, per process.
  return run_command(env + " " + harmonize_tool() + " --model " + model + " --threads 2 --quiet --deterministic " + args);
}

std::string HarmonizeCli::synthetic(const std::string& name, const io::Dims& d) const {
  return write_synthetic(dir, name, d, diagonal_affine(-3, 3, 3, 60, -66, -54));
}

std::string read_text(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

}  // namespace im::test
