/**
 * SECTION:element-caeaudiodenoise
 * @title: caeaudiodenoise
 *
 * Suppresses noise in speech with a learned mask model (an ONNX file made by
 * `cae-train --task audio-denoise`, run by OpenCV DNN; the shipped audio-denoise.onnx while
 * `model` is unset). Each channel is denoised on its own: a short-time Fourier transform of the
 * model's window duration (32 ms for the shipped model) every hop (8 ms), a gain per bin from the
 * model, overlap-add. Streams at rates other than the model's use an STFT of the same duration
 * (core/audio/denoiser.hpp says how the bins map); no resampling, so nothing is lost above the
 * model's band.
 *
 * The output keeps the input's buffers and timestamps; its content is the input's delayed by
 * the STFT's window less one sample, which the LATENCY query reports together with the time
 * one hop's processing took when the element measured it at caps negotiation. At EOS the
 * element pushes the last window's worth of samples, so that a file comes out whole: output
 * length = input length + latency. The state starts again (silence before) at a DISCONT buffer,
 * a flush, a new segment and a GAP event. `strength` 0 passes the input through (delayed,
 * within float rounding); 1 applies the model's gains as they are.
 *
 * ## Example launch lines
 * |[
 * gst-launch-1.0 filesrc location=noisy.wav ! wavparse ! audioconvert ! caeaudiodenoise ! \
 *     audioconvert ! wavenc ! filesink location=clean.wav
 * gst-launch-1.0 autoaudiosrc ! audioconvert ! caeaudiodenoise strength=0.8 ! audioconvert ! \
 *     autoaudiosink
 * ]|
 */
#include "gstcaeaudiodenoise.hpp"

#include <gst/audio/audio.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <exception>
#include <memory>
#include <string>
#include <vector>

#include "audio/denoiser.hpp"
#include "gstcaefilter.hpp"  // gst_cae_resolve_model

GST_DEBUG_CATEGORY_STATIC(gst_cae_audio_denoise_debug);
#define GST_CAT_DEFAULT gst_cae_audio_denoise_debug

#define DEFAULT_STRENGTH 1.0
#define DEFAULT_MODEL_NAME "audio-denoise.onnx"

enum { PROP_0, PROP_MODEL, PROP_STRENGTH };

struct _GstCaeAudioDenoise {
  GstAudioFilter parent;

  // Properties (GST_OBJECT_LOCK).
  gchar* model;
  gdouble strength;

  // Streaming state (the streaming thread; created in start / setup).
  std::shared_ptr<cae::audio::MaskModel>* mask;
  std::vector<cae::audio::StreamDenoiser>* channels;
  std::vector<float>* scratch;
  GstClockTime latency;  // reported: algorithmic + measured processing
  GstClockTime next_ts;  // end of the last buffer, for the EOS drain
  gboolean seen_data;
};

G_DEFINE_TYPE(GstCaeAudioDenoise, gst_cae_audio_denoise, GST_TYPE_AUDIO_FILTER)
GST_ELEMENT_REGISTER_DEFINE(caeaudiodenoise, "caeaudiodenoise", GST_RANK_NONE,
                            GST_TYPE_CAE_AUDIO_DENOISE)

// The formats the element takes.
static const char kCaps[] =
    "audio/x-raw, format = (string) { F32LE, S16LE }, rate = (int) { 8000, 11025, 16000, "
    "22050, 32000, 44100, 48000 }, channels = (int) [ 1, 8 ], layout = (string) interleaved";

static std::string model_path(GstCaeAudioDenoise* self) {
  GST_OBJECT_LOCK(self);
  std::string p = gst_cae_resolve_model(self->model, DEFAULT_MODEL_NAME);
  GST_OBJECT_UNLOCK(self);
  return p;
}

static gboolean gst_cae_audio_denoise_start(GstBaseTransform* trans) {
  GstCaeAudioDenoise* self = GST_CAE_AUDIO_DENOISE(trans);
  const std::string path = model_path(self);
  try {
    *self->mask = std::make_shared<cae::audio::MaskModel>(path);
  } catch (const std::exception& e) {
    GST_ELEMENT_ERROR(self, RESOURCE, OPEN_READ,
                      ("Cannot read the audio denoising model: %s", e.what()),
                      ("model file %s", path.c_str()));
    return FALSE;
  }
  self->channels->clear();
  self->seen_data = FALSE;
  self->next_ts = GST_CLOCK_TIME_NONE;
  GST_INFO_OBJECT(self, "model %s: %s, context %d frames", path.c_str(),
                  cae::onnx::formatStft((*self->mask)->stft()).c_str(), (*self->mask)->context());
  return TRUE;
}

static gboolean gst_cae_audio_denoise_stop(GstBaseTransform* trans) {
  GstCaeAudioDenoise* self = GST_CAE_AUDIO_DENOISE(trans);
  self->channels->clear();
  self->mask->reset();
  return TRUE;
}

static gboolean gst_cae_audio_denoise_setup(GstAudioFilter* filter, const GstAudioInfo* info) {
  GstCaeAudioDenoise* self = GST_CAE_AUDIO_DENOISE(filter);
  if (!*self->mask) return FALSE;
  const int rate = GST_AUDIO_INFO_RATE(info), n = GST_AUDIO_INFO_CHANNELS(info);
  try {
    self->channels->clear();
    for (int c = 0; c < n; ++c) self->channels->emplace_back(*self->mask, rate);
    // Processing latency: the slowest of a few hops through a scratch denoiser.
    cae::audio::StreamDenoiser probe(*self->mask, rate);
    std::vector<float> block(std::size_t(probe.hop()), 0.0f);
    double worst = 0;
    for (int i = 0; i < 8; ++i) {
      const auto t0 = std::chrono::steady_clock::now();
      probe.process(block.data(), block.data(), block.size());
      worst = std::max(
          worst, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    const GstClockTime algorithmic =
        gst_util_uint64_scale_int(GstClockTime((*self->channels)[0].latency()), GST_SECOND, rate);
    const GstClockTime lat = algorithmic + GstClockTime(worst * GST_SECOND);
    const bool changed = lat != self->latency;
    self->latency = lat;
    GST_INFO_OBJECT(self,
                    "%d channel(s) at %d Hz: STFT %d / hop %d, latency %" GST_TIME_FORMAT
                    " (algorithmic %" GST_TIME_FORMAT ")",
                    n, rate, (*self->channels)[0].fftSize(), (*self->channels)[0].hop(),
                    GST_TIME_ARGS(lat), GST_TIME_ARGS(algorithmic));
    if (changed)
      gst_element_post_message(GST_ELEMENT(self), gst_message_new_latency(GST_OBJECT(self)));
  } catch (const std::exception& e) {
    GST_ELEMENT_ERROR(self, CORE, NEGOTIATION, ("Cannot denoise this stream: %s", e.what()),
                      (nullptr));
    return FALSE;
  }
  return TRUE;
}

static void reset_state(GstCaeAudioDenoise* self) {
  for (auto& d : *self->channels) d.reset();
}

// Denoises `frames` interleaved frames in place.
static void denoise(GstCaeAudioDenoise* self, gpointer data, gsize frames, GstAudioFormat fmt) {
  GST_OBJECT_LOCK(self);
  const float strength = float(self->strength);
  GST_OBJECT_UNLOCK(self);
  const std::size_t nch = self->channels->size();
  std::vector<float>& x = *self->scratch;
  x.resize(frames);
  for (std::size_t c = 0; c < nch; ++c) {
    cae::audio::StreamDenoiser& d = (*self->channels)[c];
    d.setStrength(strength);
    if (fmt == GST_AUDIO_FORMAT_F32LE) {
      float* s = static_cast<float*>(data);
      for (gsize i = 0; i < frames; ++i) x[i] = s[i * nch + c];
      d.process(x.data(), x.data(), frames);
      for (gsize i = 0; i < frames; ++i) s[i * nch + c] = x[i];
    } else {
      gint16* s = static_cast<gint16*>(data);
      for (gsize i = 0; i < frames; ++i) x[i] = float(s[i * nch + c]) / 32768.0f;
      d.process(x.data(), x.data(), frames);
      for (gsize i = 0; i < frames; ++i)
        s[i * nch + c] = gint16(std::clamp(std::lround(x[i] * 32768.0f), -32768L, 32767L));
    }
  }
}

static GstFlowReturn gst_cae_audio_denoise_transform_ip(GstBaseTransform* trans, GstBuffer* buf) {
  GstCaeAudioDenoise* self = GST_CAE_AUDIO_DENOISE(trans);
  GstAudioFilter* filter = GST_AUDIO_FILTER(trans);
  if (self->channels->empty()) {
    GST_ELEMENT_ERROR(self, CORE, NEGOTIATION, ("No caps negotiated"), (nullptr));
    return GST_FLOW_NOT_NEGOTIATED;
  }
  if (GST_BUFFER_FLAG_IS_SET(buf, GST_BUFFER_FLAG_DISCONT) && self->seen_data) {
    GST_DEBUG_OBJECT(self, "discontinuity: starting again");
    reset_state(self);
  }
  self->seen_data = TRUE;
  const int bpf = GST_AUDIO_INFO_BPF(&filter->info);
  GstMapInfo map;
  if (!gst_buffer_map(buf, &map, GST_MAP_READWRITE)) {
    GST_ELEMENT_ERROR(self, RESOURCE, FAILED, ("Cannot map an audio buffer"), (nullptr));
    return GST_FLOW_ERROR;
  }
  const gsize frames = map.size / gsize(bpf);
  try {
    if (GST_BUFFER_FLAG_IS_SET(buf, GST_BUFFER_FLAG_GAP)) {
      std::fill(map.data, map.data + map.size, 0);  // silence in: the state goes on
    }
    denoise(self, map.data, frames, GST_AUDIO_INFO_FORMAT(&filter->info));
  } catch (const std::exception& e) {
    gst_buffer_unmap(buf, &map);
    GST_ELEMENT_ERROR(self, STREAM, FAILED, ("Audio denoising failed: %s", e.what()), (nullptr));
    return GST_FLOW_ERROR;
  }
  gst_buffer_unmap(buf, &map);
  GST_BUFFER_FLAG_UNSET(buf, GST_BUFFER_FLAG_GAP);
  if (GST_BUFFER_PTS_IS_VALID(buf))
    self->next_ts =
        GST_BUFFER_PTS(buf) +
        gst_util_uint64_scale_int(frames, GST_SECOND, GST_AUDIO_INFO_RATE(&filter->info));
  return GST_FLOW_OK;
}

// At EOS: the samples still inside the STFT (latency frames), as one last buffer.
static void drain(GstCaeAudioDenoise* self) {
  GstAudioFilter* filter = GST_AUDIO_FILTER(self);
  if (self->channels->empty() || !self->seen_data) return;
  const gsize frames = gsize((*self->channels)[0].latency());
  const int bpf = GST_AUDIO_INFO_BPF(&filter->info);
  GstBuffer* buf = gst_buffer_new_allocate(nullptr, frames * gsize(bpf), nullptr);
  GstMapInfo map;
  gst_buffer_map(buf, &map, GST_MAP_READWRITE);
  std::fill(map.data, map.data + map.size, 0);
  try {
    denoise(self, map.data, frames, GST_AUDIO_INFO_FORMAT(&filter->info));
  } catch (const std::exception& e) {
    gst_buffer_unmap(buf, &map);
    gst_buffer_unref(buf);
    GST_WARNING_OBJECT(self, "could not drain: %s", e.what());
    return;
  }
  gst_buffer_unmap(buf, &map);
  if (GST_CLOCK_TIME_IS_VALID(self->next_ts)) {
    GST_BUFFER_PTS(buf) = self->next_ts;
    GST_BUFFER_DURATION(buf) =
        gst_util_uint64_scale_int(frames, GST_SECOND, GST_AUDIO_INFO_RATE(&filter->info));
  }
  self->seen_data = FALSE;
  gst_pad_push(GST_BASE_TRANSFORM_SRC_PAD(self), buf);
}

static gboolean gst_cae_audio_denoise_sink_event(GstBaseTransform* trans, GstEvent* event) {
  GstCaeAudioDenoise* self = GST_CAE_AUDIO_DENOISE(trans);
  switch (GST_EVENT_TYPE(event)) {
    case GST_EVENT_EOS:
      drain(self);
      break;
    case GST_EVENT_FLUSH_STOP:
    case GST_EVENT_SEGMENT:
    case GST_EVENT_GAP:
      reset_state(self);
      self->seen_data = FALSE;
      break;
    default:
      break;
  }
  return GST_BASE_TRANSFORM_CLASS(gst_cae_audio_denoise_parent_class)->sink_event(trans, event);
}

static gboolean gst_cae_audio_denoise_query(GstBaseTransform* trans, GstPadDirection dir,
                                            GstQuery* query) {
  GstCaeAudioDenoise* self = GST_CAE_AUDIO_DENOISE(trans);
  if (GST_QUERY_TYPE(query) == GST_QUERY_LATENCY && dir == GST_PAD_SRC) {
    if (!gst_pad_peer_query(GST_BASE_TRANSFORM_SINK_PAD(trans), query)) return FALSE;
    gboolean live;
    GstClockTime min, max;
    gst_query_parse_latency(query, &live, &min, &max);
    const GstClockTime ours = GST_CLOCK_TIME_IS_VALID(self->latency) ? self->latency : 0;
    min += ours;
    if (GST_CLOCK_TIME_IS_VALID(max)) max += ours;
    gst_query_set_latency(query, live, min, max);
    return TRUE;
  }
  return GST_BASE_TRANSFORM_CLASS(gst_cae_audio_denoise_parent_class)->query(trans, dir, query);
}

static void gst_cae_audio_denoise_set_property(GObject* object, guint prop_id, const GValue* value,
                                               GParamSpec* pspec) {
  GstCaeAudioDenoise* self = GST_CAE_AUDIO_DENOISE(object);
  switch (prop_id) {
    case PROP_MODEL:
      GST_OBJECT_LOCK(self);
      g_free(self->model);
      self->model = g_value_dup_string(value);
      GST_OBJECT_UNLOCK(self);
      break;
    case PROP_STRENGTH:
      GST_OBJECT_LOCK(self);
      self->strength = g_value_get_double(value);
      GST_OBJECT_UNLOCK(self);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
  }
}

static void gst_cae_audio_denoise_get_property(GObject* object, guint prop_id, GValue* value,
                                               GParamSpec* pspec) {
  GstCaeAudioDenoise* self = GST_CAE_AUDIO_DENOISE(object);
  switch (prop_id) {
    case PROP_MODEL: {
      const std::string p = model_path(self);
      g_value_set_string(value, p.c_str());
      break;
    }
    case PROP_STRENGTH:
      GST_OBJECT_LOCK(self);
      g_value_set_double(value, self->strength);
      GST_OBJECT_UNLOCK(self);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
  }
}

static void gst_cae_audio_denoise_finalize(GObject* object) {
  GstCaeAudioDenoise* self = GST_CAE_AUDIO_DENOISE(object);
  g_free(self->model);
  delete self->mask;
  delete self->channels;
  delete self->scratch;
  G_OBJECT_CLASS(gst_cae_audio_denoise_parent_class)->finalize(object);
}

static void gst_cae_audio_denoise_class_init(GstCaeAudioDenoiseClass* klass) {
  GObjectClass* gobject_class = G_OBJECT_CLASS(klass);
  GstElementClass* element_class = GST_ELEMENT_CLASS(klass);
  GstBaseTransformClass* bt = GST_BASE_TRANSFORM_CLASS(klass);
  GstAudioFilterClass* af = GST_AUDIO_FILTER_CLASS(klass);
  GST_DEBUG_CATEGORY_INIT(gst_cae_audio_denoise_debug, "caeaudiodenoise", 0, "CAE speech denoiser");
  gobject_class->set_property = gst_cae_audio_denoise_set_property;
  gobject_class->get_property = gst_cae_audio_denoise_get_property;
  gobject_class->finalize = gst_cae_audio_denoise_finalize;

  g_object_class_install_property(
      gobject_class, PROP_MODEL,
      g_param_spec_string(
          "model", "Model",
          "ONNX audio-denoise model (cae-train --task audio-denoise); unset: the "
          "shipped " DEFAULT_MODEL_NAME,
          nullptr,
          GParamFlags(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY)));
  g_object_class_install_property(
      gobject_class, PROP_STRENGTH,
      g_param_spec_double("strength", "Strength",
                          "How much of the model's suppression to apply: gain' = 1 - strength "
                          "(1 - gain); 0 passes the input through (delayed)",
                          0.0, 1.0, DEFAULT_STRENGTH,
                          GParamFlags(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
                                      GST_PARAM_CONTROLLABLE | GST_PARAM_MUTABLE_PLAYING)));

  gst_element_class_set_static_metadata(
      element_class, "CAE audio denoiser", "Filter/Effect/Audio",
      "Suppresses noise in speech with a learned convolutional autoencoder (per channel)",
      "cae developers");
  GstCaps* caps = gst_caps_from_string(kCaps);
  gst_audio_filter_class_add_pad_templates(af, caps);
  gst_caps_unref(caps);

  bt->start = GST_DEBUG_FUNCPTR(gst_cae_audio_denoise_start);
  bt->stop = GST_DEBUG_FUNCPTR(gst_cae_audio_denoise_stop);
  bt->transform_ip = GST_DEBUG_FUNCPTR(gst_cae_audio_denoise_transform_ip);
  bt->sink_event = GST_DEBUG_FUNCPTR(gst_cae_audio_denoise_sink_event);
  bt->query = GST_DEBUG_FUNCPTR(gst_cae_audio_denoise_query);
  bt->passthrough_on_same_caps = FALSE;
  af->setup = GST_DEBUG_FUNCPTR(gst_cae_audio_denoise_setup);
}

static void gst_cae_audio_denoise_init(GstCaeAudioDenoise* self) {
  self->model = nullptr;
  self->strength = DEFAULT_STRENGTH;
  self->mask = new std::shared_ptr<cae::audio::MaskModel>();
  self->channels = new std::vector<cae::audio::StreamDenoiser>();
  self->scratch = new std::vector<float>();
  self->latency = GST_CLOCK_TIME_NONE;
  self->next_ts = GST_CLOCK_TIME_NONE;
  self->seen_data = FALSE;
  gst_base_transform_set_in_place(GST_BASE_TRANSFORM(self), TRUE);
}
