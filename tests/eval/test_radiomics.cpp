// Radiomic features: GLCM on hand-computed volumes and against scikit-image, first-order against numpy.
#include <catch2/catch.hpp>

#include <cmath>
#include <fstream>
#include <set>

#include "eval/radiomics.h"
#include "io/mask.h"
#include "io/nifti.h"
#include "io/normalize.h"
#include "support/fixtures.h"
#include "support/paths.h"

using namespace im::eval;

namespace {

double feature(const FeatureVector& f, const std::string& name) {
  for (size_t i = 0; i < f.names.size(); ++i)
    if (f.names[i] == name) return f.values[i];
  FAIL("no feature " << name);
  return 0;
}

// GLCM features averaged over the directions that have pairs (what radiomic_features does).
std::vector<double> mean_glcm(const std::vector<int>& levels, const im::io::Dims& dim, int n) {
  std::vector<double> sum(glcm_names().size(), 0.0);
  int used = 0;
  for (const auto& d : glcm_directions()) {
    const Glcm m = glcm(levels, dim, n, d);
    if (m.total() == 0) continue;
    const auto f = glcm_features(m);
    for (size_t k = 0; k < f.size(); ++k) sum[k] += f[k];
    ++used;
  }
  for (double& s : sum) s /= used;
  return sum;
}

double by_name(const std::vector<double>& v, const std::string& name) {
  const auto& n = glcm_names();
  return v[std::find(n.begin(), n.end(), name) - n.begin()];
}

}  // namespace

TEST_CASE("radiomics: the 13 GLCM directions are unique up to sign", "[radiomics]") {
  const auto& d = glcm_directions();
  REQUIRE(d.size() == 13);
  std::set<std::array<int, 3>> seen;
  for (const auto& v : d) {
    CHECK(seen.count({-v[0], -v[1], -v[2]}) == 0);
    CHECK(seen.insert(v).second);
    CHECK((v[0] != 0 || v[1] != 0 || v[2] != 0));
  }
}

TEST_CASE("radiomics: GLCM of a two-voxel volume by hand", "[radiomics]") {
  // Levels 1, 2 side by side along x: one pair, symmetric -> p(1,2) = p(2,1) = 1/2.
  const Glcm m = glcm({1, 2}, {2, 1, 1}, 2, {1, 0, 0});
  CHECK(m.total() == 2);
  const std::vector<double> f = glcm_features(m);
  CHECK(by_name(f, "Autocorrelation") == Approx(2.0));
  CHECK(by_name(f, "JointAverage") == Approx(1.5));
  CHECK(by_name(f, "Contrast") == Approx(1.0));
  CHECK(by_name(f, "Correlation") == Approx(-1.0));
  CHECK(by_name(f, "JointEnergy") == Approx(0.5));
  CHECK(by_name(f, "JointEntropy") == Approx(1.0));
  CHECK(by_name(f, "Idm") == Approx(0.5));
  CHECK(by_name(f, "Id") == Approx(0.5));
  CHECK(by_name(f, "Idmn") == Approx(0.5 * 2 / (1 + 1.0 / 4)));
  CHECK(by_name(f, "Idn") == Approx(0.5 * 2 / (1 + 1.0 / 2)));
  CHECK(by_name(f, "DifferenceAverage") == Approx(1.0));
  CHECK(by_name(f, "DifferenceEntropy") == Approx(0.0).margin(1e-12));
  CHECK(by_name(f, "DifferenceVariance") == Approx(0.0).margin(1e-12));
  CHECK(by_name(f, "InverseVariance") == Approx(1.0));
  CHECK(by_name(f, "MaximumProbability") == Approx(0.5));
  CHECK(by_name(f, "SumAverage") == Approx(3.0));
  CHECK(by_name(f, "SumEntropy") == Approx(0.0).margin(1e-12));
  CHECK(by_name(f, "ClusterTendency") == Approx(0.0).margin(1e-12));
  CHECK(by_name(f, "ClusterShade") == Approx(0.0).margin(1e-12));
  CHECK(by_name(f, "ClusterProminence") == Approx(0.0).margin(1e-12));
  CHECK(by_name(f, "SumSquares") == Approx(0.25));
  // HX = 1, HXY = 1, HXY1 = HXY2 = 2: Imc1 = (1 - 2) / 1, Imc2 = sqrt(1 - exp(-2 (2 - 1))).
  CHECK(by_name(f, "Imc1") == Approx(-1.0));
  CHECK(by_name(f, "Imc2") == Approx(std::sqrt(1 - std::exp(-2.0))));
}

TEST_CASE("radiomics: GLCM averaged over directions, pairs outside the mask ignored", "[radiomics]") {
  // 2x2x1: bottom row level 1, top row level 2. Along x: (1,1), (2,2) -> contrast 0; along y and
  // both diagonals: (1,2) -> contrast 1. Mean over the 4 in-plane directions: 0.75.
  const std::vector<int> lv = {1, 1, 2, 2};
  const auto f = mean_glcm(lv, {2, 2, 1}, 2);
  CHECK(by_name(f, "Contrast") == Approx(0.75));
  CHECK(by_name(f, "JointEnergy") == Approx((0.5 + 3 * 0.5)/ 4));
  // Voxel (1,1) outside the ROI (level 0): along x only (1,1) remains, along y only (0,0)-(0,1).
  const Glcm mx = glcm({1, 1, 2, 0}, {2, 2, 1}, 2, {1, 0, 0});
  CHECK(mx.total() == 2);
  CHECK(mx.count[0] == 2);  // p(1,1)
  const Glcm my = glcm({1, 1, 2, 0}, {2, 2, 1}, 2, {0, 1, 0});
  CHECK(my.count[1] == 1);  // p(1,2)
  CHECK(my.count[2] == 1);  // p(2,1)
}

TEST_CASE("radiomics: GLCM properties match scikit-image's graycoprops", "[radiomics]") {
  const nlohmann::json fx = im::test::load_fixture("ssim_skimage");
  for (const auto& c : fx["glcm"]) {
    INFO(c["name"].get<std::string>());
    const im::io::Dims dim = {c["dim"][0].get<int64_t>(), c["dim"][1].get<int64_t>(), 1};
    std::vector<int> lv;
    for (const auto& v : c["image"]) lv.push_back(v.get<int>());
    const auto f = mean_glcm(lv, dim, c["levels"].get<int>());
    CHECK(by_name(f, "Contrast") == Approx(c["props"]["contrast"].get<double>()).epsilon(1e-12));
    CHECK(by_name(f, "DifferenceAverage") == Approx(c["props"]["dissimilarity"].get<double>()).epsilon(1e-12));
    CHECK(by_name(f, "Idm") == Approx(c["props"]["homogeneity"].get<double>()).epsilon(1e-12));
    CHECK(by_name(f, "JointEnergy") == Approx(c["props"]["ASM"].get<double>()).epsilon(1e-12));
    CHECK(by_name(f, "Correlation") == Approx(c["props"]["correlation"].get<double>()).epsilon(1e-10));
  }
}

TEST_CASE("radiomics: discretization and first-order features match numpy", "[radiomics]") {
  const nlohmann::json fx = im::test::load_fixture("eval_sklearn")["firstorder"];
  std::vector<double> x;
  for (const auto& v : fx["x"]) x.push_back(v.get<double>());
  const std::vector<int> lv = discretize(x, fx["bins"].get<int>());
  for (size_t i = 0; i < lv.size(); ++i) REQUIRE(lv[i] == fx["levels"][i].get<int>());
  const std::vector<double> f = first_order(x, lv, fx["voxel_volume"].get<double>());
  const auto& names = first_order_names();
  REQUIRE(f.size() == names.size());
  for (size_t k = 0; k < names.size(); ++k) {
    INFO(names[k]);
    CHECK(f[k] == Approx(fx["features"][names[k]].get<double>()).epsilon(1e-9).margin(1e-12));
  }
}

TEST_CASE("radiomics: feature vector of a volume in a mask", "[radiomics]") {
  im::io::Volume v = im::io::make_volume({6, 5, 4}, im::io::identity4());
  for (int64_t i = 0; i < v.size(); ++i) v.data[i] = static_cast<float>((i * 7919 % 97) / 97.0);
  im::io::Mask m(v.data.size(), 0);
  for (int64_t z = 1; z < 3; ++z)
    for (int64_t y = 1; y < 4; ++y)
      for (int64_t x = 1; x < 5; ++x) m[v.index(x, y, z)] = 1;
  const FeatureVector f = radiomic_features(v, m);
  REQUIRE(f.names.size() == f.values.size());
  REQUIRE(f.names == radiomic_feature_names());
  for (double val : f.values) CHECK(std::isfinite(val));
  CHECK(feature(f, "shape_VoxelVolume") == Approx(24.0));
  // Outside-mask voxels do not matter.
  im::io::Volume w = v;
  for (int64_t i = 0; i < w.size(); ++i)
    if (!m[i]) w.data[i] = 5.0f;
  CHECK(radiomic_features(w, m).values == f.values);
  CHECK_THROWS(radiomic_features(v, im::io::Mask(v.data.size(), 0)));
  RadiomicsOptions first;
  first.texture = false;
  CHECK(radiomic_features(v, m, first).values.size() == first_order_names().size() + 1);
}

TEST_CASE("radiomics: a real IXI brain gives plausible features", "[radiomics][data]") {
  const std::string data = im::test::data_dir();
  const std::string t1 = data + "/ixi_hh_2mm/t1/IXI013-HH-1212_T1.nii.gz";
  const std::string labels = data + "/ixi_hh_2mm/labels/IXI013-HH-1212_T1_DLMUSE.nii.gz";
  im::io::Volume v = im::io::read_volume(t1);
  const im::io::Mask m = im::io::read_label_mask(v, labels);
  im::io::apply_normalization(v, im::io::fit_normalization(v, m, {}));
  const FeatureVector f = radiomic_features(v, m);
  for (size_t i = 0; i < f.values.size(); ++i) {
    INFO(f.names[i]);
    CHECK(std::isfinite(f.values[i]));
  }
  CHECK(feature(f, "shape_VoxelVolume") > 0.9e6);  // an adult brain: 1.0-1.6 litres
  CHECK(feature(f, "shape_VoxelVolume") < 2.0e6);
  CHECK(feature(f, "firstorder_Median") > 0.45);     // WM peak at 0.7, GM below
  CHECK(feature(f, "firstorder_Median") < 0.75);
  CHECK(feature(f, "firstorder_Maximum") <= 1.0);
  CHECK(feature(f, "glcm_Correlation") > 0.3);        // neighbouring voxels are alike
  CHECK(feature(f, "glcm_Correlation") < 1.0);
}
