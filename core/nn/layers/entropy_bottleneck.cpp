#include "nn/layers/entropy_bottleneck.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "error.hpp"
#include "nn/parallel.hpp"

namespace cae::nn {
inline namespace CAE_NN_ABI {

namespace {

using W = std::array<int, EntropyBottleneck::kLayers + 1>;
constexpr W kW = EntropyBottleneck::kWidths;
constexpr int kK = EntropyBottleneck::kLayers;
constexpr int kMaxWidth = 3;

double sigmoid(double z) { return 1.0 / (1.0 + std::exp(-z)); }
double softplus(double z) { return z > 30 ? z : std::log1p(std::exp(z)); }

// Offsets of layer k's H (rows kW[k+1] x cols kW[k]), b and a within a channel's slice.
struct Offsets {
  std::array<std::size_t, kK> h{}, b{}, a{};
  std::size_t total = 0;
  constexpr Offsets() {
    for (int k = 0; k < kK; ++k) {
      h[k] = total;
      total += std::size_t(kW[k + 1] * kW[k]);
      b[k] = total;
      total += std::size_t(kW[k + 1]);
      a[k] = total;
      if (k < kK - 1) total += std::size_t(kW[k + 1]);
    }
  }
};
constexpr Offsets kOff;

// What every value's F shares within a channel: softplus(H) and sigmoid(H) (its derivative) at
// H's places, tanh(a) at a's places. Computed once per channel and pass, not per value: the
// transcendental functions of the parameters were 3/4 of a codec's training step.
struct Derived {
  std::array<double, kOff.total> sp{}, sg{}, ta{};
  explicit Derived(const Scalar* p) {
    for (int k = 0; k < kK; ++k) {
      for (std::size_t i = kOff.h[k]; i < kOff.b[k]; ++i) {
        sp[i] = softplus(p[i]);
        sg[i] = sigmoid(p[i]);
      }
      if (k < kK - 1)
        for (int i = 0; i < kW[k + 1]; ++i)
          ta[kOff.a[k] + std::size_t(i)] = std::tanh(p[kOff.a[k] + std::size_t(i)]);
    }
  }
};

std::vector<Derived> derivedOf(const Scalar* w, int channels) {
  std::vector<Derived> d;
  d.reserve(std::size_t(channels));
  for (int c = 0; c < channels; ++c) d.emplace_back(w + std::size_t(c) * kOff.total);
  return d;
}

// The values inside F for one input: h[k] (layer k's input) and tanh(z[k]) (of its
// pre-activation).
struct Trace {
  std::array<std::array<double, kMaxWidth>, kK + 1> h{};
  std::array<std::array<double, kMaxWidth>, kK> tz{};
};

double forwardF(const Scalar* p, const Derived& d, double x, Trace& t) {
  t.h[0][0] = x;
  for (int k = 0; k < kK; ++k) {
    for (int i = 0; i < kW[k + 1]; ++i) {
      double z = p[kOff.b[k] + std::size_t(i)];
      for (int j = 0; j < kW[k]; ++j) z += d.sp[kOff.h[k] + std::size_t(i * kW[k] + j)] * t.h[k][j];
      if (k < kK - 1) {
        t.tz[k][i] = std::tanh(z);
        t.h[k + 1][i] = z + d.ta[kOff.a[k] + std::size_t(i)] * t.tz[k][i];
      } else {
        t.h[k + 1][i] = z;
      }
    }
  }
  return t.h[kK][0];
}

// Back through F from dLogit: returns dLogit/dx * dLogit; adds dLogit * dF/dp into g (if any).
double backwardF(const Derived& d, const Trace& t, double dLogit, Scalar* g) {
  std::array<double, kMaxWidth> dh{dLogit, 0, 0};  // d/d h[k+1]
  for (int k = kK - 1; k >= 0; --k) {
    std::array<double, kMaxWidth> dz{};
    for (int i = 0; i < kW[k + 1]; ++i) {
      if (k < kK - 1) {
        const double ta = d.ta[kOff.a[k] + std::size_t(i)];
        const double tz = t.tz[k][i];
        dz[i] = dh[i] * (1 + ta * (1 - tz * tz));
        if (g) g[kOff.a[k] + std::size_t(i)] += Scalar(dh[i] * tz * (1 - ta * ta));
      } else {
        dz[i] = dh[i];
      }
      if (g) g[kOff.b[k] + std::size_t(i)] += Scalar(dz[i]);
    }
    std::array<double, kMaxWidth> dIn{};
    for (int i = 0; i < kW[k + 1]; ++i)
      for (int j = 0; j < kW[k]; ++j) {
        const std::size_t at = kOff.h[k] + std::size_t(i * kW[k] + j);
        if (g) g[at] += Scalar(dz[i] * t.h[k][j] * d.sg[at]);
        dIn[j] += dz[i] * d.sp[at];
      }
    dh = dIn;
  }
  return dh[0];
}

// The likelihood of v from the logits at v -/+ 1/2, and dBits/dl, dBits/du. The sign trick
// (CompressAI) keeps the difference of two sigmoids accurate in the tails.
struct Interval {
  double bits, dl, du;
};

Interval interval(double l, double u) {
  const double s = l + u > 0 ? -1.0 : 1.0;
  const double su = sigmoid(s * u), sl = sigmoid(s * l);
  const double lik = std::abs(su - sl);
  const double bounded = std::max(lik, EntropyBottleneck::kLikelihoodBound);
  const double dBitsDlik = -1.0 / (bounded * std::log(2.0));
  return {-std::log2(bounded), -dBitsDlik * sl * (1 - sl), dBitsDlik * su * (1 - su)};
}

}  // namespace

EntropyBottleneck::EntropyBottleneck(int channels, double initScale)
    : channels_(channels), initScale_(initScale) {
  if (channels <= 0) throw InvalidArgument("EntropyBottleneck needs at least one channel");
  if (!(initScale > 0)) throw InvalidArgument("EntropyBottleneck: initScale must be positive");
}

std::size_t EntropyBottleneck::paramsPerChannel() { return kOff.total; }

std::size_t EntropyBottleneck::numParams() const {
  return std::size_t(channels_) * paramsPerChannel();
}

Shape EntropyBottleneck::outputShape(const std::vector<Shape>& in) const {
  if (in.at(0).c != channels_)
    throw ShapeError("EntropyBottleneck of " + std::to_string(channels_) + " channels got " +
                     in.at(0).str());
  return in.at(0);
}

void EntropyBottleneck::initialize(Rng& rng) {
  const double scale = std::pow(initScale_, 1.0 / kK);
  for (int c = 0; c < channels_; ++c) {
    Scalar* p = w() + std::size_t(c) * paramsPerChannel();
    for (int k = 0; k < kK; ++k) {
      const double init = std::log(std::expm1(1.0 / scale / kW[k + 1]));
      std::fill(p + kOff.h[k], p + kOff.b[k], Scalar(init));
      for (int i = 0; i < kW[k + 1]; ++i) p[kOff.b[k] + std::size_t(i)] = rng.uniform(-0.5, 0.5);
      if (k < kK - 1) std::fill(p + kOff.a[k], p + kOff.a[k] + kW[k + 1], Scalar(0));
    }
  }
}

double EntropyBottleneck::logit(int channel, double x) const {
  const Scalar* p = w() + std::size_t(channel) * paramsPerChannel();
  Trace t;
  return forwardF(p, Derived(p), x, t);
}

double EntropyBottleneck::cumulative(int channel, double x) const {
  return sigmoid(logit(channel, x));
}

namespace {

// The bits of v and dBits/dv.
double bitsOf(const Scalar* p, const Derived& d, double v, double& dBitsDv) {
  Trace tl, tu;
  const Interval r = interval(forwardF(p, d, v - 0.5, tl), forwardF(p, d, v + 0.5, tu));
  dBitsDv = backwardF(d, tl, r.dl, nullptr) + backwardF(d, tu, r.du, nullptr);
  return r.bits;
}

// Adds dOut * dBits/dParams of one value v into g (its channel's slice).
void accumulate(const Scalar* p, const Derived& d, double v, double dOut, Scalar* g) {
  Trace tl, tu;
  const Interval r = interval(forwardF(p, d, v - 0.5, tl), forwardF(p, d, v + 0.5, tu));
  backwardF(d, tl, dOut * r.dl, g);
  backwardF(d, tu, dOut * r.du, g);
}

}  // namespace

void EntropyBottleneck::forward(const Inputs& in, Tensor& out) {
  const Tensor& x = *in.at(0);
  const Shape s = outputShape({x.shape()});
  out.resize(s);
  dBits_.resize(s);
  const std::size_t plane = s.plane();
  const int planes = s.n * s.c;
  const std::vector<Derived> derived = derivedOf(w(), channels_);
#pragma omp parallel for if (planes > 1 && threads() > 1 && !inParallel()) schedule(static)
  for (int nc = 0; nc < planes; ++nc) {
    const int c = nc % s.c;
    const Scalar* p = w() + std::size_t(c) * paramsPerChannel();
    const std::size_t base = std::size_t(nc) * plane;
    for (std::size_t i = base; i < base + plane; ++i) {
      double d = 0;
      out[i] = Scalar(bitsOf(p, derived[std::size_t(c)], double(x[i]), d));
      dBits_[i] = Scalar(d);
    }
  }
}

void EntropyBottleneck::backward(const Inputs& in, const Tensor& /*out*/, const Tensor& dOut,
                                 const InputGrads& dIn) {
  if (!dIn.at(0)) return;
  Tensor& dx = *dIn[0];
  dx.resize(in.at(0)->shape());
  for (std::size_t i = 0; i < dx.size(); ++i) dx[i] = dOut[i] * dBits_[i];
}

void EntropyBottleneck::gradient(const Inputs& in, const Tensor& /*out*/, const Tensor& dOut) {
  const Tensor& x = *in.at(0);
  const Shape s = x.shape();
  const std::size_t plane = s.plane();
  std::fill(dw(), dw() + numParams(), Scalar(0));
  // One channel per task: each writes only its own slice of dw.
#pragma omp parallel for if (s.c > 1 && threads() > 1 && !inParallel()) schedule(static)
  for (int c = 0; c < s.c; ++c) {
    Scalar* g = dw() + std::size_t(c) * paramsPerChannel();
    const Scalar* p = w() + std::size_t(c) * paramsPerChannel();
    const Derived d(p);
    for (int n = 0; n < s.n; ++n) {
      const std::size_t base = (std::size_t(n) * std::size_t(s.c) + std::size_t(c)) * plane;
      for (std::size_t i = base; i < base + plane; ++i)
        if (dOut[i] != 0) accumulate(p, d, double(x[i]), double(dOut[i]), g);
    }
  }
}

}  // namespace CAE_NN_ABI
}  // namespace cae::nn
