#include "gstcaecodec.hpp"

#include <filesystem>

#include "gstcaefilter.hpp"

void gst_cae_codec_install_properties(GObjectClass* klass, guint prop_model, guint prop_quality,
                                      guint prop_backend, const char* what) {
  const auto flags =
      GParamFlags(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY);
  g_object_class_install_property(
      klass, prop_model,
      g_param_spec_string("model", "Model",
                          "A family of shipped codecs (codec-fast, codec-hq; the file is "
                          "<family>-q<quality>.onnx) or the encoder file X.onnx of a codec made "
                          "by cae-train --task compress (X.decoder.onnx beside it)",
                          GST_CAE_CODEC_DEFAULT_FAMILY, flags));
  g_object_class_install_property(
      klass, prop_quality,
      g_param_spec_int("quality", "Quality",
                       what[0] == 'e'
                           ? "Rate point of the model family: 1 (fewest bits) .. 4 (best pictures)"
                           : "Rate point of a model family, used until a frame names its own",
                       1, GST_CAE_CODEC_QUALITIES, GST_CAE_CODEC_DEFAULT_QUALITY, flags));
  g_object_class_install_property(
      klass, prop_backend,
      g_param_spec_string("backend", "Backend",
                          "auto (oneDNN where it covers the model, else OpenCV DNN), opencv or "
                          "onednn",
                          "auto", flags));
}

gboolean gst_cae_codec_set_property(GstCaeCodecSettings& s, guint id, const GValue* v,
                                    guint prop_model, guint prop_quality, guint prop_backend) {
  if (id == prop_model) {
    const gchar* m = g_value_get_string(v);
    s.model = m && *m ? m : GST_CAE_CODEC_DEFAULT_FAMILY;
  } else if (id == prop_quality) {
    s.quality = g_value_get_int(v);
  } else if (id == prop_backend) {
    const gchar* b = g_value_get_string(v);
    s.backend = b && *b ? b : "auto";
  } else {
    return FALSE;
  }
  return TRUE;
}

gboolean gst_cae_codec_get_property(const GstCaeCodecSettings& s, guint id, GValue* v,
                                    guint prop_model, guint prop_quality, guint prop_backend) {
  if (id == prop_model)
    g_value_set_string(v, s.model.c_str());
  else if (id == prop_quality)
    g_value_set_int(v, s.quality);
  else if (id == prop_backend)
    g_value_set_string(v, s.backend.c_str());
  else
    return FALSE;
  return TRUE;
}

bool gst_cae_codec_is_family(const std::string& model) {
  return std::filesystem::path(model).extension() != ".onnx";
}

std::string gst_cae_codec_model_file(const std::string& model, int quality) {
  if (!gst_cae_codec_is_family(model)) return model;
  const std::string name = model + "-q" + std::to_string(quality) + ".onnx";
  return gst_cae_resolve_model(nullptr, name.c_str());
}

cv::Mat gst_cae_codec_view(GstVideoFrame* frame) {
  const int w = GST_VIDEO_FRAME_WIDTH(frame), h = GST_VIDEO_FRAME_HEIGHT(frame);
  const bool rgb = GST_VIDEO_FRAME_FORMAT(frame) == GST_VIDEO_FORMAT_RGB;
  return cv::Mat(h, w, rgb ? CV_8UC3 : CV_8UC1, GST_VIDEO_FRAME_PLANE_DATA(frame, 0),
                 std::size_t(GST_VIDEO_FRAME_PLANE_STRIDE(frame, 0)));
}
