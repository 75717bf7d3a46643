#!/usr/bin/env bash
# Compares two finished demo run folders (e.g. `make demo` before and after a refactor,
# on the same machine): exits 0 when they hold the same results.
#
#   scripts/demo/compare_runs.sh RUN_A RUN_B
#
# Byte for byte: evaluation/metrics.json, qc.json, split.csv, cohort/duplicates.json,
# cohort/table{1,2}.md, cohort/table1.csv, evaluation/report.md, saliency/saliency.json.
# Up to the run folder's own path: predictions.csv, predictions_rejected.csv,
# qc_rejected.csv. Up to the training's seconds: report.md.
set -euo pipefail
if [ $# -ne 2 ]; then
  sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
fi
a=$(realpath "$1"); b=$(realpath "$2"); bad=0
for f in evaluation/metrics.json qc.json split.csv cohort/duplicates.json cohort/table1.md \
         cohort/table2.md cohort/table1.csv evaluation/report.md saliency/saliency.json; do
  if cmp -s "$a/$f" "$b/$f"; then echo "same        $f"; else echo "DIFFERENT   $f"; bad=1; fi
done
for f in predictions.csv predictions_rejected.csv qc_rejected.csv; do
  if cmp -s <(sed "s|$a/||g" "$a/$f") <(sed "s|$b/||g" "$b/$f"); then
    echo "same        $f (up to the run folder)"
  else echo "DIFFERENT   $f"; bad=1; fi
done
strip_seconds() { sed -E 's/^([0-9]+ epochs) \([0-9]+ s\)/\1 (… s)/' "$1"; }
if cmp -s <(strip_seconds "$a/report.md") <(strip_seconds "$b/report.md"); then
  echo "same        report.md (up to the training's seconds)"
else echo "DIFFERENT   report.md"; bad=1; fi
exit $bad
