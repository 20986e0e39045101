// cae-inspect: the inspection demo. A simulated line camera served over RTSP on loopback, and a
// client that runs caeanomaly on that stream and writes every detection as a JSON line.
//
//   cae-inspect camera [--port 0] [--defects "3:spot,6:scratch"] [--schedule s.jsonl]
//       → prints rtsp://127.0.0.1:PORT/cam, serves a slow pan over a wood texture with
//         synthetic defects (core/anomaly/defects) painted in at scheduled times
//   cae-inspect watch rtsp://127.0.0.1:PORT/cam [--model M] [--seconds N] [--out d.jsonl]
//       → rtspsrc ! depay ! videoconvert ! GRAY8 ! caeanomaly ! fakesink, one JSON line per
//         cae-anomaly bus message
//
// Times: the camera's frame i has PTS i/fps, counted from the first client's PLAY. The watcher
// reports "time" as the stream time of a frame minus that of the first frame it received, so for
// the camera's first client the two clocks agree and detections can be compared with the
// schedule.
#include <glib-unix.h>
#include <gst/app/gstappsrc.h>
#include <gst/gst.h>
#include <gst/rtsp-server/rtsp-server.h>
#include <gst/video/video.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "anomaly/defects.hpp"
#include "error.hpp"

namespace fs = std::filesystem;
using cae::anomaly::DefectSpec;
using Json = nlohmann::ordered_json;

namespace {

const char* const kWood = "/usr/share/backgrounds/mate/nature/Wood.jpg";

void logf(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
void logf(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  std::vfprintf(stderr, fmt, ap);
  va_end(ap);
  std::fflush(stderr);
}

double seconds(GstClockTime t) { return double(t) / double(GST_SECOND); }

// ---------------------------------------------------------------------------------------------
// camera: the surface (texture, pan, defects) and the RTSP server around it

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

struct CameraOptions {
  int port = 8554;
  std::string size = "640x480";
  int fps = 10;
  bool color = false;
  std::string texture = kWood;
  double scale = 0.5;
  double speed = 20;
  std::string defects = "3:spot,6:scratch,9:cut,12:blob";
  double defectSeconds = 1.5;
  int defectSize = 32;
  double contrast = 0.35;
  std::uint64_t seed = 1;
  std::string schedule;
  std::string codec = "raw";
  double seconds = 0;
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

// ---------------------------------------------------------------------------------------------
// watch: the client pipeline and the bus reader

struct WatchOptions {
  std::string url;
  std::string codec = "raw";
  std::string model;
  double threshold = -1;
  int inferenceInterval = 1;
  int minRegionArea = 0;
  bool display = false;
  bool everyFrame = false;
  bool noDrop = false;
  std::string record;
  std::string out;
  std::string stats;
  double seconds = 0;
  int latency = 200;
  double connectTimeout = 15;
};

// What the streaming-thread probes and the main loop share.
struct Watch {
  WatchOptions opt;
  GMainLoop* loop = nullptr;
  GstElement* pipeline = nullptr;
  std::FILE* out = stdout;
  int exitCode = 0;

  std::mutex mutex;  // guards the fields below the probes write
  bool haveFirst = false;
  GstClockTime firstStreamTime = GST_CLOCK_TIME_NONE, firstPts = GST_CLOCK_TIME_NONE;
  double lastStreamSeconds = 0;
  std::uint64_t frames = 0;  // received
  gint64 firstWallUs = 0, lastWallUs = 0, enterUs = 0, firstOutUs = 0, lastOutUs = 0;
  double processUsSum = 0, processUsMax = 0;
  std::uint64_t analysed = 0;
  bool stopping = false;
  gint64 stopWallUs = 0, startWallUs = 0;

  std::uint64_t messages = 0, flagged = 0;  // main loop only
  double nextProgress = 5;
};

gboolean sendEos(gpointer user) {
  auto* w = static_cast<Watch*>(user);
  gst_element_send_event(w->pipeline, gst_event_new_eos());
  return G_SOURCE_REMOVE;
}

// Frames as they arrive (before the queue that drops them while caeanomaly is busy): the first
// frame's times, the count, the --seconds limit.
GstPadProbeReturn onArrival(GstPad* pad, GstPadProbeInfo* info, gpointer user) {
  auto* w = static_cast<Watch*>(user);
  GstBuffer* buf = GST_PAD_PROBE_INFO_BUFFER(info);
  const gint64 now = g_get_monotonic_time();
  std::lock_guard<std::mutex> lock(w->mutex);
  if (w->stopping) return GST_PAD_PROBE_DROP;  // past --seconds: EOS is on its way
  GstClockTime st = GST_BUFFER_PTS(buf);
  if (GstEvent* ev = gst_pad_get_sticky_event(pad, GST_EVENT_SEGMENT, 0)) {
    const GstSegment* seg = nullptr;
    gst_event_parse_segment(ev, &seg);
    st = gst_segment_to_stream_time(seg, GST_FORMAT_TIME, GST_BUFFER_PTS(buf));
    gst_event_unref(ev);
  }
  if (!w->haveFirst) {
    w->haveFirst = true;
    w->firstStreamTime = st;
    w->firstPts = GST_BUFFER_PTS(buf);
    w->firstWallUs = now;
  }
  double t = 0;
  if (GST_CLOCK_TIME_IS_VALID(st) && GST_CLOCK_TIME_IS_VALID(w->firstStreamTime))
    t = seconds(st) - seconds(w->firstStreamTime);
  else if (GST_BUFFER_PTS_IS_VALID(buf) && GST_CLOCK_TIME_IS_VALID(w->firstPts))
    t = seconds(GST_BUFFER_PTS(buf)) - seconds(w->firstPts);
  if (w->opt.seconds > 0 && t >= w->opt.seconds - 1e-6) {
    w->stopping = true;
    w->stopWallUs = now;
    g_idle_add(sendEos, w);
    return GST_PAD_PROBE_DROP;
  }
  ++w->frames;
  w->lastWallUs = now;
  w->lastStreamSeconds = t;
  return GST_PAD_PROBE_OK;
}

// Around caeanomaly: the time it takes per frame.
GstPadProbeReturn onDetectorInput(GstPad*, GstPadProbeInfo*, gpointer user) {
  auto* w = static_cast<Watch*>(user);
  std::lock_guard<std::mutex> lock(w->mutex);
  w->enterUs = g_get_monotonic_time();
  return GST_PAD_PROBE_OK;
}

GstPadProbeReturn onDetectorOutput(GstPad*, GstPadProbeInfo*, gpointer user) {
  auto* w = static_cast<Watch*>(user);
  const gint64 now = g_get_monotonic_time();
  std::lock_guard<std::mutex> lock(w->mutex);
  const double us = double(now - w->enterUs);
  w->processUsSum += us;
  w->processUsMax = std::max(w->processUsMax, us);
  if (w->analysed++ == 0) w->firstOutUs = now;
  w->lastOutUs = now;
  return GST_PAD_PROBE_OK;
}

double fieldDouble(const GstStructure* s, const char* name, double fallback = 0) {
  const GValue* v = gst_structure_get_value(s, name);
  if (!v) return fallback;
  GValue d = G_VALUE_INIT;
  g_value_init(&d, G_TYPE_DOUBLE);
  const double r = g_value_transform(v, &d) ? g_value_get_double(&d) : fallback;
  g_value_unset(&d);
  return r;
}

GstClockTime fieldClock(const GstStructure* s, const char* name) {
  guint64 t = GST_CLOCK_TIME_NONE;
  return gst_structure_get_uint64(s, name, &t) ? t : GST_CLOCK_TIME_NONE;
}

Json regionsOf(const GstStructure* s) {
  Json regions = Json::array();
  const GValue* v = gst_structure_get_value(s, "regions");
  if (!v || !(GST_VALUE_HOLDS_ARRAY(v) || GST_VALUE_HOLDS_LIST(v))) return regions;
  const guint n =
      GST_VALUE_HOLDS_ARRAY(v) ? gst_value_array_get_size(v) : gst_value_list_get_size(v);
  for (guint i = 0; i < n; ++i) {
    const GValue* e =
        GST_VALUE_HOLDS_ARRAY(v) ? gst_value_array_get_value(v, i) : gst_value_list_get_value(v, i);
    if (!GST_VALUE_HOLDS_STRUCTURE(e)) continue;
    const GstStructure* r = gst_value_get_structure(e);
    regions.push_back(Json{{"x", int(fieldDouble(r, "x"))},
                           {"y", int(fieldDouble(r, "y"))},
                           {"width", int(fieldDouble(r, "width"))},
                           {"height", int(fieldDouble(r, "height"))},
                           {"area", int(fieldDouble(r, "area"))},
                           {"score", fieldDouble(r, "score")}});
  }
  return regions;
}

void writeDetection(Watch& w, const GstStructure* s) {
  gboolean isAnomaly = TRUE;
  gst_structure_get_boolean(s, "is-anomaly", &isAnomaly);
  ++w.messages;
  if (!isAnomaly && !w.opt.everyFrame) return;
  const GstClockTime st = fieldClock(s, "stream-time"), pts = fieldClock(s, "timestamp");
  GstClockTime firstSt, firstPts;
  {
    std::lock_guard<std::mutex> lock(w.mutex);
    firstSt = w.firstStreamTime;
    firstPts = w.firstPts;
  }
  double time = -1;
  if (GST_CLOCK_TIME_IS_VALID(st) && GST_CLOCK_TIME_IS_VALID(firstSt))
    time = seconds(st) - seconds(firstSt);
  else if (GST_CLOCK_TIME_IS_VALID(pts) && GST_CLOCK_TIME_IS_VALID(firstPts))
    time = seconds(pts) - seconds(firstPts);
  guint64 frame = 0;
  gst_structure_get_uint64(s, "frame", &frame);
  Json line{{"time", std::round(time * 1e4) / 1e4},
            {"pts", GST_CLOCK_TIME_IS_VALID(pts) ? Json(seconds(pts)) : Json(nullptr)},
            {"frame", frame},
            {"score", fieldDouble(s, "score")},
            {"threshold", fieldDouble(s, "threshold")},
            {"z_score", fieldDouble(s, "z-score")}};
  if (w.opt.everyFrame) line["anomaly"] = bool(isAnomaly);
  line["regions"] = regionsOf(s);
  w.flagged += isAnomaly ? 1 : 0;
  std::fprintf(w.out, "%s\n", line.dump().c_str());
  std::fflush(w.out);
}

gboolean onBusMessage(GstBus*, GstMessage* msg, gpointer user) {
  auto* w = static_cast<Watch*>(user);
  switch (GST_MESSAGE_TYPE(msg)) {
    case GST_MESSAGE_ELEMENT: {
      const GstStructure* s = gst_message_get_structure(msg);
      if (s && gst_structure_has_name(s, "cae-anomaly")) writeDetection(*w, s);
      break;
    }
    case GST_MESSAGE_ERROR: {
      GError* err = nullptr;
      gchar* debug = nullptr;
      gst_message_parse_error(msg, &err, &debug);
      const std::string from = GST_OBJECT_NAME(msg->src);
      bool haveFirst;
      {
        std::lock_guard<std::mutex> lock(w->mutex);
        haveFirst = w->haveFirst;
      }
      if (!haveFirst && err->domain == GST_RESOURCE_ERROR && from.find("src") != std::string::npos)
        logf(
            "cae-inspect watch: cannot play %s: %s (is the camera running? start one with "
            "`cae-inspect camera`)\n",
            w->opt.url.c_str(), err->message);
      else
        logf("cae-inspect watch: error from %s: %s\n", from.c_str(), err->message);
      if (debug) logf("  (%s)\n", debug);
      g_clear_error(&err);
      g_free(debug);
      w->exitCode = 1;
      g_main_loop_quit(w->loop);
      break;
    }
    case GST_MESSAGE_WARNING: {
      GError* err = nullptr;
      gst_message_parse_warning(msg, &err, nullptr);
      logf("cae-inspect watch: warning from %s: %s\n", GST_OBJECT_NAME(msg->src), err->message);
      g_clear_error(&err);
      break;
    }
    case GST_MESSAGE_EOS:
      g_main_loop_quit(w->loop);
      break;
    default:
      break;
  }
  return G_SOURCE_CONTINUE;
}

// Once a second: progress on stderr, and the watchdogs (no video at all; EOS that never came).
gboolean onTick(gpointer user) {
  auto* w = static_cast<Watch*>(user);
  const gint64 now = g_get_monotonic_time();
  std::lock_guard<std::mutex> lock(w->mutex);
  if (!w->haveFirst && double(now - w->startWallUs) / 1e6 > w->opt.connectTimeout) {
    logf("cae-inspect watch: no video from %s after %.0f s\n", w->opt.url.c_str(),
         w->opt.connectTimeout);
    w->exitCode = 1;
    g_main_loop_quit(w->loop);
  } else if (w->stopping && double(now - w->stopWallUs) / 1e6 > 10) {
    logf("cae-inspect watch: the pipeline did not finish 10 s after EOS; stopping it\n");
    g_main_loop_quit(w->loop);
  } else if (w->haveFirst && w->lastStreamSeconds >= w->nextProgress) {
    const double wall = double(w->lastOutUs - w->firstOutUs) / 1e6;
    logf("watch: %.1f s, %llu frames received, %llu analysed (%.1f fps), %llu flagged\n",
         w->lastStreamSeconds, static_cast<unsigned long long>(w->frames),
         static_cast<unsigned long long>(w->analysed),
         wall > 0 ? double(w->analysed - 1) / wall : 0.0,
         static_cast<unsigned long long>(w->flagged));
    w->nextProgress += 5;
  }
  return G_SOURCE_CONTINUE;
}

gboolean onInterrupt(gpointer user) {
  auto* w = static_cast<Watch*>(user);
  std::lock_guard<std::mutex> lock(w->mutex);
  if (w->stopping) {  // a second Ctrl-C: stop without waiting for EOS
    g_main_loop_quit(w->loop);
    return G_SOURCE_CONTINUE;
  }
  logf("cae-inspect watch: interrupted, finishing the stream\n");
  w->stopping = true;
  w->stopWallUs = g_get_monotonic_time();
  g_idle_add(sendEos, w);
  return G_SOURCE_CONTINUE;
}

// <dir of this executable>/../plugins when the plugin is there (running from a build tree).
std::string pluginDirHint() {
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    const fs::path dir = exe.parent_path().parent_path() / "plugins";
    if (fs::exists(dir / "libgstcae.so", ec)) return dir.string();
  }
  return "<build>/plugins";
}

void requireElement(const char* name, const char* package) {
  if (GstElementFactory* f = gst_element_factory_find(name)) {
    gst_object_unref(f);
    return;
  }
  if (std::string(name) == "caeanomaly")
    throw cae::Error(
        "GStreamer cannot find the caeanomaly element: set GST_PLUGIN_PATH to the "
        "folder with libgstcae.so, e.g. GST_PLUGIN_PATH=" +
        pluginDirHint());
  throw cae::Error(std::string("GStreamer element '") + name +
                   "' is missing; install it: apt-get install " + package);
}

void setProperty(GstElement* el, const char* name, const std::string& value) {
  if (!g_object_class_find_property(G_OBJECT_GET_CLASS(el), name))
    throw cae::Error(std::string("caeanomaly has no property '") + name +
                     "' (a plugin older than this tool?)");
  gst_util_set_object_arg(G_OBJECT(el), name, value.c_str());
}

std::string pipelineDescription(const WatchOptions& o) {
  // buffer-mode=none: frame times from the RTP timestamps alone (the camera's clock), not
  // smoothed arrival times; nothing downstream syncs to the clock.
  std::string d = "rtspsrc name=src location=\"" + o.url +
                  "\" latency=" + std::to_string(o.latency) + " protocols=tcp buffer-mode=none ! ";
  d += o.codec == "jpeg" ? "rtpjpegdepay ! jpegdec ! " : "rtpvrawdepay ! ";
  d += "videoconvert ! video/x-raw,format=GRAY8 ! ";
  // A live stream stays live: while caeanomaly is busy, newer frames replace the waiting one.
  d += o.noDrop ? "queue name=live max-size-buffers=0 max-size-bytes=0 max-size-time=0 ! "
                : "queue name=live leaky=downstream max-size-buffers=1 max-size-bytes=0 "
                  "max-size-time=0 ! ";
  d += "caeanomaly name=detector";
  std::vector<std::string> branches;
  if (o.display) branches.push_back("videoconvert ! autovideosink sync=false");
  if (!o.record.empty())
    branches.push_back(
        "videoconvert ! vp8enc deadline=1 cpu-used=8 target-bitrate=2000000 ! "
        "webmmux ! filesink location=\"" +
        o.record + "\"");
  if (branches.empty()) return d + " ! fakesink sync=false";
  if (branches.size() == 1) return d + " ! " + branches[0];
  d += " ! tee name=t";
  for (const std::string& b : branches) d += " t. ! queue ! " + b;
  return d;
}

// The elements the watch pipeline needs, each with the package that provides it.
void requireWatchElements(const WatchOptions& o) {
  requireElement("rtspsrc", "gstreamer1.0-plugins-good");
  requireElement(o.codec == "jpeg" ? "rtpjpegdepay" : "rtpvrawdepay", "gstreamer1.0-plugins-good");
  requireElement("caeanomaly", "");
  if (!o.model.empty() && !fs::is_regular_file(o.model))
    throw cae::IoError("model not found: " + o.model);
  if (o.display) requireElement("autovideosink", "gstreamer1.0-plugins-good");
  if (!o.record.empty()) requireElement("vp8enc", "gstreamer1.0-plugins-good");
}

// w.pipeline from w.opt: caeanomaly's properties, and the probes that time frames.
void buildWatchPipeline(Watch& w) {
  const WatchOptions& o = w.opt;
  GError* err = nullptr;
  w.pipeline = gst_parse_launch(pipelineDescription(o).c_str(), &err);
  if (!w.pipeline || err) {
    const std::string what = err ? err->message : "unknown error";
    g_clear_error(&err);
    if (w.pipeline) gst_object_unref(w.pipeline);
    throw cae::Error("cannot build the pipeline: " + what);
  }
  GstElement* detector = gst_bin_get_by_name(GST_BIN(w.pipeline), "detector");
  if (!o.model.empty()) setProperty(detector, "model", fs::absolute(o.model).string());
  // Numbers as numbers: std::to_string keeps 6 decimals, too few for thresholds near 1e-3.
  g_object_set(detector, "threshold", gdouble(o.threshold), "inference-interval",
               guint(o.inferenceInterval), nullptr);
  if (o.minRegionArea > 0)
    g_object_set(detector, "min-region-area", guint(o.minRegionArea), nullptr);
  if (o.display || !o.record.empty()) setProperty(detector, "overlay", "true");
  if (o.everyFrame) setProperty(detector, "message-every-frame", "true");
  GstElement* live = gst_bin_get_by_name(GST_BIN(w.pipeline), "live");
  GstPad* arrival = gst_element_get_static_pad(live, "sink");
  GstPad* sink = gst_element_get_static_pad(detector, "sink");
  GstPad* src = gst_element_get_static_pad(detector, "src");
  gst_pad_add_probe(arrival, GST_PAD_PROBE_TYPE_BUFFER, onArrival, &w, nullptr);
  gst_pad_add_probe(sink, GST_PAD_PROBE_TYPE_BUFFER, onDetectorInput, &w, nullptr);
  gst_pad_add_probe(src, GST_PAD_PROBE_TYPE_BUFFER, onDetectorOutput, &w, nullptr);
  for (GstPad* pad : {arrival, sink, src}) gst_object_unref(pad);
  gst_object_unref(live);
  gst_object_unref(detector);
}

// Plays w.pipeline until EOS, an error, a watchdog or a signal, then reads the messages posted
// before it stopped.
void runWatchLoop(Watch& w) {
  const WatchOptions& o = w.opt;
  w.loop = g_main_loop_new(nullptr, FALSE);
  GstBus* bus = gst_element_get_bus(w.pipeline);
  const guint busWatch = gst_bus_add_watch(bus, onBusMessage, &w);
  gst_object_unref(bus);
  const guint tick = g_timeout_add(1000, onTick, &w);
  const guint sigint = g_unix_signal_add(SIGINT, onInterrupt, &w);
  const guint sigterm = g_unix_signal_add(SIGTERM, onInterrupt, &w);
  w.startWallUs = g_get_monotonic_time();
  logf("watch: %s -> caeanomaly (%s)%s\n", o.url.c_str(),
       o.model.empty() ? "its default model" : o.model.c_str(),
       o.seconds > 0 ? (", " + std::to_string(int(o.seconds)) + " s").c_str()
                     : ", until EOS/Ctrl-C");
  if (gst_element_set_state(w.pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    // The error message on the bus says why (bad model, unreachable URL); let the loop read it.
    w.exitCode = 1;
  }
  g_main_loop_run(w.loop);
  gst_element_set_state(w.pipeline, GST_STATE_NULL);
  // Messages posted before the pipeline stopped (the last detections, an error) are still queued.
  bus = gst_element_get_bus(w.pipeline);
  while (GstMessage* m = gst_bus_pop(bus)) {
    if (GST_MESSAGE_TYPE(m) == GST_MESSAGE_ELEMENT || GST_MESSAGE_TYPE(m) == GST_MESSAGE_ERROR)
      onBusMessage(bus, m, &w);
    gst_message_unref(m);
  }
  gst_object_unref(bus);
  g_source_remove(busWatch);
  g_source_remove(tick);
  g_source_remove(sigint);
  g_source_remove(sigterm);
  gst_object_unref(w.pipeline);
  g_main_loop_unref(w.loop);
  if (w.out != stdout) std::fclose(w.out);
}

// The summary on stderr and, with --stats, as JSON.
void reportWatch(const Watch& w) {
  const WatchOptions& o = w.opt;
  const double wall = double(w.lastWallUs - w.firstWallUs) / 1e6;
  const double fps = wall > 0 && w.frames > 1 ? double(w.frames - 1) / wall : 0;
  const double ms = w.analysed ? w.processUsSum / double(w.analysed) / 1000 : 0;
  const double analysedWall = double(w.lastOutUs - w.firstOutUs) / 1e6;
  const double analysedFps =
      analysedWall > 0 && w.analysed > 1 ? double(w.analysed - 1) / analysedWall : 0;
  logf(
      "watch: %llu frames received over %.1f s of stream (%.1f fps), %llu analysed (%.1f fps; "
      "%llu dropped while busy), %llu flagged; caeanomaly %.1f ms per frame (max %.1f ms)\n",
      static_cast<unsigned long long>(w.frames), w.frames ? w.lastStreamSeconds : 0.0, fps,
      static_cast<unsigned long long>(w.analysed), analysedFps,
      static_cast<unsigned long long>(w.frames - std::min(w.frames, w.analysed)),
      static_cast<unsigned long long>(w.flagged), ms, w.processUsMax / 1000);
  if (!o.stats.empty()) {
    std::ofstream st(o.stats);
    st << Json{{"url", o.url},           {"frames", w.frames},
               {"analysed", w.analysed}, {"flagged", w.flagged},
               {"messages", w.messages}, {"stream_seconds", w.frames ? w.lastStreamSeconds : 0.0},
               {"fps_received", fps},    {"fps_analysed", analysedFps},
               {"process_ms_mean", ms},  {"process_ms_max", w.processUsMax / 1000},
               {"exit_code", w.exitCode}}
              .dump()
       << '\n';
  }
}

int watch(const WatchOptions& o) {
  requireWatchElements(o);
  Watch w;
  w.opt = o;
  if (!o.out.empty()) {
    w.out = std::fopen(o.out.c_str(), "w");
    if (!w.out) throw cae::IoError("cannot write '" + o.out + "'");
  }
  buildWatchPipeline(w);
  runWatchLoop(w);
  reportWatch(w);
  if (w.exitCode == 0 && o.seconds > 0 && !w.stopping && w.frames > 0)
    logf("watch: the stream ended after %.1f s, before --seconds %g\n", w.lastStreamSeconds,
         o.seconds);
  if (w.exitCode == 0 && w.frames == 0) {
    logf("cae-inspect watch: no frames came from %s\n", o.url.c_str());
    return 1;
  }
  return w.exitCode;
}

// The camera subcommand and its options, read into c.
CLI::App* addCameraCommand(CLI::App& app, CameraOptions& c) {
  CLI::App* cam = app.add_subcommand(
      "camera",
      "serve a simulated camera on rtsp://127.0.0.1:PORT/cam: a window panning back and forth over "
      "a texture (starting at its left edge, so the surface moves left in the frame), with "
      "defects painted in at scheduled times; frame i has PTS i/fps from the first client's "
      "PLAY; runs until SIGINT/SIGTERM or --seconds");
  cam->add_option("--port", c.port, "TCP port on 127.0.0.1; 0 picks a free one")
      ->check(CLI::Range(0, 65535))
      ->capture_default_str();
  cam->add_option("--size", c.size, "frame size WxH")->capture_default_str();
  cam->add_option("--fps", c.fps, "frames per second")
      ->check(CLI::Range(1, 240))
      ->capture_default_str();
  cam->add_flag("--color", c.color, "RGB frames (default: gray)");
  cam->add_option("--texture", c.texture, "the surface image")->capture_default_str();
  cam->add_option("--scale", c.scale, "area-downscale the texture by this factor first")
      ->check(CLI::Range(0.01, 1.0))
      ->capture_default_str();
  cam->add_option("--speed", c.speed, "pan speed in texture pixels per second")
      ->check(CLI::Range(0.0, 10000.0))
      ->capture_default_str();
  cam->add_option("--defects", c.defects,
                  "START:KIND[:SIZE[:CONTRAST]],... (seconds of stream time; kind "
                  "scratch|spot|cut|blob|stain|tint (tint: colour cameras); size and contrast "
                  "default to --defect-size and "
                  "--contrast); \"\" or none: no defects")
      ->capture_default_str();
  cam->add_option("--defect-seconds", c.defectSeconds, "how long each defect is visible")
      ->check(CLI::Range(0.05, 3600.0))
      ->capture_default_str();
  cam->add_option("--defect-size", c.defectSize, "defect extent in pixels (default of each)")
      ->check(CLI::Range(2, 512))
      ->capture_default_str();
  cam->add_option("--contrast", c.contrast,
                  "defect intensity change, [0, 1] image units (default of each)")
      ->check(CLI::Range(0.01, 1.0))
      ->capture_default_str();
  cam->add_option("--seed", c.seed, "defect positions and shapes")->capture_default_str();
  cam->add_option("--schedule", c.schedule,
                  "write the defects as JSON lines {kind, start, end, x, y, size, contrast, vx} "
                  "(seconds; centre in the frame at start; vx: its speed in the frame, px/s, "
                  "negative to the left)");
  cam->add_option("--codec", c.codec, "RTP payload: raw (RFC 4175) or jpeg (quality 95)")
      ->check(CLI::IsMember({"raw", "jpeg"}))
      ->capture_default_str();
  cam->add_option("--seconds", c.seconds, "stop after N seconds (default: until killed)")
      ->check(CLI::Range(0.0, 1e7));
  return cam;
}

// The watch subcommand and its options, read into w.
void addWatchCommand(CLI::App& app, WatchOptions& w) {
  CLI::App* wat = app.add_subcommand(
      "watch",
      "run caeanomaly on an RTSP stream and write one JSON line per cae-anomaly message "
      "{time, pts, frame, score, threshold, z_score, regions: [{x, y, width, height, area, "
      "score}]}; time is seconds since the first frame received; progress and a summary on "
      "stderr. Needs the cae plugin on GST_PLUGIN_PATH (<build>/plugins)");
  wat->add_option("url", w.url, "e.g. rtsp://127.0.0.1:8554/cam")->required();
  wat->add_option("--codec", w.codec, "the camera's RTP payload: raw or jpeg")
      ->check(CLI::IsMember({"raw", "jpeg"}))
      ->capture_default_str();
  wat->add_option("--model", w.model, "anomaly model (.onnx; default: the element's)");
  wat->add_option("--threshold", w.threshold, "score threshold; -1: the model's calibrated one")
      ->check(CLI::Range(-1.0, 1e30))
      ->capture_default_str();
  wat->add_option("--inference-interval", w.inferenceInterval, "score every Nth frame")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  wat->add_option("--min-region-area", w.minRegionArea,
                  "smallest region in pixels (default: the element's)")
      ->check(CLI::Range(1, 1 << 24));
  wat->add_flag("--display", w.display, "show the stream with the overlay (autovideosink)");
  wat->add_option("--record", w.record, "also write the stream with the overlay to FILE.webm");
  wat->add_flag("--no-drop", w.noDrop,
                "analyse every frame even when caeanomaly is slower than the camera (the delay "
                "grows); default: frames that arrive while it is busy are dropped");
  wat->add_flag("--every-frame", w.everyFrame,
                "a line for every scored frame, with \"anomaly\": true|false");
  wat->add_option("--out", w.out, "JSON lines to FILE instead of stdout");
  wat->add_option("--stats", w.stats,
                  "write {frames, flagged, fps, process_ms_mean, ...} as JSON to FILE");
  wat->add_option("--seconds", w.seconds, "stop after N seconds of stream time (EOS)")
      ->check(CLI::Range(0.0, 1e7));
  wat->add_option("--latency", w.latency, "rtspsrc jitter buffer in ms")
      ->check(CLI::Range(0, 10000))
      ->capture_default_str();
  wat->add_option("--connect-timeout", w.connectTimeout, "give up when no frame came after N s")
      ->check(CLI::Range(1.0, 3600.0))
      ->capture_default_str();
}

int run(int argc, char** argv) {
  CLI::App app{
      "cae-inspect: an RTSP inspection demo — a simulated line camera with synthetic "
      "defects, and a caeanomaly client that writes detections as JSON lines"};
  app.require_subcommand(1);
  CameraOptions c;
  WatchOptions w;
  CLI::App* cam = addCameraCommand(app, c);
  addWatchCommand(app, w);
  CLI11_PARSE(app, argc, argv);

  gst_init(nullptr, nullptr);
  try {
    if (*cam) return camera(c);
    return watch(w);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cae-inspect %s: %s\n", *cam ? "camera" : "watch", e.what());
    return 1;
  }
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {  // a mistake in the option table itself
    std::fprintf(stderr, "cae-inspect: %s\n", e.what());
    return 1;
  }
}
