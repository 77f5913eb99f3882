// imunity-prep: one volume -> canonical, masked, normalized, resampled, padded volume + JSON sidecar.
#include <CLI/CLI.hpp>
#include <omp.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "io/atomic_file.h"
#include "io/error.h"
#include "io/json_io.h"
#include "io/n4.h"
#include "io/nifti.h"
#include "io/prep.h"
#include "tools/common/brain_mask.h"

namespace fs = std::filesystem;
using namespace im::io;

namespace {

double ms_since(std::chrono::steady_clock::time_point& t) {
  const auto now = std::chrono::steady_clock::now();
  const double ms = std::chrono::duration<double, std::milli>(now - t).count();
  t = now;
  return ms;
}

const char* kDescription = R"(imunity-prep: prepare one T1-weighted volume for ImUnity.

Steps, in order:
  1. read IN (NIfTI-1/2, .nii or .nii.gz; scl_slope/scl_inter applied);
  2. reorient to canonical RAS (axial slices are z-slices), keeping world coordinates;
  3. brain mask: --mask M (value > 0.5), --labels L (label > 0; any grid, mapped through the two
     affines by nearest neighbour), --brain-mask net (imunity's brain-extraction network,
     docs/brain-extraction.md), or --auto-mask (= --brain-mask head, the default: Otsu foreground +
     closing + largest component + hole filling: a HEAD mask, not skull stripping);
  4. with --n4: N4 bias-field correction (Tustison et al. 2010, through ITK) fitted inside the mask
     on a grid of about --n4-fit-mm voxels (or every --n4-shrink-th voxel), the field rebuilt at full
     resolution; the volume is divided by it (geometric mean 1 over the mask) [off by default];
  5. intensity normalization inside the mask (--norm):
       wm-peak      out = clip(0.7 * in / P, 0, 1), P = last mode of the smoothed histogram of the
                    masked voxels below their 99.5th percentile (the white-matter peak) [default]
       white-stripe z = (in - mean) / sd over the voxels within +-5% (quantiles) of the WM peak,
                    out = clip(0.7 + 0.0175 * z, 0, 1)
       none         voxels unchanged
     fitted on (--norm-region):
       auto         the brain core with the automatic head mask, the mask otherwise [default]
       brain-core   the mask's voxels deeper than 22 mm inside it and at most 100 mm below its
                    top (scalp, skull, face, neck fall away; a reference region, not a brain mask)
       mask         all the mask's voxels
  6. voxels outside the mask set to 0 (unless --keep-background);
  7. resampling to --voxel-size MM (trilinear, anti-aliased; mask nearest); 0 keeps the spacing;
  8. centred zero pad (or crop, --plane) of the axial plane to multiples of 16.

Writes OUT (float32, on the processed grid, with its affine), OUT.json (input, full record to undo
every step but N4, what N4 did: options, time, field range; timings, version) and, with
--save-mask, the mask on the same grid. Nothing is written unless everything succeeds; existing
outputs are kept unless --overwrite.

Example:
  imunity-prep --in sub01_T1.nii.gz --labels sub01_labels.nii.gz --voxel-size 2 --n4 \
               --out prep/sub01.nii.gz --save-mask prep/sub01_mask.nii.gz
)";

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{kDescription, "imunity-prep"};
  std::string in, out, mask_path, labels_path, save_mask, norm = "wm-peak", norm_region = "auto", plane, brain_mask;
  bool use_auto_mask = false, overwrite = false, keep_background = false, nan_to_zero = false;
  double voxel_size = 0;
  int64_t volume = -1;
  int gzip_level = WriteOptions{}.gzip_level;
  app.add_option("--in", in, "input volume (.nii or .nii.gz)")->required();
  app.add_option("--out", out, "output volume (.nii or .nii.gz); its sidecar is OUT.json")->required();
  auto* m = app.add_option("--mask", mask_path, "brain mask file (value > 0.5 is brain; any grid)");
  auto* l = app.add_option("--labels", labels_path, "label map (label > 0 is brain; any grid, e.g. a 1 mm atlas for a 2 mm image)");
  auto* a = app.add_flag("--auto-mask", use_auto_mask, "automatic head/foreground mask (default when no mask is given; not skull stripping)");
  auto* b = app.add_option("--brain-mask", brain_mask, "net (the brain-extraction network) or head (= --auto-mask)")
                ->check(CLI::IsMember({"net", "head"}));
  m->excludes(l)->excludes(a)->excludes(b);
  l->excludes(a)->excludes(b);
  a->excludes(b);
  app.add_option("--voxel-size", voxel_size, "isotropic voxel size in mm (0 keeps the input spacing)")->default_val(0)->check(CLI::NonNegativeNumber);
  app.add_option("--norm", norm, "intensity normalization: wm-peak, white-stripe or none")->default_val("wm-peak");
  app.add_option("--norm-region", norm_region,
                 "voxels the normalization is fitted on: auto (brain core with the automatic head mask, else the mask), "
                 "brain-core or mask")
      ->default_val("auto");
  app.add_option("--plane", plane, "fixed axial plane size WxH (e.g. 128x128; pads or crops); default: pad to multiples of 16");
  app.add_option("--save-mask", save_mask, "also write the brain mask on the processed grid (uint8)");
  app.add_flag("--keep-background", keep_background, "keep voxels outside the mask (default: set them to 0)");
  app.add_option("--volume", volume, "volume index for a 4-D input (0-based); 4-D input is refused without it");
  app.add_flag("--nan-to-zero", nan_to_zero, "replace NaN/Inf voxels by 0 (default: refuse such input)");
  app.add_option("--gzip-level", gzip_level, "gzip level for .nii.gz outputs (0-12, libdeflate)")->default_val(gzip_level)->check(CLI::Range(0, 12));
  N4Options n4o;
  std::string n4_iterations = format_n4_iterations(n4o.iterations);
  bool n4 = false;
  int threads = 0;
  app.add_flag("--n4", n4, std::string("N4 bias-field correction inside the mask before normalization") +
                               (n4_available() ? "" : " (UNAVAILABLE in this build: no ITK)"));
  app.add_option("--n4-fit-mm", n4o.fit_mm, "N4 fits on a grid of about this voxel size (mm), shrinking each axis by an integer factor")
      ->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--n4-shrink", n4o.shrink, "N4 shrink factor for every axis instead of --n4-fit-mm (1: full resolution)")
      ->check(CLI::PositiveNumber);
  app.add_option("--n4-iterations", n4_iterations, "N4 maximum iterations per fitting level (the levels halve the B-spline spans)")
      ->capture_default_str();
  app.add_option("--threads", threads, "threads (OpenMP and ITK; default: all cores)")->check(CLI::NonNegativeNumber);
  app.add_flag("--overwrite", overwrite, "replace existing outputs");
  CLI11_PARSE(app, argc, argv);

  try {
    auto t = std::chrono::steady_clock::now();
    nlohmann::json timings;
    if (!has_nifti_extension(out)) fail(out, "output name must end in .nii or .nii.gz");
    if (!save_mask.empty() && !has_nifti_extension(save_mask)) fail(save_mask, "mask output name must end in .nii or .nii.gz");
    const std::string sidecar = out + ".json";
    for (const std::string& p : {out, sidecar, save_mask})
      if (!p.empty() && !overwrite && fs::exists(p)) fail(p, "already exists (use --overwrite to replace it)");
    if (!save_mask.empty() && fs::absolute(save_mask) == fs::absolute(out)) fail(out, "--out and --save-mask name the same file");

    if (threads > 0) omp_set_num_threads(threads);
    PrepOptions opt;
    opt.voxel_size = voxel_size;
    opt.n4 = n4;
    n4o.iterations = parse_n4_iterations(n4_iterations);
    opt.n4_options = n4o;
    if (n4 && !n4_available()) throw Error("--n4: N4 bias-field correction is unavailable in this build (built without ITK)");
    opt.norm.method = parse_norm(norm);
    opt.norm.region = parse_region(norm_region);
    opt.apply_mask = !keep_background;
    if (!plane.empty()) {
      long long w = 0, h = 0;
      if (std::sscanf(plane.c_str(), "%lldx%lld", &w, &h) != 2 || w <= 0 || h <= 0)
        throw Error("--plane must look like 128x128, not '" + plane + "'");
      opt.plane_x = w, opt.plane_y = h;
    }
    MaskSpec spec;
    if (!mask_path.empty()) spec = {MaskSpec::Kind::file, mask_path};
    if (!labels_path.empty()) spec = {MaskSpec::Kind::labels, labels_path};
    if (brain_mask == "net") spec = {MaskSpec::Kind::net, ""};

    ReadOptions ro;
    ro.volume = volume;
    ro.nonfinite = nan_to_zero ? NonFinite::zero : NonFinite::reject;
    const Volume input = read_volume(in, ro);
    timings["read"] = ms_since(t);
    std::vector<std::string> warnings;
    if (const std::string w = orientation_warning(input.header); !w.empty()) {
      warnings.push_back(w);
      std::fprintf(stderr, "imunity-prep: warning: %s: %s\n", in.c_str(), w.c_str());
    }
    const Mask mask = im::tools::load_any_mask(input, spec);
    timings["mask"] = ms_since(t);
    Prepared p;
    try {
      p = prepare(input, mask, opt, spec.describe());
    } catch (const Error& e) {
      fail(in, e.what());
    }
    p.record.input = in;
    timings["prepare"] = ms_since(t);

    WriteOptions wo;
    wo.gzip_level = gzip_level;
    AtomicFileSet files;
    files.add(out, encode_volume(p.image, is_gz_path(out), wo));
    if (!save_mask.empty()) {
      Volume mv = p.image;
      mv.header.datatype = dtype::uint8;
      mv.header.cal_min = 0, mv.header.cal_max = 1;
      for (size_t i = 0; i < mv.data.size(); ++i) mv.data[i] = p.mask[i];
      WriteOptions mo = wo;
      mo.keep_datatype = true;
      files.add(save_mask, encode_volume(mv, is_gz_path(save_mask), mo));
    }
    timings["encode"] = ms_since(t);
    // Where the normalization's statistics came from (the brain core of a head mask, or the mask).
    nlohmann::json record = record_to_json(p.record);
    nlohmann::json& nj = record["normalization"];
    nj["region"] = region_name(p.record.norm.region);
    nj["region_voxels"] = p.record.norm.region_voxels;
    if (p.record.norm.region == NormRegion::brain_core)
      nj["brain_core"] = {{"margin_mm", p.record.norm.core_margin_mm}, {"depth_mm", p.record.norm.core_depth_mm}};
    nlohmann::json side = {{"tool", "imunity-prep"},
                           {"version", IMUNITY_VERSION},
                           {"input", in},
                           {"output", out},
                           {"mask_output", save_mask},
                           {"options",
                            {{"voxel_size", voxel_size}, {"norm", norm}, {"norm_region", norm_region}, {"plane", plane},
                             {"keep_background", keep_background}, {"brain_mask", brain_mask.empty() ? "head" : brain_mask},
                             {"n4", n4},
                             {"n4_options", n4 ? n4_options_to_json(n4o) : nlohmann::json(nullptr)},
                             {"volume", volume}, {"nan_to_zero", nan_to_zero}, {"gzip_level", gzip_level}}},
                           {"record", record},
                           {"warnings", warnings},
                           {"timings_ms", timings}};
    files.add(sidecar, side.dump(2) + "\n");
    files.commit(overwrite);
    std::printf("imunity-prep: %s -> %s (%lldx%lldx%lld, brain %.1f%%, WM peak %.4g from the %s)\n", in.c_str(), out.c_str(),
                static_cast<long long>(p.image.dim[0]), static_cast<long long>(p.image.dim[1]),
                static_cast<long long>(p.image.dim[2]), 100 * p.record.mask_fraction, p.record.norm.wm_peak,
                p.record.norm.region == NormRegion::brain_core ? "brain core" : "mask");
    if (p.record.n4)
      std::printf("imunity-prep: N4 (%s): field %.3f to %.3f inside the mask, %.2f s\n", describe(n4o).c_str(), p.record.n4_info.field_min,
                  p.record.n4_info.field_max, p.record.n4_info.seconds);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "imunity-prep: error: %s\n", e.what());
    return 1;
  }
}
