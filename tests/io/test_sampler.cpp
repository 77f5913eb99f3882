// Training slice sampler: determinism for a seed whatever the threads, pairs of different brain
// slices of one volume, 1% brain, site balance, fit errors, validation split.
#include <catch2/catch.hpp>

#include <cmath>
#include <map>
#include <set>

#include "io/error.h"
#include "io/nifti.h"
#include "io/sampler.h"
#include "io/slices.h"
#include "io_test_util.h"
#include "support/paths.h"

using namespace im;

namespace {

// Synthetic "subjects": an ellipsoid brain with an intensity pattern that depends on the subject,
// written with a brain mask beside it. Returns the items (site = k % sites).
std::vector<io::SamplerItem> make_items(const std::string& dir, int n, int sites, int64_t nx = 50) {
  std::vector<io::SamplerItem> items;
  for (int k = 0; k < n; ++k) {
    const io::Volume v = test::synthetic({nx, 56, 40}, test::diag_affine(2, 2, 2), [k, nx](int64_t x, int64_t y, int64_t z) {
      const double r = std::pow((x - nx / 2.0) / (nx * 0.4), 2) + std::pow((y - 28) / 22.0, 2) + std::pow((z - 20) / 16.0, 2);
      return r < 1 ? float(300 + 200 * ((x + y + z + k) % 3) + 7 * k) : 0.0f;
    });
    io::Volume m = v;
    for (float& x : m.data) x = x > 0;
    const std::string p = dir + "/s" + std::to_string(k) + ".nii.gz", mp = dir + "/s" + std::to_string(k) + "_mask.nii.gz";
    io::write_volume(p, v);
    io::write_volume(mp, m);
    io::SamplerItem it;
    it.path = p;
    it.mask.kind = io::MaskSpec::Kind::file;
    it.mask.path = mp;
    it.site = k % sites;
    it.covariates = {float(20 + k), float(k % 2)};
    items.push_back(it);
  }
  return items;
}

io::SamplerOptions options(int workers) {
  io::SamplerOptions o;
  o.height = o.width = 64;
  o.batch_size = 6;
  o.seed = 99;
  o.workers = workers;
  o.load_threads = 2;
  return o;
}

}  // namespace

TEST_CASE("sampler: the batch sequence depends on the seed only, not on threads", "[sampler]") {
  const auto items = make_items(test::scratch_dir("sampler_det"), 5, 2);
  io::SliceSampler one(items, options(1)), four(items, options(4));
  for (int i = 0; i < 20; ++i) {
    const io::Batch a = one.next(), b = four.next(), c = one.make_batch(i);
    REQUIRE(a.index == i);
    REQUIRE(b.index == i);
    REQUIRE(a.s1 == b.s1);
    REQUIRE(a.s2 == b.s2);
    REQUIRE(a.site == b.site);
    REQUIRE(a.covariates == b.covariates);
    REQUIRE(a.s1 == c.s1);
  }
  io::SamplerOptions other = options(2);
  other.seed = 100;
  io::SliceSampler o(items, other);
  REQUIRE(o.next().slice1 != one.make_batch(0).slice1);
}

TEST_CASE("sampler: pairs are different brain slices of the same prepared volume", "[sampler]") {
  const auto items = make_items(test::scratch_dir("sampler_pairs"), 3, 3);
  const io::SamplerOptions opt = options(2);
  io::SliceSampler s(items, opt);
  // The prepared volumes, to check where each slice came from.
  std::vector<io::Prepared> prepared;
  for (const auto& it : items) {
    io::PrepOptions po = opt.prep;
    po.plane_x = opt.width, po.plane_y = opt.height;
    const io::Volume v = io::read_volume(it.path);
    prepared.push_back(io::prepare(v, io::load_mask(v, it.mask), po));
  }
  const size_t plane = 64 * 64;
  for (int i = 0; i < 10; ++i) {
    const io::Batch b = s.next();
    REQUIRE((b.B == 6 && b.H == 64 && b.W == 64 && b.n_cov == 2));
    for (int k = 0; k < b.B; ++k) {
      REQUIRE(b.slice1[k] != b.slice2[k]);
      const io::Prepared& p = prepared[b.volume[k]];
      const float* src1 = p.image.data.data() + b.slice1[k] * plane;
      const float* src2 = p.image.data.data() + b.slice2[k] * plane;
      REQUIRE(std::equal(src1, src1 + plane, b.s1.begin() + k * plane));
      REQUIRE(std::equal(src2, src2 + plane, b.s2.begin() + k * plane));
      double brain1 = 0, brain2 = 0;
      for (size_t j = 0; j < plane; ++j) brain1 += b.mask1[k * plane + j], brain2 += p.mask[b.slice2[k] * plane + j];
      REQUIRE(brain1 >= 0.01 * plane);
      REQUIRE(brain2 >= 0.01 * plane);
      REQUIRE(b.site[k] == items[b.volume[k]].site);
      REQUIRE(b.covariates[k * 2] == items[b.volume[k]].covariates[0]);
    }
  }
}

TEST_CASE("sampler: sites are balanced by default, volumes uniform on option", "[sampler]") {
  // Sites with 1, 2 and 3 volumes.
  auto items = make_items(test::scratch_dir("sampler_balance"), 6, 1);
  const int sites[] = {0, 1, 1, 2, 2, 2};
  for (int k = 0; k < 6; ++k) items[k].site = sites[k];
  for (bool balance : {true, false}) {
    io::SamplerOptions o = options(2);
    o.balance_sites = balance;
    o.batch_size = 50;
    io::SliceSampler s(items, o);
    std::map<int, int> count;
    for (int i = 0; i < 60; ++i)
      for (int site : s.make_batch(i).site) ++count[site];
    const double n = 3000;
    INFO("balance " << balance << ": " << count[0] << " " << count[1] << " " << count[2]);
    const double expect[3] = {balance ? 1 / 3.0 : 1 / 6.0, balance ? 1 / 3.0 : 2 / 6.0, balance ? 1 / 3.0 : 3 / 6.0};
    for (int site = 0; site < 3; ++site) REQUIRE(std::fabs(count[site] / n - expect[site]) < 0.03);
  }
}

TEST_CASE("sampler: a volume that does not fit the plane is named", "[sampler]") {
  const auto items = make_items(test::scratch_dir("sampler_fit"), 2, 1, 90);  // brain 72 voxels wide
  try {
    io::SliceSampler s(items, options(1));
    FAIL("no error");
  } catch (const io::Error& e) {
    REQUIRE_THAT(e.what(), Catch::Contains(items[0].path) || Catch::Contains(items[1].path));
    REQUIRE_THAT(e.what(), Catch::Contains("more than the 64"));
  }
}

TEST_CASE("sampler: validation split is deterministic, stratified and disjoint", "[sampler]") {
  std::vector<io::SamplerItem> items;
  for (int k = 0; k < 30; ++k) {
    io::SamplerItem it;
    it.path = "v" + std::to_string(k);
    it.site = k % 3;
    items.push_back(it);
  }
  const io::Split a = io::split_validation(items, 0.2, 5), b = io::split_validation(items, 0.2, 5), c = io::split_validation(items, 0.2, 6);
  REQUIRE(a.validation.size() == 6);  // 2 of the 10 of each site
  REQUIRE(a.train.size() == 24);
  std::set<std::string> names;
  std::map<int, int> per_site;
  for (const auto& it : a.validation) names.insert(it.path), ++per_site[it.site];
  for (const auto& it : a.train) REQUIRE(names.count(it.path) == 0);
  for (int s = 0; s < 3; ++s) REQUIRE(per_site[s] == 2);
  for (size_t i = 0; i < a.validation.size(); ++i) REQUIRE(a.validation[i].path == b.validation[i].path);
  bool differs = false;
  for (size_t i = 0; i < a.validation.size(); ++i) differs = differs || a.validation[i].path != c.validation[i].path;
  REQUIRE(differs);
}

TEST_CASE("sampler: real IXI volumes with label masks at 128x128", "[sampler][data]") {
  const auto t1 = test::data_files("ixi_hh_2mm/t1");
  std::vector<io::SamplerItem> items;
  for (int k = 0; k < 4; ++k) {
    std::string lab = t1[k];
    lab.replace(lab.find("/t1/"), 4, "/labels/");
    lab.replace(lab.find(".nii.gz"), 7, "_DLMUSE.nii.gz");
    io::SamplerItem it;
    it.path = t1[k];
    it.mask.kind = io::MaskSpec::Kind::labels;
    it.mask.path = lab;
    it.site = k % 2;
    items.push_back(it);
  }
  io::SamplerOptions o;
  o.batch_size = 8;
  io::SliceSampler s(items, o);
  const io::Batch b = s.next();
  REQUIRE((b.H == 128 && b.W == 128));
  for (int k = 0; k < 8; ++k) REQUIRE(s.brain_slices(b.volume[k]).size() > 40);
}
