// caedenoise: video in, video out; a learned denoiser (cae-train --task denoise) per frame.
#pragma once

#include <gst/gst.h>

#include "gstcaefilter.hpp"

G_BEGIN_DECLS

#define GST_TYPE_CAE_DENOISE (gst_cae_denoise_get_type())
G_DECLARE_FINAL_TYPE(GstCaeDenoise, gst_cae_denoise, GST, CAE_DENOISE, GstCaeFilter)

GST_ELEMENT_REGISTER_DECLARE(caedenoise);

G_END_DECLS
