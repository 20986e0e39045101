#!/usr/bin/env bash
# The speech the audio denoiser trains on, made or found here (sourced by audio-denoise.sh and
# the audio benchmark; needs Debian's espeak-ng, asterisk-core-sounds-en-wav and
# pocketsphinx-testdata, which scripts/setup.sh installs):
#   cae_speech_dirs   real speech: asterisk's Allison prompts (8 kHz, 571 files, one voice)
#                     and pocketsphinx's test recordings (16 kHz, LibriVox excerpts and others)
#   cae_espeak_speech synthetic speech for variety: espeak-ng reading the paragraphs of the
#                     GPL-3 text with 24 voices (English accents and other languages), male and
#                     female variants, speeds and pitches drawn from a fixed sequence; written once
#                     to $1 (22.05 kHz WAV), reused when present
#   cae_g722_speech   real wideband speech (16 kHz, G.722 as the packages ship it): the asterisk
#                     prompts in five voices, en-US and es-MX Allison, fr-CA June, it-IT Carlo
#                     (male) and ru-RU IvrvoiceRU, 2,830 files (one of the Russian files is empty), about 2 h; decoded by ffmpeg to
#                     $1/<voice>/*.wav once, reused when present. (The 8 kHz en-wav prompts of
#                     cae_speech_dirs are the same en-US recordings with nothing above 4 kHz.)
# The alsa-utils voice clips (/usr/share/sounds/alsa) are never training data: the benchmark's
# clean speech.
cae_speech_dirs=(/usr/share/asterisk/sounds/en_US_f_Allison /usr/share/pocketsphinx/test/data)

cae_espeak_speech() {
  local dir=$1 count=${2:-240}
  if [[ -f $dir/.complete && $(cat "$dir/.complete") == "$count" ]]; then return 0; fi
  command -v espeak-ng >/dev/null || { echo "audio-data: espeak-ng is missing (apt-get install espeak-ng)" >&2; return 1; }
  mkdir -p "$dir"
  local voices=(en-us en-gb en-gb-scotland en-gb-x-rp en-029 en-us-nyc de fr-fr es it nl pt
                pl sv cs hu fi tr el ru da ro hr id)
  local variants=(m1 m2 m3 m4 m5 m6 m7 f1 f2 f3 f4 f5 croak klatt klatt2 klatt3)
  # Paragraphs of 200-700 characters from the licence text, one per file.
  local -a paras=()
  mapfile -t paras < <(awk 'BEGIN{RS=""} {gsub(/\n/," "); gsub(/  +/," "); if (length($0) > 200 && length($0) < 700) print}' /usr/share/common-licenses/GPL-3)
  local i voice variant speed pitch
  for ((i = 0; i < count; i++)); do
    voice=${voices[i % ${#voices[@]}]}
    variant=${variants[(i * 7) % ${#variants[@]}]}
    speed=$((120 + (i * 37) % 80))
    pitch=$((25 + (i * 53) % 50))
    espeak-ng -v "$voice+$variant" -s "$speed" -p "$pitch" -w "$dir/espeak-$(printf %03d "$i")-$voice-$variant.wav" \
      "${paras[i % ${#paras[@]}]}" 2>/dev/null
  done
  echo "$count" > "$dir/.complete"
}

cae_g722_voices=(en_US_f_Allison es_MX_f_Allison fr_CA_f_June it_IT_m_Carlo ru_RU_f_IvrvoiceRU)

cae_g722_speech() {
  local dir=$1 v src
  if [[ -f $dir/.complete ]]; then return 0; fi
  command -v ffmpeg >/dev/null || { echo "audio-data: ffmpeg is missing (apt-get install ffmpeg)" >&2; return 1; }
  for v in "${cae_g722_voices[@]}"; do
    src=/usr/share/asterisk/sounds/$v
    [[ -d $src ]] || { echo "audio-data: missing $src (apt-get install asterisk-core-sounds-{en,es,fr,it,ru}-g722)" >&2; return 1; }
    (cd "$src" && find . -name '*.g722' -size +0 -print0) | while IFS= read -r -d '' f; do
      mkdir -p "$dir/$v/$(dirname "$f")"
      printf '%s\0%s\0' "$src/$f" "$dir/$v/${f%.g722}.wav"
    done | xargs -0 -n 2 -P "$(nproc)" sh -c 'ffmpeg -nostdin -hide_banner -loglevel error -y -f g722 -i "$0" "$1"'
  done
  touch "$dir/.complete"
}
