/**
 * SECTION:element-caedenoise
 * @title: caedenoise
 *
 * Denoises video with a learned convolutional autoencoder (an ONNX file made by
 * `cae-train --task denoise`, run by oneDNN or OpenCV DNN: `backend`). Gray models denoise
 * GRAY8/GRAY16_LE frames, the luma of I420/NV12 (with `chroma=true` also the two chroma planes,
 * each as a gray image at its own resolution), and RGB-type frames as their luma and two
 * opponent channels (a single-frame model; a temporal one reads R, G, B each). RGB
 * models need RGB-type frames: the element offers only the formats its model can take, so a
 * videoconvert in front converts.
 *
 * Temporal denoising: a temporal model (cae.frames = K, e.g. the shipped denoise-temporal.onnx,
 * K = 5) reads each frame together with the K-1 input frames before it, which the element keeps
 * (in model units, per group of planes of one size). A model made with cae.align = translation
 * reads them moved onto the current frame by a global shift, estimated once per frame on the
 * mean of the first planes (gray; Y; R, G, B) and scaled for the chroma planes. The history
 * starts again (the current frame standing in for the missing ones, as at the first frame) at
 * start, on a caps change, a flush, a new segment, a DISCONT buffer, and when timestamps go back
 * or jump by more than 1.5 frame durations (a frame dropped upstream or by QoS). `strength`
 * blends the output only: changing it keeps the history (at 0 the frames still go into it).
 *
 * ## Example launch lines
 * |[
 * gst-launch-1.0 v4l2src ! videoconvert ! caedenoise strength=0.8 ! videoconvert ! autovideosink
 * gst-launch-1.0 v4l2src ! videoconvert ! caedenoise model=models/denoise-temporal.onnx ! \
 *     videoconvert ! autovideosink
 * ]|
 */
#include "gstcaedenoise.hpp"

#include <gst/video/video.h>

#include "gstcaefilter.hpp"
#include "infer/engine.hpp"
#include "infer/planes.hpp"

GST_DEBUG_CATEGORY_STATIC(gst_cae_denoise_debug);
#define GST_CAT_DEFAULT gst_cae_denoise_debug

#define DEFAULT_STRENGTH 1.0
#define DEFAULT_CHROMA TRUE

enum { PROP_0, PROP_STRENGTH, PROP_CHROMA };

struct _GstCaeDenoise {
  GstCaeFilter parent;

  // Properties (GST_OBJECT_LOCK).
  gdouble strength;
  gboolean chroma;

  // run_model's own buffers and history (the engine's lock), apart from the stream's.
  cae::infer::PlaneWorkspace* timing;
};

G_DEFINE_TYPE(GstCaeDenoise, gst_cae_denoise, GST_TYPE_CAE_FILTER)
GST_ELEMENT_REGISTER_DEFINE(caedenoise, "caedenoise", GST_RANK_NONE, GST_TYPE_CAE_DENOISE)

// The planes the model denoises: R, G, B; Y (and U, V with chroma); or the gray plane.
static std::vector<cae::infer::PlaneView> planes_of(GstVideoFrame* f, bool chroma) {
  const GstVideoInfo* info = &f->info;
  const bool three = GST_VIDEO_INFO_IS_RGB(info) || (GST_VIDEO_INFO_IS_YUV(info) && chroma);
  return gst_cae_filter_planes(f, three ? 3 : 1);
}

// RGB-type frames through a gray model: luma and opponent channels (core/infer/planes.hpp).
static cae::infer::Colour colour_of(GstVideoFrame* f) {
  return GST_VIDEO_INFO_IS_RGB(&f->info) ? cae::infer::Colour::Opponent
                                         : cae::infer::Colour::PerPlane;
}

static void gst_cae_denoise_run_model(GstCaeFilter* filter, cae::infer::Engine& e,
                                      GstVideoFrame* in, GstVideoFrame* out) {
  GstCaeDenoise* self = GST_CAE_DENOISE(filter);
  GST_OBJECT_LOCK(self);
  const bool chroma = self->chroma;
  GST_OBJECT_UNLOCK(self);
  // A workspace of its own: the blank frame timed here must not enter the stream's history. A
  // temporal model is timed with a full history (filled by copies, strength 0), so that the
  // LATENCY it answers includes aligning the older frames.
  cae::infer::PlaneWorkspace& w = *self->timing;
  const std::vector<cae::infer::PlaneView> pin = planes_of(in, chroma),
                                           pout = planes_of(out, chroma);
  for (int k = 0; k < e.framesIn() && w.historySize() < e.framesIn() - 1; ++k)
    cae::infer::runPlanes(e, w, pin, pout, 0.0, colour_of(in));
  cae::infer::runPlanes(e, w, pin, pout, 1.0, colour_of(in));
}

static GstFlowReturn gst_cae_denoise_process(GstCaeFilter* filter, cae::infer::Engine& e,
                                             GstVideoFrame* in, GstVideoFrame* out) {
  GstCaeDenoise* self = GST_CAE_DENOISE(filter);
  GST_OBJECT_LOCK(self);
  const double strength = self->strength;
  const bool chroma = self->chroma;
  GST_OBJECT_UNLOCK(self);
  if (!gst_video_frame_copy(out, in)) {
    GST_ELEMENT_ERROR(self, STREAM, FAILED, ("Cannot copy the video frame"), (nullptr));
    return GST_FLOW_ERROR;
  }
  // The input, exactly; a temporal model's history still takes the frame (runPlanes at 0).
  if (strength <= 0 && e.framesIn() == 1) return GST_FLOW_OK;
  cae::infer::runPlanes(e, gst_cae_filter_workspace(filter), planes_of(in, chroma),
                        planes_of(out, chroma), strength, colour_of(in));
  return GST_FLOW_OK;
}

static void gst_cae_denoise_set_property(GObject* object, guint id, const GValue* value,
                                         GParamSpec* pspec) {
  GstCaeDenoise* self = GST_CAE_DENOISE(object);
  GST_OBJECT_LOCK(self);
  switch (id) {
    case PROP_STRENGTH:
      self->strength = g_value_get_double(value);
      break;
    case PROP_CHROMA:
      self->chroma = g_value_get_boolean(value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(object, id, pspec);
  }
  GST_OBJECT_UNLOCK(self);
}

static void gst_cae_denoise_get_property(GObject* object, guint id, GValue* value,
                                         GParamSpec* pspec) {
  GstCaeDenoise* self = GST_CAE_DENOISE(object);
  GST_OBJECT_LOCK(self);
  switch (id) {
    case PROP_STRENGTH:
      g_value_set_double(value, self->strength);
      break;
    case PROP_CHROMA:
      g_value_set_boolean(value, self->chroma);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(object, id, pspec);
  }
  GST_OBJECT_UNLOCK(self);
}

static void gst_cae_denoise_finalize(GObject* object);

static void gst_cae_denoise_class_init(GstCaeDenoiseClass* klass) {
  GObjectClass* gobject_class = G_OBJECT_CLASS(klass);
  GstCaeFilterClass* cae_class = GST_CAE_FILTER_CLASS(klass);

  gobject_class->set_property = gst_cae_denoise_set_property;
  gobject_class->finalize = gst_cae_denoise_finalize;
  gobject_class->get_property = gst_cae_denoise_get_property;

  const auto rw_playing = GParamFlags(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
                                      GST_PARAM_MUTABLE_PLAYING | GST_PARAM_CONTROLLABLE);
  g_object_class_install_property(
      gobject_class, PROP_STRENGTH,
      g_param_spec_double("strength", "Strength",
                          "Blend of denoised and input frame: 1 fully denoised, 0 the input "
                          "unchanged",
                          0.0, 1.0, DEFAULT_STRENGTH, rw_playing));
  g_object_class_install_property(
      gobject_class, PROP_CHROMA,
      g_param_spec_boolean("chroma", "Chroma",
                           "I420/NV12 with a gray model: also denoise the two chroma planes "
                           "(each as a gray image at its own resolution), not only the luma",
                           DEFAULT_CHROMA, rw_playing));

  gst_element_class_set_static_metadata(
      GST_ELEMENT_CLASS(klass), "CAE denoiser", "Filter/Effect/Video",
      "Denoises video with a learned convolutional autoencoder (ONNX; oneDNN or OpenCV DNN); "
      "default model: the shipped " CAE_DEFAULT_DENOISE_MODEL
      ". Temporal denoising with a temporal model (cae.frames = K, e.g. "
      "model=models/denoise-temporal.onnx): each frame is denoised with the K-1 input frames "
      "before it (aligned onto it by a global shift when the model says cae.align=translation); "
      "the history starts again at start, caps changes, flushes, new segments, DISCONT buffers "
      "and timestamp gaps over 1.5 frames (dropped frames); strength does not reset it",
      "cae developers");
  cae_class->task = cae::onnx::Task::Denoise;
  cae_class->default_model = CAE_DEFAULT_DENOISE_MODEL;
  cae_class->noun = "denoising";
  cae_class->failure = "Denoising failed";
  // Gray models: gray and YUV first (a videoconvert from YUV keeps YUV), RGB types too (as luma
  // and two opponent channels).
  gst_cae_filter_class_set_formats(cae_class, "GRAY8, GRAY16_LE, I420, NV12, RGB, BGR, RGBx, BGRx",
                                   "RGB, BGR, RGBx, BGRx");
  cae_class->temporal = TRUE;
  cae_class->run_model = gst_cae_denoise_run_model;
  cae_class->process = gst_cae_denoise_process;
  GST_DEBUG_CATEGORY_INIT(gst_cae_denoise_debug, "caedenoise", 0, "CAE video denoiser");
}

static void gst_cae_denoise_init(GstCaeDenoise* self) {
  self->strength = DEFAULT_STRENGTH;
  self->chroma = DEFAULT_CHROMA;
  self->timing = new cae::infer::PlaneWorkspace();
}

static void gst_cae_denoise_finalize(GObject* object) {
  delete GST_CAE_DENOISE(object)->timing;
  G_OBJECT_CLASS(gst_cae_denoise_parent_class)->finalize(object);
}
