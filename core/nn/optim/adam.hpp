// Adam: Kingma & Ba, "Adam: A Method for Stochastic Optimization", ICLR 2015 (Algorithm 1), with
// optional decoupled weight decay (AdamW: Loshchilov & Hutter, "Decoupled Weight Decay
// Regularization", ICLR 2019). At step t, over the whole flat parameter vector:
//   m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2
//   p -= lr wd p;  p -= lr (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps)
// The bias corrections use the optimizer's single step counter, so they advance once per step
// however many tensors the model has (tiny-dnn advances them once per tensor).
#pragma once

#include "nn/optim/optimizer.hpp"

namespace cae::nn {
inline namespace CAE_NN_ABI {

struct AdamOptions {
  double learningRate = 1e-3;
  double beta1 = 0.9, beta2 = 0.999;
  double eps = 1e-8;
  double weightDecay = 0;  // decoupled (AdamW); 0 gives plain Adam
};

class Adam : public Optimizer {
 public:
  explicit Adam(const AdamOptions& o = {});
  std::string type() const override { return "Adam"; }
  const AdamOptions& options() const { return o_; }

 protected:
  void update(VecMap params, ConstVecMap grads) override;
  void saveSlots(BinaryWriter& w) const override;
  void loadSlots(BinaryReader& r) override;
  void commitSlots() override;

 private:
  AdamOptions o_;
  Vec m_, v_;
  Vec loadedM_, loadedV_;
};

}  // namespace CAE_NN_ABI
}  // namespace cae::nn
