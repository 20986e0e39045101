#include "nn/regularizers/contractive_estimate.hpp"

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "error.hpp"

namespace cae::nn {
inline namespace CAE_NN_ABI {

namespace {

// Restores the model's output node when the estimate leaves, exceptions included.
class OutputGuard {
 public:
  OutputGuard(Model& m, int node) : m_(m), keep_(m.output()) { m_.setOutput(node); }
  ~OutputGuard() { m_.setOutput(keep_); }
  OutputGuard(const OutputGuard&) = delete;
  OutputGuard& operator=(const OutputGuard&) = delete;

 private:
  Model& m_;
  int keep_;
};

}  // namespace

ContractiveEstimate::ContractiveEstimate(double lambda, double sigma, int samples)
    : lambda_(lambda), sigma_(sigma), samples_(samples) {
  if (!(lambda >= 0)) throw InvalidArgument("ContractiveEstimate: lambda must be >= 0");
  if (!(sigma > 0)) throw InvalidArgument("ContractiveEstimate: sigma must be > 0");
  if (samples < 1) throw InvalidArgument("ContractiveEstimate: samples must be >= 1");
}

double ContractiveEstimate::compute(Model& model, const Tensor& x, Rng& rng, bool addGradient,
                                    int codeNode) const {
  if (!model.compiled()) throw InvalidArgument("ContractiveEstimate: model is not compiled");
  if (codeNode < 0) codeNode = model.output();
  if (codeNode < 1 || codeNode >= model.numNodes())
    throw InvalidArgument("ContractiveEstimate: no code node " + std::to_string(codeNode));
  const Shape s = x.shape();
  const int N = s.n, K = samples_;
  if (N < 1) throw ShapeError("ContractiveEstimate: empty batch " + s.str());
  const std::size_t per = s.perSample();

  // Samples [0, N) are clean; [N (k+1), N (k+2)) are copy k with noise.
  Tensor stacked({N * (K + 1), s.c, s.h, s.w});
  std::copy(x.data(), x.data() + x.size(), stacked.data());
  std::normal_distribution<Scalar> normal(0, Scalar(sigma_));
  for (int k = 0; k < K; ++k)
    for (int n = 0; n < N; ++n) {
      const Scalar* src = x.sample(n);
      Scalar* dst = stacked.sample(N * (k + 1) + n);
      for (std::size_t i = 0; i < per; ++i) dst[i] = src[i] + normal(rng.engine());
    }

  OutputGuard guard(model, codeNode);
  model.forward(stacked);
  const Tensor& h = model.activation(codeNode);
  const std::size_t hper = h.shape().perSample();
  const double c = lambda_ / (double(N) * K * sigma_ * sigma_);

  Tensor seed(h.shape(), Scalar(0));
  double sum = 0;
  for (int k = 0; k < K; ++k)
    for (int n = 0; n < N; ++n) {
      const Scalar* h0 = h.sample(n);
      const Scalar* hk = h.sample(N * (k + 1) + n);
      Scalar* g0 = seed.sample(n);
      Scalar* gk = seed.sample(N * (k + 1) + n);
      for (std::size_t i = 0; i < hper; ++i) {
        const double d = double(hk[i]) - double(h0[i]);
        sum += d * d;
        gk[i] = Scalar(2 * c * d);
        g0[i] -= Scalar(2 * c * d);
      }
    }

  if (addGradient) {
    const Vec keep = model.grads();
    model.backward({{codeNode, &seed}});
    model.grads() += keep;
  }
  return c * sum;
}

}  // namespace CAE_NN_ABI
}  // namespace cae::nn
