// CPU dense layer on Eigen row-major maps. Eigen's own multithreaded GEMM chooses its depth
// blocking from the thread count (so the rounding would change with it); instead each fixed tile
// of the result is one single-threaded Eigen product, and OpenMP spreads the tiles.
#include "kernels/linear.h"

#include <Eigen/Core>

#include "kernels/parallel.h"

namespace im {

namespace {

using RowMat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using CMap = Eigen::Map<const RowMat>;
using MMap = Eigen::Map<RowMat>;

constexpr int64_t kTileRows = 128, kTileCols = 256;

// Eigen runs a GEMM on one thread when called inside an OpenMP team of several threads, or when
// the product is below its threading threshold (rows * cols * depth < 2 * 50000): so a team is
// opened whenever Eigen could otherwise go parallel. A single mid-sized tile does not pay for a
// team: it uses Eigen's coefficient-based lazy product, which never threads.
constexpr int64_t kEigenSerialWork = 100000;
constexpr int64_t kLazyWork = 1 << 22;

// Calls f(r0, rows, c0, cols, lazy) for every tile of an M x K result with reduction depth `depth`.
template <typename F>
void for_tiles(int64_t M, int64_t K, int64_t depth, F f) {
  const int64_t tm = (M + kTileRows - 1) / kTileRows, tk = (K + kTileCols - 1) / kTileCols;
  const int64_t tiles = tm * tk;
  const int64_t work = M * K * depth;
  if (tiles == 1 && work >= kEigenSerialWork && work < kLazyWork) {
    f(0, M, 0, K, true);
    return;
  }
#pragma omp parallel for schedule(dynamic) if (work >= kEigenSerialWork)
  for (int64_t t = 0; t < tiles; ++t) {
    const int64_t r0 = (t / tk) * kTileRows, c0 = (t % tk) * kTileCols;
    const int64_t rows = M - r0 < kTileRows ? M - r0 : kTileRows;
    const int64_t cols = K - c0 < kTileCols ? K - c0 : kTileCols;
    f(r0, rows, c0, cols, false);
  }
}

}  // namespace

void linear_forward_cpu(float* y, const float* x, const float* w, const float* bias, int64_t N, int64_t in, int64_t out) {
  if (N == 0 || out == 0) return;
  CMap X(x, N, in), W(w, out, in);
  MMap Y(y, N, out);
  for_tiles(N, out, in, [&](int64_t r0, int64_t rows, int64_t c0, int64_t cols, bool lazy) {
    auto Yt = Y.block(r0, c0, rows, cols);
    if (lazy)
      Yt.noalias() = X.middleRows(r0, rows).lazyProduct(W.middleRows(c0, cols).transpose());
    else
      Yt.noalias() = X.middleRows(r0, rows) * W.middleRows(c0, cols).transpose();
    if (bias) Yt.rowwise() += Eigen::Map<const Eigen::RowVectorXf>(bias + c0, cols);
  });
}

void linear_backward_cpu(float* dx, float* dw, float* db, const float* dy, const float* x, const float* w, int64_t N,
                         int64_t in, int64_t out) {
  CMap DY(dy, N, out), X(x, N, in), W(w, out, in);
  if (dx) {
    MMap DX(dx, N, in);
    for_tiles(N, in, out, [&](int64_t r0, int64_t rows, int64_t c0, int64_t cols, bool lazy) {
      auto T = DX.block(r0, c0, rows, cols);
      if (lazy)
        T.noalias() += DY.middleRows(r0, rows).lazyProduct(W.middleCols(c0, cols));
      else
        T.noalias() += DY.middleRows(r0, rows) * W.middleCols(c0, cols);
    });
  }
  if (dw) {
    MMap DW(dw, out, in);
    for_tiles(out, in, N, [&](int64_t r0, int64_t rows, int64_t c0, int64_t cols, bool lazy) {
      auto T = DW.block(r0, c0, rows, cols);
      if (lazy)
        T.noalias() += DY.middleCols(r0, rows).transpose().lazyProduct(X.middleCols(c0, cols));
      else
        T.noalias() += DY.middleCols(r0, rows).transpose() * X.middleCols(c0, cols);
    });
  }
  if (db) {
    // Column sums in row order (N is a batch size: small).
#pragma omp parallel for schedule(static) if (N * out > kParallelGrain)
    for (int64_t o = 0; o < out; ++o) {
      double s = 0;
      for (int64_t n = 0; n < N; ++n) s += dy[n * out + o];
      db[o] += static_cast<float>(s);
    }
  }
}

}  // namespace im
