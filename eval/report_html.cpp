// The self-contained HTML report: summary cards, figures (base64 PNG), tables with conventions.
#include <cmath>
#include <cstdio>
#include <sstream>

#include "eval/report.h"
#include "eval/report_internal.h"

#ifndef IMUNITY_VERSION
#define IMUNITY_VERSION "unknown"
#endif

namespace im::eval {

namespace {

const char* kStyle = R"CSS(
:root{--fg:#1d2330;--muted:#5d6677;--line:#e2e5eb;--bg:#f4f5f7;--card:#fff;--accent:#1f5fa8;--good:#17803d;--bad:#b3261e}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:15px/1.5 -apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,"DejaVu Sans",sans-serif}
header{background:linear-gradient(135deg,#14233a,#1e3a5f);color:#fff;padding:30px 0 46px}
header .wrap,main{max-width:1160px;margin:0 auto;padding:0 32px}
header h1{margin:0;font-size:27px;font-weight:600;letter-spacing:-.01em}
header .sub{color:#b8c6dc;margin-top:6px;font-size:14px}
main{padding-bottom:40px}
.cards{display:grid;grid-template-columns:repeat(4,1fr);gap:14px;margin-top:-28px}
.card{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:14px 16px;box-shadow:0 2px 6px rgba(20,35,58,.07)}
.card .label{font-size:11.5px;text-transform:uppercase;letter-spacing:.07em;color:var(--muted);font-weight:600}
.card .value{font-size:24px;font-weight:600;margin:4px 0 2px;font-variant-numeric:tabular-nums;white-space:nowrap}
.card .value .arrow{color:var(--muted);font-weight:400;margin:0 4px}
.card .note{font-size:12.5px;color:var(--muted)}
section{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:20px 24px;margin:18px 0}
section h2{margin:0 0 4px;font-size:19px;font-weight:600}
section h3{margin:18px 0 6px;font-size:15px;font-weight:600}
p.lead{margin:0 0 14px;color:var(--muted);font-size:14px}
table{border-collapse:collapse;width:100%;font-size:14px;font-variant-numeric:tabular-nums}
th,td{padding:6px 10px;border-bottom:1px solid var(--line);text-align:right;white-space:nowrap}
th:first-child,td:first-child{text-align:left}
thead th{font-size:11.5px;text-transform:uppercase;letter-spacing:.05em;color:var(--muted);font-weight:600}
thead tr.group th{border-bottom:none;padding-bottom:0;text-align:center;color:var(--fg)}
tbody tr:nth-child(even){background:#f9fafb}
tbody tr.total td{font-weight:600;border-top:2px solid var(--line)}
.sd{color:var(--muted);font-size:12px;margin-left:3px}
.good{color:var(--good);font-weight:600}.bad{color:var(--bad);font-weight:600}.muted{color:var(--muted)}
ul.conv{font-size:12.5px;color:var(--muted);margin:10px 0 0;padding-left:18px}
code{font-family:ui-monospace,"DejaVu Sans Mono",Menlo,Consolas,monospace;font-size:12.5px;background:#f0f2f5;padding:1px 4px;border-radius:4px}
figure{margin:0}figure img{max-width:100%;height:auto;border:1px solid var(--line);border-radius:6px;display:block}
figcaption{font-size:12.5px;color:var(--muted);margin-top:6px}
.grid2{display:grid;grid-template-columns:1fr 1fr;gap:18px}
.grid2 img{width:100%}
details{margin-top:10px}details summary{cursor:pointer;color:var(--accent);font-size:14px}
dl.kv{display:grid;grid-template-columns:max-content 1fr;gap:4px 18px;font-size:14px;margin:0}
dl.kv dt{color:var(--muted)}dl.kv dd{margin:0;word-break:break-all}
.warn{background:#fff7e0;border:1px solid #efd588;border-radius:8px;padding:10px 14px;font-size:14px;margin-top:18px}
.pill{display:inline-block;font-size:12px;padding:1px 8px;border-radius:10px;background:#eef2f8;color:var(--accent);margin-left:6px}
footer{color:var(--muted);font-size:12px;text-align:center;margin:26px 0}
@media (max-width:900px){.cards{grid-template-columns:1fr 1fr}.grid2{grid-template-columns:1fr}}
)CSS";

std::string f(double v, int dec = 3) {
  if (std::isinf(v)) return v > 0 ? "&infin;" : "&minus;&infin;";
  if (!std::isfinite(v)) return "&mdash;";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", dec, v);
  return buf;
}

std::string msd(const MeanSd& m, int dec = 3) {
  if (m.n == 0 || std::isnan(m.mean)) return "&mdash;";
  if (std::isinf(m.mean)) return f(m.mean, dec);
  return f(m.mean, dec) + (m.n > 1 ? "<span class=\"sd\">&plusmn;" + f(m.sd, dec) + "</span>" : "");
}

// "0.912 → 0.945" coloured by whether the change is good (higher_better) or bad.
std::string change(double a, double b, bool higher_better, int dec = 3) {
  std::string cls;
  if (std::isfinite(a) && std::isfinite(b) && std::fabs(b - a) > 0.5 * std::pow(10.0, -dec))
    cls = ((b > a) == higher_better) ? "good" : "bad";
  return f(a, dec) + "<span class=\"arrow\">&rarr;</span><span class=\"" + cls + "\">" + f(b, dec) + "</span>";
}

std::string delta(double a, double b, bool higher_better, int dec = 3) {
  if (!std::isfinite(a) || !std::isfinite(b)) return "&mdash;";
  const double d = b - a;
  char buf[32];
  std::snprintf(buf, sizeof buf, "%+.*f", dec, d);
  const std::string cls = std::fabs(d) < 0.5 * std::pow(10.0, -dec) ? "muted" : ((d > 0) == higher_better ? "good" : "bad");
  return "<span class=\"" + cls + "\">" + buf + "</span>";
}

std::string pm(double m, double sd, int dec = 3) {
  if (!std::isfinite(m)) return "&mdash;";
  return f(m, dec) + "<span class=\"sd\">&plusmn;" + f(sd, dec) + "</span>";
}

std::string figure_html(const Figure& fig, bool natural = false) {
  std::ostringstream o;
  o << "<figure><img alt=\"" << html_escape(fig.title) << "\" src=\"data:image/png;base64," << base64(encode_png(fig.image))
    << "\"" << (natural ? " style=\"width:" + std::to_string(fig.image.width) + "px\"" : std::string()) << "><figcaption>"
    << html_escape(fig.caption) << "</figcaption></figure>";
  return o.str();
}

const Figure* find(const std::vector<Figure>& figs, const std::string& name) {
  for (const Figure& fg : figs)
    if (fg.name == name) return &fg;
  return nullptr;
}

std::string card(const std::string& label, const std::string& value, const std::string& note) {
  return "<div class=\"card\"><div class=\"label\">" + label + "</div><div class=\"value\">" + value +
         "</div><div class=\"note\">" + note + "</div></div>";
}

std::string site_name(const std::string& s) { return s.empty() ? "(no site)" : html_escape(s); }

void cards(std::ostringstream& o, const EvalResults& r) {
  o << "<div class=\"cards\">";
  if (r.site_task)
    o << card("Site classification accuracy", change(r.site_before.accuracy, r.site_after.accuracy, false, 2),
              "chance " + f(r.site_before.majority_rate, 2) + " (majority), 1/S = " + f(r.site_before.uniform_chance, 2) +
                  "<br>AUC " + f(r.site_before.auc, 2) + " &rarr; " + f(r.site_after.auc, 2) + " (chance 0.50)");
  else
    o << card("Site classification", "&mdash;", html_escape(r.site_note));
  const SiteSummary* all = r.site_summaries.empty() ? nullptr : &r.site_summaries.back();
  if (r.has_truth && all)
    o << card("SSIM to ground truth (2-D, brain)", change(all->raw_ssim2d_masked.mean, all->harm_ssim2d_masked.mean, true),
              "raw &rarr; harmonized, mean of " + std::to_string(all->n) + " subjects<br>3-D: " +
                  f(all->raw_ssim3d_masked.mean) + " &rarr; " + f(all->harm_ssim3d_masked.mean));
  else
    o << card("SSIM to ground truth", "&mdash;", "no ground truth given (<code>--truth</code>)");
  std::string bio, bio_note;
  if (r.sex_task) bio = change(r.sex_before.accuracy, r.sex_after.accuracy, true, 2), bio_note = "sex accuracy (chance " + f(r.sex_before.majority_rate, 2) + ")";
  if (r.age_task) {
    const std::string a = "age MAE " + f(r.age_before.mae, 1) + " &rarr; " + f(r.age_after.mae, 1) + " y (chance " + f(r.age_before.baseline_mae, 1) + ")";
    if (bio.empty()) bio = change(r.age_before.mae, r.age_after.mae, false, 1), bio_note = "age MAE, years (chance " + f(r.age_before.baseline_mae, 1) + ")";
    else bio_note += "<br>" + a;
  }
  o << card("Biological preservation", bio.empty() ? "&mdash;" : bio, bio.empty() ? "no age/sex covariates" : bio_note);
  o << card("Dataset", std::to_string(r.subjects.size()) + " <span style=\"font-size:15px;font-weight:400\">subjects</span>",
            std::to_string(r.dataset.sites.size()) + " site(s), " + std::to_string(r.feature_columns.size()) +
                " radiomic features" + (r.site_task ? ", " + std::to_string(r.site_selection.index.size()) + " selected" : "") +
                "<br>computed in " + f(r.seconds, 1) + " s");
  o << "</div>";
}

void similarity_section(std::ostringstream& o, const EvalResults& r, const Conventions& c, const std::vector<Figure>& figs) {
  if (!r.has_truth) return;
  o << "<section id=\"similarity\"><h2>Similarity to the ground truth</h2><p class=\"lead\">Each input (raw) and "
       "harmonized volume against its ground truth; mean <span class=\"sd\">&plusmn;sd</span> over subjects. "
       "Higher SSIM and PSNR, lower MAE are better.</p>";
  o << "<table><thead><tr class=\"group\"><th></th><th></th><th colspan=\"3\">SSIM 2-D, brain</th><th colspan=\"3\">SSIM 3-D, brain</th></tr>"
       "<tr><th>Site</th><th>n</th><th>raw</th><th>harmonized</th><th>&Delta;</th><th>raw</th><th>harmonized</th><th>&Delta;</th></tr></thead><tbody>";
  for (const auto& s : r.site_summaries)
    o << "<tr" << (s.site == "all" && r.site_summaries.size() > 1 ? " class=\"total\"" : "") << "><td>" << site_name(s.site)
      << "</td><td>" << s.n << "</td><td>" << msd(s.raw_ssim2d_masked) << "</td><td>" << msd(s.harm_ssim2d_masked) << "</td><td>"
      << delta(s.raw_ssim2d_masked.mean, s.harm_ssim2d_masked.mean, true) << "</td><td>" << msd(s.raw_ssim3d_masked) << "</td><td>"
      << msd(s.harm_ssim3d_masked) << "</td><td>" << delta(s.raw_ssim3d_masked.mean, s.harm_ssim3d_masked.mean, true) << "</td></tr>";
  o << "</tbody></table>";
  o << "<h3>Whole-image SSIM, PSNR and MAE</h3><table><thead><tr class=\"group\"><th></th><th colspan=\"2\">SSIM 2-D, image</th>"
       "<th colspan=\"2\">PSNR brain (dB)</th><th colspan=\"2\">MAE brain</th></tr><tr><th>Site</th><th>raw</th><th>harm.</th>"
       "<th>raw</th><th>harm.</th><th>raw</th><th>harm.</th></tr></thead><tbody>";
  for (const auto& s : r.site_summaries)
    o << "<tr" << (s.site == "all" && r.site_summaries.size() > 1 ? " class=\"total\"" : "") << "><td>" << site_name(s.site)
      << "</td><td>" << msd(s.raw_ssim2d) << "</td><td>" << msd(s.harm_ssim2d) << "</td><td>" << msd(s.raw_psnr, 2) << "</td><td>"
      << msd(s.harm_psnr, 2) << "</td><td>" << msd(s.raw_mae, 4) << "</td><td>" << msd(s.harm_mae, 4) << "</td></tr>";
  o << "</tbody></table><div class=\"grid2\" style=\"margin-top:16px\"><div>";
  if (const Figure* fg = find(figs, "ssim_scatter.png")) o << figure_html(*fg);
  o << "</div><div><h3 style=\"margin-top:0\">Conventions</h3><ul class=\"conv\"><li>" << html_escape(c.ssim2d_masked) << "</li><li>" << html_escape(c.ssim3d_masked)
    << "</li><li>" << html_escape(c.ssim2d) << "</li><li>" << html_escape(c.psnr) << "</li><li>" << html_escape(c.mae)
    << "</li><li>sd: sample standard deviation over subjects (ddof 1)</li><li>PSNR is &infin; where the images are identical "
       "inside the brain</li></ul></div></div></section>";
}

std::string cls_row(const std::string& name, const ClassificationResult& c, bool features) {
  if (!c.valid) return "<tr><td>" + name + "</td><td colspan=\"6\" class=\"muted\">" + html_escape(c.note) + "</td></tr>";
  std::ostringstream o;
  o << "<tr><td>" << name << "</td>";
  if (features) o << "<td>" << c.n_features << "</td>";
  o << "<td>" << pm(c.accuracy, c.accuracy_sd) << "</td><td>" << pm(c.auc, c.auc_sd) << "</td><td>" << f(c.majority_rate)
    << "</td><td>" << f(c.uniform_chance) << "</td><td>" << c.folds << "&times;" << c.repeats << "</td></tr>";
  return o.str();
}

void site_section(std::ostringstream& o, const EvalResults& r, const Conventions& c) {
  o << "<section id=\"sites\"><h2>Site classification</h2><p class=\"lead\">Can a classifier still tell the sites apart? "
       "After a good harmonization its accuracy falls towards chance and its AUC towards 0.5 (the paper, ABIDE: 0.70 &rarr; 0.38).</p>";
  if (!r.site_task) {
    o << "<p class=\"muted\">Not computed: " << html_escape(r.site_note) << ".</p></section>";
    return;
  }
  o << "<table><thead><tr><th>Features</th><th>n features</th><th>accuracy</th><th>AUC</th><th>chance (majority)</th>"
       "<th>chance (1/S)</th><th>folds &times; repeats</th></tr></thead><tbody>"
    << cls_row("before harmonization", r.site_before, true) << cls_row("after harmonization", r.site_after, true) << "</tbody></table>";
  if (!r.site_before.note.empty()) o << "<p class=\"muted\" style=\"font-size:13px\">" << html_escape(r.site_before.note) << "</p>";
  o << "<details><summary>Selected features (" << r.site_selection.index.size() << " of " << r.feature_columns.size() << ", "
    << html_escape(r.site_selection.method) << (r.site_selection.fallback ? "; none passed the threshold: the 10 smallest p-values are used" : "")
    << ")</summary><table style=\"margin-top:8px\"><thead><tr><th>feature</th><th>" << (r.dataset.sites.size() <= 2 ? "|r|" : "F")
    << "</th><th>p</th></tr></thead><tbody>";
  for (int i : r.site_selection.index) {
    char p[32];
    std::snprintf(p, sizeof p, "%.2e", r.site_selection.p[i]);
    o << "<tr><td>" << html_escape(r.feature_names[r.feature_columns[i]]) << "</td><td>" << f(r.site_selection.stat[i]) << "</td><td>" << p << "</td></tr>";
  }
  o << "</tbody></table></details><ul class=\"conv\"><li>" << html_escape(c.radiomics) << "</li><li>Selection: "
    << html_escape(r.site_selection.method) << ", " << html_escape(c.selection) << "</li><li>" << html_escape(c.classifier)
    << "</li><li>" << html_escape(c.cv) << "</li></ul></section>";
}

void bio_section(std::ostringstream& o, const EvalResults& r, const Conventions& c) {
  o << "<section id=\"biology\"><h2>Biological preservation</h2><p class=\"lead\">The same features and classifier predict "
       "biology; harmonization should keep these predictions (within noise).</p>";
  if (!r.sex_task && !r.age_task) {
    o << "<p class=\"muted\">Not computed: " << html_escape(r.sex_note) << ".</p></section>";
    return;
  }
  if (r.sex_task) {
    std::string classes;
    for (const auto& s : r.sex_classes) classes += (classes.empty() ? "" : ", ") + html_escape(s);
    o << "<h3>Sex <span class=\"pill\">" << classes << "; n = " << r.sex_before.n << "</span></h3><table><thead><tr><th>Features</th>"
         "<th>accuracy</th><th>AUC</th><th>chance (majority)</th><th>chance (1/K)</th><th>folds &times; repeats</th></tr></thead><tbody>"
      << cls_row("before harmonization", r.sex_before, false) << cls_row("after harmonization", r.sex_after, false) << "</tbody></table>";
  } else {
    o << "<p class=\"muted\">Sex: " << html_escape(r.sex_note) << "</p>";
  }
  if (r.age_task) {
    o << "<h3>Age <span class=\"pill\">n = " << r.age_before.n << "</span></h3><table><thead><tr><th>Features</th><th>MAE (years)</th>"
         "<th>r (predicted, true)</th><th>chance MAE (training mean)</th><th>folds &times; repeats</th></tr></thead><tbody>";
    for (int k = 0; k < 2; ++k) {
      const RegressionResult& g = k ? r.age_after : r.age_before;
      o << "<tr><td>" << (k ? "after harmonization" : "before harmonization") << "</td><td>" << pm(g.mae, g.mae_sd, 2) << "</td><td>"
        << f(g.r) << "</td><td>" << f(g.baseline_mae, 2) << "</td><td>" << g.folds << "&times;" << g.repeats << "</td></tr>";
    }
    o << "</tbody></table>";
  } else {
    o << "<p class=\"muted\">Age: " << html_escape(r.age_note) << "</p>";
  }
  o << "<ul class=\"conv\"><li>All " << r.feature_columns.size() << " finite radiomic features, standardized on the training fold</li><li>"
    << html_escape(c.classifier) << "</li><li>" << html_escape(c.regression) << "</li><li>" << html_escape(c.cv)
    << "; a subject seen at several sites stays in one fold</li></ul></section>";
}

void subjects_section(std::ostringstream& o, const EvalResults& r) {
  o << "<section id=\"subjects\"><h2>Subjects</h2><details><summary>" << r.subjects.size() << " subjects (files, mask, "
    << (r.has_truth ? "per-subject metrics" : "brain size") << ")</summary><table style=\"margin-top:8px\"><thead><tr><th>Site</th><th>Subject</th>"
    << "<th>brain voxels</th><th>mask</th>";
  if (r.has_truth) o << "<th>SSIM 2-D raw</th><th>SSIM 2-D harm.</th><th>SSIM 3-D raw</th><th>SSIM 3-D harm.</th><th>MAE raw</th><th>MAE harm.</th>";
  o << "</tr></thead><tbody>";
  for (const auto& s : r.subjects) {
    o << "<tr><td>" << site_name(s.subject.site) << "</td><td title=\"" << html_escape(s.subject.before) << "\">"
      << html_escape(s.subject.key) << "</td><td>" << s.brain_voxels << "</td><td>" << html_escape(s.subject.mask_kind) << "</td>";
    if (r.has_truth)
      o << "<td>" << f(s.raw.ssim2d_masked) << "</td><td>" << f(s.harmonized.ssim2d_masked) << "</td><td>" << f(s.raw.ssim3d_masked)
        << "</td><td>" << f(s.harmonized.ssim3d_masked) << "</td><td>" << f(s.raw.mae, 4) << "</td><td>" << f(s.harmonized.mae, 4) << "</td>";
    o << "</tr>";
  }
  o << "</tbody></table></details></section>";
}

}  // namespace

std::string render_html(const EvalResults& r, const std::vector<Figure>& figs, const ReportInfo& info) {
  const Conventions c = conventions(r);
  const std::string when = info.generated.empty() ? now_utc_string() : info.generated;
  std::ostringstream o;
  o << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
       "<title>ImUnity harmonization report</title><style>"
    << kStyle << "</style></head><body><header><div class=\"wrap\"><h1>Harmonization evaluation report</h1><div class=\"sub\">imunity-eval "
    << IMUNITY_VERSION << " &middot; " << html_escape(when) << " &middot; " << r.subjects.size() << " subjects, "
    << r.dataset.sites.size() << " site(s) &middot; intensities: " << html_escape(r.scaling.substr(0, r.scaling.find(' ')))
    << "</div></div></header><main>";
  cards(o, r);
  for (const std::string& w : r.warnings) o << "<div class=\"warn\">" << html_escape(w) << "</div>";
  if (const Figure* fg = find(figs, "mosaic.png"))
    o << "<section id=\"images\"><h2>Images</h2><p class=\"lead\">" << (r.has_truth ? "Input, harmonized and ground-truth" : "Input and harmonized")
      << " slices of the same subjects.</p>" << figure_html(*fg, true) << "</section>";
  const Figure *hb = find(figs, "histograms_before.png"), *ha = find(figs, "histograms_after.png");
  if (hb && ha)
    o << "<section id=\"histograms\"><h2>Intensity distributions per site</h2><p class=\"lead\">Harmonization should bring the "
         "sites' histograms together" << (r.has_truth ? " and onto the ground truth's" : "") << ".</p><div class=\"grid2\">"
      << figure_html(*hb) << figure_html(*ha) << "</div></section>";
  similarity_section(o, r, c, figs);
  site_section(o, r, c);
  bio_section(o, r, c);
  const Figure *pb = find(figs, "pca_before.png"), *pa = find(figs, "pca_after.png");
  const Figure *tb = find(figs, "tsne_before.png"), *ta = find(figs, "tsne_after.png");
  if (pb && pa) {
    o << "<section id=\"embeddings\"><h2>Feature embeddings</h2><p class=\"lead\">Radiomic features in two dimensions, coloured by "
         "site: clusters per site before harmonization should mix after it.</p><div class=\"grid2\">"
      << figure_html(*pb) << figure_html(*pa) << "</div>";
    if (tb && ta) o << "<div class=\"grid2\" style=\"margin-top:18px\">" << figure_html(*tb) << figure_html(*ta) << "</div>";
    o << "</section>";
  }
  subjects_section(o, r);
  const EvalOptions& op = r.options;
  auto kv = [&](const std::string& k, const std::string& v) {
    if (!v.empty()) o << "<dt>" << k << "</dt><dd>" << html_escape(v) << "</dd>";
  };
  o << "<section id=\"inputs\"><h2>Inputs and methods</h2><dl class=\"kv\">";
  kv("before", op.data.before_dir);
  kv("after", op.data.after_dir);
  kv("ground truth", op.data.truth_dir);
  kv("manifest", op.data.manifest);
  kv("covariates", op.data.covariates);
  kv("mask folder", op.data.mask_dir);
  kv("intensity scaling", r.scaling);
  kv("command", info.command);
  o << "</dl><ul class=\"conv\"><li>" << html_escape(c.ssim2d_masked) << "</li><li>" << html_escape(c.ssim3d_masked) << "</li><li>"
    << html_escape(c.radiomics) << "</li><li>" << html_escape(c.classifier) << "</li><li>" << html_escape(c.cv)
    << "</li><li>Every number is in <code>report.json</code> beside this page.</li></ul></section></main><footer>imunity "
    << IMUNITY_VERSION << " &middot; ImUnity (Cackowski et al. 2023) harmonization engine</footer></body></html>\n";
  return o.str();
}

}  // namespace im::eval
