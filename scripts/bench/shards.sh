#!/usr/bin/env bash
# Throughput of a batch tool as 1, 2 and 4 concurrent shards on this machine
# (docs/performance.md, "Shards"): each setting runs into a fresh output folder, then
# merge_shards; wall time of the whole; the merged tables are compared with the single
# run's byte for byte.
#
#   scripts/bench/shards.sh segment DEMO_OUT         # the demo's images and segmenter
#   scripts/bench/shards.sh predict DEMO_OUT         # the demo's images and classifier
#   scripts/bench/shards.sh dicom_to_png DICOM_DIR   # e.g. from scripts/bench/make_dicoms.py
set -euo pipefail
cd "$(dirname "$0")/../.."
TOOL=${1:?usage: shards.sh segment|predict|dicom_to_png DIR}
DIR=${2:?usage: shards.sh segment|predict|dicom_to_png DIR}
cargo build -q --release --example "$TOOL" --example merge_shards
BIN=target/release/examples
CORES=$(nproc)
WORK=$(mktemp -d)
trap '[ -n "${KEEP:-}" ] || rm -rf "$WORK"' EXIT
case $TOOL in
  segment)
    N_IMAGES=$(find "$DIR/cohort/images" -name '*.png' | wc -l)
    TABLES="qc.csv"
    run() { OMP_NUM_THREADS=$2 $BIN/segment --weights "$DIR/segmenter" --input "$DIR/cohort/images" --out "$1" --shard "$3"; } ;;
  predict)
    N_IMAGES=$(find "$DIR/cohort/images" -name '*.png' | wc -l)
    TABLES="p.csv p_rejected.csv"
    run() { OMP_NUM_THREADS=$2 $BIN/predict --run "$DIR/classifier" --input "$DIR/cohort/images" --out "$1/p.csv" --shard "$3"; } ;;
  dicom_to_png)
    N_IMAGES=$(find "$DIR" -type f | wc -l)
    TABLES="conversion.csv"
    run() { $BIN/dicom_to_png --input "$DIR" --output "$1" --jobs "$2" --shard "$3"; } ;;
  *) echo "unknown tool $TOOL" >&2; exit 2 ;;
esac
for k in 1 2 4; do
  out="$WORK/out-$k"
  mkdir -p "$out"
  threads=$(( CORES / k > 0 ? CORES / k : 1 ))
  start=$(date +%s.%N)
  for i in $(seq 0 $((k - 1))); do
    run "$out" "$threads" "$i/$k" > "$WORK/log-$k-$i" 2>&1 &
  done
  wait
  [ "$k" -gt 1 ] && $BIN/merge_shards "$out" > /dev/null
  end=$(date +%s.%N)
  python3 -c "import sys; n, s = int(sys.argv[1]), float(sys.argv[3]) - float(sys.argv[2]); print(f'$TOOL: {sys.argv[4]} concurrent shard(s), {sys.argv[5]} thread(s) each: {n} images in {s:.1f} s = {n / s:.1f} images/s')" \
    "$N_IMAGES" "$start" "$end" "$k" "$threads"
done
# Byte for byte where the thread counts agree; libtorch's results also depend in their
# last bits on its thread count (2 threads for 1 shard, 1 for 2 and 4 here), so for
# probabilities the script says how far apart they are when the bytes differ.
for t in $TABLES; do
  for k in 2 4; do
    if cmp -s "$WORK/out-1/$t" "$WORK/out-$k/$t"; then
      echo "merged $t of $k shards = the whole run's, byte for byte"
    else
      python3 - "$WORK/out-1/$t" "$WORK/out-$k/$t" "$k" <<'PY'
import csv, sys
a, b = (list(csv.reader(open(p))) for p in sys.argv[1:3])
assert len(a) == len(b) and a[0] == b[0], "different rows or columns"
worst, texts = 0.0, 0
for ra, rb in zip(a[1:], b[1:]):
    for x, y in zip(ra, rb):
        try:
            worst = max(worst, abs(float(x) - float(y)))
        except ValueError:
            texts += x != y
assert texts == 0, f"{texts} text fields differ"
print(f"merged {sys.argv[1].rsplit('/', 1)[1]} of {sys.argv[3]} shards: same rows, numbers within {worst:.1e} (libtorch threads differ)")
PY
    fi
  done
done
