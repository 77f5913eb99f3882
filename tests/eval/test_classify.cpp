// SVM cross-validation on data with a known answer, folds, regression; PCA, Jacobi and t-SNE.
#include <catch2/catch.hpp>

#include <cmath>
#include <random>
#include <set>

#include "eval/classify.h"
#include "eval/embed.h"

using namespace im::eval;

namespace {

struct Data {
  Matrix X;
  std::vector<int> y;
};

// n samples per class, `dim` features, class means `shift` apart along every axis.
Data blobs(int classes, int n, int dim, double shift, uint64_t seed) {
  std::mt19937_64 g(seed);
  std::normal_distribution<double> N(0, 1);
  Data d;
  for (int c = 0; c < classes; ++c)
    for (int i = 0; i < n; ++i) {
      std::vector<double> x(dim);
      for (int k = 0; k < dim; ++k) x[k] = N(g) + shift * c * ((k + c) % 2 ? 1 : -1);
      d.X.push_back(x);
      d.y.push_back(c);
    }
  return d;
}

}  // namespace

TEST_CASE("classify: stratified folds are balanced, deterministic and seed-dependent", "[classify]") {
  std::vector<int> y;
  for (int i = 0; i < 23; ++i) y.push_back(i < 15 ? 0 : 1);
  const auto f1 = stratified_folds(y, 5, 7), f2 = stratified_folds(y, 5, 7), f3 = stratified_folds(y, 5, 8);
  CHECK(f1 == f2);
  CHECK(f1 != f3);
  for (int k = 0; k < 5; ++k) {
    int n0 = 0, n1 = 0;
    for (size_t i = 0; i < y.size(); ++i)
      if (f1[i] == k) (y[i] ? n1 : n0)++;
    CHECK(n0 == 3);          // 15 class-0 samples over 5 folds
    CHECK((n1 == 1 || n1 == 2));  // 8 class-1 samples
  }
  // Grouped: every group in one fold.
  const std::vector<int> group = {0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5};
  const std::vector<int> lab = {0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1};
  const auto gf = grouped_folds(group, lab, 3, 1, true);
  for (size_t i = 0; i < group.size(); i += 2) CHECK(gf[i] == gf[i + 1]);
  CHECK(std::set<int>(gf.begin(), gf.end()).size() == 3);
}

TEST_CASE("classify: separable classes -> accuracy and AUC ~ 1", "[classify]") {
  const Data d = blobs(2, 30, 6, 3.0, 11);
  CvOptions cv;
  cv.repeats = 2;
  const ClassificationResult r = cross_validate_classifier(d.X, d.y, 2, {}, cv);
  REQUIRE(r.valid);
  CHECK(r.accuracy >= 0.95);
  CHECK(r.auc >= 0.99);
  CHECK(r.majority_rate == Approx(0.5));
  CHECK(r.uniform_chance == Approx(0.5));
  CHECK(r.folds == 5);
  const Data d3 = blobs(3, 20, 6, 3.0, 12);
  const ClassificationResult r3 = cross_validate_classifier(d3.X, d3.y, 3, {}, cv);
  REQUIRE(r3.valid);
  CHECK(r3.accuracy >= 0.9);
  CHECK(r3.auc >= 0.97);
  CHECK(r3.uniform_chance == Approx(1.0 / 3));
}

TEST_CASE("classify: random labels -> about chance; deterministic for a seed", "[classify]") {
  Data d = blobs(1, 120, 6, 0.0, 13);
  std::mt19937_64 g(99);
  for (size_t i = 0; i < d.y.size(); ++i) d.y[i] = static_cast<int>(i % 2);
  std::shuffle(d.y.begin(), d.y.end(), g);
  CvOptions cv;
  cv.repeats = 3;
  const ClassificationResult r = cross_validate_classifier(d.X, d.y, 2, {}, cv);
  REQUIRE(r.valid);
  CHECK(r.accuracy > 0.35);
  CHECK(r.accuracy < 0.65);
  CHECK(r.auc > 0.35);
  CHECK(r.auc < 0.65);
  const ClassificationResult again = cross_validate_classifier(d.X, d.y, 2, {}, cv);
  CHECK(again.accuracy == r.accuracy);
  CHECK(again.auc == r.auc);
}

TEST_CASE("classify: too few samples are reported, not crashed on", "[classify]") {
  const Matrix X = {{1}, {2}, {3}};
  CHECK_FALSE(cross_validate_classifier(X, {0, 0, 1}, 2, {}, {}).valid);
  CHECK_FALSE(cross_validate_classifier(X, {0, 0, 0}, 2, {}, {}).valid);
  const ClassificationResult r = cross_validate_classifier({{1}, {2}, {3}, {4}, {5}, {6}}, {0, 0, 0, 1, 1, 1}, 2, {}, {});
  CHECK(r.valid);
  CHECK(r.folds == 3);
  CHECK_FALSE(r.note.empty());
}

TEST_CASE("classify: SVR recovers a smooth target; standardization uses the training rows only", "[classify]") {
  std::mt19937_64 g(5);
  std::normal_distribution<double> N(0, 1);
  Matrix X;
  std::vector<double> t;
  for (int i = 0; i < 80; ++i) {
    const double a = N(g), b = N(g);
    X.push_back({a * 100 + 500, b, N(g)});
    t.push_back(40 + 10 * a + 0.5 * N(g));
  }
  CvOptions cv;
  cv.repeats = 1;
  const RegressionResult r = cross_validate_regressor(X, t, {}, cv);
  REQUIRE(r.valid);
  CHECK(r.mae < 0.4 * r.baseline_mae);
  CHECK(r.r > 0.9);
  Standardizer s;
  s.fit({{1, 5}, {3, 5}, {100, 7}}, {0, 1});
  CHECK(s.mean == std::vector<double>{2, 5});
  CHECK(s.scale[0] == Approx(1));
  CHECK(s.scale[1] == 1);  // constant on the training rows
  CHECK(s.apply({4, 6}) == std::vector<double>{2, 1});
}

TEST_CASE("embed: Jacobi eigen-decomposition", "[embed]") {
  const EigenDecomposition e = symmetric_eigen({2, 1, 1, 2}, 2);
  CHECK(e.values[0] == Approx(3));
  CHECK(e.values[1] == Approx(1));
  CHECK(e.vectors[0] == Approx(std::sqrt(0.5)));  // column 0 = (1, 1) / sqrt 2
  CHECK(e.vectors[2] == Approx(std::sqrt(0.5)));
  // A = R diag(5, 2, 1) R^T for a rotation R: eigenvalues back, A v = lambda v.
  const double c = std::cos(0.7), s = std::sin(0.7);
  const double R[9] = {c, -s, 0, s * 0.6, c * 0.6, -0.8, s * 0.8, c * 0.8, 0.6};
  const double L[3] = {5, 2, 1};
  std::vector<double> A(9, 0.0);
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 3; ++k) A[i * 3 + j] += R[i * 3 + k] * L[k] * R[j * 3 + k];
  const EigenDecomposition f = symmetric_eigen(A, 3);
  for (int k = 0; k < 3; ++k) {
    CHECK(f.values[k] == Approx(L[k]).epsilon(1e-12));
    for (int i = 0; i < 3; ++i) {
      double av = 0;
      for (int j = 0; j < 3; ++j) av += A[i * 3 + j] * f.vectors[j * 3 + k];
      CHECK(av == Approx(f.values[k] * f.vectors[i * 3 + k]).margin(1e-12));
    }
  }
}

TEST_CASE("embed: PCA of data with a known covariance", "[embed]") {
  // x = a u + b v with u, v orthonormal in 3-D and a, b zero-mean, uncorrelated, variances 4 and 1.
  const double u[3] = {0.6, 0.8, 0}, v[3] = {0, 0, 1};
  const double a[4] = {2, -2, 2, -2}, b[4] = {1, 1, -1, -1};
  Matrix X;
  for (int r = 0; r < 4; ++r)
    X.push_back({a[r] * u[0] + b[r] * v[0] + 10, a[r] * u[1] + b[r] * v[1] - 3, a[r] * u[2] + b[r] * v[2]});
  const Pca p = pca(X, 2, false);
  CHECK(p.variance[0] == Approx(16.0 / 3));  // sum a^2 / (n - 1)
  CHECK(p.variance[1] == Approx(4.0 / 3));
  CHECK(p.explained[0] == Approx(0.8));
  for (int i = 0; i < 3; ++i) {
    CHECK(std::fabs(p.components[i * 2 + 0]) == Approx(std::fabs(u[i])).margin(1e-12));
    CHECK(std::fabs(p.components[i * 2 + 1]) == Approx(std::fabs(v[i])).margin(1e-12));
  }
  for (int r = 0; r < 4; ++r) CHECK(std::fabs(p.projection[r][0]) == Approx(2));
}

TEST_CASE("embed: t-SNE separates two clusters, deterministically", "[embed]") {
  const Data d = blobs(2, 15, 8, 4.0, 21);
  TsneOptions o;
  o.iterations = 400;
  const Matrix y = tsne(d.X, o);
  REQUIRE(y.size() == 30);
  CHECK(tsne(d.X, o) == y);
  double intra = 0, inter = 0;
  int ni = 0, nx = 0;
  for (size_t i = 0; i < y.size(); ++i)
    for (size_t j = i + 1; j < y.size(); ++j) {
      const double dist = std::hypot(y[i][0] - y[j][0], y[i][1] - y[j][1]);
      (d.y[i] == d.y[j] ? intra : inter) += dist;
      (d.y[i] == d.y[j] ? ni : nx)++;
    }
  CHECK(intra / ni < 0.5 * inter / nx);
}
