#define BOOST_TEST_MODULE layer_gradients
#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "nn/gradcheck.hpp"
#include "nn/layers/activation.hpp"
#include "nn/layers/conv2d.hpp"
#include "nn/layers/conv_transpose2d.hpp"
#include "nn/layers/dense.hpp"
#include "nn/layers/merge.hpp"
#include "nn/layers/pool.hpp"
#include "nn/layers/reshape.hpp"
#include "nn/parallel.hpp"

using namespace cae::nn;
using cae::test::checkLayer;
using cae::test::LayerCheck;
using cae::test::randomTensor;

namespace {

// Double precision with eps 1e-6: linear layers come out near 1e-10, smooth ones near 1e-9.
constexpr double kTol = 1e-7;
constexpr std::size_t kChecks = 200;
// Tensors big enough to take the parallel paths cost a full forward per difference, and with
// two threads every forward forks; the thread-count test below compares those paths exactly.
std::size_t checksFor(std::size_t inputSize, int nThreads) {
  if (inputSize > 4000) return 16;
  return nThreads > 1 ? 48 : kChecks;
}

// Worst error per layer type over every case, printed by the last test case.
std::map<std::string, double>& worstByLayer() {
  static std::map<std::string, double> m;
  return m;
}

void expectGood(const LayerCheck& r, const std::string& what) {
  for (std::size_t k = 0; k < r.inputErrors.size(); ++k)
    BOOST_TEST(r.inputErrors[k] < kTol,
               what << ": input " << k << " relative error " << r.inputErrors[k]);
  BOOST_TEST(r.weightError < kTol, what << ": weight relative error " << r.weightError);
  BOOST_TEST(r.orderMismatch == 0.0,
             what << ": backward() after gradient() differs by " << r.orderMismatch);
  double& worst = worstByLayer()[what.substr(0, what.find(' '))];
  worst = std::max(worst, r.worst());
}

// Runs body once with one engine thread and once with two: conv layers split a batch of N > 1
// across threads and keep a single sample on one thread, so both paths must be checked.
template <class F>
void withThreadCounts(F body) {
  const int keep = threads();
  for (int t : {1, 2}) {
    BOOST_TEST_CONTEXT("threads=" << t) {
      setThreads(t);
      body(t);
    }
  }
  setThreads(keep);
}

// Uniform in (-a, a) but never within 1e-3 of zero, the kink of ReLU and LeakyReLU.
Tensor awayFromZero(Shape s, Rng& rng, double a = 3) {
  Tensor t(s);
  for (std::size_t i = 0; i < t.size(); ++i) {
    Scalar v = 0;
    while (std::abs(v) <= 1e-3) v = rng.uniform(-a, a);
    t[i] = v;
  }
  return t;
}

// Distinct values in random order, at least 1e-5 apart so no pooling window has a tie that a
// 1e-6 nudge could flip, and within [-2, 2] so the loss sum stays small enough to difference.
Tensor distinctValues(Shape s, Rng& rng) {
  Tensor t(s);
  const double step = std::min(0.01, 4.0 / double(t.size()));
  for (std::size_t i = 0; i < t.size(); ++i) t[i] = (Scalar(i) - Scalar(t.size()) / 2) * step;
  std::shuffle(t.data(), t.data() + t.size(), rng.engine());
  return t;
}

struct ConvCase {
  Shape in;
  int outC, kernel, stride, padding, dilation;
  bool bias;
  int kernelH = 0, kernelW = 0;
};

std::string describe(const ConvCase& c) {
  return c.in.str() + " out" + std::to_string(c.outC) + " k" + std::to_string(c.kernel) +
         (c.kernelH ? "(" + std::to_string(c.kernelH) + "x" + std::to_string(c.kernelW) + ")"
                    : std::string()) +
         " s" + std::to_string(c.stride) + " p" + std::to_string(c.padding) + " d" +
         std::to_string(c.dilation) + (c.bias ? " bias" : " nobias");
}

}  // namespace

BOOST_AUTO_TEST_CASE(conv2d) {
  const std::vector<ConvCase> cases = {
      {{1, 1, 7, 5}, 2, 3, 1, 1, 1, true},
      {{2, 3, 13, 9}, 4, 3, 2, 1, 1, false},
      {{3, 2, 7, 5}, 3, 4, 2, 0, 1, true},
      {{4, 1, 6, 6}, 2, 4, 2, 1, 1, true},
      {{2, 2, 13, 9}, 2, 3, 1, 0, 2, true},
      {{3, 2, 9, 8}, 3, 3, 2, 1, 2, false},
      {{2, 2, 7, 5}, 3, 4, 1, 1, 2, true},
      {{1, 3, 1, 1}, 2, 1, 1, 0, 1, true},
      {{2, 2, 1, 1}, 3, 3, 1, 1, 1, true},
      {{3, 2, 7, 5}, 2, 0, 2, 1, 1, true, 1, 3},
      {{2, 1, 5, 6}, 2, 0, 1, 0, 1, false, 4, 2},
      // More output channels than the direct path takes: these run through im2col + GEMM.
      {{2, 3, 13, 9}, 6, 3, 2, 1, 1, false},
      {{3, 2, 7, 5}, 5, 4, 1, 1, 2, true},
      {{1, 2, 1, 1}, 8, 3, 2, 1, 1, true},
      // Large enough (rows*cols > 2^18) that im2col/col2im split rows across threads.
      {{1, 8, 64, 64}, 2, 3, 1, 1, 1, true},
      {{1, 8, 64, 64}, 6, 3, 1, 1, 1, true},
  };
  withThreadCounts([&](int t) {
    Rng rng(20240611);
    for (const ConvCase& c : cases) {
      Conv2dOptions o;
      o.inChannels = c.in.c;
      o.outChannels = c.outC;
      o.kernel = c.kernel;
      o.kernelH = c.kernelH;
      o.kernelW = c.kernelW;
      o.stride = c.stride;
      o.padding = c.padding;
      o.dilation = c.dilation;
      o.bias = c.bias;
      Conv2d layer(o);
      const std::size_t checks = checksFor(c.in.size(), t);
      expectGood(checkLayer(layer, {randomTensor(c.in, rng)}, rng, checks),
                 "Conv2d " + describe(c));
    }
  });
}

struct ConvTCase {
  Shape in;
  int outC, kernel, stride, padding, outputPadding, dilation;
  bool bias;
};

BOOST_AUTO_TEST_CASE(conv_transpose2d) {
  const std::vector<ConvTCase> cases = {
      {{1, 2, 4, 4}, 3, 4, 2, 1, 0, 1, true},
      {{2, 1, 7, 5}, 2, 4, 2, 1, 0, 1, false},
      {{3, 2, 5, 3}, 2, 3, 2, 1, 1, 1, true},
      {{2, 3, 3, 4}, 2, 3, 1, 0, 0, 1, true},
      {{2, 2, 13, 9}, 1, 4, 2, 1, 1, 1, true},
      {{1, 1, 1, 1}, 2, 3, 2, 0, 0, 1, true},
      {{3, 1, 1, 1}, 1, 4, 2, 1, 1, 1, false},
      {{2, 2, 6, 5}, 1, 3, 2, 1, 1, 2, true},
      // outputPadding >= stride is allowed when dilation is larger; the extra row gets bias only.
      {{2, 2, 4, 3}, 2, 3, 1, 1, 1, 2, false},
      // Large enough (rows*cols > 2^18) that im2col/col2im split rows across threads.
      {{1, 2, 48, 48}, 8, 4, 2, 1, 0, 1, true},
  };
  withThreadCounts([&](int t) {
    Rng rng(7);
    for (const ConvTCase& c : cases) {
      ConvTranspose2dOptions o;
      o.inChannels = c.in.c;
      o.outChannels = c.outC;
      o.kernel = c.kernel;
      o.stride = c.stride;
      o.padding = c.padding;
      o.outputPadding = c.outputPadding;
      o.dilation = c.dilation;
      o.bias = c.bias;
      ConvTranspose2d layer(o);
      const std::string what = "ConvTranspose2d " + c.in.str() + " out" + std::to_string(c.outC) +
                               " k" + std::to_string(c.kernel) + " s" + std::to_string(c.stride) +
                               " p" + std::to_string(c.padding) + " op" +
                               std::to_string(c.outputPadding) + " d" + std::to_string(c.dilation) +
                               (c.bias ? " bias" : " nobias");
      const std::size_t checks = checksFor(c.in.size(), t);
      expectGood(checkLayer(layer, {randomTensor(c.in, rng)}, rng, checks), what);
    }
  });
}

BOOST_AUTO_TEST_CASE(dense) {
  struct Case {
    Shape in;
    int out;
    bool bias;
  };
  const std::vector<Case> cases = {
      {{1, 1, 1, 7}, 5, true}, {{3, 2, 3, 2}, 4, false}, {{2, 13, 1, 1}, 1, true},
      {{5, 1, 1, 1}, 1, true}, {{4, 3, 7, 5}, 9, true},
  };
  withThreadCounts([&](int) {
    Rng rng(11);
    for (const Case& c : cases) {
      Dense layer(int(c.in.perSample()), c.out, c.bias);
      expectGood(checkLayer(layer, {randomTensor(c.in, rng)}, rng, kChecks),
                 "Dense " + c.in.str() + " -> " + std::to_string(c.out));
    }
  });
}

BOOST_AUTO_TEST_CASE(max_pool2d) {
  struct Case {
    Shape in;
    int kernel, stride;
  };
  const std::vector<Case> cases = {
      {{1, 1, 7, 5}, 2, 0},
      {{2, 3, 13, 9}, 3, 2},
      {{3, 2, 6, 6}, 2, 1},
      {{1, 1, 1, 1}, 1, 0},
      {{2, 2, 5, 7}, 3, 0},
      {{2, 1, 4, 4}, 4, 0},
      // More than 2^16 outputs: the forward pass runs planes in parallel.
      {{1, 2, 384, 384}, 2, 0},
  };
  withThreadCounts([&](int t) {
    Rng rng(13);
    for (const Case& c : cases) {
      MaxPool2d layer(c.kernel, c.stride);
      const std::size_t checks = checksFor(c.in.size(), t);
      expectGood(checkLayer(layer, {distinctValues(c.in, rng)}, rng, checks),
                 "MaxPool2d " + c.in.str() + " k" + std::to_string(c.kernel) + " s" +
                     std::to_string(c.stride));
    }
  });
}

BOOST_AUTO_TEST_CASE(upsample) {
  struct Case {
    Shape in;
    int scale;
  };
  const std::vector<Case> cases = {
      {{1, 1, 7, 5}, 2}, {{2, 3, 13, 9}, 3},  {{1, 1, 1, 1}, 2},
      {{3, 2, 4, 3}, 1}, {{1, 2, 96, 96}, 2},  // more than 2^16 outputs: parallel path
  };
  withThreadCounts([&](int t) {
    Rng rng(17);
    for (const Case& c : cases) {
      Upsample layer(c.scale);
      const std::size_t checks = checksFor(c.in.size(), t);
      expectGood(checkLayer(layer, {randomTensor(c.in, rng)}, rng, checks),
                 "Upsample " + c.in.str() + " x" + std::to_string(c.scale));
    }
  });
}

BOOST_AUTO_TEST_CASE(activations) {
  // The last shape has more than 2^16 elements, so activations run in parallel chunks.
  const std::vector<Shape> shapes = {{2, 3, 7, 5}, {1, 1, 1, 1}, {3, 2, 13, 9}, {2, 2, 128, 130}};
  withThreadCounts([&](int t) {
    Rng rng(19);
    for (const Shape& s : shapes) {
      std::vector<std::pair<std::string, std::unique_ptr<Layer>>> layers;
      layers.emplace_back("ReLU", std::make_unique<ReLU>());
      layers.emplace_back("LeakyReLU", std::make_unique<LeakyReLU>());
      layers.emplace_back("LeakyReLU", std::make_unique<LeakyReLU>(Scalar(0.2)));
      layers.emplace_back("Sigmoid", std::make_unique<Sigmoid>());
      layers.emplace_back("Tanh", std::make_unique<Tanh>());
      for (auto& [name, layer] : layers) {
        const std::size_t checks = checksFor(s.size(), t);
        expectGood(checkLayer(*layer, {awayFromZero(s, rng)}, rng, checks), name + " " + s.str());
      }
    }
  });
}

BOOST_AUTO_TEST_CASE(relu_gradient_is_not_vacuous) {
  // A check passes trivially when every gradient is zero; make sure both sides of the kink count.
  Rng rng(23);
  ReLU relu;
  Tensor x = awayFromZero({2, 3, 7, 5}, rng);
  Tensor y, dx;
  relu.forward({&x}, y);
  Tensor dy(y.shape(), 1);
  relu.backward({&x}, y, dy, {&dx});
  int ones = 0, zeros = 0;
  for (std::size_t i = 0; i < dx.size(); ++i) (dx[i] == 1 ? ones : zeros)++;
  BOOST_TEST(ones > 10);
  BOOST_TEST(zeros > 10);
}

BOOST_AUTO_TEST_CASE(add_and_concat) {
  withThreadCounts([&](int) {
    Rng rng(29);
    for (Shape s : {Shape{2, 3, 7, 5}, Shape{1, 1, 1, 1}, Shape{3, 2, 13, 9}}) {
      Add add;
      expectGood(checkLayer(add, {randomTensor(s, rng), randomTensor(s, rng)}, rng, kChecks),
                 "Add " + s.str());
    }
    const std::vector<std::pair<Shape, Shape>> pairs = {
        {{2, 3, 7, 5}, {2, 1, 7, 5}}, {{1, 1, 1, 1}, {1, 4, 1, 1}}, {{3, 2, 13, 9}, {3, 5, 13, 9}}};
    for (const auto& [a, b] : pairs) {
      Concat cat;
      expectGood(checkLayer(cat, {randomTensor(a, rng), randomTensor(b, rng)}, rng, kChecks),
                 "Concat " + a.str() + "+" + b.str());
    }
  });
}

BOOST_AUTO_TEST_CASE(flatten_and_reshape) {
  withThreadCounts([&](int) {
    Rng rng(31);
    for (Shape s : {Shape{2, 3, 7, 5}, Shape{1, 1, 1, 1}, Shape{3, 2, 13, 9}}) {
      Flatten flat;
      expectGood(checkLayer(flat, {randomTensor(s, rng)}, rng, kChecks), "Flatten " + s.str());
    }
    Reshape r1(5, 4, 3);
    expectGood(checkLayer(r1, {randomTensor({2, 3, 4, 5}, rng)}, rng, kChecks),
               "Reshape [2,3,4,5]->(5,4,3)");
    Reshape r2(3, 4, 5);
    expectGood(checkLayer(r2, {randomTensor({3, 60, 1, 1}, rng)}, rng, kChecks),
               "Reshape [3,60,1,1]->(3,4,5)");
    Reshape r3(1, 1, 1);
    expectGood(checkLayer(r3, {randomTensor({4, 1, 1, 1}, rng)}, rng, kChecks),
               "Reshape [4,1,1,1]->(1,1,1)");
  });
}

// The batch-parallel and serial paths must give the same numbers, not merely both pass a check.
BOOST_AUTO_TEST_CASE(conv_results_do_not_depend_on_thread_count) {
  struct Run {
    Tensor y, dx;
    std::vector<Scalar> dw;
  };
  auto run = [](Layer& layer, const Tensor& x, int t) {
    setThreads(t);
    Rng rng(37);
    Run r;
    std::vector<Scalar> w(layer.numParams());
    r.dw.assign(layer.numParams(), 0);
    layer.bind(w.data(), r.dw.data());
    layer.initialize(rng);
    for (auto& v : w) v += rng.uniform(-0.1, 0.1);
    layer.forward({&x}, r.y);
    const Tensor dy = randomTensor(r.y.shape(), rng);
    layer.gradient({&x}, r.y, dy);
    layer.backward({&x}, r.y, dy, {&r.dx});
    return r;
  };
  auto maxDiff = [](const Scalar* a, const Scalar* b, std::size_t n) {
    double m = 0;
    for (std::size_t i = 0; i < n; ++i) m = std::max(m, std::abs(double(a[i] - b[i])));
    return m;
  };
  const int keep = threads();
  Rng rng(41);
  for (int n : {1, 2, 3, 5}) {
    const Tensor x = randomTensor({n, 3, 11, 9}, rng);
    Conv2dOptions co;
    co.inChannels = 3;
    co.outChannels = 4;
    co.stride = 2;
    co.padding = 1;
    ConvTranspose2dOptions to;
    to.inChannels = 3;
    to.outChannels = 2;
    to.outputPadding = 1;
    std::vector<std::unique_ptr<Layer>> layers;
    layers.push_back(std::make_unique<Conv2d>(co));
    layers.push_back(std::make_unique<ConvTranspose2d>(to));
    for (auto& layer : layers) {
      const Run a = run(*layer, x, 1);
      const Run b = run(*layer, x, 2);
      BOOST_TEST_CONTEXT(layer->type() << " N=" << n) {
        BOOST_TEST((a.y.shape() == b.y.shape()));
        BOOST_TEST(maxDiff(a.y.data(), b.y.data(), a.y.size()) < 1e-12);
        BOOST_TEST(maxDiff(a.dx.data(), b.dx.data(), a.dx.size()) < 1e-12);
        BOOST_TEST(maxDiff(a.dw.data(), b.dw.data(), a.dw.size()) < 1e-12);
      }
    }
  }
  setThreads(keep);
}

BOOST_AUTO_TEST_CASE(report_worst_errors) {
  BOOST_TEST(worstByLayer().size() >= 13u);
  for (const auto& [name, err] : worstByLayer())
    BOOST_TEST_MESSAGE("worst relative error " << name << ": " << err);
}
