#include "train/qat.hpp"

#include <algorithm>
#include <cmath>
#include <utility>

#include "nn/layers/conv2d.hpp"
#include "nn/layers/conv_transpose2d.hpp"

namespace cae::train {

namespace {

struct ConvInfo {
  bool conv = false, transposed = false;
  int in = 0, out = 0, k = 0;
};

ConvInfo convInfo(const nn::Model& m, int node) {
  ConvInfo c;
  const nn::Layer* l = m.node(node).layer.get();
  if (const auto* a = dynamic_cast<const nn::Conv2d*>(l)) {
    c = {true, false, a->options().inChannels, a->options().outChannels,
         a->kernelH() * a->kernelW()};
  } else if (const auto* b = dynamic_cast<const nn::ConvTranspose2d*>(l)) {
    c = {true, true, b->options().inChannels, b->options().outChannels,
         b->options().kernel * b->options().kernel};
  }
  return c;
}

// Whether node's value was made (through activations) by a conv reading fewer than 16
// channels, or is the model's input: the backend keeps its readers out of 8 bits.
bool imageFacing(const nn::Model& m, int node) {
  for (;;) {
    if (node == nn::Model::kInput) return true;
    const std::string t = m.node(node).layer->type();
    if (t == "ReLU" || t == "LeakyReLU" || t == "Sigmoid" || t == "Tanh") {
      node = m.node(node).inputs.at(0);
      continue;
    }
    const ConvInfo c = convInfo(m, node);
    return c.conv && c.in < 16;
  }
}

}  // namespace

QatPlan planQat(nn::Model& m) {
  QatPlan p;
  for (int i = 1; i < m.numNodes(); ++i) {
    const ConvInfo c = convInfo(m, i);
    if (!c.conv || c.in < 16 || c.out < 16) continue;
    const int src = m.node(i).inputs.at(0);
    if (imageFacing(m, src)) continue;
    p.convs.push_back(i);
    if (std::find(p.values.begin(), p.values.end(), src) == p.values.end()) p.values.push_back(src);
  }
  for (int v : p.values) m.setFakeQuant(v, true);
  return p;
}

void roundWeights(nn::Scalar* w, int out, int in, int k, bool transposed) {
  auto at = [&](int o, int i, int j) -> nn::Scalar& {
    return w[(std::size_t(transposed ? i * out + o : o * in + i)) * std::size_t(k) +
             std::size_t(j)];
  };
  for (int o = 0; o < out; ++o) {
    nn::Scalar mx = 0;
    for (int i = 0; i < in; ++i)
      for (int j = 0; j < k; ++j) mx = std::max(mx, std::abs(at(o, i, j)));
    if (!(mx > 0)) continue;
    const nn::Scalar step = mx / 127;
    for (int i = 0; i < in; ++i)
      for (int j = 0; j < k; ++j) at(o, i, j) = std::nearbyint(at(o, i, j) / step) * step;
  }
}

WeightRounding::WeightRounding(nn::Model& model, QatPlan plan)
    : m_(model), plan_(std::move(plan)), kept_(plan_.convs.size()) {}

void WeightRounding::apply() {
  if (applied_) return;
  for (std::size_t n = 0; n < plan_.convs.size(); ++n) {
    const ConvInfo c = convInfo(m_, plan_.convs[n]);
    nn::Scalar* w = m_.layer(plan_.convs[n]).w();
    const std::size_t count = std::size_t(c.in) * std::size_t(c.out) * std::size_t(c.k);
    kept_[n].assign(w, w + count);
    roundWeights(w, c.out, c.in, c.k, c.transposed);
  }
  applied_ = true;
}

void WeightRounding::restore() {
  if (!applied_) return;
  for (std::size_t n = 0; n < plan_.convs.size(); ++n)
    std::copy(kept_[n].begin(), kept_[n].end(), m_.layer(plan_.convs[n]).w());
  applied_ = false;
}

}  // namespace cae::train
