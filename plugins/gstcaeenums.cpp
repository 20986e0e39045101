#include "gstcaeenums.hpp"

GType gst_cae_backend_get_type(void) {
  static GType type = 0;
  // Listed as gst-inspect-1.0 shows them: the default first.
  static const GEnumValue values[] = {
      {GST_CAE_BACKEND_AUTO, "oneDNN where built and it covers the model, else OpenCV DNN", "auto"},
      {GST_CAE_BACKEND_ONEDNN,
       "oneDNN (CPU target only); a model it does not cover runs on OpenCV DNN, with a warning",
       "onednn"},
      {GST_CAE_BACKEND_OPENCV, "OpenCV DNN's own backend", "opencv"},
      {GST_CAE_BACKEND_CUDA, "CUDA (only where OpenCV was built with it)", "cuda"},
      {0, nullptr, nullptr}};
  if (g_once_init_enter(&type))
    g_once_init_leave(&type, g_enum_register_static("GstCaeBackend", values));
  return type;
}

GType gst_cae_target_get_type(void) {
  static GType type = 0;
  static const GEnumValue values[] = {
      {GST_CAE_TARGET_CPU, "CPU", "cpu"},
      {GST_CAE_TARGET_OPENCL, "OpenCL (a GPU, or the CPU through pocl)", "opencl"},
      {GST_CAE_TARGET_OPENCL_FP16, "OpenCL, half precision", "opencl-fp16"},
      {GST_CAE_TARGET_CUDA, "CUDA (backend=cuda)", "cuda"},
      {GST_CAE_TARGET_CUDA_FP16, "CUDA, half precision (backend=cuda)", "cuda-fp16"},
      {0, nullptr, nullptr}};
  if (g_once_init_enter(&type))
    g_once_init_leave(&type, g_enum_register_static("GstCaeTarget", values));
  return type;
}

GType gst_cae_precision_get_type(void) {
  static GType type = 0;
  static const GEnumValue values[] = {
      {GST_CAE_PRECISION_F32, "32-bit float everywhere (the OpenCV DNN reference's arithmetic)",
       "f32"},
      {GST_CAE_PRECISION_BF16,
       "oneDNN's convolutions in bfloat16 (emulated, slower, on CPUs without bf16 instructions)",
       "bf16"},
      {GST_CAE_PRECISION_AUTO,
       "bf16 for denoisers on oneDNN where the CPU has bf16 instructions, else f32", "auto"},
      {0, nullptr, nullptr}};
  if (g_once_init_enter(&type))
    g_once_init_leave(&type, g_enum_register_static("GstCaePrecision", values));
  return type;
}

// The enums' values are the element's own (see gstcaeenums.hpp): mapped value by value.
cae::infer::Backend gst_cae_to_backend(GstCaeBackend b) {
  switch (b) {
    case GST_CAE_BACKEND_OPENCV:
      return cae::infer::Backend::OpenCV;
    case GST_CAE_BACKEND_CUDA:
      return cae::infer::Backend::Cuda;
    case GST_CAE_BACKEND_ONEDNN:
      return cae::infer::Backend::OneDNN;
    case GST_CAE_BACKEND_AUTO:
      return cae::infer::Backend::Auto;
  }
  return cae::infer::Backend::Auto;
}

cae::infer::Precision gst_cae_to_precision(GstCaePrecision p) {
  switch (p) {
    case GST_CAE_PRECISION_F32:
      return cae::infer::Precision::F32;
    case GST_CAE_PRECISION_BF16:
      return cae::infer::Precision::Bf16;
    case GST_CAE_PRECISION_AUTO:
      return cae::infer::Precision::Auto;
  }
  return cae::infer::Precision::Auto;
}

cae::infer::Target gst_cae_to_target(GstCaeTarget t) {
  switch (t) {
    case GST_CAE_TARGET_CPU:
      return cae::infer::Target::Cpu;
    case GST_CAE_TARGET_OPENCL:
      return cae::infer::Target::OpenCL;
    case GST_CAE_TARGET_OPENCL_FP16:
      return cae::infer::Target::OpenCLFp16;
    case GST_CAE_TARGET_CUDA:
      return cae::infer::Target::Cuda;
    case GST_CAE_TARGET_CUDA_FP16:
      return cae::infer::Target::CudaFp16;
  }
  return cae::infer::Target::Cpu;
}
