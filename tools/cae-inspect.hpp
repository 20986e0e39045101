// cae-inspect's two halves, each in its own file, and what they share; tools/cae-inspect.cpp
// reads the command line into the options below and runs one of them.
//   camera  cae-inspect-camera.cpp: a simulated line camera served over RTSP on loopback
//   watch   cae-inspect-watch.cpp: caeanomaly on an RTSP stream, a JSON line per detection
#pragma once

#include <gst/gst.h>

#include <cstdint>
#include <string>

namespace cae::inspect {

inline constexpr const char* kWood = "/usr/share/backgrounds/mate/nature/Wood.jpg";

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

struct WatchOptions {
  std::string url;
  std::string codec = "raw";
  std::string model;
  double threshold = -1;
  int inferenceInterval = 1;
  int minRegionArea = 0;
  int alarmFrames = 0, alarmWindow = 0;  // caeanomaly's k-of-n rule; 0: the element's default
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

// Serves the camera until SIGINT/SIGTERM or o.seconds; the process's exit code. cae::Error
// (and its kinds) for a texture, size or defect list it cannot use.
int camera(const CameraOptions& o);
// Runs the watch pipeline until EOS, an error, a watchdog, a signal or o.seconds; the exit code.
// cae::Error for a missing element or model.
int watch(const WatchOptions& o);

// printf to stderr, flushed (progress lines from any thread).
void logf(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

inline double seconds(GstClockTime t) { return double(t) / double(GST_SECOND); }

}  // namespace cae::inspect
