#include "nn/regularizers/kl_sparsity.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "error.hpp"

namespace cae::nn {
inline namespace CAE_NN_ABI {

KlSparsity::KlSparsity(double rho, double beta, double eps) : rho_(rho), beta_(beta), eps_(eps) {
  if (!(rho > 0 && rho < 1)) throw InvalidArgument("KlSparsity: rho must be in (0, 1)");
  if (!(beta >= 0)) throw InvalidArgument("KlSparsity: beta must be >= 0");
  if (!(eps > 0 && eps < 0.5)) throw InvalidArgument("KlSparsity: eps must be in (0, 0.5)");
}

double KlSparsity::compute(const Tensor& activation, Tensor* grad) const {
  const Shape s = activation.shape();
  if (s.size() == 0) throw ShapeError("KlSparsity: empty activation " + s.str());
  const std::size_t plane = s.plane();
  const double count = double(s.n) * double(plane);  // entries averaged into each rho_hat_j

  std::vector<double> rhoHat(std::size_t(s.c), 0.0);
  for (int n = 0; n < s.n; ++n)
    for (int c = 0; c < s.c; ++c) {
      const Scalar* a = activation.data() + (std::size_t(n) * s.c + c) * plane;
      double sum = 0;
      for (std::size_t i = 0; i < plane; ++i) sum += a[i];
      rhoHat[std::size_t(c)] += sum;
    }

  double penalty = 0;
  std::vector<double> dRho(std::size_t(s.c));
  for (int c = 0; c < s.c; ++c) {
    const double q = std::clamp(rhoHat[std::size_t(c)] / count, eps_, 1 - eps_);
    penalty += rho_ * std::log(rho_ / q) + (1 - rho_) * std::log((1 - rho_) / (1 - q));
    // d KL / d q, spread evenly over the entries q averages.
    dRho[std::size_t(c)] = beta_ * (-rho_ / q + (1 - rho_) / (1 - q)) / count;
  }

  if (grad) {
    grad->resize(s);
    for (int n = 0; n < s.n; ++n)
      for (int c = 0; c < s.c; ++c)
        std::fill_n(&grad->at(n, c, 0, 0), plane, Scalar(dRho[std::size_t(c)]));
  }
  return beta_ * penalty;
}

}  // namespace CAE_NN_ABI
}  // namespace cae::nn
