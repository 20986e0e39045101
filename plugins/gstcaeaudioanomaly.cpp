/**
 * SECTION:element-caeaudioanomaly
 * @title: caeaudioanomaly
 *
 * Watches machine sounds for anomalies with a log-mel autoencoder (an ONNX file made by
 * `cae-train --task audio-anomaly`; the shipped audio-anomaly.onnx while `model` is unset). The
 * audio passes through unchanged. The channels are averaged; each analysis window (`window`
 * seconds, by default the model's) is scored from the log-mel contexts that end in it: the
 * Mahalanobis distance of their mean reconstruction residual per mel band from normal windows'
 * (models that carry cae.residual_mean and cae.residual_precision, as the shipped one does), else
 * their mean reconstruction error. The element posts an element message `cae-audio-anomaly` per
 * window:
 *
 *   score (double), threshold (double), is-anomaly (boolean), running-time, stream-time and
 *   duration (guint64, ns: the window's start and length), z (double: the score in standard
 *   deviations of the model's calibration windows), error (double: the contexts' mean
 *   reconstruction error), above-threshold (boolean), span-count (int: windows above the
 *   threshold among the last alarm-span)
 *
 * With `alarm-windows=k alarm-span=n`, is-anomaly holds only for a window above the threshold
 * when at least k of the last n windows (it included) are: the model is calibrated at a
 * false-alarm rate per window (1 % for the shipped one: about 36 windows an hour of a healthy
 * machine), and a fault that lasts flags from its k-th window on. The count starts again
 * wherever the windows do.
 *
 * The threshold is the model's calibrated one (`cae.threshold`, set at a false-alarm rate on
 * held-out normal windows of the model's length) unless `threshold` overrides it. A DISCONT buffer,
 * a flush or a new segment starts the windows again; at EOS the last, shorter window is posted.
 * Streams at the model's rate or above (16 kHz for the shipped model) are analysed over the model's
 * band.
 *
 * ## Example launch lines
 * |[
 * gst-launch-1.0 -m filesrc location=pump.wav ! wavparse ! audioconvert ! caeaudioanomaly ! \
 *     fakesink
 * gst-launch-1.0 -m autoaudiosrc ! audioconvert ! audioresample ! caeaudioanomaly window=2 ! \
 *     fakesink
 * ]|
 */
#include "gstcaeaudioanomaly.hpp"

#include <gst/audio/audio.h>

#include <exception>
#include <memory>
#include <string>
#include <vector>

#include "anomaly/alarm.hpp"
#include "audio/mel_anomaly.hpp"
#include "gstcaefilter.hpp"  // gst_cae_resolve_model

GST_DEBUG_CATEGORY_STATIC(gst_cae_audio_anomaly_debug);
#define GST_CAT_DEFAULT gst_cae_audio_anomaly_debug

#define DEFAULT_MODEL_NAME "audio-anomaly.onnx"
#define DEFAULT_THRESHOLD (-1.0)
#define DEFAULT_WINDOW 0.0
#define DEFAULT_ALARM_WINDOWS 1
#define DEFAULT_ALARM_SPAN 1

enum { PROP_0, PROP_MODEL, PROP_THRESHOLD, PROP_WINDOW, PROP_ALARM_WINDOWS, PROP_ALARM_SPAN };

struct _GstCaeAudioAnomaly {
  GstAudioFilter parent;

  // Properties (GST_OBJECT_LOCK).
  gchar* model;
  gdouble threshold;
  gdouble window;
  guint alarm_windows;  // k of ...
  guint alarm_span;     // ... the last n windows

  cae::anomaly::KOfN* alarm;  // since the windows (re)started

  std::shared_ptr<cae::audio::MelAnomalyModel>* net;
  std::unique_ptr<cae::audio::AnomalyStream>* stream;
  std::vector<float>* mono;
  GstClockTime base;  // timestamp of the stream's first sample since the last start
};

G_DEFINE_TYPE(GstCaeAudioAnomaly, gst_cae_audio_anomaly, GST_TYPE_AUDIO_FILTER)
GST_ELEMENT_REGISTER_DEFINE(caeaudioanomaly, "caeaudioanomaly", GST_RANK_NONE,
                            GST_TYPE_CAE_AUDIO_ANOMALY)

// The formats the element takes.
static const char kCaps[] =
    "audio/x-raw, format = (string) { F32LE, S16LE }, rate = (int) { 16000, 22050, 32000, "
    "44100, 48000 }, channels = (int) [ 1, 8 ], layout = (string) interleaved";

static std::string model_path(GstCaeAudioAnomaly* self) {
  GST_OBJECT_LOCK(self);
  std::string p = gst_cae_resolve_model(self->model, DEFAULT_MODEL_NAME);
  GST_OBJECT_UNLOCK(self);
  return p;
}

static gboolean gst_cae_audio_anomaly_start(GstBaseTransform* trans) {
  GstCaeAudioAnomaly* self = GST_CAE_AUDIO_ANOMALY(trans);
  const std::string path = model_path(self);
  try {
    *self->net = std::make_shared<cae::audio::MelAnomalyModel>(path);
  } catch (const std::exception& e) {
    GST_ELEMENT_ERROR(self, RESOURCE, OPEN_READ,
                      ("Cannot read the audio anomaly model: %s", e.what()),
                      ("model file %s", path.c_str()));
    return FALSE;
  }
  GST_OBJECT_LOCK(self);
  const int k = int(self->alarm_windows), n = int(self->alarm_span);
  GST_OBJECT_UNLOCK(self);
  if (k > n) {
    GST_ELEMENT_ERROR(self, RESOURCE, SETTINGS,
                      ("alarm-windows (%d) is larger than alarm-span (%d): a window is flagged "
                       "when at least alarm-windows of the last alarm-span windows are above the "
                       "threshold",
                       k, n),
                      (nullptr));
    return FALSE;
  }
  *self->alarm = cae::anomaly::KOfN(k, n);
  if (!(*self->net)->info().anomaly.calibrated()) {
    GST_OBJECT_LOCK(self);
    const bool own = self->threshold >= 0;
    GST_OBJECT_UNLOCK(self);
    if (!own) {
      GST_ELEMENT_ERROR(self, RESOURCE, SETTINGS,
                        ("The audio anomaly model %s has no calibrated threshold: set "
                         "`threshold`",
                         path.c_str()),
                        (nullptr));
      return FALSE;
    }
  }
  self->stream->reset();
  self->base = GST_CLOCK_TIME_NONE;
  return TRUE;
}

// The windows start again (a new stream, a DISCONT, a flush, a segment): so does the alarm count.
static void restart_windows(GstCaeAudioAnomaly* self) {
  if (*self->stream) (*self->stream)->reset();
  self->alarm->reset();
  self->base = GST_CLOCK_TIME_NONE;
}

static gboolean gst_cae_audio_anomaly_stop(GstBaseTransform* trans) {
  GstCaeAudioAnomaly* self = GST_CAE_AUDIO_ANOMALY(trans);
  self->stream->reset();
  self->net->reset();
  return TRUE;
}

static gboolean gst_cae_audio_anomaly_setup(GstAudioFilter* filter, const GstAudioInfo* info) {
  GstCaeAudioAnomaly* self = GST_CAE_AUDIO_ANOMALY(filter);
  if (!*self->net) return FALSE;
  GST_OBJECT_LOCK(self);
  const double window = self->window;
  GST_OBJECT_UNLOCK(self);
  try {
    *self->stream =
        std::make_unique<cae::audio::AnomalyStream>(*self->net, GST_AUDIO_INFO_RATE(info), window);
  } catch (const std::exception& e) {
    GST_ELEMENT_ERROR(self, CORE, NEGOTIATION, ("Cannot analyse this stream: %s", e.what()),
                      (nullptr));
    return FALSE;
  }
  self->alarm->reset();
  self->base = GST_CLOCK_TIME_NONE;
  return TRUE;
}

static void post_window(GstCaeAudioAnomaly* self, const cae::audio::AnomalyStream::Window& w) {
  GstAudioFilter* filter = GST_AUDIO_FILTER(self);
  const int rate = GST_AUDIO_INFO_RATE(&filter->info);
  const cae::anomaly::Decision& d = (*self->net)->info().anomaly;
  GST_OBJECT_LOCK(self);
  const double own = self->threshold;
  GST_OBJECT_UNLOCK(self);
  const double threshold = own >= 0 ? own : d.threshold.value_or(0.0);
  const GstClockTime start = GST_CLOCK_TIME_IS_VALID(self->base)
                                 ? self->base + gst_util_uint64_scale_int(w.start, GST_SECOND, rate)
                                 : GST_CLOCK_TIME_NONE;
  const GstSegment* seg = &GST_BASE_TRANSFORM(self)->segment;
  const GstClockTime running = GST_CLOCK_TIME_IS_VALID(start)
                                   ? gst_segment_to_running_time(seg, GST_FORMAT_TIME, start)
                                   : GST_CLOCK_TIME_NONE;
  const GstClockTime stream = GST_CLOCK_TIME_IS_VALID(start)
                                  ? gst_segment_to_stream_time(seg, GST_FORMAT_TIME, start)
                                  : GST_CLOCK_TIME_NONE;
  const bool above = w.score > threshold;
  const bool flagged = self->alarm->push(above);
  GstStructure* s = gst_structure_new(
      "cae-audio-anomaly", "score", G_TYPE_DOUBLE, w.score, "threshold", G_TYPE_DOUBLE, threshold,
      "is-anomaly", G_TYPE_BOOLEAN, gboolean(flagged), "z", G_TYPE_DOUBLE, d.z(w.score), "error",
      G_TYPE_DOUBLE, w.error, "above-threshold", G_TYPE_BOOLEAN, gboolean(above), "span-count",
      G_TYPE_INT, self->alarm->count(), "running-time", G_TYPE_UINT64, guint64(running),
      "stream-time", G_TYPE_UINT64, guint64(stream), "duration", G_TYPE_UINT64,
      guint64(gst_util_uint64_scale_int(w.end - w.start, GST_SECOND, rate)), nullptr);
  gst_element_post_message(GST_ELEMENT(self), gst_message_new_element(GST_OBJECT(self), s));
}

static GstFlowReturn gst_cae_audio_anomaly_transform_ip(GstBaseTransform* trans, GstBuffer* buf) {
  GstCaeAudioAnomaly* self = GST_CAE_AUDIO_ANOMALY(trans);
  GstAudioFilter* filter = GST_AUDIO_FILTER(trans);
  if (!*self->stream) {
    GST_ELEMENT_ERROR(self, CORE, NEGOTIATION, ("No caps negotiated"), (nullptr));
    return GST_FLOW_NOT_NEGOTIATED;
  }
  if (GST_BUFFER_FLAG_IS_SET(buf, GST_BUFFER_FLAG_DISCONT) && GST_CLOCK_TIME_IS_VALID(self->base))
    restart_windows(self);
  if (!GST_CLOCK_TIME_IS_VALID(self->base) && GST_BUFFER_PTS_IS_VALID(buf))
    self->base = GST_BUFFER_PTS(buf);
  else if (!GST_CLOCK_TIME_IS_VALID(self->base))
    self->base = 0;
  GstMapInfo map;
  if (!gst_buffer_map(buf, &map, GST_MAP_READ)) {
    GST_ELEMENT_ERROR(self, RESOURCE, FAILED, ("Cannot map an audio buffer"), (nullptr));
    return GST_FLOW_ERROR;
  }
  const int nch = GST_AUDIO_INFO_CHANNELS(&filter->info);
  const gsize frames = map.size / gsize(GST_AUDIO_INFO_BPF(&filter->info));
  std::vector<float>& x = *self->mono;
  x.assign(frames, 0.0f);
  const bool s16 = GST_AUDIO_INFO_FORMAT(&filter->info) == GST_AUDIO_FORMAT_S16LE;
  for (gsize i = 0; i < frames; ++i) {
    float s = 0;
    for (int c = 0; c < nch; ++c) {
      const gsize k = i * gsize(nch) + gsize(c);
      s += s16 ? float(reinterpret_cast<const gint16*>(map.data)[k]) / 32768.0f
               : reinterpret_cast<const float*>(map.data)[k];
    }
    x[i] = s / float(nch);
  }
  gst_buffer_unmap(buf, &map);
  try {
    (*self->stream)->push(x.data(), x.size(), [self](const cae::audio::AnomalyStream::Window& w) {
      post_window(self, w);
    });
  } catch (const std::exception& e) {
    GST_ELEMENT_ERROR(self, STREAM, FAILED, ("Audio anomaly scoring failed: %s", e.what()),
                      (nullptr));
    return GST_FLOW_ERROR;
  }
  return GST_FLOW_OK;
}

static gboolean gst_cae_audio_anomaly_sink_event(GstBaseTransform* trans, GstEvent* event) {
  GstCaeAudioAnomaly* self = GST_CAE_AUDIO_ANOMALY(trans);
  switch (GST_EVENT_TYPE(event)) {
    case GST_EVENT_EOS:
      if (*self->stream)
        (*self->stream)->flush([self](const cae::audio::AnomalyStream::Window& w) {
          post_window(self, w);
        });
      break;
    case GST_EVENT_FLUSH_STOP:
    case GST_EVENT_SEGMENT:
      restart_windows(self);
      break;
    default:
      break;
  }
  return GST_BASE_TRANSFORM_CLASS(gst_cae_audio_anomaly_parent_class)->sink_event(trans, event);
}

static void gst_cae_audio_anomaly_set_property(GObject* object, guint prop_id, const GValue* value,
                                               GParamSpec* pspec) {
  GstCaeAudioAnomaly* self = GST_CAE_AUDIO_ANOMALY(object);
  GST_OBJECT_LOCK(self);
  switch (prop_id) {
    case PROP_MODEL:
      g_free(self->model);
      self->model = g_value_dup_string(value);
      break;
    case PROP_THRESHOLD:
      self->threshold = g_value_get_double(value);
      break;
    case PROP_WINDOW:
      self->window = g_value_get_double(value);
      break;
    case PROP_ALARM_WINDOWS:
      self->alarm_windows = g_value_get_uint(value);
      break;
    case PROP_ALARM_SPAN:
      self->alarm_span = g_value_get_uint(value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
  }
  GST_OBJECT_UNLOCK(self);
}

static void gst_cae_audio_anomaly_get_property(GObject* object, guint prop_id, GValue* value,
                                               GParamSpec* pspec) {
  GstCaeAudioAnomaly* self = GST_CAE_AUDIO_ANOMALY(object);
  switch (prop_id) {
    case PROP_MODEL: {
      const std::string p = model_path(self);
      g_value_set_string(value, p.c_str());
      break;
    }
    case PROP_THRESHOLD:
      GST_OBJECT_LOCK(self);
      g_value_set_double(value, self->threshold);
      GST_OBJECT_UNLOCK(self);
      break;
    case PROP_WINDOW:
      GST_OBJECT_LOCK(self);
      g_value_set_double(value, self->window);
      GST_OBJECT_UNLOCK(self);
      break;
    case PROP_ALARM_WINDOWS:
      GST_OBJECT_LOCK(self);
      g_value_set_uint(value, self->alarm_windows);
      GST_OBJECT_UNLOCK(self);
      break;
    case PROP_ALARM_SPAN:
      GST_OBJECT_LOCK(self);
      g_value_set_uint(value, self->alarm_span);
      GST_OBJECT_UNLOCK(self);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
  }
}

static void gst_cae_audio_anomaly_finalize(GObject* object) {
  GstCaeAudioAnomaly* self = GST_CAE_AUDIO_ANOMALY(object);
  g_free(self->model);
  delete self->net;
  delete self->stream;
  delete self->mono;
  delete self->alarm;
  G_OBJECT_CLASS(gst_cae_audio_anomaly_parent_class)->finalize(object);
}

static void gst_cae_audio_anomaly_class_init(GstCaeAudioAnomalyClass* klass) {
  GObjectClass* gobject_class = G_OBJECT_CLASS(klass);
  GstElementClass* element_class = GST_ELEMENT_CLASS(klass);
  GstBaseTransformClass* bt = GST_BASE_TRANSFORM_CLASS(klass);
  GstAudioFilterClass* af = GST_AUDIO_FILTER_CLASS(klass);
  GST_DEBUG_CATEGORY_INIT(gst_cae_audio_anomaly_debug, "caeaudioanomaly", 0,
                          "CAE machine-sound anomaly detector");
  gobject_class->set_property = gst_cae_audio_anomaly_set_property;
  gobject_class->get_property = gst_cae_audio_anomaly_get_property;
  gobject_class->finalize = gst_cae_audio_anomaly_finalize;
  g_object_class_install_property(
      gobject_class, PROP_MODEL,
      g_param_spec_string(
          "model", "Model",
          "ONNX audio-anomaly model (cae-train --task audio-anomaly); unset: the "
          "shipped " DEFAULT_MODEL_NAME,
          nullptr,
          GParamFlags(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY)));
  g_object_class_install_property(
      gobject_class, PROP_THRESHOLD,
      g_param_spec_double(
          "threshold", "Threshold",
          "Score above which a window is an anomaly; -1: the model's calibrated "
          "threshold",
          -1.0, G_MAXDOUBLE, DEFAULT_THRESHOLD,
          GParamFlags(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING)));
  g_object_class_install_property(
      gobject_class, PROP_WINDOW,
      g_param_spec_double(
          "window", "Window",
          "Seconds of sound one score covers; 0: the model's (cae.analysis_window; "
          "its threshold was calibrated at that length)",
          0.0, 3600.0, DEFAULT_WINDOW,
          GParamFlags(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY)));
  const auto rw_ready =
      GParamFlags(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY);
  g_object_class_install_property(
      gobject_class, PROP_ALARM_WINDOWS,
      g_param_spec_uint("alarm-windows", "Alarm windows",
                        "Flag a window only when it and at least this many of the last "
                        "alarm-span windows are above the threshold (1: every window above it); "
                        "at most alarm-span",
                        1, cae::anomaly::KOfN::kMaxWindow, DEFAULT_ALARM_WINDOWS, rw_ready));
  g_object_class_install_property(
      gobject_class, PROP_ALARM_SPAN,
      g_param_spec_uint("alarm-span", "Alarm span",
                        "The analysis windows alarm-windows counts over (this one included); the "
                        "count starts again wherever the windows do",
                        1, cae::anomaly::KOfN::kMaxWindow, DEFAULT_ALARM_SPAN, rw_ready));
  gst_element_class_set_static_metadata(
      element_class, "CAE audio anomaly detector", "Filter/Analyzer/Audio",
      "Flags anomalous machine sounds with a learned log-mel autoencoder (passthrough, element "
      "messages)",
      "cae developers");
  GstCaps* caps = gst_caps_from_string(kCaps);
  gst_audio_filter_class_add_pad_templates(af, caps);
  gst_caps_unref(caps);
  bt->start = GST_DEBUG_FUNCPTR(gst_cae_audio_anomaly_start);
  bt->stop = GST_DEBUG_FUNCPTR(gst_cae_audio_anomaly_stop);
  bt->transform_ip = GST_DEBUG_FUNCPTR(gst_cae_audio_anomaly_transform_ip);
  bt->sink_event = GST_DEBUG_FUNCPTR(gst_cae_audio_anomaly_sink_event);
  bt->transform_ip_on_passthrough = TRUE;
  af->setup = GST_DEBUG_FUNCPTR(gst_cae_audio_anomaly_setup);
}

static void gst_cae_audio_anomaly_init(GstCaeAudioAnomaly* self) {
  self->model = nullptr;
  self->threshold = DEFAULT_THRESHOLD;
  self->window = DEFAULT_WINDOW;
  self->alarm_windows = DEFAULT_ALARM_WINDOWS;
  self->alarm_span = DEFAULT_ALARM_SPAN;
  self->alarm = new cae::anomaly::KOfN();
  self->net = new std::shared_ptr<cae::audio::MelAnomalyModel>();
  self->stream = new std::unique_ptr<cae::audio::AnomalyStream>();
  self->mono = new std::vector<float>();
  self->base = GST_CLOCK_TIME_NONE;
  gst_base_transform_set_passthrough(GST_BASE_TRANSFORM(self), TRUE);
}
