/**
 * SECTION:element-caeenc
 * @title: caeenc
 *
 * Encodes video with a learned codec (cae-train --task compress: Ballé et al.'s factorized-prior
 * autoencoder, our rANS coder): every frame is intra-coded into one cae frame (core/codec's
 * versioned, CRC-checked format), caps video/x-cae. GRAY8 and RGB of any size; a gray model takes
 * GRAY8 only, an RGB model both (gray frames go through as three equal channels and come back
 * gray). `model` names a family of shipped models (codec-fast, codec-hq) whose rate point is
 * `quality`, or a codec file. The LATENCY query answers one frame's encoding time, measured at
 * negotiation.
 *
 * ## Example launch lines
 * |[
 * gst-launch-1.0 videotestsrc num-buffers=100 ! videoconvert ! caeenc quality=2 ! \
 *     filesink location=clip.cae
 * gst-launch-1.0 v4l2src ! videoconvert ! caeenc ! rtpgstpay ! udpsink host=127.0.0.1 port=5000
 * ]|
 */
#include "gstcaeenc.hpp"

#include <chrono>
#include <exception>
#include <memory>
#include <mutex>

#include "codec/picture_codec.hpp"
#include "error.hpp"
#include "gstcaecodec.hpp"

GST_DEBUG_CATEGORY_STATIC(gst_cae_enc_debug);
#define GST_CAT_DEFAULT gst_cae_enc_debug

enum { PROP_0, PROP_MODEL, PROP_QUALITY, PROP_BACKEND };

struct _GstCaeEnc {
  GstVideoEncoder parent;
  GstCaeCodecSettings* settings;  // GST_OBJECT_LOCK
  // The streaming thread's, from start() to stop().
  cae::codec::PictureEncoder* encoder;
  int quality;
  gint channels;  // the model's, from start() to stop(), 0 otherwise; g_atomic_int: getcaps
                  // runs in any thread
  GstVideoCodecState* input;
};

G_DEFINE_TYPE(GstCaeEnc, gst_cae_enc, GST_TYPE_VIDEO_ENCODER)
GST_ELEMENT_REGISTER_DEFINE(caeenc, "caeenc", GST_RANK_NONE, GST_TYPE_CAE_ENC)

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE(
    "sink", GST_PAD_SINK, GST_PAD_ALWAYS,
    GST_STATIC_CAPS("video/x-raw, format = (string) { RGB, GRAY8 }, width = (int) [ 1, 32768 ], "
                    "height = (int) [ 1, 32768 ], framerate = (fraction) [ 0, MAX ]"));
static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE(
    "src", GST_PAD_SRC, GST_PAD_ALWAYS,
    GST_STATIC_CAPS("video/x-cae, format = (string) { RGB, GRAY8 }, width = (int) [ 1, 32768 ], "
                    "height = (int) [ 1, 32768 ], framerate = (fraction) [ 0, MAX ]"));

static gboolean gst_cae_enc_start(GstVideoEncoder* enc) {
  GstCaeEnc* self = GST_CAE_ENC(enc);
  GST_OBJECT_LOCK(self);
  const GstCaeCodecSettings s = *self->settings;
  GST_OBJECT_UNLOCK(self);
  const std::string file = gst_cae_codec_model_file(s.model, s.quality);
  try {
    self->encoder = new cae::codec::PictureEncoder({file, s.backend, 0});
  } catch (const std::exception& e) {
    GST_ELEMENT_ERROR(self, RESOURCE, NOT_FOUND, ("Cannot use the codec model '%s'", file.c_str()),
                      ("%s", e.what()));
    return FALSE;
  }
  self->quality = s.quality;
  g_atomic_int_set(&self->channels, self->encoder->info().channels);
  GST_INFO_OBJECT(self, "codec %s on %s", file.c_str(), self->encoder->backendInUse().c_str());
  return TRUE;
}

static gboolean gst_cae_enc_stop(GstVideoEncoder* enc) {
  GstCaeEnc* self = GST_CAE_ENC(enc);
  g_atomic_int_set(&self->channels, 0);
  delete self->encoder;
  self->encoder = nullptr;
  if (self->input) gst_video_codec_state_unref(self->input);
  self->input = nullptr;
  return TRUE;
}

// Only the formats the model takes: GRAY8 for a gray codec, RGB and GRAY8 for an RGB one.
static GstCaps* gst_cae_enc_getcaps(GstVideoEncoder* enc, GstCaps* filter) {
  GstCaeEnc* self = GST_CAE_ENC(enc);
  GstCaps* allowed = gst_static_pad_template_get_caps(&sink_template);
  if (g_atomic_int_get(&self->channels) == 1) {
    gst_caps_unref(allowed);
    allowed = gst_caps_from_string(
        "video/x-raw, format = (string) GRAY8, width = (int) [ 1, 32768 ], "
        "height = (int) [ 1, 32768 ], framerate = (fraction) [ 0, MAX ]");
  }
  GstCaps* caps = gst_video_encoder_proxy_getcaps(enc, allowed, filter);
  gst_caps_unref(allowed);
  return caps;
}

static gboolean gst_cae_enc_set_format(GstVideoEncoder* enc, GstVideoCodecState* state) {
  GstCaeEnc* self = GST_CAE_ENC(enc);
  const GstVideoInfo* info = &state->info;
  const bool rgb = GST_VIDEO_INFO_FORMAT(info) == GST_VIDEO_FORMAT_RGB;
  if (rgb && self->encoder->info().channels == 1) {
    GST_ELEMENT_ERROR(self, CORE, NEGOTIATION, ("RGB frames for a gray codec model"),
                      ("put videoconvert in front: the model codes GRAY8"));
    return FALSE;
  }
  if (self->input) gst_video_codec_state_unref(self->input);
  self->input = gst_video_codec_state_ref(state);
  GstCaps* caps =
      gst_caps_new_simple("video/x-cae", "format", G_TYPE_STRING, rgb ? "RGB" : "GRAY8", nullptr);
  GstVideoCodecState* out = gst_video_encoder_set_output_state(enc, caps, state);
  gst_video_codec_state_unref(out);
  // One frame's encoding time (the second of two: the first sets the network up) is the latency.
  try {
    const cv::Mat blank(GST_VIDEO_INFO_HEIGHT(info), GST_VIDEO_INFO_WIDTH(info),
                        rgb ? CV_8UC3 : CV_8UC1, cv::Scalar::all(128));
    (void)self->encoder->encode(blank);
    const auto t0 = std::chrono::steady_clock::now();
    (void)self->encoder->encode(blank);
    const auto ns =
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0)
            .count();
    gst_video_encoder_set_latency(enc, GstClockTime(ns), GstClockTime(ns));
  } catch (const std::exception& e) {
    GST_ELEMENT_ERROR(self, STREAM, ENCODE, ("Encoding failed"), ("%s", e.what()));
    return FALSE;
  }
  return gst_video_encoder_negotiate(enc);
}

static GstFlowReturn gst_cae_enc_handle_frame(GstVideoEncoder* enc, GstVideoCodecFrame* frame) {
  GstCaeEnc* self = GST_CAE_ENC(enc);
  GstVideoFrame in;
  if (!gst_video_frame_map(&in, &self->input->info, frame->input_buffer, GST_MAP_READ)) {
    gst_video_codec_frame_unref(frame);
    GST_ELEMENT_ERROR(self, STREAM, ENCODE, ("Cannot map the input frame"), (nullptr));
    return GST_FLOW_ERROR;
  }
  std::vector<std::uint8_t> bytes;
  try {
    bytes = self->encoder->encode(gst_cae_codec_view(&in), self->quality);
  } catch (const std::exception& e) {
    gst_video_frame_unmap(&in);
    gst_video_codec_frame_unref(frame);
    GST_ELEMENT_ERROR(self, STREAM, ENCODE, ("Encoding failed"), ("%s", e.what()));
    return GST_FLOW_ERROR;
  }
  gst_video_frame_unmap(&in);
  frame->output_buffer = gst_buffer_new_memdup(bytes.data(), bytes.size());
  GST_VIDEO_CODEC_FRAME_SET_SYNC_POINT(frame);
  return gst_video_encoder_finish_frame(enc, frame);
}

static void gst_cae_enc_set_property(GObject* o, guint id, const GValue* v, GParamSpec* pspec) {
  GstCaeEnc* self = GST_CAE_ENC(o);
  GST_OBJECT_LOCK(self);
  const gboolean ok =
      gst_cae_codec_set_property(*self->settings, id, v, PROP_MODEL, PROP_QUALITY, PROP_BACKEND);
  GST_OBJECT_UNLOCK(self);
  if (!ok) G_OBJECT_WARN_INVALID_PROPERTY_ID(o, id, pspec);
}

static void gst_cae_enc_get_property(GObject* o, guint id, GValue* v, GParamSpec* pspec) {
  GstCaeEnc* self = GST_CAE_ENC(o);
  GST_OBJECT_LOCK(self);
  const gboolean ok =
      gst_cae_codec_get_property(*self->settings, id, v, PROP_MODEL, PROP_QUALITY, PROP_BACKEND);
  GST_OBJECT_UNLOCK(self);
  if (!ok) G_OBJECT_WARN_INVALID_PROPERTY_ID(o, id, pspec);
}

static void gst_cae_enc_finalize(GObject* o) {
  GstCaeEnc* self = GST_CAE_ENC(o);
  delete self->settings;
  delete self->encoder;
  if (self->input) gst_video_codec_state_unref(self->input);
  G_OBJECT_CLASS(gst_cae_enc_parent_class)->finalize(o);
}

static void gst_cae_enc_class_init(GstCaeEncClass* klass) {
  GObjectClass* gobject = G_OBJECT_CLASS(klass);
  GstVideoEncoderClass* venc = GST_VIDEO_ENCODER_CLASS(klass);
  gobject->set_property = gst_cae_enc_set_property;
  gobject->get_property = gst_cae_enc_get_property;
  gobject->finalize = gst_cae_enc_finalize;
  gst_cae_codec_install_properties(gobject, PROP_MODEL, PROP_QUALITY, PROP_BACKEND, "encoder");
  gst_element_class_add_static_pad_template(GST_ELEMENT_CLASS(klass), &sink_template);
  gst_element_class_add_static_pad_template(GST_ELEMENT_CLASS(klass), &src_template);
  gst_element_class_set_static_metadata(
      GST_ELEMENT_CLASS(klass), "CAE learned video encoder", "Codec/Encoder/Video",
      "Encodes every frame with a learned autoencoder codec (cae-train --task compress) into "
      "video/x-cae frames",
      "cae");
  venc->start = gst_cae_enc_start;
  venc->stop = gst_cae_enc_stop;
  venc->getcaps = gst_cae_enc_getcaps;
  venc->set_format = gst_cae_enc_set_format;
  venc->handle_frame = gst_cae_enc_handle_frame;
  GST_DEBUG_CATEGORY_INIT(gst_cae_enc_debug, "caeenc", 0, "cae learned video encoder");
}

static void gst_cae_enc_init(GstCaeEnc* self) {
  self->settings = new GstCaeCodecSettings();
  self->encoder = nullptr;
  self->input = nullptr;
  self->quality = GST_CAE_CODEC_DEFAULT_QUALITY;
}
