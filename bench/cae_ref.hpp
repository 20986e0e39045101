// CAE-REF, the reference convolutional autoencoder of shared/ANCHORS.md, and its FLOP count.
// Encoder: 3×3 convs 1→32 (s1), 32→64 (s2), 64→64 (s1), 64→64 (s2), each + ReLU.
// Decoder: 4×4 stride-2 transposed convs 64→64, 64→32 (+ReLU), a 3×3 conv 32→1, residual add.
// ≈0.237 GFLOP per 64×64 patch forward, matching the anchor's ≈0.24.
#pragma once

#include <memory>

#include "nn/layers/activation.hpp"
#include "nn/layers/conv2d.hpp"
#include "nn/layers/conv_transpose2d.hpp"
#include "nn/layers/merge.hpp"
#include "nn/model.hpp"

namespace cae::bench {

inline nn::Model makeCaeRef(int h = 64, int w = 64) {
  using namespace cae::nn;
  Model m({1, 1, h, w});
  auto conv = [&](int ci, int co, int s) {
    Conv2dOptions o;
    o.inChannels = ci;
    o.outChannels = co;
    o.kernel = 3;
    o.stride = s;
    o.padding = 1;
    m.add(std::make_unique<Conv2d>(o));
  };
  auto convT = [&](int ci, int co) {
    ConvTranspose2dOptions o;
    o.inChannels = ci;
    o.outChannels = co;
    o.kernel = 4;
    o.stride = 2;
    o.padding = 1;
    m.add(std::make_unique<ConvTranspose2d>(o));
  };
  conv(1, 32, 1);
  m.add(std::make_unique<ReLU>());
  conv(32, 64, 2);
  m.add(std::make_unique<ReLU>());
  conv(64, 64, 1);
  m.add(std::make_unique<ReLU>());
  conv(64, 64, 2);
  m.add(std::make_unique<ReLU>());
  convT(64, 64);
  m.add(std::make_unique<ReLU>());
  convT(64, 32);
  m.add(std::make_unique<ReLU>());
  const int last = m.add(std::make_unique<Conv2d>([] {
    Conv2dOptions o;
    o.inChannels = 32;
    o.outChannels = 1;
    o.kernel = 3;
    o.padding = 1;
    return o;
  }()));
  m.add(std::make_unique<Add>(), {last, Model::kInput});
  m.compile();
  return m;
}

// Multiply-adds ×2 of every conv in a forward pass of one sample of h×w.
inline double forwardFlops(const nn::Model& m, int h, int w) {
  using namespace cae::nn;
  double flops = 0;
  for (int i = 1; i < m.numNodes(); ++i) {
    const auto& node = m.node(i);
    const Shape in = m.nodeShape(node.inputs[0], {1, m.inputShape().c, h, w});
    const Shape out = m.nodeShape(i, {1, m.inputShape().c, h, w});
    if (auto* c = dynamic_cast<const Conv2d*>(node.layer.get())) {
      flops += 2.0 * out.c * in.c * c->kernelH() * c->kernelW() * out.h * out.w;
    } else if (auto* t = dynamic_cast<const ConvTranspose2d*>(node.layer.get())) {
      const int k = t->options().kernel;
      flops += 2.0 * in.c * out.c * k * k * in.h * in.w;
    }
  }
  return flops;
}

}  // namespace cae::bench
