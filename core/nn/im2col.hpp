// Unfolding of image patches into GEMM columns and its adjoint.
#pragma once

#include "nn/scalar.hpp"

namespace cae::nn {
inline namespace CAE_NN_ABI {

// One sample's convolution geometry: an image of c×h×w sampled by a kh×kw window with stride,
// symmetric zero padding and dilation onto an oh×ow grid.
struct ConvGeometry {
  int c = 0, h = 0, w = 0;
  int kh = 1, kw = 1, sh = 1, sw = 1, ph = 0, pw = 0, dh = 1, dw = 1;
  int oh = 0, ow = 0;

  int rows() const { return c * kh * kw; }
  int cols() const { return oh * ow; }
};

// Output columns [lo, hi) of an ow-wide grid whose input column ox*s + x0 lies in [0, w).
inline void validColumns(int x0, int s, int w, int ow, int& lo, int& hi) {
  lo = x0 >= 0 ? 0 : (-x0 + s - 1) / s;
  hi = (w - 1 - x0) < 0 ? 0 : (w - 1 - x0) / s + 1;
  lo = lo < ow ? lo : ow;
  hi = hi < lo ? lo : (hi > ow ? ow : hi);
}

// cols[(ci*kh + ki)*kw + kj][oy*ow + ox] = img[ci][oy*sh - ph + ki*dh][ox*sw - pw + kj*dw] (0
// outside)
void im2col(const Scalar* img, const ConvGeometry& g, Scalar* cols);
// The adjoint of im2col: img += fold(cols). The caller zeroes img first when it wants a plain
// fold. cols is scratch: entries that fall outside the image may be overwritten.
void col2im(Scalar* cols, const ConvGeometry& g, Scalar* img);

}  // namespace CAE_NN_ABI
}  // namespace cae::nn
