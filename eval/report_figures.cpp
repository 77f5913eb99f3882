// The report's figures: mosaic, histograms per site, SSIM scatter, embeddings.
#include <algorithm>
#include <cmath>
#include <cstdio>

#include "eval/report.h"

namespace im::eval {

namespace {

std::string site_label(const std::string& s) { return s.empty() ? "(no site)" : s; }

// Scatter series of site k: its name, colour and marker (the same in every per-site figure), no points yet.
Series site_series(const EvalResults& r, size_t k) {
  static const Marker markers[4] = {Marker::circle, Marker::square, Marker::triangle, Marker::diamond};
  Series s;
  s.name = site_label(r.dataset.sites[k]);
  s.color = palette(static_cast<int>(k));
  s.marker = markers[k % 4];
  s.width = 7;
  return s;
}

Plot histogram_plot(const EvalResults& r, bool after) {
  Plot p;
  p.title = after ? "After harmonization" : "Before harmonization";
  p.xlabel = "intensity inside the brain mask";
  p.ylabel = "density (mean over subjects)";
  p.style.width = 760, p.style.height = 500;
  p.style.x_min = 0, p.style.x_max = 1, p.style.y_min = 0;
  const int bins = r.options.hist_bins;
  double ymax = 0;
  auto add = [&](const std::string& name, Color c, double width, const std::vector<const std::vector<double>*>& hs) {
    if (hs.empty()) return;
    Series s;
    s.name = name;
    s.color = c;
    s.width = width;
    for (int b = 0; b < bins; ++b) {
      double m = 0;
      for (const auto* h : hs) m += (*h)[b];
      s.x.push_back((b + 0.5) / bins);
      s.y.push_back(m / static_cast<double>(hs.size()));
      ymax = std::max(ymax, s.y.back());
    }
    p.series.push_back(s);
  };
  if (r.has_truth) {  // drawn first, wide and grey, so the sites' curves stay visible on top of it
    std::vector<const std::vector<double>*> hs;
    for (const auto& s : r.subjects) hs.push_back(&s.hist_truth);
    add("ground truth", {175, 175, 175}, 7, hs);
  }
  for (size_t k = 0; k < r.dataset.sites.size(); ++k) {
    std::vector<const std::vector<double>*> hs;
    for (const auto& s : r.subjects)
      if (s.site_index == static_cast<int>(k)) hs.push_back(after ? &s.hist_after : &s.hist_before);
    add(site_label(r.dataset.sites[k]) + " (n=" + std::to_string(hs.size()) + ")", palette(static_cast<int>(k)), 2.5, hs);
  }
  p.style.y_max = ymax * 1.1 + 1e-9;
  p.style.legend_outside = true;
  return p;
}

Plot embedding_plot(const EvalResults& r, const Matrix& pts, const std::string& title, const std::string& xl,
                    const std::string& yl) {
  Plot p;
  p.title = title, p.xlabel = xl, p.ylabel = yl;
  p.style.width = 720, p.style.height = 580;
  p.style.legend_outside = true;
  for (size_t k = 0; k < r.dataset.sites.size(); ++k) {
    Series s = site_series(r, k);
    for (size_t i = 0; i < r.subjects.size() && i < pts.size(); ++i)
      if (r.subjects[i].site_index == static_cast<int>(k)) s.x.push_back(pts[i][0]), s.y.push_back(pts[i][1]);
    p.series.push_back(s);
  }
  return p;
}

std::string pct(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.0f%%", 100 * v);
  return buf;
}

}  // namespace

std::vector<Figure> make_figures(const EvalResults& r) {
  std::vector<Figure> figs;
  // Mosaic: one row per shown subject.
  {
    std::vector<std::vector<Tile>> rows;
    std::vector<std::string> row_titles;
    int maxdim = 1;
    for (const auto& s : r.subjects)
      if (s.in_mosaic) maxdim = std::max({maxdim, s.tile_before.w, s.tile_before.h});
    const int zoom = std::clamp(static_cast<int>(std::lround(240.0 / maxdim)), 1, 8);
    for (const auto& s : r.subjects) {
      if (!s.in_mosaic) continue;
      std::vector<Tile> row = {s.tile_before, s.tile_after};
      if (r.has_truth) row.push_back(s.tile_truth);
      rows.push_back(row);
      row_titles.push_back(site_label(s.subject.site) + "\n" + s.subject.key);
    }
    if (!rows.empty()) {
      std::vector<std::string> cols = {"input", "harmonized"};
      if (r.has_truth) cols.push_back("ground truth");
      Figure f;
      f.name = "mosaic.png";
      f.title = "Axial slices through the brain's centre";
      f.caption = "One subject per site (up to " + std::to_string(r.options.mosaic_max) +
                  "); canonical RAS orientation, anterior up, subject's right on the right; "
                  "grey scale 0 (black) to " + std::string(r.options.intensity == io::NormMethod::none ? "the 99.5th brain percentile" : "1") +
                  " (white) after intensity scaling." +
                  (r.has_truth ? " Captions: masked 2-D SSIM of the slice against the ground truth." : "");
      f.image = render_mosaic(rows, cols, row_titles, zoom, 2);
      figs.push_back(std::move(f));
    }
  }
  // Histograms before and after.
  for (bool after : {false, true}) {
    Figure f;
    f.name = after ? "histograms_after.png" : "histograms_before.png";
    f.title = after ? "Intensity histograms after harmonization" : "Intensity histograms before harmonization";
    f.caption = "Mean density of brain-voxel intensities per site (" + std::to_string(r.options.hist_bins) +
                " bins over [0,1]" + (r.has_truth ? "; wide grey: the ground truth" : "") + ").";
    f.image = render_line_plot(histogram_plot(r, after));
    figs.push_back(std::move(f));
  }
  // SSIM raw vs harmonized per subject.
  if (r.has_truth) {
    Plot p;
    p.title = "SSIM to the ground truth, per subject";
    p.xlabel = "raw (input vs truth)";
    p.ylabel = "harmonized (output vs truth)";
    p.style.width = 720, p.style.height = 580;
    p.style.diagonal = true;
    p.style.legend_outside = true;
    double lo = 1, hi = 0;
    for (const auto& s : r.subjects)
      for (double v : {s.raw.ssim2d_masked, s.harmonized.ssim2d_masked})
        if (std::isfinite(v)) lo = std::min(lo, v), hi = std::max(hi, v);
    const double pad = std::max(0.01, 0.06 * (hi - lo));
    p.style.x_min = p.style.y_min = lo - pad;
    p.style.x_max = p.style.y_max = hi + pad;
    for (size_t k = 0; k < r.dataset.sites.size(); ++k) {
      Series s = site_series(r, k);
      for (const auto& sr : r.subjects)
        if (sr.site_index == static_cast<int>(k)) s.x.push_back(sr.raw.ssim2d_masked), s.y.push_back(sr.harmonized.ssim2d_masked);
      p.series.push_back(s);
    }
    Figure f;
    f.name = "ssim_scatter.png";
    f.title = "Similarity to the ground truth";
    f.caption = "Masked 2-D SSIM per subject; points above the dashed line improved with harmonization.";
    f.image = render_scatter_plot(p);
    figs.push_back(std::move(f));
  }
  // Embeddings.
  auto pca_axes = [](const Pca& p, int c) {
    return "PC" + std::to_string(c + 1) + (c < static_cast<int>(p.explained.size()) ? " (" + pct(p.explained[c]) + ")" : "");
  };
  if (!r.pca_before.projection.empty()) {
    for (bool after : {false, true}) {
      const Pca& p = after ? r.pca_after : r.pca_before;
      Figure f;
      f.name = after ? "pca_after.png" : "pca_before.png";
      f.title = after ? "PCA after" : "PCA before";
      f.caption = "First two principal components of the standardized radiomic features, coloured by site.";
      f.image = render_scatter_plot(embedding_plot(r, p.projection, after ? "PCA, after" : "PCA, before",
                                                   pca_axes(p, 0), pca_axes(p, 1)));
      figs.push_back(std::move(f));
    }
  }
  if (!r.tsne_before.empty()) {
    for (bool after : {false, true}) {
      Figure f;
      f.name = after ? "tsne_after.png" : "tsne_before.png";
      f.title = after ? "t-SNE after" : "t-SNE before";
      f.caption = "Exact t-SNE (perplexity min(30, (n-1)/3), PCA initialization) of the standardized features.";
      f.image = render_scatter_plot(embedding_plot(r, after ? r.tsne_after : r.tsne_before,
                                                   after ? "t-SNE, after" : "t-SNE, before", "t-SNE 1", "t-SNE 2"));
      figs.push_back(std::move(f));
    }
  }
  return figs;
}

}  // namespace im::eval
