#include "io/patches.hpp"

#include <algorithm>

#include "error.hpp"

namespace cae::io {

using nn::Scalar;
using nn::Shape;
using nn::Tensor;

void samplePatches(const std::vector<Tensor>& images, int count, int h, int w, nn::Rng& rng,
                   Tensor& out) {
  if (images.empty()) throw InvalidArgument("samplePatches: no images");
  if (count < 1 || h < 1 || w < 1) throw InvalidArgument("samplePatches: bad patch count or size");
  const int c = images[0].shape().c;
  for (const Tensor& t : images) {
    const Shape s = t.shape();
    if (s.n < 1 || s.c != c)
      throw InvalidArgument("samplePatches: images must share one channel count");
    if (s.h < h || s.w < w)
      throw InvalidArgument("samplePatches: image " + s.str() + " is smaller than the " +
                            std::to_string(h) + "x" + std::to_string(w) + " patch");
  }
  out.resize(Shape{count, c, h, w});
  for (int n = 0; n < count; ++n) {
    const Tensor& img = images[rng.below(images.size())];
    const int y = int(rng.below(std::uint64_t(img.shape().h) - std::uint64_t(h) + 1));
    const int x = int(rng.below(std::uint64_t(img.shape().w) - std::uint64_t(w) + 1));
    const std::size_t ih = std::size_t(img.shape().h), iw = std::size_t(img.shape().w);
    for (int k = 0; k < c; ++k)
      for (int r = 0; r < h; ++r) {
        const Scalar* src = img.data() + (std::size_t(k) * ih + std::size_t(y + r)) * iw + x;
        std::copy(src, src + w, &out.at(n, k, r, 0));
      }
  }
}

}  // namespace cae::io
