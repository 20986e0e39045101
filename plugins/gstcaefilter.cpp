#include "gstcaefilter.hpp"

#include <gst/video/video.h>

#include <chrono>
#include <exception>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <system_error>

#include "error.hpp"
#include "gstcaeenums.hpp"
#include "infer/engine.hpp"

GST_DEBUG_CATEGORY_STATIC(gst_cae_filter_debug);
#define GST_CAT_DEFAULT gst_cae_filter_debug

#define DEFAULT_TILE_SIZE 0
#define DEFAULT_THREADS 0

enum {
  PROP_0,
  PROP_MODEL,
  PROP_TILE_SIZE,
  PROP_BACKEND,
  PROP_TARGET,
  PROP_THREADS,
  PROP_BACKEND_IN_USE,
  PROP_PRECISION,
  PROP_PRECISION_IN_USE
};

namespace {

// Lock discipline: properties, the model description and the latency under GST_OBJECT_LOCK;
// the engine under engine_lock, which is taken first when both are needed and never while
// holding the object lock.
struct State {
  // GST_OBJECT_LOCK.
  std::string model;  // the property; "" while unset (the shipped default)
  int tile_size = DEFAULT_TILE_SIZE;
  GstCaeBackend backend = GST_CAE_BACKEND_AUTO;
  GstCaeTarget target = GST_CAE_TARGET_CPU;
  GstCaePrecision precision = GST_CAE_PRECISION_AUTO;
  int threads = DEFAULT_THREADS;
  // Channels of the model the caps come from: the running engine's while started, else the
  // described file's (read when `model` is set and at NULL->READY); 0 unknown.
  std::string described;  // the file described_channels is of
  int described_channels = 0;
  std::string loaded;  // the file the running engine loaded; "" when stopped
  int loaded_channels = 0;
  std::string in_use;  // backendName of the running engine's backendInUse(); "" when stopped
  std::string precision_in_use;  // precisionName of its precisionInUse(); "" when stopped
  GstClockTime latency = 0;      // per-frame processing time reported to the LATENCY query

  std::mutex engine_lock;
  std::unique_ptr<cae::infer::Engine> engine;  // engine_lock; from start() to stop()
  // engine_lock: runPlanes' buffers and history for the engine (with it from start() to stop()),
  // and the last frame's timestamp and duration, to see gaps.
  std::unique_ptr<cae::infer::PlaneWorkspace> workspace;
  GstClockTime last_pts = GST_CLOCK_TIME_NONE;
  GstClockTime last_duration = GST_CLOCK_TIME_NONE;
};

}  // namespace

struct GstCaeFilterPrivate {
  State* s;
};

G_DEFINE_ABSTRACT_TYPE_WITH_PRIVATE(GstCaeFilter, gst_cae_filter, GST_TYPE_VIDEO_FILTER)

static State& state(GstCaeFilter* self) {
  return *static_cast<GstCaeFilterPrivate*>(gst_cae_filter_get_instance_private(self))->s;
}

static GstCaeFilterClass* klass_of(GstCaeFilter* self) { return GST_CAE_FILTER_GET_CLASS(self); }

static GParamSpec* backend_in_use_spec = nullptr;    // notified when the engine starts and stops
static GParamSpec* precision_in_use_spec = nullptr;  // the same

static const char* factory_name(GstCaeFilter* self) {
  GstElementFactory* f = gst_element_get_factory(GST_ELEMENT(self));
  return f ? GST_OBJECT_NAME(f) : G_OBJECT_TYPE_NAME(self);
}

std::string gst_cae_resolve_model(const gchar* prop, const char* default_name) {
  std::string installed = std::string(CAE_MODEL_DIR "/") + default_name;
  std::string m = prop ? prop : "";
  if (!m.empty() && m != installed) return m;
  std::error_code ec;
  if (std::filesystem::exists(installed, ec)) return installed;
  std::string src = std::string(CAE_SOURCE_MODEL_DIR "/") + default_name;
  if (std::filesystem::exists(src, ec)) return src;
  return installed;
}

std::vector<cae::infer::PlaneView> gst_cae_filter_planes(GstVideoFrame* f, int n) {
  std::vector<cae::infer::PlaneView> v;
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

// ---- the model: description for caps, engine for frames -------------------------------------

static std::string model_path(GstCaeFilter* self) {
  GST_OBJECT_LOCK(self);
  const std::string prop = state(self).model;
  GST_OBJECT_UNLOCK(self);
  return gst_cae_resolve_model(prop.c_str(), klass_of(self)->default_model);
}

// Reads the channels of the model `model` names (metadata and graph, not the network), so that
// caps queries offer only what it can take. An unreadable file leaves them unknown (all
// formats); start() then says what is wrong with it.
static void describe_model(GstCaeFilter* self) {
  const std::string path = model_path(self);
  int channels = 0;
  try {
    channels = cae::infer::describeModel(path).channels;
  } catch (const std::exception& e) {
    GST_DEBUG_OBJECT(self, "cannot describe model %s: %s", path.c_str(), e.what());
  }
  GST_OBJECT_LOCK(self);
  state(self).described = path;
  state(self).described_channels = channels;
  GST_OBJECT_UNLOCK(self);
  GST_DEBUG_OBJECT(self, "model %s reads %d channel(s)", path.c_str(), channels);
}

// The formats the model in use can take (a new reference), or nullptr when it is not known.
static GstCaps* model_caps(GstCaeFilter* self) {
  GstCaeFilterClass* k = klass_of(self);
  GST_OBJECT_LOCK(self);
  const State& s = state(self);
  const int c = !s.loaded.empty() ? s.loaded_channels : s.described_channels;
  GST_OBJECT_UNLOCK(self);
  if (c == 1 && k->gray_caps) return gst_caps_ref(k->gray_caps);
  if (c == 3 && k->rgb_caps) return gst_caps_ref(k->rgb_caps);
  return nullptr;
}

static void post_load_error(GstCaeFilter* self, const std::string& model) {
  GstCaeFilterClass* k = klass_of(self);
  try {
    throw;
  } catch (const cae::IoError& e) {
    GST_ELEMENT_ERROR(self, RESOURCE, NOT_FOUND,
                      ("Cannot read the %s model: %s", k->noun, e.what()),
                      ("set the model property to a .onnx file made by cae-train --task %s",
                       cae::onnx::taskName(k->task).c_str()));
  } catch (const cae::FormatError& e) {
    GST_ELEMENT_ERROR(self, RESOURCE, READ,
                      ("The %s model is not a valid ONNX model: %s", k->noun, e.what()),
                      ("model '%s'", model.c_str()));
  } catch (const std::exception& e) {
    GST_ELEMENT_ERROR(self, RESOURCE, SETTINGS, ("Cannot use the %s model: %s", k->noun, e.what()),
                      ("model '%s'", model.c_str()));
  }
}

static gboolean gst_cae_filter_start(GstBaseTransform* trans) {
  GstCaeFilter* self = GST_CAE_FILTER(trans);
  GstCaeFilterClass* k = klass_of(self);
  cae::infer::EngineOptions o;
  o.model = model_path(self);
  GST_OBJECT_LOCK(self);
  o.backend = gst_cae_to_backend(state(self).backend);
  o.target = gst_cae_to_target(state(self).target);
  o.precision = gst_cae_to_precision(state(self).precision);
  o.tileSize = state(self).tile_size;
  o.threads = state(self).threads;
  GST_OBJECT_UNLOCK(self);
  o.task = k->task;
  std::unique_ptr<cae::infer::Engine> e;
  try {
    e = std::make_unique<cae::infer::Engine>(o);
  } catch (const std::exception&) {
    post_load_error(self, o.model);
    return FALSE;
  }
  if (e->framesIn() > 1 && !k->temporal) {
    // A temporal model (cae.frames = K) reads the current and K-1 earlier frames, which only an
    // element that keeps them (caedenoise) has: refused here, not on every frame.
    GST_ELEMENT_ERROR(self, RESOURCE, SETTINGS,
                      ("'%s' is a temporal model (%d frames, cae.frames): %s runs single-frame "
                       "models only (caedenoise takes temporal ones)",
                       o.model.c_str(), e->framesIn(), factory_name(self)),
                      (nullptr));
    return FALSE;
  }
  if (k->model_loaded && !k->model_loaded(self, *e)) return FALSE;
  for (const std::string& w : e->warnings())
    GST_ELEMENT_WARNING(self, RESOURCE, SETTINGS, ("%s", w.c_str()), (nullptr));
  GST_INFO_OBJECT(self, "model %s: %d channel(s), format %s, receptive field %d, size multiple %d",
                  o.model.c_str(), e->channels(), e->info().format.c_str(),
                  e->info().receptiveField, e->graph().sizeMultiple);
  const std::string in_use = cae::infer::backendName(e->backendInUse());
  const std::string precision = cae::infer::precisionName(e->precisionInUse());
  GST_INFO_OBJECT(self,
                  "backend in use: %s in %s (asked for %s in %s, %d thread(s), 0: the default)",
                  in_use.c_str(), precision.c_str(), cae::infer::backendName(o.backend).c_str(),
                  cae::infer::precisionName(o.precision).c_str(), o.threads);
  // Also among the warnings posted above; here too so that a debug log says why in our category.
  if (!e->fallbackReason().empty())
    GST_WARNING_OBJECT(self, "backend %s not used: %s", cae::infer::backendName(o.backend).c_str(),
                       e->fallbackReason().c_str());
  const int channels = e->channels();
  {
    std::lock_guard<std::mutex> lock(state(self).engine_lock);
    state(self).engine = std::move(e);
    state(self).workspace = std::make_unique<cae::infer::PlaneWorkspace>();
    state(self).last_pts = state(self).last_duration = GST_CLOCK_TIME_NONE;
  }
  GST_OBJECT_LOCK(self);
  state(self).loaded = o.model;
  state(self).loaded_channels = channels;
  state(self).in_use = in_use;
  state(self).precision_in_use = precision;
  state(self).latency = 0;
  GST_OBJECT_UNLOCK(self);
  g_object_notify_by_pspec(G_OBJECT(self), backend_in_use_spec);  // gst-launch-1.0 -v shows it
  g_object_notify_by_pspec(G_OBJECT(self), precision_in_use_spec);
  return TRUE;
}

static gboolean gst_cae_filter_stop(GstBaseTransform* trans) {
  GstCaeFilter* self = GST_CAE_FILTER(trans);
  {
    std::lock_guard<std::mutex> lock(state(self).engine_lock);
    state(self).workspace.reset();
    state(self).engine.reset();
  }
  GST_OBJECT_LOCK(self);
  state(self).loaded.clear();
  state(self).loaded_channels = 0;
  const bool was_running = !state(self).in_use.empty();
  state(self).in_use.clear();
  state(self).precision_in_use.clear();
  GST_OBJECT_UNLOCK(self);
  if (was_running) {
    g_object_notify_by_pspec(G_OBJECT(self), backend_in_use_spec);
    g_object_notify_by_pspec(G_OBJECT(self), precision_in_use_spec);
  }
  return TRUE;
}

static GstStateChangeReturn gst_cae_filter_change_state(GstElement* element,
                                                        GstStateChange transition) {
  if (transition == GST_STATE_CHANGE_NULL_TO_READY) describe_model(GST_CAE_FILTER(element));
  return GST_ELEMENT_CLASS(gst_cae_filter_parent_class)->change_state(element, transition);
}

// ---- caps from the model ---------------------------------------------------------------------

// The elements do not convert: the other side gets these caps, narrowed to the formats the
// model can take, so that an asker that can convert (videoconvert) picks one of those. An asker
// that can give none of them gets the caps unnarrowed, and so does a link check (no filter: the
// model's formats first, then the rest): the element then says in an error why the model cannot
// take the format it got, instead of a bare not-negotiated.
static GstCaps* gst_cae_filter_transform_caps(GstBaseTransform* trans, GstPadDirection,
                                              GstCaps* caps, GstCaps* filter) {
  GstCaeFilter* self = GST_CAE_FILTER(trans);
  GstCaps* usable = model_caps(self);
  GstCaps* res = nullptr;
  if (!usable) {
    res = filter ? gst_caps_intersect_full(filter, caps, GST_CAPS_INTERSECT_FIRST)
                 : gst_caps_ref(caps);
  } else if (!filter) {
    res = gst_caps_merge(gst_caps_intersect_full(usable, caps, GST_CAPS_INTERSECT_FIRST),
                         gst_caps_ref(caps));
  } else {
    GstCaps* preferred = gst_caps_intersect_full(usable, caps, GST_CAPS_INTERSECT_FIRST);
    res = gst_caps_intersect_full(filter, preferred, GST_CAPS_INTERSECT_FIRST);
    gst_caps_unref(preferred);
    if (gst_caps_is_empty(res)) {
      gst_caps_unref(res);
      res = gst_caps_intersect_full(filter, caps, GST_CAPS_INTERSECT_FIRST);
    }
  }
  if (usable) gst_caps_unref(usable);
  GST_LOG_OBJECT(self, "%" GST_PTR_FORMAT " (filter %" GST_PTR_FORMAT ") -> %" GST_PTR_FORMAT,
                 static_cast<void*>(caps), static_cast<void*>(filter), static_cast<void*>(res));
  return res;
}

static bool check_info(GstCaeFilter* self, int channels, const GstVideoInfo* in,
                       const GstVideoInfo* out) {
  GstCaeFilterClass* k = klass_of(self);
  const char* fmt = gst_video_format_to_string(GST_VIDEO_INFO_FORMAT(in));
  if (GST_VIDEO_INFO_FORMAT(in) != GST_VIDEO_INFO_FORMAT(out) || in->width != out->width ||
      in->height != out->height) {
    GST_ELEMENT_ERROR(self, CORE, NEGOTIATION,
                      ("%s does not convert: input and output caps differ", factory_name(self)),
                      (nullptr));
    return false;
  }
  if (channels == 3 && !GST_VIDEO_INFO_IS_RGB(in)) {
    GST_ELEMENT_ERROR(
        self, CORE, NEGOTIATION,
        ("The %s model reads 3-channel (RGB) images; %s frames cannot feed it", k->noun, fmt),
        ("put videoconvert before %s, or use a gray model", factory_name(self)));
    return false;
  }
  if (channels != 1 && channels != 3) {
    GST_ELEMENT_ERROR(
        self, CORE, NEGOTIATION,
        ("The %s model reads %d channels; video frames give 1 or 3", k->noun, channels), (nullptr));
    return false;
  }
  return true;
}

// Runs the model twice on a blank frame of this format: the first run sets OpenCV's network up
// for the size, the second is what a frame costs. Call with the engine's lock held.
static bool time_model(GstCaeFilter* self, cae::infer::Engine& e, GstVideoInfo* info,
                       GstClockTime* took) {
  GstCaeFilterClass* k = klass_of(self);
  GstBuffer* a = gst_buffer_new_allocate(nullptr, info->size, nullptr);
  GstBuffer* b = gst_buffer_new_allocate(nullptr, info->size, nullptr);
  gst_buffer_memset(a, 0, 16, info->size);
  GstVideoFrame in{}, out{};
  bool ok = false;
  if (gst_video_frame_map(&in, info, a, GST_MAP_READ)) {
    if (gst_video_frame_map(&out, info, b, GST_MAP_WRITE)) {
      try {
        k->run_model(self, e, &in, &out);
        const auto t0 = std::chrono::steady_clock::now();
        k->run_model(self, e, &in, &out);
        *took = GstClockTime(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                 std::chrono::steady_clock::now() - t0)
                                 .count());
        ok = true;
      } catch (const std::exception& x) {
        GST_ELEMENT_ERROR(self, STREAM, FAILED, ("%s: %s", k->failure, x.what()),
                          ("%dx%d %s", info->width, info->height,
                           gst_video_format_to_string(GST_VIDEO_INFO_FORMAT(info))));
      }
      gst_video_frame_unmap(&out);
    }
    gst_video_frame_unmap(&in);
  }
  gst_buffer_unref(a);
  gst_buffer_unref(b);
  return ok;
}

// The stream is not continuous with the frames before this point: a temporal model's history
// starts again. Call with the engine's lock held.
static void restart_history(GstCaeFilter* self, const char* why) {
  State& s = state(self);
  if (s.workspace) {
    if (s.workspace->historySize() > 0) GST_DEBUG_OBJECT(self, "history restarts: %s", why);
    s.workspace->forget();
  }
  s.last_pts = s.last_duration = GST_CLOCK_TIME_NONE;
  if (klass_of(self)->stream_restarted) klass_of(self)->stream_restarted(self);
}

static gboolean gst_cae_filter_set_info(GstVideoFilter* filter, GstCaps*, GstVideoInfo* in_info,
                                        GstCaps*, GstVideoInfo* out_info) {
  GstCaeFilter* self = GST_CAE_FILTER(filter);
  GstClockTime took = 0;
  {
    std::lock_guard<std::mutex> lock(state(self).engine_lock);
    cae::infer::Engine* e = state(self).engine.get();
    if (!e || !check_info(self, e->channels(), in_info, out_info)) return FALSE;
    if (!time_model(self, *e, in_info, &took)) return FALSE;
    restart_history(self, "caps changed");
  }
  GST_OBJECT_LOCK(self);
  state(self).latency = took;
  GST_OBJECT_UNLOCK(self);
  GST_INFO_OBJECT(self, "%dx%d %s: %" GST_TIME_FORMAT " per frame", in_info->width, in_info->height,
                  gst_video_format_to_string(GST_VIDEO_INFO_FORMAT(in_info)), GST_TIME_ARGS(took));
  gst_element_post_message(GST_ELEMENT(self), gst_message_new_latency(GST_OBJECT(self)));
  return TRUE;
}

// ---- frames ----------------------------------------------------------------------------------

// The frames kept for a temporal model are the ones just before this buffer only if nothing
// came between: a DISCONT buffer, timestamps going back, or a gap of more than 1.5 frame
// durations (the buffers' own, else the caps' framerate; a frame dropped upstream or by QoS,
// which never reaches the element) start the history again. Called for the frames the element
// processes (a buffer QoS drops after before_transform never comes here), with the engine's lock
// held.
static void follow_stream(GstCaeFilter* self, GstBuffer* buf) {
  State& s = state(self);
  const GstClockTime pts = GST_BUFFER_PTS(buf);
  GstClockTime frame = s.last_duration;
  const GstVideoInfo& info = GST_VIDEO_FILTER(self)->in_info;
  if (!GST_CLOCK_TIME_IS_VALID(frame) && info.fps_n > 0 && info.fps_d > 0)
    frame = gst_util_uint64_scale_int(GST_SECOND, info.fps_d, info.fps_n);
  const char* why = nullptr;
  if (GST_BUFFER_IS_DISCONT(buf)) {
    why = "DISCONT buffer";
  } else if (GST_CLOCK_TIME_IS_VALID(pts) && GST_CLOCK_TIME_IS_VALID(s.last_pts)) {
    if (pts < s.last_pts)
      why = "timestamps went back";
    else if (GST_CLOCK_TIME_IS_VALID(frame) && frame > 0 && pts - s.last_pts > frame + frame / 2)
      why = "timestamp gap (a frame dropped)";
  }
  if (why) restart_history(self, why);
  s.last_pts = pts;
  s.last_duration = GST_BUFFER_DURATION(buf);
}

template <class Work>
static GstFlowReturn with_engine(GstCaeFilter* self, Work work) {
  std::lock_guard<std::mutex> lock(state(self).engine_lock);
  if (!state(self).engine) return GST_FLOW_NOT_NEGOTIATED;
  try {
    return work(*state(self).engine);
  } catch (const std::exception& e) {
    GST_ELEMENT_ERROR(self, STREAM, FAILED, ("%s: %s", klass_of(self)->failure, e.what()),
                      (nullptr));
    return GST_FLOW_ERROR;
  }
}

static GstFlowReturn gst_cae_filter_transform_frame(GstVideoFilter* filter, GstVideoFrame* in,
                                                    GstVideoFrame* out) {
  GstCaeFilter* self = GST_CAE_FILTER(filter);
  return with_engine(self, [&](cae::infer::Engine& e) {
    follow_stream(self, in->buffer);
    return klass_of(self)->process(self, e, in, out);
  });
}

static GstFlowReturn gst_cae_filter_transform_frame_ip(GstVideoFilter* filter,
                                                       GstVideoFrame* frame) {
  GstCaeFilter* self = GST_CAE_FILTER(filter);
  return with_engine(self, [&](cae::infer::Engine& e) {
    follow_stream(self, frame->buffer);
    return klass_of(self)->process_ip(self, e, frame);
  });
}

cae::infer::PlaneWorkspace& gst_cae_filter_workspace(GstCaeFilter* self) {
  if (!state(self).workspace) throw cae::InvalidArgument("no workspace: the element is stopped");
  return *state(self).workspace;
}

// Controlled properties follow their control bindings frame by frame.
static void gst_cae_filter_before_transform(GstBaseTransform* trans, GstBuffer* buf) {
  const GstClockTime st =
      gst_segment_to_stream_time(&trans->segment, GST_FORMAT_TIME, GST_BUFFER_TIMESTAMP(buf));
  if (GST_CLOCK_TIME_IS_VALID(st)) gst_object_sync_values(GST_OBJECT(trans), st);
}

// A flush or a new segment: what comes next does not follow what came before.
static gboolean gst_cae_filter_sink_event(GstBaseTransform* trans, GstEvent* event) {
  const GstEventType t = GST_EVENT_TYPE(event);
  if (t == GST_EVENT_FLUSH_STOP || t == GST_EVENT_SEGMENT) {
    GstCaeFilter* self = GST_CAE_FILTER(trans);
    std::lock_guard<std::mutex> lock(state(self).engine_lock);
    restart_history(self, t == GST_EVENT_FLUSH_STOP ? "flush" : "new segment");
  }
  return GST_BASE_TRANSFORM_CLASS(gst_cae_filter_parent_class)->sink_event(trans, event);
}

// Adds the processing time measured at negotiation to an answered LATENCY query.
static gboolean gst_cae_filter_query(GstBaseTransform* trans, GstPadDirection dir, GstQuery* q) {
  GstCaeFilter* self = GST_CAE_FILTER(trans);
  if (!GST_BASE_TRANSFORM_CLASS(gst_cae_filter_parent_class)->query(trans, dir, q)) return FALSE;
  if (GST_QUERY_TYPE(q) != GST_QUERY_LATENCY || dir != GST_PAD_SRC) return TRUE;
  GST_OBJECT_LOCK(self);
  const GstClockTime ours = state(self).latency;
  GST_OBJECT_UNLOCK(self);
  gboolean live;
  GstClockTime min, max;
  gst_query_parse_latency(q, &live, &min, &max);
  min += ours;
  if (GST_CLOCK_TIME_IS_VALID(max)) max += ours;
  gst_query_set_latency(q, live, min, max);
  GST_DEBUG_OBJECT(self, "latency: ours %" GST_TIME_FORMAT, GST_TIME_ARGS(ours));
  return TRUE;
}

// ---- GObject ---------------------------------------------------------------------------------

static void gst_cae_filter_set_property(GObject* object, guint id, const GValue* value,
                                        GParamSpec* pspec) {
  GstCaeFilter* self = GST_CAE_FILTER(object);
  State& s = state(self);
  GST_OBJECT_LOCK(self);
  switch (id) {
    case PROP_MODEL: {
      const gchar* m = g_value_get_string(value);
      s.model = m ? m : "";
      break;
    }
    case PROP_TILE_SIZE:
      s.tile_size = g_value_get_int(value);
      break;
    case PROP_BACKEND:
      s.backend = GstCaeBackend(g_value_get_enum(value));
      break;
    case PROP_TARGET:
      s.target = GstCaeTarget(g_value_get_enum(value));
      break;
    case PROP_PRECISION:
      s.precision = GstCaePrecision(g_value_get_enum(value));
      break;
    case PROP_THREADS:
      s.threads = g_value_get_int(value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(object, id, pspec);
  }
  GST_OBJECT_UNLOCK(self);
  if (id == PROP_MODEL) describe_model(self);
}

static void gst_cae_filter_get_property(GObject* object, guint id, GValue* value,
                                        GParamSpec* pspec) {
  GstCaeFilter* self = GST_CAE_FILTER(object);
  const State& s = state(self);
  if (id == PROP_MODEL) {  // the file loaded while started, else the one start() would load
    GST_OBJECT_LOCK(self);
    const std::string loaded = s.loaded;
    GST_OBJECT_UNLOCK(self);
    g_value_set_string(value, (!loaded.empty() ? loaded : model_path(self)).c_str());
    return;
  }
  GST_OBJECT_LOCK(self);
  switch (id) {
    case PROP_TILE_SIZE:
      g_value_set_int(value, s.tile_size);
      break;
    case PROP_BACKEND:
      g_value_set_enum(value, s.backend);
      break;
    case PROP_TARGET:
      g_value_set_enum(value, s.target);
      break;
    case PROP_PRECISION:
      g_value_set_enum(value, s.precision);
      break;
    case PROP_PRECISION_IN_USE:
      g_value_set_string(value, s.precision_in_use.c_str());
      break;
    case PROP_THREADS:
      g_value_set_int(value, s.threads);
      break;
    case PROP_BACKEND_IN_USE:
      g_value_set_string(value, s.in_use.c_str());
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(object, id, pspec);
  }
  GST_OBJECT_UNLOCK(self);
}

static void gst_cae_filter_constructed(GObject* object) {
  G_OBJECT_CLASS(gst_cae_filter_parent_class)->constructed(object);
  // Elements that transform in place (analysers) keep their input buffer.
  gst_base_transform_set_in_place(GST_BASE_TRANSFORM(object),
                                  klass_of(GST_CAE_FILTER(object))->process_ip != nullptr);
}

static void gst_cae_filter_finalize(GObject* object) {
  delete &state(GST_CAE_FILTER(object));
  G_OBJECT_CLASS(gst_cae_filter_parent_class)->finalize(object);
}

static void install_properties(GObjectClass* gobject_class) {
  const auto rw_ready =
      GParamFlags(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY);
  g_object_class_install_property(
      gobject_class, PROP_MODEL,
      g_param_spec_string("model", "Model",
                          "Model file (.onnx made by cae-train for this element's task). Unset: "
                          "the element's shipped model from " CAE_MODEL_DIR
                          ", else from the source tree's models/ (uninstalled builds). Reads "
                          "back the file that is loaded, or that starting would load",
                          nullptr, rw_ready));
  g_object_class_install_property(
      gobject_class, PROP_TILE_SIZE,
      g_param_spec_int("tile-size", "Tile size",
                       "Output pixels per tile side; tiles overlap by the model's receptive "
                       "field so no seams show. 0: whole frames up to 2048 pixels a side, "
                       "512-pixel tiles beyond. Sizes below the model's smallest useful tile "
                       "(its overlap margin, at least 16) are raised to it, with a warning",
                       0, 16384, DEFAULT_TILE_SIZE, rw_ready));
  g_object_class_install_property(
      gobject_class, PROP_BACKEND,
      g_param_spec_enum("backend", "Backend",
                        "Inference backend. auto: oneDNN where built and it covers the model, "
                        "else OpenCV DNN (with a warning saying why); onednn: the same, asked "
                        "for explicitly; opencv: OpenCV DNN always (the reference). "
                        "backend-in-use reads back the one that runs",
                        GST_TYPE_CAE_BACKEND, GST_CAE_BACKEND_AUTO, rw_ready));
  g_object_class_install_property(
      gobject_class, PROP_TARGET,
      g_param_spec_enum("target", "Target", "OpenCV DNN's target device (oneDNN runs on the CPU)",
                        GST_TYPE_CAE_TARGET, GST_CAE_TARGET_CPU, rw_ready));
  g_object_class_install_property(
      gobject_class, PROP_THREADS,
      g_param_spec_int("threads", "Threads",
                       "Inference threads. oneDNN: OpenMP threads of this element's own "
                       "inference (0: oneDNN backend's default); OpenCV DNN: cv::setNumThreads, "
                       "which is process-wide (0: leave OpenCV's setting, all cores by default)",
                       0, 256, DEFAULT_THREADS, rw_ready));
  backend_in_use_spec = g_param_spec_string(
      "backend-in-use", "Backend in use",
      "The backend running the model (onednn, opencv or cuda) once it is loaded (PAUSED and "
      "up), empty before; differs from backend when auto chose, or when oneDNN could not run "
      "the model",
      "", GParamFlags(G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));
  g_object_class_install_property(gobject_class, PROP_BACKEND_IN_USE, backend_in_use_spec);
  g_object_class_install_property(
      gobject_class, PROP_PRECISION,
      g_param_spec_enum(
          "precision", "Precision",
          "Arithmetic of the oneDNN backend's convolutions. auto: bf16 for denoising models where "
          "the CPU has bf16 instructions (AVX512_BF16, AMX): about twice f32's speed, outputs "
          "within ~2 steps of 8 bits of f32's (the stem and the output stay f32); f32 for anomaly "
          "models (their thresholds are calibrated in f32) and elsewhere. f32: the OpenCV DNN "
          "reference's arithmetic, equal to it within 1e-5. bf16: also where the CPU only "
          "emulates it (slower than f32). OpenCV DNN runs f32 (its half precisions are targets). "
          "precision-in-use reads back what runs",
          GST_TYPE_CAE_PRECISION, GST_CAE_PRECISION_AUTO, rw_ready));
  precision_in_use_spec = g_param_spec_string(
      "precision-in-use", "Precision in use",
      "What the model runs in (f32 or bf16) once it is loaded (PAUSED and up), empty before", "",
      GParamFlags(G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));
  g_object_class_install_property(gobject_class, PROP_PRECISION_IN_USE, precision_in_use_spec);
}

static void gst_cae_filter_class_init(GstCaeFilterClass* klass) {
  GObjectClass* gobject_class = G_OBJECT_CLASS(klass);
  GstElementClass* element_class = GST_ELEMENT_CLASS(klass);
  GstBaseTransformClass* trans_class = GST_BASE_TRANSFORM_CLASS(klass);
  GstVideoFilterClass* filter_class = GST_VIDEO_FILTER_CLASS(klass);

  gobject_class->set_property = gst_cae_filter_set_property;
  gobject_class->get_property = gst_cae_filter_get_property;
  gobject_class->constructed = gst_cae_filter_constructed;
  gobject_class->finalize = gst_cae_filter_finalize;
  install_properties(gobject_class);

  element_class->change_state = GST_DEBUG_FUNCPTR(gst_cae_filter_change_state);
  trans_class->start = GST_DEBUG_FUNCPTR(gst_cae_filter_start);
  trans_class->stop = GST_DEBUG_FUNCPTR(gst_cae_filter_stop);
  trans_class->query = GST_DEBUG_FUNCPTR(gst_cae_filter_query);
  trans_class->transform_caps = GST_DEBUG_FUNCPTR(gst_cae_filter_transform_caps);
  trans_class->before_transform = GST_DEBUG_FUNCPTR(gst_cae_filter_before_transform);
  trans_class->sink_event = GST_DEBUG_FUNCPTR(gst_cae_filter_sink_event);
  filter_class->set_info = GST_DEBUG_FUNCPTR(gst_cae_filter_set_info);
  filter_class->transform_frame = GST_DEBUG_FUNCPTR(gst_cae_filter_transform_frame);
  filter_class->transform_frame_ip = GST_DEBUG_FUNCPTR(gst_cae_filter_transform_frame_ip);

  gst_type_mark_as_plugin_api(GST_TYPE_CAE_FILTER, GstPluginAPIFlags(0));
  gst_type_mark_as_plugin_api(GST_TYPE_CAE_BACKEND, GstPluginAPIFlags(0));
  gst_type_mark_as_plugin_api(GST_TYPE_CAE_TARGET, GstPluginAPIFlags(0));
  gst_type_mark_as_plugin_api(GST_TYPE_CAE_PRECISION, GstPluginAPIFlags(0));
  GST_DEBUG_CATEGORY_INIT(gst_cae_filter_debug, "caefilter", 0, "cae elements' base");
}

static void gst_cae_filter_init(GstCaeFilter* self) {
  static_cast<GstCaeFilterPrivate*>(gst_cae_filter_get_instance_private(self))->s = new State();
  gst_base_transform_set_qos_enabled(GST_BASE_TRANSFORM(self), TRUE);
}

static GstCaps* video_caps(const gchar* formats) {
  const std::string s = std::string("video/x-raw, format=(string){ ") + formats +
                        " }, width=" GST_VIDEO_SIZE_RANGE ", height=" GST_VIDEO_SIZE_RANGE
                        ", framerate=" GST_VIDEO_FPS_RANGE;
  GstCaps* caps = gst_caps_from_string(s.c_str());
  GST_MINI_OBJECT_FLAG_SET(caps, GST_MINI_OBJECT_FLAG_MAY_BE_LEAKED);  // lives with the class
  return caps;
}

void gst_cae_filter_class_set_formats(GstCaeFilterClass* klass, const gchar* gray_formats,
                                      const gchar* rgb_formats) {
  klass->gray_caps = video_caps(gray_formats);
  klass->rgb_caps = video_caps(rgb_formats);
  GstCaps* all = gst_caps_merge(gst_caps_ref(klass->gray_caps), gst_caps_ref(klass->rgb_caps));
  all = gst_caps_simplify(all);
  GstElementClass* element_class = GST_ELEMENT_CLASS(klass);
  gst_element_class_add_pad_template(
      element_class, gst_pad_template_new("sink", GST_PAD_SINK, GST_PAD_ALWAYS, all));
  gst_element_class_add_pad_template(element_class,
                                     gst_pad_template_new("src", GST_PAD_SRC, GST_PAD_ALWAYS, all));
  gst_caps_unref(all);
}
