// caeaudiodenoise: audio in, audio out; a learned speech denoiser (cae-train --task
// audio-denoise) per channel, through core/audio/denoiser.
#pragma once

#include <gst/audio/gstaudiofilter.h>
#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_TYPE_CAE_AUDIO_DENOISE (gst_cae_audio_denoise_get_type())
G_DECLARE_FINAL_TYPE(GstCaeAudioDenoise, gst_cae_audio_denoise, GST, CAE_AUDIO_DENOISE,
                     GstAudioFilter)

GST_ELEMENT_REGISTER_DECLARE(caeaudiodenoise);

G_END_DECLS
