// Quantisation of a compression autoencoder's latents, and its training proxy (Ballé, Laparra,
// Simoncelli, "End-to-end optimized image compression", ICLR 2017, sec. 2.1):
//   training, Mode::Noise           y + u, u ~ U(-1/2, 1/2) per element (the default)
//   training, Mode::StraightThrough round(y), the gradient passed straight through
//   not training (evaluation, export) round(y)
// backward() is the identity in every mode. The noise comes from a generator the layer owns, in
// NCHW order, so setSeed() before forward() repeats a draw (gradient checks, resumed runs).
#pragma once

#include <cstdint>

#include "nn/layer.hpp"

namespace cae::nn {
inline namespace CAE_NN_ABI {

class Quantize : public Layer {
 public:
  enum class Mode { Noise, StraightThrough };
  explicit Quantize(Mode mode = Mode::Noise, std::uint64_t seed = 1) : mode_(mode), rng_(seed) {}

  std::string type() const override { return "Quantize"; }
  Shape outputShape(const std::vector<Shape>& in) const override { return in.at(0); }
  void forward(const Inputs& in, Tensor& out) override;
  void backward(const Inputs& in, const Tensor& out, const Tensor& dOut,
                const InputGrads& dIn) override;

  void setTraining(bool training) { training_ = training; }
  bool training() const { return training_; }
  Mode mode() const { return mode_; }
  void setMode(Mode m) { mode_ = m; }
  void setSeed(std::uint64_t seed) { rng_ = Rng(seed); }
  Rng& rng() { return rng_; }

 private:
  Mode mode_;
  Rng rng_;
  bool training_ = true;
};

}  // namespace CAE_NN_ABI
}  // namespace cae::nn
