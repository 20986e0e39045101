// Central-difference gradient checks. Test executables that include this link the float64 build
// of the engine (CAE_NN_DOUBLE), so differences are taken in double precision.
// Error measure (tiny-dnn): ||analytic - numeric|| / ||analytic + numeric|| over checked entries.
#pragma once

#include <algorithm>
#include <cmath>
#include <functional>
#include <numeric>
#include <vector>

#include "nn/layer.hpp"
#include "nn/rng.hpp"
#include "nn/tensor.hpp"

namespace cae::test {

using nn::InputGrads;
using nn::Inputs;
using nn::Layer;
using nn::Rng;
using nn::Scalar;
using nn::Shape;
using nn::Tensor;

static_assert(sizeof(Scalar) == 8, "gradient checks must link the float64 engine");

inline double relativeError(const std::vector<double>& a, const std::vector<double>& n) {
  double diff = 0, sum = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    diff += (a[i] - n[i]) * (a[i] - n[i]);
    sum += (a[i] + n[i]) * (a[i] + n[i]);
  }
  if (sum == 0) return diff == 0 ? 0 : 1;
  return std::sqrt(diff) / std::sqrt(sum);
}

// Compares analytic[i] with (f(x_i + eps) - f(x_i - eps)) / 2eps at up to maxChecks random
// positions of x[0..n) (all of them when n <= maxChecks). f must read x afresh on every call.
inline double checkGradient(const std::function<double()>& f, Scalar* x, std::size_t n,
                            const Scalar* analytic, Rng& rng, std::size_t maxChecks = 48,
                            double eps = 1e-6) {
  std::vector<std::size_t> idx(n);
  std::iota(idx.begin(), idx.end(), 0);
  if (n > maxChecks) {
    std::shuffle(idx.begin(), idx.end(), rng.engine());
    idx.resize(maxChecks);
  }
  std::vector<double> a, num;
  for (std::size_t i : idx) {
    const Scalar keep = x[i];
    x[i] = keep + eps;
    const double fp = f();
    x[i] = keep - eps;
    const double fm = f();
    x[i] = keep;
    num.push_back((fp - fm) / (2 * eps));
    a.push_back(analytic[i]);
  }
  return relativeError(a, num);
}

inline Tensor randomTensor(Shape s, Rng& rng, double lo = -1, double hi = 1) {
  Tensor t(s);
  for (std::size_t i = 0; i < t.size(); ++i) t[i] = rng.uniform(lo, hi);
  return t;
}

struct LayerCheck {
  std::vector<double> inputErrors;  // one per input
  double weightError = 0;           // 0 when the layer has no weights
  // Largest |difference| between backward() run straight after gradient() (the model's order,
  // which may reuse workspace) and backward() after a fresh forward(): must be 0.
  double orderMismatch = 0;
  double worst() const {
    double m = weightError;
    for (double e : inputErrors) m = std::max(m, e);
    return m;
  }
};

// Checks a layer's backward() (every input) and gradient() (its weights) against central
// differences of L = sum(forward(inputs) * R) for a fixed random R. Gradient outputs are
// prefilled with garbage first, because the contract says they are overwritten, not accumulated.
inline LayerCheck checkLayer(Layer& layer, std::vector<Tensor> inputs, Rng& rng,
                             std::size_t maxChecks = 48) {
  std::vector<Scalar> w(layer.numParams()), dw(layer.numParams());
  layer.bind(w.data(), dw.data());
  layer.initialize(rng);
  // Nudge weights off zero so biases are exercised too.
  for (auto& v : w) v += rng.uniform(-0.1, 0.1);

  Inputs in;
  for (auto& t : inputs) in.push_back(&t);
  Tensor out;
  layer.forward(in, out);
  const Tensor R = randomTensor(out.shape(), rng);
  auto loss = [&]() {
    Tensor o;
    layer.forward(in, o);
    double s = 0;
    for (std::size_t i = 0; i < o.size(); ++i) s += double(o[i]) * R[i];
    return s;
  };
  auto garbage = [&]() {
    std::vector<Tensor> d;
    for (auto& t : inputs) d.emplace_back(t.shape(), Scalar(7.25));
    return d;
  };
  auto pointers = [](std::vector<Tensor>& d) {
    InputGrads p;
    for (auto& t : d) p.push_back(&t);
    return p;
  };

  LayerCheck res;
  // Analytic gradients in the model's order: forward, gradient, backward on the same dOut.
  layer.forward(in, out);
  std::fill(dw.begin(), dw.end(), Scalar(7.25));
  if (layer.numParams() > 0) layer.gradient(in, out, R);
  const std::vector<Scalar> dwAnalytic = dw;
  std::vector<Tensor> dIn = garbage();
  layer.backward(in, out, R, pointers(dIn));
  // The same input gradients without a gradient() call in between.
  std::vector<Tensor> dIn2 = garbage();
  layer.forward(in, out);
  layer.backward(in, out, R, pointers(dIn2));
  for (std::size_t k = 0; k < inputs.size(); ++k) {
    if (dIn[k].shape() != inputs[k].shape() || dIn2[k].shape() != inputs[k].shape()) {
      res.orderMismatch = HUGE_VAL;
      continue;
    }
    for (std::size_t i = 0; i < dIn[k].size(); ++i)
      res.orderMismatch = std::max(res.orderMismatch, std::abs(double(dIn[k][i] - dIn2[k][i])));
  }
  for (std::size_t k = 0; k < inputs.size(); ++k)
    res.inputErrors.push_back(
        checkGradient(loss, inputs[k].data(), inputs[k].size(), dIn[k].data(), rng, maxChecks));
  if (layer.numParams() > 0)
    res.weightError = checkGradient(loss, w.data(), w.size(), dwAnalytic.data(), rng, maxChecks);
  return res;
}

}  // namespace cae::test
