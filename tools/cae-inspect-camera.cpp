// cae-inspect camera: a simulated line camera served over RTSP on loopback (cae-inspect.hpp): a
// window panning over a texture, with synthetic defects (core/anomaly/defects) painted in at
// scheduled times, pushed through appsrc into gst-rtsp-server.
#include <glib-unix.h>
#include <gst/app/gstappsrc.h>
#include <gst/gst.h>
#include <gst/rtsp-server/rtsp-server.h>
#include <gst/video/video.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <fstream>
#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "anomaly/defects.hpp"
#include "cae-inspect.hpp"
#include "error.hpp"

namespace cae::inspect {

using cae::anomaly::DefectSpec;
using Json = nlohmann::ordered_json;

namespace {

struct ScheduledDefect {
  DefectSpec spec;                 // kind, size, contrast, angle, seed (x, y set per frame)
  double start = 0, end = 0;       // seconds of stream time
  int frameX = 0, frameY = 0;      // centre in the frame at start
  double vx = 0;                   // its velocity in the frame at start, px/s
  int surfaceX = 0, surfaceY = 0;  // centre on the texture: the defect moves with the pan
};

// A frame-sized window panning horizontally across a texture at constant speed, back and forth
// (a triangle wave starting at the left edge, so the surface first moves left in the frame),
// vertically centred, at whole-pixel positions.
class Surface {
 public:
  Surface(cv::Mat texture, cv::Size frame, double speed)
      : texture_(std::move(texture)),
        frame_(frame),
        speed_(speed),
        top_((texture_.rows - frame.height) / 2) {
    if (texture_.cols < frame.width || texture_.rows < frame.height)
      throw cae::InvalidArgument(
          "the texture (" + std::to_string(texture_.cols) + "x" + std::to_string(texture_.rows) +
          " after scaling) is smaller than " + "the frame (" + std::to_string(frame.width) + "x" +
          std::to_string(frame.height) + ")");
  }

  cv::Size frameSize() const { return frame_; }
  int top() const { return top_; }

  int panX(double t) const {
    const double travel = texture_.cols - frame_.width;
    if (travel <= 0) return 0;
    const double d = std::fmod(speed_ * t, 2 * travel);
    return int(std::lround(d <= travel ? d : 2 * travel - d));
  }

  // How fast the surface moves in the frame at t, px/s (negative: to the left).
  double surfaceVelocity(double t) const {
    const double travel = texture_.cols - frame_.width;
    if (travel <= 0) return 0;
    return std::fmod(speed_ * t, 2 * travel) < travel ? -speed_ : speed_;
  }

  // The frame at time t (CV_8UC1 gray or CV_8UC3 RGB) with the defects visible at t.
  cv::Mat frame(double t, const std::vector<ScheduledDefect>& defects) const {
    const int px = panX(t);
    cv::Mat f = texture_(cv::Rect(px, top_, frame_.width, frame_.height)).clone();
    for (const ScheduledDefect& d : defects)
      if (t >= d.start && t < d.end) paint(f, d, d.surfaceX - px, d.surfaceY - top_);
    return f;
  }

 private:
  // Paints on a float copy of the box around the defect only (painting costs per pixel).
  static void paint(cv::Mat& frame, const ScheduledDefect& d, int cx, int cy) {
    const int half = d.spec.size + 4;  // every kind stays within size of its centre
    const cv::Rect box = cv::Rect(cx - half, cy - half, 2 * half + 1, 2 * half + 1) &
                         cv::Rect(0, 0, frame.cols, frame.rows);
    if (box.empty()) return;
    cv::Mat roi;
    frame(box).convertTo(roi, CV_32F, 1.0 / 255.0);
    DefectSpec s = d.spec;
    s.x = cx - box.x;
    s.y = cy - box.y;
    cae::anomaly::paintDefect(roi, s);
    cv::Mat dst = frame(box);
    roi.convertTo(dst, CV_8U, 255.0);
  }

  cv::Mat texture_;
  cv::Size frame_;
  double speed_;
  int top_;
};

cv::Size parseSize(const std::string& s) {
  int w = 0, h = 0;
  char x = 0, extra = 0;
  std::istringstream in(s);
  if (!(in >> w >> x >> h) || x != 'x' || in >> extra || w < 16 || h < 16 || w > 8192 || h > 8192)
    throw cae::InvalidArgument("--size must be WxH (16..8192), not '" + s + "'");
  return {w, h};
}

// The texture as the defect benchmark prepares it: gray (or RGB) and area-downscaled.
cv::Mat loadTexture(const std::string& file, double scale, bool color) {
  cv::Mat img = cv::imread(file, color ? cv::IMREAD_COLOR : cv::IMREAD_GRAYSCALE);
  if (img.empty()) throw cae::IoError("cannot read the texture '" + file + "'");
  if (color) cv::cvtColor(img, img, cv::COLOR_BGR2RGB);
  if (scale != 1.0) cv::resize(img, img, cv::Size(), scale, scale, cv::INTER_AREA);
  return img;
}

// A whole string as a number in [lo, hi], or false.
bool parseNumber(const std::string& s, double lo, double hi, double& value) {
  try {
    std::size_t used = 0;
    value = std::stod(s, &used);
    return used == s.size() && value >= lo && value <= hi;
  } catch (const std::exception&) {
    return false;
  }
}

// "3:spot,6.5:scratch:24:0.5" (START:KIND[:SIZE[:CONTRAST]]) → defects with positions drawn
// from the seed: inside the frame, away from its borders by the size plus the distance the pan
// carries them while visible.
std::vector<ScheduledDefect> planDefects(const CameraOptions& o, const Surface& surface) {
  std::vector<ScheduledDefect> out;
  const cv::Size fs = surface.frameSize();
  std::stringstream list(o.defects);
  std::string item;
  for (int i = 0; std::getline(list, item, ','); ++i) {
    item.erase(0, item.find_first_not_of(" \t"));
    item.erase(item.find_last_not_of(" \t") + 1);
    if (item.empty() || item == "none") continue;
    std::vector<std::string> f;
    std::stringstream fields(item);
    for (std::string x; std::getline(fields, x, ':');) f.push_back(x);
    ScheduledDefect d;
    double size = o.defectSize, contrast = o.contrast;
    if (f.size() < 2 || f.size() > 4 || !parseNumber(f[0], 0, 1e7, d.start) ||
        (f.size() > 2 && !parseNumber(f[2], 2, 512, size)) ||
        (f.size() > 3 && !parseNumber(f[3], 0.01, 1, contrast)))
      throw cae::InvalidArgument("--defects: '" + item +
                                 "' is not START:KIND[:SIZE[:CONTRAST]] (seconds, "
                                 "scratch|spot|cut|blob|stain|tint, 2-512 px, 0.01-1)");
    d.spec.kind = cae::anomaly::parseDefectKind(f[1]);
    if (d.spec.kind == cae::anomaly::DefectKind::Tint && !o.color)
      throw cae::InvalidArgument("--defects: '" + item +
                                 "': a tint changes colour only; it needs --color");
    d.spec.size = int(size);
    d.spec.contrast = contrast;
    d.spec.seed = o.seed * 1000 + std::uint64_t(i) + 1;
    d.end = d.start + o.defectSeconds;
    cv::RNG rng(d.spec.seed);
    d.spec.angle = rng.uniform(0.0, CV_PI);
    const int travel = int(std::ceil(o.speed * o.defectSeconds));
    const int margin = std::max(d.spec.size, 48);
    auto pick = [&rng](int lo, int hi) {
      return lo < hi ? rng.uniform(lo, hi + 1) : (lo + hi) / 2;
    };
    d.frameX = pick(margin + travel, fs.width - margin - travel);
    d.frameY = pick(margin, fs.height - margin);
    d.surfaceX = d.frameX + surface.panX(d.start);
    d.vx = surface.surfaceVelocity(d.start);
    d.surfaceY = d.frameY + surface.top();
    out.push_back(d);
  }
  std::sort(out.begin(), out.end(),
            [](const ScheduledDefect& a, const ScheduledDefect& b) { return a.start < b.start; });
  return out;
}

Json scheduleLine(const ScheduledDefect& d) {
  return Json{{"kind", cae::anomaly::defectKindName(d.spec.kind)},
              {"start", d.start},
              {"end", d.end},
              {"x", d.frameX},
              {"y", d.frameY},
              {"size", d.spec.size},
              {"contrast", d.spec.contrast},
              {"vx", d.vx}};
}

// What the media's appsrc callbacks share. Allocated once and never freed: media pipelines may
// still be stopping in their own threads while the process exits.
struct Camera {
  Surface surface;
  std::vector<ScheduledDefect> defects;
  int fps;
  GstVideoInfo info{};
  std::atomic<std::uint64_t> next{0};
};

// A live camera does not run ahead of the clock. The sinks' sync paces the media, but nothing
// does when the stream is blocked or frames are dropped on the way; then wait here.
void waitForClock(GstElement* src, GstClockTime pts) {
  GstClock* clock = gst_element_get_clock(src);
  if (!clock) return;
  const GstClockTime now = gst_clock_get_time(clock), base = gst_element_get_base_time(src);
  gst_object_unref(clock);
  const GstClockTime running = now > base ? now - base : 0, ahead = GST_SECOND / 2;
  if (pts > running + ahead)
    g_usleep(std::min<GstClockTime>(pts - running - ahead, GST_SECOND) / 1000);
}

void onNeedData(GstElement* src, guint, gpointer user) {
  auto* cam = static_cast<Camera*>(user);
  const std::uint64_t i = cam->next++;
  if (i == 0) logf("camera: a client is playing; frame 0 has PTS 0\n");
  waitForClock(src, gst_util_uint64_scale(i, GST_SECOND, cam->fps));
  try {
    const cv::Mat f = cam->surface.frame(double(i) / cam->fps, cam->defects);
    GstBuffer* buf = gst_buffer_new_allocate(nullptr, GST_VIDEO_INFO_SIZE(&cam->info), nullptr);
    GstMapInfo map;
    gst_buffer_map(buf, &map, GST_MAP_WRITE);
    const int stride = GST_VIDEO_INFO_PLANE_STRIDE(&cam->info, 0);
    const std::size_t row = std::size_t(f.cols) * f.elemSize();
    for (int y = 0; y < f.rows; ++y) std::memcpy(map.data + std::size_t(y) * stride, f.ptr(y), row);
    gst_buffer_unmap(buf, &map);
    GST_BUFFER_PTS(buf) = gst_util_uint64_scale(i, GST_SECOND, cam->fps);
    GST_BUFFER_DURATION(buf) =
        gst_util_uint64_scale(i + 1, GST_SECOND, cam->fps) - GST_BUFFER_PTS(buf);
    GST_BUFFER_OFFSET(buf) = i;
    gst_app_src_push_buffer(GST_APP_SRC(src), buf);
  } catch (const std::exception& e) {
    logf("camera: frame %llu: %s\n", static_cast<unsigned long long>(i), e.what());
    gst_app_src_end_of_stream(GST_APP_SRC(src));
  }
}

// A new media (the first client, or a client after all earlier ones left): its clock starts at 0.
void onMediaConfigure(GstRTSPMediaFactory*, GstRTSPMedia* media, gpointer user) {
  auto* cam = static_cast<Camera*>(user);
  GstElement* element = gst_rtsp_media_get_element(media);
  GstElement* src = gst_bin_get_by_name_recurse_up(GST_BIN(element), "src");
  GstCaps* caps = gst_video_info_to_caps(&cam->info);
  g_object_set(src, "caps", caps, "format", GST_FORMAT_TIME, nullptr);
  gst_caps_unref(caps);
  cam->next = 0;
  g_signal_connect(src, "need-data", G_CALLBACK(onNeedData), cam);
  gst_object_unref(src);
  gst_object_unref(element);
}

gboolean quitLoop(gpointer loop) {
  g_main_loop_quit(static_cast<GMainLoop*>(loop));
  return G_SOURCE_REMOVE;
}

GstRTSPFilterResult closeClient(GstRTSPServer*, GstRTSPClient*, gpointer) {
  return GST_RTSP_FILTER_REMOVE;
}

}  // namespace

int camera(const CameraOptions& o) {
  const cv::Size size = parseSize(o.size);
  auto* cam =
      new Camera{Surface(loadTexture(o.texture, o.scale, o.color), size, o.speed), {}, o.fps};
  cam->defects = planDefects(o, cam->surface);
  gst_video_info_set_format(&cam->info, o.color ? GST_VIDEO_FORMAT_RGB : GST_VIDEO_FORMAT_GRAY8,
                            guint(size.width), guint(size.height));
  cam->info.fps_n = o.fps;
  cam->info.fps_d = 1;

  if (!o.schedule.empty()) {
    std::ofstream sched(o.schedule);
    for (const ScheduledDefect& d : cam->defects) sched << scheduleLine(d).dump() << '\n';
    if (!sched) throw cae::IoError("cannot write the schedule '" + o.schedule + "'");
  }
  for (const ScheduledDefect& d : cam->defects)
    logf("camera: %s at %.2f-%.2f s, (%d, %d) in the frame, size %d, contrast %.2f\n",
         cae::anomaly::defectKindName(d.spec.kind).c_str(), d.start, d.end, d.frameX, d.frameY,
         d.spec.size, d.spec.contrast);

  const std::string pay =
      o.codec == "jpeg"
          ? "video/x-raw,format=I420 ! jpegenc quality=95 ! rtpjpegpay name=pay0 pt=96"
          : "rtpvrawpay name=pay0 pt=96";
  const std::string launch =
      "( appsrc name=src is-live=true format=time ! videoconvert ! " + pay + " )";
  GstRTSPServer* server = gst_rtsp_server_new();
  gst_rtsp_server_set_address(server, "127.0.0.1");
  gst_rtsp_server_set_service(server, std::to_string(o.port).c_str());
  GstRTSPMountPoints* mounts = gst_rtsp_server_get_mount_points(server);
  GstRTSPMediaFactory* factory = gst_rtsp_media_factory_new();
  gst_rtsp_media_factory_set_launch(factory, launch.c_str());
  gst_rtsp_media_factory_set_shared(factory, TRUE);
  g_signal_connect(factory, "media-configure", G_CALLBACK(onMediaConfigure), cam);
  gst_rtsp_mount_points_add_factory(mounts, "/cam", factory);
  g_object_unref(mounts);
  const guint source = gst_rtsp_server_attach(server, nullptr);
  if (source == 0) {
    g_object_unref(server);
    throw cae::IoError("cannot listen on 127.0.0.1:" + std::to_string(o.port) +
                       " (in use? --port 0 picks a free port)");
  }
  std::printf("rtsp://127.0.0.1:%d/cam\n", gst_rtsp_server_get_bound_port(server));
  std::fflush(stdout);
  logf("camera: %dx%d %s @ %d fps, %s RTP, pan %.0f px/s over %s; %zu defect(s)\n", size.width,
       size.height, o.color ? "RGB" : "gray", o.fps, o.codec.c_str(), o.speed, o.texture.c_str(),
       cam->defects.size());

  GMainLoop* loop = g_main_loop_new(nullptr, FALSE);
  g_unix_signal_add(SIGINT, quitLoop, loop);
  g_unix_signal_add(SIGTERM, quitLoop, loop);
  if (o.seconds > 0) g_timeout_add(guint(o.seconds * 1000), quitLoop, loop);
  g_main_loop_run(loop);

  logf("camera: stopping after %llu frames\n", static_cast<unsigned long long>(cam->next.load()));
  g_source_remove(source);
  gst_rtsp_server_client_filter(server, closeClient, nullptr);
  g_object_unref(server);
  g_main_loop_unref(loop);
  return 0;
}

}  // namespace cae::inspect
