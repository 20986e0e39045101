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
#include "cae-inspect.hpp"

#include <gst/gst.h>

#include <CLI/CLI.hpp>
#include <cstdarg>
#include <cstdio>
#include <exception>

namespace cae::inspect {

void logf(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  std::vfprintf(stderr, fmt, ap);
  va_end(ap);
  std::fflush(stderr);
}

}  // namespace cae::inspect

namespace {

using cae::inspect::CameraOptions;
using cae::inspect::WatchOptions;

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
  wat->add_option("--alarm-frames", w.alarmFrames,
                  "flag a frame only when this many of the last --alarm-window analysed frames "
                  "are above the threshold (caeanomaly's alarm-frames; default: the element's, "
                  "every frame on its own)")
      ->check(CLI::Range(1, 1000));
  wat->add_option("--alarm-window", w.alarmWindow,
                  "the analysed frames --alarm-frames counts over (caeanomaly's alarm-window)")
      ->check(CLI::Range(1, 1000));
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
    if (*cam) return cae::inspect::camera(c);
    return cae::inspect::watch(w);
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
