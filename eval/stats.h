// Statistics for the evaluation: Pearson correlation with its two-sided p-value, the one-way ANOVA
// F-test, feature selection against a site label, ROC AUC (binary and one-vs-rest macro), and the
// special functions they need.
#pragma once
#include <string>
#include <vector>

namespace im::eval {

// Regularized incomplete beta function I_x(a, b) (continued fraction; relative accuracy ~1e-14).
double incomplete_beta(double a, double b, double x);
// Two-sided p-value of Student's t with df degrees of freedom; upper tail of F(d1, d2).
double student_t_two_sided_p(double t, double df);
double f_upper_p(double f, double d1, double d2);

struct Correlation {
  double r = 0, p = 1;  // p: two-sided, t = r sqrt((n-2)/(1-r^2)) with n-2 degrees of freedom
};                      // (scipy.stats.pearsonr). r = 0, p = 1 when either variable is constant.
Correlation pearson(const std::vector<double>& x, const std::vector<double>& y);

struct FTest {
  double f = 0, p = 1;  // one-way ANOVA across the groups (sklearn's f_classif); p = 1 when undefined
};
FTest anova_f(const std::vector<double>& x, const std::vector<int>& group);

// Feature selection by association with a class label (the paper: Pearson p < 1e-3 against site).
//  2 classes: Pearson correlation of each feature with the 0/1 label (point-biserial; identical
//             p-value to the two-group ANOVA);
//  >2 classes: one-way ANOVA F-test of each feature across the classes (a Pearson correlation with
//             an arbitrary numbering of the sites would depend on that numbering).
// Features with p < alpha are selected. When none passes, the `fallback_top` with the smallest p
// are taken instead and `fallback` is set, so the classifier always has something to work on.
struct Selection {
  std::vector<int> index;     // selected feature columns, in column order
  std::vector<double> p;      // p-value of every feature
  std::vector<double> stat;   // |r| (2 classes) or F of every feature
  std::string method;         // "Pearson r vs site (2 classes)" / "ANOVA F-test across sites"
  double alpha = 1e-3;
  bool fallback = false;
};
// X: samples x features (row-major vectors); y: class per sample in 0..k-1.
Selection select_features(const std::vector<std::vector<double>>& X, const std::vector<int>& y, double alpha = 1e-3,
                          int fallback_top = 10);

// Area under the ROC curve of scores for the positive class (label true), ties counted half
// (Mann-Whitney; equals sklearn.metrics.roc_auc_score). NaN when a class is absent.
double roc_auc(const std::vector<double>& score, const std::vector<bool>& positive);
// One-vs-rest macro AUC: mean over classes c of roc_auc(score[:, c], y == c); scores are samples x
// classes. Classes without positives or negatives are skipped. For 2 classes this is the binary AUC.
double roc_auc_ovr(const std::vector<std::vector<double>>& score, const std::vector<int>& y, int n_classes);

double mean(const std::vector<double>& v);
double stdev(const std::vector<double>& v);  // population (ddof 0); 0 for fewer than 2 values
double sample_stdev(const std::vector<double>& v);  // ddof 1; 0 for fewer than 2 values

}  // namespace im::eval
