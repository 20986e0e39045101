// The GStreamer plugin `cae`: convolutional-autoencoder stages for video and audio streams.
#include <gst/gst.h>

#include "gstcaeanomaly.hpp"
#include "gstcaeaudioanomaly.hpp"
#include "gstcaeaudiodenoise.hpp"
#include "gstcaedec.hpp"
#include "gstcaedenoise.hpp"
#include "gstcaeenc.hpp"

static gboolean plugin_init(GstPlugin* plugin) {
  gboolean ok = FALSE;
  ok |= GST_ELEMENT_REGISTER(caedenoise, plugin);
  ok |= GST_ELEMENT_REGISTER(caeanomaly, plugin);
  ok |= GST_ELEMENT_REGISTER(caeenc, plugin);
  ok |= GST_ELEMENT_REGISTER(caedec, plugin);
  ok |= GST_ELEMENT_REGISTER(caeaudiodenoise, plugin);
  ok |= GST_ELEMENT_REGISTER(caeaudioanomaly, plugin);
  return ok;
}

GST_PLUGIN_DEFINE(GST_VERSION_MAJOR, GST_VERSION_MINOR, cae,
                  "Convolutional-autoencoder stages: denoising, anomaly flagging, learned "
                  "compression",
                  plugin_init, CAE_VERSION, "LGPL", "cae", "https://example.invalid/cae")
