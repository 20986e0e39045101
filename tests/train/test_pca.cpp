#define BOOST_TEST_MODULE pca
#include <Eigen/QR>
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <vector>

#include "error.hpp"
#include "io/image.hpp"
#include "io/patches.hpp"
#include "nn/losses/mse_loss.hpp"
#include "nn/optim/adam.hpp"
#include "onnx/export.hpp"
#include "onnx/onnx_util.hpp"
#include "train/pca.hpp"

using namespace cae;
using cae::nn::Tensor;
using cae::train::Pca;

namespace {

const char* kBrick = "/usr/lib/python3/dist-packages/skimage/data/brick.png";
const char* kGrass = "/usr/lib/python3/dist-packages/skimage/data/grass.png";

// Patches from the top three quarters (training) or the bottom quarter (held out) of an image,
// so held-out patches share no pixel with the training ones.
Tensor patches(const char* path, bool heldOut, int count, int size, std::uint64_t seed) {
  const Tensor image = io::readImage(path, io::ColorMode::Gray);
  const int h = image.shape().h, w = image.shape().w, split = h * 3 / 4;
  const Tensor part =
      heldOut ? io::crop(image, split, 0, h - split, w) : io::crop(image, 0, 0, split, w);
  nn::Rng rng(seed);
  Tensor out;
  io::samplePatches({part}, count, size, size, rng, out);
  return out;
}

struct Brick {
  Tensor train = patches(kBrick, false, 4000, 8, 1);
  Tensor held = patches(kBrick, true, 1000, 8, 2);
};

const Brick& brick() {
  static const Brick b;
  return b;
}

double mse(const Tensor& a, const Tensor& b) {
  double s = 0;
  for (std::size_t i = 0; i < a.size(); ++i) s += double(a[i] - b[i]) * double(a[i] - b[i]);
  return s / double(a.size());
}

// Reconstruction error of the best reconstruction from a given K-dim subspace (orthonormal Q).
double subspaceError(const Tensor& x, const Eigen::VectorXd& mean, const Eigen::MatrixXd& Q) {
  const int N = x.shape().n, D = int(x.shape().perSample());
  Eigen::MatrixXd X(N, D);
  for (int n = 0; n < N; ++n)
    for (int d = 0; d < D; ++d) X(n, d) = x.sample(n)[d] - mean[d];
  return (X - X * Q * Q.transpose()).squaredNorm() / double(x.size());
}

}  // namespace

BOOST_AUTO_TEST_SUITE(pca)

BOOST_AUTO_TEST_CASE(explained_variance_is_monotone_and_complete_at_k_equals_d) {
  Pca p;
  p.fit(brick().train, 64);
  BOOST_TEST(p.dims() == 64);
  BOOST_TEST(p.components() == 64);
  const std::vector<double> r = p.explainedVarianceRatio();
  double cumulative = 0;
  for (std::size_t j = 0; j < r.size(); ++j) {
    if (j > 0) BOOST_TEST(r[j] <= r[j - 1]);
    BOOST_TEST(r[j] >= 0.0);
    cumulative += r[j];
  }
  BOOST_TEST(cumulative == 1.0, boost::test_tools::tolerance(1e-9));
  BOOST_TEST(p.explainedVariance() == 1.0, boost::test_tools::tolerance(1e-9));
  BOOST_TEST_MESSAGE("brick 8x8: first component explains " << r[0] << ", first 8 "
                                                            << p.truncated(8).explainedVariance());
  // The basis is orthonormal.
  const Eigen::MatrixXd I = p.basis().transpose() * p.basis();
  BOOST_TEST((I - Eigen::MatrixXd::Identity(64, 64)).cwiseAbs().maxCoeff() < 1e-10);
}

BOOST_AUTO_TEST_CASE(reconstruction_error_falls_with_k_and_vanishes_at_k_equals_d) {
  Pca full;
  full.fit(brick().train, 64);
  double prevTrain = INFINITY, prevHeld = INFINITY;
  for (int k : {1, 2, 4, 8, 16, 32, 48, 64}) {
    const Pca p = full.truncated(k);
    const double tr = p.reconstructionError(brick().train);
    const double he = p.reconstructionError(brick().held);
    BOOST_TEST_MESSAGE("K=" << k << " train MSE " << tr << " held-out MSE " << he << " explained "
                            << p.explainedVariance());
    BOOST_TEST(tr < prevTrain);
    BOOST_TEST(he <= prevHeld);
    // On its training data the error is exactly the variance left out.
    const double n = brick().train.shape().n;
    const double leftOut = p.totalVariance() - p.variances().sum();
    BOOST_TEST(std::abs(tr * 64 * n / (n - 1) - leftOut) < 1e-9 * p.totalVariance());
    prevTrain = tr;
    prevHeld = he;
  }
  BOOST_TEST(prevTrain < 1e-20);
  BOOST_TEST(prevHeld < 1e-20);
  // Pca::reconstruct agrees with the error it reports (float output).
  const Pca p8 = full.truncated(8);
  BOOST_TEST(
      mse(p8.reconstruct(brick().held), brick().held) == p8.reconstructionError(brick().held),
      boost::test_tools::tolerance(1e-4));
  // Truncating a fit equals fitting fewer components.
  Pca direct;
  direct.fit(brick().train, 8);
  BOOST_TEST((direct.basis() - p8.basis()).cwiseAbs().maxCoeff() < 1e-8);
}

BOOST_AUTO_TEST_CASE(covariance_and_svd_solvers_agree) {
  // 16×16 grass patches, fewer samples than dimensions: the SVD path's case.
  const Tensor x = patches(kGrass, false, 200, 16, 3);
  Pca cov, svd;
  cov.fit(x, 32, Pca::Solver::Covariance);
  svd.fit(x, 32, Pca::Solver::Svd);
  BOOST_TEST(cov.dims() == 256);
  BOOST_TEST((cov.variances() - svd.variances()).cwiseAbs().maxCoeff() < 1e-9 * cov.variances()[0]);
  BOOST_TEST(cov.reconstructionError(x) == svd.reconstructionError(x),
             boost::test_tools::tolerance(1e-8));
  BOOST_TEST(cov.totalVariance() == svd.totalVariance(), boost::test_tools::tolerance(1e-12));
  BOOST_CHECK_THROW(svd.fit(x, 201, Pca::Solver::Svd), InvalidArgument);
}

BOOST_AUTO_TEST_CASE(pca_beats_a_random_projection) {
  const int K = 8;
  Pca p;
  p.fit(brick().train, K);
  nn::Rng rng(4);
  Eigen::MatrixXd G(64, K);
  for (Eigen::Index i = 0; i < G.size(); ++i) G.data()[i] = rng.normal();
  const Eigen::MatrixXd Q =
      Eigen::HouseholderQR<Eigen::MatrixXd>(G).householderQ() * Eigen::MatrixXd::Identity(64, K);
  const double random = subspaceError(brick().train, p.mean(), Q);
  const double pca = p.reconstructionError(brick().train);
  BOOST_TEST_MESSAGE("K=8 train MSE: PCA " << pca << ", random projection " << random);
  BOOST_TEST(pca < random);
  BOOST_TEST(subspaceError(brick().train, p.mean(), p.basis()) == pca,
             boost::test_tools::tolerance(1e-9));
}

BOOST_AUTO_TEST_CASE(pca_beats_a_trained_linear_autoencoder_of_the_same_k) {
  const int K = 8;
  const Tensor& data = brick().train;
  Pca p;
  p.fit(data, K);

  train::ArchSpec s;
  s.kind = train::ArchKind::Dense;
  s.channels = 1;
  s.height = s.width = 8;
  s.dense = {64, K};
  s.activation = "linear";
  train::BuiltModel ae = train::buildAutoencoder(s);
  nn::AdamOptions o;
  o.learningRate = 3e-3;
  nn::Adam adam(o);
  nn::MseLoss loss;
  nn::Rng rng(5);
  const int batch = 128;
  Tensor x({batch, 1, 8, 8}), grad;
  const double before = mse(ae.model.forward(data), data);
  for (int step = 0; step < 1500; ++step) {
    for (int b = 0; b < batch; ++b) {
      const int n = int(rng.below(std::uint64_t(data.shape().n)));
      std::copy(data.sample(n), data.sample(n) + 64, x.sample(b));
    }
    loss.compute(ae.model.forward(x), x, &grad);
    ae.model.backward(grad);
    adam.step(ae.model.params(), ae.model.grads());
  }
  const double aeErr = mse(ae.model.forward(data), data);
  const double pcaErr = p.reconstructionError(data);
  BOOST_TEST_MESSAGE("K=8 train MSE: linear AE " << before << " -> " << aeErr
                                                 << " after 1500 "
                                                    "Adam steps, PCA "
                                                 << pcaErr);
  BOOST_TEST(aeErr < before);
  BOOST_TEST(pcaErr <= aeErr * (1 + 1e-5));
}

BOOST_AUTO_TEST_CASE(pca_model_reproduces_reconstruct_in_the_engine_and_in_opencv) {
  Pca p;
  p.fit(brick().train, 12);
  train::BuiltModel b = p.toModel();
  const Tensor& x = brick().held;
  const Tensor want = p.reconstruct(x);
  Tensor engine = b.model.forward(x);
  double d = 0;
  for (std::size_t i = 0; i < want.size(); ++i)
    d = std::max(d, double(std::abs(engine[i] - want[i])));
  BOOST_TEST(d < 1e-5);

  // The encoder alone is Pca::encode.
  nn::Model enc = train::extractEncoder(p.spec(), b);
  const Tensor z = enc.forward(x), zWant = p.encode(x);
  double dz = 0;
  for (std::size_t i = 0; i < z.size(); ++i) dz = std::max(dz, double(std::abs(z[i] - zWant[i])));
  BOOST_TEST(dz < 1e-5);

  const std::string path = test::scratch().file("pca12.onnx");
  onnx::exportOnnx(b.model, path);
  onnx::checkOnnxFile(path);
  const test::Diff cv = test::compare(test::runOpenCv(path, x), want);
  BOOST_TEST(cv.sameCount);
  BOOST_TEST(cv.maxAbs < 1e-4);
  BOOST_TEST_MESSAGE("PCA K=12 through OpenCV: max abs " << cv.maxAbs);
}

BOOST_AUTO_TEST_CASE(bad_calls_are_refused) {
  Pca p;
  BOOST_CHECK_THROW(p.reconstruct(brick().held), InvalidArgument);
  BOOST_CHECK_THROW(p.toModel(), InvalidArgument);
  BOOST_CHECK_THROW(p.fit(brick().train, 0), InvalidArgument);
  BOOST_CHECK_THROW(p.fit(brick().train, 65), InvalidArgument);
  BOOST_CHECK_THROW(p.fit(Tensor({1, 1, 8, 8}, 0.5f), 1), InvalidArgument);
  p.fit(brick().train, 4);
  BOOST_CHECK_THROW(p.encode(Tensor({2, 1, 4, 4}, 0.f)), ShapeError);
  BOOST_CHECK_THROW(p.decode(Tensor({2, 5, 1, 1}, 0.f)), ShapeError);
  BOOST_CHECK_THROW(p.truncated(5), InvalidArgument);
}

BOOST_AUTO_TEST_SUITE_END()
