// caedec: learned-codec frames (video/x-cae) in, raw video out.
#pragma once

#include <gst/gst.h>
#include <gst/video/gstvideodecoder.h>

G_BEGIN_DECLS

#define GST_TYPE_CAE_DEC (gst_cae_dec_get_type())
G_DECLARE_FINAL_TYPE(GstCaeDec, gst_cae_dec, GST, CAE_DEC, GstVideoDecoder)

GST_ELEMENT_REGISTER_DECLARE(caedec);

G_END_DECLS
