#!/usr/bin/env bash
# Throughput of `segment` as 1, 2 and 4 concurrent shards on this machine
# (docs/performance.md, "Shards"): the demo cohort's images, the demo's segmenter, each
# run into a fresh output folder, then merge_shards; wall time of the whole.
#
#   scripts/bench/shards.sh DEMO_OUT
set -euo pipefail
cd "$(dirname "$0")/../.."
DEMO=${1:?usage: shards.sh DEMO_OUT}
cargo build -q --release --example segment --example merge_shards
BIN=target/release/examples
CORES=$(nproc)
N_IMAGES=$(find "$DEMO/cohort/images" -name '*.png' | wc -l)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
for k in 1 2 4; do
  out="$WORK/out-$k"
  threads=$(( CORES / k > 0 ? CORES / k : 1 ))
  start=$(date +%s.%N)
  for i in $(seq 0 $((k - 1))); do
    OMP_NUM_THREADS=$threads $BIN/segment --weights "$DEMO/segmenter" --input "$DEMO/cohort/images" \
      --out "$out" --shard "$i/$k" > "$WORK/log-$k-$i" &
  done
  wait
  [ "$k" -gt 1 ] && $BIN/merge_shards "$out" > /dev/null
  end=$(date +%s.%N)
  python3 -c "import sys; n, s = int(sys.argv[1]), float(sys.argv[3]) - float(sys.argv[2]); print(f'{sys.argv[4]} concurrent shard(s), {sys.argv[5]} libtorch thread(s) each: {n} images in {s:.1f} s = {n / s:.1f} images/s')" \
    "$N_IMAGES" "$start" "$end" "$k" "$threads"
done
cmp "$WORK/out-1/qc.csv" "$WORK/out-2/qc.csv" && cmp "$WORK/out-1/qc.csv" "$WORK/out-4/qc.csv" && echo "merged qc.csv of 2 and 4 shards = the whole run's"
