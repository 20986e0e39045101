#include "nn/layers/activation.hpp"

#include <cmath>

namespace cae::nn {
inline namespace CAE_NN_ABI {
namespace {
constexpr std::size_t kParallelMin = 1 << 16;
}

void Activation::forward(const Inputs& in, Tensor& out) {
  const Tensor& x = *in[0];
  out.resize(x.shape());
  const std::size_t n = x.size();
  const std::size_t chunk = 1 << 14;
  const long chunks = long((n + chunk - 1) / chunk);
#pragma omp parallel for if (n >= kParallelMin) schedule(static)
  for (long c = 0; c < chunks; ++c) {
    const std::size_t b = std::size_t(c) * chunk, e = std::min(n, b + chunk);
    apply(x.data() + b, out.data() + b, e - b);
  }
}

void Activation::backward(const Inputs& in, const Tensor& out, const Tensor& dOut,
                          const InputGrads& dIn) {
  if (!dIn[0]) return;
  const Tensor& x = *in[0];
  dIn[0]->resize(x.shape());
  const std::size_t n = x.size();
  const std::size_t chunk = 1 << 14;
  const long chunks = long((n + chunk - 1) / chunk);
#pragma omp parallel for if (n >= kParallelMin) schedule(static)
  for (long c = 0; c < chunks; ++c) {
    const std::size_t b = std::size_t(c) * chunk, e = std::min(n, b + chunk);
    derive(x.data() + b, out.data() + b, dOut.data() + b, dIn[0]->data() + b, e - b);
  }
}

void ReLU::apply(const Scalar* x, Scalar* y, std::size_t n) const {
  for (std::size_t i = 0; i < n; ++i) y[i] = x[i] > 0 ? x[i] : Scalar(0);
}
void ReLU::derive(const Scalar* x, const Scalar*, const Scalar* dy, Scalar* dx,
                  std::size_t n) const {
  for (std::size_t i = 0; i < n; ++i) dx[i] = x[i] > 0 ? dy[i] : Scalar(0);
}

void LeakyReLU::apply(const Scalar* x, Scalar* y, std::size_t n) const {
  for (std::size_t i = 0; i < n; ++i) y[i] = x[i] > 0 ? x[i] : alpha_ * x[i];
}
void LeakyReLU::derive(const Scalar* x, const Scalar*, const Scalar* dy, Scalar* dx,
                       std::size_t n) const {
  for (std::size_t i = 0; i < n; ++i) dx[i] = x[i] > 0 ? dy[i] : alpha_ * dy[i];
}

void Sigmoid::apply(const Scalar* x, Scalar* y, std::size_t n) const {
  // Written so that neither branch overflows exp().
  for (std::size_t i = 0; i < n; ++i) {
    if (x[i] >= 0) {
      y[i] = Scalar(1) / (Scalar(1) + std::exp(-x[i]));
    } else {
      const Scalar e = std::exp(x[i]);
      y[i] = e / (Scalar(1) + e);
    }
  }
}
void Sigmoid::derive(const Scalar*, const Scalar* y, const Scalar* dy, Scalar* dx,
                     std::size_t n) const {
  for (std::size_t i = 0; i < n; ++i) dx[i] = dy[i] * y[i] * (Scalar(1) - y[i]);
}

void Tanh::apply(const Scalar* x, Scalar* y, std::size_t n) const {
  for (std::size_t i = 0; i < n; ++i) y[i] = std::tanh(x[i]);
}
void Tanh::derive(const Scalar*, const Scalar* y, const Scalar* dy, Scalar* dx,
                  std::size_t n) const {
  for (std::size_t i = 0; i < n; ++i) dx[i] = dy[i] * (Scalar(1) - y[i] * y[i]);
}

}  // namespace CAE_NN_ABI
}  // namespace cae::nn
