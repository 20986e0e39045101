// Weight decay on the flat parameter store (Model::params()) or any slice of it:
//   L2: lambda/2 * sum w^2   (gradient lambda * w: lambda is the usual SGD "weight_decay")
//   L1: lambda   * sum |w|   (gradient lambda * sign(w), subgradient 0 at w == 0)
// By default every parameter is penalised. Pass ranges (offset, count into the flat store) to
// restrict it; weightRanges(model) gives the weights of every layer without their biases, which
// is the usual choice (Goodfellow et al., Deep Learning, sec. 7.1: biases are not decayed).
#pragma once

#include <cstddef>
#include <vector>

#include "nn/model.hpp"

namespace cae::nn {
inline namespace CAE_NN_ABI {

struct ParamRange {
  std::size_t offset = 0, count = 0;
};

// The slices of model.params() that hold weights, biases left out. Conv2d, ConvTranspose2d and
// Dense store their bias last (outChannels / outFeatures entries); any other layer with
// parameters is taken whole. The model must be compiled.
std::vector<ParamRange> weightRanges(const Model& model);

class WeightDecay {
 public:
  enum class Kind { L1, L2 };

  // ranges empty: the whole vector.
  WeightDecay(Kind kind, double lambda, std::vector<ParamRange> ranges = {});

  double value(const Eigen::Ref<const Vec>& params) const;
  // grads += dValue/dParams (same length as params).
  void addGradient(const Eigen::Ref<const Vec>& params, Eigen::Ref<Vec> grads) const;

  Kind kind() const { return kind_; }
  double lambda() const { return lambda_; }
  const std::vector<ParamRange>& ranges() const { return ranges_; }

 private:
  // The ranges to visit for a vector of n entries; throws when a range runs past n.
  std::vector<ParamRange> effective(std::size_t n) const;

  Kind kind_;
  double lambda_;
  std::vector<ParamRange> ranges_;
};

}  // namespace CAE_NN_ABI
}  // namespace cae::nn
