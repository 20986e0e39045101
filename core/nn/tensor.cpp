#include "nn/tensor.hpp"

#include <algorithm>

namespace cae::nn {
inline namespace CAE_NN_ABI {

std::string Shape::str() const {
  return "[" + std::to_string(n) + "," + std::to_string(c) + "," + std::to_string(h) + "," +
         std::to_string(w) + "]";
}

void Tensor::setZero() { std::fill(data_.begin(), data_.end(), Scalar(0)); }

void Tensor::fill(Scalar v) { std::fill(data_.begin(), data_.end(), v); }

}  // namespace CAE_NN_ABI
}  // namespace cae::nn
