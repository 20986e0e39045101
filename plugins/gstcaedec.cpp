/**
 * SECTION:element-caedec
 * @title: caedec
 *
 * Decodes learned-codec frames (video/x-cae, made by caeenc or cae-codec) to GRAY8 or RGB video,
 * as the frame says. Framed input (from caeenc, rtpgstdepay) is decoded buffer by buffer; a byte
 * stream (a file: `filesrc ! video/x-cae ! caedec`) is split into frames by their headers. With
 * `model` a family of shipped models (codec-fast, codec-hq), each frame is decoded by the rate
 * point it names; with a file, frames of other models are refused. The LATENCY query answers the
 * first frame's decoding time. A damaged frame (bad CRC,
 * truncated, another model's) is dropped with a warning and the stream goes on, up to
 * GstVideoDecoder's max-errors.
 *
 * ## Example launch lines
 * |[
 * gst-launch-1.0 filesrc location=clip.cae ! video/x-cae ! caedec ! videoconvert ! autovideosink
 * gst-launch-1.0 udpsrc port=5000 caps=application/x-rtp,media=application,encoding-name=X-GST,\
 *     clock-rate=90000 ! rtpgstdepay ! caedec ! videoconvert ! autovideosink
 * ]|
 */
#include "gstcaedec.hpp"

#include <chrono>
#include <exception>
#include <map>
#include <memory>

#include "codec/bitstream.hpp"
#include "codec/picture_codec.hpp"
#include "error.hpp"
#include "gstcaecodec.hpp"

GST_DEBUG_CATEGORY_STATIC(gst_cae_dec_debug);
#define GST_CAT_DEFAULT gst_cae_dec_debug

enum { PROP_0, PROP_MODEL, PROP_QUALITY, PROP_BACKEND };

// A frame larger than this (header included) is taken for garbage while splitting a stream.
static constexpr std::size_t kMaxFrameBytes = std::size_t(256) << 20;

struct GstCaeDecState {
  GstCaeCodecSettings settings;  // the properties as start() found them
  std::map<int, std::unique_ptr<cae::codec::PictureDecoder>> decoders;  // by rate point
  int width = 0, height = 0, channels = 0;                              // of the output state
  bool latencySet = false;  // the first frame's decoding time was reported
};

struct _GstCaeDec {
  GstVideoDecoder parent;
  GstCaeCodecSettings* settings;  // GST_OBJECT_LOCK
  GstCaeDecState* state;          // the streaming thread's, from start() to stop()
  GstVideoCodecState* input;      // the input caps' state (framerate for the output)
};

G_DEFINE_TYPE(GstCaeDec, gst_cae_dec, GST_TYPE_VIDEO_DECODER)
GST_ELEMENT_REGISTER_DEFINE(caedec, "caedec", GST_RANK_PRIMARY, GST_TYPE_CAE_DEC)

static GstStaticPadTemplate sink_template =
    GST_STATIC_PAD_TEMPLATE("sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS("video/x-cae"));
static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE(
    "src", GST_PAD_SRC, GST_PAD_ALWAYS,
    GST_STATIC_CAPS("video/x-raw, format = (string) { RGB, GRAY8 }, width = (int) [ 1, 32768 ], "
                    "height = (int) [ 1, 32768 ], framerate = (fraction) [ 0, MAX ]"));

// The decoder of a rate point (a family's model) or of the model file, loaded when first needed.
static cae::codec::PictureDecoder& decoder_for(GstCaeDecState& s, int rate_point) {
  const bool family = gst_cae_codec_is_family(s.settings.model);
  const int key = family ? rate_point : 0;
  auto it = s.decoders.find(key);
  if (it != s.decoders.end()) return *it->second;
  if (family && (rate_point < 1 || rate_point > GST_CAE_CODEC_QUALITIES))
    throw cae::FormatError("cae frame of rate point " + std::to_string(rate_point) +
                           ": the family " + s.settings.model + " has 1.." +
                           std::to_string(GST_CAE_CODEC_QUALITIES));
  const std::string file = gst_cae_codec_model_file(s.settings.model, family ? rate_point : 0);
  auto d = std::make_unique<cae::codec::PictureDecoder>(
      cae::codec::CodecOptions{file, s.settings.backend, 0});
  return *(s.decoders[key] = std::move(d));
}

static gboolean gst_cae_dec_start(GstVideoDecoder* dec) {
  GstCaeDec* self = GST_CAE_DEC(dec);
  self->state = new GstCaeDecState();
  GST_OBJECT_LOCK(self);
  self->state->settings = *self->settings;
  GST_OBJECT_UNLOCK(self);
  // The model is loaded now, so that a missing or broken one fails the state change.
  try {
    (void)decoder_for(*self->state, self->state->settings.quality);
  } catch (const std::exception& e) {
    GST_ELEMENT_ERROR(self, RESOURCE, NOT_FOUND,
                      ("Cannot use the codec model '%s'", self->state->settings.model.c_str()),
                      ("%s", e.what()));
    delete self->state;
    self->state = nullptr;
    return FALSE;
  }
  return TRUE;
}

static gboolean gst_cae_dec_stop(GstVideoDecoder* dec) {
  GstCaeDec* self = GST_CAE_DEC(dec);
  delete self->state;
  self->state = nullptr;
  if (self->input) gst_video_codec_state_unref(self->input);
  self->input = nullptr;
  return TRUE;
}

// video/x-cae of any picture: each frame's header says its size and channels, so the caps are
// not proxied from downstream's raw formats (a bare `video/x-cae` from a file stays fixed).
static GstCaps* gst_cae_dec_getcaps(GstVideoDecoder* /*dec*/, GstCaps* filter) {
  GstCaps* caps = gst_static_pad_template_get_caps(&sink_template);
  if (!filter) return caps;
  GstCaps* both = gst_caps_intersect_full(filter, caps, GST_CAPS_INTERSECT_FIRST);
  gst_caps_unref(caps);
  return both;
}

// Framed input (caeenc's caps carry the picture size) is decoded buffer by buffer; a bare
// video/x-cae (a file) is split by parse().
static gboolean gst_cae_dec_set_format(GstVideoDecoder* dec, GstVideoCodecState* state) {
  GstCaeDec* self = GST_CAE_DEC(dec);
  const GstStructure* st = gst_caps_get_structure(state->caps, 0);
  gst_video_decoder_set_packetized(dec, gst_structure_has_field(st, "width"));
  if (self->input) gst_video_codec_state_unref(self->input);
  self->input = gst_video_codec_state_ref(state);
  if (self->state) self->state->width = 0;  // output caps again (framerate may have changed)
  return TRUE;
}

static GstFlowReturn gst_cae_dec_parse(GstVideoDecoder* dec, GstVideoCodecFrame* /*frame*/,
                                       GstAdapter* adapter, gboolean at_eos) {
  const gsize avail = gst_adapter_available(adapter);
  if (avail < cae::codec::kFrameHeaderSize) {
    if (at_eos && avail > 0) {
      GST_ELEMENT_WARNING(dec, STREAM, DECODE, ("The cae stream ends inside a frame header"),
                          ("%zu bytes left over", std::size_t(avail)));
      gst_adapter_flush(adapter, avail);
    }
    return GST_VIDEO_DECODER_FLOW_NEED_DATA;
  }
  std::uint8_t head[cae::codec::kFrameHeaderSize];
  gst_adapter_copy(adapter, head, 0, sizeof head);
  if (head[0] != 'C' || head[1] != 'A' || head[2] != 'E' || head[3] != 'F') {
    GST_ELEMENT_ERROR(dec, STREAM, DECODE, ("Not a cae stream"), ("no CAEF frame header"));
    return GST_FLOW_ERROR;
  }
  std::size_t payload = 0;
  for (int i = 3; i >= 0; --i) payload = (payload << 8) | head[24 + i];
  const std::size_t size = cae::codec::kFrameHeaderSize + payload;
  if (size > kMaxFrameBytes) {
    GST_ELEMENT_ERROR(dec, STREAM, DECODE, ("Damaged cae stream"),
                      ("a frame header announces %zu bytes", size));
    return GST_FLOW_ERROR;
  }
  if (avail < size) {
    if (at_eos) {
      GST_ELEMENT_WARNING(dec, STREAM, DECODE, ("The cae stream ends inside a frame"),
                          ("%zu of %zu bytes", std::size_t(avail), size));
      gst_adapter_flush(adapter, avail);
    }
    return GST_VIDEO_DECODER_FLOW_NEED_DATA;
  }
  gst_video_decoder_add_to_frame(dec, int(size));
  return gst_video_decoder_have_frame(dec);
}

// Output caps for the picture's size and channels, when they change.
static bool ensure_output(GstCaeDec* self, const cv::Mat& picture) {
  GstCaeDecState& s = *self->state;
  GstVideoDecoder* dec = GST_VIDEO_DECODER(self);
  if (s.width == picture.cols && s.height == picture.rows && s.channels == picture.channels())
    return true;
  GstVideoCodecState* out = gst_video_decoder_set_output_state(
      dec, picture.channels() == 3 ? GST_VIDEO_FORMAT_RGB : GST_VIDEO_FORMAT_GRAY8,
      guint(picture.cols), guint(picture.rows), self->input);
  gst_video_codec_state_unref(out);
  s.width = picture.cols;
  s.height = picture.rows;
  s.channels = picture.channels();
  return gst_video_decoder_negotiate(dec);
}

static GstFlowReturn gst_cae_dec_handle_frame(GstVideoDecoder* dec, GstVideoCodecFrame* frame) {
  GstCaeDec* self = GST_CAE_DEC(dec);
  GstMapInfo map;
  if (!gst_buffer_map(frame->input_buffer, &map, GST_MAP_READ)) {
    gst_video_decoder_drop_frame(dec, frame);
    GST_ELEMENT_ERROR(self, STREAM, DECODE, ("Cannot map the input buffer"), (nullptr));
    return GST_FLOW_ERROR;
  }
  cv::Mat picture;
  std::string why;
  const auto t0 = std::chrono::steady_clock::now();
  try {
    const cae::codec::FrameView v = cae::codec::parseFrame(map.data, map.size);
    picture = decoder_for(*self->state, v.header.ratePoint).decode(map.data, map.size);
  } catch (const std::exception& e) {
    why = e.what();
  }
  if (why.empty() && !self->state->latencySet) {  // one frame's decoding time: the latency
    const auto ns =
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0)
            .count();
    gst_video_decoder_set_latency(dec, GstClockTime(ns), GstClockTime(ns));
    self->state->latencySet = true;
  }
  gst_buffer_unmap(frame->input_buffer, &map);
  if (!why.empty()) {
    GstFlowReturn ret = GST_FLOW_OK;
    GST_VIDEO_DECODER_ERROR(dec, 1, STREAM, DECODE, ("Cannot decode a cae frame"),
                            ("%s", why.c_str()), ret);
    gst_video_decoder_drop_frame(dec, frame);
    return ret;
  }
  if (!ensure_output(self, picture)) {
    gst_video_decoder_drop_frame(dec, frame);
    return GST_FLOW_NOT_NEGOTIATED;
  }
  GstFlowReturn ret = gst_video_decoder_allocate_output_frame(dec, frame);
  if (ret != GST_FLOW_OK) {
    gst_video_decoder_drop_frame(dec, frame);
    return ret;
  }
  GstVideoCodecState* out = gst_video_decoder_get_output_state(dec);
  GstVideoFrame vf;
  const bool mapped = gst_video_frame_map(&vf, &out->info, frame->output_buffer, GST_MAP_WRITE);
  gst_video_codec_state_unref(out);
  if (!mapped) {
    gst_video_decoder_drop_frame(dec, frame);
    GST_ELEMENT_ERROR(self, STREAM, DECODE, ("Cannot map the output frame"), (nullptr));
    return GST_FLOW_ERROR;
  }
  picture.copyTo(gst_cae_codec_view(&vf));
  gst_video_frame_unmap(&vf);
  return gst_video_decoder_finish_frame(dec, frame);
}

static void gst_cae_dec_set_property(GObject* o, guint id, const GValue* v, GParamSpec* pspec) {
  GstCaeDec* self = GST_CAE_DEC(o);
  GST_OBJECT_LOCK(self);
  const gboolean ok =
      gst_cae_codec_set_property(*self->settings, id, v, PROP_MODEL, PROP_QUALITY, PROP_BACKEND);
  GST_OBJECT_UNLOCK(self);
  if (!ok) G_OBJECT_WARN_INVALID_PROPERTY_ID(o, id, pspec);
}

static void gst_cae_dec_get_property(GObject* o, guint id, GValue* v, GParamSpec* pspec) {
  GstCaeDec* self = GST_CAE_DEC(o);
  GST_OBJECT_LOCK(self);
  const gboolean ok =
      gst_cae_codec_get_property(*self->settings, id, v, PROP_MODEL, PROP_QUALITY, PROP_BACKEND);
  GST_OBJECT_UNLOCK(self);
  if (!ok) G_OBJECT_WARN_INVALID_PROPERTY_ID(o, id, pspec);
}

static void gst_cae_dec_finalize(GObject* o) {
  GstCaeDec* self = GST_CAE_DEC(o);
  delete self->settings;
  delete self->state;
  if (self->input) gst_video_codec_state_unref(self->input);
  G_OBJECT_CLASS(gst_cae_dec_parent_class)->finalize(o);
}

static void gst_cae_dec_class_init(GstCaeDecClass* klass) {
  GObjectClass* gobject = G_OBJECT_CLASS(klass);
  GstVideoDecoderClass* vdec = GST_VIDEO_DECODER_CLASS(klass);
  gobject->set_property = gst_cae_dec_set_property;
  gobject->get_property = gst_cae_dec_get_property;
  gobject->finalize = gst_cae_dec_finalize;
  gst_cae_codec_install_properties(gobject, PROP_MODEL, PROP_QUALITY, PROP_BACKEND, "decoder");
  gst_element_class_add_static_pad_template(GST_ELEMENT_CLASS(klass), &sink_template);
  gst_element_class_add_static_pad_template(GST_ELEMENT_CLASS(klass), &src_template);
  gst_element_class_set_static_metadata(
      GST_ELEMENT_CLASS(klass), "CAE learned video decoder", "Codec/Decoder/Video",
      "Decodes video/x-cae frames of a learned autoencoder codec (caeenc, cae-codec)", "cae");
  vdec->start = gst_cae_dec_start;
  vdec->stop = gst_cae_dec_stop;
  vdec->set_format = gst_cae_dec_set_format;
  vdec->getcaps = gst_cae_dec_getcaps;
  vdec->parse = gst_cae_dec_parse;
  vdec->handle_frame = gst_cae_dec_handle_frame;
  GST_DEBUG_CATEGORY_INIT(gst_cae_dec_debug, "caedec", 0, "cae learned video decoder");
}

static void gst_cae_dec_init(GstCaeDec* self) {
  self->settings = new GstCaeCodecSettings();
  self->state = nullptr;
  self->input = nullptr;
  gst_video_decoder_set_packetized(GST_VIDEO_DECODER(self), TRUE);
}
