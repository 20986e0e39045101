// im2col against a naive gather over thousands of random geometries (stride, padding,
// dilation, odd sizes, the "same width" fast path), and col2im as its exact adjoint.
#define BOOST_TEST_MODULE im2col
#include <boost/test/unit_test.hpp>
#include <random>
#include <vector>

#include "nn/im2col.hpp"

using namespace cae::nn;

namespace {

ConvGeometry randomGeometry(std::mt19937& r) {
  for (;;) {
    ConvGeometry g;
    g.c = 1 + int(r() % 3);
    g.h = 1 + int(r() % 9);
    g.w = 1 + int(r() % 9);
    g.kh = 1 + int(r() % 4);
    g.kw = 1 + int(r() % 4);
    g.sh = 1 + int(r() % 2);
    g.sw = r() % 3 == 0 ? 2 : 1;
    g.ph = int(r() % 3);
    g.pw = int(r() % 3);
    g.dh = 1 + int(r() % 2);
    g.dw = 1 + int(r() % 2);
    if (r() % 2) {  // favour stride-1 "same" convolutions, which take the run-copy path
      g.sh = g.sw = 1;
      if ((g.kw - 1) * g.dw % 2 == 0) g.pw = (g.kw - 1) * g.dw / 2;
    }
    const int oh = g.h + 2 * g.ph - g.dh * (g.kh - 1) - 1;
    const int ow = g.w + 2 * g.pw - g.dw * (g.kw - 1) - 1;
    if (oh < 0 || ow < 0) continue;
    g.oh = oh / g.sh + 1;
    g.ow = ow / g.sw + 1;
    return g;
  }
}

}  // namespace

BOOST_AUTO_TEST_CASE(im2col_matches_naive_gather_and_col2im_is_its_adjoint) {
  std::mt19937 r(1);
  int sameWidth = 0;
  for (int t = 0; t < 3000; ++t) {
    const ConvGeometry g = randomGeometry(r);
    if (g.sw == 1 && g.sh == 1 && g.ow == g.w) ++sameWidth;
    std::vector<Scalar> img(std::size_t(g.c) * g.h * g.w);
    std::vector<Scalar> cols(std::size_t(g.rows()) * g.cols()), ref(cols.size());
    for (auto& v : img) v = Scalar(r() % 100);
    im2col(img.data(), g, cols.data());
    for (int c = 0; c < g.c; ++c)
      for (int ki = 0; ki < g.kh; ++ki)
        for (int kj = 0; kj < g.kw; ++kj)
          for (int oy = 0; oy < g.oh; ++oy)
            for (int ox = 0; ox < g.ow; ++ox) {
              const int iy = oy * g.sh - g.ph + ki * g.dh, ix = ox * g.sw - g.pw + kj * g.dw;
              const bool in = iy >= 0 && iy < g.h && ix >= 0 && ix < g.w;
              ref[std::size_t((c * g.kh + ki) * g.kw + kj) * g.cols() + oy * g.ow + ox] =
                  in ? img[std::size_t(c * g.h + iy) * g.w + ix] : Scalar(0);
            }
    BOOST_TEST_REQUIRE((cols == ref), "im2col differs at trial " << t);

    // <im2col(x), y> == <x, col2im(y)>, exactly (small integers).
    std::vector<Scalar> y(cols.size()), back(img.size(), 0);
    for (auto& v : y) v = Scalar(int(r() % 7) - 3);
    double a = 0, b = 0;
    for (std::size_t i = 0; i < y.size(); ++i) a += double(ref[i]) * y[i];
    col2im(y.data(), g, back.data());
    for (std::size_t i = 0; i < img.size(); ++i) b += double(img[i]) * back[i];
    BOOST_TEST_REQUIRE(a == b, "col2im is not the adjoint at trial " << t);
  }
  BOOST_TEST(sameWidth > 300);  // the fast path was exercised
}
