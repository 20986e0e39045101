// What every cae element does the same way: finding its shipped default model, and adding its
// processing time to a LATENCY query's answer.
#pragma once

#include <gst/gst.h>

#include <string>

// The model to load for a `model` property value: the value itself, or, when it is empty or the
// installed default path (CAE_MODEL_DIR/default_name), that file if installed, else the source
// tree's models/default_name (uninstalled builds), else the installed path (for the error).
std::string gst_cae_resolve_model(const gchar* prop, const char* default_name);

// Adds `ours` to the minimum (and a valid maximum) latency of an answered LATENCY query.
void gst_cae_add_latency(GstQuery* q, GstClockTime ours);
