#!/usr/bin/env bash
# The facade without its `torch` feature: the data, statistics and report tools, the
# pure-Rust `predict`, `segment`, `score_segmenter` and the service on the pure-Rust path
# (`serve`, cxr-infer) build, start and link no libtorch. Run by `make test`.
#
#   scripts/ci/no_torch.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
CARGO=${CARGO:-cargo}

# No libtorch crate among the facade's normal dependencies.
if $CARGO tree -p cxr --no-default-features -e normal --prefix none | grep -E '^(tch|torch-sys) '; then
  echo "error: cxr --no-default-features still depends on libtorch (above)" >&2
  exit 1
fi

# Build the examples that need no libtorch and find their executables (the uplifted
# copies in target/debug/examples are shared with the default-feature build). A warning
# in this build fails the check: `make lint` sees only the default features.
exes=$($CARGO build -q -p cxr --no-default-features --examples --message-format=json |
  python3 -c '
import json, sys
warned = False
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and "example" in m["target"]["kind"]:
        print(m["target"]["name"], m["executable"])
    elif m.get("reason") == "compiler-message" and m["message"]["level"] in ("warning", "error"):
        sys.stderr.write(m["message"]["rendered"])
        warned = True
if warned:
    sys.exit("error: the build without the torch feature warns (above)")
')
expected="build_cohort compare_models contact_sheet dicom_to_png error_analysis evaluate merge_shards power_analysis predict scan_source score_segmenter segment serve synth_cohort"
for name in $expected; do
  exe=$(awk -v n="$name" '$1 == n {print $2}' <<<"$exes")
  if [ -z "$exe" ]; then
    echo "error: example $name was not built without the torch feature" >&2
    exit 1
  fi
  if readelf -d "$exe" | grep -q torch; then
    echo "error: $exe links libtorch:" >&2
    readelf -d "$exe" | grep torch >&2
    exit 1
  fi
done
# They start (with no libtorch on the library path) and answer --help.
for name in build_cohort compare_models dicom_to_png error_analysis evaluate merge_shards power_analysis predict scan_source score_segmenter segment serve synth_cohort; do
  exe=$(awk -v n="$name" '$1 == n {print $2}' <<<"$exes")
  env -u LD_LIBRARY_PATH "$exe" --help >/dev/null
done
# Asked for libtorch, they say how to run without it; a run that is not there is named.
for call in "predict --run /nonexistent --input x --out y" "serve --run /nonexistent" \
  "segment --weights /nonexistent --input x --out y" \
  "score_segmenter --weights /nonexistent --images x --masks y --out z"; do
  read -r name extra <<<"$call"
  exe=$(awk -v n="$name" '$1 == n {print $2}' <<<"$exes")
  # shellcheck disable=SC2086
  if out=$(env -u LD_LIBRARY_PATH "$exe" $extra --backend torch 2>&1) ||
    ! grep -q "built without libtorch" <<<"$out"; then
    echo "error: $name --backend torch without libtorch did not refuse clearly: $out" >&2
    exit 1
  fi
done
exe=$(awk '$1 == "serve" {print $2}' <<<"$exes")
if out=$(env -u LD_LIBRARY_PATH "$exe" --run /nonexistent/run 2>&1) || ! grep -q "/nonexistent/run" <<<"$out"; then
  echo "error: serve on the pure path did not name the missing run: $out" >&2
  exit 1
fi
# The converter on the DICOM fixtures: it finishes the batch and says which files are raw
# detector data or carry burned-in text (one fixture is both).
exe=$(awk '$1 == "dicom_to_png" {print $2}' <<<"$exes")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
out=$(env -u LD_LIBRARY_PATH "$exe" --input crates/cxr-dicom/tests/fixtures --output "$tmp/png" 2>&1)
if ! grep -q "note: 1 file(s) marked FOR PROCESSING .* and 1 with text burned into the pixels" <<<"$out" ||
  ! grep -q "^dx_for_processing.dcm,dx_for_processing.png,ok,.*,FOR PROCESSING,true$" "$tmp/png/conversion.csv"; then
  echo "error: dicom_to_png did not report the FOR PROCESSING fixture: $out" >&2
  exit 1
fi
echo "no-torch build: $(wc -w <<<"$expected") examples build, start and link no libtorch"
