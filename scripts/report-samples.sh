#!/bin/sh
# Six sample reports on the built-in bench, a clean run and a fault run in each language
# (both, zh, en), each with its screenshots and A4 print (scripts/screenshot-report.sh) and
# report.pdf (ycsa-conform report pdf), to look at before a release.
#
#   scripts/report-samples.sh OUT_DIR
#
# OUT_DIR/runs/{clean,fault}-{both,zh,en}/ hold the reports, OUT_DIR/shots/ the PNGs and PDFs.
set -eu
out=$(realpath -m "$1")
here=$(dirname "$(realpath "$0")")
faults="--bench-fault undervoltage --bench-fault heartbeat-stops --bench-fault lamp-failure"
mkdir -p "$out/runs"
cd "$out/runs"
for lang in both zh en; do
  # shellcheck disable=SC2086 # $faults is a list of options
  pytest -p no:cacheprovider -q --profile smart-pole --report-lang "$lang" \
    --operator "张工 Zhang Wei" --report-dir "clean-$lang" > "clean-$lang.log" 2>&1 || true
  pytest -p no:cacheprovider -q --profile smart-pole --report-lang "$lang" $faults \
    --record "rec-$lang" --report-dir "fault-$lang" > "fault-$lang.log" 2>&1 || true
  ycsa-conform report pdf "clean-$lang" --lang "$lang" > /dev/null
  ycsa-conform report pdf "fault-$lang" --lang "$lang" > /dev/null
done
"$here/screenshot-report.sh" "$out/shots" */report.html
