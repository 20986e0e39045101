#include "train/loss_curve.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "error.hpp"

namespace cae::train {
namespace {

std::string label(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g", v);
  return buf;
}

}  // namespace

void writeLossCurve(const std::string& path, const std::vector<double>& train,
                    const std::vector<double>& val, const std::string& title) {
  const int W = 800, H = 480, left = 90, right = 20, top = 40, bottom = 60;
  cv::Mat img(H, W, CV_8UC3, cv::Scalar(255, 255, 255));
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (const auto* v : {&train, &val})
    for (double x : *v)
      if (std::isfinite(x) && x >= 0) {
        lo = std::min(lo, x);
        hi = std::max(hi, x);
      }
  if (!std::isfinite(lo)) lo = 0, hi = 1;
  if (hi - lo < 1e-12) hi = lo + std::max(1e-6, std::abs(lo) * 0.1);
  const double pad = (hi - lo) * 0.05;
  lo = std::max(0.0, lo - pad);
  hi += pad;
  const std::size_t n = std::max<std::size_t>(2, std::max(train.size(), val.size()));
  const auto px = [&](std::size_t i) {
    return left + int(double(i) * (W - left - right) / double(n - 1));
  };
  const auto py = [&](double v) { return top + int((hi - v) / (hi - lo) * (H - top - bottom)); };
  const cv::Scalar black(0, 0, 0), grey(200, 200, 200);
  const int font = cv::FONT_HERSHEY_SIMPLEX;
  // Grid and tick labels: five levels on y, epochs on x.
  for (int k = 0; k <= 4; ++k) {
    const double v = lo + (hi - lo) * k / 4;
    cv::line(img, {left, py(v)}, {W - right, py(v)}, grey, 1);
    cv::putText(img, label(v), {5, py(v) + 5}, font, 0.45, black, 1, cv::LINE_AA);
  }
  const std::size_t every = std::max<std::size_t>(1, n / 10);
  for (std::size_t i = 0; i < n; i += every)
    cv::putText(img, std::to_string(i + 1), {px(i) - 5, H - bottom + 20}, font, 0.45, black, 1,
                cv::LINE_AA);
  cv::line(img, {left, top}, {left, H - bottom}, black, 1);
  cv::line(img, {left, H - bottom}, {W - right, H - bottom}, black, 1);
  cv::putText(img, "epoch", {W / 2 - 20, H - 15}, font, 0.55, black, 1, cv::LINE_AA);
  cv::putText(img, "loss", {5, top - 15}, font, 0.55, black, 1, cv::LINE_AA);
  cv::putText(img, title, {left + 60, top - 15}, font, 0.55, black, 1, cv::LINE_AA);
  const auto curve = [&](const std::vector<double>& v, const cv::Scalar& colour) {
    std::vector<cv::Point> pts;
    for (std::size_t i = 0; i < v.size(); ++i)
      if (std::isfinite(v[i]) && v[i] >= 0) pts.emplace_back(px(i), py(v[i]));
    if (pts.size() > 1) cv::polylines(img, pts, false, colour, 2, cv::LINE_AA);
    for (const auto& p : pts) cv::circle(img, p, 3, colour, cv::FILLED, cv::LINE_AA);
  };
  const cv::Scalar blue(200, 80, 0), orange(0, 130, 255);  // BGR
  curve(train, blue);
  curve(val, orange);
  cv::line(img, {W - 200, top + 10}, {W - 170, top + 10}, blue, 2);
  cv::putText(img, "train", {W - 160, top + 15}, font, 0.5, black, 1, cv::LINE_AA);
  cv::line(img, {W - 200, top + 30}, {W - 170, top + 30}, orange, 2);
  cv::putText(img, "validation", {W - 160, top + 35}, font, 0.5, black, 1, cv::LINE_AA);

  const std::string tmp = path + ".tmp.png";
  bool ok = false;
  try {
    ok = cv::imwrite(tmp, img);
  } catch (const cv::Exception&) {
    ok = false;
  }
  std::error_code ec;
  if (ok) std::filesystem::rename(tmp, path, ec);
  if (!ok || ec) {
    std::filesystem::remove(tmp, ec);
    throw IoError("cannot write the loss curve '" + path + "'");
  }
}

}  // namespace cae::train
