// PCA against autoencoders where deep autoencoders are known to win (Hinton & Salakhutdinov,
// "Reducing the dimensionality of data with neural networks", Science 2006): 28×28 images
// (Fashion-MNIST, D = 784), a deep dense autoencoder with a linear code layer, beside PCA and a
// linear autoencoder (one linear layer each way) of the same code size K.
//
// The 60k training images are split once (fixed permutation) into a training part and a
// validation part; hyper-parameters and the kept epoch are chosen on validation only. The 10k
// test images are read only with --test, and then only for the final numbers.
// Prints one JSON line per (method, K); method pca-sweep: PCA at K = 4…256. Trained directly on the
// core/nn engine (Adam, cosine).
//
//   bench_pca_vs_ae_fmnist --latent 8,16,32,64 --methods pca,linear-ae,deep-ae --test
//   bench_pca_vs_ae_fmnist --latent 32 --methods deep-ae --train-n 20000 --epochs 2 --lr 3e-3
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <numeric>
#include <sstream>
#include <string>
#include <vector>

#include "io/idx.hpp"
#include "nn/layers/activation.hpp"
#include "nn/layers/dense.hpp"
#include "nn/losses/mse_loss.hpp"
#include "nn/model.hpp"
#include "nn/optim/adam.hpp"
#include "nn/optim/cosine_schedule.hpp"
#include "nn/parallel.hpp"
#include "nn/rng.hpp"
#include "train/pca.hpp"

using namespace cae;

namespace {

const char* kData = "/usr/share/datasets/fashion-mnist/";
const int kDims = 28 * 28;

struct Options {
  std::vector<int> latents{8, 16, 32, 64};
  std::vector<std::string> methods{"pca", "linear-ae", "deep-ae"};
  std::vector<int> hidden{1000, 500, 250};  // encoder widths; the decoder mirrors them
  std::string act = "relu";                 // hidden layers; the code layer is always linear
  std::string out = "sigmoid";              // output layer: sigmoid or linear
  double lr = 1e-3, linearLr = 3e-3;
  int epochs = 20, linearEpochs = 20, batch = 128;
  int trainN = 50000, valN = 10000;  // carved from the 60k training images
  int seed = 1, threads = 1;
  bool test = false;  // also report the held-out test split (final runs only)
};

std::vector<int> intList(const std::string& s) {
  std::vector<int> v;
  std::stringstream ss(s);
  for (std::string t; std::getline(ss, t, ',');) v.push_back(std::stoi(t));
  return v;
}

std::vector<std::string> strList(const std::string& s) {
  std::vector<std::string> v;
  std::stringstream ss(s);
  for (std::string t; std::getline(ss, t, ',');) v.push_back(t);
  return v;
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--test") {
      o.test = true;
      continue;
    }
    if (i + 1 >= argc) throw std::runtime_error("missing value after " + a);
    const std::string v = argv[++i];
    if (a == "--latent")
      o.latents = intList(v);
    else if (a == "--methods")
      o.methods = strList(v);
    else if (a == "--hidden")
      o.hidden = intList(v);
    else if (a == "--act")
      o.act = v;
    else if (a == "--out")
      o.out = v;
    else if (a == "--lr")
      o.lr = std::stod(v);
    else if (a == "--linear-lr")
      o.linearLr = std::stod(v);
    else if (a == "--epochs")
      o.epochs = std::stoi(v);
    else if (a == "--linear-epochs")
      o.linearEpochs = std::stoi(v);
    else if (a == "--batch")
      o.batch = std::stoi(v);
    else if (a == "--train-n")
      o.trainN = std::stoi(v);
    else if (a == "--val-n")
      o.valN = std::stoi(v);
    else if (a == "--seed")
      o.seed = std::stoi(v);
    else if (a == "--threads")
      o.threads = std::stoi(v);
    else
      throw std::runtime_error("unknown option " + a);
  }
  if (o.trainN + o.valN > 60000) throw std::runtime_error("--train-n + --val-n exceed 60000");
  return o;
}

// Rows `idx` of a {N, 784, 1, 1} set, in that order.
nn::Tensor gather(const nn::Tensor& all, const std::vector<int>& idx, std::size_t from,
                  std::size_t count) {
  nn::Tensor t({int(count), kDims, 1, 1});
  for (std::size_t i = 0; i < count; ++i)
    std::copy_n(all.sample(idx[from + i]), kDims, t.sample(int(i)));
  return t;
}

// The images as flat 784-feature samples: dense layers need no Flatten/Reshape then.
nn::Tensor readFlat(const std::string& file) {
  nn::Tensor img = io::readIdxImages(kData + file);
  nn::Tensor flat({img.shape().n, kDims, 1, 1});
  std::copy_n(img.data(), img.size(), flat.data());
  return flat;
}

struct Split {
  nn::Tensor train, val, test;
};

Split loadSplit(const Options& o) {
  const nn::Tensor all = readFlat("train-images-idx3-ubyte.gz");
  std::vector<int> perm(all.shape().n);
  std::iota(perm.begin(), perm.end(), 0);
  // The split is fixed (seed 2006) whatever --seed says, so trials all see the same validation set.
  nn::Rng rng(2006);
  std::shuffle(perm.begin(), perm.end(), rng.engine());
  Split s;
  s.val = gather(all, perm, 0, o.valN);  // validation first: --train-n never moves it
  s.train = gather(all, perm, o.valN, o.trainN);
  if (o.test) s.test = readFlat("t10k-images-idx3-ubyte.gz");
  return s;
}

std::unique_ptr<nn::Layer> activation(const std::string& name) {
  if (name == "relu") return std::make_unique<nn::ReLU>();
  if (name == "leaky") return std::make_unique<nn::LeakyReLU>();
  if (name == "sigmoid") return std::make_unique<nn::Sigmoid>();
  if (name == "tanh") return std::make_unique<nn::Tanh>();
  throw std::runtime_error("unknown activation " + name);
}

// 784-h1-…-hn-K (linear code) -hn-…-h1-784; hidden = {} gives the linear autoencoder.
nn::Model buildAutoencoder(const std::vector<int>& hidden, int k, const std::string& act,
                           const std::string& out, int seed) {
  nn::Model m({1, kDims, 1, 1});
  std::vector<int> widths{kDims};
  widths.insert(widths.end(), hidden.begin(), hidden.end());
  widths.push_back(k);
  for (std::size_t i = 0; i + 1 < widths.size(); ++i) {  // encoder
    m.add(std::make_unique<nn::Dense>(widths[i], widths[i + 1]));
    if (i + 2 < widths.size()) m.add(activation(act));
  }
  for (std::size_t i = widths.size() - 1; i > 0; --i) {  // decoder, mirrored
    m.add(std::make_unique<nn::Dense>(widths[i], widths[i - 1]));
    if (i > 1) m.add(activation(act));
  }
  if (out != "linear") m.add(activation(out));
  m.compile();
  m.initialize(std::uint64_t(seed));
  return m;
}

double mseOn(nn::Model& m, const nn::Tensor& set) {
  const int n = set.shape().n, chunk = 1000;
  double sum = 0;
  for (int i = 0; i < n; i += chunk) {
    const int c = std::min(chunk, n - i);
    nn::Tensor x({c, kDims, 1, 1});
    std::copy_n(set.sample(i), std::size_t(c) * kDims, x.data());
    sum += (m.forward(x).vec() - x.vec()).squaredNorm();
  }
  return sum / double(set.size());
}

double seconds(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

struct Fit {
  double valMse = 0, trainS = 0;
  int epochs = 0, bestEpoch = 0;
};

// Adam with a cosine schedule over all steps; keeps the weights of the epoch with the lowest
// validation error (early stopping without stopping, so every run costs the same).
Fit trainAutoencoder(nn::Model& m, const Split& d, double lr, int epochs, int batch, int seed,
                     const std::string& tag) {
  const int n = d.train.shape().n, steps = n / batch;
  nn::Adam adam({lr});
  nn::CosineSchedule sched(lr, std::uint64_t(steps) * epochs, std::uint64_t(steps) / 2);
  nn::MseLoss loss;
  nn::Rng rng(std::uint64_t(seed) + 7);
  std::vector<int> order(n);
  std::iota(order.begin(), order.end(), 0);
  nn::Tensor grad;
  std::vector<nn::Scalar> best(m.params().data(), m.params().data() + m.numParams());
  Fit f;
  f.epochs = epochs;
  f.valMse = mseOn(m, d.val);
  const auto t0 = std::chrono::steady_clock::now();
  for (int e = 1; e <= epochs; ++e) {
    std::shuffle(order.begin(), order.end(), rng.engine());
    double trainLoss = 0;
    for (int s = 0; s < steps; ++s) {
      const nn::Tensor x = gather(d.train, order, std::size_t(s) * batch, batch);
      adam.setLearningRate(sched.lr(adam.steps()));
      trainLoss += loss.compute(m.forward(x), x, &grad);
      m.backward(grad);
      adam.step(m.params(), m.grads());
    }
    const double val = mseOn(m, d.val);
    std::fprintf(stderr, "%s epoch %d/%d: train %.6f val %.6f (%.0f s)\n", tag.c_str(), e, epochs,
                 trainLoss / steps, val, seconds(t0));
    if (val < f.valMse || e == 1) {
      f.valMse = val;
      f.bestEpoch = e;
      std::copy_n(m.params().data(), best.size(), best.begin());
    }
  }
  f.trainS = seconds(t0);
  std::copy(best.begin(), best.end(), m.params().data());
  return f;
}

void report(const std::string& method, int k, const Options& o, double val, double test,
            const Fit& f, const std::string& arch) {
  std::printf(
      "{\"data\":\"fashion-mnist\",\"method\":\"%s\",\"latent\":%d,\"arch\":\"%s\","
      "\"val_mse\":%.6g,\"val_psnr\":%.3f",
      method.c_str(), k, arch.c_str(), val, 10 * std::log10(1.0 / val));
  if (o.test) std::printf(",\"mse\":%.6g,\"psnr\":%.3f", test, 10 * std::log10(1.0 / test));
  std::printf(
      ",\"epochs\":%d,\"best_epoch\":%d,\"batch\":%d,\"train_s\":%.1f,\"train_n\":%d,"
      "\"seed\":%d}\n",
      f.epochs, f.bestEpoch, o.batch, f.trainS, o.trainN, o.seed);
  std::fflush(stdout);
}

std::string archName(const Options& o, int k) {
  std::string s = "784";
  for (int h : o.hidden) s += "-" + std::to_string(h);
  s += "-" + std::to_string(k);
  for (auto it = o.hidden.rbegin(); it != o.hidden.rend(); ++it) s += "-" + std::to_string(*it);
  return s + "-784 " + o.act + ", " + o.out + " out, lr " + std::to_string(o.lr).substr(0, 6);
}

// PCA fitted once; "pca-sweep" reports many more K, to say how many PCA components match a
// deep AE's code.
void runPca(const Options& o, const Split& d, const std::string& method) {
  const std::vector<int> ks =
      method == "pca" ? o.latents : std::vector<int>{4,  6,  8,  12, 16, 20,  24,  32,
                                                     40, 48, 64, 80, 96, 128, 192, 256};
  const auto t0 = std::chrono::steady_clock::now();
  train::Pca full;
  full.fit(d.train, *std::max_element(ks.begin(), ks.end()));
  Fit f;
  f.trainS = seconds(t0);
  for (int k : ks) {
    const train::Pca p = full.truncated(k);
    report(method, k, o, p.reconstructionError(d.val), o.test ? p.reconstructionError(d.test) : 0,
           f, "784-" + std::to_string(k) + "-784");
  }
}

void runAutoencoder(const Options& o, const Split& d, const std::string& method, int k) {
  const bool deep = method == "deep-ae";
  const std::vector<int> hidden = deep ? o.hidden : std::vector<int>{};
  // The linear AE has a linear output too: it is the model PCA is the optimum of.
  nn::Model m = buildAutoencoder(hidden, k, o.act, deep ? o.out : "linear", o.seed);
  const std::string tag = method + " K=" + std::to_string(k);
  const Fit f = trainAutoencoder(m, d, deep ? o.lr : o.linearLr, deep ? o.epochs : o.linearEpochs,
                                 o.batch, o.seed, tag);
  const std::string arch = deep ? archName(o, k)
                                : "784-" + std::to_string(k) + "-784 linear, lr " +
                                      std::to_string(o.linearLr).substr(0, 6);
  report(method, k, o, f.valMse, o.test ? mseOn(m, d.test) : 0, f, arch);
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const Options o = parse(argc, argv);
    nn::setThreads(o.threads);
    const Split d = loadSplit(o);
    for (const std::string& method : o.methods) {
      if (method == "pca" || method == "pca-sweep")
        runPca(o, d, method);
      else if (method == "linear-ae" || method == "deep-ae")
        for (int k : o.latents) runAutoencoder(o, d, method, k);
      else
        throw std::runtime_error("unknown method " + method);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_pca_vs_ae_fmnist: %s\n", e.what());
    return 1;
  }
  return 0;
}
