#!/usr/bin/env bash
# Checks that every tracked .cpp/.hpp is formatted as .clang-format says (clang-format
# --dry-run -Werror); fails naming the files that are not. Fix one with: clang-format -i FILE.
# Usage: scripts/format.sh [SOURCE_ROOT]   (default: this checkout)
set -euo pipefail
root="$(cd "${1:-$(dirname "$0")/..}" && pwd)"
cd "$root"
command -v clang-format >/dev/null ||
  { echo "format: clang-format not found; install it: apt-get install clang-format" >&2; exit 1; }

# The tracked sources; outside a git checkout (a release tarball), every source in the tree.
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  mapfile -t files < <(git ls-files -- '*.cpp' '*.hpp')
else
  mapfile -t files < <(find . -path './build*' -prune -o \( -name '*.cpp' -o -name '*.hpp' \) \
    -type f -print | sed 's|^\./||' | sort)
fi
((${#files[@]})) || { echo "format: no .cpp/.hpp files under $root" >&2; exit 1; }

# A file deleted in the work tree but still tracked is not ours to check.
present=()
for f in "${files[@]}"; do [[ -f "$f" ]] && present+=("$f"); done

mapfile -t bad < <(clang-format --dry-run -Werror "${present[@]}" 2>&1 |
  sed -n 's/^\(.*\):[0-9]*:[0-9]*: error: code should be clang-formatted.*/\1/p' | sort -u)
echo "format: ${#present[@]} files checked with $(clang-format --version | head -1)"
if ((${#bad[@]})); then
  echo "format: ${#bad[@]} files are not clang-formatted (clang-format -i FILE):"
  printf '  %s\n' "${bad[@]}"
  exit 1
fi
