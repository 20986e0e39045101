#!/usr/bin/env bash
# Fuzzes the model loader (tests/fuzz/fuzz_model_loader.cpp: the validator, the metadata and graph
# readers, and OpenCV DNN on what the validator accepts) with libFuzzer, ASan and UBSan.
#
#   scripts/fuzz-model-loader.sh [seconds] [libFuzzer options...]   # default 600 s, one worker
#   scripts/fuzz-model-loader.sh merge                              # new coverage -> tests/fuzz/corpus
#
# Needs clang and libclang-rt-dev (Debian). Builds only the fuzz target in build-fuzz. New inputs
# go to build-fuzz/fuzz-corpus; crashes to build-fuzz/fuzz-artifacts (minimise one with
# -minimize_crash=1, then add it to tests/fuzz/corpus, which ./run-tests replays). Runs under
# nice: fuzzing is a background job.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${CAE_FUZZ_BUILD_DIR:-$root/build-fuzz}"
exe="$build/tests/fuzz/fuzz_model_loader"

if [[ ! -f "$build/build.ninja" ]]; then
  CC=clang CXX=clang++ meson setup "$build" "$root" -Dfuzz=true \
    -Db_sanitize=address,undefined --buildtype=debug -Dnative=false
fi
ninja -C "$build" tests/fuzz/fuzz_model_loader

work="$build/fuzz-corpus"
mkdir -p "$work" "$build/fuzz-artifacts"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"  # a leak per load adds up in a long pipeline
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
# Seeds: the committed corpus, the shipped models and the test data models.
seeds=("$root/tests/fuzz/corpus" "$root/models" "$root/tests/data")

if [[ "${1:-}" == merge ]]; then
  shift
  exec nice -n 19 "$exe" -merge=1 "$root/tests/fuzz/corpus" "$work" "$@"
fi
seconds="${1:-600}"
shift || true
# -timeout is wall time: under nice on a loaded machine a 30 ms input can wait half a minute.
exec nice -n 19 "$exe" -max_total_time="$seconds" -rss_limit_mb=4096 -timeout=300 \
  -dict="$root/tests/fuzz/onnx.dict" -artifact_prefix="$build/fuzz-artifacts/" \
  -print_final_stats=1 "$work" "${seeds[@]}" "$@"
