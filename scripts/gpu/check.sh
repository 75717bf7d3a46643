#!/usr/bin/env bash
# Runs on a lent GPU machine (the device tool), from the repository root, after
# scripts/gpu/build.sh packed .gpu/ here:
#
#   bash scripts/gpu/check.sh [STEP...]   # with carry: [".gpu"]; logs and results in $OUT
#
# Steps (all by default, in this order; cxr-nn's CUDA smoke test always runs first and
# stops everything if CUDA is not found):
#   classifier-test  CPU/CUDA agreement of Inception v3, fp16 training, run portability
#   lungseg-test     fp16 training of the segmenter, throughput
#   bench-classifier, peer-classifier, bench-lungseg, peer-lungseg
#                    criterion benches on CUDA, each followed by the PyTorch peer
#   demo             the main experiment on the synthetic cohort (= make demo) on CUDA
set -uo pipefail
OUT=${OUT:-/tmp/gpu-out}
mkdir -p "$OUT"
log="$OUT/gpu.log"
bin=/tmp/gpu-bin
mkdir -p "$bin"
for f in .gpu/*.gz; do gunzip -c "$f" >"$bin/$(basename "$f" .gz)"; done
chmod +x "$bin"/*
LD_LIBRARY_PATH="$(python3 -c 'import os, torch; print(os.path.dirname(torch.__file__))')/lib"
export LD_LIBRARY_PATH
export RUST_BACKTRACE=1 PYTHONUNBUFFERED=1
start=$(date +%s)
steps=("$@")
[ ${#steps[@]} -eq 0 ] && steps=(classifier-test lungseg-test bench-classifier peer-classifier
  bench-lungseg peer-lungseg demo)

step() { # name timeout command...
  local name=$1 limit=$2
  shift 2
  echo "=== $name (limit ${limit}s, t=$(($(date +%s) - start))s)" | tee -a "$log"
  local t0 rc part=/tmp/gpu-step.log
  t0=$(date +%s)
  timeout "$limit" "$@" >"$part" 2>&1
  rc=$?
  cat "$part" >>"$log"
  echo "=== $name: exit $rc after $(($(date +%s) - t0))s, $(grep -c 'Warning: at::autocast' "$part") autocast deprecation lines" |
    tee -a "$log"
  return $rc
}

{
  date -u
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
  nproc
  python3 -c 'import torch, torchvision; print("torch", torch.__version__, "torchvision", torchvision.__version__, "cudnn", torch.backends.cudnn.version())'
  env | grep -E '^(TORCH|CXR)_' || true
} >>"$log" 2>&1

step "cxr-nn smoke (CUDA)" 120 "$bin/test-cxr-nn-smoke" --nocapture || {
  echo "CUDA path broken: stopping" | tee -a "$log"
  exit 1
}

crit=(--bench --warm-up-time 1 --measurement-time 3 --noplot)
for s in "${steps[@]}"; do
  case $s in
    classifier-test) step "cxr-classifier cuda tests" 240 "$bin/test-cxr-classifier-cuda" --nocapture --test-threads 1 ;;
    lungseg-test) step "cxr-lungseg cuda test" 180 "$bin/test-cxr-lungseg-cuda" --nocapture ;;
    bench-classifier) CXR_DEVICE=cuda step "bench classifier (ours, CUDA)" 200 "$bin/bench-classifier" "${crit[@]}" ;;
    peer-classifier) step "bench classifier (PyTorch eager, CUDA)" 200 python3 scripts/bench/classifier_pytorch.py \
      --device cuda --suite cuda --iters 20 --warmup 3 --out "$OUT/classifier_pytorch_cuda.json" ;;
    bench-lungseg) CXR_DEVICE=cuda step "bench lungseg (ours, CUDA)" 120 "$bin/bench-lungseg" "${crit[@]}" ;;
    peer-lungseg) step "bench lungseg (PyTorch eager, CUDA)" 120 python3 scripts/bench/lungseg_pytorch.py \
      --device cuda --amp --batch 16 --sizes 256 512 --seconds 3 ;;
    demo)
      demo=/tmp/demo
      rm -rf "$demo"
      step "reproduce_main --synthetic (make demo) on CUDA" 300 "$bin/example-reproduce_main" --synthetic --out "$demo"
      cp "$demo/report.md" "$OUT/demo_report.md" 2>/dev/null
      cp "$demo/evaluation/metrics.json" "$OUT/demo_metrics.json" 2>/dev/null
      tar czf "$OUT/demo_run.tar.gz" -C "$demo" --exclude='./cohort' --exclude='./masks' \
        --exclude='*.safetensors' --exclude='inputs' . 2>/dev/null
      ;;
    *) echo "unknown step $s" | tee -a "$log" ;;
  esac
done
[ -d target/criterion ] && tar czf "$OUT/criterion.tar.gz" target/criterion
echo "total $(($(date +%s) - start))s" | tee -a "$log"
