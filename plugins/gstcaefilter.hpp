// GstCaeFilter: the abstract base of the cae video elements, in the shape of gst-plugins-bad's
// GstOpencvVideoFilter over GstVideoFilter: the base does what every element does the same way,
// the element does its transform.
//
// The base owns: the engine (loaded in start(), freed in stop(); used only under its lock, by
// the streaming thread) with its runPlanes workspace (buffers kept across frames, a temporal
// model's history, started again where the stream is not continuous), the shared properties (model,
// tile-size, backend, target, threads, and the read-only backend-in-use), the default-model lookup,
// one clear GST_ELEMENT_ERROR when a model cannot be used, caps from the model (only the formats
// the model can take), the LATENCY measurement and query, QoS, and the per-buffer sync of
// controlled properties. A subclass sets in its class_init only what is its own, and installs its
// own properties:
//
//   GstCaeFilterClass* cae = GST_CAE_FILTER_CLASS(klass);
//   cae->task = cae::onnx::Task::Denoise;  cae->default_model = "denoise-fast.onnx";
//   cae->noun = "denoising";  cae->failure = "Denoising failed";
//   gst_cae_filter_class_set_formats(cae, "GRAY8, GRAY16_LE, I420, NV12, RGB", "RGB");
//   cae->run_model = ...;  cae->process = ...;  // or process_ip (in place); model_loaded optional
//   cae->temporal = TRUE;  // optional: the element runs temporal models (cae.frames > 1)
//
// An element of another kind (a codec pair, audio stages) keeps the same split: a base per
// GStreamer base class owning engine, shared properties and caps from the model.
#pragma once

#include <gst/gst.h>
#include <gst/video/gstvideofilter.h>

#include <vector>

#include "infer/planes.hpp"
#include "onnx/metadata.hpp"

namespace cae::infer {
class Engine;
}

G_BEGIN_DECLS

#define GST_TYPE_CAE_FILTER (gst_cae_filter_get_type())
G_DECLARE_DERIVABLE_TYPE(GstCaeFilter, gst_cae_filter, GST, CAE_FILTER, GstVideoFilter)

struct _GstCaeFilterClass {
  GstVideoFilterClass parent_class;

  // What the element is; set in the subclass's class_init.
  cae::onnx::Task task;        // a model made for another task is refused at start()
  const gchar* default_model;  // the shipped model's file name, used while `model` is unset
  const gchar* noun;           // "Cannot read the <noun> model: ..."
  const gchar* failure;        // "<failure>: <why>" when the model fails on a frame
  GstCaps* gray_caps;          // formats a 1-channel model can take, preferred first
  GstCaps* rgb_caps;  // formats a 3-channel model can take (gst_cae_filter_class_set_formats)
  // TRUE: the element runs temporal models (cae.frames = K > 1) through the workspace
  // (gst_cae_filter_workspace), whose history of earlier frames the base starts again wherever
  // the stream is not continuous: start, caps change, FLUSH_STOP, a new segment, a DISCONT
  // buffer, timestamps going back or jumping by more than 1.5 frame durations (a frame dropped
  // upstream or by QoS). FALSE: such a model is refused at start().
  gboolean temporal;

  // Optional. Reads and checks what is the element's own in a model just loaded (start(), before
  // any frame). Returning FALSE after posting a GST_ELEMENT_ERROR refuses the model.
  gboolean (*model_loaded)(GstCaeFilter* self, const cae::infer::Engine& engine);
  // The model's work on one frame, without side effects (no message, meta or counter), writing
  // `out` (a scratch frame of the same format) if it writes. Run at negotiation: the first run
  // sets the network up, the second is timed for the LATENCY query. May throw.
  void (*run_model)(GstCaeFilter* self, cae::infer::Engine& engine, GstVideoFrame* in,
                    GstVideoFrame* out);
  // The per-frame work, with the engine's lock held; set one: in -> out, or in place. May throw
  // (the base posts "<failure>: <why>").
  GstFlowReturn (*process)(GstCaeFilter* self, cae::infer::Engine& engine, GstVideoFrame* in,
                           GstVideoFrame* out);
  GstFlowReturn (*process_ip)(GstCaeFilter* self, cae::infer::Engine& engine, GstVideoFrame* frame);
  // Optional. The stream is not continuous with the frames before (the points listed at
  // `temporal`: caps change, FLUSH_STOP, a new segment, a DISCONT buffer, timestamps going back
  // or jumping): per-stream state kept across frames starts again. With the engine's lock held.
  void (*stream_restarted)(GstCaeFilter* self);
};

// Pad templates for the union of the two format lists ("GRAY8, GRAY16_LE, ...": video/x-raw
// format names), and the caps the base offers for gray and for RGB models.
void gst_cae_filter_class_set_formats(GstCaeFilterClass* klass, const gchar* gray_formats,
                                      const gchar* rgb_formats);

G_END_DECLS

// The running engine's runPlanes workspace (core/infer/planes.hpp: blobs kept across frames and
// a temporal model's history), from start() to stop(); only with the engine's lock held, i.e.
// inside process / process_ip. run_model must not use it (it would put its scratch frame into
// the history).
cae::infer::PlaneWorkspace& gst_cae_filter_workspace(GstCaeFilter* self);

// Components 0..n-1 of a mapped frame as stride-aware plane views (R, G, B of RGB types; Y, U,
// V of YUV; the gray plane of GRAY formats).
std::vector<cae::infer::PlaneView> gst_cae_filter_planes(GstVideoFrame* frame, int n);

// The model file for a `model` value: the value itself, or while it is unset the shipped
// default_name, installed (CAE_MODEL_DIR) if there, else the source tree's models/ (uninstalled
// builds), else the installed path (for the error).
std::string gst_cae_resolve_model(const gchar* prop, const char* default_name);
