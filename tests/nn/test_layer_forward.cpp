#define BOOST_TEST_MODULE layer_forward
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <initializer_list>
#include <vector>

#include "error.hpp"
#include "nn/layers/activation.hpp"
#include "nn/layers/conv2d.hpp"
#include "nn/layers/conv_transpose2d.hpp"
#include "nn/layers/dense.hpp"
#include "nn/layers/merge.hpp"
#include "nn/layers/pool.hpp"
#include "nn/layers/reshape.hpp"

namespace tt = boost::test_tools;
using namespace cae::nn;
using cae::InvalidArgument;
using cae::ShapeError;

namespace {

Tensor make(Shape s, std::initializer_list<double> values) {
  BOOST_REQUIRE_EQUAL(values.size(), s.size());
  Tensor t(s);
  std::size_t i = 0;
  for (double v : values) t[i++] = Scalar(v);
  return t;
}

std::vector<double> values(const Tensor& t) { return {t.data(), t.data() + t.size()}; }

// Runs a single-input layer with the given weights (its numParams() values in ONNX order).
Tensor run(Layer& layer, const Tensor& x, std::vector<Scalar>& w) {
  BOOST_REQUIRE_EQUAL(w.size(), layer.numParams());
  static std::vector<Scalar> dw;
  dw.assign(w.size(), 0);
  layer.bind(w.data(), dw.data());
  Tensor y;
  layer.forward({&x}, y);
  return y;
}

Tensor run(Layer& layer, const Tensor& x) {
  std::vector<Scalar> none;
  return run(layer, x, none);
}

// 1..16 in rows: the 4×4 image every convolution test below starts from.
Tensor ramp4x4() {
  Tensor t({1, 1, 4, 4});
  for (int i = 0; i < 16; ++i) t[std::size_t(i)] = Scalar(i + 1);
  return t;
}

bool sameShape(const Shape& a, const Shape& b) { return a == b; }

}  // namespace

BOOST_AUTO_TEST_SUITE(conv2d)

BOOST_AUTO_TEST_CASE(ones_3x3_padding1_stride2) {
  Conv2dOptions o;
  o.outChannels = 2;
  o.padding = 1;
  o.stride = 2;
  Conv2d conv(o);
  // Channel 0: all ones, bias 0.5. Channel 1: only the centre tap, bias 0 (picks x[2oy][2ox]).
  std::vector<Scalar> w(conv.numParams(), 0);
  for (int i = 0; i < 9; ++i) w[std::size_t(i)] = 1;
  w[9 + 4] = 1;
  w[18] = 0.5;
  const Tensor y = run(conv, ramp4x4(), w);
  BOOST_TEST(sameShape(y.shape(), {1, 2, 2, 2}));
  // Window sums: rows 0-1 × cols 0-1 = 1+2+5+6, rows 0-1 × cols 1-3 = 2+3+4+6+7+8, ...
  const std::vector<double> expected = {14.5, 30.5, 57.5, 99.5, 1, 3, 9, 11};
  BOOST_TEST(values(y) == expected, tt::per_element());
}

BOOST_AUTO_TEST_CASE(dilation2_no_padding) {
  Conv2dOptions o;
  o.kernel = 2;
  o.dilation = 2;
  o.bias = false;
  Conv2d conv(o);
  std::vector<Scalar> w = {1, 1, 1, 1};
  const Tensor y = run(conv, ramp4x4(), w);
  BOOST_TEST(sameShape(y.shape(), {1, 1, 2, 2}));
  // x[r][c] + x[r][c+2] + x[r+2][c] + x[r+2][c+2]
  const std::vector<double> expected = {24, 28, 40, 44};
  BOOST_TEST(values(y) == expected, tt::per_element());
}

BOOST_AUTO_TEST_CASE(rectangular_kernel_1x3) {
  Conv2dOptions o;
  o.kernelH = 1;
  o.kernelW = 3;
  o.bias = false;
  Conv2d conv(o);
  std::vector<Scalar> w = {1, 1, 1};
  const Tensor y = run(conv, ramp4x4(), w);
  BOOST_TEST(sameShape(y.shape(), {1, 1, 4, 2}));
  const std::vector<double> expected = {6, 9, 18, 21, 30, 33, 42, 45};
  BOOST_TEST(values(y) == expected, tt::per_element());
}

BOOST_AUTO_TEST_CASE(channel_order_of_weights) {
  // 1×1 kernel, 2 in, 3 out: W[out][in], so y[o] = W[o][0] x0 + W[o][1] x1 + b[o].
  Conv2dOptions o;
  o.inChannels = 2;
  o.outChannels = 3;
  o.kernel = 1;
  Conv2d conv(o);
  std::vector<Scalar> w = {1, 10, 2, 20, 3, 30, 0.5, 0.25, 0};
  const Tensor x = make({2, 2, 1, 1}, {1, 2, -1, 0});
  const Tensor y = run(conv, x, w);
  const std::vector<double> expected = {21.5, 42.25, 63, -0.5, -1.75, -3};
  BOOST_TEST(values(y) == expected, tt::per_element());
}

BOOST_AUTO_TEST_CASE(output_shapes) {
  // floor((H + 2p - d(k-1) - 1) / s) + 1
  struct Case {
    int k, s, p, d, h, w, oh, ow;
  };
  for (const Case& c :
       {Case{3, 1, 1, 1, 7, 5, 7, 5}, Case{3, 2, 1, 1, 7, 5, 4, 3}, Case{4, 2, 1, 1, 13, 9, 6, 4},
        Case{3, 1, 0, 2, 13, 9, 9, 5}, Case{3, 2, 0, 1, 3, 3, 1, 1}, Case{1, 1, 0, 1, 1, 1, 1, 1},
        Case{3, 1, 1, 1, 1, 1, 1, 1}}) {
    Conv2dOptions o;
    o.inChannels = 2;
    o.outChannels = 5;
    o.kernel = c.k;
    o.stride = c.s;
    o.padding = c.p;
    o.dilation = c.d;
    BOOST_TEST_CONTEXT("k" << c.k << " s" << c.s << " p" << c.p << " d" << c.d << " in " << c.h
                           << "x" << c.w) {
      const Shape s = Conv2d(o).outputShapeFor({3, 2, c.h, c.w});
      BOOST_TEST(sameShape(s, {3, 5, c.oh, c.ow}));
    }
  }
}

BOOST_AUTO_TEST_CASE(errors) {
  Conv2dOptions o;
  o.inChannels = 2;
  Conv2d conv(o);
  BOOST_CHECK_THROW(conv.outputShapeFor({1, 3, 8, 8}), ShapeError);  // wrong channels
  BOOST_CHECK_THROW(conv.outputShapeFor({1, 2, 2, 8}), ShapeError);  // smaller than the kernel
  BOOST_CHECK_THROW(conv.outputShapeFor({1, 2, 8, 1}), ShapeError);
  Conv2dOptions d = o;
  d.dilation = 3;  // effective kernel 7
  BOOST_CHECK_THROW(Conv2d(d).outputShapeFor({1, 2, 6, 6}), ShapeError);
  BOOST_CHECK_NO_THROW(Conv2d(d).outputShapeFor({1, 2, 7, 7}));
  std::vector<Scalar> w(conv.numParams(), 0);
  const Tensor bad({1, 3, 8, 8}, 0);
  BOOST_CHECK_THROW(run(conv, bad, w), ShapeError);
  auto bad_option = [&](auto change) {
    Conv2dOptions b = o;
    change(b);
    BOOST_CHECK_THROW(Conv2d{b}, InvalidArgument);
  };
  bad_option([](Conv2dOptions& b) { b.inChannels = 0; });
  bad_option([](Conv2dOptions& b) { b.outChannels = 0; });
  bad_option([](Conv2dOptions& b) { b.kernel = 0; });
  bad_option([](Conv2dOptions& b) { b.stride = 0; });
  bad_option([](Conv2dOptions& b) { b.padding = -1; });
  bad_option([](Conv2dOptions& b) { b.dilation = 0; });
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(conv_transpose2d)

BOOST_AUTO_TEST_CASE(ones_4x4_stride2_padding1) {
  // Input (i,j) covers full-output rows 2i..2i+3; padding 1 crops one row/column each side.
  // So output row 0 sees input row 0, rows 1-2 see both, row 3 sees input row 1.
  ConvTranspose2d up(ConvTranspose2dOptions{});
  std::vector<Scalar> w(17, 1);
  w[16] = 0;
  const Tensor y = run(up, make({1, 1, 2, 2}, {1, 2, 3, 4}), w);
  BOOST_TEST(sameShape(y.shape(), {1, 1, 4, 4}));
  const std::vector<double> expected = {1, 3,  3,  2,  //
                                        4, 10, 10, 6,  //
                                        4, 10, 10, 6,  //
                                        3, 7,  7,  4};
  BOOST_TEST(values(y) == expected, tt::per_element());
}

BOOST_AUTO_TEST_CASE(kernel_orientation_and_batch) {
  // w[ki][kj] = 4 ki + kj. A unit impulse at input (0,0) lands at full (ki,kj), i.e. output
  // (ki-1, kj-1); one at (1,1) lands at output (ki+1, kj+1). Bias 0.5 everywhere.
  ConvTranspose2d up(ConvTranspose2dOptions{});
  std::vector<Scalar> w(17);
  for (int i = 0; i < 16; ++i) w[std::size_t(i)] = Scalar(i);
  w[16] = 0.5;
  const Tensor y = run(up, make({2, 1, 2, 2}, {1, 0, 0, 0, 0, 0, 0, 1}), w);
  BOOST_TEST(sameShape(y.shape(), {2, 1, 4, 4}));
  const std::vector<double> expected = {5.5,  6.5,  7.5,  0.5,  //
                                        9.5,  10.5, 11.5, 0.5,  //
                                        13.5, 14.5, 15.5, 0.5,  //
                                        0.5,  0.5,  0.5,  0.5,  //
                                        0.5,  0.5,  0.5,  0.5,  //
                                        0.5,  0.5,  1.5,  2.5,  //
                                        0.5,  4.5,  5.5,  6.5,  //
                                        0.5,  8.5,  9.5,  10.5};
  BOOST_TEST(values(y) == expected, tt::per_element());
}

BOOST_AUTO_TEST_CASE(channel_order_of_weights) {
  // 1×1 kernel, stride 1, 2 in, 3 out: ONNX orders W[in][out], so y[o] = sum_c W[c][o] x[c].
  ConvTranspose2dOptions o;
  o.inChannels = 2;
  o.outChannels = 3;
  o.kernel = 1;
  o.stride = 1;
  o.padding = 0;
  ConvTranspose2d up(o);
  std::vector<Scalar> w = {1, 2, 3, 10, 20, 30, 0.5, 0.25, 0};
  const Tensor y = run(up, make({1, 2, 1, 1}, {1, 2}), w);
  const std::vector<double> expected = {21.5, 42.25, 63};
  BOOST_TEST(values(y) == expected, tt::per_element());
}

BOOST_AUTO_TEST_CASE(output_padding) {
  // k3 s2 p1 op1 on 2×2 ones: the full 5-wide output counts [1,1,2,1,1]; dropping the first
  // (padding) and keeping the last (output padding) leaves [1,2,1,1] per axis.
  ConvTranspose2dOptions o;
  o.kernel = 3;
  o.outputPadding = 1;
  o.bias = false;
  ConvTranspose2d up(o);
  std::vector<Scalar> w(9, 1);
  const Tensor y = run(up, Tensor({1, 1, 2, 2}, 1), w);
  BOOST_TEST(sameShape(y.shape(), {1, 1, 4, 4}));
  const std::vector<double> expected = {1, 2, 1, 1, 2, 4, 2, 2, 1, 2, 1, 1, 1, 2, 1, 1};
  BOOST_TEST(values(y) == expected, tt::per_element());
}

BOOST_AUTO_TEST_CASE(output_shapes) {
  // (H - 1) s - 2p + d(k - 1) + op + 1
  struct Case {
    int k, s, p, op, d, h, w, oh, ow;
  };
  for (const Case& c : {Case{4, 2, 1, 0, 1, 7, 5, 14, 10}, Case{3, 2, 1, 1, 1, 7, 5, 14, 10},
                        Case{3, 2, 1, 0, 1, 7, 5, 13, 9}, Case{3, 1, 1, 0, 1, 13, 9, 13, 9},
                        Case{3, 1, 0, 1, 2, 4, 3, 9, 8}, Case{3, 2, 0, 0, 1, 1, 1, 3, 3},
                        Case{1, 1, 0, 0, 1, 1, 1, 1, 1}}) {
    ConvTranspose2dOptions o;
    o.inChannels = 3;
    o.outChannels = 2;
    o.kernel = c.k;
    o.stride = c.s;
    o.padding = c.p;
    o.outputPadding = c.op;
    o.dilation = c.d;
    BOOST_TEST_CONTEXT("k" << c.k << " s" << c.s << " p" << c.p << " op" << c.op << " d" << c.d) {
      const Shape s = ConvTranspose2d(o).outputShapeFor({2, 3, c.h, c.w});
      BOOST_TEST(sameShape(s, {2, 2, c.oh, c.ow}));
    }
  }
}

BOOST_AUTO_TEST_CASE(errors) {
  ConvTranspose2dOptions o;
  o.inChannels = 2;
  BOOST_CHECK_THROW(ConvTranspose2d(o).outputShapeFor({1, 1, 4, 4}), ShapeError);
  ConvTranspose2dOptions e;
  e.kernel = 1;
  e.stride = 1;
  e.padding = 1;  // (1-1)*1 - 2 + 0 + 1 = -1 rows
  BOOST_CHECK_THROW(ConvTranspose2d(e).outputShapeFor({1, 1, 1, 1}), ShapeError);
  auto bad_option = [&](auto change) {
    ConvTranspose2dOptions b;
    change(b);
    BOOST_CHECK_THROW(ConvTranspose2d{b}, InvalidArgument);
  };
  bad_option([](ConvTranspose2dOptions& b) { b.inChannels = 0; });
  bad_option([](ConvTranspose2dOptions& b) { b.outChannels = 0; });
  bad_option([](ConvTranspose2dOptions& b) { b.kernel = 0; });
  bad_option([](ConvTranspose2dOptions& b) { b.stride = 0; });
  bad_option([](ConvTranspose2dOptions& b) { b.padding = -1; });
  bad_option([](ConvTranspose2dOptions& b) { b.dilation = 0; });
  bad_option([](ConvTranspose2dOptions& b) { b.outputPadding = -1; });
  bad_option([](ConvTranspose2dOptions& b) { b.outputPadding = 2; });  // stride 2
  bad_option([](ConvTranspose2dOptions& b) {
    b.stride = 1;
    b.outputPadding = 1;
  });
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_CASE(dense) {
  Dense fc(3, 2);
  std::vector<Scalar> w = {1, 2, 3, 4, 5, 6, 0.5, -1};  // W[out][in], then bias
  const Tensor y = run(fc, make({2, 3, 1, 1}, {1, -1, 2, 0, 1, 0}), w);
  BOOST_TEST(sameShape(y.shape(), {2, 2, 1, 1}));
  const std::vector<double> expected = {5.5, 10, 2.5, 4};
  BOOST_TEST(values(y) == expected, tt::per_element());
  // Any C,H,W with the right count is flattened in NCHW order.
  const Tensor y2 = run(fc, make({1, 1, 1, 3}, {1, -1, 2}), w);
  BOOST_TEST(sameShape(y2.shape(), {1, 2, 1, 1}));
  BOOST_TEST(y2[0] == 5.5);
  Dense nb(3, 1, false);
  BOOST_TEST(nb.numParams() == 3u);
  BOOST_TEST(fc.numParams() == 8u);
  BOOST_CHECK_THROW(fc.outputShapeFor({1, 4, 1, 1}), ShapeError);
  BOOST_CHECK_THROW(Dense(0, 2), InvalidArgument);
  BOOST_CHECK_THROW(Dense(2, 0), InvalidArgument);
}

BOOST_AUTO_TEST_CASE(max_pool2d) {
  MaxPool2d pool;
  const Tensor y = run(pool, ramp4x4());
  const std::vector<double> expected = {6, 8, 14, 16};
  BOOST_TEST(values(y) == expected, tt::per_element());

  // Overlapping 3×3 windows with stride 2 on 5×5: each window's maximum is in a different spot.
  MaxPool2d over(3, 2);
  Tensor x = make({1, 1, 5, 5}, {1, 9,  2,  0,  3,  //
                                 4, 5,  6,  7,  1,  //
                                 8, 0,  -1, 2,  2,  //
                                 3, 3,  3,  11, 0,  //
                                 0, -5, 4,  1,  6});
  Tensor yo = run(over, x);
  BOOST_TEST(sameShape(yo.shape(), {1, 1, 2, 2}));
  const std::vector<double> expectedOver = {9, 7, 8, 11};
  BOOST_TEST(values(yo) == expectedOver, tt::per_element());
  // The centre wins all four windows: its gradient is the sum of all four output gradients.
  x.at(0, 0, 2, 2) = 20;
  yo = run(over, x);
  const std::vector<double> allCentre = {20, 20, 20, 20};
  BOOST_TEST(values(yo) == allCentre, tt::per_element());
  Tensor dx;
  over.backward({&x}, yo, make({1, 1, 2, 2}, {1, 2, 3, 4}), {&dx});
  BOOST_TEST(dx.at(0, 0, 2, 2) == 10);
  BOOST_TEST(dx.vec().sum() == 10);

  // floor((H - k) / s) + 1 drops the odd row/column; all-negative inputs still pool correctly.
  BOOST_TEST(sameShape(pool.outputShapeFor({2, 3, 7, 5}), {2, 3, 3, 2}));
  BOOST_TEST(sameShape(MaxPool2d(3, 2).outputShapeFor({1, 1, 13, 9}), {1, 1, 6, 4}));
  BOOST_TEST(sameShape(MaxPool2d(1).outputShapeFor({1, 1, 1, 1}), {1, 1, 1, 1}));
  const Tensor yn = run(pool, make({1, 1, 2, 2}, {-4, -3, -2, -5}));
  BOOST_TEST(yn[0] == -2);

  BOOST_CHECK_THROW(pool.outputShapeFor({1, 1, 1, 4}), ShapeError);
  BOOST_CHECK_THROW(MaxPool2d(0), InvalidArgument);
  BOOST_CHECK_THROW(MaxPool2d(2, -1), InvalidArgument);
}

BOOST_AUTO_TEST_CASE(upsample) {
  Upsample up;
  const Tensor y = run(up, make({1, 1, 2, 2}, {1, 2, 3, 4}));
  BOOST_TEST(sameShape(y.shape(), {1, 1, 4, 4}));
  const std::vector<double> expected = {1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4};
  BOOST_TEST(values(y) == expected, tt::per_element());
  const Tensor x2 = make({1, 1, 2, 2}, {1, 2, 3, 4});
  Tensor dx;
  up.backward({&x2}, y, Tensor(y.shape(), 1), {&dx});
  const std::vector<double> fours = {4, 4, 4, 4};
  BOOST_TEST(values(dx) == fours, tt::per_element());
  const Tensor x = make({1, 1, 1, 2}, {5, 7});
  Upsample up3(3);
  const Tensor y3 = run(up3, x);
  BOOST_TEST(sameShape(y3.shape(), {1, 1, 3, 6}));
  const std::vector<double> expected3 = {5, 5, 5, 7, 7, 7, 5, 5, 5, 7, 7, 7, 5, 5, 5, 7, 7, 7};
  BOOST_TEST(values(y3) == expected3, tt::per_element());
  up3.backward({&x}, y3, Tensor(y3.shape(), 0.5), {&dx});
  const std::vector<double> grad = {4.5, 4.5};
  BOOST_TEST(values(dx) == grad, tt::per_element());
  BOOST_CHECK_THROW(Upsample(0), InvalidArgument);
}

BOOST_AUTO_TEST_CASE(activations) {
  const Tensor x = make({1, 1, 1, 7}, {0, 2, -2, 1000, -1000, 0.5, -0.5});
  Sigmoid sig;
  const Tensor s = run(sig, x);
  BOOST_TEST(s[0] == 0.5);
  BOOST_TEST(s[1] == 0.8807970779778823, tt::tolerance(1e-15));
  BOOST_TEST(s[2] == 0.11920292202211755, tt::tolerance(1e-15));
  BOOST_TEST(s[3] == 1.0);
  BOOST_TEST(s[4] == 0.0);
  Tensor ds;
  sig.backward({&x}, s, Tensor(x.shape(), 1), {&ds});
  for (std::size_t i = 0; i < x.size(); ++i) {
    BOOST_TEST(std::isfinite(s[i]));
    BOOST_TEST(std::isfinite(ds[i]));
  }
  BOOST_TEST(ds[0] == 0.25);
  BOOST_TEST(ds[3] == 0.0);
  BOOST_TEST(ds[4] == 0.0);

  Tanh th;
  const Tensor t = run(th, x);
  BOOST_TEST(t[0] == 0.0);
  BOOST_TEST(t[5] == 0.46211715726000974, tt::tolerance(1e-15));
  BOOST_TEST(t[3] == 1.0);
  BOOST_TEST(t[4] == -1.0);

  ReLU relu;
  const std::vector<double> r = {0, 2, 0, 1000, 0, 0.5, 0};
  BOOST_TEST(values(run(relu, x)) == r, tt::per_element());
  LeakyReLU leaky(Scalar(0.1));
  const std::vector<double> l = {0, 2, -0.2, 1000, -100, 0.5, -0.05};
  BOOST_TEST(values(run(leaky, x)) == l, tt::tolerance(1e-15) << tt::per_element());
  BOOST_TEST(LeakyReLU().alpha() == Scalar(0.01));
}

BOOST_AUTO_TEST_CASE(add) {
  Add add;
  const Tensor a = make({2, 1, 1, 2}, {1, 2, 3, 4});
  const Tensor b = make({2, 1, 1, 2}, {10, 20, 30, 40});
  Tensor y;
  add.forward({&a, &b}, y);
  const std::vector<double> expected = {11, 22, 33, 44};
  BOOST_TEST(values(y) == expected, tt::per_element());
  const Tensor dy = make({2, 1, 1, 2}, {1, -1, 2, -2});
  Tensor da, db;
  add.backward({&a, &b}, y, dy, {&da, &db});
  BOOST_TEST(values(da) == values(dy), tt::per_element());
  BOOST_TEST(values(db) == values(dy), tt::per_element());
  BOOST_CHECK_THROW(add.outputShape({{2, 1, 1, 2}, {2, 1, 2, 1}}), ShapeError);
  BOOST_CHECK_THROW(add.outputShape({{2, 1, 1, 2}, {1, 1, 1, 2}}), ShapeError);
  BOOST_TEST(add.numInputs() == 2);
}

BOOST_AUTO_TEST_CASE(concat) {
  // Per sample, all of a's channels, then all of b's.
  Concat cat;
  const Tensor a = make({2, 2, 1, 2}, {1, 2, 3, 4, 5, 6, 7, 8});
  const Tensor b = make({2, 1, 1, 2}, {-1, -2, -3, -4});
  Tensor y;
  cat.forward({&a, &b}, y);
  BOOST_TEST(sameShape(y.shape(), {2, 3, 1, 2}));
  const std::vector<double> expected = {1, 2, 3, 4, -1, -2, 5, 6, 7, 8, -3, -4};
  BOOST_TEST(values(y) == expected, tt::per_element());
  Tensor db;
  cat.backward({&a, &b}, y, y, {nullptr, &db});  // only b's gradient wanted
  BOOST_TEST(values(db) == values(b), tt::per_element());
  Tensor da;
  cat.backward({&a, &b}, y, y, {&da, nullptr});
  BOOST_TEST(values(da) == values(a), tt::per_element());
  BOOST_CHECK_THROW(cat.outputShape({{2, 2, 4, 4}, {2, 1, 4, 3}}), ShapeError);
  BOOST_CHECK_THROW(cat.outputShape({{2, 2, 4, 4}, {1, 1, 4, 4}}), ShapeError);
}

BOOST_AUTO_TEST_CASE(reshape_and_flatten) {
  const Tensor x = make({2, 2, 1, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12});
  Flatten flat;
  const Tensor f = run(flat, x);
  BOOST_TEST(sameShape(f.shape(), {2, 6, 1, 1}));
  BOOST_TEST(values(f) == values(x), tt::per_element());
  Reshape r(3, 2, 1);
  const Tensor y = run(r, x);
  BOOST_TEST(sameShape(y.shape(), {2, 3, 2, 1}));
  BOOST_TEST(values(y) == values(x), tt::per_element());
  BOOST_TEST(y.at(1, 2, 1, 0) == 12);
  Tensor dx;
  r.backward({&x}, y, y, {&dx});
  BOOST_TEST(sameShape(dx.shape(), x.shape()));
  BOOST_TEST(values(dx) == values(x), tt::per_element());
  BOOST_TEST(sameShape(r.target(), {1, 3, 2, 1}));
  BOOST_CHECK_THROW(r.outputShapeFor({2, 7, 1, 1}), ShapeError);
  BOOST_CHECK_THROW(Reshape(0, 1, 1), InvalidArgument);
  BOOST_CHECK_THROW(Reshape(1, -1, 1), InvalidArgument);
}
