/**
 * SECTION:element-caeanomaly
 * @title: caeanomaly
 *
 * Flags anomalous frames (defects, foreign objects) with a convolutional autoencoder trained on
 * normal images only (an ONNX file made by `cae-train --task anomaly`, run by oneDNN or OpenCV
 * DNN: `backend`): where the model reconstructs a frame badly, the frame holds something it has
 * not seen. Per analysed frame the element computes the model's anomaly map (the l2, low-passed
 * l2 or 1 - SSIM map, or a segmentation model's own output as probability or logit, and the
 * smoothing named by the model's cae.anomaly_map / cae.map_sigma),
 * the frame score (the map's maximum) and the connected regions above the threshold. The video
 * passes through unchanged unless `overlay=true`.
 *
 * Gray models analyse GRAY8/GRAY16_LE frames and the BT.601 luma of RGB-type frames; RGB models
 * need RGB-type frames: the element offers only the formats its model can take, so a
 * videoconvert in front converts.
 *
 * The threshold is the `threshold` property when set, else the model's cae.threshold; a model
 * calibrated with a frame model (cae-train --frame-fpr: cae.frame_model) instead gets the
 * threshold of its false-alarm rate per frame at each frame's own size, since the frame score,
 * a maximum, grows with the area.
 *
 * A frame is flagged when its score is above the threshold and at least one region of
 * `min-region-area` pixels or more is: a frame whose only pixels above the threshold form
 * smaller specks is not flagged (is-anomaly=false with `message-every-frame=true`).
 * A flagged frame carries one #GstVideoRegionOfInterestMeta of type
 * "anomaly" per region, with a "cae-anomaly" parameter structure (double score: the region's
 * peak, int area: its pixels), and the element posts an element message:
 *
 * |[
 * cae-anomaly, score=(double), threshold=(double), is-anomaly=(boolean), z-score=(double),
 *     running-time=(guint64), stream-time=(guint64), timestamp=(guint64), frame=(guint64),
 *     above-threshold=(boolean), window-count=(int),
 *     regions=(GstValueArray)< region, x=(int), y=(int), width=(int), height=(int),
 *     area=(int), score=(double), mean=(double) ... >
 * ]|
 *
 * z-score is (score - cae.score_mean) / cae.score_std of the model's calibration; the times are
 * the buffer's PTS (timestamp) and that PTS in running and stream time, GST_CLOCK_TIME_NONE when
 * unknown; frame counts the frames the element has seen since it started (0 for the first).
 * With `message-every-frame=true` every analysed frame posts the message, flagged or not.
 *
 * For live streams, `alarm-frames=k alarm-window=n` flags a frame only when it is above the
 * threshold itself (as above) and at least k of the last n analysed frames were: a single noisy
 * frame flags nothing, a defect that stays in view is flagged from its k-th frame on. The count
 * starts again wherever the stream is not continuous (caps change, flush, new segment, DISCONT,
 * a timestamp gap). The message's above-threshold is the frame's own verdict, window-count the
 * frames above among the last n; is-anomaly is the rule's. The default, 1 of 1, flags every frame
 * above the threshold.
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
#include <opencv2/core.hpp>
#include <string>
#include <vector>

#include "anomaly/alarm.hpp"
#include "anomaly/decision.hpp"
#include "anomaly/overlay.hpp"
#include "anomaly/regions.hpp"
#include "anomaly/score.hpp"
#include "infer/engine.hpp"
#include "infer/planes.hpp"

GST_DEBUG_CATEGORY_STATIC(gst_cae_anomaly_debug);
#define GST_CAT_DEFAULT gst_cae_anomaly_debug

#define DEFAULT_THRESHOLD (-1.0)
#define DEFAULT_INFERENCE_INTERVAL 1
#define DEFAULT_ALARM_FRAMES 1
#define DEFAULT_ALARM_WINDOW 1
#define DEFAULT_MIN_REGION_AREA 16
#define DEFAULT_OVERLAY FALSE
#define DEFAULT_MESSAGE_EVERY_FRAME FALSE

enum {
  PROP_0,
  PROP_THRESHOLD,
  PROP_INFERENCE_INTERVAL,
  PROP_MIN_REGION_AREA,
  PROP_OVERLAY,
  PROP_MESSAGE_EVERY_FRAME,
  PROP_ALARM_FRAMES,
  PROP_ALARM_WINDOW,
};

struct Analysis {
  cae::anomaly::ScoreMap map;
  double score = 0;
  std::vector<cae::anomaly::Region> regions;
};

// What analyse() keeps from frame to frame (the streaming thread's, under the engine lock), so
// that a stream of frames of one size allocates no frame-sized buffer per frame.
struct Workspace {
  cv::Mat input, reconstruction, mergedInput, mergedReconstruction;
  Analysis result;
  cae::anomaly::KOfN alarm;  // alarm-frames of alarm-window, since the stream (re)started
};

struct _GstCaeAnomaly {
  GstCaeFilter parent;

  // Properties (GST_OBJECT_LOCK).
  gdouble threshold;  // < 0: the model's cae.threshold
  guint inference_interval;
  guint min_region_area;
  gboolean overlay;
  gboolean message_every_frame;
  guint alarm_frames;  // k of ...
  guint alarm_window;  // ... the last n analysed frames

  // Streaming state (GST_OBJECT_LOCK), set when a model is loaded.
  cae::anomaly::Decision* model_decision;  // the model's calibration (owned)
  guint64 frames;                          // frames seen since start()
  Workspace* work;                         // analyse()'s buffers (owned; streaming thread)
};

G_DEFINE_TYPE(GstCaeAnomaly, gst_cae_anomaly, GST_TYPE_CAE_FILTER)
GST_ELEMENT_REGISTER_DEFINE(caeanomaly, "caeanomaly", GST_RANK_NONE, GST_TYPE_CAE_ANOMALY)

// The decision in force for a frame: the model's, with the threshold property when that is set
// (>= 0); else, for a model with a frame model (cae.frame_model), its threshold at this frame's
// area. Call with the object lock held.
static cae::anomaly::Decision decision_in_force(GstCaeAnomaly* self, const GstVideoFrame* f) {
  if (self->threshold >= 0) return self->model_decision->withThreshold(self->threshold);
  return self->model_decision->atArea(double(GST_VIDEO_FRAME_WIDTH(f)) * GST_VIDEO_FRAME_HEIGHT(f));
}

static gboolean gst_cae_anomaly_model_loaded(GstCaeFilter* filter, const cae::infer::Engine& e) {
  GstCaeAnomaly* self = GST_CAE_ANOMALY(filter);
  const cae::onnx::ModelInfo& info = e.info();
  const char* model = e.options().model.c_str();
  GST_OBJECT_LOCK(self);
  const bool threshold_set = self->threshold >= 0;
  const int k = int(self->alarm_frames), n = int(self->alarm_window);
  GST_OBJECT_UNLOCK(self);
  if (k > n) {
    GST_ELEMENT_ERROR(self, RESOURCE, SETTINGS,
                      ("alarm-frames (%d) is larger than alarm-window (%d): a frame is flagged "
                       "when at least alarm-frames of the last alarm-window frames are above the "
                       "threshold",
                       k, n),
                      (nullptr));
    return FALSE;
  }
  if (!info.anomaly.calibrated() && !threshold_set) {
    GST_ELEMENT_ERROR(self, RESOURCE, SETTINGS,
                      ("The anomaly model '%s' has no calibrated threshold (cae.threshold): set "
                       "the threshold property, or retrain it with cae-train --task anomaly",
                       model),
                      (nullptr));
    return FALSE;
  }
  // A threshold without the map it was calibrated on (a model from elsewhere, or from a
  // cae-train before cae.anomaly_map): the documented default is an unsmoothed l2 map, which
  // may not be what the threshold means.
  const auto& absent = info.defaulted;
  if (info.anomaly.calibrated() && !threshold_set &&
      std::find(absent.begin(), absent.end(), cae::onnx::key::kAnomalyMap) != absent.end())
    GST_ELEMENT_WARNING(self, RESOURCE, SETTINGS,
                        ("The anomaly model '%s' has cae.threshold but no cae.anomaly_map: its "
                         "threshold is read as one for the l2 map smoothed by cae.map_sigma "
                         "(default 0); set the threshold property if flags look wrong, or "
                         "retrain with cae-train --task anomaly",
                         model),
                        (nullptr));
  GST_INFO_OBJECT(self, "model %s: map %s sigma %g, threshold %g", model,
                  cae::anomaly::mapKindName(info.anomaly.map.map), info.anomaly.map.smoothSigma,
                  info.anomaly.threshold.value_or(-1.0));
  GST_OBJECT_LOCK(self);
  *self->model_decision = info.anomaly;
  self->frames = 0;
  GST_OBJECT_UNLOCK(self);
  *self->work = Workspace();  // a new model, maybe a new size: the last run's buffers go
  self->work->alarm = cae::anomaly::KOfN(k, n);
  return TRUE;
}

// The alarm's count starts again: the frames before do not follow on (the base calls this with the
// engine's lock held, the lock process_ip runs under).
static void gst_cae_anomaly_stream_restarted(GstCaeFilter* filter) {
  GST_CAE_ANOMALY(filter)->work->alarm.reset();
}

// ---- analysis ------------------------------------------------------------------------------

// A 1×C×H×W blob (continuous) as an H×W image of C interleaved channels: a header on the blob's
// own plane when C = 1, else merged into `merged` (its memory reused from frame to frame).
static cv::Mat interleaved(const cv::Mat& blob, cv::Mat& merged) {
  const int c = blob.size[1], h = blob.size[2], w = blob.size[3];
  std::vector<cv::Mat> planes;
  planes.reserve(std::size_t(c));
  for (int k = 0; k < c; ++k)
    planes.emplace_back(h, w, CV_32F,
                        const_cast<float*>(blob.ptr<float>()) + std::size_t(k) * h * w);
  if (c == 1) return planes[0];
  cv::merge(planes, merged);
  return merged;
}

static cae::anomaly::ImageView view_of(const cv::Mat& m) {
  return {m.ptr<float>(), m.cols, m.rows, m.channels(), int(m.step / sizeof(float))};
}

// A gray frame's plane, or an RGB-type frame's R, G, B (read as the model wants them).
static std::vector<cae::infer::PlaneView> planes_of(GstVideoFrame* f) {
  return gst_cae_filter_planes(f, GST_VIDEO_INFO_IS_RGB(&f->info) ? 3 : 1);
}

// The model's verdict on one frame: map, score and regions above threshold, in w.result.
// Throws cae::Error.
static const Analysis& analyse(Workspace& w, cae::infer::Engine& e, GstVideoFrame* f,
                               const cae::anomaly::ScoreOptions& map, double threshold,
                               int min_area) {
  cae::infer::readFrame(e, planes_of(f), w.input);
  const cv::Mat& input = w.input;
  e.run(input, w.reconstruction);
  const cv::Mat a = interleaved(input, w.mergedInput);
  const cv::Mat b = interleaved(w.reconstruction, w.mergedReconstruction);
  Analysis& r = w.result;
  cae::anomaly::anomalyMap(view_of(a), view_of(b), map, r.map);
  r.score = cae::anomaly::frameScore(r.map);
  r.regions = cae::anomaly::findRegions(r.map, float(threshold), min_area);
  return r;
}

static void gst_cae_anomaly_run_model(GstCaeFilter* filter, cae::infer::Engine& e,
                                      GstVideoFrame* in, GstVideoFrame*) {
  GstCaeAnomaly* self = GST_CAE_ANOMALY(filter);
  GST_OBJECT_LOCK(self);
  const cae::anomaly::Decision d = decision_in_force(self, in);
  const int min_area = int(self->min_region_area);
  GST_OBJECT_UNLOCK(self);
  // Only the timing needs a run here.
  analyse(*self->work, e, in, d.map, d.threshold.value_or(0.0), min_area);
}

// ---- results: meta, message ----------------------------------------------------------------

static void add_roi_meta(GstBuffer* buf, const Analysis& a) {
  for (const cae::anomaly::Region& r : a.regions) {
    GstVideoRegionOfInterestMeta* m = gst_buffer_add_video_region_of_interest_meta(
        buf, "anomaly", guint(r.x), guint(r.y), guint(r.width), guint(r.height));
    gst_video_region_of_interest_meta_add_param(
        m, gst_structure_new("cae-anomaly", "score", G_TYPE_DOUBLE, double(r.peak), "area",
                             G_TYPE_INT, r.area, nullptr));
  }
}

static GValue regions_value(const Analysis& a) {
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
  return regions;
}

static GstMessage* anomaly_message(GstCaeAnomaly* self, const Analysis& a,
                                   const cae::anomaly::Decision& d, bool above, bool flagged,
                                   int window_count, GstBuffer* buf, guint64 frame) {
  const GstSegment* seg = &GST_BASE_TRANSFORM(self)->segment;
  const GstClockTime pts = GST_BUFFER_PTS(buf);
  GstClockTime running = GST_CLOCK_TIME_NONE, stream = GST_CLOCK_TIME_NONE;
  if (seg->format == GST_FORMAT_TIME && GST_CLOCK_TIME_IS_VALID(pts)) {
    running = gst_segment_to_running_time(seg, GST_FORMAT_TIME, pts);
    stream = gst_segment_to_stream_time(seg, GST_FORMAT_TIME, pts);
  }
  // z = 0 when the calibration has no spread (a single calibration score).
  const double z = d.scoreStd > 0 ? d.z(a.score) : 0.0;
  GValue regions = regions_value(a);
  GstStructure* s = gst_structure_new(
      "cae-anomaly", "score", G_TYPE_DOUBLE, a.score, "threshold", G_TYPE_DOUBLE, *d.threshold,
      "is-anomaly", G_TYPE_BOOLEAN, gboolean(flagged), "z-score", G_TYPE_DOUBLE, z, "running-time",
      G_TYPE_UINT64, guint64(running), "stream-time", G_TYPE_UINT64, guint64(stream), "timestamp",
      G_TYPE_UINT64, guint64(pts), "frame", G_TYPE_UINT64, frame, "above-threshold", G_TYPE_BOOLEAN,
      gboolean(above), "window-count", G_TYPE_INT, window_count, nullptr);
  gst_structure_take_value(s, "regions", &regions);
  return gst_message_new_element(GST_OBJECT(self), s);
}

static GstFlowReturn gst_cae_anomaly_process_ip(GstCaeFilter* filter, cae::infer::Engine& e,
                                                GstVideoFrame* frame) {
  GstCaeAnomaly* self = GST_CAE_ANOMALY(filter);
  GST_OBJECT_LOCK(self);
  const guint64 index = self->frames++;
  const guint interval = std::max(1u, self->inference_interval);
  const cae::anomaly::Decision d = decision_in_force(self, frame);
  const int min_area = int(std::max(1u, self->min_region_area));
  const bool overlay = self->overlay;
  const bool every = self->message_every_frame;
  GST_OBJECT_UNLOCK(self);
  if (index % interval != 0) return GST_FLOW_OK;  // passes through untouched
  if (!d.calibrated()) {
    GST_ELEMENT_ERROR(self, RESOURCE, SETTINGS,
                      ("The anomaly model has no calibrated threshold (cae.threshold): set the "
                       "threshold property, or retrain it with cae-train --task anomaly"),
                      (nullptr));
    return GST_FLOW_ERROR;
  }
  const Analysis& a = analyse(*self->work, e, frame, d.map, *d.threshold, min_area);
  // A score above the threshold with no region of min_area (only specks above it) is no flag.
  const bool above = d.flagged(a.score) && !a.regions.empty();
  const bool flagged = self->work->alarm.push(above);
  GST_LOG_OBJECT(self, "frame %" G_GUINT64_FORMAT ": score %g, threshold %g, %zu region(s)", index,
                 a.score, *d.threshold, a.regions.size());
  if (flagged) {
    add_roi_meta(frame->buffer, a);
    if (overlay) cae::anomaly::drawOverlay(planes_of(frame), a.map, a.regions, *d.threshold);
  }
  if (flagged || every)
    gst_element_post_message(GST_ELEMENT(self),
                             anomaly_message(self, a, d, above, flagged, self->work->alarm.count(),
                                             frame->buffer, index));
  return GST_FLOW_OK;
}

// ---- GObject -------------------------------------------------------------------------------

static void gst_cae_anomaly_set_property(GObject* object, guint id, const GValue* value,
                                         GParamSpec* pspec) {
  GstCaeAnomaly* self = GST_CAE_ANOMALY(object);
  GST_OBJECT_LOCK(self);
  switch (id) {
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
    case PROP_ALARM_FRAMES:
      self->alarm_frames = g_value_get_uint(value);
      break;
    case PROP_ALARM_WINDOW:
      self->alarm_window = g_value_get_uint(value);
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
    case PROP_ALARM_FRAMES:
      g_value_set_uint(value, self->alarm_frames);
      break;
    case PROP_ALARM_WINDOW:
      g_value_set_uint(value, self->alarm_window);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(object, id, pspec);
  }
  GST_OBJECT_UNLOCK(self);
}

static void gst_cae_anomaly_finalize(GObject* object) {
  delete GST_CAE_ANOMALY(object)->model_decision;
  delete GST_CAE_ANOMALY(object)->work;
  G_OBJECT_CLASS(gst_cae_anomaly_parent_class)->finalize(object);
}

static void gst_cae_anomaly_class_init(GstCaeAnomalyClass* klass) {
  GObjectClass* gobject_class = G_OBJECT_CLASS(klass);
  GstElementClass* element_class = GST_ELEMENT_CLASS(klass);

  gobject_class->set_property = gst_cae_anomaly_set_property;
  gobject_class->get_property = gst_cae_anomaly_get_property;
  gobject_class->finalize = gst_cae_anomaly_finalize;

  const auto rw_playing = GParamFlags(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
                                      GST_PARAM_MUTABLE_PLAYING | GST_PARAM_CONTROLLABLE);
  g_object_class_install_property(
      gobject_class, PROP_THRESHOLD,
      g_param_spec_double("threshold", "Threshold",
                          "Frame score above which a frame is anomalous, and the per-pixel map "
                          "level regions are cut at (model units, the scale of cae.threshold: "
                          "logits for a segmentation-logit model, where 0 is probability 0.5). "
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
                        "than this many pixels are not reported, and a frame with no region "
                        "left is not flagged",
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
  const auto rw_ready =
      GParamFlags(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY);
  g_object_class_install_property(
      gobject_class, PROP_ALARM_FRAMES,
      g_param_spec_uint("alarm-frames", "Alarm frames",
                        "Flag a frame only when it and at least this many of the last "
                        "alarm-window analysed frames are above the threshold (1: every frame "
                        "above it); at most alarm-window",
                        1, cae::anomaly::KOfN::kMaxWindow, DEFAULT_ALARM_FRAMES, rw_ready));
  g_object_class_install_property(
      gobject_class, PROP_ALARM_WINDOW,
      g_param_spec_uint("alarm-window", "Alarm window",
                        "The analysed frames alarm-frames counts over (this one included); the "
                        "count starts again wherever the stream is not continuous",
                        1, cae::anomaly::KOfN::kMaxWindow, DEFAULT_ALARM_WINDOW, rw_ready));
  gst_element_class_set_static_metadata(
      element_class, "CAE anomaly detector", "Filter/Analyzer/Video",
      "Flags anomalous frames and regions with a learned convolutional autoencoder (ONNX; oneDNN "
      "or OpenCV DNN): bus message, region-of-interest meta, optional overlay; default model: the "
      "shipped " CAE_DEFAULT_ANOMALY_MODEL,
      "cae developers");
  GstCaeFilterClass* cae_class = GST_CAE_FILTER_CLASS(klass);
  cae_class->task = cae::onnx::Task::Anomaly;
  cae_class->default_model = CAE_DEFAULT_ANOMALY_MODEL;
  cae_class->noun = "anomaly";
  cae_class->failure = "Anomaly analysis failed";
  // Gray models: gray first, RGB types too (their BT.601 luma is analysed).
  gst_cae_filter_class_set_formats(cae_class, "GRAY8, GRAY16_LE, RGB, BGR, RGBx, BGRx, RGBA, BGRA",
                                   "RGB, BGR, RGBx, BGRx, RGBA, BGRA");
  cae_class->model_loaded = gst_cae_anomaly_model_loaded;
  cae_class->stream_restarted = gst_cae_anomaly_stream_restarted;
  cae_class->run_model = gst_cae_anomaly_run_model;
  cae_class->process_ip = gst_cae_anomaly_process_ip;
  GST_DEBUG_CATEGORY_INIT(gst_cae_anomaly_debug, "caeanomaly", 0, "CAE video anomaly detector");
}

static void gst_cae_anomaly_init(GstCaeAnomaly* self) {
  self->threshold = DEFAULT_THRESHOLD;
  self->inference_interval = DEFAULT_INFERENCE_INTERVAL;
  self->min_region_area = DEFAULT_MIN_REGION_AREA;
  self->overlay = DEFAULT_OVERLAY;
  self->message_every_frame = DEFAULT_MESSAGE_EVERY_FRAME;
  self->alarm_frames = DEFAULT_ALARM_FRAMES;
  self->alarm_window = DEFAULT_ALARM_WINDOW;
  self->model_decision = new cae::anomaly::Decision();
  self->frames = 0;
  self->work = new Workspace();
}
