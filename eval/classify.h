// Classification and regression of feature vectors with libsvm (RBF kernel), standardized on the
// training fold only, under stratified k-fold cross-validation that is deterministic for a seed.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace im::eval {

using Matrix = std::vector<std::vector<double>>;  // samples x features

struct SvmOptions {
  double C = 1.0;        // libsvm / sklearn default
  double gamma = 0;      // RBF exp(-gamma |u - v|^2); 0: 1 / n_features (on standardized features this
                         // is sklearn's gamma='scale')
  double epsilon = 0.1;  // epsilon-SVR tube, in units of the standardized target
  double tolerance = 1e-3;
  double cache_mb = 64;
};

struct CvOptions {
  int folds = 5;
  int repeats = 5;     // repeated CV with seeds seed, seed + 1, ...: mean and sd over repeats
  uint64_t seed = 42;
};

// Mean and standard deviation (ddof 0, a feature constant on the training data gets scale 1) of
// the training rows, applied to any row.
struct Standardizer {
  std::vector<double> mean, scale;
  void fit(const Matrix& X, const std::vector<int>& rows);
  std::vector<double> apply(const std::vector<double>& x) const;
};

// Fold of every sample (0..k-1): each class's samples are shuffled (Fisher-Yates with mt19937_64
// seeded by `seed`) and dealt round-robin, continuing from one class to the next, so folds are
// balanced in size and class proportions. Identical on every platform.
std::vector<int> stratified_folds(const std::vector<int>& y, int k, uint64_t seed);
// Plain shuffled k-fold (for regression).
std::vector<int> shuffled_folds(size_t n, int k, uint64_t seed);

// A trained C-SVC (labels 0..n_classes-1) that owns the data libsvm's model points into.
class SvmClassifier {
 public:
  SvmClassifier(const Matrix& X, const std::vector<int>& y, int n_classes, const SvmOptions& options);
  ~SvmClassifier();
  SvmClassifier(const SvmClassifier&) = delete;
  SvmClassifier& operator=(const SvmClassifier&) = delete;
  int predict(const std::vector<double>& x) const;
  // One score per class for ranking (AUC): 2 classes: (-d, d) with d the decision value towards
  // class 1; more: sklearn's one-vs-rest transform of libsvm's one-vs-one outputs (votes plus
  // normalized summed confidences).
  std::vector<double> scores(const std::vector<double>& x) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// An epsilon-SVR with the RBF kernel on a standardized target.
class SvmRegressor {
 public:
  SvmRegressor(const Matrix& X, const std::vector<double>& t, const SvmOptions& options);
  ~SvmRegressor();
  SvmRegressor(const SvmRegressor&) = delete;
  SvmRegressor& operator=(const SvmRegressor&) = delete;
  double predict(const std::vector<double>& x) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

struct ClassificationResult {
  bool valid = false;
  std::string note;            // why not valid, or what was adjusted (fewer folds, ...)
  int n = 0, n_classes = 0, folds = 0, repeats = 0, n_features = 0;
  double accuracy = 0, accuracy_sd = 0;  // mean (sd) over repeats of the out-of-fold accuracy
  double auc = 0, auc_sd = 0;            // same for the AUC of pooled out-of-fold scores (OvR macro if > 2)
  double majority_rate = 0;              // chance: always predicting the largest class
  double uniform_chance = 0;             // chance: 1 / n_classes
  std::vector<std::vector<int>> confusion;  // [true][predicted], first repeat
};
// Standardize on the training fold, train an RBF C-SVC, predict the held-out fold. `groups` (optional,
// one id per sample): samples of a group always share a fold (the same subject seen at several
// sites must not be in training and test at once); folds are then stratified by each group's
// first label.
ClassificationResult cross_validate_classifier(const Matrix& X, const std::vector<int>& y, int n_classes,
                                               const SvmOptions& svm, const CvOptions& cv,
                                               const std::vector<int>* groups = nullptr);

struct RegressionResult {
  bool valid = false;
  std::string note;
  int n = 0, folds = 0, repeats = 0, n_features = 0;
  double mae = 0, mae_sd = 0;  // out-of-fold mean absolute error (target units), mean (sd) over repeats
  double r = 0;                // Pearson r of out-of-fold predictions and truth (mean over repeats)
  double baseline_mae = 0;     // chance: predicting the training-fold mean
};
RegressionResult cross_validate_regressor(const Matrix& X, const std::vector<double>& t, const SvmOptions& svm,
                                          const CvOptions& cv, const std::vector<int>* groups = nullptr);

// Folds per group (see cross_validate_classifier): `label` per sample (stratification; all 0 for
// none). Returns the fold of every sample. Groups are ids 0..G-1.
std::vector<int> grouped_folds(const std::vector<int>& group, const std::vector<int>& label, int k, uint64_t seed,
                               bool stratify);

// The columns `index` of every row.
Matrix select_columns(const Matrix& X, const std::vector<int>& index);

}  // namespace im::eval
