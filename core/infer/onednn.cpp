#include "infer/onednn.hpp"

#include "infer/onednn_graph.hpp"

namespace cae::infer::onednn {

// One thread until bench/ has measured 1 against 2 under a competing load: a second OpenMP
// thread doubles the rate on an idle machine, but its idle pool spins (~6 ms of CPU after each
// forward with libgomp's default wait policy), which a loaded 2-core machine pays for.
const int kDefaultThreads = 1;

bool built() {
#if CAE_HAVE_ONEDNN
  return true;
#else
  return false;
#endif
}

bool covers(const onnx::Graph& g, std::string* why) { return detail::analyse(g, nullptr, why); }

}  // namespace cae::infer::onednn
