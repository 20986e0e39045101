#define BOOST_TEST_MODULE corruption
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <vector>

#include "error.hpp"
#include "nn/corruption/gaussian_noise.hpp"
#include "nn/corruption/masking_noise.hpp"
#include "nn/corruption/salt_pepper_noise.hpp"
#include "nn/gradcheck.hpp"

using namespace cae;
using namespace cae::nn;
using cae::test::randomTensor;
namespace tt = boost::test_tools;

namespace {

const Shape kBig{4, 3, 128, 128};  // 196,608 entries: sampling error of a rate ~ 0.1%

struct Stats {
  double mean = 0, stddev = 0;
};

Stats noiseStats(const Tensor& clean, const Tensor& noisy) {
  double s = 0, s2 = 0;
  for (std::size_t i = 0; i < clean.size(); ++i) {
    const double d = double(noisy[i]) - double(clean[i]);
    s += d;
    s2 += d * d;
  }
  const double n = double(clean.size());
  return {s / n, std::sqrt(s2 / n - (s / n) * (s / n))};
}

bool same(const Tensor& a, const Tensor& b) {
  if (a.shape() != b.shape()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (a[i] != b[i]) return false;
  return true;
}

}  // namespace

BOOST_AUTO_TEST_CASE(gaussian_fixed_sigma_statistics) {
  Rng rng(31);
  const Tensor clean = randomTensor(kBig, rng, 0, 1);
  Tensor noisy;
  const Scalar sigma = Scalar(25.0 / 255.0);
  GaussianNoise(sigma).apply(clean, noisy, rng);
  BOOST_REQUIRE(noisy.shape() == clean.shape());
  const Stats st = noiseStats(clean, noisy);
  BOOST_TEST_MESSAGE("gaussian sigma " << sigma << " measured " << st.stddev);
  BOOST_TEST(st.stddev == sigma, tt::tolerance(0.02));
  BOOST_TEST(std::abs(st.mean) < 0.01 * sigma);
}

BOOST_AUTO_TEST_CASE(gaussian_clipping) {
  Rng rng(32);
  const Tensor clean = randomTensor(kBig, rng, 0, 1);
  Tensor noisy;
  GaussianNoise(Scalar(0.3), true).apply(clean, noisy, rng);
  std::size_t atEdge = 0;
  for (std::size_t i = 0; i < noisy.size(); ++i) {
    BOOST_REQUIRE(noisy[i] >= 0);
    BOOST_REQUIRE(noisy[i] <= 1);
    atEdge += noisy[i] == 0 || noisy[i] == 1;
  }
  BOOST_TEST(atEdge > noisy.size() / 10);  // clipping really happened
}

BOOST_AUTO_TEST_CASE(gaussian_sigma_range_per_sample) {
  Rng rng(33);
  const Shape s{64, 1, 48, 48};
  const Tensor clean(s, Scalar(0.5));
  Tensor noisy;
  std::vector<Scalar> sigmas;
  const Scalar lo = Scalar(5.0 / 255), hi = Scalar(50.0 / 255);
  GaussianNoise(lo, hi).apply(clean, noisy, rng, &sigmas);
  BOOST_REQUIRE(sigmas.size() == 64u);
  Scalar mn = hi, mx = lo;
  double worst = 0;
  for (int n = 0; n < s.n; ++n) {
    const Scalar sg = sigmas[std::size_t(n)];
    BOOST_TEST(sg >= lo);
    BOOST_TEST(sg <= hi);
    mn = std::min(mn, sg);
    mx = std::max(mx, sg);
    // Each sample's noise has its own sigma (2304 entries: about 1.5% sampling error).
    double s2 = 0;
    for (std::size_t i = 0; i < s.perSample(); ++i) {
      const double d = noisy.sample(n)[i] - 0.5;
      s2 += d * d;
    }
    const double measured = std::sqrt(s2 / double(s.perSample()));
    worst = std::max(worst, std::abs(measured / sg - 1));
  }
  BOOST_TEST_MESSAGE("per-sample sigma worst relative deviation " << worst);
  BOOST_TEST(worst < 0.06);
  BOOST_TEST(mx - mn > (hi - lo) / 2);  // the draws spread over the range
  BOOST_CHECK_THROW(GaussianNoise(Scalar(0.2), Scalar(0.1)), InvalidArgument);
  BOOST_CHECK_THROW(GaussianNoise(Scalar(-0.1)), InvalidArgument);
}

BOOST_AUTO_TEST_CASE(masking_fraction) {
  Rng rng(34);
  const Tensor clean = randomTensor(kBig, rng, 0.1, 1);  // no zeros of its own
  Tensor noisy;
  for (Scalar p : {Scalar(0), Scalar(0.1), Scalar(0.5), Scalar(1)}) {
    MaskingNoise(p).apply(clean, noisy, rng);
    std::size_t zeros = 0;
    for (std::size_t i = 0; i < noisy.size(); ++i) {
      if (noisy[i] == 0)
        ++zeros;
      else
        BOOST_REQUIRE(noisy[i] == clean[i]);
    }
    const double frac = double(zeros) / double(noisy.size());
    BOOST_TEST_MESSAGE("masking p " << p << " measured " << frac);
    BOOST_TEST(std::abs(frac - p) < 0.005);
  }
  BOOST_CHECK_THROW(MaskingNoise(Scalar(1.5)), InvalidArgument);
}

BOOST_AUTO_TEST_CASE(salt_pepper_fraction) {
  Rng rng(35);
  const Tensor clean = randomTensor(kBig, rng, 0.1, 0.9);
  Tensor noisy;
  const Scalar p = Scalar(0.2);
  SaltPepperNoise(p).apply(clean, noisy, rng);
  std::size_t salt = 0, pepper = 0;
  for (std::size_t i = 0; i < noisy.size(); ++i) {
    if (noisy[i] == 1)
      ++salt;
    else if (noisy[i] == 0)
      ++pepper;
    else
      BOOST_REQUIRE(noisy[i] == clean[i]);
  }
  const double n = double(noisy.size());
  BOOST_TEST_MESSAGE("salt " << salt / n << " pepper " << pepper / n);
  BOOST_TEST(std::abs((salt + pepper) / n - p) < 0.005);
  BOOST_TEST(std::abs(salt / n - p / 2) < 0.005);

  SaltPepperNoise(1, -1, 2).apply(clean, noisy, rng);
  for (std::size_t i = 0; i < noisy.size(); ++i) BOOST_REQUIRE(noisy[i] == -1 || noisy[i] == 2);
  BOOST_CHECK_THROW(SaltPepperNoise(Scalar(0.1), 1, 0), InvalidArgument);
}

BOOST_AUTO_TEST_CASE(deterministic_for_a_seed) {
  Rng init(36);
  const Tensor clean = randomTensor({3, 2, 17, 9}, init, 0, 1);
  const GaussianNoise g(Scalar(0.01), Scalar(0.2), true);
  const MaskingNoise m(Scalar(0.3));
  const SaltPepperNoise sp(Scalar(0.3));
  for (const Corruption* c : std::vector<const Corruption*>{&g, &m, &sp}) {
    Tensor a, b, d;
    Rng r1(7), r2(7);
    c->apply(clean, a, r1);
    c->apply(clean, b, r2);
    BOOST_TEST(same(a, b), c->name());
    BOOST_TEST(r1.state() == r2.state());
    // The generator advanced, so the next draw differs.
    c->apply(clean, d, r1);
    BOOST_TEST(!same(a, d), c->name());
    // Resuming from a saved state repeats the draw.
    Rng r3(1);
    r3.setState(r2.state());
    c->apply(clean, b, r3);
    BOOST_TEST(same(b, d), c->name());
  }
  BOOST_TEST(g.name() == "gaussian");
  BOOST_TEST(m.name() == "masking");
  BOOST_TEST(sp.name() == "salt_pepper");
}
