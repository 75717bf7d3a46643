#!/usr/bin/env bash
# A tarball of the pure-Rust tools (no PyTorch, no Rust needed to run them) and, when a
# trained run is given, its models: what a person without Rust or PyTorch needs to
# predict, segment, convert DICOM, evaluate and serve the review page. `make dist`.
#
#   scripts/dist/build.sh [OUT_DIR] [RUN_DIR]
#
# OUT_DIR (default dist/) receives cxr-tools-<version>-<target>.tar.gz. RUN_DIR (default
# out/demo, skipped when it holds no trained classifier) is an experiment folder
# (reproduce_main's: classifier/, segmenter/, evaluation/metrics.json): its inference
# weights, settings and operating points go into model/ (only the weights inference
# loads: no optimiser state, no snapshots). The tarball is written whole or not at all, then checked by
# scripts/dist/check.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."
CARGO=${CARGO:-cargo}
out=${1:-dist}
run=${2:-out/demo}

tools="predict segment serve dicom_to_png evaluate score_segmenter scan_source"
version=$(sed -n '/^\[workspace.package\]/,/^\[/s/^version = "\(.*\)"/\1/p' Cargo.toml)
target=$(rustc -vV | sed -n 's/^host: //p')
name="cxr-tools-$version-$target"

echo "Building $tools (release, without libtorch)..."
args=()
for t in $tools; do args+=(--example "$t"); done
exes=$($CARGO build --release --locked -q -p cxr --no-default-features "${args[@]}" --message-format=json |
  python3 -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and "example" in m["target"]["kind"]:
        print(m["target"]["name"], m["executable"])
')

mkdir -p "$out"
stage=$(mktemp -d "$out/.stage.XXXXXX")
trap 'rm -rf "$stage"' EXIT
root="$stage/$name"
mkdir -p "$root/bin"
for t in $tools; do
  exe=$(awk -v n="$t" '$1 == n {print $2}' <<<"$exes")
  [ -n "$exe" ] || { echo "error: $t was not built" >&2; exit 1; }
  cp "$exe" "$root/bin/$t"
  strip "$root/bin/$t"
done

# Only the system's C and C++ runtimes: no libtorch, nothing from this machine's build.
allowed='^(linux-vdso|libc|libm|libgcc_s|libstdc\+\+|ld-linux-x86-64|ld-linux-aarch64|libpthread|libdl|librt)\.so'
for t in $tools; do
  bad=$(ldd "$root/bin/$t" | awk '{print $1}' | sed 's|.*/||' | grep -Ev "$allowed" || true)
  if [ -n "$bad" ]; then
    echo "error: bin/$t needs libraries a plain Linux machine may lack: $bad" >&2
    exit 1
  fi
done

model=""
if [ -f "$run/classifier/config.json" ] && [ -f "$run/segmenter/config.json" ]; then
  model="$root/model"
  for part in classifier segmenter; do
    mkdir -p "$model/$part"
    # Settings and logs, and the one weights file inference loads (averaged, else
    # best, else last: cxr_nn::files::inference_weights).
    for f in "$run/$part"/*; do
      case "$(basename "$f")" in
        *.safetensors|curves.png) ;;
        *) [ -f "$f" ] && cp "$f" "$model/$part/" ;;
      esac
    done
    for w in averaged best last; do
      if [ -f "$run/$part/$w.safetensors" ]; then
        cp "$run/$part/$w.safetensors" "$model/$part/"
        break
      fi
    done
  done
  if [ -f "$run/evaluation/metrics.json" ]; then
    mkdir -p "$model/evaluation"
    cp "$run/evaluation/metrics.json" "$model/evaluation/"
  fi
  echo "Models from $run → model/ ($(du -sh "$model" | cut -f1))"
else
  echo "No trained run in $run (make demo, or give RUN=...): tools only."
fi
# The newest C library and C++ runtime symbol versions the binaries ask for: the oldest
# Linux they run on.
need() { for t in $tools; do objdump -T "$root/bin/$t" | grep -o "$1[0-9.]*"; done | sort -uV | tail -1; }
glibc=$(need 'GLIBC_') glibcxx=$(need 'GLIBCXX_')
{
  cat scripts/dist/README.txt
  echo
  echo "Built for $target from cxr $version ($(git rev-parse --short HEAD 2>/dev/null || echo unknown))."
  echo "Needs ${glibc/_/ ≥ } (Debian 12, Ubuntu 22.04, RHEL 9 or newer) and a C++ runtime"
  echo "with ${glibcxx:-GLIBCXX_3.4} (GCC 5 or newer)."
} >"$root/README.txt"
cp LICENSE "$root/"

tarball="$out/$name.tar.gz"
tar -C "$stage" -czf "$stage/$name.tar.gz" "$name"
scripts/dist/check.sh "$stage/$name.tar.gz"
mv "$stage/$name.tar.gz" "$tarball"
echo "$tarball ($(du -h "$tarball" | cut -f1)): $(ls "$root/bin" | tr '\n' ' ')${model:+and model/}"
