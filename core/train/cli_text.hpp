// Text a command line gives the trainer: dense layer sizes, and the command itself quoted back
// into a shell line (cae.recipe).
#pragma once

#include <string>
#include <vector>

namespace cae::train {

// Parses "784-128-32-128-784" (or "784,128,32"); InvalidArgument when malformed.
std::vector<int> parseLayerSizes(const std::string& text);
// The encoder half of a mirrored size list ({784,128,32,128,784} → {784,128,32}); a list that
// is not a mirror is taken as the encoder already.
std::vector<int> encoderSizes(const std::vector<int>& sizes);

// Quotes argv for a POSIX shell so cae.recipe can be pasted back.
std::string shellJoin(int argc, const char* const* argv);

}  // namespace cae::train
