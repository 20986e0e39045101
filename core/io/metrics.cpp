#include "io/metrics.hpp"

#include <cmath>
#include <limits>

#include "error.hpp"

namespace cae::io {

double psnr(const nn::Tensor& a, const nn::Tensor& b, double peak) {
  if (a.shape() != b.shape())
    throw ShapeError("psnr: shapes differ, " + a.shape().str() + " vs " + b.shape().str());
  if (a.empty()) throw InvalidArgument("psnr: empty tensors");
  double sum = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const double d = double(a[i]) - double(b[i]);
    sum += d * d;
  }
  const double mse = sum / double(a.size());
  if (mse == 0) return std::numeric_limits<double>::infinity();
  return 10 * std::log10(peak * peak / mse);
}

}  // namespace cae::io
