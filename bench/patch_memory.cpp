#include "patch_memory.hpp"

#include <Eigen/Core>
#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <opencv2/imgproc.hpp>
#include <random>
#include <stdexcept>

namespace cae::bench {

namespace {

constexpr int kMapsPerChannel = 6;
constexpr int kProjection = 32;    // dimensions of the random projection of the k-centre step
constexpr int kQueryChunk = 1024;  // query rows per distance product
constexpr int kSpacingFull = 2;    // grid spacing of the full-resolution maps' samples
constexpr int kSpacingHalf = 4;    // ... of the half-resolution maps' samples (in full pixels)

cv::Mat blur1(const cv::Mat& m) {
  cv::Mat o;
  cv::GaussianBlur(m, o, cv::Size(), 1.0, 1.0, cv::BORDER_REFLECT);
  return o;
}

// Intensity (sigma 1) and its Sobel derivatives of one channel, appended to out at `size`.
void scaleMaps(const cv::Mat& x, const cv::Size& size, std::vector<cv::Mat>& out) {
  const cv::Mat s = blur1(x);
  cv::Mat gx, gy;
  cv::Sobel(s, gx, CV_32F, 1, 0, 3, 1, 0, cv::BORDER_REFLECT);
  cv::Sobel(s, gy, CV_32F, 0, 1, 3, 1, 0, cv::BORDER_REFLECT);
  const std::array<const cv::Mat*, 3> three{&s, &gx, &gy};
  for (const cv::Mat* m : three) {
    if (m->size() == size) {
      out.push_back(*m);
    } else {
      cv::Mat up;
      cv::resize(*m, up, size, 0, 0, cv::INTER_LINEAR);
      out.push_back(up);
    }
  }
}

}  // namespace

std::vector<cv::Mat> PatchMemory::featureMaps(const cv::Mat& img) const {
  std::vector<cv::Mat> ch;
  cv::split(img, ch);
  std::vector<cv::Mat> maps;
  for (const cv::Mat& x : ch) {
    scaleMaps(x, img.size(), maps);
    cv::Mat half;
    cv::resize(x, half, cv::Size((img.cols + 1) / 2, (img.rows + 1) / 2), 0, 0, cv::INTER_AREA);
    scaleMaps(half, img.size(), maps);
  }
  if (!mean_.empty())
    for (std::size_t k = 0; k < maps.size(); ++k) maps[k] = (maps[k] - mean_[k]) / dev_[k];
  return maps;
}

cv::Mat PatchMemory::descriptors(const cv::Mat& img, int& gridW, int& gridH) const {
  const std::vector<cv::Mat> maps = featureMaps(img);
  gridW = (img.cols + kStride - 1) / kStride;
  gridH = (img.rows + kStride - 1) / kStride;
  const int pad = kSpacingHalf;
  std::vector<cv::Mat> padded(maps.size());
  for (std::size_t k = 0; k < maps.size(); ++k)
    cv::copyMakeBorder(maps[k], padded[k], pad, pad, pad, pad, cv::BORDER_REFLECT);
  const int d = int(maps.size()) * 9;
  cv::Mat rows(gridW * gridH, d, CV_32F);
  for (int gy = 0; gy < gridH; ++gy)
    for (int gx = 0; gx < gridW; ++gx) {
      float* r = rows.ptr<float>(gy * gridW + gx);
      const int y = gy * kStride + pad, x = gx * kStride + pad;
      for (std::size_t k = 0; k < padded.size(); ++k) {
        // maps alternate three full-resolution, three half-resolution ones per channel
        const int sp = (k / 3) % 2 == 0 ? kSpacingFull : kSpacingHalf;
        for (int dy = -1; dy <= 1; ++dy) {
          const float* row = padded[k].ptr<float>(y + dy * sp);
          for (int dx = -1; dx <= 1; ++dx) *r++ = row[x + dx * sp];
        }
      }
    }
  return rows;
}

PatchMemory::PatchMemory(const std::vector<cv::Mat>& train, unsigned seed) {
  if (train.empty()) throw std::invalid_argument("patch memory: no training images");
  // Standardisation of every feature map over all training pixels.
  const int nMaps = kMapsPerChannel * train.front().channels();
  std::vector<double> sum(std::size_t(nMaps), 0), sum2(std::size_t(nMaps), 0);
  double count = 0;
  for (const cv::Mat& t : train) {
    const std::vector<cv::Mat> maps = featureMaps(t);
    for (int k = 0; k < nMaps; ++k) {
      sum[std::size_t(k)] += cv::sum(maps[std::size_t(k)])[0];
      sum2[std::size_t(k)] += maps[std::size_t(k)].dot(maps[std::size_t(k)]);
    }
    count += double(t.total());
  }
  for (int k = 0; k < nMaps; ++k) {
    const double m = sum[std::size_t(k)] / count;
    mean_.push_back(m);
    dev_.push_back(std::sqrt(std::max(1e-12, sum2[std::size_t(k)] / count - m * m)));
  }

  cv::Mat all;
  for (const cv::Mat& t : train) {
    int w = 0, h = 0;
    all.push_back(descriptors(t, w, h));
  }
  const int n = all.rows;
  const int m = std::clamp(int(std::ceil(kMemoryShare * n)), 1, std::min(n, kMemoryCap));

  // Greedy k-centre on a random projection: start from a random descriptor, then repeatedly add
  // the one farthest from those chosen.
  std::mt19937 rng(seed);
  cv::Mat proj(all.cols, kProjection, CV_32F);
  std::normal_distribution<float> g(0.f, 1.f / std::sqrt(float(kProjection)));
  for (int i = 0; i < proj.rows; ++i)
    for (int j = 0; j < proj.cols; ++j) proj.at<float>(i, j) = g(rng);
  const cv::Mat z = all * proj;
  std::vector<float> minDist(std::size_t(n), std::numeric_limits<float>::max());
  std::vector<int> chosen;
  chosen.reserve(std::size_t(m));
  int next = std::uniform_int_distribution<int>(0, n - 1)(rng);
  for (int c = 0; c < m; ++c) {
    chosen.push_back(next);
    const float* zc = z.ptr<float>(next);
    int far = 0;
    for (int i = 0; i < n; ++i) {
      const float* zi = z.ptr<float>(i);
      float d = 0;
      for (int j = 0; j < kProjection; ++j) d += (zi[j] - zc[j]) * (zi[j] - zc[j]);
      float& md = minDist[std::size_t(i)];
      md = std::min(md, d);
      if (md > minDist[std::size_t(far)]) far = i;
    }
    next = far;
  }
  memory_.create(m, all.cols, CV_32F);
  for (int c = 0; c < m; ++c) all.row(chosen[std::size_t(c)]).copyTo(memory_.row(c));
  cv::reduce(memory_.mul(memory_), memoryNorm2_, 1, cv::REDUCE_SUM);
  memoryNorm2_ = memoryNorm2_.t();
}

cv::Mat PatchMemory::map(const cv::Mat& img) const {
  using RowMajor = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  int w = 0, h = 0;
  const cv::Mat q = descriptors(img, w, h);
  cv::Mat grid(h, w, CV_32F);
  float* out = grid.ptr<float>();
  const Eigen::Map<const RowMajor> mem(memory_.ptr<float>(), memory_.rows, memory_.cols);
  const Eigen::Map<const Eigen::RowVectorXf> memNorm2(memoryNorm2_.ptr<float>(), memory_.rows);
  RowMajor prod;
  for (int r0 = 0; r0 < q.rows; r0 += kQueryChunk) {
    const int n = std::min(q.rows, r0 + kQueryChunk) - r0;
    const Eigen::Map<const RowMajor> chunk(q.ptr<float>(r0), n, q.cols);
    // |q - m|^2 = |q|^2 + |m|^2 - 2 q.m (Eigen's GEMM: cv::gemm is several times slower here)
    prod.noalias() = chunk * mem.transpose();
    for (int i = 0; i < n; ++i) {
      const float best = (memNorm2 - 2.f * prod.row(i)).minCoeff();
      out[r0 + i] = std::sqrt(std::max(0.f, best + chunk.row(i).squaredNorm()));
    }
  }
  cv::Mat full;
  cv::resize(grid, full, img.size(), 0, 0, cv::INTER_LINEAR);
  return full;
}

}  // namespace cae::bench
