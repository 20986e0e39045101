// cae-inspect watch: caeanomaly on an RTSP stream (cae-inspect.hpp): rtspsrc ! depay !
// videoconvert ! GRAY8 ! caeanomaly ! fakesink, one JSON line per cae-anomaly bus message, frame
// times and processing times from pad probes, progress and watchdogs on the main loop.
#include <glib-unix.h>
#include <gst/gst.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cae-inspect.hpp"
#include "error.hpp"

namespace cae::inspect {

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;

namespace {

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
  // Checked by the element when the model loads: alarm-frames <= alarm-window.
  if (o.alarmWindow > 0) g_object_set(detector, "alarm-window", guint(o.alarmWindow), nullptr);
  if (o.alarmFrames > 0) g_object_set(detector, "alarm-frames", guint(o.alarmFrames), nullptr);
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

}  // namespace

int watch(const WatchOptions& o) {
  // The element's defaults are 1 of 1: --alarm-frames alone needs a window as large.
  if (o.alarmFrames > std::max(o.alarmWindow, 1))
    throw cae::InvalidArgument("--alarm-frames " + std::to_string(o.alarmFrames) +
                               " is larger than --alarm-window " +
                               std::to_string(std::max(o.alarmWindow, 1)) +
                               ": a frame is flagged when at least that many of the last window "
                               "frames are above the threshold");
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

}  // namespace cae::inspect
