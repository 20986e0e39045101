// The objective of a compression autoencoder (Ballé et al., ICLR 2017/2018; CompressAI's
// RateDistortionLoss):  L = lambda * 255^2 * MSE(x_hat, x) + R,
// R = sum of the entropy model's bits (EntropyBottleneck's output) / (N * H * W): bits per pixel
// of the N pictures of H x W. The 255^2 makes lambda CompressAI's (0.0018 .. 0.0483 for its
// eight MSE rate points) with pictures in [0, 1].
#pragma once

#include "nn/tensor.hpp"

namespace cae::nn {
inline namespace CAE_NN_ABI {

class RateDistortion {
 public:
  explicit RateDistortion(double lambda);

  struct Terms {
    double mse = 0, bpp = 0, total = 0;
  };
  // out, target: N x C x H x W pictures; bits: N x M x h x w. A non-null dOut / dBits receives
  // dL/dout and dL/dbits. ShapeError when out and target differ or the batches do not match.
  Terms compute(const Tensor& out, const Tensor& target, const Tensor& bits, Tensor* dOut,
                Tensor* dBits) const;

  double lambda() const { return lambda_; }

 private:
  double lambda_;
};

}  // namespace CAE_NN_ABI
}  // namespace cae::nn
