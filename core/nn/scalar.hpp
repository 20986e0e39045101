// The engine's number type. Shipped code is float32; the gradient-check tests compile the same
// sources a second time with CAE_NN_DOUBLE so finite differences run in double precision.
#pragma once

#include <Eigen/Core>

#ifdef CAE_NN_DOUBLE
#define CAE_NN_ABI f64
#else
#define CAE_NN_ABI f32
#endif

namespace cae::nn {
inline namespace CAE_NN_ABI {

#ifdef CAE_NN_DOUBLE
using Scalar = double;
#else
using Scalar = float;
#endif

using Vec = Eigen::Matrix<Scalar, Eigen::Dynamic, 1>;
using Mat = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using VecMap = Eigen::Map<Vec>;
using ConstVecMap = Eigen::Map<const Vec>;
using MatMap = Eigen::Map<Mat>;
using ConstMatMap = Eigen::Map<const Mat>;

}  // namespace CAE_NN_ABI
}  // namespace cae::nn
