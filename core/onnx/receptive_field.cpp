#include "onnx/receptive_field.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "nn/layers/conv2d.hpp"
#include "nn/layers/conv_transpose2d.hpp"
#include "nn/layers/dense.hpp"
#include "nn/layers/pool.hpp"
#include "nn/layers/reshape.hpp"

namespace cae::onnx {
namespace {

// One axis: r = window size in input pixels, j = input pixels between neighbouring units.
struct Axis {
  double r = 1, j = 1;

  // A window of `span` units with stride s (kernel span already dilated).
  void window(int span, int s) {
    r += (span - 1) * j;
    j *= s;
  }
  // Transposed conv: an output unit sees at most ceil(span / s) consecutive input units.
  void transposed(int span, int s) {
    const int units = (span + s - 1) / s;  // integer ceil(span / s), on purpose
    r += (units - 1) * j;
    j /= s;
  }
};

struct Field {
  Axis h, w;
  bool global = false;
};

}  // namespace

int receptiveField(const nn::Model& model) {
  const int out = model.output();
  std::vector<Field> f(std::size_t(out) + 1);
  for (int i = 1; i <= out; ++i) {
    const auto& node = model.node(i);
    Field x = f[std::size_t(node.inputs.at(0))];
    // Joins take the widest window and the finest jump of their branches.
    for (std::size_t k = 1; k < node.inputs.size(); ++k) {
      const Field& y = f[std::size_t(node.inputs[k])];
      x.global = x.global || y.global;
      x.h = {std::max(x.h.r, y.h.r), std::min(x.h.j, y.h.j)};
      x.w = {std::max(x.w.r, y.w.r), std::min(x.w.j, y.w.j)};
    }
    const nn::Layer* l = node.layer.get();
    if (auto* c = dynamic_cast<const nn::Conv2d*>(l)) {
      const auto& o = c->options();
      x.h.window(o.dilation * (c->kernelH() - 1) + 1, o.stride);
      x.w.window(o.dilation * (c->kernelW() - 1) + 1, o.stride);
    } else if (auto* t = dynamic_cast<const nn::ConvTranspose2d*>(l)) {
      const auto& o = t->options();
      const int span = o.dilation * (o.kernel - 1) + 1;
      x.h.transposed(span, o.stride);
      x.w.transposed(span, o.stride);
    } else if (auto* p = dynamic_cast<const nn::MaxPool2d*>(l)) {
      x.h.window(p->kernel(), p->stride());
      x.w.window(p->kernel(), p->stride());
    } else if (auto* u = dynamic_cast<const nn::Upsample*>(l)) {
      x.h.j /= u->scale();
      x.w.j /= u->scale();
    } else if (dynamic_cast<const nn::Dense*>(l) || dynamic_cast<const nn::Flatten*>(l) ||
               dynamic_cast<const nn::Reshape*>(l)) {
      x.global = true;
    }
    // Element-wise layers (activations, Add, Concat) keep the window.
    f[std::size_t(i)] = x;
  }
  const Field& r = f[std::size_t(out)];
  if (r.global) return -1;
  // The small epsilon keeps 3.0000000001 from rounding up to 4.
  return int(std::ceil(std::max(r.h.r, r.w.r) - 1e-9));
}

}  // namespace cae::onnx
