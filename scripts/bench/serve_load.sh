#!/usr/bin/env bash
# Load test of the HTTP service against the FastAPI peer, on loopback only, bounded in
# requests and time (docs/performance.md, "Serving"). Both serve the same networks with
# the same weights: the demo's lung segmenter and the paper's full Inception v3 at 299 px.
#
#   scripts/bench/serve_load.sh DEMO_OUT [RESULTS.jsonl]
#
# DEMO_OUT is a finished `make demo` folder (out/demo). A paper-size classifier run is
# made once beside it (DEMO_OUT/serve-v3: one epoch on 24 of its images: the numbers
# measure speed, not accuracy). Needs `make peers` (fastapi, uvicorn, torchvision).
set -euo pipefail
cd "$(dirname "$0")/../.."
DEMO=${1:?usage: serve_load.sh DEMO_OUT [RESULTS.jsonl]}
OUT=${2:-$DEMO/serve-load.jsonl}
PY=.venv/bin/python
CXR_PORT=18080
PEER_PORT=18081
REQUESTS_PER_CLIENT=${REQUESTS_PER_CLIENT:-16}
TIME_CAP=${TIME_CAP:-120}

cargo build -q --release --example serve --example load_test --example train_classifier
BIN=target/release/examples

V3=$DEMO/serve-v3
if [ ! -f "$V3/best.safetensors" ]; then
  head -1 "$DEMO/cohort/records.csv" > "$DEMO/serve-v3-records.csv"
  # 8 images of each class.
  awk -F, 'NR > 1 && n[$5]++ < 8' "$DEMO/cohort/records.csv" >> "$DEMO/serve-v3-records.csv"
  cp "$DEMO/serve-v3-records.csv" "$DEMO/cohort/serve-v3-records.csv"
  $BIN/train_classifier --manifest "$DEMO/cohort/serve-v3-records.csv" --out "$V3" \
    --preset v3 --epochs 1 --batch-size 8
fi
images=$(awk -F, -v d="$DEMO/cohort/" 'NR > 1 && NR <= 9 {print d $4}' "$DEMO/cohort/serve-v3-records.csv")
img_args=""
for i in $images; do img_args="$img_args --image $i"; done

wait_ready() {
  for _ in $(seq 1 240); do
    curl -sf "http://127.0.0.1:$1/readyz" >/dev/null && return 0
    sleep 0.5
  done
  echo "error: the server on port $1 did not become ready" >&2
  return 1
}

run_clients() { # label port pid
  for c in 1 4 16; do
    $BIN/load_test --url "http://127.0.0.1:$2/v1/predict" $img_args \
      --requests $((c * REQUESTS_PER_CLIENT)) --concurrency "$c" --time-cap "$TIME_CAP" \
      --pid "$3" --label "$1" | tee -a "$OUT"
  done
}

: > "$OUT"
for batch in 1 8; do
  $BIN/serve --run "$V3" --segmenter "$DEMO/segmenter" --addr "127.0.0.1:$CXR_PORT" \
    --max-batch "$batch" --max-wait-ms 5 --min-lungs 0 --min-fraction 0 &
  pid=$!
  trap 'kill $pid 2>/dev/null || true' EXIT
  wait_ready $CXR_PORT
  run_clients "cxr max-batch $batch" $CXR_PORT $pid
  kill $pid; wait $pid 2>/dev/null || true
done

$PY scripts/bench/serve_fastapi.py --classifier "$V3" --segmenter "$DEMO/segmenter" \
  --port $PEER_PORT --open-gate &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
wait_ready $PEER_PORT
run_clients "fastapi" $PEER_PORT $pid
kill $pid; wait $pid 2>/dev/null || true

# Memory over repeated load: cxr at --max-batch 8, four passes of 16 clients x 24
# requests with no warm-up; resident memory before and after each pass.
$BIN/serve --run "$V3" --segmenter "$DEMO/segmenter" --addr "127.0.0.1:$CXR_PORT" \
  --max-batch 8 --max-wait-ms 5 --min-lungs 0 --min-fraction 0 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
wait_ready $CXR_PORT
for pass in 1 2 3 4; do
  $BIN/load_test --url "http://127.0.0.1:$CXR_PORT/v1/predict" $img_args \
    --requests $((16 * REQUESTS_PER_CLIENT)) --concurrency 16 --warm-up 0 \
    --time-cap "$TIME_CAP" --pid "$pid" --label "cxr memory pass $pass" | tee -a "$OUT"
done
kill $pid; wait $pid 2>/dev/null || true
echo "results: $OUT"
