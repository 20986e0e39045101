#define BOOST_TEST_MODULE vae
#include <boost/test/unit_test.hpp>

// The variational autoencoder's building blocks (Kingma & Welling, "Auto-Encoding Variational
// Bayes", ICLR 2014): Sampling (reparameterisation) and KlNormal (KL to N(0, I)). Gradient checks
// in double precision with eps held fixed by re-seeding, hand values, inference mode, and the
// statistics of the draws.

#include <cmath>
#include <memory>
#include <utility>
#include <vector>

#include "error.hpp"
#include "nn/gradcheck.hpp"
#include "nn/layers/activation.hpp"
#include "nn/layers/conv2d.hpp"
#include "nn/layers/conv_transpose2d.hpp"
#include "nn/layers/dense.hpp"
#include "nn/layers/reshape.hpp"
#include "nn/layers/sampling.hpp"
#include "nn/losses/mse_loss.hpp"
#include "nn/model.hpp"
#include "nn/regularizers/kl_normal.hpp"

using namespace cae;
using namespace cae::nn;
using cae::test::checkGradient;
using cae::test::checkLayer;
using cae::test::randomTensor;
namespace tt = boost::test_tools;

namespace {

constexpr double kTol = 1e-6;

// Sampling re-seeded before every forward(), so checkLayer's finite differences all see the
// eps of the analytic pass.
class ReseededSampling : public Layer {
 public:
  explicit ReseededSampling(std::uint64_t seed) : seed_(seed) {}
  std::string type() const override { return "ReseededSampling"; }
  int numInputs() const override { return 2; }
  Shape outputShape(const std::vector<Shape>& in) const override { return s_.outputShape(in); }
  void forward(const Inputs& in, Tensor& out) override {
    s_.setSeed(seed_);
    s_.forward(in, out);
  }
  void backward(const Inputs& in, const Tensor& out, const Tensor& dOut,
                const InputGrads& dIn) override {
    s_.backward(in, out, dOut, dIn);
  }

 private:
  Sampling s_;
  std::uint64_t seed_;
};

Shape randomShape(Rng& rng, bool conv) {
  const int n = 1 + int(rng.below(4));
  if (!conv) return {n, 1 + int(rng.below(12)), 1, 1};
  return {n, 1 + int(rng.below(4)), 1 + int(rng.below(5)), 1 + int(rng.below(5))};
}

std::unique_ptr<Conv2d> conv(int in, int out, int k, int s, int p) {
  Conv2dOptions o;
  o.inChannels = in;
  o.outChannels = out;
  o.kernel = k;
  o.stride = s;
  o.padding = p;
  return std::make_unique<Conv2d>(o);
}

std::unique_ptr<ConvTranspose2d> deconv(int in, int out, int k, int s, int p) {
  ConvTranspose2dOptions o;
  o.inChannels = in;
  o.outChannels = out;
  o.kernel = k;
  o.stride = s;
  o.padding = p;
  return std::make_unique<ConvTranspose2d>(o);
}

// A VAE graph: the encoder ends at node `h`, whose two heads give mu and logvar.
struct Vae {
  Model model;
  int mu = 0, logvar = 0, z = 0;
  Sampling* sampling = nullptr;
};

// Dense VAE on {1, 4, 4} images: 16 - 8 - (mu, logvar 3) - z - 8 - 16 Sigmoid.
Vae denseVae() {
  Vae v{Model({1, 1, 4, 4})};
  v.model.add(std::make_unique<Dense>(16, 8));
  const int h = v.model.add(std::make_unique<Tanh>());
  v.mu = v.model.add(std::make_unique<Dense>(8, 3), {h}, "mu");
  v.logvar = v.model.add(std::make_unique<Dense>(8, 3), {h}, "logvar");
  auto s = std::make_unique<Sampling>(5);
  v.sampling = s.get();
  v.z = v.model.add(std::move(s), {v.mu, v.logvar}, "z");
  v.model.add(std::make_unique<Dense>(3, 8));
  v.model.add(std::make_unique<Tanh>());
  v.model.add(std::make_unique<Dense>(8, 16));
  v.model.add(std::make_unique<Sigmoid>());
  v.model.add(std::make_unique<Reshape>(1, 4, 4));
  return v;
}

// Conv VAE on {1, 8, 8}: strided conv encoder, conv heads (2 x 4 x 4 code), deconv decoder.
Vae convVae() {
  Vae v{Model({1, 1, 8, 8})};
  v.model.add(conv(1, 3, 3, 2, 1));
  const int h = v.model.add(std::make_unique<Tanh>());
  v.mu = v.model.add(conv(3, 2, 3, 1, 1), {h}, "mu");
  v.logvar = v.model.add(conv(3, 2, 3, 1, 1), {h}, "logvar");
  auto s = std::make_unique<Sampling>(6);
  v.sampling = s.get();
  v.z = v.model.add(std::move(s), {v.mu, v.logvar}, "z");
  v.model.add(deconv(2, 3, 4, 2, 1));
  v.model.add(std::make_unique<Tanh>());
  v.model.add(conv(3, 1, 3, 1, 1));
  v.model.add(std::make_unique<Sigmoid>());
  return v;
}

// Gradient check of a whole VAE: loss = MSE(x_hat, x) + KlNormal(mu, logvar) with seeds on the
// output, mu and logvar nodes, against differences in every kind of parameter.
double vaeModelError(Vae& v, Shape in, Rng& rng) {
  Model& m = v.model;
  m.compile();
  m.initialize(17);
  for (Eigen::Index i = 0; i < m.params().size(); ++i) m.params()[i] += rng.uniform(-0.1, 0.1);
  const Tensor x = randomTensor(in, rng, 0, 1);
  const MseLoss mse;
  const KlNormal kl(0.5);
  constexpr std::uint64_t kSeed = 321;
  auto loss = [&]() {
    v.sampling->setSeed(kSeed);
    const Tensor& y = m.forward(x);
    return mse.compute(y, x, nullptr) +
           kl.compute(m.activation(v.mu), m.activation(v.logvar), nullptr, nullptr);
  };
  v.sampling->setSeed(kSeed);
  const Tensor& y = m.forward(x);
  Tensor dY, dMu, dLogvar;
  mse.compute(y, x, &dY);
  kl.compute(m.activation(v.mu), m.activation(v.logvar), &dMu, &dLogvar);
  m.backward({{m.output(), &dY}, {v.mu, &dMu}, {v.logvar, &dLogvar}});
  const Vec analytic = m.grads();
  return checkGradient(loss, m.params().data(), m.numParams(), analytic.data(), rng, 200);
}

}  // namespace

BOOST_AUTO_TEST_CASE(sampling_gradients_fixed_eps) {
  Rng rng(11);
  for (int trial = 0; trial < 6; ++trial) {
    const Shape s = randomShape(rng, trial % 2 == 1);
    ReseededSampling layer(1000 + std::uint64_t(trial));
    const auto res = checkLayer(layer, {randomTensor(s, rng), randomTensor(s, rng, -2, 1)}, rng);
    BOOST_TEST_MESSAGE("Sampling " << s.str() << " d/dmu " << res.inputErrors[0] << " d/dlogvar "
                                   << res.inputErrors[1]);
    BOOST_TEST(res.inputErrors[0] < kTol);
    BOOST_TEST(res.inputErrors[1] < kTol);
    BOOST_TEST(res.orderMismatch == 0);
  }
}

BOOST_AUTO_TEST_CASE(sampling_forward_and_backward_by_hand) {
  Sampling s(3);
  Tensor mu({2, 3, 1, 1}), lv({2, 3, 1, 1});
  for (std::size_t i = 0; i < mu.size(); ++i) {
    mu[i] = Scalar(i) - 2;
    lv[i] = Scalar(0.3) * Scalar(i) - 1;
  }
  Tensor z;
  s.forward({&mu, &lv}, z);
  BOOST_TEST_REQUIRE((z.shape() == mu.shape()));
  const Tensor eps = s.eps();
  Tensor dz({2, 3, 1, 1}), dmu, dlv;
  for (std::size_t i = 0; i < dz.size(); ++i) dz[i] = Scalar(0.5) + Scalar(i);
  s.backward({&mu, &lv}, z, dz, {&dmu, &dlv});
  for (std::size_t i = 0; i < mu.size(); ++i) {
    const double sd = std::exp(0.5 * lv[i]);
    BOOST_TEST(z[i] == mu[i] + sd * eps[i], tt::tolerance(1e-12));
    BOOST_TEST(dmu[i] == dz[i]);
    BOOST_TEST(dlv[i] == dz[i] * 0.5 * sd * eps[i], tt::tolerance(1e-12));
  }
  // The same seed repeats the draw; the generator's saved state resumes it.
  s.setSeed(3);
  Tensor z2;
  s.forward({&mu, &lv}, z2);
  BOOST_TEST((z2.vec() == z.vec()));
  const std::string state = s.rng().state();
  s.forward({&mu, &lv}, z);
  BOOST_TEST(!(z2.vec() == z.vec()));
  Sampling resumed(99);
  resumed.rng().setState(state);
  resumed.forward({&mu, &lv}, z2);
  BOOST_TEST((z2.vec() == z.vec()));
}

BOOST_AUTO_TEST_CASE(sampling_inference_mode_is_the_mean) {
  Rng rng(12);
  Sampling s(4);
  BOOST_TEST(s.training());
  s.setTraining(false);
  const Shape shape{3, 2, 4, 5};
  const Tensor mu = randomTensor(shape, rng), lv = randomTensor(shape, rng, -3, 3);
  Tensor z, dmu, dlv;
  s.forward({&mu, &lv}, z);
  BOOST_TEST_REQUIRE((z.shape() == shape));
  BOOST_TEST((z.vec() == mu.vec()));
  const Tensor dz = randomTensor(shape, rng);
  s.backward({&mu, &lv}, z, dz, {&dmu, &dlv});
  BOOST_TEST((dmu.vec() == dz.vec()));
  BOOST_TEST(dlv.vec().cwiseAbs().maxCoeff() == 0);
  s.setTraining(true);
  s.forward({&mu, &lv}, z);
  BOOST_TEST((z.vec() - mu.vec()).cwiseAbs().maxCoeff() > 0);
}

BOOST_AUTO_TEST_CASE(sampling_statistics) {
  // 100,000 draws per unit: the mean's standard error is 0.3% of sd, the sd's 0.2%.
  constexpr int kDraws = 100000;
  const std::vector<double> mus{0.5, -2.0, 3.0, 0.0};
  const std::vector<double> sds{1.0, 0.5, 2.0, 0.1};
  const int F = int(mus.size());
  Tensor mu({kDraws, F, 1, 1}), lv({kDraws, F, 1, 1});
  for (int n = 0; n < kDraws; ++n)
    for (int f = 0; f < F; ++f) {
      mu.at(n, f, 0, 0) = mus[std::size_t(f)];
      lv.at(n, f, 0, 0) = 2 * std::log(sds[std::size_t(f)]);
    }
  Sampling s(2024);
  Tensor z;
  s.forward({&mu, &lv}, z);
  for (int f = 0; f < F; ++f) {
    double sum = 0, sq = 0;
    for (int n = 0; n < kDraws; ++n) sum += z.at(n, f, 0, 0);
    const double mean = sum / kDraws;
    for (int n = 0; n < kDraws; ++n) sq += (z.at(n, f, 0, 0) - mean) * (z.at(n, f, 0, 0) - mean);
    const double sd = std::sqrt(sq / (kDraws - 1));
    const double want = sds[std::size_t(f)];
    BOOST_TEST_MESSAGE("unit " << f << ": mean " << mean << " (mu " << mus[std::size_t(f)]
                               << "), sd " << sd << " (want " << want << ")");
    BOOST_TEST(std::abs(mean - mus[std::size_t(f)]) < 0.02 * want);
    BOOST_TEST(std::abs(sd / want - 1) < 0.02);
  }
  // Neighbouring units draw independent eps.
  double c = 0;
  for (int n = 0; n < kDraws; ++n) c += s.eps().at(n, 0, 0, 0) * s.eps().at(n, 1, 0, 0);
  BOOST_TEST(std::abs(c / kDraws) < 0.02);
}

BOOST_AUTO_TEST_CASE(sampling_shape_errors) {
  Sampling s;
  Tensor mu({2, 3, 1, 1}, 0), lv({2, 4, 1, 1}, 0), z;
  BOOST_CHECK_THROW(s.forward({&mu, &lv}, z), ShapeError);
  Model m({1, 1, 4, 4});
  const int a = m.add(std::make_unique<Dense>(16, 3));
  const int b = m.add(std::make_unique<Dense>(16, 4), {Model::kInput});
  m.add(std::make_unique<Sampling>(), {a, b});
  BOOST_CHECK_THROW(m.compile(), ShapeError);
  BOOST_CHECK_THROW(m.add(std::make_unique<Sampling>(), {a}), InvalidArgument);
}

BOOST_AUTO_TEST_CASE(kl_normal_gradients) {
  Rng rng(13);
  for (int trial = 0; trial < 6; ++trial) {
    const Shape s = randomShape(rng, trial % 2 == 1);
    const KlNormal kl(0.25 + trial);
    Tensor mu = randomTensor(s, rng, -2, 2), lv = randomTensor(s, rng, -3, 2);
    Tensor dMu, dLv;
    kl.compute(mu, lv, &dMu, &dLv);
    BOOST_TEST_REQUIRE((dMu.shape() == s));
    BOOST_TEST_REQUIRE((dLv.shape() == s));
    auto f = [&]() { return kl.compute(mu, lv, nullptr, nullptr); };
    const double eMu = checkGradient(f, mu.data(), mu.size(), dMu.data(), rng);
    const double eLv = checkGradient(f, lv.data(), lv.size(), dLv.data(), rng);
    BOOST_TEST_MESSAGE("KlNormal " << s.str() << " d/dmu " << eMu << " d/dlogvar " << eLv);
    BOOST_TEST(eMu < kTol);
    BOOST_TEST(eLv < kTol);
    // One gradient alone is the same as both.
    Tensor only;
    kl.compute(mu, lv, nullptr, &only);
    BOOST_TEST((only.vec() == dLv.vec()));
  }
}

BOOST_AUTO_TEST_CASE(kl_normal_hand_values) {
  // The prior itself: KL 0, gradients 0.
  const KlNormal kl;
  Tensor zero({4, 3, 2, 2}, 0), dMu, dLv;
  BOOST_TEST(kl.compute(zero, zero, &dMu, &dLv) == 0.0);
  BOOST_TEST(dMu.vec().cwiseAbs().maxCoeff() == 0);
  BOOST_TEST(dLv.vec().cwiseAbs().maxCoeff() == 0);

  // Closed form per unit: KL(N(m, s^2) || N(0, 1)) = -log s + (s^2 + m^2) / 2 - 1/2.
  // Sample 0: (m, s^2) = (1, 1) -> 0.5 and (0, 2) -> (1 - log 2) / 2;
  // sample 1: (-2, 0.25) -> log 2 + 4.25 / 2 - 0.5 and (0.5, 1) -> 0.125.
  Tensor mu({2, 2, 1, 1}), lv({2, 2, 1, 1});
  const double m[4] = {1, 0, -2, 0.5}, v[4] = {1, 2, 0.25, 1};
  for (int i = 0; i < 4; ++i) {
    mu[std::size_t(i)] = m[i];
    lv[std::size_t(i)] = std::log(v[i]);
  }
  const double perSample =
      (0.5 + (1 - std::log(2.0)) / 2 + std::log(2.0) + 4.25 / 2 - 0.5 + 0.125) / 2;
  BOOST_TEST(kl.compute(mu, lv, nullptr, nullptr) == perSample, tt::tolerance(1e-12));
  BOOST_TEST(KlNormal(4.0).compute(mu, lv, &dMu, &dLv) == 4 * perSample, tt::tolerance(1e-12));
  // weight / N = 2: dMu = 2 mu, dLogvar = (var - 1).
  for (int i = 0; i < 4; ++i) {
    BOOST_TEST(dMu[std::size_t(i)] == 2 * m[i], tt::tolerance(1e-12));
    BOOST_TEST(dLv[std::size_t(i)] == v[i] - 1, tt::tolerance(1e-12));
  }

  // Monte Carlo through Sampling: E_q[log q(z) - log p(z)] matches the closed form.
  constexpr int kDraws = 200000;
  Tensor mc({kDraws, 1, 1, 1}, Scalar(0.7)), mcLv({kDraws, 1, 1, 1}, Scalar(std::log(0.3)));
  Sampling s(8);
  Tensor z;
  s.forward({&mc, &mcLv}, z);
  double est = 0;
  for (int n = 0; n < kDraws; ++n) {
    const double e = s.eps()[std::size_t(n)];
    // log q - log p with z = mu + sd * e: -log sd - e^2 / 2 + z^2 / 2.
    est += -0.5 * std::log(0.3) - 0.5 * e * e + 0.5 * z[std::size_t(n)] * z[std::size_t(n)];
  }
  est /= kDraws;
  const double exact = KlNormal().compute(mc, mcLv, nullptr, nullptr);
  BOOST_TEST_MESSAGE("KL closed form " << exact << ", Monte Carlo " << est);
  BOOST_TEST(est == exact, tt::tolerance(0.02));

  BOOST_CHECK_THROW(KlNormal(-1), InvalidArgument);
  Tensor other({2, 3, 1, 1}, 0), empty;
  BOOST_CHECK_THROW(kl.compute(mu, other, nullptr, nullptr), ShapeError);
  BOOST_CHECK_THROW(kl.compute(empty, empty, nullptr, nullptr), ShapeError);
}

BOOST_AUTO_TEST_CASE(dense_vae_model_gradients) {
  Rng rng(14);
  Vae v = denseVae();
  const double err = vaeModelError(v, {3, 1, 4, 4}, rng);
  BOOST_TEST_MESSAGE("dense VAE (MSE + KL, 3 seeds) relative error " << err);
  BOOST_TEST(err < kTol);
}

BOOST_AUTO_TEST_CASE(conv_vae_model_gradients) {
  Rng rng(15);
  Vae v = convVae();
  const double err = vaeModelError(v, {2, 1, 8, 8}, rng);
  BOOST_TEST_MESSAGE("conv VAE (MSE + KL, 3 seeds) relative error " << err);
  BOOST_TEST(err < kTol);
}

// Plain gradient descent on the negative ELBO of the dense VAE (no optimizer, no trainer): with
// a fresh eps every step the loss must still fall, and the inference-mode reconstruction too.
BOOST_AUTO_TEST_CASE(dense_vae_learns) {
  Rng rng(16);
  Vae v = denseVae();
  Model& m = v.model;
  m.compile();
  m.initialize(18);
  // Four prototype 4×4 patterns plus a little noise: a code of 3 units can tell them apart.
  constexpr int kBatch = 32;
  Tensor x({kBatch, 1, 4, 4});
  for (int n = 0; n < kBatch; ++n)
    for (int p = 0; p < 16; ++p)
      x.at(n, 0, p / 4, p % 4) =
          Scalar(((p >> (n % 4)) & 1) ? 0.9 : 0.1) + rng.uniform(-0.05, 0.05);
  // ELBO weighting: reconstruction summed per sample, averaged over the batch, like KlNormal.
  const MseLoss mse(Reduction::Sum);
  // beta 0.1: at beta 1 the ~log 4 nats of KL that telling 4 patterns apart costs nearly cancel
  // the reconstruction gain, and the code collapses towards the prior in a short run.
  const KlNormal kl(0.1);
  Tensor dY, dMu, dLogvar;
  auto step = [&](bool update) {
    const Tensor& y = m.forward(x);
    const double rec = mse.compute(y, x, &dY) / kBatch;
    dY.vec() /= Scalar(kBatch);
    const double reg = kl.compute(m.activation(v.mu), m.activation(v.logvar), &dMu, &dLogvar);
    if (update) {
      m.backward({{m.output(), &dY}, {v.mu, &dMu}, {v.logvar, &dLogvar}});
      m.params() -= Scalar(0.05) * m.grads();
    }
    return rec + reg;
  };
  auto meanLoss = [&]() {
    double s = 0;
    for (int k = 0; k < 20; ++k) s += step(false);
    return s / 20;
  };
  auto inferenceMse = [&]() {
    v.sampling->setTraining(false);
    const double e = mse.compute(m.forward(x), x, nullptr) / kBatch;
    v.sampling->setTraining(true);
    return e;
  };
  const double before = meanLoss(), recBefore = inferenceMse();
  for (int it = 0; it < 1500; ++it) step(true);
  const double after = meanLoss(), recAfter = inferenceMse();
  BOOST_TEST_MESSAGE("dense VAE -ELBO " << before << " -> " << after << ", mean reconstruction "
                                        << recBefore << " -> " << recAfter);
  BOOST_TEST(after < 0.3 * before);
  BOOST_TEST(recAfter < 0.1 * recBefore);
}
