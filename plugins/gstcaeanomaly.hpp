// caeanomaly: video in, the same video out; flags frames an anomaly model (cae-train --task
// anomaly) reconstructs badly, with a bus message, ROI meta per region and an optional overlay.
#pragma once

#include <gst/gst.h>

#include "gstcaefilter.hpp"

G_BEGIN_DECLS

#define GST_TYPE_CAE_ANOMALY (gst_cae_anomaly_get_type())
G_DECLARE_FINAL_TYPE(GstCaeAnomaly, gst_cae_anomaly, GST, CAE_ANOMALY, GstCaeFilter)

GST_ELEMENT_REGISTER_DECLARE(caeanomaly);

G_END_DECLS
