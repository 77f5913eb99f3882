// Small plotting module: line plots and scatter plots with axes, ticks, labels and a legend, and
// grayscale slice mosaics with captions; all rendered into an Image (write it with write_png).
#pragma once
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "eval/image.h"

namespace im::eval {

struct Series {
  std::string name;
  Color color;
  std::vector<double> x, y;
  double width = 2.5;            // line width (line plots), marker radius (scatter plots)
  Marker marker = Marker::circle;  // scatter plots
};

struct PlotStyle {
  int width = 900, height = 560;  // pixels
  int text_scale = 2;             // tick labels, axis labels and legend; the title is one step larger
  bool legend = true;
  bool legend_outside = false;    // a row of entries under the title instead of a box in the plot
  bool diagonal = false;          // a dashed grey y = x line (scatter plots: "above the line = better")
  static constexpr double kAuto = std::numeric_limits<double>::quiet_NaN();
  double x_min = kAuto, x_max = kAuto, y_min = kAuto, y_max = kAuto;  // NaN: from the data (with a margin)
};

struct Plot {
  std::string title, xlabel, ylabel;
  std::vector<Series> series;
  PlotStyle style;
};

Image render_line_plot(const Plot& p);
Image render_scatter_plot(const Plot& p);

// "Nice" tick positions (steps of 1, 2, 2.5 or 5 x 10^k) covering [lo, hi] with about `target` ticks.
std::vector<double> nice_ticks(double lo, double hi, int target = 6);
// Tick label: as few decimals as the step needs ("0.25", "1e+04" for large values).
std::string tick_label(double v, double step);

// A grayscale slice for a mosaic: w x h values, row 0 at the top, mapped linearly from [lo, hi] to
// black..white (clamped).
struct Tile {
  int w = 0, h = 0;
  std::vector<float> value;
  double lo = 0, hi = 1;
  std::string caption;  // drawn under the tile (may be empty)
  std::vector<uint8_t> outline;  // optional w x h mask: its boundary is drawn over the tile in outline_color
  Color outline_color{255, 64, 32};
};

// Tiles on a grid (rows x columns, row-major; missing tiles are left blank) with column titles on
// top and row titles on the left; every tile is upscaled by the integer `zoom` (nearest neighbour)
// on a dark background.
Image render_mosaic(const std::vector<std::vector<Tile>>& rows, const std::vector<std::string>& column_titles,
                    const std::vector<std::string>& row_titles, int zoom = 2, int text_scale = 2);

}  // namespace im::eval
