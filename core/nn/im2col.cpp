#include "nn/im2col.hpp"

#include <algorithm>

#include "nn/parallel.hpp"

namespace cae::nn {
inline namespace CAE_NN_ABI {
namespace {

// Range [lo, hi) of output columns whose input column ox*s + x0 lies inside [0, w).
inline void validRange(int x0, int s, int w, int ow, int& lo, int& hi) {
  lo = x0 >= 0 ? 0 : (-x0 + s - 1) / s;
  hi = (w - 1 - x0) < 0 ? 0 : (w - 1 - x0) / s + 1;
  lo = std::min(lo, ow);
  hi = std::clamp(hi, lo, ow);
}

// Parallelise over rows only for large single images; batches are split by the caller.
inline bool splitRows(const ConvGeometry& g) {
  return !inParallel() && double(g.rows()) * g.cols() > 1 << 18;
}

// Short rows (tens of pixels) are the common case: an inlined loop beats a memcpy call.
inline void copyRun(const Scalar* __restrict src, Scalar* __restrict dst, int n) {
  for (int i = 0; i < n; ++i) dst[i] = src[i];
}

}  // namespace

void im2col(const Scalar* img, const ConvGeometry& g, Scalar* cols) {
  const int rows = g.rows();
  const int n = g.cols();
#pragma omp parallel for if (splitRows(g)) schedule(static)
  for (int r = 0; r < rows; ++r) {
    const int kj = r % g.kw;
    const int ki = (r / g.kw) % g.kh;
    const int ci = r / (g.kw * g.kh);
    Scalar* dst = cols + std::size_t(r) * n;
    const int x0 = kj * g.dw - g.pw;
    int lo, hi;
    validRange(x0, g.sw, g.w, g.ow, lo, hi);
    for (int oy = 0; oy < g.oh; ++oy, dst += g.ow) {
      const int iy = oy * g.sh - g.ph + ki * g.dh;
      if (iy < 0 || iy >= g.h) {
        std::fill(dst, dst + g.ow, Scalar(0));
        continue;
      }
      const Scalar* src = img + (std::size_t(ci) * g.h + iy) * g.w + x0;
      std::fill(dst, dst + lo, Scalar(0));
      if (g.sw == 1) {
        copyRun(src + lo, dst + lo, hi - lo);
      } else {
        for (int ox = lo; ox < hi; ++ox) dst[ox] = src[ox * g.sw];
      }
      std::fill(dst + hi, dst + g.ow, Scalar(0));
    }
  }
}

void col2im(const Scalar* cols, const ConvGeometry& g, Scalar* img) {
  const int n = g.cols();
  // Rows of one channel write to the same plane, so parallelise over channels.
#pragma omp parallel for if (splitRows(g)) schedule(static)
  for (int ci = 0; ci < g.c; ++ci) {
    for (int ki = 0; ki < g.kh; ++ki) {
      for (int kj = 0; kj < g.kw; ++kj) {
        const int r = (ci * g.kh + ki) * g.kw + kj;
        const Scalar* src = cols + std::size_t(r) * n;
        const int x0 = kj * g.dw - g.pw;
        int lo, hi;
        validRange(x0, g.sw, g.w, g.ow, lo, hi);
        for (int oy = 0; oy < g.oh; ++oy, src += g.ow) {
          const int iy = oy * g.sh - g.ph + ki * g.dh;
          if (iy < 0 || iy >= g.h) continue;
          Scalar* dst = img + (std::size_t(ci) * g.h + iy) * g.w + x0;
          if (g.sw == 1) {
            for (int ox = lo; ox < hi; ++ox) dst[ox] += src[ox];
          } else {
            for (int ox = lo; ox < hi; ++ox) dst[ox * g.sw] += src[ox];
          }
        }
      }
    }
  }
}

}  // namespace CAE_NN_ABI
}  // namespace cae::nn
