#include "nn/rng.hpp"

#include <sstream>

#include "error.hpp"

namespace cae::nn {
inline namespace CAE_NN_ABI {

std::string Rng::state() const {
  std::ostringstream os;
  os << gen_;
  return os.str();
}

void Rng::setState(const std::string& s) {
  std::istringstream is(s);
  std::mt19937_64 g;
  is >> g;
  if (is.fail()) throw FormatError("random generator state is corrupt");
  gen_ = g;
}

}  // namespace CAE_NN_ABI
}  // namespace cae::nn
