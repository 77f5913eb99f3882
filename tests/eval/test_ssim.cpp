// SSIM against scikit-image (fixtures/ssim_skimage.json), the TensorFlow 'valid' mode, PSNR and MAE by hand.
#include <catch2/catch.hpp>

#include <cmath>

#include "engine/losses.h"
#include "engine/tensor.h"
#include "eval/ssim.h"
#include "support/fixtures.h"

using namespace im::eval;

namespace {

im::io::Volume volume_of(const nlohmann::json& dim, const nlohmann::json& values) {
  im::io::Volume v = im::io::make_volume({dim[0].get<int64_t>(), dim[1].get<int64_t>(), dim[2].get<int64_t>()},
                                         im::io::identity4());
  for (size_t i = 0; i < v.data.size(); ++i) v.data[i] = static_cast<float>(values[i].get<double>());
  return v;
}

}  // namespace

TEST_CASE("ssim: matches scikit-image (2-D and 3-D, masked and not, real IXI data)", "[ssim]") {
  const nlohmann::json fx = im::test::load_fixture("ssim_skimage");
  REQUIRE(fx["cases"].size() >= 4);
  for (const auto& c : fx["cases"]) {
    const std::string name = c["name"];
    INFO(name);
    const int ndim = c["ndim"];
    const im::io::Volume a = volume_of(c["dim"], c["a"]), b = volume_of(c["dim"], c["b"]);
    im::io::Mask mask(a.data.size());
    for (size_t i = 0; i < mask.size(); ++i) mask[i] = static_cast<uint8_t>(c["mask"][i].get<int>());
    SsimOptions o;
    const std::vector<double> map = ssim_map(a.data.data(), b.data.data(), a.dim, ndim, o);
    CHECK(map.front() == Approx(c["map_corner"].get<double>()).margin(1e-9));
    CHECK(ssim_mean(map, a.dim, ndim, nullptr, o).value == Approx(c["ssim"].get<double>()).margin(1e-9));
    CHECK(ssim_mean(map, a.dim, ndim, mask.data(), o).value == Approx(c["ssim_masked"].get<double>()).margin(1e-9));
    SsimOptions valid = o;
    valid.border = SsimBorder::valid;
    // 'valid' (TensorFlow): the same unmasked mean, the masked mean only over windows inside the image.
    CHECK(ssim_mean(map, a.dim, ndim, nullptr, valid).value == Approx(c["ssim"].get<double>()).margin(1e-9));
    CHECK(ssim_mean(map, a.dim, ndim, mask.data(), valid).value ==
          Approx(c["ssim_valid_masked"].get<double>()).margin(1e-9));
    if (ndim == 3) {
      CHECK(ssim3d(a, b, nullptr, o).value == Approx(c["ssim"].get<double>()).margin(1e-9));
      CHECK(ssim3d(a, b, &mask, o).value == Approx(c["ssim_masked"].get<double>()).margin(1e-9));
    } else {
      const SliceSsim s = ssim2d_axial(a, b, nullptr, false, o);
      REQUIRE(s.value.size() == 1);
      CHECK(s.mean == Approx(c["ssim"].get<double>()).margin(1e-9));
      CHECK(ssim2d_axial(a, b, &mask, true, o, 0.0).mean == Approx(c["ssim_masked"].get<double>()).margin(1e-9));
    }
  }
}

TEST_CASE("ssim: identical images give 1, slice selection follows the mask", "[ssim]") {
  im::io::Volume big = im::io::make_volume({16, 16, 12}, im::io::identity4());
  for (size_t i = 0; i < big.data.size(); ++i) big.data[i] = static_cast<float>((i * 37 % 101) / 100.0);
  CHECK(ssim3d(big, big, nullptr, {}).value == Approx(1.0).margin(1e-12));
  // A volume thinner than the 11-voxel window has no valid 3-D window: NaN, not a made-up number.
  im::io::Volume a = im::io::make_volume({16, 16, 6}, im::io::identity4());
  for (size_t i = 0; i < a.data.size(); ++i) a.data[i] = static_cast<float>((i * 37 % 101) / 100.0);
  CHECK(std::isnan(ssim3d(a, a, nullptr, {}).value));
  CHECK(ssim3d(a, a, nullptr, {}).count == 0);
  im::io::Mask mask(a.data.size(), 0);
  for (int64_t y = 4; y < 12; ++y)
    for (int64_t x = 4; x < 12; ++x) mask[a.index(x, y, 2)] = mask[a.index(x, y, 3)] = 1;
  mask[a.index(0, 0, 5)] = 1;  // 1 voxel of 256: below 1%, not counted
  im::io::Volume b = a;
  for (float& v : b.data) v *= 0.5f;
  const SliceSsim s = ssim2d_axial(a, b, &mask, true, {});
  REQUIRE(s.slice == std::vector<int64_t>{2, 3});
  CHECK(s.mean < 1.0);
  CHECK(ssim2d_axial(a, a, &mask, true, {}).mean == Approx(1.0));
  CHECK_THROWS(ssim2d_axial(a, b, nullptr, true, {}));
  im::io::Volume c = im::io::make_volume({8, 8, 8}, im::io::identity4());
  CHECK_THROWS(ssim3d(a, c, nullptr, {}));
}

TEST_CASE("psnr and mae: by hand", "[ssim]") {
  im::io::Volume a = im::io::make_volume({2, 2, 1}, im::io::identity4()), b = a;
  a.data = {0.0f, 0.5f, 1.0f, 0.25f};
  b.data = {0.1f, 0.5f, 0.8f, 0.75f};
  const im::io::Mask m = {1, 1, 1, 0};
  // masked: differences 0.1, 0, 0.2 -> MSE 0.05/3, MAE 0.1
  CHECK(mae(a, b, &m) == Approx(0.1).epsilon(1e-6));
  CHECK(psnr(a, b, &m) == Approx(10 * std::log10(3 / 0.05)).epsilon(1e-6));
  // all voxels: + 0.5 -> MSE (0.01 + 0.04 + 0.25) / 4, MAE 0.8 / 4
  CHECK(mae(a, b, nullptr) == Approx(0.2).epsilon(1e-6));
  CHECK(psnr(a, b, nullptr, 2.0) == Approx(10 * std::log10(4 / 0.075)).epsilon(1e-6));
  CHECK(std::isinf(psnr(a, a, &m)));
}

TEST_CASE("ssim: the convention string says everything", "[ssim]") {
  const std::string c = ssim_convention(2, true, {}, "wm-peak");
  CHECK(c.find("SSIM 2D axial") != std::string::npos);
  CHECK(c.find("11x11 Gaussian sigma 1.5") != std::string::npos);
  CHECK(c.find("K1 0.01 K2 0.03") != std::string::npos);
  CHECK(c.find("L=1") != std::string::npos);
  CHECK(c.find("skimage border handling") != std::string::npos);
  CHECK(c.find("masked: mean over brain") != std::string::npos);
  SsimOptions v;
  v.border = SsimBorder::valid;
  CHECK(ssim_convention(3, false, v).find("11x11x11") != std::string::npos);
  CHECK(ssim_convention(3, false, v).find("'valid'") != std::string::npos);
}

TEST_CASE("ssim: the 'valid' mode is the training loss's convention (engine ssim_loss)", "[ssim]") {
  const nlohmann::json fx = im::test::load_fixture("ssim_skimage");
  for (const auto& c : fx["cases"]) {
    if (c["ndim"].get<int>() != 2) continue;
    INFO(c["name"].get<std::string>());
    const im::io::Volume a = volume_of(c["dim"], c["a"]), b = volume_of(c["dim"], c["b"]);
    SsimOptions valid;
    valid.border = SsimBorder::valid;
    const double ours = ssim2d_axial(a, b, nullptr, false, valid).mean;
    const im::Shape shape = {1, 1, a.dim[1], a.dim[0]};
    const double loss = im::ssim_loss(im::Tensor::from_vector(a.data, shape), im::Tensor::from_vector(b.data, shape)).item();
    CHECK(1.0 - loss == Approx(ours).margin(2e-5));  // float32 inside the engine
  }
}
