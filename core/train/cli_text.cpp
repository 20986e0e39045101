#include "train/cli_text.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdlib>

#include "error.hpp"

namespace cae::train {

std::vector<int> parseLayerSizes(const std::string& text) {
  std::vector<int> sizes;
  std::size_t at = 0;
  while (at <= text.size()) {
    std::size_t end = text.find_first_of("-,x", at);
    if (end == std::string::npos) end = text.size();
    const std::string part = text.substr(at, end - at);
    char* stop = nullptr;
    const long v = std::strtol(part.c_str(), &stop, 10);
    if (part.empty() || *stop || v < 1 || v > 1 << 24)
      throw InvalidArgument("bad layer sizes '" + text +
                            "': expected positive integers joined "
                            "by '-', e.g. 784-128-32-128-784");
    sizes.push_back(int(v));
    at = end + 1;
  }
  if (sizes.size() < 2)
    throw InvalidArgument("bad layer sizes '" + text + "': need at least input and code");
  return sizes;
}

std::vector<int> encoderSizes(const std::vector<int>& sizes) {
  const auto n = std::ptrdiff_t(sizes.size());
  if (n >= 3 && n % 2 == 1 && std::equal(sizes.begin(), sizes.begin() + n / 2, sizes.rbegin()))
    return std::vector<int>(sizes.begin(), sizes.begin() + n / 2 + 1);
  return sizes;
}

std::string shellJoin(int argc, const char* const* argv) {
  std::string out;
  for (int i = 0; i < argc; ++i) {
    const std::string a = argv[i];
    if (i) out += ' ';
    const bool plain = !a.empty() && a.find_first_not_of(
                                         "abcdefghijklmnopqrstuvwxyz"
                                         "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                         "0123456789-_./=:,+@%") == std::string::npos;
    if (plain) {
      out += a;
      continue;
    }
    out += '\'';
    for (char ch : a) out += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
    out += '\'';
  }
  return out;
}

}  // namespace cae::train
