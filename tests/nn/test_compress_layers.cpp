// The layers of a compression autoencoder (issue 14): the factorized entropy model
// (EntropyBottleneck: the rate term) and the quantiser's training proxy (Quantize). Gradient
// checks in double precision, the density's properties, and a fit: trained alone on samples of a
// known distribution, the bottleneck's rate comes within a few percent of that distribution's
// entropy.
#define BOOST_TEST_MODULE compress_layers
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <map>
#include <memory>
#include <vector>

#include "error.hpp"
#include "nn/gradcheck.hpp"
#include "nn/layers/conv2d.hpp"
#include "nn/layers/conv_transpose2d.hpp"
#include "nn/layers/entropy_bottleneck.hpp"
#include "nn/layers/gdn.hpp"
#include "nn/layers/quantize.hpp"
#include "nn/losses/rate_distortion.hpp"
#include "nn/model.hpp"
#include "nn/optim/adam.hpp"

using namespace cae::nn;
using cae::test::checkLayer;
using cae::test::randomTensor;

namespace {

constexpr double kTol = 1e-7;

// Quantize in noise mode, reseeded before every forward(), so finite differences see one draw.
class ReseededQuantize : public Layer {
 public:
  std::string type() const override { return "ReseededQuantize"; }
  Shape outputShape(const std::vector<Shape>& in) const override { return in.at(0); }
  void forward(const Inputs& in, Tensor& out) override {
    q_.setSeed(5);
    q_.forward(in, out);
  }
  void backward(const Inputs& in, const Tensor& out, const Tensor& dOut,
                const InputGrads& dIn) override {
    q_.backward(in, out, dOut, dIn);
  }

 private:
  Quantize q_;
};

}  // namespace

BOOST_AUTO_TEST_CASE(entropy_bottleneck_gradients) {
  Rng rng(3);
  for (const Shape s : {Shape{1, 1, 1, 1}, Shape{2, 3, 4, 5}, Shape{3, 2, 1, 7}}) {
    EntropyBottleneck eb(s.c);
    const cae::test::LayerCheck r = checkLayer(eb, {randomTensor(s, rng, -4, 4)}, rng, 200);
    BOOST_TEST_CONTEXT(s.str()) {
      BOOST_TEST(r.inputErrors.at(0) < kTol);
      BOOST_TEST(r.weightError < kTol);
      BOOST_TEST(r.orderMismatch == 0.0);
    }
  }
}

BOOST_AUTO_TEST_CASE(the_density_is_a_distribution_over_the_integers) {
  EntropyBottleneck eb(3);
  std::vector<Scalar> w(eb.numParams()), dw(w.size());
  eb.bind(w.data(), dw.data());
  Rng rng(1);
  eb.initialize(rng);
  for (auto& v : w) v += rng.uniform(-0.3, 0.3);
  for (int c = 0; c < 3; ++c) {
    double previous = 0, mass = 0;
    for (double x = -200; x <= 200; x += 0.25) {
      const double p = eb.cumulative(c, x);
      BOOST_TEST(p >= previous);  // monotone
      previous = p;
    }
    BOOST_TEST(eb.cumulative(c, -200) < 1e-6);
    BOOST_TEST(eb.cumulative(c, 200) > 1 - 1e-6);
    Tensor v({1, 3, 1, 1}, 0);
    for (int k = -200; k <= 200; ++k) {
      v.at(0, c, 0, 0) = k;
      Tensor bits;
      eb.forward({&v}, bits);
      mass += std::exp2(-bits.at(0, c, 0, 0));
    }
    BOOST_TEST(mass == 1.0, boost::test_tools::tolerance(1e-6));
  }
}

BOOST_AUTO_TEST_CASE(trained_alone_the_rate_reaches_the_entropy_of_the_data) {
  // Channel 0: a discretised Laplacian of scale 2 around 0; channel 1: of scale 0.5 around 3.
  // Their entropies (bits) are computed exactly; the bottleneck is fitted by Adam on rounded
  // samples, as at inference, and must come within 3 % on fresh samples.
  const std::vector<std::pair<double, double>> dist{{0.0, 2.0}, {3.0, 0.5}};
  auto draw = [&](Rng& rng, int n) {
    Tensor x({n, 2, 4, 4});
    for (int i = 0; i < n; ++i)
      for (int c = 0; c < 2; ++c)
        for (int k = 0; k < 16; ++k) {
          const double u = rng.uniform(-0.5, 0.5);
          const double lap =
              -dist[std::size_t(c)].second * (u < 0 ? -1 : 1) * std::log(1 - 2 * std::abs(u));
          x.at(i, c, k / 4, k % 4) = std::nearbyint(dist[std::size_t(c)].first + lap);
        }
    return x;
  };
  std::vector<double> entropy;
  for (const auto& [mu, b] : dist) {
    double h = 0;
    for (int k = -200; k <= 200; ++k) {  // P(round(X) = k) for X ~ Laplace(mu, b)
      auto cdf = [&](double x) {
        return x < mu ? 0.5 * std::exp((x - mu) / b) : 1 - 0.5 * std::exp(-(x - mu) / b);
      };
      const double p = cdf(k + 0.5) - cdf(k - 0.5);
      if (p > 0) h -= p * std::log2(p);
    }
    entropy.push_back(h);
  }
  EntropyBottleneck eb(2);
  std::vector<Scalar> w(eb.numParams()), dw(w.size());
  eb.bind(w.data(), dw.data());
  Rng rng(9);
  eb.initialize(rng);
  Adam opt(AdamOptions{0.02});
  for (int step = 0; step < 1500; ++step) {
    const Tensor x = draw(rng, 32);
    Tensor out;
    eb.forward({&x}, out);
    const Tensor dOut({32, 2, 4, 4}, 1.0 / double(x.size()));
    eb.gradient({&x}, out, dOut);
    opt.step(VecMap(w.data(), Eigen::Index(w.size())),
             ConstVecMap(dw.data(), Eigen::Index(dw.size())));
  }
  const Tensor test = draw(rng, 400);
  Tensor out;
  eb.forward({&test}, out);
  for (int c = 0; c < 2; ++c) {
    double sum = 0;
    int n = 0;
    for (int i = 0; i < 400; ++i)
      for (int k = 0; k < 16; ++k, ++n) sum += out.at(i, c, k / 4, k % 4);
    BOOST_TEST_MESSAGE("channel " << c << ": " << sum / n << " bits per value, entropy "
                                  << entropy[std::size_t(c)]);
    BOOST_TEST(sum / n < entropy[std::size_t(c)] * 1.03);
    BOOST_TEST(sum / n > entropy[std::size_t(c)] * 0.97);  // no better than the truth, save noise
  }
}

BOOST_AUTO_TEST_CASE(quantize_noise_passes_the_gradient_and_rounds_when_not_training) {
  Rng rng(4);
  ReseededQuantize rq;
  const cae::test::LayerCheck r = checkLayer(rq, {randomTensor({2, 3, 4, 5}, rng, -3, 3)}, rng);
  BOOST_TEST(r.inputErrors.at(0) < kTol);
  Quantize q;
  const Tensor x = randomTensor({4, 2, 16, 16}, rng, -3, 3);
  Tensor y;
  q.forward({&x}, y);
  double mean = 0, maxAbs = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    mean += double(y[i] - x[i]) / double(x.size());
    maxAbs = std::max(maxAbs, std::abs(double(y[i] - x[i])));
  }
  BOOST_TEST(maxAbs <= 0.5);
  BOOST_TEST(std::abs(mean) < 0.03);  // 2048 draws of U(-1/2, 1/2): sd 0.0064
  BOOST_TEST(maxAbs > 0.45);
  q.setTraining(false);
  q.forward({&x}, y);
  for (std::size_t i = 0; i < x.size(); ++i) BOOST_TEST(y[i] == std::nearbyint(x[i]));
  Quantize st(Quantize::Mode::StraightThrough);
  st.forward({&x}, y);
  Tensor dx;
  const Tensor d({4, 2, 16, 16}, 0.5);
  st.backward({&x}, y, d, {&dx});
  for (std::size_t i = 0; i < x.size(); ++i) {
    BOOST_TEST(y[i] == std::nearbyint(x[i]));
    BOOST_TEST(dx[i] == 0.5);
  }
}

BOOST_AUTO_TEST_CASE(gdn_and_igdn_gradients) {
  Rng rng(6);
  for (bool inverse : {false, true})
    for (const Shape s : {Shape{1, 1, 1, 1}, Shape{2, 3, 4, 5}, Shape{1, 6, 3, 2}}) {
      Gdn gdn(s.c, inverse);
      const cae::test::LayerCheck r = checkLayer(gdn, {randomTensor(s, rng, -2, 2)}, rng, 200);
      BOOST_TEST_CONTEXT(gdn.type() << " " << s.str()) {
        BOOST_TEST(r.inputErrors.at(0) < kTol);
        BOOST_TEST(r.weightError < kTol);
        BOOST_TEST(r.orderMismatch == 0.0);
      }
    }
}

BOOST_AUTO_TEST_CASE(gdn_and_igdn_give_the_formula_by_hand) {
  // Two channels, beta = (1, 2) (b^2 + 1e-6 with b = 1, sqrt 2), gamma = [[1, 0.25], [0, 4]].
  Gdn gdn(2);
  std::vector<Scalar> w{1, 0.5, 0, 2, 1, std::sqrt(2.0)}, dw(6);
  gdn.bind(w.data(), dw.data());
  Tensor x({1, 2, 1, 1});
  x.at(0, 0, 0, 0) = 2;
  x.at(0, 1, 0, 0) = -1;
  Tensor y;
  gdn.forward({&x}, y);
  BOOST_TEST(y.at(0, 0, 0, 0) == 2 / std::sqrt(1 + 1e-6 + 4 + 0.25),
             boost::test_tools::tolerance(1e-12));
  BOOST_TEST(y.at(0, 1, 0, 0) == -1 / std::sqrt(2 + 1e-6 + 4), boost::test_tools::tolerance(1e-12));
  // IGDN at its initial weights (beta 1, gamma 0.1): x * sqrt(1 + 0.1 x^2).
  Gdn inv(1, true);
  std::vector<Scalar> w2(2), dw2(2);
  inv.bind(w2.data(), dw2.data());
  Rng rng(1);
  inv.initialize(rng);
  Tensor a({1, 1, 1, 1}, 3.0), b;
  inv.forward({&a}, b);
  BOOST_TEST(b[0] == 3 * std::sqrt(1 + 1e-6 + 0.1 * 9), boost::test_tools::tolerance(1e-12));
}

BOOST_AUTO_TEST_CASE(the_rate_distortion_objective_of_a_whole_codec_has_exact_gradients) {
  // A small codec as cae-train builds one: conv / GDN / conv to the latents, the noisy
  // quantiser (reseeded before every forward, so differences see one draw), the entropy model
  // on its output, transposed conv / IGDN / transposed conv back. L = lambda*255^2*MSE + bpp;
  // its gradient with respect to the input and to every weight (the densities' included).
  auto conv = [](int in, int out) {
    Conv2dOptions o;
    o.inChannels = in;
    o.outChannels = out;
    o.kernel = 3;
    o.stride = 2;
    o.padding = 1;
    return std::make_unique<Conv2d>(o);
  };
  auto deconv = [](int in, int out) {
    ConvTranspose2dOptions o;
    o.inChannels = in;
    o.outChannels = out;
    o.kernel = 3;
    o.stride = 2;
    o.padding = 1;
    o.outputPadding = 1;
    return std::make_unique<ConvTranspose2d>(o);
  };
  Model m({1, 3, 8, 8});
  m.add(conv(3, 4));
  m.add(std::make_unique<Gdn>(4));
  const int y = m.add(conv(4, 3));
  const int yHat = m.add(std::make_unique<Quantize>());
  const int rate = m.add(std::make_unique<EntropyBottleneck>(3), {yHat});
  m.add(deconv(3, 4), {yHat});
  m.add(std::make_unique<Gdn>(4, true));
  m.setOutput(m.add(deconv(4, 3)));
  m.compile();
  m.initialize(2);
  (void)y;
  Rng rng(8);
  Tensor x = randomTensor({2, 3, 8, 8}, rng, 0, 1);
  const Tensor target = randomTensor({2, 3, 8, 8}, rng, 0, 1);
  const RateDistortion rd(0.05);
  auto& q = dynamic_cast<Quantize&>(m.layer(yHat));
  auto loss = [&]() {
    q.setSeed(11);
    const Tensor& out = m.forward(x);
    return rd.compute(out, target, m.activation(rate), nullptr, nullptr).total;
  };
  q.setSeed(11);
  const Tensor& out = m.forward(x);
  Tensor dOut, dBits, dx;
  const RateDistortion::Terms t = rd.compute(out, target, m.activation(rate), &dOut, &dBits);
  BOOST_TEST(t.bpp > 0);
  BOOST_TEST(t.total == 0.05 * 255 * 255 * t.mse + t.bpp, boost::test_tools::tolerance(1e-12));
  m.backward({{m.output(), &dOut}, {rate, &dBits}}, &dx);
  const std::vector<Scalar> grads(m.grads().data(), m.grads().data() + m.numParams());
  const double inErr = cae::test::checkGradient(loss, x.data(), x.size(), dx.data(), rng, 100);
  const double wErr =
      cae::test::checkGradient(loss, m.params().data(), m.numParams(), grads.data(), rng, 300);
  BOOST_TEST_MESSAGE("relative error: input " << inErr << ", weights " << wErr);
  BOOST_TEST(inErr < 1e-6);
  BOOST_TEST(wErr < 1e-6);
  BOOST_CHECK_THROW(RateDistortion(0), cae::InvalidArgument);
  BOOST_CHECK_THROW(rd.compute(out, x, randomTensor({1, 3, 2, 2}, rng), nullptr, nullptr),
                    cae::ShapeError);
}
