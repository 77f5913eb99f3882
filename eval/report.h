// The evaluation report: figures (PNG), report.json with every number, and a self-contained HTML
// page (figures embedded as base64 data URIs), written atomically into one folder.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "eval/evaluate.h"
#include "eval/image.h"

namespace im::eval {

struct Figure {
  std::string name;     // file name under figures/, e.g. "histograms_before.png"
  std::string title;    // shown above it
  std::string caption;  // shown under it
  Image image;
};

struct ReportInfo {
  std::string command;    // the command line, shown in the report
  std::string generated;  // timestamp; empty: now (UTC)
};

std::vector<Figure> make_figures(const EvalResults& r);
nlohmann::ordered_json results_to_json(const EvalResults& r, const ReportInfo& info);
std::string render_html(const EvalResults& r, const std::vector<Figure>& figures, const ReportInfo& info);

// Writes <dir>/report.html, <dir>/report.json and <dir>/figures/*.png together (all or nothing:
// temporary files first, then renames). Creates dir if needed.
void write_report(const EvalResults& r, const std::string& dir, const ReportInfo& info);

std::string base64(const std::vector<uint8_t>& bytes);
std::string html_escape(const std::string& s);

}  // namespace im::eval
