// Direct (im2col-free) convolution kernels for one sample, used by Conv2d when it has few output
// channels. Same geometry and weight layout as Conv2d: W[outC][inC][kh][kw].
#pragma once

#include "nn/im2col.hpp"

namespace cae::nn {
inline namespace CAE_NN_ABI {

// y[o] (oh×ow) += sum over c, ki, kj of W[o][c][ki][kj] * shifted x[c]
void directConvForward(const Scalar* x, const Scalar* W, int outC, const ConvGeometry& g,
                       Scalar* y);
// dx (c×h×w) += adjoint of the above applied to dy
void directConvBackward(const Scalar* dy, const Scalar* W, int outC, const ConvGeometry& g,
                        Scalar* dx);
// dW[o][c][ki][kj] += sum over the grid of dy[o] * shifted x[c]
void directConvGradient(const Scalar* x, const Scalar* dy, int outC, const ConvGeometry& g,
                        Scalar* dW);

}  // namespace CAE_NN_ABI
}  // namespace cae::nn
