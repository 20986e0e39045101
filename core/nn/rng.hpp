// The engine's random source: one seeded generator, serialisable so that a resumed run draws
// exactly the numbers the uninterrupted run would have drawn.
#pragma once

#include <cstdint>
#include <random>
#include <string>

#include "nn/scalar.hpp"

namespace cae::nn {
inline namespace CAE_NN_ABI {

class Rng {
 public:
  explicit Rng(std::uint64_t seed = 1) : gen_(seed) {}

  Scalar uniform(Scalar lo = 0, Scalar hi = 1) {
    return std::uniform_real_distribution<Scalar>(lo, hi)(gen_);
  }
  Scalar normal(Scalar mean = 0, Scalar stddev = 1) {
    return std::normal_distribution<Scalar>(mean, stddev)(gen_);
  }
  // Uniform integer in [0, n).
  std::uint64_t below(std::uint64_t n) {
    return std::uniform_int_distribution<std::uint64_t>(0, n - 1)(gen_);
  }
  std::mt19937_64& engine() { return gen_; }

  // Text form of the full generator state (std::mt19937_64 stream format).
  std::string state() const;
  void setState(const std::string& s);

 private:
  std::mt19937_64 gen_;
};

}  // namespace CAE_NN_ABI
}  // namespace cae::nn
