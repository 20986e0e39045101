// Base class of the input corruptions of denoising autoencoders (Vincent et al., "Extracting and
// composing robust features with denoising autoencoders", ICML 2008; "Stacked denoising
// autoencoders", JMLR 2010, sec. 4.2). A subclass implements:
//   name()    a short name ("gaussian"), used in logs, recipes and model metadata
//   apply()   noisy = corrupt(clean), resizing noisy to clean's shape; it draws only from rng, in
//             a fixed order, so the same rng state gives the same noisy tensor
// Values (sigma, salt and pepper levels) are in the tensor's units: the trainer feeds images
// scaled to [0,1], so "sigma 25" on 8-bit pixels is sigma = 25/255 here.
#pragma once

#include <string>

#include "nn/rng.hpp"
#include "nn/tensor.hpp"

namespace cae::nn {
inline namespace CAE_NN_ABI {

class Corruption {
 public:
  virtual ~Corruption() = default;

  virtual std::string name() const = 0;
  // noisy may not alias clean.
  virtual void apply(const Tensor& clean, Tensor& noisy, Rng& rng) const = 0;
};

}  // namespace CAE_NN_ABI
}  // namespace cae::nn
