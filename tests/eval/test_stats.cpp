// Special functions, Pearson and ANOVA p-values (scipy/sklearn fixtures), feature selection, ROC AUC.
#include <catch2/catch.hpp>

#include <cmath>
#include <random>

#include "eval/stats.h"
#include "support/fixtures.h"

using namespace im::eval;

TEST_CASE("stats: incomplete beta and the t and F tails", "[stats]") {
  CHECK(incomplete_beta(3.0, 3.0, 0.5) == Approx(0.5).epsilon(1e-13));
  CHECK(incomplete_beta(1.0, 1.0, 0.37) == Approx(0.37).epsilon(1e-13));
  CHECK(incomplete_beta(2.5, 1.0, 0.6) == Approx(std::pow(0.6, 2.5)).epsilon(1e-13));
  CHECK(incomplete_beta(1.0, 4.0, 0.2) == Approx(1 - std::pow(0.8, 4)).epsilon(1e-13));
  CHECK(incomplete_beta(2.5, 3.5, 0.3) == Approx(0.296752989295666).epsilon(1e-12));  // scipy.special.betainc
  CHECK(student_t_two_sided_p(2.0, 10) == Approx(0.0733880347707404).epsilon(1e-12));  // 2 * scipy t.sf
  CHECK(student_t_two_sided_p(8.0, 30) == Approx(6.26582247570077e-09).epsilon(1e-10));
  CHECK(f_upper_p(3.0, 2, 20) == Approx(0.0725381502864058).epsilon(1e-12));         // scipy f.sf
  CHECK(f_upper_p(0.0, 2, 20) == 1.0);
}

TEST_CASE("stats: Pearson r and p match scipy.stats.pearsonr", "[stats]") {
  const nlohmann::json fx = im::test::load_fixture("eval_sklearn");
  for (const auto& c : fx["pearson"]) {
    INFO(c["name"].get<std::string>());
    const std::vector<double> x = c["x"], y = c["y"];
    const Correlation r = pearson(x, y);
    CHECK(r.r == Approx(c["r"].get<double>()).epsilon(1e-12));
    CHECK(r.p == Approx(c["p"].get<double>()).epsilon(1e-8));
  }
  // A constant variable: no correlation.
  const Correlation k = pearson({1, 1, 1, 1}, {1, 2, 3, 4});
  CHECK(k.r == 0);
  CHECK(k.p == 1);
}

TEST_CASE("stats: ANOVA F matches sklearn's f_classif; equals Pearson for two groups", "[stats]") {
  const nlohmann::json fx = im::test::load_fixture("eval_sklearn")["anova"];
  const std::vector<int> y = fx["y"];
  for (size_t f = 0; f < fx["F"].size(); ++f) {
    std::vector<double> col;
    for (const auto& row : fx["X"]) col.push_back(row[f].get<double>());
    const FTest t = anova_f(col, y);
    CHECK(t.f == Approx(fx["F"][f].get<double>()).epsilon(1e-10));
    CHECK(t.p == Approx(fx["p"][f].get<double>()).epsilon(1e-8));
  }
  const std::vector<double> x = {0.3, 1.2, 0.7, 2.2, 1.9, 2.8, 0.1, 1.5};
  const std::vector<int> g = {0, 0, 0, 1, 1, 1, 0, 1};
  const std::vector<double> gl(g.begin(), g.end());
  CHECK(anova_f(x, g).p == Approx(pearson(x, gl).p).epsilon(1e-10));
  CHECK(anova_f(x, g).f == Approx(std::pow(pearson(x, gl).r, 2) * 6 / (1 - std::pow(pearson(x, gl).r, 2))).epsilon(1e-10));
}

TEST_CASE("stats: feature selection against site", "[stats]") {
  // Feature 0 follows the site, feature 1 is noise, feature 2 constant.
  std::mt19937_64 g(3);
  std::normal_distribution<double> N(0, 1);
  std::vector<std::vector<double>> X;
  std::vector<int> y;
  for (int i = 0; i < 30; ++i) {
    y.push_back(i % 2);
    X.push_back({(i % 2) * 3.0 + 0.1 * N(g), N(g), 4.0});
  }
  Selection s = select_features(X, y);
  CHECK(s.index == std::vector<int>{0});
  CHECK(s.method.find("Pearson") != std::string::npos);
  CHECK_FALSE(s.fallback);
  CHECK(s.p[2] == 1.0);
  // Three sites: ANOVA.
  for (int i = 0; i < 30; ++i) y[i] = i % 3, X[i][0] = y[i] * 2.0 + 0.1 * N(g);
  s = select_features(X, y);
  CHECK(s.index == std::vector<int>{0});
  CHECK(s.method.find("ANOVA") != std::string::npos);
  // Nothing passes: the smallest p-values are taken and flagged.
  for (auto& r : X) r[0] = N(g), r[1] = N(g);
  s = select_features(X, y, 1e-3, 2);
  CHECK(s.fallback);
  CHECK(s.index.size() == 2);
}

TEST_CASE("stats: ROC AUC by hand and against sklearn", "[stats]") {
  CHECK(roc_auc({0.1, 0.4, 0.35, 0.8}, {false, false, true, true}) == Approx(0.75));
  CHECK(roc_auc({1, 1}, {false, true}) == Approx(0.5));
  CHECK(roc_auc({0.2, 0.9, 0.5, 0.5}, {false, true, true, false}) == Approx((1 + 1 + 1 + 0.5) / 4));
  CHECK(roc_auc({3, 2, 1}, {true, false, false}) == Approx(1.0));
  CHECK(std::isnan(roc_auc({1, 2}, {true, true})));
  const nlohmann::json fx = im::test::load_fixture("eval_sklearn")["auc"];
  std::vector<bool> pos;
  for (const auto& v : fx["binary"]["y"]) pos.push_back(v.get<int>() == 1);
  CHECK(roc_auc(fx["binary"]["score"].get<std::vector<double>>(), pos) == Approx(fx["binary"]["auc"].get<double>()).epsilon(1e-12));
  const std::vector<std::vector<double>> s3 = fx["ovr"]["score"];
  const std::vector<int> y3 = fx["ovr"]["y"];
  CHECK(roc_auc_ovr(s3, y3, 3) == Approx(fx["ovr"]["auc"].get<double>()).epsilon(1e-12));
}
