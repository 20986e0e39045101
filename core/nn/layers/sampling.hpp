// Reparameterised sampling of a variational autoencoder's code (Kingma & Welling, "Auto-Encoding
// Variational Bayes", ICLR 2014, sec. 2.4):
//   z = mu + exp(0.5 * logvar) * eps,   eps ~ N(0, I),
// from two inputs of equal shape, mu and logvar (dense {N, F, 1, 1} or conv {N, C, H, W}).
// backward: dmu = dz, dlogvar = dz * 0.5 * exp(0.5 * logvar) * eps with the eps of the last
// forward(). eps is drawn from a generator the layer owns, one normal per element in NCHW order,
// so setSeed() before forward() repeats the draw exactly (gradient checks, resumed training).
// With setTraining(false) the layer is deterministic, z = mu (eps = 0): that is also what the
// ONNX exporter writes, so an exported VAE reconstructs from the mean.
#pragma once

#include <cstdint>

#include "nn/layer.hpp"

namespace cae::nn {
inline namespace CAE_NN_ABI {

class Sampling : public Layer {
 public:
  explicit Sampling(std::uint64_t seed = 1) : rng_(seed) {}

  std::string type() const override { return "Sampling"; }
  int numInputs() const override { return 2; }  // mu, logvar
  Shape outputShape(const std::vector<Shape>& in) const override;
  void forward(const Inputs& in, Tensor& out) override;
  void backward(const Inputs& in, const Tensor& out, const Tensor& dOut,
                const InputGrads& dIn) override;

  // true (default): draw eps; false: z = mu.
  void setTraining(bool training) { training_ = training; }
  bool training() const { return training_; }

  // Restarts the generator, so the next forward() draws the same eps as after any earlier
  // setSeed() with this seed.
  void setSeed(std::uint64_t seed) { rng_ = Rng(seed); }
  // The generator itself, for checkpoints (Rng::state() / setState()).
  Rng& rng() { return rng_; }
  const Rng& rng() const { return rng_; }
  // eps of the last forward() (zeros when not training).
  const Tensor& eps() const { return eps_; }

 private:
  Rng rng_;
  bool training_ = true;
  Tensor eps_;
};

}  // namespace CAE_NN_ABI
}  // namespace cae::nn
