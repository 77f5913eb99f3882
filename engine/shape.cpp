// Shape helpers: construction, element counts, printing.
#include "engine/shape.h"

#include "kernels/check.h"

namespace im {

Shape::Shape(std::initializer_list<int64_t> dims) {
  IM_CHECK(static_cast<int>(dims.size()) <= kMaxDims, "a shape has at most " << kMaxDims << " dimensions");
  for (int64_t v : dims) {
    IM_CHECK(v >= 0, "negative dimension " << v);
    d[nd++] = v;
  }
}

Shape Shape::of(const int64_t* dims, int n) {
  IM_CHECK(n >= 0 && n <= kMaxDims, "a shape has at most " << kMaxDims << " dimensions, got " << n);
  Shape s;
  for (int i = 0; i < n; ++i) s.d[s.nd++] = dims[i];
  return s;
}

int64_t Shape::numel() const { return prod(0, nd); }

int64_t Shape::prod(int begin, int end) const {
  int64_t p = 1;
  for (int i = begin; i < end; ++i) p *= d[i];
  return p;
}

bool Shape::operator==(const Shape& o) const {
  if (nd != o.nd) return false;
  for (int i = 0; i < nd; ++i)
    if (d[i] != o.d[i]) return false;
  return true;
}

std::string Shape::str() const {
  std::string s = "[";
  for (int i = 0; i < nd; ++i) s += (i ? ", " : "") + std::to_string(d[i]);
  return s + "]";
}

}  // namespace im
