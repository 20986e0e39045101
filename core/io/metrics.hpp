// Image quality numbers.
#pragma once

#include "nn/tensor.hpp"

namespace cae::io {

// Peak signal-to-noise ratio in dB, 10 log10(peak^2 / MSE), over all elements of two tensors of
// equal shape; +infinity when they are identical. Throws ShapeError on a shape mismatch.
double psnr(const nn::Tensor& a, const nn::Tensor& b, double peak = 1.0);

}  // namespace cae::io
