#!/usr/bin/env bash
# Fuzzes one of cae's libFuzzer targets with ASan and UBSan:
#   model-loader  tests/fuzz/fuzz_model_loader.cpp: the validator, the metadata and graph readers,
#                 and OpenCV DNN on what the validator accepts; corpus tests/fuzz/corpus
#   codec         tests/fuzz/fuzz_codec.cpp: the cae frame parser and the latents' entropy
#                 decoder; corpus tests/fuzz/corpus-codec
#
#   scripts/fuzz.sh TARGET [seconds] [libFuzzer options...]   # default 600 s, one worker
#   scripts/fuzz.sh TARGET merge                              # new coverage -> the committed corpus
#
# Needs clang and libclang-rt-dev (Debian). Builds only the fuzz target in build-fuzz. New inputs
# go to build-fuzz/fuzz-corpus-TARGET; crashes to build-fuzz/fuzz-artifacts (minimise one with
# -minimize_crash=1, then add it to the committed corpus, which ./run-tests replays). Runs under
# nice: fuzzing is a background job. Several workers: -jobs=N -workers=N.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${CAE_FUZZ_BUILD_DIR:-$root/build-fuzz}"
target="${1:?usage: scripts/fuzz.sh model-loader|codec [seconds|merge] [libFuzzer options...]}"
shift
case "$target" in
  model-loader)
    exe="$build/tests/fuzz/fuzz_model_loader"
    corpus="$root/tests/fuzz/corpus"
    # Seeds: the committed corpus, the shipped models and the test data models.
    seeds=("$corpus" "$root/models" "$root/tests/data")
    extra=(-dict="$root/tests/fuzz/onnx.dict") ;;
  codec)
    exe="$build/tests/fuzz/fuzz_codec"
    corpus="$root/tests/fuzz/corpus-codec"
    seeds=("$corpus")
    extra=() ;;
  *) echo "fuzz: unknown target '$target' (model-loader or codec)" >&2; exit 2 ;;
esac

if [[ ! -f "$build/build.ninja" ]]; then
  CC=clang CXX=clang++ meson setup "$build" "$root" -Dfuzz=true \
    -Db_sanitize=address,undefined --buildtype=debug -Dnative=false
fi
ninja -C "$build" "tests/fuzz/$(basename "$exe")"

work="$build/fuzz-corpus-$target"
mkdir -p "$work" "$build/fuzz-artifacts"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"  # a leak per load adds up in a long pipeline
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

if [[ "${1:-}" == merge ]]; then
  shift
  exec nice -n 19 "$exe" -merge=1 "$corpus" "$work" "$@"
fi
seconds="${1:-600}"
shift || true
# -timeout is wall time: under nice on a loaded machine a 30 ms input can wait half a minute.
exec nice -n 19 "$exe" -max_total_time="$seconds" -rss_limit_mb=4096 -timeout=300 \
  "${extra[@]}" -artifact_prefix="$build/fuzz-artifacts/" \
  -print_final_stats=1 "$work" "${seeds[@]}" "$@"
