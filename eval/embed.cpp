// PCA through Jacobi rotations and exact t-SNE.
#include "eval/embed.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>

namespace im::eval {

EigenDecomposition symmetric_eigen(const std::vector<double>& a_in, int n) {
  if (static_cast<int>(a_in.size()) != n * n) throw std::invalid_argument("symmetric_eigen: size mismatch");
  std::vector<double> a = a_in, v(static_cast<size_t>(n) * n, 0.0);
  for (int i = 0; i < n; ++i) v[i * n + i] = 1;
  auto A = [&](int i, int j) -> double& { return a[static_cast<size_t>(i) * n + j]; };
  auto V = [&](int i, int j) -> double& { return v[static_cast<size_t>(i) * n + j]; };
  double scale = 0;
  for (double x : a) scale = std::max(scale, std::fabs(x));
  for (int sweep = 0; sweep < 100; ++sweep) {
    double off = 0;
    for (int i = 0; i < n; ++i)
      for (int j = i + 1; j < n; ++j) off += A(i, j) * A(i, j);
    if (off <= 1e-30 * scale * scale || off == 0) break;
    for (int p = 0; p < n; ++p)
      for (int q = p + 1; q < n; ++q) {
        if (A(p, q) == 0) continue;
        // Rotation that zeroes A(p, q) (Golub & Van Loan, symmetric Schur decomposition).
        const double tau = (A(q, q) - A(p, p)) / (2 * A(p, q));
        const double t = (tau >= 0 ? 1 : -1) / (std::fabs(tau) + std::sqrt(1 + tau * tau));
        const double c = 1 / std::sqrt(1 + t * t), s = t * c;
        for (int k = 0; k < n; ++k) {
          const double akp = A(k, p), akq = A(k, q);
          A(k, p) = c * akp - s * akq, A(k, q) = s * akp + c * akq;
        }
        for (int k = 0; k < n; ++k) {
          const double apk = A(p, k), aqk = A(q, k);
          A(p, k) = c * apk - s * aqk, A(q, k) = s * apk + c * aqk;
        }
        for (int k = 0; k < n; ++k) {
          const double vkp = V(k, p), vkq = V(k, q);
          V(k, p) = c * vkp - s * vkq, V(k, q) = s * vkp + c * vkq;
        }
      }
  }
  std::vector<int> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int x, int y) { return A(x, x) > A(y, y); });
  EigenDecomposition e;
  e.values.resize(n);
  e.vectors.assign(static_cast<size_t>(n) * n, 0.0);
  for (int c = 0; c < n; ++c) {
    const int src = order[c];
    e.values[c] = A(src, src);
    int big = 0;
    for (int k = 1; k < n; ++k)
      if (std::fabs(V(k, src)) > std::fabs(V(big, src)) + 1e-12) big = k;
    const double sign = V(big, src) < 0 ? -1 : 1;
    for (int k = 0; k < n; ++k) e.vectors[static_cast<size_t>(k) * n + c] = sign * V(k, src);
  }
  return e;
}

Pca pca(const Matrix& X, int k, bool standardize) {
  Pca p;
  const size_t n = X.size();
  if (n == 0) return p;
  const int d = static_cast<int>(X[0].size());
  k = std::min(k, d);
  std::vector<int> all(n);
  std::iota(all.begin(), all.end(), 0);
  Standardizer st;
  st.fit(X, all);
  if (!standardize) std::fill(st.scale.begin(), st.scale.end(), 1.0);
  p.mean = st.mean, p.scale = st.scale;
  Matrix Z;
  for (const auto& row : X) Z.push_back(st.apply(row));
  std::vector<double> cov(static_cast<size_t>(d) * d, 0.0);
  for (const auto& z : Z)
    for (int i = 0; i < d; ++i)
      for (int j = i; j < d; ++j) cov[static_cast<size_t>(i) * d + j] += z[i] * z[j];
  const double denom = n > 1 ? static_cast<double>(n - 1) : 1.0;
  for (int i = 0; i < d; ++i)
    for (int j = i; j < d; ++j) cov[static_cast<size_t>(j) * d + i] = cov[static_cast<size_t>(i) * d + j] /= denom;
  const EigenDecomposition e = symmetric_eigen(cov, d);
  double total = 0;
  for (double v : e.values) total += std::max(0.0, v);
  p.components.assign(static_cast<size_t>(d) * k, 0.0);
  for (int i = 0; i < d; ++i)
    for (int c = 0; c < k; ++c) p.components[static_cast<size_t>(i) * k + c] = e.vectors[static_cast<size_t>(i) * d + c];
  for (int c = 0; c < k; ++c) {
    p.variance.push_back(std::max(0.0, e.values[c]));
    p.explained.push_back(total > 0 ? p.variance.back() / total : 0);
  }
  for (const auto& z : Z) {
    std::vector<double> s(k, 0.0);
    for (int c = 0; c < k; ++c)
      for (int i = 0; i < d; ++i) s[c] += z[i] * p.components[static_cast<size_t>(i) * k + c];
    p.projection.push_back(s);
  }
  return p;
}

namespace {

// Conditional probabilities p_{j|i} with the perplexity reached by bisection on the precision.
void conditional_p(const std::vector<double>& D, size_t n, double perplexity, std::vector<double>& P) {
  const double target = std::log(perplexity);
  for (size_t i = 0; i < n; ++i) {
    double beta = 1, lo = 0, hi = INFINITY;
    for (int it = 0; it < 200; ++it) {
      double sum = 0, hsum = 0;
      for (size_t j = 0; j < n; ++j) {
        if (j == i) continue;
        const double p = std::exp(-D[i * n + j] * beta);
        P[i * n + j] = p, sum += p, hsum += D[i * n + j] * p;
      }
      if (sum <= 0) sum = 1e-300;
      const double H = std::log(sum) + beta * hsum / sum;
      for (size_t j = 0; j < n; ++j) P[i * n + j] = j == i ? 0 : P[i * n + j] / sum;
      if (std::fabs(H - target) < 1e-5) break;
      if (H > target) lo = beta, beta = std::isinf(hi) ? beta * 2 : (beta + hi) / 2;
      else hi = beta, beta = (beta + lo) / 2;
    }
  }
}

}  // namespace

Matrix tsne(const Matrix& X, const TsneOptions& o) {
  const size_t n = X.size();
  if (n == 0) return {};
  if (n < 4) {  // nothing to optimize: the PCA is as good
    const Pca p = pca(X, 2);
    Matrix out = p.projection;
    for (auto& r : out) r.resize(2, 0.0);
    return out;
  }
  const int d = static_cast<int>(X[0].size());
  const Pca init = pca(X, std::min(d, 50));
  const Matrix& Z = init.projection;
  std::vector<double> D(n * n, 0.0);
  for (size_t i = 0; i < n; ++i)
    for (size_t j = i + 1; j < n; ++j) {
      double s = 0;
      for (size_t c = 0; c < Z[i].size(); ++c) s += (Z[i][c] - Z[j][c]) * (Z[i][c] - Z[j][c]);
      D[i * n + j] = D[j * n + i] = s;
    }
  // Distances are rescaled so the bisection starts in a sensible range whatever the feature count.
  double dmean = 0;
  for (double v : D) dmean += v;
  dmean /= static_cast<double>(n * (n - 1));
  if (dmean > 0)
    for (double& v : D) v /= dmean;
  const double perp = std::max(1.0, std::min(o.perplexity, (static_cast<double>(n) - 1) / 3));
  std::vector<double> P(n * n, 0.0);
  conditional_p(D, n, perp, P);
  for (size_t i = 0; i < n; ++i)
    for (size_t j = i + 1; j < n; ++j) {
      const double s = std::max((P[i * n + j] + P[j * n + i]) / (2.0 * static_cast<double>(n)), 1e-12);
      P[i * n + j] = P[j * n + i] = s;
    }
  // Initial layout: the first two principal components, scaled to sd 1e-4.
  std::vector<double> Y(n * 2, 0.0);
  double sd = 0;
  for (size_t i = 0; i < n; ++i) sd += Z[i][0] * Z[i][0];
  sd = std::sqrt(sd / static_cast<double>(n));
  for (size_t i = 0; i < n; ++i)
    for (int c = 0; c < 2; ++c)
      Y[i * 2 + c] = (c < static_cast<int>(Z[i].size()) ? Z[i][c] : 0.0) * (sd > 0 ? 1e-4 / sd : 0.0);
  const double lr = o.learning_rate > 0 ? o.learning_rate : std::max(static_cast<double>(n) / o.exaggeration / 4, 50.0);
  std::vector<double> update(n * 2, 0.0), gains(n * 2, 1.0), grad(n * 2), Q(n * n);
  for (int it = 0; it < o.iterations; ++it) {
    const double exag = it < o.exaggeration_iterations ? o.exaggeration : 1.0;
    const double momentum = it < o.exaggeration_iterations ? 0.5 : 0.8;
    double qsum = 0;
    for (size_t i = 0; i < n; ++i)
      for (size_t j = i + 1; j < n; ++j) {
        const double dx = Y[i * 2] - Y[j * 2], dy = Y[i * 2 + 1] - Y[j * 2 + 1];
        const double q = 1 / (1 + dx * dx + dy * dy);
        Q[i * n + j] = Q[j * n + i] = q, qsum += 2 * q;
      }
    std::fill(grad.begin(), grad.end(), 0.0);
    for (size_t i = 0; i < n; ++i)
      for (size_t j = 0; j < n; ++j) {
        if (i == j) continue;
        const double q = Q[i * n + j];
        const double m = 4 * (exag * P[i * n + j] - q / qsum) * q;
        grad[i * 2] += m * (Y[i * 2] - Y[j * 2]);
        grad[i * 2 + 1] += m * (Y[i * 2 + 1] - Y[j * 2 + 1]);
      }
    for (size_t k = 0; k < n * 2; ++k) {
      gains[k] = (grad[k] > 0) != (update[k] > 0) ? gains[k] + 0.2 : std::max(0.01, gains[k] * 0.8);
      update[k] = momentum * update[k] - lr * gains[k] * grad[k];
      Y[k] += update[k];
    }
  }
  Matrix out(n, std::vector<double>(2));
  for (size_t i = 0; i < n; ++i) out[i] = {Y[i * 2], Y[i * 2 + 1]};
  return out;
}

}  // namespace im::eval
