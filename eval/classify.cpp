// libsvm C-SVC / epsilon-SVR wrappers and deterministic cross-validation.
#include "eval/classify.h"

#include <libsvm/svm.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <stdexcept>

#include "eval/stats.h"

namespace im::eval {

namespace {

void quiet(const char*) {}

// Rows as libsvm's sparse nodes (dense: every feature, index 1..d, then the -1 terminator).
struct Problem {
  std::vector<std::vector<svm_node>> rows;
  std::vector<svm_node*> ptr;
  std::vector<double> label;
  svm_problem prob{};

  void add(const std::vector<double>& x, double lab) {
    rows.push_back(nodes(x));
    label.push_back(lab);
  }
  void finish() {
    ptr.clear();
    for (auto& r : rows) ptr.push_back(r.data());
    prob.l = static_cast<int>(rows.size());
    prob.y = label.data();
    prob.x = ptr.data();
  }
  static std::vector<svm_node> nodes(const std::vector<double>& x) {
    std::vector<svm_node> n(x.size() + 1);
    for (size_t i = 0; i < x.size(); ++i) n[i] = {static_cast<int>(i) + 1, x[i]};
    n[x.size()] = {-1, 0};
    return n;
  }
};

svm_parameter make_param(int type, size_t n_features, const SvmOptions& o) {
  svm_parameter p{};
  p.svm_type = type;
  p.kernel_type = RBF;
  p.gamma = o.gamma > 0 ? o.gamma : 1.0 / static_cast<double>(std::max<size_t>(1, n_features));
  p.C = o.C;
  p.p = o.epsilon;
  p.eps = o.tolerance;
  p.cache_size = o.cache_mb;
  p.shrinking = 1;
  p.probability = 0;
  return p;
}

svm_model* train(Problem& pb, const svm_parameter& param) {
  svm_set_print_string_function(quiet);
  pb.finish();
  if (const char* err = svm_check_parameter(&pb.prob, &param)) throw std::invalid_argument(std::string("libsvm: ") + err);
  return svm_train(&pb.prob, &param);
}

uint64_t draw_below(std::mt19937_64& g, uint64_t n) { return g() % n; }  // n is tiny: bias negligible

}  // namespace

void Standardizer::fit(const Matrix& X, const std::vector<int>& rows) {
  const size_t d = X.empty() ? 0 : X[0].size();
  mean.assign(d, 0.0);
  scale.assign(d, 1.0);
  if (rows.empty()) return;
  for (int r : rows)
    for (size_t j = 0; j < d; ++j) mean[j] += X[r][j];
  for (double& m : mean) m /= static_cast<double>(rows.size());
  std::vector<double> var(d, 0.0);
  for (int r : rows)
    for (size_t j = 0; j < d; ++j) var[j] += (X[r][j] - mean[j]) * (X[r][j] - mean[j]);
  for (size_t j = 0; j < d; ++j) {
    const double sd = std::sqrt(var[j] / static_cast<double>(rows.size()));
    scale[j] = sd > 1e-12 * (std::fabs(mean[j]) + 1e-300) && sd > 0 ? sd : 1.0;
  }
}

std::vector<double> Standardizer::apply(const std::vector<double>& x) const {
  std::vector<double> out(x.size());
  for (size_t j = 0; j < x.size(); ++j) out[j] = (x[j] - mean[j]) / scale[j];
  return out;
}

std::vector<int> stratified_folds(const std::vector<int>& y, int k, uint64_t seed) {
  std::vector<int> fold(y.size(), 0);
  if (k < 1) throw std::invalid_argument("stratified_folds: k must be >= 1");
  const int nc = y.empty() ? 0 : *std::max_element(y.begin(), y.end()) + 1;
  std::mt19937_64 g(seed);
  int next = 0;
  for (int c = 0; c < nc; ++c) {
    std::vector<int> idx;
    for (size_t i = 0; i < y.size(); ++i)
      if (y[i] == c) idx.push_back(static_cast<int>(i));
    for (size_t i = idx.size(); i > 1; --i) std::swap(idx[i - 1], idx[draw_below(g, i)]);
    for (int i : idx) fold[i] = next, next = (next + 1) % k;
  }
  return fold;
}

std::vector<int> shuffled_folds(size_t n, int k, uint64_t seed) {
  std::vector<int> idx(n), fold(n);
  for (size_t i = 0; i < n; ++i) idx[i] = static_cast<int>(i);
  std::mt19937_64 g(seed);
  for (size_t i = n; i > 1; --i) std::swap(idx[i - 1], idx[draw_below(g, i)]);
  for (size_t i = 0; i < n; ++i) fold[idx[i]] = static_cast<int>(i % static_cast<size_t>(k));
  return fold;
}

std::vector<int> grouped_folds(const std::vector<int>& group, const std::vector<int>& label, int k, uint64_t seed,
                               bool stratify) {
  const int ng = group.empty() ? 0 : *std::max_element(group.begin(), group.end()) + 1;
  std::vector<int> glabel(ng, -1);
  for (size_t i = 0; i < group.size(); ++i)
    if (glabel[group[i]] < 0) glabel[group[i]] = stratify ? label[i] : 0;
  for (int& l : glabel) l = std::max(l, 0);
  const std::vector<int> gfold = stratified_folds(glabel, k, seed);
  std::vector<int> fold(group.size());
  for (size_t i = 0; i < group.size(); ++i) fold[i] = gfold[group[i]];
  return fold;
}

Matrix select_columns(const Matrix& X, const std::vector<int>& index) {
  Matrix out(X.size());
  for (size_t i = 0; i < X.size(); ++i)
    for (int j : index) out[i].push_back(X[i][j]);
  return out;
}

// ---- classifier ----

struct SvmClassifier::Impl {
  Problem pb;
  svm_parameter param{};
  svm_model* model = nullptr;
  int n_classes = 0;
  std::vector<int> label;  // model's class order -> our class index
};

SvmClassifier::SvmClassifier(const Matrix& X, const std::vector<int>& y, int n_classes, const SvmOptions& o)
    : impl_(std::make_unique<Impl>()) {
  if (X.empty() || X.size() != y.size()) throw std::invalid_argument("SvmClassifier: empty data or label mismatch");
  impl_->n_classes = n_classes;
  for (size_t i = 0; i < X.size(); ++i) impl_->pb.add(X[i], y[i]);
  impl_->param = make_param(C_SVC, X[0].size(), o);
  impl_->model = train(impl_->pb, impl_->param);
  const int nr = svm_get_nr_class(impl_->model);
  std::vector<int> lab(nr);
  svm_get_labels(impl_->model, lab.data());
  impl_->label = lab;
}

SvmClassifier::~SvmClassifier() {
  if (impl_ && impl_->model) svm_free_and_destroy_model(&impl_->model);
}

int SvmClassifier::predict(const std::vector<double>& x) const {
  const std::vector<svm_node> n = Problem::nodes(x);
  return static_cast<int>(std::lround(svm_predict(impl_->model, n.data())));
}

std::vector<double> SvmClassifier::scores(const std::vector<double>& x) const {
  const std::vector<svm_node> n = Problem::nodes(x);
  const int nr = static_cast<int>(impl_->label.size());
  std::vector<double> out(impl_->n_classes, 0.0);
  if (nr < 2) {  // one class in training: it wins everything
    if (nr == 1) out[impl_->label[0]] = 1;
    return out;
  }
  std::vector<double> dec(static_cast<size_t>(nr) * (nr - 1) / 2);
  svm_predict_values(impl_->model, n.data(), dec.data());
  if (impl_->n_classes == 2 && nr == 2) {
    const double d = impl_->label[0] == 1 ? dec[0] : -dec[0];  // positive decision -> label[0]
    return {-d, d};
  }
  std::vector<double> votes(nr, 0.0), conf(nr, 0.0);
  for (int i = 0, k = 0; i < nr; ++i)
    for (int j = i + 1; j < nr; ++j, ++k) {
      conf[i] += dec[k], conf[j] -= dec[k];
      (dec[k] > 0 ? votes[i] : votes[j]) += 1;
    }
  for (int i = 0; i < nr; ++i) out[impl_->label[i]] = votes[i] + conf[i] / (3 * (std::fabs(conf[i]) + 1));
  for (int c = 0; c < impl_->n_classes; ++c)  // classes absent from training rank last
    if (std::find(impl_->label.begin(), impl_->label.end(), c) == impl_->label.end()) out[c] = -1;
  return out;
}

// ---- regressor ----

struct SvmRegressor::Impl {
  Problem pb;
  svm_parameter param{};
  svm_model* model = nullptr;
  double t_mean = 0, t_scale = 1;
};

SvmRegressor::SvmRegressor(const Matrix& X, const std::vector<double>& t, const SvmOptions& o)
    : impl_(std::make_unique<Impl>()) {
  if (X.empty() || X.size() != t.size()) throw std::invalid_argument("SvmRegressor: empty data or target mismatch");
  impl_->t_mean = mean(t);
  const double sd = stdev(t);
  impl_->t_scale = sd > 0 ? sd : 1.0;
  for (size_t i = 0; i < X.size(); ++i) impl_->pb.add(X[i], (t[i] - impl_->t_mean) / impl_->t_scale);
  impl_->param = make_param(EPSILON_SVR, X[0].size(), o);
  impl_->model = train(impl_->pb, impl_->param);
}

SvmRegressor::~SvmRegressor() {
  if (impl_ && impl_->model) svm_free_and_destroy_model(&impl_->model);
}

double SvmRegressor::predict(const std::vector<double>& x) const {
  const std::vector<svm_node> n = Problem::nodes(x);
  return impl_->t_mean + impl_->t_scale * svm_predict(impl_->model, n.data());
}

// ---- cross-validation ----

namespace {

void split(const std::vector<int>& fold, int f, std::vector<int>& train, std::vector<int>& test) {
  train.clear(), test.clear();
  for (size_t i = 0; i < fold.size(); ++i) (fold[i] == f ? test : train).push_back(static_cast<int>(i));
}

Matrix standardized(const Matrix& X, const std::vector<int>& rows, const Standardizer& s) {
  Matrix out;
  for (int r : rows) out.push_back(s.apply(X[r]));
  return out;
}

}  // namespace

ClassificationResult cross_validate_classifier(const Matrix& X, const std::vector<int>& y, int n_classes,
                                               const SvmOptions& svm, const CvOptions& cv,
                                               const std::vector<int>* groups) {
  ClassificationResult res;
  res.n = static_cast<int>(X.size());
  res.n_classes = n_classes;
  res.n_features = X.empty() ? 0 : static_cast<int>(X[0].size());
  std::vector<int> count(n_classes, 0);
  for (int c : y) {
    if (c < 0 || c >= n_classes) throw std::invalid_argument("cross_validate_classifier: label out of range");
    ++count[c];
  }
  const int majority = *std::max_element(count.begin(), count.end());
  int smallest = res.n, present = 0;
  for (int c : count)
    if (c > 0) smallest = std::min(smallest, c), ++present;
  res.majority_rate = res.n ? static_cast<double>(majority) / res.n : 0;
  res.uniform_chance = n_classes ? 1.0 / n_classes : 0;
  if (present < 2 || res.n_features == 0) {
    res.note = present < 2 ? "only one class present" : "no features";
    return res;
  }
  if (groups) {  // count distinct groups per class instead of samples
    std::vector<std::vector<int>> seen(n_classes);
    for (size_t i = 0; i < y.size(); ++i) seen[y[i]].push_back((*groups)[i]);
    smallest = res.n;
    for (auto& s : seen) {
      std::sort(s.begin(), s.end());
      const int distinct = static_cast<int>(std::unique(s.begin(), s.end()) - s.begin());
      if (distinct > 0) smallest = std::min(smallest, distinct);
    }
  }
  if (smallest < 2) {
    res.note = "a class has fewer than 2 samples (subjects): cross-validation is impossible";
    return res;
  }
  res.folds = std::min(cv.folds, smallest);
  if (res.folds < cv.folds)
    res.note = "folds reduced to " + std::to_string(res.folds) + " (smallest class has " + std::to_string(smallest) +
               (groups ? " subjects)" : " samples)");
  res.repeats = std::max(1, cv.repeats);
  std::vector<double> accs, aucs;
  std::vector<int> train, test;
  for (int rep = 0; rep < res.repeats; ++rep) {
    const uint64_t seed = cv.seed + static_cast<uint64_t>(rep);
    const std::vector<int> fold = groups ? grouped_folds(*groups, y, res.folds, seed, true)
                                         : stratified_folds(y, res.folds, seed);
    std::vector<int> pred(X.size(), -1);
    Matrix score(X.size());
    for (int f = 0; f < res.folds; ++f) {
      split(fold, f, train, test);
      Standardizer st;
      st.fit(X, train);
      std::vector<int> ytr;
      for (int i : train) ytr.push_back(y[i]);
      const SvmClassifier model(standardized(X, train, st), ytr, n_classes, svm);
      for (int i : test) {
        const std::vector<double> x = st.apply(X[i]);
        pred[i] = model.predict(x);
        score[i] = model.scores(x);
      }
    }
    int correct = 0;
    for (size_t i = 0; i < X.size(); ++i) correct += pred[i] == y[i];
    accs.push_back(static_cast<double>(correct) / res.n);
    aucs.push_back(roc_auc_ovr(score, y, n_classes));
    if (rep == 0) {
      res.confusion.assign(n_classes, std::vector<int>(n_classes, 0));
      for (size_t i = 0; i < X.size(); ++i) ++res.confusion[y[i]][pred[i]];
    }
  }
  res.accuracy = mean(accs), res.accuracy_sd = stdev(accs);
  res.auc = mean(aucs), res.auc_sd = stdev(aucs);
  res.valid = true;
  return res;
}

RegressionResult cross_validate_regressor(const Matrix& X, const std::vector<double>& t, const SvmOptions& svm,
                                          const CvOptions& cv, const std::vector<int>* groups) {
  RegressionResult res;
  res.n = static_cast<int>(X.size());
  res.n_features = X.empty() ? 0 : static_cast<int>(X[0].size());
  if (res.n < 4 || res.n_features == 0) {
    res.note = res.n < 4 ? "fewer than 4 samples" : "no features";
    return res;
  }
  int units = res.n;
  if (groups) units = *std::max_element(groups->begin(), groups->end()) + 1;
  if (units < 2) {
    res.note = "fewer than 2 subjects";
    return res;
  }
  res.folds = std::min(cv.folds, units);
  res.repeats = std::max(1, cv.repeats);
  std::vector<double> maes, rs, base;
  std::vector<int> train, test;
  for (int rep = 0; rep < res.repeats; ++rep) {
    const uint64_t seed = cv.seed + static_cast<uint64_t>(rep);
    const std::vector<int> fold = groups ? grouped_folds(*groups, std::vector<int>(X.size(), 0), res.folds, seed, false)
                                         : shuffled_folds(X.size(), res.folds, seed);
    std::vector<double> pred(X.size()), mean_pred(X.size());
    for (int f = 0; f < res.folds; ++f) {
      split(fold, f, train, test);
      Standardizer st;
      st.fit(X, train);
      std::vector<double> ttr;
      for (int i : train) ttr.push_back(t[i]);
      const SvmRegressor model(standardized(X, train, st), ttr, svm);
      const double m = mean(ttr);
      for (int i : test) pred[i] = model.predict(st.apply(X[i])), mean_pred[i] = m;
    }
    double e = 0, eb = 0;
    for (size_t i = 0; i < X.size(); ++i) e += std::fabs(pred[i] - t[i]), eb += std::fabs(mean_pred[i] - t[i]);
    maes.push_back(e / res.n), base.push_back(eb / res.n);
    rs.push_back(pearson(pred, t).r);
  }
  res.mae = mean(maes), res.mae_sd = stdev(maes), res.r = mean(rs), res.baseline_mae = mean(base);
  res.valid = true;
  return res;
}

}  // namespace im::eval
