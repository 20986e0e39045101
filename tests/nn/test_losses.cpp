#define BOOST_TEST_MODULE losses
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <memory>
#include <vector>

#include "error.hpp"
#include "nn/gradcheck.hpp"
#include "nn/losses/bce_loss.hpp"
#include "nn/losses/bce_with_logits_loss.hpp"
#include "nn/losses/l1_loss.hpp"
#include "nn/losses/mse_loss.hpp"
#include "nn/losses/weighted_mse_loss.hpp"

using namespace cae;
using namespace cae::nn;
using cae::test::checkGradient;
using cae::test::randomTensor;

namespace {

Shape randomShape(Rng& rng) {
  return {int(1 + rng.below(3)), int(1 + rng.below(3)), int(1 + rng.below(7)),
          int(1 + rng.below(7))};
}

// Gradient check of loss w.r.t. pred over a few random shapes; pred and target drawn in
// [lo, hi] and [tlo, thi]. Returns the worst relative error.
double worstError(const Loss& loss, double lo, double hi, double tlo, double thi,
                  std::uint64_t seed) {
  Rng rng(seed);
  double worst = 0;
  for (int rep = 0; rep < 6; ++rep) {
    const Shape s = rep == 0 ? Shape{3, 1, 5, 7} : randomShape(rng);
    Tensor pred = randomTensor(s, rng, lo, hi);
    const Tensor target = randomTensor(s, rng, tlo, thi);
    Tensor grad;
    loss.compute(pred, target, &grad);
    BOOST_REQUIRE(grad.shape() == s);
    auto f = [&]() { return loss.compute(pred, target, nullptr); };
    worst = std::max(worst, checkGradient(f, pred.data(), pred.size(), grad.data(), rng));
  }
  BOOST_TEST_MESSAGE(loss.name() << " worst relative error " << worst);
  return worst;
}

Tensor row(const std::vector<double>& v) {
  Tensor t({1, int(v.size()), 1, 1});
  for (std::size_t i = 0; i < v.size(); ++i) t[i] = v[i];
  return t;
}

}  // namespace

BOOST_AUTO_TEST_CASE(gradients_both_reductions) {
  for (Reduction r : {Reduction::Mean, Reduction::Sum}) {
    BOOST_TEST(worstError(MseLoss(r), -1, 1, -1, 1, 11) < 1e-6);
    // L1 has a kink at pred == target; random draws land on it with probability 0.
    BOOST_TEST(worstError(L1Loss(r), -1, 1, -1, 1, 12) < 1e-6);
    BOOST_TEST(worstError(BceLoss(r), 0.05, 0.95, 0, 1, 13) < 1e-6);
    BOOST_TEST(worstError(BceWithLogitsLoss(r), -6, 6, 0, 1, 14) < 1e-6);
  }
}

BOOST_AUTO_TEST_CASE(weighted_mse_gradient_values_and_checks) {
  Rng rng(31);
  for (int rep = 0; rep < 6; ++rep) {
    const Shape s = rep == 0 ? Shape{3, 4, 1, 1} : randomShape(rng);
    Tensor pred = randomTensor(s, rng, -1, 1);
    const Tensor target = randomTensor(s, rng, 0, 1);
    WeightedMseLoss loss;
    loss.setWeights(randomTensor(s, rng, 0.01, 3));
    Tensor grad;
    loss.compute(pred, target, &grad);
    auto f = [&]() { return loss.compute(pred, target, nullptr); };
    BOOST_TEST(checkGradient(f, pred.data(), pred.size(), grad.data(), rng) < 1e-6);
  }
  // By hand: weights 1, 3 on errors 1, 2: (1 + 12) / 4; equal weights give the plain MSE.
  WeightedMseLoss w;
  w.setWeights(row({1, 3}));
  Tensor g;
  BOOST_TEST(w.compute(row({1, 2}), row({0, 0}), &g) == 13.0 / 4,
             boost::test_tools::tolerance(1e-12));
  BOOST_TEST(g[1] == 2 * 3 * 2 / 4.0, boost::test_tools::tolerance(1e-12));
  w.setWeights(row({2, 2, 2, 2}));
  const Tensor p = row({0.5, -1.0, 2.0, 0.0}), t = row({0.0, 1.0, 2.0, 0.5});
  BOOST_TEST(w.compute(p, t, nullptr) == MseLoss().compute(p, t, nullptr),
             boost::test_tools::tolerance(1e-12));
  BOOST_CHECK_THROW(w.compute(row({1, 2}), row({0, 0}), nullptr), ShapeError);
  BOOST_CHECK_THROW(w.setWeights(row({1, -1})), InvalidArgument);
  BOOST_CHECK_THROW(w.setWeights(row({0, 0})), InvalidArgument);
}

BOOST_AUTO_TEST_CASE(hand_values) {
  const Tensor p = row({0.5, -1.0, 2.0, 0.0});
  const Tensor t = row({0.0, 1.0, 2.0, 0.5});
  Tensor g;
  // squared: 0.25 + 4 + 0 + 0.25 = 4.5
  BOOST_TEST(MseLoss(Reduction::Sum).compute(p, t, &g) == 4.5, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(g[1] == -4.0, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(MseLoss().compute(p, t, &g) == 4.5 / 4, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(g[0] == 2 * 0.5 / 4, boost::test_tools::tolerance(1e-12));
  // absolute: 0.5 + 2 + 0 + 0.5 = 3, subgradient 0 where equal
  BOOST_TEST(L1Loss(Reduction::Sum).compute(p, t, &g) == 3.0, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(g[0] == 1.0);
  BOOST_TEST(g[1] == -1.0);
  BOOST_TEST(g[2] == 0.0);
  BOOST_TEST(L1Loss().compute(p, t, nullptr) == 0.75, boost::test_tools::tolerance(1e-12));

  // BCE: p = (0.5, 0.9, 0.2), t = (1, 0, 0.5)
  const Tensor q = row({0.5, 0.9, 0.2});
  const Tensor y = row({1.0, 0.0, 0.5});
  const double bce = -std::log(0.5) - std::log(0.1) - 0.5 * (std::log(0.2) + std::log(0.8));
  BOOST_TEST(BceLoss(Reduction::Sum).compute(q, y, &g) == bce, boost::test_tools::tolerance(1e-9));
  BOOST_TEST(g[0] == -2.0, boost::test_tools::tolerance(1e-9));  // (p - t) / (p (1 - p))
  BOOST_TEST(BceLoss().compute(q, y, nullptr) == bce / 3, boost::test_tools::tolerance(1e-9));

  // With logits: equals BCE of the sigmoid.
  const Tensor x = row({0.0, std::log(9.0), std::log(0.25)});  // sigmoid: 0.5, 0.9, 0.2
  BOOST_TEST(BceWithLogitsLoss(Reduction::Sum).compute(x, y, &g) == bce,
             boost::test_tools::tolerance(1e-9));
  BOOST_TEST(g[1] == 0.9, boost::test_tools::tolerance(1e-9));  // sigmoid(x) - t
  BOOST_TEST(g[2] == -0.3, boost::test_tools::tolerance(1e-9));
}

BOOST_AUTO_TEST_CASE(minimum_at_target_for_soft_targets) {
  // BCE with soft targets: gradient vanishes at p == t.
  const Tensor t = row({0.1, 0.5, 0.8});
  Tensor g;
  BceLoss().compute(t, t, &g);
  for (std::size_t i = 0; i < g.size(); ++i) BOOST_TEST(std::abs(g[i]) < 1e-12);
}

BOOST_AUTO_TEST_CASE(bce_stable_at_extremes) {
  const Tensor logits = row({-100, 100, -1000, 1000, 0});
  const Tensor t = row({1, 0, 0, 1, 1});
  Tensor g;
  const double l = BceWithLogitsLoss(Reduction::Sum).compute(logits, t, &g);
  BOOST_TEST(std::isfinite(l));
  BOOST_TEST(l == 200 + std::log(2.0), boost::test_tools::tolerance(1e-9));
  for (std::size_t i = 0; i < g.size(); ++i) BOOST_TEST(std::isfinite(double(g[i])));
  BOOST_TEST(g[0] == -1.0, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(g[1] == 1.0, boost::test_tools::tolerance(1e-12));

  // Probabilities exactly 0 and 1, right and wrong.
  const Tensor p = row({0, 1, 0, 1});
  const Tensor y = row({0, 1, 1, 0});
  const double b = BceLoss(Reduction::Sum).compute(p, y, &g);
  BOOST_TEST(std::isfinite(b));
  BOOST_TEST(b == -2 * std::log(BceLoss::kDefaultEps), boost::test_tools::tolerance(1e-6));
  for (std::size_t i = 0; i < g.size(); ++i) BOOST_TEST(std::isfinite(double(g[i])));
  BOOST_TEST(g[2] < 0);  // wrong at 0: pushed up
  BOOST_TEST(g[3] > 0);  // wrong at 1: pushed down
}

BOOST_AUTO_TEST_CASE(shape_mismatch_throws) {
  const Tensor a({2, 1, 3, 3}, 0.5), b({2, 1, 3, 4}, 0.5);
  std::vector<std::unique_ptr<Loss>> all;
  all.push_back(std::make_unique<MseLoss>());
  all.push_back(std::make_unique<L1Loss>());
  all.push_back(std::make_unique<BceLoss>());
  all.push_back(std::make_unique<BceWithLogitsLoss>());
  for (auto& l : all) BOOST_CHECK_THROW(l->compute(a, b, nullptr), ShapeError);
}

BOOST_AUTO_TEST_CASE(names) {
  BOOST_TEST(MseLoss().name() == "mse");
  BOOST_TEST(L1Loss().name() == "l1");
  BOOST_TEST(BceLoss().name() == "bce");
  BOOST_TEST(BceWithLogitsLoss().name() == "bce_with_logits");
  BOOST_TEST(int(MseLoss(Reduction::Sum).reduction()) == int(Reduction::Sum));
}
