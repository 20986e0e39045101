// Real FFTs of one size through FFTW (single precision). FFTW's planner is not thread-safe, so
// plans are made under one process-wide lock; executing a plan on the object's own buffers is.
//
//   cae::audio::RealFft f(512);
//   f.forward(samples, bins);   // 512 samples -> 257 bins, X[k] = sum_j x[j] e^{-2 pi i jk / n}
//   f.inverse(bins, samples);   // the inverse, divided by n: inverse(forward(x)) == x
#pragma once

#include <complex>
#include <memory>

namespace cae::audio {

class RealFft {
 public:
  explicit RealFft(int n);  // any n >= 2; InvalidArgument otherwise
  ~RealFft();
  RealFft(const RealFft&) = delete;
  RealFft& operator=(const RealFft&) = delete;
  RealFft(RealFft&&) noexcept;
  RealFft& operator=(RealFft&&) noexcept;

  int size() const { return n_; }
  int bins() const { return n_ / 2 + 1; }
  void forward(const float* in, std::complex<float>* out);
  // in: bins() values of a real signal's spectrum (the imaginary parts of DC and, for even n,
  // Nyquist are ignored); out: size() samples.
  void inverse(const std::complex<float>* in, float* out);

 private:
  struct Plans;
  int n_ = 0;
  std::unique_ptr<Plans> p_;
};

}  // namespace cae::audio
