#include "train/grid_mask.hpp"

#include <algorithm>
#include <string>
#include <vector>

#include "error.hpp"

namespace cae::train {

using nn::Scalar;
using nn::Tensor;

GridMaskNoise::GridMaskNoise(anomaly::Inpainting p) : p_(std::move(p)) {
  if (p_.scales.empty() || p_.groups < 2)
    throw InvalidArgument("grid-mask noise needs at least one scale and two sets of cells");
}

void GridMaskNoise::apply(const Tensor& clean, Tensor& noisy, nn::Rng& rng) const {
  noisy = clean;
  const nn::Shape s = clean.shape();
  std::vector<Scalar> mask(s.plane());
  for (int n = 0; n < s.n; ++n) {
    const int scale = p_.scales[rng.below(p_.scales.size())];
    const std::uint64_t seed = rng.engine()();
    const int group = int(rng.below(std::uint64_t(p_.groups)));
    anomaly::fillGroupMask(mask.data(), s.h, s.w, s.w, scale, group, p_.groups, seed);
    for (int c = 0; c < s.c; ++c) {
      Scalar* x = &noisy.at(n, c, 0, 0);
      for (std::size_t k = 0; k < mask.size(); ++k)
        if (mask[k] != 0) x[k] = 0;
    }
  }
}

Tensor inpaintedReconstruction(const Tensor& x, const anomaly::Inpainting& p,
                               const std::function<Tensor(const Tensor&)>& forward) {
  const nn::Shape s = x.shape();
  Tensor out(s, Scalar(0)), masked(s);
  std::vector<Scalar> mask(s.plane());
  const Scalar share = Scalar(1.0 / double(p.scales.size()));
  for (int scale : p.scales)
    for (int g = 0; g < p.groups; ++g) {
      anomaly::fillGroupMask(mask.data(), s.h, s.w, s.w, scale, g, p.groups,
                             anomaly::inferenceSeed(scale));
      for (int n = 0; n < s.n; ++n)
        for (int c = 0; c < s.c; ++c) {
          const Scalar* in = x.sample(n) + std::size_t(c) * s.plane();
          Scalar* m = &masked.at(n, c, 0, 0);
          for (std::size_t k = 0; k < mask.size(); ++k) m[k] = in[k] * (1 - mask[k]);
        }
      const Tensor y = forward(masked);
      if (y.shape() != s)
        throw InvalidArgument("inpainting: the model's output " + y.shape().str() +
                              " is not the shape of its input " + s.str());
      for (int n = 0; n < s.n; ++n)
        for (int c = 0; c < s.c; ++c) {
          const Scalar* in = y.sample(n) + std::size_t(c) * s.plane();
          Scalar* o = &out.at(n, c, 0, 0);
          for (std::size_t k = 0; k < mask.size(); ++k) o[k] += in[k] * mask[k] * share;
        }
    }
  return out;
}

std::function<Tensor(const Tensor&)> asEngineRuns(const TrainConfig& c,
                                                  std::function<Tensor(const Tensor&)> forward) {
  if (c.task != TrainTask::Anomaly || c.corruption != CorruptionKind::GridMask) return forward;
  anomaly::Inpainting p;
  p.scales = c.maskScales;
  return [forward = std::move(forward), p](const Tensor& x) {
    return inpaintedReconstruction(x, p, forward);
  };
}

}  // namespace cae::train
