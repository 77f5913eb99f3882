// Timings of the data path (hidden: run `test_io "[.bench]"`): read, write .nii.gz and prep of a
// 2 mm IXI volume and of the 1 mm volumes, nifticlib's zlib path against ours (libdeflate), and
// the gzip levels. Printed as a table for docs/data-path.md.
#include <catch2/catch.hpp>

// nifticlib's own read/write path. libniftiio and libnifti2 both export nifti_image_read & co.
// with different struct layouts; the link resolves them to libnifti2 (libniftiio ends up unused),
// whose layout nifti2_io.h describes. The dimension check below catches a mismatch.
#include <nifti2_io.h>

#include <algorithm>
#include <cstdlib>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>

#include "io/mask.h"
#include "io/nifti.h"
#include "io/prep.h"
#include "io_test_util.h"
#include "support/paths.h"

namespace fs = std::filesystem;
using namespace im;

namespace {

// Median and minimum of `reps` runs, in milliseconds.
std::pair<double, double> time_ms(int reps, const std::function<void()>& f) {
  std::vector<double> t;
  for (int i = 0; i < reps; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    t.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(t.begin(), t.end());
  return {t[t.size() / 2], t[0]};
}

void row(const std::string& what, const std::pair<double, double>& t, const std::string& extra = "") {
  std::printf("| %-58s | %8.1f | %8.1f | %s\n", what.c_str(), t.first, t.second, extra.c_str());
}

}  // namespace

TEST_CASE("bench: read, write and prep timings", "[.bench]") {
  const std::string root = test::data_dir();
  const std::string dir = test::scratch_dir("bench");
  const int reps = std::getenv("IMUNITY_BENCH_REPS") ? std::atoi(std::getenv("IMUNITY_BENCH_REPS")) : 5;
  struct Case {
    std::string name, path, labels;
  };
  const std::vector<Case> cases = {
      {"IXI013 2 mm 120x120x90 uint8", root + "/ixi_hh_2mm/t1/IXI013-HH-1212_T1.nii.gz", root + "/ixi_hh_2mm/labels/IXI013-HH-1212_T1_DLMUSE.nii.gz"},
      {"MNI152 1 mm 182x218x182 float32", root + "/templates/mni.nii.gz", ""},
      {"Siemens MPRAGE 1 mm 176x256x256 int16", root + "/unseen_scanners/siemens_trio_mprage.nii.gz", ""}};
  nifti_set_debug_level(0);
  std::printf("\n| %-58s | %8s | %8s |\n|---|---|---|---\n", "operation (ms)", "median", "min");
  for (const auto& c : cases) {
    std::printf("| **%s** | | | input %.1f MB\n", c.name.c_str(), fs::file_size(c.path) / 1e6);
    io::Volume v;
    row("read: ours (libdeflate, float32 + checks)", time_ms(reps, [&] { v = io::read_volume(c.path); }));
    bool same_layout = false;
    row("read: nifticlib nifti_image_read (zlib gzread, raw data)", time_ms(reps, [&] {
          nifti_image* nim = nifti_image_read(c.path.c_str(), 1);
          same_layout = nim && nim->nx == v.dim[0] && nim->ny == v.dim[1] && nim->nz == v.dim[2];
          nifti_image_free(nim);
        }));
    REQUIRE(same_layout);
    {
      nifti_image* nim = nifti_image_read(c.path.c_str(), 1);
      const std::string out = dir + "/niftilib.nii.gz";
      // nifti_set_filenames() would pick the type from the old header; set the names directly.
      free(nim->fname);
      free(nim->iname);
      nim->fname = nifti_strdup(out.c_str());
      nim->iname = nifti_strdup(out.c_str());
      nim->nifti_type = NIFTI_FTYPE_NIFTI1_1;
      const auto t = time_ms(reps, [&] { nifti_image_write(nim); });  // before file_size: argument order is unspecified
      row("write .nii.gz: nifticlib nifti_image_write (zlib level 6)", t, std::to_string(fs::file_size(out) / 1000) + " kB");
      nifti_image_free(nim);
    }
    for (int level : {1, 2, 3, 6}) {
      io::WriteOptions o;
      o.keep_datatype = true;
      o.gzip_level = level;
      const std::string out = dir + "/ours.nii.gz";
      const auto t = time_ms(reps, [&] { io::write_volume(out, v, o); });
      row("write .nii.gz: ours, input datatype, libdeflate level " + std::to_string(level), t, std::to_string(fs::file_size(out) / 1000) + " kB");
    }
    for (int level : {1, 2, 6}) {
      io::WriteOptions o;
      o.gzip_level = level;
      const std::string out = dir + "/ours_f.nii.gz";
      const auto t = time_ms(reps, [&] { io::write_volume(out, v, o); });
      row("write .nii.gz: ours, float32, libdeflate level " + std::to_string(level), t, std::to_string(fs::file_size(out) / 1000) + " kB");
      o.threads = 1;
      row("  same, one thread", time_ms(reps, [&] { io::write_volume(out, v, o); }));
    }
    io::Mask mask;
    row(c.labels.empty() ? "mask: automatic (Otsu + morphology)" : "mask: from the label map",
        time_ms(reps, [&] { mask = c.labels.empty() ? io::auto_mask(v) : io::read_label_mask(v, c.labels); }));
    io::PrepOptions po;
    po.voxel_size = 2;
    io::Prepared p;
    const auto t = time_ms(reps, [&] { p = io::prepare(v, mask, po); });
    row("prepare (canonical, wm-peak, 2 mm, pad)", t,
        std::to_string(p.image.dim[0]) + "x" + std::to_string(p.image.dim[1]) + "x" + std::to_string(p.image.dim[2]));
    row("whole prep: read + mask + prepare + write .nii.gz (level 1)", time_ms(reps, [&] {
          const io::Volume in = io::read_volume(c.path);
          const io::Mask m = c.labels.empty() ? io::auto_mask(in) : io::read_label_mask(in, c.labels);
          io::write_volume(dir + "/prep.nii.gz", io::prepare(in, m, po).image);
        }));
  }
}
