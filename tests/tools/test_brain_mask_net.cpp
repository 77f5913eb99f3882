// --brain-mask net where the tools need a brain mask: io refuses the kind it cannot compute, the
// tools' loader runs the network, and imunity-prep, imunity-harmonize and imunity-train use it.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "harmonize_test_util.h"
#include "io/error.h"
#include "io/nifti.h"
#include "io/sampler.h"
#include "support/paths.h"
#include "tools/common/brain_mask.h"
#include "tools/common/checkpoint.h"
#include "tools/train/train_run.h"

namespace fs = std::filesystem;
using namespace im;

namespace {
std::string ixi(const std::string& name) {
  const std::string data = test::data_dir();
  INFO("the shared data: ../shared/data beside the checkout, or $IMUNITY_DATA");
  REQUIRE(!data.empty());
  const std::string p = data + "/ixi_hh_2mm/t1/" + name + ".nii.gz";
  INFO(p);
  REQUIRE(fs::exists(p));
  return p;
}
std::string tool(const std::string& name) {
  const std::string t = test::tool_path(name);
  if (t.empty()) FAIL(name + " is not built: " + std::string(IMUNITY_BINARY_DIR) + "/tools/" + name);
  return t;
}
}  // namespace

TEST_CASE("brain mask net: io refuses the kind, the tools' loader runs the network", "[brainmask][net]") {
  const io::Volume v = io::read_volume(ixi("IXI013-HH-1212_T1"));
  const io::MaskSpec net{io::MaskSpec::Kind::net, ""};
  CHECK_THROWS_WITH(io::load_mask(v, net), Catch::Contains("tools::load_any_mask"));
  const io::Mask m = tools::load_any_mask(v, net);
  CHECK(m == tools::brain_mask_net(v));
  const io::Mask head = tools::load_any_mask(v, io::MaskSpec{});
  CHECK(head == io::auto_mask(v));
  // A brain is well inside the head: less than 70% of it.
  CHECK(io::mask_count(m) < 0.7 * static_cast<double>(io::mask_count(head)));
  CHECK(net.describe().find("net") == 0);
}

TEST_CASE("brain mask net: imunity-prep --brain-mask net masks and normalizes on the brain", "[brainmask][net][cli]") {
  const std::string in = ixi("IXI013-HH-1212_T1"), dir = test::scratch_dir("brainmask_net_prep");
  const auto r = test::run_command(tool("imunity-prep") + " --in " + in + " --brain-mask net --out " + dir +
                                   "/p.nii.gz --save-mask " + dir + "/m.nii.gz");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  const nlohmann::json side = nlohmann::json::parse(test::read_text(dir + "/p.nii.gz.json"));
  CHECK(side["record"]["mask"]["source"].get<std::string>().rfind("net", 0) == 0);
  CHECK(side["record"]["normalization"]["region"] == "mask");  // a brain mask: no brain core needed
  const io::Volume m = io::read_volume(dir + "/m.nii.gz");
  const io::Mask want = tools::brain_mask_net(io::read_volume(in));
  int64_t n = 0;
  for (float x : m.data) n += x > 0.5f;
  CHECK(n == io::mask_count(want));  // same grid here (2 mm in, voxel size kept)
  CHECK(test::run_command(tool("imunity-prep") + " --in " + in + " --brain-mask net --auto-mask --out " + dir + "/q.nii.gz")
            .exit_code != 0);
}

TEST_CASE("brain mask net: imunity-harmonize --brain-mask net harmonizes the brain only", "[brainmask][net][cli]") {
  const std::string in = ixi("IXI014-HH-1236_T1"), dir = test::scratch_dir("brainmask_net_harmonize");
  const std::string model = test::make_checkpoint(dir, "model.safetensors", test::tiny_model_config(128, 128), 2.0);
  const auto r = test::run_command(tool("imunity-harmonize") + " --model " + model + " --threads 2 --quiet --in " + in +
                                   " --out-dir " + dir + "/out --target-site site_a --brain-mask net");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK(r.output.find("head/foreground mask") == std::string::npos);
  const io::Volume out = io::read_volume(dir + "/out/IXI014-HH-1236_T1_desc-harmonized_T1w.nii.gz");
  const io::Mask brain = tools::brain_mask_net(io::read_volume(in));
  int64_t outside_nonzero = 0, inside_nonzero = 0;
  for (size_t i = 0; i < brain.size(); ++i) (brain[i] ? inside_nonzero : outside_nonzero) += out.data[i] != 0.f;
  CHECK(outside_nonzero == 0);
  CHECK(inside_nonzero > io::mask_count(brain) / 2);
  const nlohmann::json side = nlohmann::json::parse(test::read_text(dir + "/out/IXI014-HH-1236_T1_desc-harmonized_T1w.json"));
  CHECK(side["mask"].get<std::string>().rfind("net", 0) == 0);
  CHECK(side["options"]["mask"] == "net");
}

TEST_CASE("brain mask net: training rows without masks get the network's brain masks", "[brainmask][net]") {
  // The sampler asks the tools' loader for every item's mask.
  io::SamplerItem a{ixi("IXI015-HH-1258_T1"), {io::MaskSpec::Kind::net, ""}, 0, {}};
  io::SamplerItem b{ixi("IXI034-HH-1260_T1"), {io::MaskSpec::Kind::net, ""}, 1, {}};
  io::SamplerOptions so;
  so.prep.voxel_size = 4;
  so.height = so.width = 64;
  so.batch_size = 4;
  so.workers = 0;
  CHECK_THROWS_WITH(io::SliceSampler({a, b}, so), Catch::Contains("tools::load_any_mask"));  // io alone cannot
  so.mask_loader = tools::load_any_mask;
  io::SliceSampler net({a, b}, so);
  io::SamplerOptions ho = so;
  a.mask = b.mask = {};
  io::SliceSampler head({a, b}, ho);
  auto fraction = [](const io::Batch& x) {
    double s = 0;
    for (float v : x.mask1) s += v;
    return s / static_cast<double>(x.mask1.size());
  };
  CHECK(fraction(net.make_batch(0)) < fraction(head.make_batch(0)));

  // imunity-train records the choice in its checkpoints.
  const std::string dir = test::scratch_dir("brainmask_net_train");
  std::ofstream(dir + "/m.tsv") << "path\tsite\n" << ixi("IXI015-HH-1258_T1") << "\ta\n" << ixi("IXI034-HH-1260_T1") << "\tb\n"
                                << ixi("IXI039-HH-1261_T1") << "\ta\n" << ixi("IXI048-HH-1326_T1") << "\tb\n";
  tools::TrainRunOptions o;
  o.manifest = dir + "/m.tsv";
  o.out_dir = dir + "/run";
  o.quiet = true;
  o.brain_mask = "net";
  o.setup = tools::assemble_setup("", "paper", {"model.image_h=64", "model.image_w=64", "train.voxel_size=4", "train.batch=2",
                                                "train.steps=1", "train.validate_every=1000", "train.val_fraction=0",
                                                "train.code_slices=4", "train.device=\"cpu\""});
  REQUIRE(tools::run_training(o) == 0);
  CHECK(tools::read_checkpoint_info(dir + "/run/last.safetensors").extra["brain_mask"] == "net");
}
