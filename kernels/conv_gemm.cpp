// im2col + Eigen GEMM drivers for the three convolution products (CPU). Eigen multiplies
// single-threaded here: the products run inside our own OpenMP region (Eigen does not nest), and
// the tasks are fixed by the shapes, never by the thread count, so results are deterministic.
#include "kernels/conv_gemm.h"

#include <omp.h>

#include <Eigen/Core>
#include <algorithm>
#include <cstring>

#include "engine/tensor.h"

namespace im {

namespace {
using Mat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using Map = Eigen::Map<Mat, Eigen::Unaligned, Eigen::OuterStride<>>;
using CMap = Eigen::Map<const Mat, Eigen::Unaligned, Eigen::OuterStride<>>;

// Column budget of one im2col band: K * cols floats stay within L2 next to the GEMM's packing.
constexpr int64_t kBandFloats = 1 << 16;
// The weight gradient sums its partial products in this many fixed groups of images/bands.
constexpr int64_t kWeightGroups = 8;

// Output rows per band for a column buffer of about `budget` floats.
int64_t band_rows(const ConvGeometry& g, int64_t budget) {
  int64_t rows = budget / std::max<int64_t>(1, g.K() * g.wo);
  return std::clamp<int64_t>(rows, 1, g.ho);
}

// Scratch for every thread: thread t owns [t * per, (t + 1) * per).
struct Scratch {
  Tensor t;
  int64_t per = 0;
  Scratch(int64_t per_thread) : per(per_thread) {
    if (per > 0) t = Tensor::empty({per * omp_get_max_threads()});
  }
  float* mine() const { return per > 0 ? t.data() + per * omp_get_thread_num() : nullptr; }
};
}  // namespace

void conv_gemm_forward(float* y, const float* x, const float* w, const float* bias, const ConvGeometry& g,
                       bool accumulate) {
  const int64_t K = g.K(), P = g.P(), O = g.o;
  const int64_t rows = g.pointwise() ? g.ho : band_rows(g, kBandFloats);
  const int64_t nb = (g.ho + rows - 1) / rows;
  Scratch scratch(g.pointwise() ? 0 : K * rows * g.wo);
  CMap W(w, O, K, Eigen::OuterStride<>(K));
#pragma omp parallel
  {
    float* col = scratch.mine();
#pragma omp for schedule(static)
    for (int64_t t = 0; t < g.n * nb; ++t) {
      const int64_t img = t / nb, y0 = (t % nb) * rows, y1 = std::min(g.ho, y0 + rows), cols = (y1 - y0) * g.wo;
      Map Y(y + img * O * P + y0 * g.wo, O, cols, Eigen::OuterStride<>(P));
      const float* xi = x + img * g.c * g.h * g.w;
      if (!g.pointwise()) im2col(col, cols, xi, g, y0, y1);
      CMap C = g.pointwise() ? CMap(xi + y0 * g.wo, K, cols, Eigen::OuterStride<>(P))
                             : CMap(col, K, cols, Eigen::OuterStride<>(cols));
      if (!accumulate && !bias) {
        Y.noalias() = W * C;
      } else {
        if (!accumulate)
          for (int64_t r = 0; r < O; ++r) Y.row(r).setConstant(bias[r]);
        Y.noalias() += W * C;
      }
    }
  }
}

void conv_gemm_backward_data(float* x, const float* y, const float* w, const float* bias, const ConvGeometry& g,
                             bool accumulate) {
  const int64_t K = g.K(), P = g.P(), O = g.o, X = g.c * g.h * g.w;
  const int64_t rows = g.pointwise() ? g.ho : band_rows(g, kBandFloats);
  Scratch scratch(g.pointwise() ? 0 : K * rows * g.wo);
  CMap W(w, O, K, Eigen::OuterStride<>(K));
  // One task per image: the bands of an image overlap in x (col2im adds across band edges).
#pragma omp parallel
  {
    float* col = scratch.mine();
#pragma omp for schedule(static)
    for (int64_t img = 0; img < g.n; ++img) {
      float* xi = x + img * X;
      const float* yi = y + img * O * P;
      if (!accumulate) {
        if (bias)
          fill_channel_bias(xi, bias, g.c, g.h * g.w);
        else
          std::memset(xi, 0, sizeof(float) * X);
      }
      if (g.pointwise()) {
        Map(xi, K, P, Eigen::OuterStride<>(P)).noalias() += W.transpose() * CMap(yi, O, P, Eigen::OuterStride<>(P));
        continue;
      }
      for (int64_t y0 = 0; y0 < g.ho; y0 += rows) {
        const int64_t y1 = std::min(g.ho, y0 + rows), cols = (y1 - y0) * g.wo;
        Map(col, K, cols, Eigen::OuterStride<>(cols)).noalias() =
            W.transpose() * CMap(yi + y0 * g.wo, O, cols, Eigen::OuterStride<>(P));
        col2im_add(xi, col, cols, g, y0, y1);
      }
    }
  }
}

void conv_gemm_backward_weight(float* dw, const float* x, const float* y, const ConvGeometry& g) {
  const int64_t K = g.K(), P = g.P(), O = g.o, X = g.c * g.h * g.w;
  // Chunks of columns: a band of one image, or (small images) several whole images side by side.
  const int64_t rows = band_rows(g, 4 * kBandFloats);
  const int64_t nb = (g.ho + rows - 1) / rows;
  const int64_t per_chunk = nb > 1 ? 1 : std::clamp<int64_t>(4 * kBandFloats / (K * P), 1, g.n);
  const int64_t nchunks = nb > 1 ? g.n * nb : (g.n + per_chunk - 1) / per_chunk;
  const int64_t chunk_cols = nb > 1 ? rows * g.wo : per_chunk * P;
  const int64_t groups = std::min(nchunks, kWeightGroups);
  Tensor partial = Tensor::empty({groups, O, K});
  Scratch scratch((K + O) * chunk_cols);
#pragma omp parallel
  {
    float* col = scratch.mine();
    float* dyc = col + K * chunk_cols;
#pragma omp for schedule(static)
    for (int64_t gi = 0; gi < groups; ++gi) {
      Map D(partial.data() + gi * O * K, O, K, Eigen::OuterStride<>(K));
      const int64_t c0 = gi * nchunks / groups, c1 = (gi + 1) * nchunks / groups;
      for (int64_t ch = c0; ch < c1; ++ch) {
        int64_t cols = 0;
        if (nb > 1) {  // one band of one image; y is read in place
          const int64_t img = ch / nb, y0 = (ch % nb) * rows, y1 = std::min(g.ho, y0 + rows);
          cols = (y1 - y0) * g.wo;
          im2col(col, cols, x + img * X, g, y0, y1);
          CMap Yb(y + img * O * P + y0 * g.wo, O, cols, Eigen::OuterStride<>(P));
          CMap C(col, K, cols, Eigen::OuterStride<>(cols));
          if (ch == c0) D.noalias() = Yb * C.transpose();
          else D.noalias() += Yb * C.transpose();
          continue;
        }
        // Whole images [i0, i1) side by side: columns of image i at (i - i0) * P.
        const int64_t i0 = ch * per_chunk, i1 = std::min(g.n, i0 + per_chunk);
        cols = (i1 - i0) * P;
        for (int64_t i = i0; i < i1; ++i) {
          if (g.pointwise())
            Map(col + (i - i0) * P, K, P, Eigen::OuterStride<>(cols)) = CMap(x + i * X, K, P, Eigen::OuterStride<>(P));
          else
            im2col(col + (i - i0) * P, cols, x + i * X, g, 0, g.ho);
          Map(dyc + (i - i0) * P, O, P, Eigen::OuterStride<>(cols)) = CMap(y + i * O * P, O, P, Eigen::OuterStride<>(P));
        }
        CMap C(col, K, cols, Eigen::OuterStride<>(cols));
        CMap Yc(dyc, O, cols, Eigen::OuterStride<>(cols));
        if (ch == c0) D.noalias() = Yc * C.transpose();
        else D.noalias() += Yc * C.transpose();
      }
    }
    // dw += the group partials, in group order, element by element.
#pragma omp for schedule(static)
    for (int64_t e = 0; e < O * K; ++e) {
      float acc = 0.f;
      for (int64_t gi = 0; gi < groups; ++gi) acc += partial.data()[gi * O * K + e];
      dw[e] += acc;
    }
  }
}

}  // namespace im
