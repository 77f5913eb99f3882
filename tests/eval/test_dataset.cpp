// Subject discovery: names, folder layouts, manifests, covariates, clear errors.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "eval/dataset.h"
#include "io/error.h"
#include "io/nifti.h"
#include "support/paths.h"

using namespace im::eval;
namespace fs = std::filesystem;

namespace {

void touch_volume(const fs::path& p) {
  fs::create_directories(p.parent_path());
  im::io::write_volume(p.string(), im::io::make_volume({4, 4, 4}, im::io::identity4()));
}

void write_text(const fs::path& p, const std::string& s) {
  std::ofstream(p) << s;
}

}  // namespace

TEST_CASE("dataset: subject keys and mask names", "[dataset]") {
  CHECK(subject_key("/a/b/IXI013-HH-1212_T1.nii.gz") == "IXI013-HH-1212");
  CHECK(subject_key("IXI013-HH-1212_T1_DLMUSE.nii.gz") == "IXI013-HH-1212");
  CHECK(subject_key("siteA/sub-01_desc-harmonized_T1w.nii.gz") == "sub-01");
  CHECK(subject_key("sub-01_T1w.nii") == "sub-01");
  // The clinical volumes end in _T1W; imunity-harmonize drops that too.
  CHECK(subject_key("clinical/patient01_study1_T1W.nii.gz") == "patient01_study1");
  CHECK(subject_key("patient01_study1_desc-harmonized_T1w.nii.gz") == "patient01_study1");
  CHECK(subject_key("sub01_mask.nii.gz") == "sub01");
  CHECK(subject_key("patient01.nii.gz") == "patient01");
  CHECK(subject_key("_T1.nii.gz") == "_T1");  // never strips a name away entirely
  CHECK(is_mask_name("sub01_mask.nii.gz"));
  CHECK(is_mask_name("sub-01_desc-brain_mask.nii.gz"));
  CHECK(is_mask_name("IXI013-HH-1212_T1_DLMUSE.nii.gz"));
  CHECK_FALSE(is_mask_name("sub01.nii.gz"));
}

TEST_CASE("dataset: per-site folders, harmonized suffix, truth, sibling masks, covariates", "[dataset]") {
  const fs::path d = im::test::scratch_dir("eval_dataset_layout");
  for (const std::string site : {"siteA", "siteB"})
    for (const std::string sub : {"sub01", "sub02"}) {
      touch_volume(d / "before" / site / (sub + ".nii.gz"));
      touch_volume(d / "after" / site / (sub + "_desc-harmonized_T1w.nii.gz"));
    }
  touch_volume(d / "before" / "siteA" / "sub01_mask.nii.gz");  // a mask, not a subject
  touch_volume(d / "before" / ".hidden" / "x.nii.gz");
  touch_volume(d / "truth" / "sub01.nii.gz");
  touch_volume(d / "truth" / "sub02.nii.gz");
  write_text(d / "participants.tsv", "participant_id\tage\tsex\nsub01\t31.5\tF\nsub02\t60\tM\n");
  DatasetOptions o;
  o.before_dir = (d / "before").string();
  o.after_dir = (d / "after").string();
  o.truth_dir = (d / "truth").string();
  o.covariates = (d / "participants.tsv").string();
  const Dataset ds = discover(o);
  REQUIRE(ds.subjects.size() == 4);
  CHECK(ds.sites == std::vector<std::string>{"siteA", "siteB"});
  const Subject& a1 = ds.subjects[0];
  CHECK(a1.site == "siteA");
  CHECK(a1.key == "sub01");
  CHECK(fs::path(a1.after).filename() == "sub01_desc-harmonized_T1w.nii.gz");
  CHECK(fs::path(a1.after).parent_path().filename() == "siteA");
  CHECK(fs::path(a1.truth).filename() == "sub01.nii.gz");
  CHECK(a1.mask_kind == "mask");
  CHECK(fs::path(a1.mask).filename() == "sub01_mask.nii.gz");
  CHECK(ds.subjects[1].mask_kind == "auto");
  CHECK(a1.covariates.at("age") == "31.5");
  CHECK(ds.subjects[3].covariates.at("sex") == "M");
  // A missing harmonized volume is an error naming the folder and the volume.
  fs::remove(d / "after" / "siteB" / "sub02_desc-harmonized_T1w.nii.gz");
  CHECK_THROWS_WITH(discover(o), Catch::Contains("siteB/sub02.nii.gz") && Catch::Contains((d / "after").string()));
}

TEST_CASE("dataset: manifest gives sites and covariates; bad manifests are named", "[dataset]") {
  const fs::path d = im::test::scratch_dir("eval_dataset_manifest");
  for (const std::string sub : {"a", "b", "c"}) {
    touch_volume(d / "before" / (sub + "_T1.nii.gz"));
    touch_volume(d / "after" / (sub + "_T1.nii.gz"));
    touch_volume(d / "labels" / (sub + "_T1_DLMUSE.nii.gz"));
  }
  write_text(d / "m.tsv", "path\tsite\tage\na_T1.nii.gz\tX\t20\nb_T1.nii.gz\tY\t30\n");
  DatasetOptions o;
  o.before_dir = (d / "before").string();
  o.after_dir = (d / "after").string();
  o.manifest = (d / "m.tsv").string();
  o.mask_source = MaskSource::labels_dir;
  o.mask_dir = (d / "labels").string();
  Dataset ds = discover(o);
  REQUIRE(ds.subjects.size() == 2);
  CHECK(ds.sites == std::vector<std::string>{"X", "Y"});
  CHECK(ds.subjects[1].covariates.at("age") == "30");
  CHECK(ds.subjects[0].mask_kind == "labels");
  CHECK(fs::path(ds.subjects[0].mask).filename() == "a_T1_DLMUSE.nii.gz");
  write_text(d / "m.tsv", "subject\tsite\nc\tZ\n");
  ds = discover(o);
  REQUIRE(ds.subjects.size() == 1);
  CHECK(ds.subjects[0].key == "c");
  write_text(d / "m.tsv", "path\tsite\nmissing.nii.gz\tX\n");
  CHECK_THROWS_WITH(discover(o), Catch::Contains("m.tsv") && Catch::Contains("missing.nii.gz"));
  write_text(d / "m.tsv", "path\tsite\na_T1.nii.gz\n");
  CHECK_THROWS_WITH(discover(o), Catch::Contains("m.tsv") && Catch::Contains("line 2"));
  fs::remove(d / "labels" / "a_T1_DLMUSE.nii.gz");
  write_text(d / "m.tsv", "path\tsite\na_T1.nii.gz\tX\n");
  CHECK_THROWS_WITH(discover(o), Catch::Contains("no mask or label volume for subject 'a'"));
  o.before_dir = (d / "nope").string();
  CHECK_THROWS_AS(discover(o), im::io::Error);
}
