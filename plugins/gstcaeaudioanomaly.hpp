// caeaudioanomaly: audio passes through unchanged; a machine-sound anomaly model (cae-train
// --task audio-anomaly) scores each analysis window and the element posts a message per window.
#pragma once

#include <gst/audio/gstaudiofilter.h>
#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_TYPE_CAE_AUDIO_ANOMALY (gst_cae_audio_anomaly_get_type())
G_DECLARE_FINAL_TYPE(GstCaeAudioAnomaly, gst_cae_audio_anomaly, GST, CAE_AUDIO_ANOMALY,
                     GstAudioFilter)

GST_ELEMENT_REGISTER_DECLARE(caeaudioanomaly);

G_END_DECLS
