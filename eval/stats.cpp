// Pearson and ANOVA tests (incomplete beta), feature selection, ROC AUC.
#include "eval/stats.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <stdexcept>

namespace im::eval {

namespace {

// Continued fraction of the incomplete beta (modified Lentz, as in Numerical Recipes' betacf).
double beta_cf(double a, double b, double x) {
  constexpr double tiny = 1e-300, eps = 1e-15;
  const double qab = a + b, qap = a + 1, qam = a - 1;
  double c = 1, d = 1 - qab * x / qap;
  if (std::fabs(d) < tiny) d = tiny;
  d = 1 / d;
  double h = d;
  for (int m = 1; m <= 10000; ++m) {
    const double m2 = 2.0 * m;
    double aa = m * (b - m) * x / ((qam + m2) * (a + m2));
    d = 1 + aa * d;
    if (std::fabs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (std::fabs(c) < tiny) c = tiny;
    d = 1 / d;
    h *= d * c;
    aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
    d = 1 + aa * d;
    if (std::fabs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (std::fabs(c) < tiny) c = tiny;
    d = 1 / d;
    const double del = d * c;
    h *= del;
    if (std::fabs(del - 1) < eps) break;
  }
  return h;
}

}  // namespace

double incomplete_beta(double a, double b, double x) {
  if (!(a > 0) || !(b > 0)) throw std::invalid_argument("incomplete_beta: a and b must be > 0");
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const double lbt = std::lgamma(a + b) - std::lgamma(a) - std::lgamma(b) + a * std::log(x) + b * std::log1p(-x);
  const double bt = std::exp(lbt);
  if (x < (a + 1) / (a + b + 2)) return bt * beta_cf(a, b, x) / a;
  return 1 - bt * beta_cf(b, a, 1 - x) / b;
}

double student_t_two_sided_p(double t, double df) {
  if (!std::isfinite(t)) return 0;
  return incomplete_beta(df / 2, 0.5, df / (df + t * t));
}

double f_upper_p(double f, double d1, double d2) {
  if (!(f > 0)) return 1;
  if (!std::isfinite(f)) return 0;
  return incomplete_beta(d2 / 2, d1 / 2, d2 / (d2 + d1 * f));
}

double mean(const std::vector<double>& v) {
  if (v.empty()) return std::numeric_limits<double>::quiet_NaN();
  return std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
}

double stdev(const std::vector<double>& v) {
  if (v.size() < 2) return 0;
  const double m = mean(v);
  double s = 0;
  for (double x : v) s += (x - m) * (x - m);
  return std::sqrt(s / static_cast<double>(v.size()));
}

double sample_stdev(const std::vector<double>& v) {
  if (v.size() < 2) return 0;
  return stdev(v) * std::sqrt(static_cast<double>(v.size()) / static_cast<double>(v.size() - 1));
}

Correlation pearson(const std::vector<double>& x, const std::vector<double>& y) {
  if (x.size() != y.size()) throw std::invalid_argument("pearson: x and y differ in length");
  const size_t n = x.size();
  Correlation c;
  if (n < 3) return c;
  const double mx = mean(x), my = mean(y);
  double sxy = 0, sxx = 0, syy = 0;
  for (size_t i = 0; i < n; ++i) {
    const double dx = x[i] - mx, dy = y[i] - my;
    sxy += dx * dy, sxx += dx * dx, syy += dy * dy;
  }
  // A variable constant up to rounding has no correlation to speak of.
  const double N = static_cast<double>(n);
  if (sxx <= 1e-24 * mx * mx * N || syy <= 1e-24 * my * my * N || sxx == 0 || syy == 0) return c;
  c.r = std::clamp(sxy / std::sqrt(sxx * syy), -1.0, 1.0);
  const double df = static_cast<double>(n) - 2;
  if (std::fabs(c.r) >= 1) {
    c.p = 0;
    return c;
  }
  const double t = c.r * std::sqrt(df / (1 - c.r * c.r));
  c.p = student_t_two_sided_p(t, df);
  return c;
}

FTest anova_f(const std::vector<double>& x, const std::vector<int>& g) {
  if (x.size() != g.size()) throw std::invalid_argument("anova_f: x and groups differ in length");
  FTest out;
  const int k = g.empty() ? 0 : *std::max_element(g.begin(), g.end()) + 1;
  std::vector<double> sum(k, 0.0), cnt(k, 0.0);
  for (size_t i = 0; i < x.size(); ++i) sum[g[i]] += x[i], cnt[g[i]] += 1;
  int groups = 0;
  for (double c : cnt) groups += c > 0;
  const double n = static_cast<double>(x.size()), m = mean(x);
  if (groups < 2 || n - groups < 1) return out;
  double ssb = 0, ssw = 0;
  for (int j = 0; j < k; ++j)
    if (cnt[j] > 0) ssb += cnt[j] * (sum[j] / cnt[j] - m) * (sum[j] / cnt[j] - m);
  for (size_t i = 0; i < x.size(); ++i) {
    const double d = x[i] - sum[g[i]] / cnt[g[i]];
    ssw += d * d;
  }
  const double d1 = groups - 1, d2 = n - groups;
  if (ssw <= 1e-24 * m * m * n || ssw == 0) {  // no spread inside the groups
    if (ssb > 1e-24 * m * m * n && ssb > 0) out.f = std::numeric_limits<double>::infinity(), out.p = 0;
    return out;
  }
  out.f = (ssb / d1) / (ssw / d2);
  out.p = f_upper_p(out.f, d1, d2);
  return out;
}

Selection select_features(const std::vector<std::vector<double>>& X, const std::vector<int>& y, double alpha,
                          int fallback_top) {
  Selection s;
  s.alpha = alpha;
  if (X.empty()) return s;
  const size_t nf = X[0].size();
  const int k = *std::max_element(y.begin(), y.end()) + 1;
  s.method = k <= 2 ? "Pearson r vs site (2 classes)" : "ANOVA F-test across sites";
  std::vector<double> label(y.begin(), y.end());
  for (size_t f = 0; f < nf; ++f) {
    std::vector<double> col(X.size());
    for (size_t i = 0; i < X.size(); ++i) col[i] = X[i][f];
    if (k <= 2) {
      const Correlation c = pearson(col, label);
      s.p.push_back(c.p), s.stat.push_back(std::fabs(c.r));
    } else {
      const FTest t = anova_f(col, y);
      s.p.push_back(t.p), s.stat.push_back(t.f);
    }
    if (s.p.back() < alpha) s.index.push_back(static_cast<int>(f));
  }
  if (s.index.empty() && nf > 0) {
    s.fallback = true;
    std::vector<int> order(nf);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return s.p[a] < s.p[b]; });
    order.resize(std::min<size_t>(nf, static_cast<size_t>(std::max(1, fallback_top))));
    std::sort(order.begin(), order.end());
    s.index = order;
  }
  return s;
}

double roc_auc(const std::vector<double>& score, const std::vector<bool>& positive) {
  if (score.size() != positive.size()) throw std::invalid_argument("roc_auc: scores and labels differ in length");
  const size_t n = score.size();
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return score[a] < score[b]; });
  // Average ranks over ties, then the Mann-Whitney U of the positives.
  std::vector<double> rank(n);
  for (size_t i = 0; i < n;) {
    size_t j = i;
    while (j + 1 < n && score[order[j + 1]] == score[order[i]]) ++j;
    const double r = (static_cast<double>(i) + static_cast<double>(j)) / 2 + 1;
    for (size_t k = i; k <= j; ++k) rank[order[k]] = r;
    i = j + 1;
  }
  double np = 0, rp = 0;
  for (size_t i = 0; i < n; ++i)
    if (positive[i]) np += 1, rp += rank[i];
  const double nn = static_cast<double>(n) - np;
  if (np == 0 || nn == 0) return std::numeric_limits<double>::quiet_NaN();
  return (rp - np * (np + 1) / 2) / (np * nn);
}

double roc_auc_ovr(const std::vector<std::vector<double>>& score, const std::vector<int>& y, int n_classes) {
  if (n_classes == 2) {
    std::vector<double> s(y.size());
    std::vector<bool> pos(y.size());
    for (size_t i = 0; i < y.size(); ++i) s[i] = score[i][1], pos[i] = y[i] == 1;
    return roc_auc(s, pos);
  }
  double sum = 0;
  int used = 0;
  for (int c = 0; c < n_classes; ++c) {
    std::vector<double> s(y.size());
    std::vector<bool> pos(y.size());
    for (size_t i = 0; i < y.size(); ++i) s[i] = score[i][c], pos[i] = y[i] == c;
    const double a = roc_auc(s, pos);
    if (std::isnan(a)) continue;
    sum += a, ++used;
  }
  return used ? sum / used : std::numeric_limits<double>::quiet_NaN();
}

}  // namespace im::eval
