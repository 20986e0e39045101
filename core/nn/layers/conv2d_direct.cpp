#include "nn/layers/conv2d_direct.hpp"

#include <algorithm>

namespace cae::nn {
inline namespace CAE_NN_ABI {
namespace {

// Output columns [lo, hi) whose input column ox*s + x0 lies inside [0, w).
inline void validRange(int x0, int s, int w, int ow, int& lo, int& hi) {
  lo = x0 >= 0 ? 0 : (-x0 + s - 1) / s;
  hi = (w - 1 - x0) < 0 ? 0 : (w - 1 - x0) / s + 1;
  lo = std::min(lo, ow);
  hi = std::clamp(hi, lo, ow);
}

// Calls f(yRow, xRow, lo, hi) for every output row of tap (ki, kj) with a valid input row; the
// input element of output column ox is xRow[ox * sw].
template <typename F>
inline void forTap(const ConvGeometry& g, int ki, int kj, F&& f) {
  const int x0 = kj * g.dw - g.pw;
  int lo, hi;
  validRange(x0, g.sw, g.w, g.ow, lo, hi);
  if (lo >= hi) return;
  for (int oy = 0; oy < g.oh; ++oy) {
    const int iy = oy * g.sh - g.ph + ki * g.dh;
    if (iy < 0 || iy >= g.h) continue;
    f(std::size_t(oy) * g.ow, std::size_t(iy) * g.w + x0, lo, hi);
  }
}

}  // namespace

void directConvForward(const Scalar* x, const Scalar* W, int outC, const ConvGeometry& g,
                       Scalar* y) {
  const std::size_t inPlane = std::size_t(g.h) * g.w, outPlane = std::size_t(g.oh) * g.ow;
  for (int o = 0; o < outC; ++o)
    for (int c = 0; c < g.c; ++c)
      for (int ki = 0; ki < g.kh; ++ki)
        for (int kj = 0; kj < g.kw; ++kj) {
          const Scalar wv = W[((std::size_t(o) * g.c + c) * g.kh + ki) * g.kw + kj];
          const Scalar* xc = x + c * inPlane;
          Scalar* yo = y + o * outPlane;
          forTap(g, ki, kj, [&](std::size_t yOff, std::size_t xOff, int lo, int hi) {
            Scalar* yr = yo + yOff;
            const Scalar* xr = xc + xOff;
            if (g.sw == 1) {
              for (int ox = lo; ox < hi; ++ox) yr[ox] += wv * xr[ox];
            } else {
              for (int ox = lo; ox < hi; ++ox) yr[ox] += wv * xr[ox * g.sw];
            }
          });
        }
}

void directConvBackward(const Scalar* dy, const Scalar* W, int outC, const ConvGeometry& g,
                        Scalar* dx) {
  const std::size_t inPlane = std::size_t(g.h) * g.w, outPlane = std::size_t(g.oh) * g.ow;
  for (int c = 0; c < g.c; ++c)
    for (int o = 0; o < outC; ++o)
      for (int ki = 0; ki < g.kh; ++ki)
        for (int kj = 0; kj < g.kw; ++kj) {
          const Scalar wv = W[((std::size_t(o) * g.c + c) * g.kh + ki) * g.kw + kj];
          Scalar* xc = dx + c * inPlane;
          const Scalar* yo = dy + o * outPlane;
          forTap(g, ki, kj, [&](std::size_t yOff, std::size_t xOff, int lo, int hi) {
            const Scalar* yr = yo + yOff;
            Scalar* xr = xc + xOff;
            if (g.sw == 1) {
              for (int ox = lo; ox < hi; ++ox) xr[ox] += wv * yr[ox];
            } else {
              for (int ox = lo; ox < hi; ++ox) xr[ox * g.sw] += wv * yr[ox];
            }
          });
        }
}

void directConvGradient(const Scalar* x, const Scalar* dy, int outC, const ConvGeometry& g,
                        Scalar* dW) {
  const std::size_t inPlane = std::size_t(g.h) * g.w, outPlane = std::size_t(g.oh) * g.ow;
  for (int o = 0; o < outC; ++o)
    for (int c = 0; c < g.c; ++c)
      for (int ki = 0; ki < g.kh; ++ki)
        for (int kj = 0; kj < g.kw; ++kj) {
          Scalar acc = 0;
          const Scalar* xc = x + c * inPlane;
          const Scalar* yo = dy + o * outPlane;
          forTap(g, ki, kj, [&](std::size_t yOff, std::size_t xOff, int lo, int hi) {
            const Scalar* yr = yo + yOff;
            const Scalar* xr = xc + xOff;
            const Eigen::Index n = hi - lo;
            if (g.sw == 1) {
              acc += ConstVecMap(yr + lo, n).dot(ConstVecMap(xr + lo, n));
            } else {
              using Strided = Eigen::Map<const Vec, 0, Eigen::InnerStride<>>;
              acc += ConstVecMap(yr + lo, n).dot(Strided(xr + lo * g.sw, n, Eigen::InnerStride<>(g.sw)));
            }
          });
          dW[((std::size_t(o) * g.c + c) * g.kh + ki) * g.kw + kj] += acc;
        }
}

}  // namespace CAE_NN_ABI
}  // namespace cae::nn
