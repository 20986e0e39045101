// Base class of every reconstruction loss. A subclass implements:
//   name()     a short name ("mse"), used in logs and recipes
//   compute()  the loss of pred against target and, when asked, dLoss/dPred
// Losses are element-wise: Reduction::Mean divides the summed loss by the element count
// (N*C*H*W), Reduction::Sum does not. Sums are accumulated in double in both engine builds.
#pragma once

#include <cstddef>
#include <string>

#include "nn/tensor.hpp"

namespace cae::nn {
inline namespace CAE_NN_ABI {

enum class Reduction { Mean, Sum };

class Loss {
 public:
  explicit Loss(Reduction r = Reduction::Mean) : reduction_(r) {}
  virtual ~Loss() = default;

  virtual std::string name() const = 0;
  // Returns the loss; when grad is non-null resizes it to pred's shape and writes dLoss/dPred.
  // Throws ShapeError when pred and target differ in shape.
  virtual double compute(const Tensor& pred, const Tensor& target, Tensor* grad) const = 0;

  Reduction reduction() const { return reduction_; }

 protected:
  // Checks shapes, sizes grad and returns the factor applied to every element's term.
  double prepare(const Tensor& pred, const Tensor& target, Tensor* grad) const;

 private:
  Reduction reduction_;
};

}  // namespace CAE_NN_ABI
}  // namespace cae::nn
