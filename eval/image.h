// An RGB raster with anti-aliased drawing primitives, a built-in 5x7 bitmap font, and PNG I/O (libpng).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace im::eval {

struct Color {
  uint8_t r = 0, g = 0, b = 0;
};
constexpr Color kWhite{255, 255, 255}, kBlack{0, 0, 0};
// Tableau-10 palette (distinguishable, colour-blind-aware ordering); wraps around.
Color palette(int i);

struct Image {
  int width = 0, height = 0;
  std::vector<uint8_t> rgb;  // row-major, 3 bytes per pixel, top row first

  Image() = default;
  Image(int w, int h, Color fill = kWhite);
  Color get(int x, int y) const;
  void set(int x, int y, Color c);
  // Blends c over the pixel with opacity alpha in [0,1]; pixels outside the image are ignored.
  void blend(int x, int y, Color c, double alpha);
};

// ---- drawing (coordinates in pixels, y down; shapes are anti-aliased by pixel coverage) ----
void fill_rect(Image& img, int x0, int y0, int x1, int y1, Color c, double alpha = 1);  // [x0,x1) x [y0,y1)
void stroke_rect(Image& img, int x0, int y0, int x1, int y1, Color c);                  // 1-px outline
// A segment of the given width with round caps.
void draw_line(Image& img, double x0, double y0, double x1, double y1, double width, Color c, double alpha = 1);
// A polyline through the points (round joins).
void draw_polyline(Image& img, const std::vector<double>& xs, const std::vector<double>& ys, double width,
                   Color c, double alpha = 1);
enum class Marker { circle, square, diamond, triangle };
// A filled marker of radius r centred at (x, y), with a 1-px outline of colour `edge`.
void draw_marker(Image& img, double x, double y, double r, Marker m, Color fill, Color edge, double alpha = 1);

// ---- text: a 5x7 bitmap font (ASCII 32-126, plus UTF-8 '±', '→', '·', '²', '≥', '≤'), drawn at an
// integer scale (each font pixel becomes scale x scale pixels). A glyph cell is 6 x 9 font pixels
// (1 column of spacing; 2 rows under the baseline for descenders).
int text_width(const std::string& utf8, int scale);
int text_height(int scale);
// Top-left anchored; bold draws the glyphs twice, one pixel apart.
void draw_text(Image& img, int x, int y, const std::string& utf8, int scale, Color c, bool bold = false);
enum class Align { left, center, right };
void draw_text_aligned(Image& img, int x, int y, const std::string& utf8, int scale, Color c, Align align,
                       bool bold = false);
// Rotated 90 degrees counter-clockwise (reads bottom to top), centred on (cx, cy): y-axis labels.
void draw_text_vertical(Image& img, int cx, int cy, const std::string& utf8, int scale, Color c);

// ---- composition ----
// Side by side (top-aligned) or stacked (left-aligned) with `gap` pixels of `fill` between them.
Image hconcat(const std::vector<Image>& parts, int gap = 0, Color fill = kWhite);
Image vconcat(const std::vector<Image>& parts, int gap = 0, Color fill = kWhite);
// Copies src into dst with its top-left corner at (x, y) (clipped).
void paste(Image& dst, const Image& src, int x, int y);

// ---- PNG (8-bit RGB) ----
std::vector<uint8_t> encode_png(const Image& img);
// Atomic write (temporary file + rename); throws io::Error naming the path on failure.
void write_png(const std::string& path, const Image& img);
// Decodes an 8-bit RGB or RGBA, grey or palette PNG into RGB; throws io::Error naming `name`.
Image decode_png(const std::vector<uint8_t>& bytes, const std::string& name = "<memory>");
Image read_png(const std::string& path);

}  // namespace im::eval
