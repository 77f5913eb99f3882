// Line and scatter plots (axes, nice ticks, grid, legend) and slice mosaics.
#include "eval/plot.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>

namespace im::eval {

namespace {

constexpr Color kAxis{70, 70, 70}, kGrid{232, 232, 232}, kText{40, 40, 40}, kLegendEdge{200, 200, 200};

struct Range {
  double lo, hi;
};

Range data_range(const std::vector<Series>& series, bool x_axis, double fixed_lo, double fixed_hi, double rel_margin) {
  double lo = INFINITY, hi = -INFINITY;
  for (const Series& s : series)
    for (double v : x_axis ? s.x : s.y)
      if (std::isfinite(v)) lo = std::min(lo, v), hi = std::max(hi, v);
  if (!std::isfinite(lo)) lo = 0, hi = 1;
  if (hi - lo < 1e-12) lo -= 0.5, hi += 0.5;
  const double margin = rel_margin * (hi - lo);
  Range r{std::isnan(fixed_lo) ? lo - margin : fixed_lo, std::isnan(fixed_hi) ? hi + margin : fixed_hi};
  if (r.hi <= r.lo) r.hi = r.lo + 1;
  return r;
}

double tick_step(const std::vector<double>& t) { return t.size() > 1 ? t[1] - t[0] : 1.0; }

// Everything but the data: frame, grid, ticks, labels, title. Returns the plot area's rectangle.
struct Frame {
  int x0, y0, x1, y1;  // plot area [x0,x1) x [y0,y1)
  Range xr, yr;
  double px(double x) const { return x0 + (x - xr.lo) / (xr.hi - xr.lo) * (x1 - x0); }
  double py(double y) const { return y1 - (y - yr.lo) / (yr.hi - yr.lo) * (y1 - y0); }
};

// Horizontal legend under the title: entries wrapped into rows that fit the figure's width.
constexpr int kSwatch = 26;
std::vector<std::vector<size_t>> legend_rows(const Plot& p) {
  std::vector<std::vector<size_t>> rows;
  if (!p.style.legend || !p.style.legend_outside || p.series.empty()) return rows;
  const int s = p.style.text_scale, avail = p.style.width - 60;
  int used = 0;
  rows.emplace_back();
  for (size_t i = 0; i < p.series.size(); ++i) {
    const int w = kSwatch + 8 + text_width(p.series[i].name, s) + 28;
    if (used > 0 && used + w > avail) rows.emplace_back(), used = 0;
    rows.back().push_back(i);
    used += w;
  }
  return rows;
}

Frame draw_frame(Image& img, const Plot& p, const Range& xr, const Range& yr) {
  const PlotStyle& st = p.style;
  const int s = st.text_scale, th = text_height(s);
  const std::vector<double> xt = nice_ticks(xr.lo, xr.hi), yt = nice_ticks(yr.lo, yr.hi);
  int ytick_w = 0;
  for (double v : yt)
    if (v >= yr.lo - 1e-9 && v <= yr.hi + 1e-9) ytick_w = std::max(ytick_w, text_width(tick_label(v, tick_step(yt)), s));
  Frame f;
  f.xr = xr, f.yr = yr;
  f.x0 = 16 + (p.ylabel.empty() ? 0 : th + 14) + ytick_w + 10;
  f.y0 = (p.title.empty() ? 16 : text_height(s + 1) + 30) +
         static_cast<int>(legend_rows(p).size()) * (th + 12) + (legend_rows(p).empty() ? 0 : 6);
  f.x1 = st.width - 28;
  f.y1 = st.height - (th + 16 + (p.xlabel.empty() ? 0 : th + 16));
  if (!p.title.empty())
    draw_text_aligned(img, st.width / 2, 14, p.title, s + 1, kText, Align::center, true);
  // Grid and ticks.
  for (double v : xt) {
    if (v < xr.lo - 1e-9 || v > xr.hi + 1e-9) continue;
    const int x = static_cast<int>(std::lround(f.px(v)));
    fill_rect(img, x, f.y0, x + 1, f.y1, kGrid);
    fill_rect(img, x, f.y1, x + 1, f.y1 + 6, kAxis);
    draw_text_aligned(img, x, f.y1 + 10, tick_label(v, tick_step(xt)), s, kText, Align::center);
  }
  for (double v : yt) {
    if (v < yr.lo - 1e-9 || v > yr.hi + 1e-9) continue;
    const int y = static_cast<int>(std::lround(f.py(v)));
    fill_rect(img, f.x0, y, f.x1, y + 1, kGrid);
    fill_rect(img, f.x0 - 6, y, f.x0, y + 1, kAxis);
    draw_text_aligned(img, f.x0 - 10, y - th / 2 + s, tick_label(v, tick_step(yt)), s, kText, Align::right);
  }
  // Axis lines (left and bottom) and labels.
  fill_rect(img, f.x0 - 1, f.y0, f.x0 + 1, f.y1 + 1, kAxis);
  fill_rect(img, f.x0 - 1, f.y1 - 1, f.x1, f.y1 + 1, kAxis);
  if (!p.xlabel.empty())
    draw_text_aligned(img, (f.x0 + f.x1) / 2, f.y1 + th + 22, p.xlabel, s, kText, Align::center);
  if (!p.ylabel.empty()) draw_text_vertical(img, 16 + th / 2, (f.y0 + f.y1) / 2, p.ylabel, s, kText);
  return f;
}

void draw_legend_outside(Image& img, const Plot& p, bool markers) {
  const int s = p.style.text_scale, th = text_height(s);
  int y = (p.title.empty() ? 12 : text_height(s + 1) + 26);
  for (const auto& row : legend_rows(p)) {
    int total = 0;
    for (size_t i : row) total += kSwatch + 8 + text_width(p.series[i].name, s) + 28;
    int x = (p.style.width - total + 28) / 2;
    for (size_t i : row) {
      const Series& se = p.series[i];
      const int cy = y + th / 2 - s;
      if (markers) draw_marker(img, x + kSwatch / 2.0, cy, 6, se.marker, se.color, kWhite);
      else draw_line(img, x, cy, x + kSwatch, cy, std::max(3.0, se.width), se.color);
      draw_text(img, x + kSwatch + 8, y, se.name, s, kText);
      x += kSwatch + 8 + text_width(se.name, s) + 28;
    }
    y += th + 12;
  }
}

// The legend goes into the corner of the plot area that hides the fewest data points.
void draw_legend(Image& img, const Plot& p, const Frame& f, bool markers) {
  if (!p.style.legend || p.series.empty()) return;
  if (p.style.legend_outside) return draw_legend_outside(img, p, markers);
  const int s = p.style.text_scale, th = text_height(s), row = th + 10, swatch = 30;
  int w = 0;
  for (const Series& se : p.series) w = std::max(w, text_width(se.name, s));
  w += swatch + 30;
  const int h = static_cast<int>(p.series.size()) * row + 12;
  const int corners[4][2] = {{f.x1 - w - 12, f.y0 + 12}, {f.x0 + 14, f.y0 + 12}, {f.x1 - w - 12, f.y1 - h - 12},
                             {f.x0 + 14, f.y1 - h - 12}};
  int best = 0;
  size_t best_hits = SIZE_MAX;
  for (int c = 0; c < 4; ++c) {
    size_t hits = 0;
    for (const Series& se : p.series)
      for (size_t i = 0; i < se.x.size() && i < se.y.size(); ++i) {
        const double px = f.px(se.x[i]), py = f.py(se.y[i]), pad = markers ? 10 : 4;
        hits += px > corners[c][0] - pad && px < corners[c][0] + w + pad && py > corners[c][1] - pad && py < corners[c][1] + h + pad;
      }
    if (hits < best_hits) best_hits = hits, best = c;
  }
  const int x0 = corners[best][0], y0 = corners[best][1];
  fill_rect(img, x0, y0, x0 + w, y0 + h, kWhite, 0.9);
  stroke_rect(img, x0, y0, x0 + w, y0 + h, kLegendEdge);
  for (size_t i = 0; i < p.series.size(); ++i) {
    const Series& se = p.series[i];
    const int cy = y0 + 6 + static_cast<int>(i) * row + row / 2;
    if (markers)
      draw_marker(img, x0 + 12 + swatch / 2.0, cy, 6, se.marker, se.color, kWhite);
    else
      draw_line(img, x0 + 12, cy, x0 + 12 + swatch, cy, std::max(3.0, se.width), se.color);
    draw_text(img, x0 + 12 + swatch + 10, cy - th / 2 + s, se.name, s, kText);
  }
}

}  // namespace

std::vector<double> nice_ticks(double lo, double hi, int target) {
  std::vector<double> t;
  if (!(hi > lo) || !std::isfinite(lo) || !std::isfinite(hi)) return t;
  const double raw = (hi - lo) / std::max(1, target - 1);
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = mag;
  for (double m : {1.0, 2.0, 2.5, 5.0, 10.0})
    if (m * mag >= raw) {
      step = m * mag;
      break;
    }
  for (double v = std::ceil(lo / step - 1e-9) * step; v <= hi + 1e-9 * step; v += step)
    t.push_back(std::fabs(v) < 1e-12 * step ? 0.0 : v);
  return t;
}

std::string tick_label(double v, double step) {
  char buf[32];
  const double a = std::fabs(step);
  if (std::fabs(v) >= 1e5 || (a > 0 && a < 1e-4)) {
    std::snprintf(buf, sizeof buf, "%.3g", v);
  } else {
    int dec = 0;
    while (dec < 6 && std::fabs(step * std::pow(10.0, dec) - std::round(step * std::pow(10.0, dec))) > 1e-6) ++dec;
    std::snprintf(buf, sizeof buf, "%.*f", dec, v);
  }
  return buf;
}

Image render_line_plot(const Plot& p) {
  Image img(p.style.width, p.style.height);
  const Range xr = data_range(p.series, true, p.style.x_min, p.style.x_max, 0.04);
  const Range yr = data_range(p.series, false, p.style.y_min, p.style.y_max, 0.04);
  const Frame f = draw_frame(img, p, xr, yr);
  // Series on a clipping layer the size of the plot area, pasted over the grid.
  Image area(f.x1 - f.x0, f.y1 - f.y0 - 1);
  for (int y = 0; y < area.height; ++y)
    for (int x = 0; x < area.width; ++x) area.set(x, y, img.get(f.x0 + x, f.y0 + y));
  for (const Series& s : p.series) {
    std::vector<double> xs, ys;
    for (size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
      if (!std::isfinite(s.x[i]) || !std::isfinite(s.y[i])) continue;
      xs.push_back(f.px(s.x[i]) - f.x0);
      ys.push_back(f.py(s.y[i]) - f.y0);
    }
    draw_polyline(area, xs, ys, s.width, s.color, 0.95);
  }
  paste(img, area, f.x0 + 1, f.y0);
  draw_legend(img, p, f, false);
  return img;
}

Image render_scatter_plot(const Plot& p) {
  Image img(p.style.width, p.style.height);
  const Range xr = data_range(p.series, true, p.style.x_min, p.style.x_max, 0.08);
  const Range yr = data_range(p.series, false, p.style.y_min, p.style.y_max, 0.08);
  const Frame f = draw_frame(img, p, xr, yr);
  Image area(f.x1 - f.x0, f.y1 - f.y0 - 1);
  for (int y = 0; y < area.height; ++y)
    for (int x = 0; x < area.width; ++x) area.set(x, y, img.get(f.x0 + x, f.y0 + y));
  if (p.style.diagonal) {  // dashed y = x over the visible range
    const double lo = std::max(xr.lo, yr.lo), hi = std::min(xr.hi, yr.hi);
    const int dashes = 40;
    for (int k = 0; k < dashes; k += 2) {
      const double a = lo + (hi - lo) * k / dashes, b = lo + (hi - lo) * (k + 1) / dashes;
      draw_line(area, f.px(a) - f.x0, f.py(a) - f.y0, f.px(b) - f.x0, f.py(b) - f.y0, 1.5, {150, 150, 150});
    }
  }
  for (const Series& s : p.series) {
    const double r = s.width < 4 ? 6.5 : s.width;
    for (size_t i = 0; i < s.x.size() && i < s.y.size(); ++i)
      if (std::isfinite(s.x[i]) && std::isfinite(s.y[i]))
        draw_marker(area, f.px(s.x[i]) - f.x0, f.py(s.y[i]) - f.y0, r, s.marker, s.color, kWhite, 0.85);
  }
  paste(img, area, f.x0 + 1, f.y0);
  draw_legend(img, p, f, true);
  return img;
}

Image render_mosaic(const std::vector<std::vector<Tile>>& rows, const std::vector<std::string>& column_titles,
                    const std::vector<std::string>& row_titles, int zoom, int text_scale) {
  constexpr Color kBg{18, 18, 18}, kLight{235, 235, 235}, kDim{170, 170, 170};
  const int s = text_scale, th = text_height(s), gap = 8;
  size_t ncols = column_titles.size();
  for (const auto& r : rows) ncols = std::max(ncols, r.size());
  std::vector<int> colw(ncols, 0), rowh(rows.size(), 0);
  bool captions = false;
  for (size_t r = 0; r < rows.size(); ++r)
    for (size_t c = 0; c < rows[r].size(); ++c) {
      colw[c] = std::max(colw[c], rows[r][c].w * zoom);
      rowh[r] = std::max(rowh[r], rows[r][c].h * zoom);
      captions = captions || !rows[r][c].caption.empty();
    }
  for (size_t c = 0; c < ncols && c < column_titles.size(); ++c)
    colw[c] = std::max(colw[c], text_width(column_titles[c], s) + 8);
  // Row titles may hold several lines ("site\nsubject"): the first bold, the others dimmer.
  auto lines_of = [](const std::string& t) {
    std::vector<std::string> out;
    size_t a = 0;
    for (size_t b; (b = t.find('\n', a)) != std::string::npos; a = b + 1) out.push_back(t.substr(a, b - a));
    out.push_back(t.substr(a));
    return out;
  };
  int left = gap;
  for (const std::string& t : row_titles)
    for (const std::string& l : lines_of(t)) left = std::max(left, text_width(l, s) + 2 * gap + 4);
  const int top = column_titles.empty() ? gap : th + 2 * gap;
  const int cap_h = captions ? th + gap : 0;
  int W = left, H = top;
  for (int w : colw) W += w + gap;
  for (int h : rowh) H += h + cap_h + gap;
  Image img(W, H, kBg);
  int x = left;
  for (size_t c = 0; c < ncols; ++c) {
    if (c < column_titles.size()) draw_text_aligned(img, x + colw[c] / 2, gap, column_titles[c], s, kLight, Align::center, true);
    x += colw[c] + gap;
  }
  int y = top;
  for (size_t r = 0; r < rows.size(); ++r) {
    if (r < row_titles.size()) {
      const std::vector<std::string> lines = lines_of(row_titles[r]);
      const int lh = th + 6, y0 = y + rowh[r] / 2 - (static_cast<int>(lines.size()) * lh - 6) / 2;
      for (size_t k = 0; k < lines.size(); ++k)
        draw_text_aligned(img, left - gap - 4, y0 + static_cast<int>(k) * lh, lines[k], s, k ? kDim : kLight, Align::right, k == 0);
    }
    x = left;
    for (size_t c = 0; c < ncols; ++c) {
      if (c < rows[r].size() && rows[r][c].w > 0) {
        const Tile& t = rows[r][c];
        const int ox = x + (colw[c] - t.w * zoom) / 2, oy = y + (rowh[r] - t.h * zoom) / 2;
        const double span = t.hi > t.lo ? t.hi - t.lo : 1.0;
        for (int j = 0; j < t.h; ++j)
          for (int i = 0; i < t.w; ++i) {
            const double v = std::clamp((t.value[static_cast<size_t>(j) * t.w + i] - t.lo) / span, 0.0, 1.0);
            const auto g = static_cast<uint8_t>(std::lround(255 * v));
            fill_rect(img, ox + i * zoom, oy + j * zoom, ox + (i + 1) * zoom, oy + (j + 1) * zoom, {g, g, g});
          }
        if (t.outline.size() == t.value.size()) {
          // The mask's boundary: its pixels with a 4-neighbour outside it (or on the tile's edge).
          auto in = [&](int i, int j) { return i >= 0 && j >= 0 && i < t.w && j < t.h && t.outline[static_cast<size_t>(j) * t.w + i]; };
          for (int j = 0; j < t.h; ++j)
            for (int i = 0; i < t.w; ++i)
              if (in(i, j) && !(in(i - 1, j) && in(i + 1, j) && in(i, j - 1) && in(i, j + 1)))
                fill_rect(img, ox + i * zoom, oy + j * zoom, ox + (i + 1) * zoom, oy + (j + 1) * zoom, t.outline_color);
        }
        if (!t.caption.empty()) draw_text_aligned(img, x + colw[c] / 2, y + rowh[r] + gap / 2, t.caption, s, kDim, Align::center);
      }
      x += colw[c] + gap;
    }
    y += rowh[r] + cap_h + gap;
  }
  return img;
}

}  // namespace im::eval
