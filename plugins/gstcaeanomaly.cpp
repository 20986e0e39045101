/**
 * SECTION:element-caeanomaly
 * @title: caeanomaly
 *
 * Flags anomalous frames (defects, foreign objects) with a convolutional autoencoder trained on
 * normal images only (an ONNX file made by `cae-train --task anomaly`, run by OpenCV DNN): where
 * the model reconstructs a frame badly, the frame holds something it has not seen. Per analysed
 * frame the element computes the model's anomaly map (the l2, low-passed l2 or 1 - SSIM map and
 * the smoothing named by the model's cae.anomaly_map / cae.map_sigma), the frame score (the
 * map's maximum) and the connected regions above the threshold. The video passes through
 * unchanged unless `overlay=true`.
 *
 * Gray models analyse GRAY8/GRAY16_LE frames and the BT.601 luma of RGB-type frames; RGB models
 * need RGB-type frames.
 *
 * A flagged frame (score > threshold) carries one #GstVideoRegionOfInterestMeta of type
 * "anomaly" per region, with a "cae-anomaly" parameter structure (double score: the region's
 * peak, int area: its pixels), and the element posts an element message:
 *
 * |[
 * cae-anomaly, score=(double), threshold=(double), is-anomaly=(boolean), z-score=(double),
 *     running-time=(guint64), stream-time=(guint64), timestamp=(guint64), frame=(guint64),
 *     regions=(GstValueArray)< region, x=(int), y=(int), width=(int), height=(int),
 *     area=(int), score=(double), mean=(double) ... >
 * ]|
 *
 * z-score is (score - cae.score_mean) / cae.score_std of the model's calibration; the times are
 * the buffer's PTS (timestamp) and that PTS in running and stream time, GST_CLOCK_TIME_NONE when
 * unknown; frame counts the frames the element has seen since it started (0 for the first).
 * With `message-every-frame=true` every analysed frame posts the message, flagged or not.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 -m v4l2src ! videoconvert ! video/x-raw,format=GRAY8 ! \
 *     caeanomaly model=wood.onnx overlay=true ! videoconvert ! autovideosink
 * ]|
 */
#include "gstcaeanomaly.hpp"

#include <gst/video/gstvideometa.h>
#include <gst/video/video.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <exception>
#include <filesystem>
#include <memory>
#include <opencv2/core.hpp>
#include <string>
#include <vector>

#include "anomaly/regions.hpp"
#include "anomaly/score.hpp"
#include "error.hpp"
#include "gstcaecommon.hpp"
#include "gstcaeenums.hpp"
#include "infer/engine.hpp"

GST_DEBUG_CATEGORY_STATIC(gst_cae_anomaly_debug);
#define GST_CAT_DEFAULT gst_cae_anomaly_debug

#define DEFAULT_MODEL CAE_MODEL_DIR "/" CAE_DEFAULT_ANOMALY_MODEL
#define DEFAULT_THRESHOLD -1.0
#define DEFAULT_INFERENCE_INTERVAL 1
#define DEFAULT_MIN_REGION_AREA 16
#define DEFAULT_OVERLAY FALSE
#define DEFAULT_MESSAGE_EVERY_FRAME FALSE
#define DEFAULT_TILE_SIZE 0
#define DEFAULT_THREADS 0

enum {
  PROP_0,
  PROP_MODEL,
  PROP_THRESHOLD,
  PROP_INFERENCE_INTERVAL,
  PROP_MIN_REGION_AREA,
  PROP_OVERLAY,
  PROP_MESSAGE_EVERY_FRAME,
  PROP_TILE_SIZE,
  PROP_BACKEND,
  PROP_TARGET,
  PROP_THREADS,
};

struct _GstCaeAnomaly {
  GstVideoFilter parent;

  // Properties (GST_OBJECT_LOCK).
  gchar* model;
  gdouble threshold;  // < 0: the model's cae.threshold
  guint inference_interval;
  guint min_region_area;
  gboolean overlay;
  gboolean message_every_frame;
  gint tile_size;
  GstCaeBackend backend;
  GstCaeTarget target;
  gint threads;

  // Streaming state (created in start(), freed in stop()).
  cae::infer::Engine* engine;
  cae::anomaly::MapKind map_kind;  // the map and smoothing the model was calibrated on
  gdouble map_sigma;
  gboolean model_has_threshold;
  gdouble model_threshold;
  gdouble score_mean, score_std;
  guint64 frames;        // frames seen since start()
  GstClockTime latency;  // per-frame analysis time reported to the LATENCY query
};

#define CAPS_STR GST_VIDEO_CAPS_MAKE("{ GRAY8, GRAY16_LE, RGB, BGR, RGBx, BGRx, RGBA, BGRA }")

static GstStaticPadTemplate sink_template =
    GST_STATIC_PAD_TEMPLATE("sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS(CAPS_STR));
static GstStaticPadTemplate src_template =
    GST_STATIC_PAD_TEMPLATE("src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS(CAPS_STR));

G_DEFINE_TYPE(GstCaeAnomaly, gst_cae_anomaly, GST_TYPE_VIDEO_FILTER)
GST_ELEMENT_REGISTER_DEFINE(caeanomaly, "caeanomaly", GST_RANK_NONE, GST_TYPE_CAE_ANOMALY)

// The model a user means: the property, or the shipped default (installed, else the source
// tree's models/ when running uninstalled from a build directory).
// The threshold in force: the property when set (>= 0), else the model's calibrated one.
// Call with the object lock held. FALSE when neither exists.
static bool effective_threshold(GstCaeAnomaly* self, double* t) {
  if (self->threshold >= 0) {
    *t = self->threshold;
    return true;
  }
  if (!self->model_has_threshold) return false;
  *t = self->model_threshold;
  return true;
}

static gboolean gst_cae_anomaly_start(GstBaseTransform* trans) {
  GstCaeAnomaly* self = GST_CAE_ANOMALY(trans);
  cae::infer::EngineOptions o;
  GST_OBJECT_LOCK(self);
  o.model = gst_cae_resolve_model(self->model, CAE_DEFAULT_ANOMALY_MODEL);
  o.backend = cae::infer::Backend(self->backend);
  o.target = cae::infer::Target(self->target);
  o.tileSize = self->tile_size;
  o.threads = self->threads;
  const bool threshold_set = self->threshold >= 0;
  GST_OBJECT_UNLOCK(self);
  o.task = cae::onnx::Task::Anomaly;
  std::unique_ptr<cae::infer::Engine> e;
  cae::anomaly::MapKind kind = cae::anomaly::MapKind::L2;
  try {
    e = std::make_unique<cae::infer::Engine>(o);
    kind = e->info().anomaly.map.map;
  } catch (const cae::IoError& x) {
    GST_ELEMENT_ERROR(self, RESOURCE, NOT_FOUND, ("Cannot read the anomaly model: %s", x.what()),
                      ("set the model property to a .onnx file made by cae-train --task anomaly"));
    return FALSE;
  } catch (const cae::FormatError& x) {
    GST_ELEMENT_ERROR(self, RESOURCE, READ,
                      ("The anomaly model is not a valid ONNX model: %s", x.what()),
                      ("model '%s'", o.model.c_str()));
    return FALSE;
  } catch (const std::exception& x) {
    GST_ELEMENT_ERROR(self, RESOURCE, SETTINGS, ("Cannot use the anomaly model: %s", x.what()),
                      ("model '%s'", o.model.c_str()));
    return FALSE;
  }
  const cae::onnx::ModelInfo& info = e->info();
  if (!info.anomaly.threshold && !threshold_set) {
    GST_ELEMENT_ERROR(self, RESOURCE, SETTINGS,
                      ("The anomaly model '%s' has no calibrated threshold (cae.threshold): set "
                       "the threshold property, or retrain it with cae-train --task anomaly",
                       o.model.c_str()),
                      (nullptr));
    return FALSE;
  }
  for (const std::string& w : e->warnings())
    GST_ELEMENT_WARNING(self, RESOURCE, SETTINGS, ("%s", w.c_str()), (nullptr));
  // A threshold without the map it was calibrated on (a model from elsewhere, or from a
  // cae-train before cae.anomaly_map): the documented default is an unsmoothed l2 map, which
  // may not be what the threshold means.
  const auto& absent = info.defaulted;
  if (info.anomaly.threshold && !threshold_set &&
      std::find(absent.begin(), absent.end(), cae::onnx::key::kAnomalyMap) != absent.end())
    GST_ELEMENT_WARNING(self, RESOURCE, SETTINGS,
                        ("The anomaly model '%s' has cae.threshold but no cae.anomaly_map: its "
                         "threshold is read as one for the l2 map smoothed by cae.map_sigma "
                         "(default 0); set the threshold property if flags look wrong, or "
                         "retrain with cae-train --task anomaly",
                         o.model.c_str()),
                        (nullptr));
  GST_INFO_OBJECT(self,
                  "model %s: %d channel(s), format %s, map %s sigma %g, threshold %g, receptive "
                  "field %d",
                  o.model.c_str(), e->channels(), info.format.c_str(),
                  cae::anomaly::mapKindName(kind), info.anomaly.map.smoothSigma,
                  info.anomaly.threshold.value_or(-1.0), info.receptiveField);
  GST_OBJECT_LOCK(self);
  delete self->engine;
  self->engine = e.release();
  self->map_kind = kind;
  self->map_sigma = info.anomaly.map.smoothSigma;
  self->model_has_threshold = info.anomaly.threshold.has_value();
  self->model_threshold = info.anomaly.threshold.value_or(0.0);
  self->score_mean = info.anomaly.scoreMean;
  self->score_std = info.anomaly.scoreStd;
  self->frames = 0;
  self->latency = 0;
  GST_OBJECT_UNLOCK(self);
  return TRUE;
}

static gboolean gst_cae_anomaly_stop(GstBaseTransform* trans) {
  GstCaeAnomaly* self = GST_CAE_ANOMALY(trans);
  delete self->engine;
  self->engine = nullptr;
  return TRUE;
}

// ---- frames to model units and back -------------------------------------------------------

// One component of a mapped frame (stride-aware): sample (x, y) at data + y*stride + x*pstride.
struct Comp {
  guint8* data;
  int stride, pstride;
  bool wide;  // 16-bit little-endian samples (GRAY16_LE)
};

static Comp comp_of(GstVideoFrame* f, int k) {
  return {static_cast<guint8*>(GST_VIDEO_FRAME_COMP_DATA(f, k)), GST_VIDEO_FRAME_COMP_STRIDE(f, k),
          GST_VIDEO_FRAME_COMP_PSTRIDE(f, k), GST_VIDEO_FRAME_COMP_DEPTH(f, k) > 8};
}

static inline unsigned sample(const Comp& c, int x, int y) {
  const guint8* p = c.data + std::ptrdiff_t(y) * c.stride + std::ptrdiff_t(x) * c.pstride;
  if (!c.wide) return *p;
  guint16 v;
  std::memcpy(&v, p, 2);
  return GUINT16_FROM_LE(v);
}

static inline void put(const Comp& c, int x, int y, unsigned v) {
  guint8* p = c.data + std::ptrdiff_t(y) * c.stride + std::ptrdiff_t(x) * c.pstride;
  if (!c.wide) {
    *p = guint8(v);
    return;
  }
  const guint16 le = GUINT16_TO_LE(guint16(v));
  std::memcpy(p, &le, 2);
}

// The frame as a 1×C×H×W CV_32F blob in model units. A gray model on RGB-type frames reads the
// BT.601 luma; an RGB model reads R, G, B (B, G, R when the model's cae.format says BGR).
static cv::Mat frame_blob(const cae::infer::Engine& e, GstVideoFrame* f) {
  const int w = GST_VIDEO_FRAME_WIDTH(f), h = GST_VIDEO_FRAME_HEIGHT(f), c = e.channels();
  const bool rgb = GST_VIDEO_INFO_IS_RGB(&f->info);
  const Comp c0 = comp_of(f, 0);
  const cae::infer::Normalisation n = e.normalisation(c0.wide ? 16 : 8);
  const int shape[] = {1, c, h, w};
  cv::Mat blob(4, shape, CV_32F);
  float* dst = blob.ptr<float>();
  if (!rgb) {
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x) *dst++ = float(sample(c0, x, y) * n.scale + n.offset);
  } else if (c == 1) {
    const Comp r = comp_of(f, 0), g = comp_of(f, 1), b = comp_of(f, 2);
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x) {
        const double luma =
            0.299 * sample(r, x, y) + 0.587 * sample(g, x, y) + 0.114 * sample(b, x, y);
        *dst++ = float(luma * n.scale + n.offset);
      }
  } else {
    const bool bgr = e.info().format.rfind("BGR", 0) == 0;
    for (int k = 0; k < 3; ++k) {
      const Comp s = comp_of(f, bgr ? 2 - k : k);
      for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) *dst++ = float(sample(s, x, y) * n.scale + n.offset);
    }
  }
  return blob;
}

// A 1×C×H×W blob as an H×W image of C interleaved channels (the plane itself when C = 1).
static cv::Mat interleaved(const cv::Mat& blob) {
  const int c = blob.size[1], h = blob.size[2], w = blob.size[3];
  const cv::Mat packed = blob.isContinuous() ? blob : blob.clone();
  std::vector<cv::Mat> planes;
  for (int k = 0; k < c; ++k)
    planes.emplace_back(h, w, CV_32F,
                        const_cast<float*>(packed.ptr<float>()) + std::size_t(k) * h * w);
  if (c == 1) return planes[0].clone();
  cv::Mat out;
  cv::merge(planes, out);
  return out;
}

static cae::anomaly::ImageView view_of(const cv::Mat& m) {
  return {m.ptr<float>(), m.cols, m.rows, m.channels(), int(m.step / sizeof(float))};
}

struct Analysis {
  cae::anomaly::ScoreMap map;
  double score = 0;
  std::vector<cae::anomaly::Region> regions;
};

// The model's verdict on one frame: map, score and regions above threshold. Throws cae::Error.
static Analysis analyse(GstCaeAnomaly* self, GstVideoFrame* f, double threshold, int min_area) {
  const cv::Mat input = frame_blob(*self->engine, f);
  const cv::Mat reconstruction = self->engine->run(input);
  const cv::Mat a = interleaved(input), b = interleaved(reconstruction);
  Analysis r;
  r.map = cae::anomaly::anomalyMap(view_of(a), view_of(b), {self->map_kind, self->map_sigma});
  r.score = cae::anomaly::frameScore(r.map);
  r.regions = cae::anomaly::findRegions(r.map, float(threshold), min_area);
  return r;
}

// ---- results: overlay, meta, message ------------------------------------------------------

// Heat tint where the map exceeds half the threshold (red for colour frames, brightening for
// gray; stronger nearer and above the threshold) and a 2-pixel box around each region (yellow,
// or full white on gray), drawn just outside the region and kept inside the frame.
static void draw_overlay(GstVideoFrame* f, const Analysis& a, double threshold) {
  const int w = GST_VIDEO_FRAME_WIDTH(f), h = GST_VIDEO_FRAME_HEIGHT(f);
  const bool rgb = GST_VIDEO_INFO_IS_RGB(&f->info);
  const Comp c0 = comp_of(f, 0);
  const Comp c1 = rgb ? comp_of(f, 1) : c0, c2 = rgb ? comp_of(f, 2) : c0;
  const unsigned top = c0.wide ? 65535u : 255u;
  const double lo = threshold / 2, span = std::max(lo, 1e-12);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      const double m = a.map.at(x, y);
      if (!(m > lo)) continue;
      const double alpha = 0.25 + 0.5 * std::min(1.0, (m - lo) / span);
      const unsigned v0 = sample(c0, x, y);
      put(c0, x, y, unsigned(v0 + alpha * (top - v0) + 0.5));
      if (rgb) {
        put(c1, x, y, unsigned(sample(c1, x, y) * (1 - alpha) + 0.5));
        put(c2, x, y, unsigned(sample(c2, x, y) * (1 - alpha) + 0.5));
      }
    }
  auto mark = [&](int x, int y) {
    put(c0, x, y, top);
    if (rgb) {
      put(c1, x, y, top);
      put(c2, x, y, 0);
    }
  };
  for (const cae::anomaly::Region& r : a.regions) {
    const int x0 = std::max(0, r.x - 2), y0 = std::max(0, r.y - 2);
    const int x1 = std::min(w, r.x + r.width + 2), y1 = std::min(h, r.y + r.height + 2);
    for (int y = y0; y < y1; ++y)
      for (int x = x0; x < x1; ++x)
        if (y < y0 + 2 || y >= y1 - 2 || x < x0 + 2 || x >= x1 - 2) mark(x, y);
  }
}

static void add_roi_meta(GstBuffer* buf, const Analysis& a) {
  for (const cae::anomaly::Region& r : a.regions) {
    GstVideoRegionOfInterestMeta* m = gst_buffer_add_video_region_of_interest_meta(
        buf, "anomaly", guint(r.x), guint(r.y), guint(r.width), guint(r.height));
    gst_video_region_of_interest_meta_add_param(
        m, gst_structure_new("cae-anomaly", "score", G_TYPE_DOUBLE, double(r.peak), "area",
                             G_TYPE_INT, r.area, nullptr));
  }
}

static GstMessage* anomaly_message(GstCaeAnomaly* self, const Analysis& a, double threshold,
                                   bool flagged, GstBuffer* buf, guint64 frame) {
  const GstSegment* seg = &GST_BASE_TRANSFORM(self)->segment;
  const GstClockTime pts = GST_BUFFER_PTS(buf);
  GstClockTime running = GST_CLOCK_TIME_NONE, stream = GST_CLOCK_TIME_NONE;
  if (seg->format == GST_FORMAT_TIME && GST_CLOCK_TIME_IS_VALID(pts)) {
    running = gst_segment_to_running_time(seg, GST_FORMAT_TIME, pts);
    stream = gst_segment_to_stream_time(seg, GST_FORMAT_TIME, pts);
  }
  // z = 0 when the calibration has no spread (a single calibration score).
  const double z = self->score_std > 0 ? (a.score - self->score_mean) / self->score_std : 0.0;
  GValue regions = G_VALUE_INIT;
  g_value_init(&regions, GST_TYPE_ARRAY);
  for (const cae::anomaly::Region& r : a.regions) {
    GValue v = G_VALUE_INIT;
    g_value_init(&v, GST_TYPE_STRUCTURE);
    g_value_take_boxed(
        &v, gst_structure_new("region", "x", G_TYPE_INT, r.x, "y", G_TYPE_INT, r.y, "width",
                              G_TYPE_INT, r.width, "height", G_TYPE_INT, r.height, "area",
                              G_TYPE_INT, r.area, "score", G_TYPE_DOUBLE, double(r.peak), "mean",
                              G_TYPE_DOUBLE, double(r.mean), nullptr));
    gst_value_array_append_and_take_value(&regions, &v);
  }
  GstStructure* s = gst_structure_new(
      "cae-anomaly", "score", G_TYPE_DOUBLE, a.score, "threshold", G_TYPE_DOUBLE, threshold,
      "is-anomaly", G_TYPE_BOOLEAN, gboolean(flagged), "z-score", G_TYPE_DOUBLE, z, "running-time",
      G_TYPE_UINT64, guint64(running), "stream-time", G_TYPE_UINT64, guint64(stream), "timestamp",
      G_TYPE_UINT64, guint64(pts), "frame", G_TYPE_UINT64, frame, nullptr);
  gst_structure_take_value(s, "regions", &regions);
  return gst_message_new_element(GST_OBJECT(self), s);
}

// ---- GstVideoFilter ------------------------------------------------------------------------

static gboolean gst_cae_anomaly_set_info(GstVideoFilter* filter, GstCaps*, GstVideoInfo* in_info,
                                         GstCaps*, GstVideoInfo* out_info) {
  GstCaeAnomaly* self = GST_CAE_ANOMALY(filter);
  if (!self->engine) return FALSE;
  if (GST_VIDEO_INFO_FORMAT(in_info) != GST_VIDEO_INFO_FORMAT(out_info) ||
      in_info->width != out_info->width || in_info->height != out_info->height) {
    GST_ELEMENT_ERROR(self, CORE, NEGOTIATION,
                      ("caeanomaly does not convert: input and output caps differ"), (nullptr));
    return FALSE;
  }
  const int c = self->engine->channels();
  const char* fmt = gst_video_format_to_string(GST_VIDEO_INFO_FORMAT(in_info));
  if (c == 3 && !GST_VIDEO_INFO_IS_RGB(in_info)) {
    GST_ELEMENT_ERROR(
        self, CORE, NEGOTIATION,
        ("The anomaly model reads 3-channel (RGB) images; %s frames cannot feed it", fmt),
        ("put videoconvert before caeanomaly, or use a gray model"));
    return FALSE;
  }
  if (c != 1 && c != 3) {
    GST_ELEMENT_ERROR(self, CORE, NEGOTIATION,
                      ("The anomaly model reads %d channels; video frames give 1 or 3", c),
                      (nullptr));
    return FALSE;
  }
  GST_OBJECT_LOCK(self);
  double threshold = 0;
  if (!effective_threshold(self, &threshold)) threshold = 0;  // only the timing needs one here
  const int min_area = int(self->min_region_area);
  GST_OBJECT_UNLOCK(self);
  // Analyse a frame of this size: the processing latency the LATENCY query reports.
  GstBuffer* buf = gst_buffer_new_allocate(nullptr, in_info->size, nullptr);
  gst_buffer_memset(buf, 0, 16, in_info->size);
  GstVideoFrame frame{};
  bool ok = false;
  auto t0 = std::chrono::steady_clock::now();
  if (gst_video_frame_map(&frame, in_info, buf, GST_MAP_READ)) {
    try {
      // The first run of a size sets OpenCV's network up; the second is what a frame costs.
      analyse(self, &frame, threshold, min_area);
      t0 = std::chrono::steady_clock::now();
      analyse(self, &frame, threshold, min_area);
      ok = true;
    } catch (const std::exception& e) {
      GST_ELEMENT_ERROR(self, STREAM, FAILED, ("Anomaly analysis failed: %s", e.what()),
                        ("%dx%d %s", in_info->width, in_info->height, fmt));
    }
    gst_video_frame_unmap(&frame);
  }
  gst_buffer_unref(buf);
  if (!ok) return FALSE;
  const auto ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0);
  GST_OBJECT_LOCK(self);
  self->latency = GstClockTime(ns.count());
  GST_OBJECT_UNLOCK(self);
  GST_INFO_OBJECT(self, "%dx%d %s: %" GST_TIME_FORMAT " per analysed frame", in_info->width,
                  in_info->height, fmt, GST_TIME_ARGS(GstClockTime(ns.count())));
  gst_element_post_message(GST_ELEMENT(self), gst_message_new_latency(GST_OBJECT(self)));
  return TRUE;
}

static GstFlowReturn gst_cae_anomaly_transform_frame_ip(GstVideoFilter* filter,
                                                        GstVideoFrame* frame) {
  GstCaeAnomaly* self = GST_CAE_ANOMALY(filter);
  GST_OBJECT_LOCK(self);
  const guint64 index = self->frames++;
  const guint interval = std::max(1u, self->inference_interval);
  double threshold = 0;
  const bool have_threshold = effective_threshold(self, &threshold);
  const int min_area = int(std::max(1u, self->min_region_area));
  const bool overlay = self->overlay;
  const bool every = self->message_every_frame;
  GST_OBJECT_UNLOCK(self);
  if (index % interval != 0) return GST_FLOW_OK;  // passes through untouched
  if (!have_threshold) {
    GST_ELEMENT_ERROR(self, RESOURCE, SETTINGS,
                      ("The anomaly model has no calibrated threshold (cae.threshold): set the "
                       "threshold property, or retrain it with cae-train --task anomaly"),
                      (nullptr));
    return GST_FLOW_ERROR;
  }
  Analysis a;
  try {
    a = analyse(self, frame, threshold, min_area);
  } catch (const std::exception& e) {
    GST_ELEMENT_ERROR(self, STREAM, FAILED, ("Anomaly analysis failed: %s", e.what()), (nullptr));
    return GST_FLOW_ERROR;
  }
  const bool flagged = a.score > threshold;
  GST_LOG_OBJECT(self, "frame %" G_GUINT64_FORMAT ": score %g, threshold %g, %zu region(s)", index,
                 a.score, threshold, a.regions.size());
  if (flagged) {
    add_roi_meta(frame->buffer, a);
    if (overlay) draw_overlay(frame, a, threshold);
  }
  if (flagged || every)
    gst_element_post_message(GST_ELEMENT(self),
                             anomaly_message(self, a, threshold, flagged, frame->buffer, index));
  return GST_FLOW_OK;
}

// Controlled properties (threshold, ...) follow their control bindings frame by frame.
static void gst_cae_anomaly_before_transform(GstBaseTransform* trans, GstBuffer* buf) {
  const GstClockTime st =
      gst_segment_to_stream_time(&trans->segment, GST_FORMAT_TIME, GST_BUFFER_TIMESTAMP(buf));
  if (GST_CLOCK_TIME_IS_VALID(st)) gst_object_sync_values(GST_OBJECT(trans), st);
}

static gboolean gst_cae_anomaly_query(GstBaseTransform* trans, GstPadDirection dir, GstQuery* q) {
  GstCaeAnomaly* self = GST_CAE_ANOMALY(trans);
  if (GST_QUERY_TYPE(q) == GST_QUERY_LATENCY && dir == GST_PAD_SRC) {
    if (!GST_BASE_TRANSFORM_CLASS(gst_cae_anomaly_parent_class)->query(trans, dir, q)) return FALSE;
    GST_OBJECT_LOCK(self);
    const GstClockTime lat = self->latency;
    GST_OBJECT_UNLOCK(self);
    gst_cae_add_latency(q, lat);
    GST_DEBUG_OBJECT(self, "latency: ours %" GST_TIME_FORMAT, GST_TIME_ARGS(lat));
    return TRUE;
  }
  return GST_BASE_TRANSFORM_CLASS(gst_cae_anomaly_parent_class)->query(trans, dir, q);
}

// ---- GObject -------------------------------------------------------------------------------

static void gst_cae_anomaly_set_property(GObject* object, guint id, const GValue* value,
                                         GParamSpec* pspec) {
  GstCaeAnomaly* self = GST_CAE_ANOMALY(object);
  GST_OBJECT_LOCK(self);
  switch (id) {
    case PROP_MODEL:
      g_free(self->model);
      self->model = g_value_dup_string(value);
      break;
    case PROP_THRESHOLD:
      self->threshold = g_value_get_double(value);
      break;
    case PROP_INFERENCE_INTERVAL:
      self->inference_interval = g_value_get_uint(value);
      break;
    case PROP_MIN_REGION_AREA:
      self->min_region_area = g_value_get_uint(value);
      break;
    case PROP_OVERLAY:
      self->overlay = g_value_get_boolean(value);
      break;
    case PROP_MESSAGE_EVERY_FRAME:
      self->message_every_frame = g_value_get_boolean(value);
      break;
    case PROP_TILE_SIZE:
      self->tile_size = g_value_get_int(value);
      break;
    case PROP_BACKEND:
      self->backend = GstCaeBackend(g_value_get_enum(value));
      break;
    case PROP_TARGET:
      self->target = GstCaeTarget(g_value_get_enum(value));
      break;
    case PROP_THREADS:
      self->threads = g_value_get_int(value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(object, id, pspec);
  }
  GST_OBJECT_UNLOCK(self);
}

static void gst_cae_anomaly_get_property(GObject* object, guint id, GValue* value,
                                         GParamSpec* pspec) {
  GstCaeAnomaly* self = GST_CAE_ANOMALY(object);
  GST_OBJECT_LOCK(self);
  switch (id) {
    case PROP_MODEL:
      g_value_set_string(value, self->model);
      break;
    case PROP_THRESHOLD:
      g_value_set_double(value, self->threshold);
      break;
    case PROP_INFERENCE_INTERVAL:
      g_value_set_uint(value, self->inference_interval);
      break;
    case PROP_MIN_REGION_AREA:
      g_value_set_uint(value, self->min_region_area);
      break;
    case PROP_OVERLAY:
      g_value_set_boolean(value, self->overlay);
      break;
    case PROP_MESSAGE_EVERY_FRAME:
      g_value_set_boolean(value, self->message_every_frame);
      break;
    case PROP_TILE_SIZE:
      g_value_set_int(value, self->tile_size);
      break;
    case PROP_BACKEND:
      g_value_set_enum(value, self->backend);
      break;
    case PROP_TARGET:
      g_value_set_enum(value, self->target);
      break;
    case PROP_THREADS:
      g_value_set_int(value, self->threads);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(object, id, pspec);
  }
  GST_OBJECT_UNLOCK(self);
}

static void gst_cae_anomaly_finalize(GObject* object) {
  GstCaeAnomaly* self = GST_CAE_ANOMALY(object);
  g_free(self->model);
  delete self->engine;
  G_OBJECT_CLASS(gst_cae_anomaly_parent_class)->finalize(object);
}

static void gst_cae_anomaly_class_init(GstCaeAnomalyClass* klass) {
  GObjectClass* gobject_class = G_OBJECT_CLASS(klass);
  GstElementClass* element_class = GST_ELEMENT_CLASS(klass);
  GstBaseTransformClass* trans_class = GST_BASE_TRANSFORM_CLASS(klass);
  GstVideoFilterClass* filter_class = GST_VIDEO_FILTER_CLASS(klass);

  gobject_class->set_property = gst_cae_anomaly_set_property;
  gobject_class->get_property = gst_cae_anomaly_get_property;
  gobject_class->finalize = gst_cae_anomaly_finalize;

  const auto rw = GParamFlags(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS);
  const auto rw_ready = GParamFlags(rw | GST_PARAM_MUTABLE_READY);
  const auto rw_playing = GParamFlags(rw | GST_PARAM_MUTABLE_PLAYING | GST_PARAM_CONTROLLABLE);
  g_object_class_install_property(
      gobject_class, PROP_MODEL,
      g_param_spec_string(
          "model", "Model",
          "Anomaly model (.onnx made by cae-train --task anomaly, trained on "
          "normal images only); the default is the shipped " CAE_DEFAULT_ANOMALY_MODEL,
          DEFAULT_MODEL, rw_ready));
  g_object_class_install_property(
      gobject_class, PROP_THRESHOLD,
      g_param_spec_double("threshold", "Threshold",
                          "Frame score above which a frame is anomalous, and the per-pixel map "
                          "level regions are cut at (model units, the scale of cae.threshold). "
                          "Negative (the default, -1): the model's calibrated cae.threshold",
                          -1.0, G_MAXDOUBLE, DEFAULT_THRESHOLD, rw_playing));
  g_object_class_install_property(
      gobject_class, PROP_INFERENCE_INTERVAL,
      g_param_spec_uint("inference-interval", "Inference interval",
                        "Analyse every Nth frame, starting with the first; the frames in "
                        "between pass through untouched (no message, no meta, no overlay)",
                        1, G_MAXUINT, DEFAULT_INFERENCE_INTERVAL, rw_playing));
  g_object_class_install_property(
      gobject_class, PROP_MIN_REGION_AREA,
      g_param_spec_uint("min-region-area", "Minimum region area",
                        "Regions (8-connected pixels of the map above the threshold) smaller "
                        "than this many pixels are not reported",
                        1, G_MAXINT, DEFAULT_MIN_REGION_AREA, rw_playing));
  g_object_class_install_property(
      gobject_class, PROP_OVERLAY,
      g_param_spec_boolean("overlay", "Overlay",
                           "Draw on flagged frames: a heat tint where the map exceeds half the "
                           "threshold (red on colour frames, brighter on gray) and a box around "
                           "each region. Off: the output pixels are exactly the input's",
                           DEFAULT_OVERLAY, rw_playing));
  g_object_class_install_property(
      gobject_class, PROP_MESSAGE_EVERY_FRAME,
      g_param_spec_boolean("message-every-frame", "Message every frame",
                           "Post the cae-anomaly element message for every analysed frame, not "
                           "only for flagged ones",
                           DEFAULT_MESSAGE_EVERY_FRAME, rw_playing));
  g_object_class_install_property(
      gobject_class, PROP_TILE_SIZE,
      g_param_spec_int("tile-size", "Tile size",
                       "Output pixels per tile side; tiles overlap by the model's receptive "
                       "field so no seams show. 0: whole frames up to 2048 pixels a side, "
                       "512-pixel tiles beyond",
                       0, 16384, DEFAULT_TILE_SIZE, rw_ready));
  g_object_class_install_property(
      gobject_class, PROP_BACKEND,
      g_param_spec_enum("backend", "Backend", "OpenCV DNN backend", GST_TYPE_CAE_BACKEND,
                        GST_CAE_BACKEND_OPENCV, rw_ready));
  g_object_class_install_property(
      gobject_class, PROP_TARGET,
      g_param_spec_enum("target", "Target", "OpenCV DNN target device", GST_TYPE_CAE_TARGET,
                        GST_CAE_TARGET_CPU, rw_ready));
  g_object_class_install_property(
      gobject_class, PROP_THREADS,
      g_param_spec_int("threads", "Threads",
                       "Inference threads (OpenCV's setting is process-wide); 0: OpenCV's "
                       "default (all cores)",
                       0, 256, DEFAULT_THREADS, rw_ready));

  gst_element_class_set_static_metadata(
      element_class, "CAE anomaly detector", "Filter/Analyzer/Video",
      "Flags anomalous frames and regions with a learned convolutional autoencoder (ONNX, OpenCV "
      "DNN): bus message, region-of-interest meta, optional overlay",
      "cae developers");
  gst_element_class_add_static_pad_template(element_class, &sink_template);
  gst_element_class_add_static_pad_template(element_class, &src_template);

  trans_class->start = GST_DEBUG_FUNCPTR(gst_cae_anomaly_start);
  trans_class->stop = GST_DEBUG_FUNCPTR(gst_cae_anomaly_stop);
  trans_class->query = GST_DEBUG_FUNCPTR(gst_cae_anomaly_query);
  trans_class->before_transform = GST_DEBUG_FUNCPTR(gst_cae_anomaly_before_transform);
  filter_class->set_info = GST_DEBUG_FUNCPTR(gst_cae_anomaly_set_info);
  filter_class->transform_frame_ip = GST_DEBUG_FUNCPTR(gst_cae_anomaly_transform_frame_ip);

  gst_type_mark_as_plugin_api(GST_TYPE_CAE_BACKEND, GstPluginAPIFlags(0));
  gst_type_mark_as_plugin_api(GST_TYPE_CAE_TARGET, GstPluginAPIFlags(0));
  GST_DEBUG_CATEGORY_INIT(gst_cae_anomaly_debug, "caeanomaly", 0, "CAE video anomaly detector");
}

static void gst_cae_anomaly_init(GstCaeAnomaly* self) {
  self->model = g_strdup(DEFAULT_MODEL);
  self->threshold = DEFAULT_THRESHOLD;
  self->inference_interval = DEFAULT_INFERENCE_INTERVAL;
  self->min_region_area = DEFAULT_MIN_REGION_AREA;
  self->overlay = DEFAULT_OVERLAY;
  self->message_every_frame = DEFAULT_MESSAGE_EVERY_FRAME;
  self->tile_size = DEFAULT_TILE_SIZE;
  self->backend = GST_CAE_BACKEND_OPENCV;
  self->target = GST_CAE_TARGET_CPU;
  self->threads = DEFAULT_THREADS;
  self->engine = nullptr;
  self->map_kind = cae::anomaly::MapKind::L2;
  self->map_sigma = 0;
  self->model_has_threshold = FALSE;
  self->model_threshold = 0;
  self->score_mean = 0;
  self->score_std = 1;
  self->frames = 0;
  self->latency = 0;
  // In place: pixels are only written with overlay=true, but meta is added, so never passthrough.
  gst_base_transform_set_in_place(GST_BASE_TRANSFORM(self), TRUE);
  gst_base_transform_set_passthrough(GST_BASE_TRANSFORM(self), FALSE);
  gst_base_transform_set_qos_enabled(GST_BASE_TRANSFORM(self), TRUE);
}
