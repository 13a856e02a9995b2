#!/bin/sh
# Screenshots and an A4 PDF of report.html files with headless Chromium, to look at the layout
# before a handover (docs/report.md "Checking the layout").
#
#   scripts/screenshot-report.sh OUT_DIR REPORT.html [REPORT.html ...]
#
# For each REPORT.html: OUT_DIR/NAME-1280.png and NAME-800.png (a wide and a narrow window,
# full length up to HEIGHT px) and NAME-a4.pdf (Chromium's print to PDF: the page as printed on
# A4 portrait, with the report's own print CSS). NAME is the folder and file name (ycsa-report-report).
# Chromium: `apt-get install -y chromium` (Debian/Ubuntu); CHROMIUM=... to use another binary.
set -eu
out=$1; shift
mkdir -p "$out"
chromium=${CHROMIUM:-$(command -v chromium || command -v chromium-browser || command -v google-chrome)}
height=${HEIGHT:-6000}
for report in "$@"; do
  name=$(basename "$(dirname "$(realpath "$report")")")-$(basename "$report" .html)
  url="file://$(realpath "$report")"
  profile=$(mktemp -d)
  for width in 1280 800; do
    "$chromium" --headless --no-sandbox --disable-gpu --no-first-run \
      --disable-background-networking --disable-component-update --disable-sync \
      --hide-scrollbars --user-data-dir="$profile" \
      --screenshot="$out/$name-$width.png" --window-size="$width,$height" "$url" 2>/dev/null
  done
  "$chromium" --headless --no-sandbox --disable-gpu --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$profile" --no-pdf-header-footer \
    --print-to-pdf="$out/$name-a4.pdf" "$url" 2>/dev/null
  rm -rf "$profile"
  echo "$out/$name-1280.png $out/$name-800.png $out/$name-a4.pdf"
done
