// Enums shared by the cae elements (registered once, marked as plugin API for gst-inspect).
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

// Values match cae::infer::Backend / cae::infer::Target.
typedef enum { GST_CAE_BACKEND_OPENCV, GST_CAE_BACKEND_CUDA } GstCaeBackend;
typedef enum {
  GST_CAE_TARGET_CPU,
  GST_CAE_TARGET_OPENCL,
  GST_CAE_TARGET_OPENCL_FP16,
  GST_CAE_TARGET_CUDA,
  GST_CAE_TARGET_CUDA_FP16
} GstCaeTarget;

GType gst_cae_backend_get_type(void);
GType gst_cae_target_get_type(void);
#define GST_TYPE_CAE_BACKEND (gst_cae_backend_get_type())
#define GST_TYPE_CAE_TARGET (gst_cae_target_get_type())

G_END_DECLS
