// RGB raster, anti-aliased shapes by pixel coverage, composition, and PNG through libpng's simplified API.
#include "eval/image.h"

#include <png.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>

#include "io/atomic_file.h"
#include "io/error.h"

namespace im::eval {

Color palette(int i) {
  static const Color p[10] = {{31, 119, 180}, {255, 127, 14}, {44, 160, 44},  {214, 39, 40},  {148, 103, 189},
                              {140, 86, 75},  {227, 119, 194}, {127, 127, 127}, {188, 189, 34}, {23, 190, 207}};
  return p[((i % 10) + 10) % 10];
}

Image::Image(int w, int h, Color fill) : width(w), height(h), rgb(static_cast<size_t>(w) * h * 3) {
  for (size_t i = 0; i < rgb.size(); i += 3) rgb[i] = fill.r, rgb[i + 1] = fill.g, rgb[i + 2] = fill.b;
}

Color Image::get(int x, int y) const {
  const size_t i = (static_cast<size_t>(y) * width + x) * 3;
  return {rgb[i], rgb[i + 1], rgb[i + 2]};
}

void Image::set(int x, int y, Color c) {
  if (x < 0 || y < 0 || x >= width || y >= height) return;
  const size_t i = (static_cast<size_t>(y) * width + x) * 3;
  rgb[i] = c.r, rgb[i + 1] = c.g, rgb[i + 2] = c.b;
}

void Image::blend(int x, int y, Color c, double alpha) {
  if (x < 0 || y < 0 || x >= width || y >= height || alpha <= 0) return;
  if (alpha >= 1) return set(x, y, c);
  const size_t i = (static_cast<size_t>(y) * width + x) * 3;
  auto mix = [alpha](uint8_t dst, uint8_t src) {
    return static_cast<uint8_t>(std::lround(dst + alpha * (static_cast<double>(src) - dst)));
  };
  rgb[i] = mix(rgb[i], c.r), rgb[i + 1] = mix(rgb[i + 1], c.g), rgb[i + 2] = mix(rgb[i + 2], c.b);
}

void fill_rect(Image& img, int x0, int y0, int x1, int y1, Color c, double alpha) {
  x0 = std::max(x0, 0), y0 = std::max(y0, 0), x1 = std::min(x1, img.width), y1 = std::min(y1, img.height);
  for (int y = y0; y < y1; ++y)
    for (int x = x0; x < x1; ++x) img.blend(x, y, c, alpha);
}

void stroke_rect(Image& img, int x0, int y0, int x1, int y1, Color c) {
  fill_rect(img, x0, y0, x1, y0 + 1, c);
  fill_rect(img, x0, y1 - 1, x1, y1, c);
  fill_rect(img, x0, y0, x0 + 1, y1, c);
  fill_rect(img, x1 - 1, y0, x1, y1, c);
}

namespace {

double seg_distance(double px, double py, double x0, double y0, double x1, double y1) {
  const double dx = x1 - x0, dy = y1 - y0, len2 = dx * dx + dy * dy;
  double t = len2 > 0 ? ((px - x0) * dx + (py - y0) * dy) / len2 : 0;
  t = std::clamp(t, 0.0, 1.0);
  return std::hypot(px - (x0 + t * dx), py - (y0 + t * dy));
}

// Coverage of a pixel by a shape whose boundary is at signed distance d (negative inside).
double coverage(double d) { return std::clamp(0.5 - d, 0.0, 1.0); }

// Signed distance from (px, py) to a marker of radius r centred at the origin (image y down).
double marker_distance(Marker m, double px, double py, double r) {
  switch (m) {
    case Marker::circle: return std::hypot(px, py) - r;
    case Marker::square: return std::max(std::fabs(px), std::fabs(py)) - 0.85 * r;
    case Marker::diamond: return (std::fabs(px) + std::fabs(py) - 1.2 * r) / std::sqrt(2.0);
    case Marker::triangle: {  // equilateral, pointing up (Quilez's exact distance)
      const double k = std::sqrt(3.0), s = 1.15 * r;
      double x = std::fabs(px) - s, y = -py + s / k;
      if (x + k * y > 0) {
        const double nx = (x - k * y) / 2, ny = (-k * x - y) / 2;
        x = nx, y = ny;
      }
      x -= std::clamp(x, -2 * s, 0.0);
      return -std::hypot(x, y) * (y < 0 ? -1 : 1);
    }
  }
  return 0;
}

}  // namespace

void draw_line(Image& img, double x0, double y0, double x1, double y1, double width, Color c, double alpha) {
  draw_polyline(img, {x0, x1}, {y0, y1}, width, c, alpha);
}

void draw_polyline(Image& img, const std::vector<double>& xs, const std::vector<double>& ys, double width,
                   Color c, double alpha) {
  if (xs.empty() || xs.size() != ys.size()) return;
  const double h = width / 2 + 1;
  const int bx0 = std::max(0, static_cast<int>(std::floor(*std::min_element(xs.begin(), xs.end()) - h)));
  const int by0 = std::max(0, static_cast<int>(std::floor(*std::min_element(ys.begin(), ys.end()) - h)));
  const int bx1 = std::min(img.width, static_cast<int>(std::ceil(*std::max_element(xs.begin(), xs.end()) + h)) + 1);
  const int by1 = std::min(img.height, static_cast<int>(std::ceil(*std::max_element(ys.begin(), ys.end()) + h)) + 1);
  if (bx0 >= bx1 || by0 >= by1) return;
  // Coverage is the maximum over segments, so joints are not blended twice.
  const int bw = bx1 - bx0;
  std::vector<float> cov(static_cast<size_t>(bw) * (by1 - by0), 0.f);
  const size_t nseg = xs.size() == 1 ? 1 : xs.size() - 1;
  for (size_t s = 0; s < nseg; ++s) {
    const size_t e = std::min(s + 1, xs.size() - 1);
    const double ax = xs[s], ay = ys[s], bx = xs[e], by = ys[e];
    const int x0 = std::max(bx0, static_cast<int>(std::floor(std::min(ax, bx) - h)));
    const int x1 = std::min(bx1, static_cast<int>(std::ceil(std::max(ax, bx) + h)) + 1);
    const int y0 = std::max(by0, static_cast<int>(std::floor(std::min(ay, by) - h)));
    const int y1 = std::min(by1, static_cast<int>(std::ceil(std::max(ay, by) + h)) + 1);
    for (int y = y0; y < y1; ++y)
      for (int x = x0; x < x1; ++x) {
        const double d = seg_distance(x + 0.5, y + 0.5, ax, ay, bx, by) - width / 2;
        float& v = cov[static_cast<size_t>(y - by0) * bw + (x - bx0)];
        v = std::max(v, static_cast<float>(coverage(d)));
      }
  }
  for (int y = by0; y < by1; ++y)
    for (int x = bx0; x < bx1; ++x) {
      const float v = cov[static_cast<size_t>(y - by0) * bw + (x - bx0)];
      if (v > 0) img.blend(x, y, c, alpha * v);
    }
}

void draw_marker(Image& img, double cx, double cy, double r, Marker m, Color fill, Color edge, double alpha) {
  const int x0 = static_cast<int>(std::floor(cx - 1.5 * r - 2)), x1 = static_cast<int>(std::ceil(cx + 1.5 * r + 2));
  const int y0 = static_cast<int>(std::floor(cy - 1.5 * r - 2)), y1 = static_cast<int>(std::ceil(cy + 1.5 * r + 2));
  for (int y = y0; y <= y1; ++y)
    for (int x = x0; x <= x1; ++x) {
      const double d = marker_distance(m, x + 0.5 - cx, y + 0.5 - cy, r);
      const double outer = coverage(d), inner = coverage(d + 1.2);
      if (outer <= 0) continue;
      // Edge ring first, then the fill inside it, as one blend of the mixed colour.
      const double t = outer > 0 ? inner / outer : 0;
      const Color c{static_cast<uint8_t>(std::lround(edge.r + t * (fill.r - edge.r))),
                    static_cast<uint8_t>(std::lround(edge.g + t * (fill.g - edge.g))),
                    static_cast<uint8_t>(std::lround(edge.b + t * (fill.b - edge.b)))};
      img.blend(x, y, c, alpha * outer);
    }
}

void paste(Image& dst, const Image& src, int x, int y) {
  for (int j = 0; j < src.height; ++j) {
    const int yy = y + j;
    if (yy < 0 || yy >= dst.height) continue;
    for (int i = 0; i < src.width; ++i) {
      const int xx = x + i;
      if (xx >= 0 && xx < dst.width) dst.set(xx, yy, src.get(i, j));
    }
  }
}

Image hconcat(const std::vector<Image>& parts, int gap, Color fill) {
  int w = 0, h = 0;
  for (size_t i = 0; i < parts.size(); ++i) w += parts[i].width + (i ? gap : 0), h = std::max(h, parts[i].height);
  Image out(w, h, fill);
  int x = 0;
  for (const Image& p : parts) paste(out, p, x, 0), x += p.width + gap;
  return out;
}

Image vconcat(const std::vector<Image>& parts, int gap, Color fill) {
  int w = 0, h = 0;
  for (size_t i = 0; i < parts.size(); ++i) h += parts[i].height + (i ? gap : 0), w = std::max(w, parts[i].width);
  Image out(w, h, fill);
  int y = 0;
  for (const Image& p : parts) paste(out, p, 0, y), y += p.height + gap;
  return out;
}

std::vector<uint8_t> encode_png(const Image& img) {
  if (img.width <= 0 || img.height <= 0) throw io::Error("encode_png: empty image");
  png_image pi;
  std::memset(&pi, 0, sizeof pi);
  pi.version = PNG_IMAGE_VERSION;
  pi.width = static_cast<png_uint_32>(img.width);
  pi.height = static_cast<png_uint_32>(img.height);
  pi.format = PNG_FORMAT_RGB;
  png_alloc_size_t size = 0;
  if (!png_image_write_to_memory(&pi, nullptr, &size, 0, img.rgb.data(), 0, nullptr))
    throw io::Error(std::string("encode_png: ") + pi.message);
  std::vector<uint8_t> out(size);
  if (!png_image_write_to_memory(&pi, out.data(), &size, 0, img.rgb.data(), 0, nullptr))
    throw io::Error(std::string("encode_png: ") + pi.message);
  out.resize(size);
  png_image_free(&pi);
  return out;
}

void write_png(const std::string& path, const Image& img) {
  const std::vector<uint8_t> bytes = encode_png(img);
  io::write_file_atomic(path, bytes.data(), bytes.size(), true);
}

Image decode_png(const std::vector<uint8_t>& bytes, const std::string& name) {
  png_image pi;
  std::memset(&pi, 0, sizeof pi);
  pi.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_memory(&pi, bytes.data(), bytes.size()))
    io::fail(name, std::string("not a readable PNG (") + pi.message + ")");
  pi.format = PNG_FORMAT_RGB;
  Image img(static_cast<int>(pi.width), static_cast<int>(pi.height));
  if (!png_image_finish_read(&pi, nullptr, img.rgb.data(), 0, nullptr)) {
    const std::string msg = pi.message;
    png_image_free(&pi);
    io::fail(name, "PNG decoding failed (" + msg + ")");
  }
  return img;
}

Image read_png(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) io::fail(path, "cannot open");
  const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  return decode_png(bytes, path);
}

}  // namespace im::eval
