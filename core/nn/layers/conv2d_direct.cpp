#include "nn/layers/conv2d_direct.hpp"

#include <algorithm>
#include <cstddef>

namespace cae::nn {
inline namespace CAE_NN_ABI {
namespace {

// Calls f(yRow, xRow, lo, hi) for every output row of tap (ki, kj) with a valid input row; the
// input element of output column ox is xRow[ox * sw].
template <typename F>
inline void forTap(const ConvGeometry& g, int ki, int kj, F&& f) {
  const int x0 = kj * g.dw - g.pw;
  int lo, hi;
  validColumns(x0, g.sw, g.w, g.ow, lo, hi);
  if (lo >= hi) return;
  for (int oy = 0; oy < g.oh; ++oy) {
    const int iy = oy * g.sh - g.ph + ki * g.dh;
    if (iy < 0 || iy >= g.h) continue;
    f(std::size_t(oy) * g.ow, std::size_t(iy) * g.w + x0, lo, hi);
  }
}

// Stride-1 convolutions run on a zero-padded copy of the image laid out with the padded row
// width wp: every tap is then one contiguous multiply-add over oh*wp elements (the wp - ow extra
// columns per row are junk, dropped afterwards), instead of oh short rows with bounds checks.
struct PaddedGrid {
  int wp = 0, hp = 0;
  std::size_t inPlane = 0;   // hp*wp plus the tail the last taps read past
  std::size_t outPlane = 0;  // oh*wp
  explicit PaddedGrid(const ConvGeometry& g)
      : wp(g.w + 2 * g.pw),
        hp(g.h + 2 * g.ph),
        inPlane(std::size_t(hp) * wp + std::size_t(g.kw - 1) * g.dw),
        outPlane(std::size_t(g.oh) * wp) {}
  std::size_t tapOffset(const ConvGeometry& g, int ki, int kj) const {
    return std::size_t(ki) * g.dh * wp + std::size_t(kj) * g.dw;
  }
};

inline bool padded(const ConvGeometry& g) { return g.sh == 1 && g.sw == 1; }

// xp[c] = x[c] placed at (ph, pw) inside zeros.
void padImage(const Scalar* x, const ConvGeometry& g, const PaddedGrid& p, Vec& xp) {
  xp.setZero(Eigen::Index(p.inPlane) * g.c);
  for (int c = 0; c < g.c; ++c)
    for (int y = 0; y < g.h; ++y)
      std::copy(x + (std::size_t(c) * g.h + y) * g.w, x + (std::size_t(c) * g.h + y + 1) * g.w,
                xp.data() + c * p.inPlane + std::size_t(y + g.ph) * p.wp + g.pw);
}

// dyp[o] = dy[o] on the padded-width output grid, zeros in the junk columns.
void spreadToGrid(const Scalar* dy, int outC, const ConvGeometry& g, const PaddedGrid& p,
                  Vec& dyp) {
  dyp.setZero(Eigen::Index(p.outPlane) * outC);
  for (int o = 0; o < outC; ++o)
    for (int oy = 0; oy < g.oh; ++oy)
      std::copy(dy + (std::size_t(o) * g.oh + oy) * g.ow,
                dy + (std::size_t(o) * g.oh + oy + 1) * g.ow,
                dyp.data() + o * p.outPlane + std::size_t(oy) * p.wp);
}

thread_local Vec tlsA, tlsB;

}  // namespace

void directConvForward(const Scalar* x, const Scalar* W, int outC, const ConvGeometry& g,
                       Scalar* y) {
  if (padded(g)) {
    const PaddedGrid p(g);
    padImage(x, g, p, tlsA);
    Vec& yp = tlsB;
    yp.setZero(Eigen::Index(p.outPlane) * outC);
    const Eigen::Index n = Eigen::Index(p.outPlane);
    for (int o = 0; o < outC; ++o)
      for (int c = 0; c < g.c; ++c)
        for (int ki = 0; ki < g.kh; ++ki)
          for (int kj = 0; kj < g.kw; ++kj) {
            const Scalar wv = W[((std::size_t(o) * g.c + c) * g.kh + ki) * g.kw + kj];
            yp.segment(o * n, n) +=
                wv * ConstVecMap(tlsA.data() + c * p.inPlane + p.tapOffset(g, ki, kj), n);
          }
    for (int o = 0; o < outC; ++o)
      for (int oy = 0; oy < g.oh; ++oy) {
        const Scalar* src = yp.data() + o * p.outPlane + std::size_t(oy) * p.wp;
        Scalar* dst = y + (std::size_t(o) * g.oh + oy) * g.ow;
        for (int ox = 0; ox < g.ow; ++ox) dst[ox] += src[ox];
      }
    return;
  }
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
              for (int ox = lo; ox < hi; ++ox) yr[ox] += wv * xr[std::ptrdiff_t(ox) * g.sw];
            }
          });
        }
}

void directConvBackward(const Scalar* dy, const Scalar* W, int outC, const ConvGeometry& g,
                        Scalar* dx) {
  if (padded(g)) {
    const PaddedGrid p(g);
    const Eigen::Index n = Eigen::Index(p.outPlane);
    Vec& dyp = tlsA;  // dy on the padded-width grid, zeros in the junk columns
    spreadToGrid(dy, outC, g, p, dyp);
    Vec& dxp = tlsB;
    dxp.setZero(Eigen::Index(p.inPlane) * g.c);
    for (int c = 0; c < g.c; ++c)
      for (int o = 0; o < outC; ++o)
        for (int ki = 0; ki < g.kh; ++ki)
          for (int kj = 0; kj < g.kw; ++kj) {
            const Scalar wv = W[((std::size_t(o) * g.c + c) * g.kh + ki) * g.kw + kj];
            VecMap(dxp.data() + c * p.inPlane + p.tapOffset(g, ki, kj), n) +=
                wv * dyp.segment(o * n, n);
          }
    for (int c = 0; c < g.c; ++c)
      for (int iy = 0; iy < g.h; ++iy) {
        const Scalar* src = dxp.data() + c * p.inPlane + std::size_t(iy + g.ph) * p.wp + g.pw;
        Scalar* dst = dx + (std::size_t(c) * g.h + iy) * g.w;
        for (int ix = 0; ix < g.w; ++ix) dst[ix] += src[ix];
      }
    return;
  }
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
              for (int ox = lo; ox < hi; ++ox) xr[std::ptrdiff_t(ox) * g.sw] += wv * yr[ox];
            }
          });
        }
}

void directConvGradient(const Scalar* x, const Scalar* dy, int outC, const ConvGeometry& g,
                        Scalar* dW) {
  if (padded(g)) {
    const PaddedGrid p(g);
    const Eigen::Index n = Eigen::Index(p.outPlane);
    padImage(x, g, p, tlsA);
    Vec& dyp = tlsB;
    spreadToGrid(dy, outC, g, p, dyp);
    for (int o = 0; o < outC; ++o)
      for (int c = 0; c < g.c; ++c)
        for (int ki = 0; ki < g.kh; ++ki)
          for (int kj = 0; kj < g.kw; ++kj)
            dW[((std::size_t(o) * g.c + c) * g.kh + ki) * g.kw + kj] += dyp.segment(o * n, n).dot(
                ConstVecMap(tlsA.data() + c * p.inPlane + p.tapOffset(g, ki, kj), n));
    return;
  }
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
              acc +=
                  ConstVecMap(yr + lo, n)
                      .dot(Strided(xr + std::ptrdiff_t(lo) * g.sw, n, Eigen::InnerStride<>(g.sw)));
            }
          });
          dW[((std::size_t(o) * g.c + c) * g.kh + ki) * g.kw + kj] += acc;
        }
}

}  // namespace CAE_NN_ABI
}  // namespace cae::nn
