// caeenc: raw video in, learned-codec frames (video/x-cae) out; every frame intra-coded.
#pragma once

#include <gst/gst.h>
#include <gst/video/gstvideoencoder.h>

G_BEGIN_DECLS

#define GST_TYPE_CAE_ENC (gst_cae_enc_get_type())
G_DECLARE_FINAL_TYPE(GstCaeEnc, gst_cae_enc, GST, CAE_ENC, GstVideoEncoder)

GST_ELEMENT_REGISTER_DECLARE(caeenc);

G_END_DECLS
