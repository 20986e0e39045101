#include "audio/fft.hpp"

#include <fftw3.h>

#include <algorithm>
#include <mutex>
#include <string>

#include "error.hpp"

namespace cae::audio {

namespace {
std::mutex& plannerLock() {
  static std::mutex m;
  return m;
}
}  // namespace

struct RealFft::Plans {
  float* real = nullptr;
  fftwf_complex* spec = nullptr;
  fftwf_plan fwd = nullptr, inv = nullptr;
  ~Plans() {
    const std::lock_guard<std::mutex> lock(plannerLock());
    if (fwd) fftwf_destroy_plan(fwd);
    if (inv) fftwf_destroy_plan(inv);
    fftwf_free(real);
    fftwf_free(spec);
  }
};

RealFft::RealFft(int n) : n_(n) {
  if (n < 2) throw InvalidArgument("FFT size must be >= 2, got " + std::to_string(n));
  p_ = std::make_unique<Plans>();
  const std::lock_guard<std::mutex> lock(plannerLock());
  p_->real = fftwf_alloc_real(std::size_t(n));
  p_->spec = fftwf_alloc_complex(std::size_t(n) / 2 + 1);
  if (!p_->real || !p_->spec)
    throw Error("FFTW could not allocate a transform of size " + std::to_string(n));
  // FFTW_ESTIMATE: no timing runs at start-up (an element starts at once); the plans are
  // still FFTW's codelets.
  p_->fwd = fftwf_plan_dft_r2c_1d(n, p_->real, p_->spec, FFTW_ESTIMATE);
  p_->inv = fftwf_plan_dft_c2r_1d(n, p_->spec, p_->real, FFTW_ESTIMATE);
  if (!p_->fwd || !p_->inv)
    throw Error("FFTW could not plan a transform of size " + std::to_string(n));
}

RealFft::~RealFft() = default;
RealFft::RealFft(RealFft&&) noexcept = default;
RealFft& RealFft::operator=(RealFft&&) noexcept = default;

void RealFft::forward(const float* in, std::complex<float>* out) {
  std::copy(in, in + n_, p_->real);
  fftwf_execute(p_->fwd);
  const auto* s = reinterpret_cast<const std::complex<float>*>(p_->spec);
  std::copy(s, s + bins(), out);
}

void RealFft::inverse(const std::complex<float>* in, float* out) {
  auto* s = reinterpret_cast<std::complex<float>*>(p_->spec);
  std::copy(in, in + bins(), s);  // c2r overwrites its input: work on the copy
  fftwf_execute(p_->inv);
  const float scale = 1.0f / float(n_);
  for (int i = 0; i < n_; ++i) out[i] = p_->real[i] * scale;
}

}  // namespace cae::audio
