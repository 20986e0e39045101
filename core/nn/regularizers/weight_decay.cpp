#include "nn/regularizers/weight_decay.hpp"

#include <string>

#include "error.hpp"
#include "nn/layers/conv2d.hpp"
#include "nn/layers/conv_transpose2d.hpp"
#include "nn/layers/dense.hpp"

namespace cae::nn {
inline namespace CAE_NN_ABI {

namespace {

// Number of trailing bias entries in a layer's parameter slice.
std::size_t biasCount(const Layer& layer) {
  if (auto* d = dynamic_cast<const Dense*>(&layer)) return d->hasBias() ? d->outFeatures() : 0;
  if (auto* c = dynamic_cast<const Conv2d*>(&layer))
    return c->options().bias ? c->options().outChannels : 0;
  if (auto* t = dynamic_cast<const ConvTranspose2d*>(&layer))
    return t->options().bias ? t->options().outChannels : 0;
  return 0;
}

}  // namespace

std::vector<ParamRange> weightRanges(const Model& model) {
  if (!model.compiled()) throw InvalidArgument("weightRanges: model is not compiled");
  std::vector<ParamRange> out;
  for (int i = 1; i < model.numNodes(); ++i) {
    const Model::Node& n = model.node(i);
    const std::size_t total = n.layer->numParams();
    const std::size_t weights = total - biasCount(*n.layer);
    if (weights > 0) out.push_back({n.paramOffset, weights});
  }
  return out;
}

WeightDecay::WeightDecay(Kind kind, double lambda, std::vector<ParamRange> ranges)
    : kind_(kind), lambda_(lambda), ranges_(std::move(ranges)) {
  if (!(lambda >= 0)) throw InvalidArgument("WeightDecay: lambda must be >= 0");
}

std::vector<ParamRange> WeightDecay::effective(std::size_t n) const {
  if (ranges_.empty()) return {{0, n}};
  for (const ParamRange& r : ranges_)
    if (r.offset + r.count > n)
      throw ShapeError("WeightDecay: range [" + std::to_string(r.offset) + ", " +
                       std::to_string(r.offset + r.count) + ") exceeds " + std::to_string(n) +
                       " parameters");
  return ranges_;
}

double WeightDecay::value(const Eigen::Ref<const Vec>& params) const {
  double sum = 0;
  for (const ParamRange& r : effective(std::size_t(params.size()))) {
    auto seg = params.segment(Eigen::Index(r.offset), Eigen::Index(r.count));
    sum +=
        kind_ == Kind::L2 ? 0.5 * seg.cast<double>().squaredNorm() : seg.cast<double>().lpNorm<1>();
  }
  return lambda_ * sum;
}

void WeightDecay::addGradient(const Eigen::Ref<const Vec>& params, Eigen::Ref<Vec> grads) const {
  if (grads.size() != params.size())
    throw ShapeError("WeightDecay: " + std::to_string(grads.size()) + " gradients for " +
                     std::to_string(params.size()) + " parameters");
  const Scalar l = Scalar(lambda_);
  for (const ParamRange& r : effective(std::size_t(params.size()))) {
    const auto o = Eigen::Index(r.offset), c = Eigen::Index(r.count);
    if (kind_ == Kind::L2)
      grads.segment(o, c) += l * params.segment(o, c);
    else
      grads.segment(o, c) += l * params.segment(o, c).cwiseSign();
  }
}

}  // namespace CAE_NN_ABI
}  // namespace cae::nn
