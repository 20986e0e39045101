// Principal component analysis: the linear baseline every autoencoder in cae-train is compared
// with. A linear autoencoder with K hidden units trained on squared error at best spans the
// subspace of the first K principal components (Baldi & Hornik, "Neural networks and principal
// component analysis: learning from examples without local minima", Neural Networks 1989), so
// PCA's reconstruction error is the floor every linear AE of the same K can only reach.
//
//   cae::train::Pca pca;
//   pca.fit(patches, 16);                           // {N, C, H, W}, K = 16
//   double mse = pca.reconstructionError(heldOut);
//   cae::onnx::exportOnnx(pca.toModel().model, "pca16.onnx");
#pragma once

#include <Eigen/Core>
#include <vector>

#include "nn/tensor.hpp"
#include "train/architecture.hpp"

namespace cae::train {

class Pca {
 public:
  enum class Solver {
    Auto,        // Covariance up to kMaxCovarianceDims dimensions, Svd beyond
    Covariance,  // eigen-decomposition of the D×D covariance (SelfAdjointEigenSolver)
    Svd,         // BDCSVD of the centred N×D data; K ≤ N
  };
  static constexpr int kMaxCovarianceDims = 4096;

  // Fits on samples {N, C, H, W} (N ≥ 2), keeping `components` (1 ≤ K ≤ C·H·W). Arithmetic in
  // double precision. InvalidArgument for an empty set or K out of range.
  void fit(const nn::Tensor& samples, int components, Solver solver = Solver::Auto);
  // The same fit keeping only its first k ≤ components() components (latent sweeps fit once).
  Pca truncated(int k) const;

  bool fitted() const { return k_ > 0; }
  int components() const { return k_; }
  int dims() const { return int(mean_.size()); }
  nn::Shape sampleShape() const { return shape_; }  // {1, C, H, W}

  const Eigen::VectorXd& mean() const { return mean_; }
  // D×K, orthonormal columns, by decreasing variance; each column's largest entry is positive.
  const Eigen::MatrixXd& basis() const { return basis_; }
  // Variance of the data along each kept component (decreasing), and over all D dimensions
  // (both with the unbiased 1/(N−1)).
  const Eigen::VectorXd& variances() const { return var_; }
  double totalVariance() const { return total_; }
  // Per kept component: its share of the total variance; and the share of all K together.
  std::vector<double> explainedVarianceRatio() const;
  double explainedVariance() const;

  nn::Tensor encode(const nn::Tensor& x) const;  // {N, C, H, W} → {N, K, 1, 1}
  nn::Tensor decode(const nn::Tensor& z) const;  // {N, K, 1, 1} → {N, C, H, W}
  nn::Tensor reconstruct(const nn::Tensor& x) const;
  // Mean squared error per element of reconstruct(x) against x.
  double reconstructionError(const nn::Tensor& x) const;

  // The spec of the linear autoencoder toModel() builds (ArchKind::Pca, latent = K).
  ArchSpec spec() const;
  // Flatten → Dense(D→K, W = basisᵀ, b = −W·mean) → Dense(K→D, W = basis, b = mean) → Reshape:
  // exports through core/onnx like any trained model; extractEncoder/Decoder apply to it.
  BuiltModel toModel() const;

 private:
  void requireFitted(const char* what) const;
  Eigen::MatrixXd centred(const nn::Tensor& x) const;  // N×D, mean removed

  nn::Shape shape_;
  int k_ = 0;
  Eigen::VectorXd mean_, var_;
  Eigen::MatrixXd basis_;
  double total_ = 0;
};

}  // namespace cae::train
