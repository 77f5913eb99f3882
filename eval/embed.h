// 2-D embeddings of feature vectors for the report: PCA (Jacobi eigen-solver, deterministic signs)
// and exact t-SNE (van der Maaten and Hinton 2008) for small sample counts.
#pragma once
#include <cstdint>
#include <vector>

#include "eval/classify.h"

namespace im::eval {

// Eigen-decomposition of a symmetric matrix (row-major n x n) by cyclic Jacobi rotations:
// eigenvalues in descending order, eigenvectors as the columns of `vectors` (row-major n x n), each
// with its largest-magnitude component made positive.
struct EigenDecomposition {
  std::vector<double> values, vectors;
};
EigenDecomposition symmetric_eigen(const std::vector<double>& a, int n);

struct Pca {
  std::vector<double> mean, scale;   // standardization used (scale 1 when standardize is false)
  std::vector<double> components;    // d x k row-major: column c is the c-th principal axis
  std::vector<double> variance;      // variance along each axis (eigenvalues of the covariance, ddof 1)
  std::vector<double> explained;     // variance / total variance
  Matrix projection;                 // n x k scores
};
// PCA of X (n x d) to k dimensions; features are standardized first when `standardize`.
Pca pca(const Matrix& X, int k = 2, bool standardize = true);

struct TsneOptions {
  double perplexity = 30;  // capped at (n - 1) / 3
  int iterations = 1000;
  int exaggeration_iterations = 250;
  double exaggeration = 12;
  double learning_rate = 0;  // 0: max(n / exaggeration / 4, 50) (sklearn's 'auto')
};
// Exact t-SNE to 2-D of the standardized features (their first min(d, 50) principal components),
// initialized from the PCA scaled to sd 1e-4: deterministic. n x 2; O(n^2) per iteration.
Matrix tsne(const Matrix& X, const TsneOptions& options = {});

}  // namespace im::eval
