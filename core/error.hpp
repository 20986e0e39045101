// Typed errors thrown inside libcae. Tools and elements catch them at their edge.
#pragma once

#include <stdexcept>
#include <string>

namespace cae {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A file or byte stream is not what it claims to be (truncated, corrupt, wrong magic).
class FormatError : public Error {
 public:
  using Error::Error;
};

// Tensor shapes do not fit together.
class ShapeError : public Error {
 public:
  using Error::Error;
};

// A file could not be opened, read or written.
class IoError : public Error {
 public:
  using Error::Error;
};

// A caller passed a value outside what the function accepts.
class InvalidArgument : public Error {
 public:
  using Error::Error;
};

}  // namespace cae
