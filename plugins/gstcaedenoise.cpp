/**
 * SECTION:element-caedenoise
 * @title: caedenoise
 *
 * Denoises video with a learned convolutional autoencoder (an ONNX file made by
 * `cae-train --task denoise`, run by OpenCV DNN). Gray models denoise GRAY8/GRAY16_LE frames,
 * each of R, G, B of RGB-type frames, and the luma of I420/NV12 (with `chroma=true` also the
 * two chroma planes, each as a gray image at its own resolution). RGB models need RGB-type frames.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 v4l2src ! videoconvert ! caedenoise strength=0.8 ! videoconvert ! autovideosink
 * ]|
 */
#include "gstcaedenoise.hpp"

#include <gst/video/video.h>

#include <algorithm>
#include <chrono>
#include <exception>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "error.hpp"
#include "gstcaecommon.hpp"
#include "gstcaeenums.hpp"
#include "infer/engine.hpp"
#include "infer/planes.hpp"

GST_DEBUG_CATEGORY_STATIC(gst_cae_denoise_debug);
#define GST_CAT_DEFAULT gst_cae_denoise_debug

#define DEFAULT_MODEL CAE_MODEL_DIR "/" CAE_DEFAULT_DENOISE_MODEL
#define DEFAULT_STRENGTH 1.0
#define DEFAULT_TILE_SIZE 0
#define DEFAULT_THREADS 0
#define DEFAULT_CHROMA TRUE

enum {
  PROP_0,
  PROP_MODEL,
  PROP_STRENGTH,
  PROP_TILE_SIZE,
  PROP_BACKEND,
  PROP_TARGET,
  PROP_THREADS,
  PROP_CHROMA,
};

struct _GstCaeDenoise {
  GstVideoFilter parent;

  // Properties (GST_OBJECT_LOCK).
  gchar* model;
  gdouble strength;
  gint tile_size;
  GstCaeBackend backend;
  GstCaeTarget target;
  gint threads;
  gboolean chroma;

  // Streaming state (created in start(), freed in stop()).
  cae::infer::Engine* engine;
  GstClockTime latency;  // per-frame processing time reported to the LATENCY query
};

#define CAPS_STR GST_VIDEO_CAPS_MAKE("{ GRAY8, GRAY16_LE, RGB, BGR, RGBx, BGRx, I420, NV12 }")

static GstStaticPadTemplate sink_template =
    GST_STATIC_PAD_TEMPLATE("sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS(CAPS_STR));
static GstStaticPadTemplate src_template =
    GST_STATIC_PAD_TEMPLATE("src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS(CAPS_STR));

G_DEFINE_TYPE(GstCaeDenoise, gst_cae_denoise, GST_TYPE_VIDEO_FILTER)
GST_ELEMENT_REGISTER_DEFINE(caedenoise, "caedenoise", GST_RANK_NONE, GST_TYPE_CAE_DENOISE)

// The model a user means: the property, or the shipped default (installed, else the source
// tree's models/ when running uninstalled from a build directory).
static gboolean gst_cae_denoise_start(GstBaseTransform* trans) {
  GstCaeDenoise* self = GST_CAE_DENOISE(trans);
  cae::infer::EngineOptions o;
  GST_OBJECT_LOCK(self);
  o.model = gst_cae_resolve_model(self->model, CAE_DEFAULT_DENOISE_MODEL);
  o.backend = cae::infer::Backend(self->backend);
  o.target = cae::infer::Target(self->target);
  o.tileSize = self->tile_size;
  o.threads = self->threads;
  GST_OBJECT_UNLOCK(self);
  o.task = cae::onnx::Task::Denoise;
  try {
    auto e = std::make_unique<cae::infer::Engine>(o);
    for (const std::string& w : e->warnings())
      GST_ELEMENT_WARNING(self, RESOURCE, SETTINGS, ("%s", w.c_str()), (nullptr));
    GST_INFO_OBJECT(self,
                    "model %s: %d channel(s), format %s, receptive field %d, size multiple %d",
                    o.model.c_str(), e->channels(), e->info().format.c_str(),
                    e->info().receptiveField, e->graph().sizeMultiple);
    delete self->engine;
    self->engine = e.release();
  } catch (const cae::IoError& e) {
    GST_ELEMENT_ERROR(self, RESOURCE, NOT_FOUND, ("Cannot read the denoising model: %s", e.what()),
                      ("set the model property to a .onnx file made by cae-train --task denoise"));
    return FALSE;
  } catch (const cae::FormatError& e) {
    GST_ELEMENT_ERROR(self, RESOURCE, READ,
                      ("The denoising model is not a valid ONNX model: %s", e.what()),
                      ("model '%s'", o.model.c_str()));
    return FALSE;
  } catch (const std::exception& e) {
    GST_ELEMENT_ERROR(self, RESOURCE, SETTINGS, ("Cannot use the denoising model: %s", e.what()),
                      ("model '%s'", o.model.c_str()));
    return FALSE;
  }
  self->latency = 0;
  return TRUE;
}

static gboolean gst_cae_denoise_stop(GstBaseTransform* trans) {
  GstCaeDenoise* self = GST_CAE_DENOISE(trans);
  delete self->engine;
  self->engine = nullptr;
  return TRUE;
}

static bool is_rgb(const GstVideoInfo* info) { return GST_VIDEO_INFO_IS_RGB(info); }

// The planes a frame hands to the model (component views, stride-aware).
static std::vector<cae::infer::PlaneView> planes_of(GstVideoFrame* f, bool chroma) {
  std::vector<cae::infer::PlaneView> v;
  const GstVideoInfo* info = &f->info;
  int n = 1;
  if (GST_VIDEO_INFO_IS_RGB(info))
    n = 3;
  else if (GST_VIDEO_INFO_IS_YUV(info) && chroma)
    n = 3;
  for (int k = 0; k < n; ++k) {
    cae::infer::PlaneView p;
    p.data = static_cast<std::uint8_t*>(GST_VIDEO_FRAME_COMP_DATA(f, k));
    p.width = GST_VIDEO_FRAME_COMP_WIDTH(f, k);
    p.height = GST_VIDEO_FRAME_COMP_HEIGHT(f, k);
    p.rowStride = GST_VIDEO_FRAME_COMP_STRIDE(f, k);
    p.pixelStride = GST_VIDEO_FRAME_COMP_PSTRIDE(f, k);
    p.depth = GST_VIDEO_FRAME_COMP_DEPTH(f, k);
    v.push_back(p);
  }
  return v;
}

static GstFlowReturn run_frame(GstCaeDenoise* self, GstVideoFrame* in, GstVideoFrame* out,
                               double strength, bool chroma) {
  try {
    cae::infer::runPlanes(*self->engine, planes_of(in, chroma), planes_of(out, chroma), strength);
  } catch (const std::exception& e) {
    GST_ELEMENT_ERROR(self, STREAM, FAILED, ("Denoising failed: %s", e.what()), (nullptr));
    return GST_FLOW_ERROR;
  }
  return GST_FLOW_OK;
}

static gboolean gst_cae_denoise_set_info(GstVideoFilter* filter, GstCaps*, GstVideoInfo* in_info,
                                         GstCaps*, GstVideoInfo* out_info) {
  GstCaeDenoise* self = GST_CAE_DENOISE(filter);
  if (!self->engine) return FALSE;
  if (GST_VIDEO_INFO_FORMAT(in_info) != GST_VIDEO_INFO_FORMAT(out_info) ||
      in_info->width != out_info->width || in_info->height != out_info->height) {
    GST_ELEMENT_ERROR(self, CORE, NEGOTIATION,
                      ("caedenoise does not convert: input and output caps differ"), (nullptr));
    return FALSE;
  }
  const int c = self->engine->channels();
  if (c == 3 && !is_rgb(in_info)) {
    GST_ELEMENT_ERROR(self, CORE, NEGOTIATION,
                      ("The model denoises 3-channel (RGB) images; %s frames cannot feed it",
                       gst_video_format_to_string(GST_VIDEO_INFO_FORMAT(in_info))),
                      ("put videoconvert before caedenoise, or use a gray model"));
    return FALSE;
  }
  if (c != 1 && c != 3) {
    GST_ELEMENT_ERROR(self, CORE, NEGOTIATION,
                      ("The model reads %d channels; video frames give 1 or 3", c), (nullptr));
    return FALSE;
  }
  // Measure one frame of this size: the processing latency the LATENCY query reports.
  GstVideoFrame in{}, out{};
  GstBuffer* a = gst_buffer_new_allocate(nullptr, in_info->size, nullptr);
  GstBuffer* b = gst_buffer_new_allocate(nullptr, in_info->size, nullptr);
  gst_buffer_memset(a, 0, 16, in_info->size);
  GstFlowReturn ret = GST_FLOW_ERROR;
  const auto t0 = std::chrono::steady_clock::now();
  if (gst_video_frame_map(&in, in_info, a, GST_MAP_READ)) {
    if (gst_video_frame_map(&out, in_info, b, GST_MAP_WRITE)) {
      GST_OBJECT_LOCK(self);
      const bool chroma = self->chroma;
      GST_OBJECT_UNLOCK(self);
      ret = run_frame(self, &in, &out, 1.0, chroma);
      gst_video_frame_unmap(&out);
    }
    gst_video_frame_unmap(&in);
  }
  gst_buffer_unref(a);
  gst_buffer_unref(b);
  if (ret != GST_FLOW_OK) return FALSE;
  const auto ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0);
  GST_OBJECT_LOCK(self);
  self->latency = GstClockTime(ns.count());
  GST_OBJECT_UNLOCK(self);
  GST_INFO_OBJECT(self, "%dx%d %s: %" GST_TIME_FORMAT " per frame", in_info->width, in_info->height,
                  gst_video_format_to_string(GST_VIDEO_INFO_FORMAT(in_info)),
                  GST_TIME_ARGS(self->latency));
  gst_element_post_message(GST_ELEMENT(self), gst_message_new_latency(GST_OBJECT(self)));
  return TRUE;
}

static GstFlowReturn gst_cae_denoise_transform_frame(GstVideoFilter* filter, GstVideoFrame* in,
                                                     GstVideoFrame* out) {
  GstCaeDenoise* self = GST_CAE_DENOISE(filter);
  GST_OBJECT_LOCK(self);
  const double strength = self->strength;
  const bool chroma = self->chroma;
  GST_OBJECT_UNLOCK(self);
  if (!gst_video_frame_copy(out, in)) {
    GST_ELEMENT_ERROR(self, STREAM, FAILED, ("Cannot copy the video frame"), (nullptr));
    return GST_FLOW_ERROR;
  }
  if (strength <= 0) return GST_FLOW_OK;  // the input, exactly
  return run_frame(self, in, out, strength, chroma);
}

// Controlled properties (strength, chroma) follow their control bindings frame by frame.
static void gst_cae_denoise_before_transform(GstBaseTransform* trans, GstBuffer* buf) {
  const GstClockTime st =
      gst_segment_to_stream_time(&trans->segment, GST_FORMAT_TIME, GST_BUFFER_TIMESTAMP(buf));
  if (GST_CLOCK_TIME_IS_VALID(st)) gst_object_sync_values(GST_OBJECT(trans), st);
}

static gboolean gst_cae_denoise_query(GstBaseTransform* trans, GstPadDirection dir, GstQuery* q) {
  GstCaeDenoise* self = GST_CAE_DENOISE(trans);
  if (GST_QUERY_TYPE(q) == GST_QUERY_LATENCY && dir == GST_PAD_SRC) {
    if (!GST_BASE_TRANSFORM_CLASS(gst_cae_denoise_parent_class)->query(trans, dir, q)) return FALSE;
    GST_OBJECT_LOCK(self);
    const GstClockTime lat = self->latency;
    GST_OBJECT_UNLOCK(self);
    gst_cae_add_latency(q, lat);
    GST_DEBUG_OBJECT(self, "latency: ours %" GST_TIME_FORMAT, GST_TIME_ARGS(lat));
    return TRUE;
  }
  return GST_BASE_TRANSFORM_CLASS(gst_cae_denoise_parent_class)->query(trans, dir, q);
}

static void gst_cae_denoise_set_property(GObject* object, guint id, const GValue* value,
                                         GParamSpec* pspec) {
  GstCaeDenoise* self = GST_CAE_DENOISE(object);
  GST_OBJECT_LOCK(self);
  switch (id) {
    case PROP_MODEL:
      g_free(self->model);
      self->model = g_value_dup_string(value);
      break;
    case PROP_STRENGTH:
      self->strength = g_value_get_double(value);
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
    case PROP_MODEL:
      g_value_set_string(value, self->model);
      break;
    case PROP_STRENGTH:
      g_value_set_double(value, self->strength);
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
    case PROP_CHROMA:
      g_value_set_boolean(value, self->chroma);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(object, id, pspec);
  }
  GST_OBJECT_UNLOCK(self);
}

static void gst_cae_denoise_finalize(GObject* object) {
  GstCaeDenoise* self = GST_CAE_DENOISE(object);
  g_free(self->model);
  delete self->engine;
  G_OBJECT_CLASS(gst_cae_denoise_parent_class)->finalize(object);
}

static void gst_cae_denoise_class_init(GstCaeDenoiseClass* klass) {
  GObjectClass* gobject_class = G_OBJECT_CLASS(klass);
  GstElementClass* element_class = GST_ELEMENT_CLASS(klass);
  GstBaseTransformClass* trans_class = GST_BASE_TRANSFORM_CLASS(klass);
  GstVideoFilterClass* filter_class = GST_VIDEO_FILTER_CLASS(klass);

  gobject_class->set_property = gst_cae_denoise_set_property;
  gobject_class->get_property = gst_cae_denoise_get_property;
  gobject_class->finalize = gst_cae_denoise_finalize;

  const auto rw = GParamFlags(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS);
  const auto rw_ready = GParamFlags(rw | GST_PARAM_MUTABLE_READY);
  const auto rw_playing = GParamFlags(rw | GST_PARAM_MUTABLE_PLAYING | GST_PARAM_CONTROLLABLE);
  g_object_class_install_property(
      gobject_class, PROP_MODEL,
      g_param_spec_string("model", "Model",
                          "Denoising model (.onnx made by cae-train --task denoise); the "
                          "default is the shipped " CAE_DEFAULT_DENOISE_MODEL,
                          DEFAULT_MODEL, rw_ready));
  g_object_class_install_property(
      gobject_class, PROP_STRENGTH,
      g_param_spec_double("strength", "Strength",
                          "Blend of denoised and input frame: 1 fully denoised, 0 the input "
                          "unchanged",
                          0.0, 1.0, DEFAULT_STRENGTH, rw_playing));
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
  g_object_class_install_property(
      gobject_class, PROP_CHROMA,
      g_param_spec_boolean("chroma", "Chroma",
                           "I420/NV12 with a gray model: also denoise the two chroma planes "
                           "(each as a gray image at its own resolution), not only the luma",
                           DEFAULT_CHROMA, rw_playing));

  gst_element_class_set_static_metadata(
      element_class, "CAE denoiser", "Filter/Effect/Video",
      "Denoises video with a learned convolutional autoencoder (ONNX, OpenCV DNN)",
      "cae developers");
  gst_element_class_add_static_pad_template(element_class, &sink_template);
  gst_element_class_add_static_pad_template(element_class, &src_template);

  trans_class->start = GST_DEBUG_FUNCPTR(gst_cae_denoise_start);
  trans_class->stop = GST_DEBUG_FUNCPTR(gst_cae_denoise_stop);
  trans_class->query = GST_DEBUG_FUNCPTR(gst_cae_denoise_query);
  trans_class->before_transform = GST_DEBUG_FUNCPTR(gst_cae_denoise_before_transform);
  filter_class->set_info = GST_DEBUG_FUNCPTR(gst_cae_denoise_set_info);
  filter_class->transform_frame = GST_DEBUG_FUNCPTR(gst_cae_denoise_transform_frame);

  gst_type_mark_as_plugin_api(GST_TYPE_CAE_BACKEND, GstPluginAPIFlags(0));
  gst_type_mark_as_plugin_api(GST_TYPE_CAE_TARGET, GstPluginAPIFlags(0));
  GST_DEBUG_CATEGORY_INIT(gst_cae_denoise_debug, "caedenoise", 0, "CAE video denoiser");
}

static void gst_cae_denoise_init(GstCaeDenoise* self) {
  self->model = g_strdup(DEFAULT_MODEL);
  self->strength = DEFAULT_STRENGTH;
  self->tile_size = DEFAULT_TILE_SIZE;
  self->backend = GST_CAE_BACKEND_OPENCV;
  self->target = GST_CAE_TARGET_CPU;
  self->threads = DEFAULT_THREADS;
  self->chroma = DEFAULT_CHROMA;
  self->engine = nullptr;
  self->latency = 0;
  gst_base_transform_set_qos_enabled(GST_BASE_TRANSFORM(self), TRUE);
}
