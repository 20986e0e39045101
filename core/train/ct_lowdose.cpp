#include "train/ct_lowdose.hpp"

#include <algorithm>
#include <cmath>
#include <random>
#include <type_traits>

#include "error.hpp"

namespace cae::train {

static_assert(std::is_same_v<nn::Scalar, float>, "core/train wraps tensors as CV_32F");

namespace {

// p' - p for one sinogram of line integrals p at I0 photons per ray, in place.
void addPhotonNoise(cv::Mat& p, double photons, nn::Rng& rng) {
  const double logI0 = std::log(photons);
  for (int a = 0; a < p.rows; ++a) {
    auto* row = p.ptr<float>(a);
    for (int b = 0; b < p.cols; ++b) {
      // At least a tiny mean: std::poisson_distribution needs one > 0 (exp underflows).
      const double expected = std::max(photons * std::exp(-double(row[b])), 1e-300);
      std::poisson_distribution<long long> poisson(expected);
      const double counts = std::max(0.5, double(poisson(rng.engine())));
      row[b] = float(logI0 - std::log(counts) - double(row[b]));
    }
  }
}

}  // namespace

LowDoseCtNoise::LowDoseCtNoise(const Options& o) : o_(o) {
  if (!(o.photonsLo > 0 && o.photonsHi >= o.photonsLo))
    throw InvalidArgument("LowDoseCtNoise: need 0 < photons lo <= photons hi");
  if (o.angles < 0) throw InvalidArgument("LowDoseCtNoise: negative angle count");
  if (!(o.muScale > 0)) throw InvalidArgument("LowDoseCtNoise: need mu scale > 0");
}

int LowDoseCtNoise::anglesFor(int height, int width) const {
  if (o_.angles > 0) return o_.angles;
  return int(std::ceil(3.14159265358979323846 / 2 * std::max(height, width)));
}

void LowDoseCtNoise::apply(const nn::Tensor& clean, nn::Tensor& noisy, nn::Rng& rng) const {
  apply(clean, noisy, rng, nullptr);
}

void LowDoseCtNoise::apply(const nn::Tensor& clean, nn::Tensor& noisy, nn::Rng& rng,
                           std::vector<double>* photons) const {
  const nn::Shape s = clean.shape();
  noisy.resize(s);
  if (photons) photons->resize(std::size_t(s.n));
  if (s.size() == 0) return;
  const ParallelBeam beam({s.w, s.h}, parallelAngles(anglesFor(s.h, s.w)), o_.filter);
  const double logLo = std::log(o_.photonsLo), logHi = std::log(o_.photonsHi);
  for (int n = 0; n < s.n; ++n) {
    // Drawn in double: float's 24 bits would put I0 on a coarse grid near large counts.
    const double i0 =
        o_.photonsLo == o_.photonsHi
            ? o_.photonsLo
            : std::exp(std::uniform_real_distribution<double>(logLo, logHi)(rng.engine()));
    if (photons) (*photons)[std::size_t(n)] = i0;
    for (int c = 0; c < s.c; ++c) {
      const std::size_t offset = std::size_t(c) * s.plane();
      // The sample's plane as float (the engine's f32 Scalar), projected in attenuation units.
      const cv::Mat plane(s.h, s.w, CV_32F, const_cast<nn::Scalar*>(clean.sample(n) + offset));
      cv::Mat sino = beam.project(plane);
      sino *= o_.muScale;
      addPhotonNoise(sino, i0, rng);
      const cv::Mat noise = beam.reconstruct(sino) / o_.muScale;
      nn::Scalar* y = noisy.sample(n) + offset;
      const nn::Scalar* x = clean.sample(n) + offset;
      for (int i = 0; i < s.h; ++i) {
        const auto* d = noise.ptr<float>(i);
        for (int j = 0; j < s.w; ++j) y[i * s.w + j] = x[i * s.w + j] + d[j];
      }
    }
  }
}

}  // namespace cae::train
