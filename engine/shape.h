// Shape: up to 5 dimensions of a contiguous NCHW tensor, held inline (no heap allocation).
#pragma once
#include <cstdint>
#include <initializer_list>
#include <string>

namespace im {

struct Shape {
  static constexpr int kMaxDims = 5;
  int nd = 0;
  int64_t d[kMaxDims] = {0, 0, 0, 0, 0};

  Shape() = default;
  Shape(std::initializer_list<int64_t> dims);
  static Shape of(const int64_t* dims, int n);

  int ndim() const { return nd; }
  int64_t operator[](int i) const { return d[i < 0 ? i + nd : i]; }
  int64_t& operator[](int i) { return d[i < 0 ? i + nd : i]; }
  int64_t numel() const;
  // Product of the dimensions in [begin, end).
  int64_t prod(int begin, int end) const;
  bool operator==(const Shape& o) const;
  bool operator!=(const Shape& o) const { return !(*this == o); }
  std::string str() const;
};

}  // namespace im
