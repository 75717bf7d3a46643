#!/usr/bin/env bash
# Builds, here (no GPU needed), what scripts/gpu/check.sh runs on a lent GPU machine, and
# packs it into .gpu/ (git-ignored; carried by the device tool): the CUDA test binaries of
# cxr-nn, cxr-lungseg and cxr-classifier (`--features cuda-tests`), the classifier and
# segmenter criterion benches, and the reproduce_main example (what `make demo` runs).
# Binaries are stripped and gzipped (libtorch stays dynamic: ~4 MB each).
#
#   make setup && scripts/gpu/build.sh
#
# docs/performance.md ("On a GPU") records what check.sh printed.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=.gpu
rm -rf "$out"
mkdir -p "$out"

executables() { # cargo's JSON messages on stdin → the executables built
  python3 -c '
import json, sys
for line in sys.stdin:
    try:
        m = json.loads(line)
    except ValueError:
        continue
    if m.get("reason") == "compiler-artifact" and m.get("executable"):
        print(m["target"]["name"], m["target"]["kind"][0], m["executable"])
'
}

pack() { # name path
  strip -o "$out/$1" "$2"
  gzip -9 "$out/$1"
}

for crate in cxr-nn cxr-lungseg cxr-classifier; do
  cargo test --release -p "$crate" --features cuda-tests --no-run --message-format=json |
    executables | while read -r name kind exe; do
      case "$crate:$name" in
        cxr-nn:smoke | cxr-lungseg:cuda | cxr-classifier:cuda) pack "test-$crate-$name" "$exe" ;;
      esac
    done
done
cargo bench --no-run --bench classifier --bench lungseg --message-format=json |
  executables | while read -r name kind exe; do pack "bench-$name" "$exe"; done
cargo build --release --example reproduce_main --message-format=json |
  executables | while read -r name kind exe; do pack "example-$name" "$exe"; done

# The device machine's libtorch is PyTorch's own; ours must link libtorch_cuda, else
# CUDA is never found there (../shared/GPU.md).
for f in "$out"/*.gz; do
  gunzip -c "$f" >"$out/probe"
  readelf -d "$out/probe" | grep -q 'NEEDED.*libtorch_cuda.so' || {
    echo "error: $f does not link libtorch_cuda.so (is .venv's torch the CUDA build?)" >&2
    exit 1
  }
done
rm -f "$out/probe"
ls -l "$out"
du -sh "$out"
