#include "nn/regularizers/total_variation.hpp"

#include <cmath>

#include "error.hpp"

namespace cae::nn {
inline namespace CAE_NN_ABI {

TotalVariation::TotalVariation(double lambda, double eps, Reduction r)
    : lambda_(lambda), eps_(eps), reduction_(r) {
  if (!(lambda >= 0)) throw InvalidArgument("TotalVariation: lambda must be >= 0");
  if (!(eps >= 0)) throw InvalidArgument("TotalVariation: eps must be >= 0");
}

double TotalVariation::compute(const Tensor& img, Tensor* grad) const {
  const Shape s = img.shape();
  if (grad) {
    grad->resize(s);
    grad->setZero();
  }
  if (s.size() == 0) return 0;
  const double scale = lambda_ * (reduction_ == Reduction::Mean ? 1.0 / double(s.size()) : 1.0);
  const double eps2 = eps_ * eps_;
  double sum = 0;
  // One neighbour pair: value phi(d) and, into the gradient, phi'(d) at b and -phi'(d) at a.
  auto pair = [&](std::size_t a, std::size_t b) {
    const double d = double(img[b]) - double(img[a]);
    double dphi;
    if (eps_ > 0) {
      const double r = std::sqrt(d * d + eps2);
      sum += r - eps_;
      dphi = d / r;
    } else {
      sum += std::abs(d);
      dphi = d > 0 ? 1.0 : d < 0 ? -1.0 : 0.0;
    }
    if (grad) {
      (*grad)[b] += Scalar(scale * dphi);
      (*grad)[a] -= Scalar(scale * dphi);
    }
  };
  const std::size_t W = std::size_t(s.w);
  for (int n = 0; n < s.n; ++n)
    for (int c = 0; c < s.c; ++c) {
      const std::size_t base = (std::size_t(n) * s.c + c) * s.plane();
      for (int y = 0; y < s.h; ++y)
        for (int x = 0; x < s.w; ++x) {
          const std::size_t i = base + std::size_t(y) * W + std::size_t(x);
          if (y + 1 < s.h) pair(i, i + W);
          if (x + 1 < s.w) pair(i, i + 1);
        }
    }
  return scale * sum;
}

}  // namespace CAE_NN_ABI
}  // namespace cae::nn
