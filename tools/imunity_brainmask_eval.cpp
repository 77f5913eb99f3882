// imunity-brainmask-eval: the brain-mask network against the IXI labels of held-out subjects, as
// acquired and through virtual sites, and pictures of other scanners (docs/brain-extraction.md).
#include <CLI/CLI.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>

#include "engine/device.h"
#include "eval/plot.h"
#include "eval/segmentation.h"
#include "io/error.h"
#include "io/grid.h"
#include "io/nifti.h"
#include "io/orientation.h"
#include "io/simulate.h"
#include "tools/common/brain_mask.h"
#include "tools/brainmask/brainmask_train.h"
#include "tools/common/batch_inputs.h"

namespace fs = std::filesystem;
using namespace im;

namespace {

const char* kDescription = R"(imunity-brainmask-eval: evaluate the brain-mask network.

On the first --test subjects of DATA (sorted by name: the subjects held out of the network's
training), as acquired and through every virtual site of --sites (docs/sites/*.json, each subject
simulated with its label mask, seed 1): Dice, volume difference and the 95th-percentile surface
distance (MedPy's hd95) against the label mask (label > 0) on the T1 grid, and the time per volume.
--picture NAME=PATH adds a volume (any scanner) to a mosaic of axial, coronal and sagittal slices
through the mask's centroid, with the mask's outline.

Outputs in OUT: scores.tsv (one row per subject and site), summary.md (per site: mean, sd and
minimum of each figure, and the time), masks.png (the pictures), ixi.png (the held-out subject with
the lowest and the highest Dice, as acquired and through each site), and the masks of the pictures
as NIfTI.

Example (docs/brain-extraction.md):
  imunity-brainmask-eval --data ../shared/data/ixi_hh_2mm --sites docs/sites --out out/brainmask-eval \
      --picture "Siemens MPRAGE=../shared/data/unseen_scanners/siemens_trio_mprage.nii.gz")";

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

// Axial, coronal and sagittal tiles through the mask's centroid, on a 1 mm display grid (so thick
// slices keep their proportions), intensities up to the brain's 99.5th percentile.
std::vector<eval::Tile> view_tiles(const io::Volume& v, const io::Mask& m, const std::string& caption) {
  io::Volume c = io::to_canonical(v);
  io::Volume mv = c;
  io::Reorientation r = io::canonical_reorientation(v.affine, v.dim);
  const io::Mask cm = r.forward(m);
  for (size_t i = 0; i < cm.size(); ++i) mv.data[i] = cm[i];
  const io::GridMap g = io::resampling_map(c.dim, c.voxel_size(), {1, 1, 1});
  c = io::regrid(c, g, io::Interp::linear);
  mv = io::regrid(mv, g, io::Interp::nearest);
  const io::Dims d = c.dim;
  std::vector<float> inside;
  double cx = 0, cy = 0, cz = 0, n = 0;
  for (int64_t z = 0; z < d[2]; ++z)
    for (int64_t y = 0; y < d[1]; ++y)
      for (int64_t x = 0; x < d[0]; ++x)
        if (mv.at(x, y, z) > 0.5f) inside.push_back(c.at(x, y, z)), cx += x, cy += y, cz += z, n += 1;
  const double hi = inside.empty() ? 1 : io::percentile(inside, 99.5);
  const int64_t at[3] = {static_cast<int64_t>(cx / std::max(n, 1.0)), static_cast<int64_t>(cy / std::max(n, 1.0)),
                         static_cast<int64_t>(cz / std::max(n, 1.0))};
  std::vector<eval::Tile> tiles;
  // axial (x right, y up), coronal (x right, z up), sagittal (y right, z up)
  const int axes[3][2] = {{0, 1}, {0, 2}, {1, 2}};
  const int fixed[3] = {2, 1, 0};
  for (int k = 0; k < 3; ++k) {
    eval::Tile t;
    const int a = axes[k][0], b = axes[k][1];
    t.w = static_cast<int>(d[a]), t.h = static_cast<int>(d[b]);
    t.lo = 0, t.hi = hi;
    t.value.resize(static_cast<size_t>(t.w) * t.h);
    t.outline.resize(t.value.size());
    for (int j = 0; j < t.h; ++j)
      for (int i = 0; i < t.w; ++i) {
        int64_t p[3];
        p[fixed[k]] = at[fixed[k]], p[a] = i, p[b] = t.h - 1 - j;
        t.value[static_cast<size_t>(j) * t.w + i] = c.at(p[0], p[1], p[2]);
        t.outline[static_cast<size_t>(j) * t.w + i] = mv.at(p[0], p[1], p[2]) > 0.5f;
      }
    if (k == 0) t.caption = caption;
    tiles.push_back(std::move(t));
  }
  return tiles;
}

struct Row {
  std::string subject, site;
  eval::SegmentationScores s;
  double seconds = 0;
};

std::string fmt(const char* f, double a, double b = 0, double c = 0) {
  char buf[96];
  std::snprintf(buf, sizeof buf, f, a, b, c);
  return buf;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{kDescription, "imunity-brainmask-eval"};
  std::string data, sites_dir, out, model_path;
  std::vector<std::string> pictures;
  int test = 20, threads = 0;
  app.add_option("--data", data, "folder with t1/ and labels/")->required()->check(CLI::ExistingDirectory);
  app.add_option("--sites", sites_dir, "folder of virtual sites (*.json)")->check(CLI::ExistingDirectory);
  app.add_option("--test", test, "the first subjects (sorted), held out of training")->default_val(20)->check(CLI::PositiveNumber);
  app.add_option("--out", out, "output folder (created)")->required();
  app.add_option("--model", model_path, "brain-mask weights (default: the shipped ones)")->check(CLI::ExistingFile);
  app.add_option("--picture", pictures, "NAME=PATH: a volume for the mosaic (repeatable)");
  app.add_option("--threads", threads, "CPU threads (default: all cores)")->check(CLI::NonNegativeNumber);
  CLI11_PARSE(app, argc, argv);
  try {
    if (threads > 0) set_num_threads(threads);
    fs::create_directories(out);
    const auto model = tools::load_brain_mask_model(model_path.empty() ? tools::default_brain_mask_model_path() : model_path);
    std::vector<io::Site> sites;
    if (!sites_dir.empty()) {
      std::vector<std::string> files;
      for (const auto& e : fs::directory_iterator(sites_dir))
        if (e.path().extension() == ".json") files.push_back(e.path().string());
      std::sort(files.begin(), files.end());
      for (const std::string& f : files)
        for (const io::Site& s : io::read_sites(f)) sites.push_back(s);
    }
    std::vector<tools::LabelledScan> scans = tools::list_labelled_scans(data);
    if (static_cast<int>(scans.size()) < test) throw io::Error(data + ": fewer than " + std::to_string(test) + " labelled scans");
    scans.resize(static_cast<size_t>(test));

    std::vector<Row> rows;
    std::map<std::string, std::pair<io::Volume, io::Mask>> keep;  // for the IXI picture
    std::ofstream tsv(fs::path(out) / "scores.tsv");
    tsv << "subject\tsite\tdice\tvolume_ml\ttruth_ml\tvolume_diff_pct\thd95_mm\tassd_mm\tseconds\n";
    for (const tools::LabelledScan& scan : scans) {
      const io::Volume t1 = io::read_volume(scan.t1);
      const io::Mask truth = io::read_label_mask(t1, scan.labels);
      for (size_t k = 0; k <= sites.size(); ++k) {
        const std::string site = k == 0 ? "as acquired" : sites[k - 1].name;
        const io::Volume in = k == 0 ? t1 : io::simulate_site(t1, truth, sites[k - 1], 1, scan.name);
        const auto t = std::chrono::steady_clock::now();
        const io::Mask m = tools::predict_brain_mask(*model->net, in).mask;
        Row r{scan.name, site, eval::compare_masks(m, truth, t1.dim, t1.voxel_size()), seconds_since(t)};
        tsv << r.subject << '\t' << r.site << '\t' << r.s.dice << '\t' << r.s.volume_ml << '\t' << r.s.truth_ml << '\t'
            << r.s.volume_diff_pct << '\t' << r.s.hd95_mm << '\t' << r.s.mean_surface_mm << '\t' << r.seconds << '\n';
        std::printf("%-20s %-18s Dice %.4f  vol %+.1f%%  HD95 %.1f mm  %.2f s\n", r.subject.c_str(), site.c_str(), r.s.dice,
                    r.s.volume_diff_pct, r.s.hd95_mm, r.seconds);
        std::fflush(stdout);
        rows.push_back(r);
      }
    }

    // Summary per site.
    std::ofstream md(fs::path(out) / "summary.md");
    md << "| input | Dice mean ± sd | Dice min | volume difference % mean ± sd | HD95 mm mean ± sd | HD95 max | s per volume |\n"
       << "|---|---:|---:|---:|---:|---:|---:|\n";
    std::vector<std::string> order{"as acquired"};
    for (const io::Site& s : sites) order.push_back(s.name);
    for (const std::string& site : order) {
      std::vector<double> dc, vd, hd, sec;
      for (const Row& r : rows)
        if (r.site == site) dc.push_back(r.s.dice), vd.push_back(r.s.volume_diff_pct), hd.push_back(r.s.hd95_mm), sec.push_back(r.seconds);
      auto ms = [](const std::vector<double>& v) {
        double m = 0, q = 0;
        for (double x : v) m += x;
        m /= static_cast<double>(v.size());
        for (double x : v) q += (x - m) * (x - m);
        return std::make_pair(m, std::sqrt(q / std::max<double>(1, static_cast<double>(v.size()) - 1)));
      };
      const auto [dm, ds] = ms(dc);
      const auto [vm, vs] = ms(vd);
      const auto [hm, hs] = ms(hd);
      md << "| " << site << " | " << fmt("%.4f ± %.4f", dm, ds) << " | " << fmt("%.4f", *std::min_element(dc.begin(), dc.end()))
         << " | " << fmt("%+.2f ± %.2f", vm, vs) << " | " << fmt("%.2f ± %.2f", hm, hs) << " | "
         << fmt("%.1f", *std::max_element(hd.begin(), hd.end())) << " | " << fmt("%.2f", ms(sec).first) << " |\n";
    }
    md.close();
    std::printf("\n%s", [&] {
      std::ifstream f(fs::path(out) / "summary.md");
      return std::string(std::istreambuf_iterator<char>(f), {});
    }().c_str());

    // Pictures of other scanners.
    std::vector<std::vector<eval::Tile>> tiles;
    std::vector<std::string> titles;
    for (const std::string& p : pictures) {
      const size_t eq = p.find('=');
      if (eq == std::string::npos) throw io::Error("--picture needs NAME=PATH, got \"" + p + "\"");
      const std::string name = p.substr(0, eq), path = p.substr(eq + 1);
      const io::Volume v = io::read_volume(path);
      const auto t = std::chrono::steady_clock::now();
      const tools::BrainMaskResult r = tools::predict_brain_mask(*model->net, v);
      const double sec = seconds_since(t);
      const io::Vec3 vox = v.voxel_size();
      const double ml = static_cast<double>(io::mask_count(r.mask)) * vox[0] * vox[1] * vox[2] / 1000;
      std::printf("%s: %lldx%lldx%lld, %.2fx%.2fx%.2f mm: brain %.0f mL, %.2f s\n", name.c_str(), static_cast<long long>(v.dim[0]),
                  static_cast<long long>(v.dim[1]), static_cast<long long>(v.dim[2]), vox[0], vox[1], vox[2], ml, sec);
      tiles.push_back(view_tiles(v, r.mask, fmt("%.0f mL, %.2f s", ml, sec)));
      titles.push_back(name);
      io::Volume mv = v;
      mv.header.datatype = io::dtype::uint8;
      mv.header.scl_slope = 1, mv.header.scl_inter = 0;
      for (size_t i = 0; i < mv.data.size(); ++i) mv.data[i] = r.mask[i];
      io::WriteOptions wo;
      wo.keep_datatype = true;
      io::write_volume((fs::path(out) / (tools::output_stem(path) + "_desc-brain_mask.nii.gz")).string(), mv, wo);
    }
    if (!tiles.empty()) eval::write_png((fs::path(out) / "masks.png").string(), eval::render_mosaic(tiles, {"axial", "coronal", "sagittal"}, titles, 1, 2));

    // The held-out subjects with the lowest and the highest Dice as acquired, through each site.
    std::vector<const Row*> acquired;
    for (const Row& r : rows)
      if (r.site == "as acquired") acquired.push_back(&r);
    std::sort(acquired.begin(), acquired.end(), [](const Row* a, const Row* b) { return a->s.dice < b->s.dice; });
    tiles.clear(), titles.clear();
    for (const Row* pick : {acquired.front(), acquired.back()}) {
      const tools::LabelledScan* scan = nullptr;
      for (const auto& s : scans)
        if (s.name == pick->subject) scan = &s;
      const io::Volume t1 = io::read_volume(scan->t1);
      const io::Mask truth = io::read_label_mask(t1, scan->labels);
      for (size_t k = 0; k <= sites.size(); ++k) {
        const io::Volume in = k == 0 ? t1 : io::simulate_site(t1, truth, sites[k - 1], 1, scan->name);
        const io::Mask m = tools::predict_brain_mask(*model->net, in).mask;
        std::vector<eval::Tile> v = view_tiles(in, m, fmt("Dice %.4f", eval::dice(m, truth)));
        tiles.push_back({v[0], v[1], v[2]});
        titles.push_back(pick->subject + "\n" + (k == 0 ? std::string("as acquired") : sites[k - 1].name));
      }
    }
    eval::write_png((fs::path(out) / "ixi.png").string(), eval::render_mosaic(tiles, {"axial", "coronal", "sagittal"}, titles, 1, 2));
    std::printf("imunity-brainmask-eval: wrote %s/{scores.tsv,summary.md,masks.png,ixi.png}\n", out.c_str());
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "imunity-brainmask-eval: error: %s\n", e.what());
    return 2;
  }
}
