#include "gstcaecommon.hpp"

#include <filesystem>
#include <system_error>

std::string gst_cae_resolve_model(const gchar* prop, const char* default_name) {
  const std::string installed = std::string(CAE_MODEL_DIR "/") + default_name;
  const std::string m = prop ? prop : "";
  if (!m.empty() && m != installed) return m;
  std::error_code ec;
  if (std::filesystem::exists(installed, ec)) return installed;
  const std::string src = std::string(CAE_SOURCE_MODEL_DIR "/") + default_name;
  if (std::filesystem::exists(src, ec)) return src;
  return installed;
}

void gst_cae_add_latency(GstQuery* q, GstClockTime ours) {
  gboolean live;
  GstClockTime min, max;
  gst_query_parse_latency(q, &live, &min, &max);
  min += ours;
  if (GST_CLOCK_TIME_IS_VALID(max)) max += ours;
  gst_query_set_latency(q, live, min, max);
}
