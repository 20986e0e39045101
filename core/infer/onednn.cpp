#include "infer/onednn.hpp"

#include "infer/onednn_graph.hpp"

#if CAE_HAVE_ONEDNN
#include <dnnl.hpp>
#endif

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

bool nativeBf16() {
#if CAE_HAVE_ONEDNN
  // oneDNN's ISA values are nested bit sets: one containing avx512_core_bf16's bits has it.
  const auto isa = static_cast<unsigned>(dnnl::get_effective_cpu_isa());
  const auto bf16 = static_cast<unsigned>(dnnl::cpu_isa::avx512_core_bf16);
  return (isa & bf16) == bf16;
#else
  return false;
#endif
}

bool nativeInt8() {
#if CAE_HAVE_ONEDNN
  const auto isa = static_cast<unsigned>(dnnl::get_effective_cpu_isa());
  for (dnnl::cpu_isa want : {dnnl::cpu_isa::avx512_core_vnni, dnnl::cpu_isa::avx2_vnni}) {
    const auto bits = static_cast<unsigned>(want);
    if ((isa & bits) == bits) return true;
  }
  return false;
#else
  return false;
#endif
}

bool covers(const onnx::Graph& g, std::string* why) { return detail::analyse(g, nullptr, why); }

}  // namespace cae::infer::onednn
