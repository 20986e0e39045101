#define BOOST_TEST_MODULE training
#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <cstdio>
#include <memory>

#include "io/image.hpp"
#include "io/metrics.hpp"
#include "io/patches.hpp"
#include "nn/corruption/gaussian_noise.hpp"
#include "nn/layers/activation.hpp"
#include "nn/layers/conv2d.hpp"
#include "nn/layers/conv_transpose2d.hpp"
#include "nn/layers/merge.hpp"
#include "nn/losses/mse_loss.hpp"
#include "nn/model.hpp"
#include "nn/optim/adam.hpp"
#include "nn/rng.hpp"

using namespace cae::nn;
namespace io = cae::io;

namespace {

// A real texture from python3-skimage (not in the evaluation test list).
const char* kImage = "/usr/lib/python3/dist-packages/skimage/data/brick.png";

// Denoising convolutional autoencoder with a residual connection: the branch learns -noise.
Model makeDenoiser() {
  Model m(Shape{1, 1, 32, 32});
  m.add(std::make_unique<Conv2d>(Conv2dOptions{1, 16, 3, 0, 0, 1, 1}));
  m.add(std::make_unique<ReLU>());
  m.add(std::make_unique<Conv2d>(Conv2dOptions{16, 16, 3, 0, 0, 2, 1}));
  m.add(std::make_unique<ReLU>());
  m.add(std::make_unique<ConvTranspose2d>(ConvTranspose2dOptions{16, 16, 4, 2, 1}));
  m.add(std::make_unique<ReLU>());
  const int r = m.add(std::make_unique<Conv2d>(Conv2dOptions{16, 1, 3, 0, 0, 1, 1}));
  m.add(std::make_unique<Add>(), {r, Model::kInput});
  m.compile();
  m.initialize(1);
  // Zero last layer: the model starts as the identity, i.e. at the noisy input's PSNR.
  Layer& last = m.layer(r);
  std::fill(last.w(), last.w() + last.numParams(), Scalar(0));
  return m;
}

}  // namespace

BOOST_AUTO_TEST_CASE(denoising_autoencoder_beats_the_noisy_input_on_held_out_patches) {
  const Tensor image = io::readImage(kImage, io::ColorMode::Gray);
  const int h = image.shape().h, w = image.shape().w;
  // Top three quarters train, bottom quarter validates: no validation pixel is ever trained on.
  const int split = h * 3 / 4;
  const std::vector<Tensor> train{io::crop(image, 0, 0, split, w)};
  const std::vector<Tensor> held{io::crop(image, split, 0, h - split, w)};

  const GaussianNoise noise(Scalar(25.0 / 255));
  Rng valRng(123);
  Tensor valClean, valNoisy;
  io::samplePatches(held, 64, 32, 32, valRng, valClean);
  noise.apply(valClean, valNoisy, valRng);
  const double noisyPsnr = io::psnr(valNoisy, valClean);

  Model model = makeDenoiser();
  Adam adam(AdamOptions{2e-3});
  const MseLoss mse;
  Rng rng(7);
  Tensor clean, noisy, grad;
  // 60 steps take about 2 s on one idle core; the wall-clock cap bounds a loaded machine's run.
  const int maxSteps = 60, batch = 16;
  const double maxSeconds = 10;
  const auto t0 = std::chrono::steady_clock::now();
  const auto elapsed = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  };
  double loss = 0;
  int steps = 0;
  while (steps < maxSteps && elapsed() < maxSeconds) {
    io::samplePatches(train, batch, 32, 32, rng, clean);
    noise.apply(clean, noisy, rng);
    loss = mse.compute(model.forward(noisy), clean, &grad);
    model.backward(grad);
    adam.step(model.params(), model.grads());
    ++steps;
  }
  const double seconds = elapsed();

  Tensor denoised = model.forward(valNoisy);
  denoised.vec() = denoised.vec().cwiseMax(Scalar(0)).cwiseMin(Scalar(1));
  const double denoisedPsnr = io::psnr(denoised, valClean);
  std::printf(
      "training: %d steps x %d patches 32x32 of brick.png in %.1f s (%.0f patches/s), "
      "last loss %.5f\n",
      steps, batch, seconds, steps * batch / seconds, loss);
  std::printf("held-out PSNR: noisy %.2f dB -> denoised %.2f dB (%+.2f dB)\n", noisyPsnr,
              denoisedPsnr, denoisedPsnr - noisyPsnr);
  BOOST_TEST(noisyPsnr > 19.5);  // sigma 25/255 on [0,1] data: about 20.2 dB
  BOOST_TEST(noisyPsnr < 21.0);
  BOOST_TEST(denoisedPsnr > noisyPsnr + 3.0);  // +7.5 dB after 60 steps
}
