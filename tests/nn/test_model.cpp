#define BOOST_TEST_MODULE model_graph
#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "error.hpp"
#include "nn/gradcheck.hpp"
#include "nn/layers/activation.hpp"
#include "nn/layers/conv2d.hpp"
#include "nn/layers/conv_transpose2d.hpp"
#include "nn/layers/dense.hpp"
#include "nn/layers/merge.hpp"
#include "nn/layers/pool.hpp"
#include "nn/layers/reshape.hpp"
#include "nn/model.hpp"
#include "nn/parallel.hpp"

using namespace cae::nn;
using cae::InvalidArgument;
using cae::ShapeError;
using cae::test::checkGradient;
using cae::test::randomTensor;

namespace {

constexpr double kTol = 1e-7;

std::unique_ptr<Conv2d> conv(int in, int out, int k, int stride, int padding) {
  Conv2dOptions o;
  o.inChannels = in;
  o.outChannels = out;
  o.kernel = k;
  o.stride = stride;
  o.padding = padding;
  return std::make_unique<Conv2d>(o);
}

// An encoder-decoder over a 2×7×5 input with every kind of edge the graph supports:
//   c1 -> t2 -> c3 -> a4 = c3 + input (residual) -> k5 = concat(a4, t2) (skip)
//   -> c6 (stride 2) -> l7 -> flatten -> dense -> reshape -> up (transposed) -> a12 = up + a4
//   -> sigmoid
// t2 and a4 each feed two consumers, so their gradients must sum.
struct Graph {
  Model m{{1, 2, 7, 5}};
  int t2 = 0, a4 = 0, out = 0;
  Graph() {
    m.add(conv(2, 3, 3, 1, 1), {}, "c1");
    t2 = m.add(std::make_unique<Tanh>(), {}, "t2");
    const int c3 = m.add(conv(3, 2, 3, 1, 1), {t2}, "c3");
    a4 = m.add(std::make_unique<Add>(), {c3, Model::kInput}, "a4");
    m.add(std::make_unique<Concat>(), {a4, t2}, "k5");
    m.add(conv(5, 3, 3, 2, 1), {}, "c6");  // 3 x 4 x 3
    m.add(std::make_unique<LeakyReLU>(Scalar(0.1)), {}, "l7");
    m.add(std::make_unique<Flatten>(), {}, "flat");
    m.add(std::make_unique<Dense>(36, 36), {}, "fc");
    m.add(std::make_unique<Reshape>(3, 4, 3), {}, "unflat");
    ConvTranspose2dOptions up;
    up.inChannels = 3;
    up.outChannels = 2;
    up.kernel = 3;
    const int u = m.add(std::make_unique<ConvTranspose2d>(up), {}, "up");  // 2 x 7 x 5
    m.add(std::make_unique<Add>(), {u, a4}, "a12");
    out = m.add(std::make_unique<Sigmoid>(), {}, "out");
    m.compile();
    m.initialize(5);
    // Random biases too, so every parameter's gradient is exercised.
    Rng rng(99);
    for (Eigen::Index i = 0; i < m.params().size(); ++i) m.params()[i] += rng.uniform(-0.1, 0.1);
  }
};

double dot(const Tensor& a, const Tensor& b) {
  double s = 0;
  for (std::size_t i = 0; i < a.size(); ++i) s += double(a[i]) * b[i];
  return s;
}

double maxAbsDiff(const Scalar* a, const Scalar* b, std::size_t n) {
  double m = 0;
  for (std::size_t i = 0; i < n; ++i) m = std::max(m, std::abs(double(a[i] - b[i])));
  return m;
}

template <class F>
void withThreadCounts(F body) {
  const int keep = threads();
  for (int t : {1, 2}) {
    BOOST_TEST_CONTEXT("threads=" << t) {
      setThreads(t);
      body();
    }
  }
  setThreads(keep);
}

}  // namespace

// With one thread every parameter and input entry is differenced. With two, the conv layers
// take their batch-parallel paths: those must reproduce the one-thread gradients exactly, and a
// random subset is differenced again (every forward forks, so a full check would be slow).
BOOST_AUTO_TEST_CASE(whole_model_gradients_with_inner_seed) {
  std::vector<Scalar> serialGrads;
  Tensor serialDx;
  withThreadCounts([&] {
    const bool serial = threads() == 1;
    Graph g;
    Rng rng(3);
    Tensor x = randomTensor({2, 2, 7, 5}, rng);
    g.m.forward(x);
    const Tensor R = randomTensor(g.m.activation(g.out).shape(), rng);
    const Tensor S = randomTensor(g.m.activation(g.t2).shape(), rng);
    // L = <out, R> + <t2, S>: the second term stands in for a regularizer on an inner activation.
    auto loss = [&]() {
      g.m.forward(x);
      return dot(g.m.activation(g.out), R) + dot(g.m.activation(g.t2), S);
    };
    g.m.forward(x);
    Tensor dx;
    g.m.backward({{g.out, &R}, {g.t2, &S}}, &dx);
    BOOST_TEST((dx.shape() == x.shape()));
    const std::vector<Scalar> grads(g.m.grads().data(), g.m.grads().data() + g.m.numParams());
    BOOST_TEST(g.m.numParams() == 57u + 56 + 138 + 36 * 37 + 56);
    if (serial) {
      serialGrads = grads;
      serialDx = dx;
    } else {
      BOOST_TEST(maxAbsDiff(grads.data(), serialGrads.data(), grads.size()) < 1e-12);
      BOOST_TEST(maxAbsDiff(dx.data(), serialDx.data(), dx.size()) < 1e-12);
    }
    const double ew = checkGradient(loss, g.m.params().data(), g.m.numParams(), grads.data(), rng,
                                    serial ? g.m.numParams() : 200);
    const double ex =
        checkGradient(loss, x.data(), x.size(), dx.data(), rng, serial ? x.size() : 40);
    BOOST_TEST_MESSAGE("model: parameter rel. error " << ew << ", input rel. error " << ex);
    BOOST_TEST(ew < kTol);
    BOOST_TEST(ex < kTol);

    // The parameter gradient is the same whether or not dInput is asked for, and is overwritten
    // (not accumulated) by a second backward.
    g.m.forward(x);
    g.m.backward({{g.out, &R}, {g.t2, &S}});
    BOOST_TEST(maxAbsDiff(g.m.grads().data(), grads.data(), grads.size()) < 1e-12);
  });
}

BOOST_AUTO_TEST_CASE(output_only_backward) {
  withThreadCounts([] {
    const bool serial = threads() == 1;
    Graph g;
    Rng rng(4);
    Tensor x = randomTensor({3, 2, 7, 5}, rng);
    const Tensor R = randomTensor(g.m.forward(x).shape(), rng);
    auto loss = [&]() { return dot(g.m.forward(x), R); };
    g.m.forward(x);
    Tensor dx;
    g.m.backward(R, &dx);
    const std::vector<Scalar> grads(g.m.grads().data(), g.m.grads().data() + g.m.numParams());
    const double ew = checkGradient(loss, g.m.params().data(), g.m.numParams(), grads.data(), rng,
                                    serial ? 400 : 100);
    const double ex =
        checkGradient(loss, x.data(), x.size(), dx.data(), rng, serial ? x.size() : 40);
    BOOST_TEST(ew < kTol);
    BOOST_TEST(ex < kTol);
  });
}

BOOST_AUTO_TEST_CASE(seeds_on_one_node_add_up) {
  Graph g;
  Rng rng(6);
  const Tensor x = randomTensor({2, 2, 7, 5}, rng);
  g.m.forward(x);
  const Tensor R = randomTensor(g.m.activation(g.out).shape(), rng);
  const Tensor S1 = randomTensor(g.m.activation(g.a4).shape(), rng);
  const Tensor S2 = randomTensor(g.m.activation(g.a4).shape(), rng);
  Tensor sum = S1;
  sum.vec() += S2.vec();
  Tensor dx1, dx2;
  g.m.backward({{g.out, &R}, {g.a4, &S1}, {g.a4, &S2}}, &dx1);
  const std::vector<Scalar> grads(g.m.grads().data(), g.m.grads().data() + g.m.numParams());
  g.m.backward({{g.a4, &sum}, {g.out, &R}}, &dx2);
  BOOST_TEST(maxAbsDiff(g.m.grads().data(), grads.data(), grads.size()) < 1e-12);
  BOOST_TEST(maxAbsDiff(dx1.data(), dx2.data(), dx1.size()) < 1e-12);

  // A seed on the input itself passes straight into dInput.
  const Tensor T = randomTensor(x.shape(), rng);
  Tensor dx3;
  g.m.backward({{g.out, &R}, {Model::kInput, &T}}, &dx3);
  Tensor dx0;
  g.m.backward(R, &dx0);
  for (std::size_t i = 0; i < x.size(); ++i) dx0[i] += T[i];
  BOOST_TEST(maxAbsDiff(dx3.data(), dx0.data(), dx0.size()) < 1e-12);

  const Tensor wrong({2, 1, 7, 5}, 0);
  BOOST_CHECK_THROW(g.m.backward({{g.a4, &wrong}}), ShapeError);
  BOOST_CHECK_THROW(g.m.backward({{g.out + 1, &R}}), InvalidArgument);
}

BOOST_AUTO_TEST_CASE(same_node_twice_and_inner_output) {
  // y = c(x) + c(x) through one Add: the layer's two input gradients land on one node.
  Model m({1, 1, 5, 6});
  const int c = m.add(conv(1, 2, 3, 1, 0), {}, "c");
  const int a = m.add(std::make_unique<Add>(), {c, c}, "twice");
  const int p = m.add(std::make_unique<MaxPool2d>(2), {a}, "pool");
  m.add(std::make_unique<Upsample>(2), {p}, "up");
  m.initialize(1);
  Rng rng(8);
  Tensor x = randomTensor({2, 1, 5, 6}, rng);
  const Tensor R = randomTensor(m.forward(x).shape(), rng);
  BOOST_TEST((m.forward(x).shape() == Shape{2, 2, 2, 4}));
  auto loss = [&]() { return dot(m.forward(x), R); };
  m.forward(x);
  Tensor dx;
  m.backward(R, &dx);
  const std::vector<Scalar> grads(m.grads().data(), m.grads().data() + m.numParams());
  BOOST_TEST(checkGradient(loss, m.params().data(), m.numParams(), grads.data(), rng, 100) < kTol);
  BOOST_TEST(checkGradient(loss, x.data(), x.size(), dx.data(), rng, x.size()) < kTol);

  // Moving the output to an inner node backpropagates from there only.
  m.setOutput(a);
  BOOST_TEST(m.output() == a);
  const Tensor& y = m.forward(x);
  BOOST_TEST((y.shape() == Shape{2, 2, 3, 4}));
  const Tensor Ra = randomTensor(y.shape(), rng);
  auto lossA = [&]() { return dot(m.forward(x), Ra); };
  m.forward(x);
  m.backward(Ra, &dx);
  const std::vector<Scalar> gradsA(m.grads().data(), m.grads().data() + m.numParams());
  BOOST_TEST(checkGradient(lossA, m.params().data(), m.numParams(), gradsA.data(), rng, 100) <
             kTol);
  BOOST_TEST(checkGradient(lossA, x.data(), x.size(), dx.data(), rng, x.size()) < kTol);
  BOOST_CHECK_THROW(m.setOutput(9), InvalidArgument);
}

namespace {
// A test-only layer with three inputs: y = a + 2b + 3c. No engine layer takes more than two, but
// the graph promises any numInputs().
class WeightedSum3 : public Layer {
 public:
  std::string type() const override { return "WeightedSum3"; }
  int numInputs() const override { return 3; }
  Shape outputShape(const std::vector<Shape>& in) const override { return in.at(0); }
  void forward(const Inputs& in, Tensor& out) override {
    out.resize(in[0]->shape());
    out.vec() = in[0]->vec() + 2 * in[1]->vec() + 3 * in[2]->vec();
  }
  void backward(const Inputs&, const Tensor&, const Tensor& dOut, const InputGrads& dIn) override {
    for (std::size_t k = 0; k < 3; ++k)
      if (dIn[k]) {
        *dIn[k] = dOut;
        dIn[k]->vec() *= Scalar(k + 1);
      }
  }
};
}  // namespace

BOOST_AUTO_TEST_CASE(three_inputs_on_a_node_that_already_has_a_gradient) {
  // c feeds the last Add first, so all three of WeightedSum3's gradients for c go through the
  // model's scratch tensors at once.
  Model m({1, 1, 5, 4});
  const int c = m.add(conv(1, 2, 3, 1, 1), {}, "c");
  const int s = m.add(std::make_unique<WeightedSum3>(), {c, c, c}, "sum3");
  m.add(std::make_unique<Add>(), {s, c}, "out");
  m.initialize(3);
  Rng rng(12);
  Tensor x = randomTensor({2, 1, 5, 4}, rng);
  const Tensor R = randomTensor(m.forward(x).shape(), rng);
  auto loss = [&]() { return dot(m.forward(x), R); };
  m.forward(x);
  Tensor dx;
  m.backward(R, &dx);
  const std::vector<Scalar> grads(m.grads().data(), m.grads().data() + m.numParams());
  BOOST_TEST(checkGradient(loss, m.params().data(), m.numParams(), grads.data(), rng, 100) < kTol);
  BOOST_TEST(checkGradient(loss, x.data(), x.size(), dx.data(), rng, x.size()) < kTol);
}

BOOST_AUTO_TEST_CASE(output_at_the_input_node) {
  // With the input as output, the seed is dInput itself: it must overwrite what dx held.
  Model m({1, 1, 4, 4});
  m.add(std::make_unique<Flatten>());
  m.compile();
  m.setOutput(Model::kInput);
  Tensor x({1, 1, 4, 4}, 1);
  const Tensor& y = m.forward(x);
  Tensor dx({1, 1, 4, 4}, 5);
  const Tensor seed(y.shape(), 2);
  m.backward(seed, &dx);
  BOOST_TEST(dx.vec().sum() == 32);
}

BOOST_AUTO_TEST_CASE(compile_reports_the_node) {
  {
    Model m({1, 1, 8, 8});
    m.add(conv(1, 4, 3, 1, 1), {}, "enc1");
    m.add(conv(3, 4, 3, 1, 1), {}, "enc2");  // expects 3 channels, gets 4
    try {
      m.compile();
      BOOST_ERROR("compile() accepted a channel mismatch");
    } catch (const ShapeError& e) {
      BOOST_TEST(std::string(e.what()).find("enc2") != std::string::npos, e.what());
    }
    BOOST_TEST(!m.compiled());
  }
  {
    Model m({1, 1, 8, 8});
    const int a = m.add(conv(1, 2, 3, 2, 1));  // 4 x 4
    m.add(std::make_unique<Add>(), {a, Model::kInput});
    try {
      m.compile();
      BOOST_ERROR("compile() accepted an Add of unequal shapes");
    } catch (const ShapeError& e) {
      BOOST_TEST(std::string(e.what()).find("Add_2") != std::string::npos, e.what());
    }
  }
  {
    Model m({1, 1, 4, 4});
    m.add(std::make_unique<Flatten>());
    m.add(std::make_unique<Dense>(15, 3), {}, "fc");
    BOOST_CHECK_THROW(m.compile(), ShapeError);
  }
}

BOOST_AUTO_TEST_CASE(add_rules) {
  Model m({1, 1, 8, 8});
  BOOST_CHECK_THROW(m.add(nullptr), InvalidArgument);
  BOOST_CHECK_THROW(m.add(std::make_unique<ReLU>(), {1}), InvalidArgument);  // not yet a node
  BOOST_CHECK_THROW(m.add(std::make_unique<ReLU>(), {-1}), InvalidArgument);
  BOOST_CHECK_THROW(m.add(std::make_unique<Add>(), {0}), InvalidArgument);  // needs two
  BOOST_CHECK_THROW(m.add(std::make_unique<ReLU>(), {0, 0}), InvalidArgument);
  const Tensor x({1, 1, 8, 8}, 1);
  const int r = m.add(std::make_unique<ReLU>(), {}, "relu");
  BOOST_CHECK_THROW(m.forward(x), InvalidArgument);  // before compile()
  m.compile();
  BOOST_TEST(m.compiled());
  BOOST_CHECK_THROW(m.add(std::make_unique<ReLU>()), InvalidArgument);
  BOOST_TEST(m.numNodes() == 2);
  BOOST_TEST(m.findNode("relu") == r);
  BOOST_TEST(m.findNode("input") == Model::kInput);
  BOOST_TEST(m.findNode("nope") == -1);
  BOOST_CHECK_THROW(m.forward(Tensor({1, 2, 8, 8}, 1)), ShapeError);
  BOOST_CHECK_THROW(Model({1, 0, 8, 8}), InvalidArgument);
}

BOOST_AUTO_TEST_CASE(initialize_is_deterministic) {
  Graph a, b;
  a.m.initialize(42);
  b.m.initialize(42);
  BOOST_TEST(a.m.numParams() == b.m.numParams());
  BOOST_TEST(maxAbsDiff(a.m.params().data(), b.m.params().data(), a.m.numParams()) == 0.0);
  const std::vector<Scalar> first(a.m.params().data(), a.m.params().data() + a.m.numParams());
  a.m.initialize(42);  // again on the same model, after other draws
  BOOST_TEST(maxAbsDiff(a.m.params().data(), first.data(), first.size()) == 0.0);
  b.m.initialize(43);
  BOOST_TEST(maxAbsDiff(b.m.params().data(), first.data(), first.size()) > 0.0);
  // Weights are drawn, biases start at zero, so not everything is zero.
  BOOST_TEST(a.m.params().cwiseAbs().maxCoeff() > 0.0);
}

BOOST_AUTO_TEST_CASE(shapes_and_fully_convolutional_inputs) {
  Model m({1, 1, 8, 8});
  m.add(conv(1, 4, 3, 2, 1), {}, "down");
  ConvTranspose2dOptions up;
  up.inChannels = 4;
  m.add(std::make_unique<ConvTranspose2d>(up), {}, "up");
  m.initialize(2);
  BOOST_TEST((m.inputShape() == Shape{1, 1, 8, 8}));
  BOOST_TEST((m.outputShape({3, 1, 8, 8}) == Shape{3, 1, 8, 8}));
  BOOST_TEST((m.nodeShape(1, {3, 1, 8, 8}) == Shape{3, 4, 4, 4}));
  // Other sizes at run time: 12 x 6 -> 6 x 3 -> 12 x 6.
  Rng rng(1);
  const Tensor x = randomTensor({2, 1, 12, 6}, rng);
  BOOST_TEST((m.forward(x).shape() == Shape{2, 1, 12, 6}));
  Tensor dx;
  m.backward(Tensor({2, 1, 12, 6}, 1), &dx);
  BOOST_TEST((dx.shape() == x.shape()));
}
