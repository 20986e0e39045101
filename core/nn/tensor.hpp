// A dense float tensor in NCHW order. Every tensor in the engine is 4-D; a dense activation of
// F features is {N, F, 1, 1}.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "nn/scalar.hpp"

namespace cae::nn {
inline namespace CAE_NN_ABI {

struct Shape {
  int n = 0, c = 0, h = 0, w = 0;

  std::size_t size() const { return std::size_t(n) * c * h * w; }
  std::size_t perSample() const { return std::size_t(c) * h * w; }
  std::size_t plane() const { return std::size_t(h) * w; }
  bool operator==(const Shape& o) const { return n == o.n && c == o.c && h == o.h && w == o.w; }
  bool operator!=(const Shape& o) const { return !(*this == o); }
  std::string str() const;
};

class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(Shape s) { resize(s); }
  Tensor(Shape s, Scalar fill) : shape_(s), data_(s.size(), fill) {}

  // Changes the shape; contents are unspecified afterwards (capacity is kept).
  void resize(Shape s) {
    shape_ = s;
    data_.resize(s.size());
  }
  void setZero();
  void fill(Scalar v);

  const Shape& shape() const { return shape_; }
  std::size_t size() const { return data_.size(); }
  bool empty() const { return data_.empty(); }
  Scalar* data() { return data_.data(); }
  const Scalar* data() const { return data_.data(); }
  Scalar* sample(int n) { return data_.data() + std::size_t(n) * shape_.perSample(); }
  const Scalar* sample(int n) const { return data_.data() + std::size_t(n) * shape_.perSample(); }

  Scalar& at(int n, int c, int h, int w) {
    return data_[((std::size_t(n) * shape_.c + c) * shape_.h + h) * shape_.w + w];
  }
  Scalar at(int n, int c, int h, int w) const {
    return data_[((std::size_t(n) * shape_.c + c) * shape_.h + h) * shape_.w + w];
  }
  Scalar& operator[](std::size_t i) { return data_[i]; }
  Scalar operator[](std::size_t i) const { return data_[i]; }

  VecMap vec() { return VecMap(data_.data(), Eigen::Index(data_.size())); }
  ConstVecMap vec() const { return ConstVecMap(data_.data(), Eigen::Index(data_.size())); }

 private:
  Shape shape_;
  std::vector<Scalar, Eigen::aligned_allocator<Scalar>> data_;
};

}  // namespace CAE_NN_ABI
}  // namespace cae::nn
