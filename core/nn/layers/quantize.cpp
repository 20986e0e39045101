#include "nn/layers/quantize.hpp"

#include <cmath>

namespace cae::nn {
inline namespace CAE_NN_ABI {

void Quantize::forward(const Inputs& in, Tensor& out) {
  const Tensor& x = *in.at(0);
  out.resize(x.shape());
  if (training_ && mode_ == Mode::Noise) {
    for (std::size_t i = 0; i < x.size(); ++i) out[i] = x[i] + rng_.uniform(-0.5, 0.5);
    return;
  }
  for (std::size_t i = 0; i < x.size(); ++i) out[i] = std::nearbyint(x[i]);
}

void Quantize::backward(const Inputs& in, const Tensor& /*out*/, const Tensor& dOut,
                        const InputGrads& dIn) {
  if (!dIn.at(0)) return;
  dIn[0]->resize(in.at(0)->shape());
  dIn[0]->vec() = dOut.vec();
}

}  // namespace CAE_NN_ABI
}  // namespace cae::nn
