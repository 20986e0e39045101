#define BOOST_TEST_MODULE optim
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <sstream>

#include "error.hpp"
#include "nn/optim/adam.hpp"
#include "nn/optim/cosine_schedule.hpp"
#include "nn/optim/sgd.hpp"
#include "nn/optim/step_schedule.hpp"
#include "nn/rng.hpp"

using namespace cae::nn;

namespace {

const auto tol = boost::test_tools::tolerance(1e-5);

Vec vec2(double a, double b) {
  Vec v(2);
  v << Scalar(a), Scalar(b);
  return v;
}

void step(Optimizer& opt, Vec& p, const Vec& g) {
  opt.step(VecMap(p.data(), p.size()), ConstVecMap(g.data(), g.size()));
}

// f(p) = 1/2 sum a_i (p_i - c_i)^2, an ill-conditioned bowl (curvatures 1..10).
struct Quadratic {
  Vec a, c;
  explicit Quadratic(int n) : a(n), c(n) {
    Rng rng(7);
    for (int i = 0; i < n; ++i) {
      a[i] = rng.uniform(1, 10);
      c[i] = rng.uniform(-3, 3);
    }
  }
  Vec grad(const Vec& p) const { return (a.array() * (p - c).array()).matrix(); }
  double dist(const Vec& p) const { return double((p - c).cwiseAbs().maxCoeff()); }
};

}  // namespace

BOOST_AUTO_TEST_CASE(adam_first_two_steps_by_hand) {
  // lr 0.1, betas 0.9/0.999, eps 1e-8; p0 = (1, -2), g1 = (0.5, -1), g2 = (0.1, 0.2).
  // Step 1: m = 0.1 g1 = (0.05, -0.1), v = 0.001 g1^2 = (0.00025, 0.001); the corrections
  //   (1 - 0.9) and (1 - 0.999) give m^ = g1, v^ = g1^2, so p -= 0.1 sign(g1): p1 = (0.9, -1.9).
  // Step 2: m = 0.9 m + 0.1 g2 = (0.055, -0.07), v = 0.999 v + 0.001 g2^2 = (0.00025975, 0.001039)
  //   m^ = m / 0.19 = (0.2894737, -0.3684211), v^ = v / 0.001999 = (0.1299400, 0.5197599)
  //   p2 = p1 - 0.1 m^ / sqrt(v^) = (0.9 - 0.0803041, -1.9 + 0.0511026) = (0.8196959, -1.8488974)
  AdamOptions o;
  o.learningRate = 0.1;
  Adam adam(o);
  Vec p = vec2(1, -2);
  step(adam, p, vec2(0.5, -1));
  BOOST_TEST(adam.steps() == 1u);
  BOOST_TEST(double(p[0]) == 0.9, tol);
  BOOST_TEST(double(p[1]) == -1.9, tol);
  step(adam, p, vec2(0.1, 0.2));
  BOOST_TEST(adam.steps() == 2u);
  BOOST_TEST(double(p[0]) == 0.8196959, tol);
  BOOST_TEST(double(p[1]) == -1.8488974, tol);
}

BOOST_AUTO_TEST_CASE(adam_bias_correction_is_per_step_not_per_tensor) {
  // One optimizer over (a, b) must equal two over a and b alone: the step counter, and with it the
  // bias correction, advances once per step however the parameters are grouped.
  Adam joint, left, right;
  Vec p = vec2(0.3, -0.7), pl(1), pr(1);
  pl << p[0];
  pr << p[1];
  Rng rng(3);
  for (int t = 0; t < 5; ++t) {
    const Vec g = vec2(rng.normal(), rng.normal());
    step(joint, p, g);
    Vec gl(1), gr(1);
    gl << g[0];
    gr << g[1];
    step(left, pl, gl);
    step(right, pr, gr);
  }
  BOOST_TEST(joint.steps() == 5u);
  BOOST_TEST(p[0] == pl[0]);
  BOOST_TEST(p[1] == pr[0]);
}

BOOST_AUTO_TEST_CASE(adamw_decays_weights_decoupled) {
  // With a zero gradient Adam's own update is 0, so only the decay p *= 1 - lr wd acts.
  AdamOptions o;
  o.learningRate = 0.1;
  o.weightDecay = 0.5;
  Adam adam(o);
  Vec p = vec2(2, -4);
  step(adam, p, vec2(0, 0));
  BOOST_TEST(double(p[0]) == 1.9, tol);
  BOOST_TEST(double(p[1]) == -3.8, tol);
}

BOOST_AUTO_TEST_CASE(sgd_momentum_by_hand) {
  // lr 0.1, mu 0.9. Step 1: v = g1 = (0.5, -1), p = (0.95, -1.9).
  // Step 2: v = 0.9 v + g2 = (0.55, -0.7), p = (0.895, -1.83).
  SgdOptions o;
  o.learningRate = 0.1;
  o.momentum = 0.9;
  Sgd sgd(o);
  Vec p = vec2(1, -2);
  step(sgd, p, vec2(0.5, -1));
  BOOST_TEST(double(p[0]) == 0.95, tol);
  BOOST_TEST(double(p[1]) == -1.9, tol);
  step(sgd, p, vec2(0.1, 0.2));
  BOOST_TEST(double(p[0]) == 0.895, tol);
  BOOST_TEST(double(p[1]) == -1.83, tol);
}

BOOST_AUTO_TEST_CASE(sgd_nesterov_by_hand) {
  // Step 1: v = g1, p -= 0.1 (g1 + 0.9 v) = 0.19 g1: p = (0.905, -1.81).
  // Step 2: v = (0.55, -0.7), g2 + 0.9 v = (0.595, -0.43): p = (0.8455, -1.767).
  SgdOptions o;
  o.learningRate = 0.1;
  o.momentum = 0.9;
  o.nesterov = true;
  Sgd sgd(o);
  Vec p = vec2(1, -2);
  step(sgd, p, vec2(0.5, -1));
  BOOST_TEST(double(p[0]) == 0.905, tol);
  BOOST_TEST(double(p[1]) == -1.81, tol);
  step(sgd, p, vec2(0.1, 0.2));
  BOOST_TEST(double(p[0]) == 0.8455, tol);
  BOOST_TEST(double(p[1]) == -1.767, tol);
}

BOOST_AUTO_TEST_CASE(plain_sgd_is_gradient_descent) {
  Sgd sgd(SgdOptions{0.5, 0, false});
  Vec p = vec2(1, 1);
  step(sgd, p, vec2(2, -4));
  BOOST_TEST(p[0] == 0.0);
  BOOST_TEST(p[1] == 3.0);
}

BOOST_AUTO_TEST_CASE(adam_converges_on_a_quadratic_with_cosine_decay) {
  const Quadratic q(50);
  Vec p = Vec::Zero(50);
  Adam adam(AdamOptions{0.1});
  const CosineSchedule sched(0.1, 1500, 50);
  for (std::uint64_t t = 0; t < 1500; ++t) {
    adam.setLearningRate(sched.lr(t));
    step(adam, p, q.grad(p));
  }
  BOOST_TEST_MESSAGE("Adam: max |p - c| = " << q.dist(p));
  BOOST_TEST(q.dist(p) < 1e-3);
}

BOOST_AUTO_TEST_CASE(sgd_momentum_converges_on_a_quadratic) {
  const Quadratic q(50);
  for (bool nesterov : {false, true}) {
    Vec p = Vec::Zero(50);
    Sgd sgd(SgdOptions{0.05, 0.9, nesterov});
    for (int t = 0; t < 600; ++t) step(sgd, p, q.grad(p));
    BOOST_TEST(q.dist(p) < 1e-4, "nesterov " << nesterov << ": " << q.dist(p));
  }
}

BOOST_AUTO_TEST_CASE(state_round_trip_continues_identically) {
  const Quadratic q(20);
  Vec p = Vec::Zero(20);
  Adam a(AdamOptions{0.05});
  for (int t = 0; t < 7; ++t) step(a, p, q.grad(p));
  std::stringstream state;
  a.saveState(state);

  Adam b(AdamOptions{0.05});
  b.loadState(state);
  BOOST_TEST(b.steps() == 7u);
  Vec pa = p, pb = p;
  for (int t = 0; t < 5; ++t) {
    step(a, pa, q.grad(pa));
    step(b, pb, q.grad(pb));
  }
  BOOST_TEST((pa.array() == pb.array()).all());
}

BOOST_AUTO_TEST_CASE(foreign_or_truncated_state_is_rejected_and_changes_nothing) {
  Vec p = vec2(1, 2);
  Adam adam;
  step(adam, p, vec2(1, 1));
  std::stringstream adamState;
  adam.saveState(adamState);
  const std::string bytes = adamState.str();

  Sgd sgd(SgdOptions{0.1, 0.9, false});
  std::istringstream in(bytes);
  BOOST_CHECK_THROW(sgd.loadState(in), cae::FormatError);
  BOOST_TEST(sgd.steps() == 0u);

  for (std::size_t len = 0; len < bytes.size(); len += 3) {
    Adam fresh;
    std::istringstream cut(bytes.substr(0, len));
    BOOST_CHECK_THROW(fresh.loadState(cut), cae::FormatError);
    BOOST_TEST(fresh.steps() == 0u);
  }
}

BOOST_AUTO_TEST_CASE(bad_arguments_throw) {
  BOOST_CHECK_THROW(Adam(AdamOptions{0.1, 1.0}), cae::InvalidArgument);
  BOOST_CHECK_THROW(Sgd(SgdOptions{0.1, 0, true}), cae::InvalidArgument);
  Adam adam;
  BOOST_CHECK_THROW(adam.setLearningRate(-1), cae::InvalidArgument);
  Vec p(3), g(2);
  p.setZero();
  g.setZero();
  BOOST_CHECK_THROW(step(adam, p, g), cae::ShapeError);
  BOOST_TEST(adam.steps() == 0u);
}

BOOST_AUTO_TEST_CASE(step_schedule_values) {
  const StepSchedule s(0.1, 0.5, 10);
  BOOST_TEST(s.lr(0) == 0.1, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(s.lr(9) == 0.1, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(s.lr(10) == 0.05, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(s.lr(25) == 0.025, boost::test_tools::tolerance(1e-12));
  BOOST_CHECK_THROW(StepSchedule(0.1, 0.5, 0), cae::InvalidArgument);
}

BOOST_AUTO_TEST_CASE(cosine_schedule_values) {
  // Warmup 10 steps to 1.0, then half a cosine over the remaining 100 steps down to 0.
  const CosineSchedule s(1.0, 110, 10);
  BOOST_TEST(s.lr(0) == 0.1, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(s.lr(9) == 1.0, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(s.lr(10) == 1.0, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(s.lr(35) == 0.5 * (1 + std::cos(M_PI / 4)), boost::test_tools::tolerance(1e-12));
  BOOST_TEST(s.lr(60) == 0.5, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(s.lr(110) == 0.0);
  BOOST_TEST(s.lr(1000) == 0.0);
  const CosineSchedule floor(1.0, 100, 0, 0.1);
  BOOST_TEST(floor.lr(0) == 1.0, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(floor.lr(50) == 0.55, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(floor.lr(100) == 0.1, boost::test_tools::tolerance(1e-12));
}
