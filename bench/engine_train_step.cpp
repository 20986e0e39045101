// Training-step benchmark of the engine on CAE-REF: forward + backward + Adam on a batch of
// 16×1×64×64, plus the machine's Eigen sgemm rate as the ceiling. Prints one JSON line per
// measurement so bench/run_train_bench.sh can put it beside libtorch's figures.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "cae_ref.hpp"
#include "nn/losses/mse_loss.hpp"
#include "nn/optim/adam.hpp"
#include "nn/parallel.hpp"
#include "nn/rng.hpp"

using namespace cae;
using Clock = std::chrono::steady_clock;

namespace {

double seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Best-of sgemm rate for an m×k by k×n product.
double sgemmGflops(int m, int k, int n, int reps) {
  Eigen::MatrixXf a = Eigen::MatrixXf::Random(m, k), b = Eigen::MatrixXf::Random(k, n), c(m, n);
  c.noalias() = a * b;
  double best = 1e30;
  for (int r = 0; r < reps; ++r) {
    auto t0 = Clock::now();
    c.noalias() = a * b;
    best = std::min(best, seconds(t0, Clock::now()));
  }
  return 2.0 * m * k * n / best / 1e9;
}

}  // namespace

int main(int argc, char** argv) {
  int steps = argc > 1 ? std::atoi(argv[1]) : 20;
  const int batch = 16, size = 64;
  nn::Model model = bench::makeCaeRef(size, size);
  model.initialize(1);
  nn::Rng rng(2);
  nn::Tensor x({batch, 1, size, size}), dy;
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = rng.uniform(0, 1);
  const double fwd = bench::forwardFlops(model, size, size);
  // Forward + backward ≈ 3× forward: weight and input gradients each cost one forward's GEMMs.
  const double stepFlops = 3.0 * fwd * batch;

  nn::Adam adam;  // lr 1e-3, as the libtorch side
  nn::MseLoss mse;
  std::vector<double> times, tf, tb;
  for (int s = 0; s < steps + 3; ++s) {
    auto t0 = Clock::now();
    const nn::Tensor& y = model.forward(x);
    auto t1 = Clock::now();
    mse.compute(y, x, &dy);
    model.backward(dy);
    adam.step(model.params(), model.grads());
    auto t2 = Clock::now();
    if (s >= 3) {
      times.push_back(seconds(t0, t2));
      tf.push_back(seconds(t0, t1));
      tb.push_back(seconds(t1, t2));
    }
  }
  const double ms = median(times) * 1e3;
  std::printf(
      "{\"impl\":\"cae\",\"threads\":%d,\"ms_per_step\":%.2f,\"fwd_ms\":%.2f,\"bwd_adam_ms\":%.2f,"
      "\"patches_per_s\":%.1f,\"gflops\":%.2f,\"gflop_per_patch_fwd\":%.4f}\n",
      nn::threads(), ms, median(tf) * 1e3, median(tb) * 1e3, batch / (ms / 1e3),
      stepFlops / (ms / 1e3) / 1e9, fwd / 1e9);
  std::printf(
      "{\"impl\":\"eigen-sgemm\",\"threads\":%d,\"gflops_1024\":%.2f,\"gflops_conv\":%.2f}\n",
      nn::threads(), sgemmGflops(1024, 1024, 1024, 5), sgemmGflops(64, 576, 4096, 10));
  return 0;
}
