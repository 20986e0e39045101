#include "train/pca.hpp"

#include <Eigen/Eigenvalues>
#include <Eigen/SVD>

#include "error.hpp"

namespace cae::train {
namespace {

using RowMatD = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

Eigen::Map<const Eigen::Matrix<nn::Scalar, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>> rows(
    const nn::Tensor& x) {
  return {x.data(), Eigen::Index(x.shape().n), Eigen::Index(x.shape().perSample())};
}

nn::Tensor fromRows(const RowMatD& m, nn::Shape s) {
  nn::Tensor t(s);
  Eigen::Map<Eigen::Matrix<nn::Scalar, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(
      t.data(), m.rows(), m.cols()) = m.cast<nn::Scalar>();
  return t;
}

}  // namespace

void Pca::fit(const nn::Tensor& samples, int components, Solver solver) {
  const nn::Shape s = samples.shape();
  const int N = s.n, D = int(s.perSample());
  if (N < 2 || D < 1) throw InvalidArgument("pca: needs at least 2 samples, got " + s.str());
  if (components < 1 || components > D)
    throw InvalidArgument("pca: the number of components must be between 1 and the sample size " +
                          std::to_string(D) + ", got " + std::to_string(components));
  if (solver == Solver::Auto) solver = D <= kMaxCovarianceDims ? Solver::Covariance : Solver::Svd;
  if (solver == Solver::Svd && components > N)
    throw InvalidArgument("pca: " + std::to_string(components) +
                          " components need at least as "
                          "many samples, got " +
                          std::to_string(N));

  shape_ = {1, s.c, s.h, s.w};
  mean_ = rows(samples).cast<double>().colwise().mean().transpose();
  k_ = 0;  // centred() needs dims() only
  const Eigen::MatrixXd X = centred(samples);
  total_ = X.squaredNorm() / double(N - 1);

  if (solver == Solver::Covariance) {
    const Eigen::MatrixXd cov = (X.transpose() * X) / double(N - 1);
    Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(cov);
    if (es.info() != Eigen::Success) throw Error("pca: the eigen-decomposition did not converge");
    // Eigenvalues come in increasing order: the last K are the principal ones.
    basis_ = es.eigenvectors().rightCols(components).rowwise().reverse();
    var_ = es.eigenvalues().tail(components).reverse().cwiseMax(0.0);
  } else {
    Eigen::BDCSVD<Eigen::MatrixXd> svd(X, Eigen::ComputeThinV);
    basis_ = svd.matrixV().leftCols(components);
    var_ = svd.singularValues().head(components).array().square() / double(N - 1);
  }
  // A fixed sign per component, so fits are repeatable across solvers and machines.
  for (int j = 0; j < components; ++j) {
    Eigen::Index i;
    basis_.col(j).cwiseAbs().maxCoeff(&i);
    if (basis_(i, j) < 0) basis_.col(j) = -basis_.col(j);
  }
  k_ = components;
}

Pca Pca::truncated(int k) const {
  requireFitted("truncated");
  if (k < 1 || k > k_)
    throw InvalidArgument("pca: cannot keep " + std::to_string(k) + " of " + std::to_string(k_) +
                          " components");
  Pca p = *this;
  p.k_ = k;
  p.basis_ = basis_.leftCols(k);
  p.var_ = var_.head(k);
  return p;
}

std::vector<double> Pca::explainedVarianceRatio() const {
  requireFitted("explainedVarianceRatio");
  std::vector<double> r(std::size_t(k_), 0.0);
  for (int j = 0; j < k_; ++j) r[std::size_t(j)] = total_ > 0 ? var_[j] / total_ : 0.0;
  return r;
}

double Pca::explainedVariance() const {
  requireFitted("explainedVariance");
  return total_ > 0 ? var_.sum() / total_ : 1.0;
}

void Pca::requireFitted(const char* what) const {
  if (!fitted()) throw InvalidArgument(std::string("pca: ") + what + "() before fit()");
}

Eigen::MatrixXd Pca::centred(const nn::Tensor& x) const {
  if (int(x.shape().perSample()) != dims())
    throw ShapeError("pca: fitted on samples of " + shape_.str() + ", given " + x.shape().str());
  return rows(x).cast<double>().rowwise() - mean_.transpose();
}

nn::Tensor Pca::encode(const nn::Tensor& x) const {
  requireFitted("encode");
  const RowMatD z = centred(x) * basis_;
  return fromRows(z, {x.shape().n, k_, 1, 1});
}

nn::Tensor Pca::decode(const nn::Tensor& z) const {
  requireFitted("decode");
  if (int(z.shape().perSample()) != k_)
    throw ShapeError("pca: decode() expects " + std::to_string(k_) + " values per sample, got " +
                     z.shape().str());
  const RowMatD y = (rows(z).cast<double>() * basis_.transpose()).rowwise() + mean_.transpose();
  return fromRows(y, {z.shape().n, shape_.c, shape_.h, shape_.w});
}

nn::Tensor Pca::reconstruct(const nn::Tensor& x) const {
  requireFitted("reconstruct");
  const Eigen::MatrixXd X = centred(x);
  const RowMatD y = (X * basis_ * basis_.transpose()).rowwise() + mean_.transpose();
  return fromRows(y, x.shape());
}

double Pca::reconstructionError(const nn::Tensor& x) const {
  requireFitted("reconstructionError");
  const Eigen::MatrixXd X = centred(x);
  // The residual of the orthogonal projection, without a float round trip.
  const Eigen::MatrixXd r = X - X * basis_ * basis_.transpose();
  return r.squaredNorm() / double(x.size());
}

ArchSpec Pca::spec() const {
  requireFitted("spec");
  ArchSpec s;
  s.kind = ArchKind::Pca;
  s.channels = shape_.c;
  s.height = shape_.h;
  s.width = shape_.w;
  s.latent = k_;
  return s;
}

BuiltModel Pca::toModel() const {
  BuiltModel b = buildAutoencoder(spec());
  nn::Model& m = b.model;
  const int D = dims(), K = k_;
  const Eigen::MatrixXd W = basis_.transpose();  // K×D
  nn::Scalar* enc = m.layer(m.findNode("enc0")).w();
  nn::Scalar* dec = m.layer(m.findNode("dec0")).w();
  // Dense stores W[out][in] row-major, then the bias.
  Eigen::Map<Eigen::Matrix<nn::Scalar, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(
      enc, K, D) = W.cast<nn::Scalar>();
  Eigen::Map<Eigen::Matrix<nn::Scalar, Eigen::Dynamic, 1>>(enc + std::size_t(K) * D, K) =
      (-(W * mean_)).cast<nn::Scalar>();
  Eigen::Map<Eigen::Matrix<nn::Scalar, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(
      dec, D, K) = basis_.cast<nn::Scalar>();
  Eigen::Map<Eigen::Matrix<nn::Scalar, Eigen::Dynamic, 1>>(dec + std::size_t(D) * K, D) =
      mean_.cast<nn::Scalar>();
  return b;
}

}  // namespace cae::train
