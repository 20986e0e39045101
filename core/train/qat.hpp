// Quantisation-aware training (cae-train --qat): the model trains against the 8-bit arithmetic
// cae's oneDNN backend runs (onednn::Options::int8, core/infer/onednn_build.cpp), so that its
// 8-bit inference keeps the f32 model's quality. The same convolutions on both sides: those
// of 16+ channels in and out (Conv2d, ConvTranspose2d), except one reading the features a conv
// of fewer than 16 input channels (the stem reading the image) made. For each of them, during
// training and validation:
//   - its weights are rounded to s8 with one step per output channel (the largest |w| at 127),
//     as the backend stores them; the gradient updates the unrounded weights (straight through);
//   - the value it reads is rounded to its 8-bit grid (Model::setFakeQuant).
// The exported model holds the unrounded weights: the backend rounds them the same way.
//
//   QatPlan plan = planQat(model);          // marks the values, lists the convs
//   WeightRounding r(model, plan);
//   r.apply();  ... forward, backward ...  r.restore();  optimizer.step(...);
#pragma once

#include <vector>

#include "nn/model.hpp"

namespace cae::train {

struct QatPlan {
  std::vector<int> convs;   // nodes whose weights are rounded
  std::vector<int> values;  // nodes whose outputs are fake-quantised (what those convs read)
};

// Finds the convolutions and marks the values they read on the model (setFakeQuant).
QatPlan planQat(nn::Model& model);

// Rounds the plan's conv weights in the model's parameter store, keeping the unrounded ones.
class WeightRounding {
 public:
  WeightRounding(nn::Model& model, QatPlan plan);
  void apply();    // keep the weights, write their 8-bit rounding
  void restore();  // put the kept weights back (gradients stay as computed)
  bool applied() const { return applied_; }

 private:
  nn::Model& m_;
  QatPlan plan_;
  std::vector<std::vector<nn::Scalar>> kept_;
  bool applied_ = false;
};

// The 8-bit rounding of conv weights laid out [O][I][k] (Conv2d) or [I][O][k] (ConvTranspose2d,
// transposed = true): one step per output channel o, max |w| / 127.
void roundWeights(nn::Scalar* w, int out, int in, int k, bool transposed);

}  // namespace cae::train
