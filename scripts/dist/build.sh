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
#
# DIST_GLIBC (default 2.17) is the oldest C library the binaries may ask for: they are
# linked with cargo-zigbuild (zig's clang and lld, from PyPI into target/dist-tools)
# against that glibc's symbol versions, with the C++ runtime the codecs need (libc++)
# linked in, so they run on RHEL/CentOS 7, Ubuntu 14.04, Debian 8 and anything newer.
# DIST_GLIBC=native builds with this machine's own toolchain instead: the binaries then
# need this machine's glibc and libstdc++ or newer ones.
set -euo pipefail
cd "$(dirname "$0")/../.."
CARGO=${CARGO:-cargo}
out=${1:-dist}
run=${2:-out/demo}

glibc_floor=${DIST_GLIBC:-2.17}
# Pinned: the linker wrapper and the zig it drives (both wheels on PyPI).
ZIGBUILD_PINS="cargo-zigbuild==0.24.1 ziglang==0.17.1"

tools="predict segment serve dicom_to_png evaluate score_segmenter scan_source"
version=$(sed -n '/^\[workspace.package\]/,/^\[/s/^version = "\(.*\)"/\1/p' Cargo.toml)
target=$(rustc -vV | sed -n 's/^host: //p')
name="cxr-tools-$version-$target"

build=(build)
if [ "$glibc_floor" != native ]; then
  case "$target" in
    *-linux-gnu) ;;
    *) echo "error: DIST_GLIBC=$glibc_floor needs a *-linux-gnu host, not $target: use DIST_GLIBC=native" >&2; exit 1 ;;
  esac
  venv=${CARGO_TARGET_DIR:-target}/dist-tools
  if ! "$venv/bin/pip" show -q cargo-zigbuild ziglang >/dev/null 2>&1; then
    echo "Installing $ZIGBUILD_PINS into $venv (about 60 MB, once)..."
    { python3 -m venv "$venv" && "$venv/bin/pip" install --disable-pip-version-check -q $ZIGBUILD_PINS; } || {
      echo "error: could not install $ZIGBUILD_PINS from PyPI into $venv." >&2
      echo "  Check access to PyPI, or build for this machine's glibc only: make dist DIST_GLIBC=native" >&2
      exit 1
    }
  fi
  # cargo finds `cargo-zigbuild` on the PATH, and cargo-zigbuild finds zig in the venv.
  export PATH="$(cd "$venv/bin" && pwd):$PATH"
  build=(zigbuild --target "$target.$glibc_floor")
fi

echo "Building $tools (release, without libtorch, for glibc ≥ $glibc_floor)..."
args=()
for t in $tools; do args+=(--example "$t"); done
exes=$($CARGO "${build[@]}" --release --locked -q -p cxr --no-default-features "${args[@]}" --message-format=json |
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
    # best, else last: cxr_nn::files::inference_weights). Not the segmenter's record of
    # its training images (images.csv: their paths and thumbnails, derived from data
    # whose licence may not allow passing it on; inference does not read it).
    for f in "$run/$part"/*; do
      case "$(basename "$f")" in
        *.safetensors|curves.png|images.csv) ;;
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
need() { for t in $tools; do objdump -T "$root/bin/$t" | grep -o "$1[0-9.]*" || true; done | sort -uV | tail -1; }
glibc=$(need 'GLIBC_') glibcxx=$(need 'GLIBCXX_')
if [ "$glibc_floor" != native ]; then
  newest=$(printf '%s\n' "$glibc_floor" "${glibc#GLIBC_}" | sort -V | tail -1)
  if [ "$newest" != "$glibc_floor" ] || [ -n "$glibcxx" ]; then
    echo "error: the binaries ask for $glibc ${glibcxx:+and $glibcxx}, more than glibc $glibc_floor alone" >&2
    exit 1
  fi
fi
at_most() { [ "$(printf '%s\n' "${glibc#GLIBC_}" "$1" | sort -V | tail -1)" = "$1" ]; }
if at_most 2.17; then distros="RHEL/CentOS 7, Ubuntu 14.04, Debian 8 or newer"
elif at_most 2.28; then distros="RHEL 8, Ubuntu 20.04, Debian 10 or newer"
elif at_most 2.31; then distros="Ubuntu 20.04, Debian 11, RHEL 9 or newer"
elif at_most 2.34; then distros="Ubuntu 22.04, Debian 12, RHEL 9 or newer"
else distros="check with: ldd --version"
fi
{
  cat scripts/dist/README.txt
  echo
  echo "Built for $target from cxr $version ($(git rev-parse --short HEAD 2>/dev/null || echo unknown))."
  if [ -n "$glibcxx" ]; then
    echo "Needs ${glibc/_/ ≥ } ($distros) and a C++ runtime with $glibcxx (GCC 5 or newer)."
  else
    echo "Needs ${glibc/_/ ≥ } ($distros) and nothing else: the C++ runtime is built in."
  fi
} >"$root/README.txt"
cp LICENSE "$root/"

tarball="$out/$name.tar.gz"
tar -C "$stage" -czf "$stage/$name.tar.gz" "$name"
scripts/dist/check.sh "$stage/$name.tar.gz"
mv "$stage/$name.tar.gz" "$tarball"
echo "$tarball ($(du -h "$tarball" | cut -f1)): $(ls "$root/bin" | tr '\n' ' ')${model:+and model/}"
