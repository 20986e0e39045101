#include "nn/im2col.hpp"

#include <algorithm>
#include <cstddef>

#include "nn/parallel.hpp"

namespace cae::nn {
inline namespace CAE_NN_ABI {
namespace {

// Parallelise over rows only for large single images; batches are split by the caller.
inline bool splitRows(const ConvGeometry& g) {
  return !inParallel() && double(g.rows()) * g.cols() > 1 << 18;
}

// Short rows (tens of pixels) are the common case: an inlined loop beats a memcpy call.
inline void copyRun(const Scalar* __restrict src, Scalar* __restrict dst, int n) {
  for (int i = 0; i < n; ++i) dst[i] = src[i];
}

inline void addRun(const Scalar* __restrict src, Scalar* __restrict dst, int n) {
  for (int i = 0; i < n; ++i) dst[i] += src[i];
}

// Stride 1 with output width equal to input width ("same" convolutions): consecutive output
// rows of one tap read consecutive input rows, so a tap is one long run plus a few border
// columns instead of oh short rows.
inline bool sameWidthRuns(const ConvGeometry& g) { return g.sw == 1 && g.sh == 1 && g.ow == g.w; }

// Rows [oyLo, oyHi) of tap (ki, kj) read inside the image.
inline void validRows(const ConvGeometry& g, int ki, int& oyLo, int& oyHi) {
  const int off = ki * g.dh - g.ph;  // iy = oy + off
  oyLo = std::clamp(-off, 0, g.oh);
  oyHi = std::clamp(g.h - off, oyLo, g.oh);
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
    validColumns(x0, g.sw, g.w, g.ow, lo, hi);
    if (sameWidthRuns(g)) {
      int oyLo, oyHi;
      validRows(g, ki, oyLo, oyHi);
      std::fill(dst, dst + std::size_t(oyLo) * g.ow, Scalar(0));
      std::fill(dst + std::size_t(oyHi) * g.ow, dst + std::size_t(g.oh) * g.ow, Scalar(0));
      if (lo >= hi) {
        std::fill(dst + std::size_t(oyLo) * g.ow, dst + std::size_t(oyHi) * g.ow, Scalar(0));
      } else if (oyLo < oyHi) {
        const std::size_t first = std::size_t(oyLo) * g.ow + lo;
        const std::size_t last = std::size_t(oyHi - 1) * g.ow + hi;  // one past
        // Input index of run element i is i + shift (formed only for i in [first, last)).
        const std::ptrdiff_t shift = (std::ptrdiff_t(ci) * g.h + (oyLo + ki * g.dh - g.ph)) * g.w +
                                     x0 - std::ptrdiff_t(oyLo) * g.ow;
        if (last > first)
          copyRun(img + (std::ptrdiff_t(first) + shift), dst + first, int(last - first));
        for (int oy = oyLo; oy < oyHi; ++oy) {
          Scalar* row = dst + std::size_t(oy) * g.ow;
          std::fill(row, row + lo, Scalar(0));
          std::fill(row + hi, row + g.ow, Scalar(0));
        }
      }
      continue;
    }
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
        for (int ox = lo; ox < hi; ++ox) dst[ox] = src[std::ptrdiff_t(ox) * g.sw];
      }
      std::fill(dst + hi, dst + g.ow, Scalar(0));
    }
  }
}

void col2im(Scalar* cols, const ConvGeometry& g, Scalar* img) {
  const int n = g.cols();
  // Rows of one channel write to the same plane, so parallelise over channels.
#pragma omp parallel for if (splitRows(g)) schedule(static)
  for (int ci = 0; ci < g.c; ++ci) {
    for (int ki = 0; ki < g.kh; ++ki) {
      for (int kj = 0; kj < g.kw; ++kj) {
        const int r = (ci * g.kh + ki) * g.kw + kj;
        Scalar* src = cols + std::size_t(r) * n;
        const int x0 = kj * g.dw - g.pw;
        int lo, hi;
        validColumns(x0, g.sw, g.w, g.ow, lo, hi);
        if (sameWidthRuns(g)) {
          int oyLo, oyHi;
          validRows(g, ki, oyLo, oyHi);
          if (oyLo >= oyHi || lo >= hi) continue;
          // Border columns would wrap into the neighbouring image row: clear them first.
          for (int oy = oyLo; oy < oyHi; ++oy) {
            Scalar* row = src + std::size_t(oy) * g.ow;
            std::fill(row, row + lo, Scalar(0));
            std::fill(row + hi, row + g.ow, Scalar(0));
          }
          const std::size_t first = std::size_t(oyLo) * g.ow + lo;
          const std::size_t last = std::size_t(oyHi - 1) * g.ow + hi;
          const std::ptrdiff_t shift =
              (std::ptrdiff_t(ci) * g.h + (oyLo + ki * g.dh - g.ph)) * g.w + x0 -
              std::ptrdiff_t(oyLo) * g.ow;
          if (last > first)
            addRun(src + first, img + (std::ptrdiff_t(first) + shift), int(last - first));
          continue;
        }
        for (int oy = 0; oy < g.oh; ++oy, src += g.ow) {
          const int iy = oy * g.sh - g.ph + ki * g.dh;
          if (iy < 0 || iy >= g.h) continue;
          Scalar* dst = img + (std::size_t(ci) * g.h + iy) * g.w + x0;
          if (g.sw == 1) {
            for (int ox = lo; ox < hi; ++ox) dst[ox] += src[ox];
          } else {
            for (int ox = lo; ox < hi; ++ox) dst[std::ptrdiff_t(ox) * g.sw] += src[ox];
          }
        }
      }
    }
  }
}

}  // namespace CAE_NN_ABI
}  // namespace cae::nn
