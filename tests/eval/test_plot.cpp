// Plotting module: PNG written with libpng and read back, text, ticks, line/scatter plots, mosaics.
#include <catch2/catch.hpp>

#include <png.h>

#include <cmath>
#include <cstdio>
#include <filesystem>

#include "eval/image.h"
#include "eval/plot.h"
#include "support/paths.h"

using namespace im::eval;

namespace {

// Reads a PNG with libpng's own reader (not ours): width, height and RGB bytes.
bool libpng_read(const std::string& path, int& w, int& h, std::vector<uint8_t>& rgb) {
  png_image pi{};
  pi.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_file(&pi, path.c_str())) return false;
  pi.format = PNG_FORMAT_RGB;
  w = static_cast<int>(pi.width), h = static_cast<int>(pi.height);
  rgb.resize(PNG_IMAGE_SIZE(pi));
  return png_image_finish_read(&pi, nullptr, rgb.data(), 0, nullptr) != 0;
}

bool has_color(const Image& img, Color c, int tol = 40) {
  for (int y = 0; y < img.height; ++y)
    for (int x = 0; x < img.width; ++x) {
      const Color p = img.get(x, y);
      if (std::abs(p.r - c.r) + std::abs(p.g - c.g) + std::abs(p.b - c.b) <= tol) return true;
    }
  return false;
}

Plot demo_plot() {
  Plot p;
  p.title = "Intensity histograms ± sd → after";
  p.xlabel = "intensity (WM peak at 0.7)";
  p.ylabel = "density";
  for (int s = 0; s < 3; ++s) {
    Series se;
    se.name = "site-" + std::to_string(s);
    se.color = palette(s);
    for (int i = 0; i <= 100; ++i) {
      const double x = i / 100.0;
      se.x.push_back(x);
      se.y.push_back(std::exp(-std::pow((x - 0.3 - 0.1 * s) / 0.08, 2)) + 0.6 * std::exp(-std::pow((x - 0.7) / 0.05, 2)));
    }
    p.series.push_back(se);
  }
  p.style.y_min = 0;
  return p;
}

}  // namespace

TEST_CASE("plot: PNG written with libpng reads back with the same size and pixels", "[plot]") {
  const std::string dir = im::test::scratch_dir("eval_png");
  Image img(37, 21, {10, 20, 30});
  img.set(0, 0, {255, 0, 0});
  img.set(36, 20, {0, 255, 0});
  img.set(5, 7, {1, 2, 3});
  const std::string path = dir + "/t.png";
  write_png(path, img);
  int w = 0, h = 0;
  std::vector<uint8_t> rgb;
  REQUIRE(libpng_read(path, w, h, rgb));
  CHECK(w == 37);
  CHECK(h == 21);
  CHECK(rgb == img.rgb);
  const Image back = read_png(path);
  CHECK(back.get(0, 0).r == 255);
  CHECK(back.get(36, 20).g == 255);
  CHECK(back.get(5, 7).b == 3);
  CHECK(back.get(10, 10).g == 20);
  CHECK_THROWS_WITH(decode_png({1, 2, 3}, "bad.png"), Catch::Contains("bad.png"));
  // No temporary file is left behind.
  int files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) files += e.is_regular_file();
  CHECK(files == 1);
}

TEST_CASE("plot: text is drawn with the built-in font inside its box", "[plot]") {
  Image img(200, 40);
  const std::string s = "SSIM 0.943 ± 0.003";
  draw_text(img, 3, 5, s, 2, kBlack);
  CHECK(text_width(s, 2) == (18 * 6 - 1) * 2);
  int dark = 0, outside = 0;
  for (int y = 0; y < img.height; ++y)
    for (int x = 0; x < img.width; ++x)
      if (img.get(x, y).r < 128) {
        ++dark;
        if (x < 3 || x >= 3 + text_width(s, 2) || y < 5 || y >= 5 + text_height(2)) ++outside;
      }
  CHECK(dark > 200);
  CHECK(outside == 0);
  Image v(40, 200);
  draw_text_vertical(v, 20, 100, "density", 2, kBlack);
  CHECK(has_color(v, kBlack, 0));
}

TEST_CASE("plot: nice ticks and labels", "[plot]") {
  const auto u = nice_ticks(0, 1);
  REQUIRE(u.size() == 6);
  for (int i = 0; i < 6; ++i) CHECK(u[i] == Approx(0.2 * i).margin(1e-12));
  const auto t = nice_ticks(0.13, 0.97, 5);
  REQUIRE(t.size() >= 3);
  CHECK(t.front() >= 0.13);
  CHECK(t.back() <= 0.97);
  CHECK(tick_label(0.25, 0.25) == "0.25");
  CHECK(tick_label(2, 1) == "2");
  CHECK(tick_label(-0.5, 0.5) == "-0.5");
  CHECK(nice_ticks(1, 1).empty());
}

TEST_CASE("plot: line plot, scatter plot and mosaic", "[plot]") {
  const std::string dir = im::test::scratch_dir("eval_plot");
  const Plot p = demo_plot();
  const Image line = render_line_plot(p);
  CHECK(line.width == p.style.width);
  CHECK(line.height == p.style.height);
  for (const Series& s : p.series) CHECK(has_color(line, s.color, 10));
  CHECK(line.get(1, 1).r == 255);  // white margin
  write_png(dir + "/line.png", line);
  Plot q = p;
  q.title = "PCA";
  q.style.diagonal = true;
  for (size_t k = 0; k < q.series.size(); ++k) {
    q.series[k].marker = static_cast<Marker>(k);
    q.series[k].x.resize(12), q.series[k].y.resize(12);
    for (int i = 0; i < 12; ++i) q.series[k].x[i] = std::sin(i * 1.7 + k), q.series[k].y[i] = std::cos(i * 2.3 + k) + k;
  }
  const Image sc = render_scatter_plot(q);
  for (const Series& s : q.series) CHECK(has_color(sc, s.color, 10));
  write_png(dir + "/scatter.png", sc);
  std::vector<std::vector<Tile>> rows(2, std::vector<Tile>(3));
  for (auto& r : rows)
    for (auto& t : r) {
      t.w = 30, t.h = 20, t.caption = "SSIM 0.91";
      for (int j = 0; j < 20; ++j)
        for (int i = 0; i < 30; ++i) t.value.push_back(static_cast<float>(i / 29.0));
    }
  const Image m = render_mosaic(rows, {"input", "harmonized", "truth"}, {"siteA/sub-01", "siteB/sub-02"}, 3);
  CHECK(m.width > 3 * 90);
  CHECK(m.height > 2 * 60);
  CHECK(has_color(m, kWhite, 0));   // the brightest column of a tile
  write_png(dir + "/mosaic.png", m);
  Image t(760, 80);
  draw_text(t, 4, 4, " !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ", 2, kBlack);
  draw_text(t, 4, 30, "[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~ ±→·²≥≤", 2, kBlack);
  draw_text(t, 4, 56, "The quick brown fox: SSIM 0.943 ± 0.003, p < 1e-3 (IXI013-HH-1212_T1)", 1, kBlack);
  write_png(dir + "/font.png", t);
}

TEST_CASE("plot: a mosaic tile's mask outline is drawn on its boundary only", "[plot]") {
  Tile t;
  t.w = 12, t.h = 10;
  t.value.assign(120, 0.5f);
  t.outline.assign(120, 0);
  for (int j = 2; j < 8; ++j)
    for (int i = 3; i < 9; ++i) t.outline[static_cast<size_t>(j) * 12 + i] = 1;
  const Image m = render_mosaic({{t}}, {}, {}, 1, 1);
  CHECK(has_color(m, t.outline_color, 0));
  int drawn = 0;
  for (int y = 0; y < m.height; ++y)
    for (int x = 0; x < m.width; ++x) {
      const Color c = m.get(x, y);
      drawn += c.r == t.outline_color.r && c.g == t.outline_color.g && c.b == t.outline_color.b;
    }
  CHECK(drawn == 6 * 6 - 4 * 4);  // the ring of a 6 x 6 square
}
