// Stochastic gradient descent with heavy-ball momentum (Polyak 1964) and optional Nesterov
// momentum in the form of Sutskever et al., "On the importance of initialization and momentum in
// deep learning", ICML 2013 — the same update PyTorch's SGD applies (dampening 0):
//   v = mu v + g;   p -= lr (nesterov ? g + mu v : v)
#pragma once

#include <vector>

#include "nn/optim/optimizer.hpp"

namespace cae::nn {
inline namespace CAE_NN_ABI {

struct SgdOptions {
  double learningRate = 0.01;
  double momentum = 0;  // 0: plain SGD, no velocity buffer
  bool nesterov = false;
};

class Sgd : public Optimizer {
 public:
  explicit Sgd(const SgdOptions& o = {});
  std::string type() const override { return "Sgd"; }
  const SgdOptions& options() const { return o_; }

 protected:
  void update(VecMap params, ConstVecMap grads) override;
  void saveSlots(BinaryWriter& w) const override;
  void loadSlots(BinaryReader& r) override;
  void commitSlots() override;

 private:
  SgdOptions o_;
  Vec velocity_, loaded_;
};

}  // namespace CAE_NN_ABI
}  // namespace cae::nn
