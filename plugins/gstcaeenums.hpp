// Enums shared by the cae elements (registered once, marked as plugin API for gst-inspect).
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

// Nicks are cae::infer::backendName / targetName / precisionName. The numeric values are the
// element's own (opencv and cuda keep the values they had before onednn and auto came);
// gstcaefilter.cpp maps them to cae::infer::Backend / Target by name of value, never by cast.
typedef enum {
  GST_CAE_BACKEND_OPENCV,
  GST_CAE_BACKEND_CUDA,
  GST_CAE_BACKEND_ONEDNN,
  GST_CAE_BACKEND_AUTO
} GstCaeBackend;
typedef enum {
  GST_CAE_TARGET_CPU,
  GST_CAE_TARGET_OPENCL,
  GST_CAE_TARGET_OPENCL_FP16,
  GST_CAE_TARGET_CUDA,
  GST_CAE_TARGET_CUDA_FP16
} GstCaeTarget;

typedef enum {
  GST_CAE_PRECISION_F32,
  GST_CAE_PRECISION_BF16,
  GST_CAE_PRECISION_AUTO
} GstCaePrecision;

GType gst_cae_backend_get_type(void);
GType gst_cae_target_get_type(void);
GType gst_cae_precision_get_type(void);
#define GST_TYPE_CAE_BACKEND (gst_cae_backend_get_type())
#define GST_TYPE_CAE_TARGET (gst_cae_target_get_type())
#define GST_TYPE_CAE_PRECISION (gst_cae_precision_get_type())

G_END_DECLS

#ifdef __cplusplus
#include "infer/engine.hpp"

// The element's enum values as cae::infer's (by value, never by cast).
cae::infer::Backend gst_cae_to_backend(GstCaeBackend b);
cae::infer::Target gst_cae_to_target(GstCaeTarget t);
cae::infer::Precision gst_cae_to_precision(GstCaePrecision p);
#endif
