// The same training step as engine_train_step.cpp — CAE-REF, batch 16×1×64×64, MSE,
// forward + backward + Adam — in Debian's libtorch (the PyTorch C++ library), for comparison
// in the same run. Prints one JSON line.
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

namespace {

struct CaeRef : torch::nn::Module {
  CaeRef() {
    auto conv = [](int ci, int co, int s) {
      return torch::nn::Conv2d(torch::nn::Conv2dOptions(ci, co, 3).stride(s).padding(1));
    };
    auto convT = [](int ci, int co) {
      return torch::nn::ConvTranspose2d(
          torch::nn::ConvTranspose2dOptions(ci, co, 4).stride(2).padding(1));
    };
    e1 = register_module("e1", conv(1, 32, 1));
    e2 = register_module("e2", conv(32, 64, 2));
    e3 = register_module("e3", conv(64, 64, 1));
    e4 = register_module("e4", conv(64, 64, 2));
    d1 = register_module("d1", convT(64, 64));
    d2 = register_module("d2", convT(64, 32));
    out = register_module("out", conv(32, 1, 1));
  }
  torch::Tensor forward(const torch::Tensor& x) {
    auto h = torch::relu(e1(x));
    h = torch::relu(e2(h));
    h = torch::relu(e3(h));
    h = torch::relu(e4(h));
    h = torch::relu(d1(h));
    h = torch::relu(d2(h));
    return out(h) + x;
  }
  torch::nn::Conv2d e1{nullptr}, e2{nullptr}, e3{nullptr}, e4{nullptr}, out{nullptr};
  torch::nn::ConvTranspose2d d1{nullptr}, d2{nullptr};
};

}  // namespace

int main(int argc, char** argv) {
  const int steps = argc > 1 ? std::atoi(argv[1]) : 10;
  const int threads = argc > 2 ? std::atoi(argv[2]) : 2;
  torch::set_num_threads(threads);
  torch::manual_seed(1);
  CaeRef model;
  torch::optim::Adam opt(model.parameters(), torch::optim::AdamOptions(1e-3));
  auto x = torch::rand({16, 1, 64, 64});
  std::vector<double> times;
  for (int s = 0; s < steps + 2; ++s) {
    auto t0 = std::chrono::steady_clock::now();
    opt.zero_grad();
    auto loss = torch::mse_loss(model.forward(x), x);
    loss.backward();
    opt.step();
    auto t1 = std::chrono::steady_clock::now();
    if (s >= 2) times.push_back(std::chrono::duration<double>(t1 - t0).count());
  }
  std::sort(times.begin(), times.end());
  const double ms = times[times.size() / 2] * 1e3;
  std::printf(
      "{\"impl\":\"libtorch\",\"version\":\"%s\",\"threads\":%d,\"ms_per_step\":%.2f,"
      "\"patches_per_s\":%.1f}\n",
      TORCH_VERSION, threads, ms, 16 / (ms / 1e3));
  return 0;
}
