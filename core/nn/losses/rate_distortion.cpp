#include "nn/losses/rate_distortion.hpp"

#include <string>

#include "error.hpp"

namespace cae::nn {
inline namespace CAE_NN_ABI {

RateDistortion::RateDistortion(double lambda) : lambda_(lambda) {
  if (!(lambda > 0)) throw InvalidArgument("the rate-distortion lambda must be positive");
}

RateDistortion::Terms RateDistortion::compute(const Tensor& out, const Tensor& target,
                                              const Tensor& bits, Tensor* dOut,
                                              Tensor* dBits) const {
  if (out.shape() != target.shape() || out.empty())
    throw ShapeError("rate-distortion: output " + out.shape().str() + " against target " +
                     target.shape().str());
  if (bits.shape().n != out.shape().n)
    throw ShapeError("rate-distortion: bits " + bits.shape().str() + " for pictures " +
                     out.shape().str());
  const double scale = lambda_ * 255.0 * 255.0;
  const double pixels = double(out.shape().n) * double(out.shape().plane());
  Terms t;
  double sq = 0;
  for (std::size_t i = 0; i < out.size(); ++i) {
    const double d = double(out[i]) - double(target[i]);
    sq += d * d;
  }
  t.mse = sq / double(out.size());
  double b = 0;
  for (std::size_t i = 0; i < bits.size(); ++i) b += double(bits[i]);
  t.bpp = b / pixels;
  t.total = scale * t.mse + t.bpp;
  if (dOut) {
    dOut->resize(out.shape());
    const double k = 2.0 * scale / double(out.size());
    for (std::size_t i = 0; i < out.size(); ++i)
      (*dOut)[i] = Scalar(k * (double(out[i]) - double(target[i])));
  }
  if (dBits) *dBits = Tensor(bits.shape(), Scalar(1.0 / pixels));
  return t;
}

}  // namespace CAE_NN_ABI
}  // namespace cae::nn
