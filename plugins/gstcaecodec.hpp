// What caeenc and caedec share (they derive from GstVideoEncoder and GstVideoDecoder, so the
// shared part is a set of helpers rather than a base class, as gstcaefilter.hpp foresees): the
// `model`, `quality` and `backend` properties, how a model value names its files, and frames
// as stride-aware OpenCV views.
#pragma once

#include <gst/gst.h>
#include <gst/video/video.h>

#include <opencv2/core.hpp>
#include <string>

#define GST_CAE_CODEC_DEFAULT_FAMILY "codec-fast"
#define GST_CAE_CODEC_DEFAULT_QUALITY 3
#define GST_CAE_CODEC_QUALITIES 4

struct GstCaeCodecSettings {
  std::string model = GST_CAE_CODEC_DEFAULT_FAMILY;  // a family of shipped models, or a file
  int quality = GST_CAE_CODEC_DEFAULT_QUALITY;
  std::string backend = "auto";
};

// Installs model (prop_model), quality (prop_quality) and backend (prop_backend) on a codec
// element class; `what` is "encoder" or "decoder" for the blurbs.
void gst_cae_codec_install_properties(GObjectClass* klass, guint prop_model, guint prop_quality,
                                      guint prop_backend, const char* what);
// get/set_property for those three; FALSE when prop_id is none of them.
gboolean gst_cae_codec_set_property(GstCaeCodecSettings& s, guint id, const GValue* v,
                                    guint prop_model, guint prop_quality, guint prop_backend);
gboolean gst_cae_codec_get_property(const GstCaeCodecSettings& s, guint id, GValue* v,
                                    guint prop_model, guint prop_quality, guint prop_backend);

// Whether the model value is a family of shipped models ("codec-fast") rather than a file.
bool gst_cae_codec_is_family(const std::string& model);
// The encoder file of a model value at a quality: a file as it is; a family's shipped model
// <family>-q<quality>.onnx (installed, else the source tree's models/).
std::string gst_cae_codec_model_file(const std::string& model, int quality);

// The picture of a mapped GRAY8 or RGB frame, without a copy (its rows at the frame's stride).
cv::Mat gst_cae_codec_view(GstVideoFrame* frame);
