#!/usr/bin/env bash
# Checks a tarball of scripts/dist/build.sh the way its user meets it: unpacked in an
# empty folder and run with a bare environment (no cargo, no LIBTORCH, no
# LD_LIBRARY_PATH). Every tool answers --help; with model/: predict gives probabilities
# for a DICOM file and a PNG, and serve answers a DICOM upload on 127.0.0.1 and shows
# its page, then is stopped.
#
#   scripts/dist/check.sh dist/cxr-tools-<version>-<target>.tar.gz
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
tarball=$(realpath "$1")
work=$(mktemp -d)
server=""
cleanup() {
  [ -n "$server" ] && kill "$server" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
tar -C "$work" -xzf "$tarball"
root=$(find "$work" -mindepth 1 -maxdepth 1 -type d)
bare() { env -i HOME="$work" PATH=/usr/bin:/bin "$@"; }

for exe in "$root"/bin/*; do
  bare "$exe" --help >/dev/null || { echo "error: $(basename "$exe") --help failed" >&2; exit 1; }
done
echo "check: $(ls "$root/bin" | wc -l) tools start and answer --help"

[ -d "$root/model" ] || { echo "check: no model/ (tools only)"; exit 0; }

# Two inputs a user might have: a DICOM file and a PNG.
inputs="$work/inputs"
mkdir -p "$inputs"
cp "$repo/crates/cxr-dicom/tests/fixtures/big_endian.dcm" "$inputs/"
bare "$root/bin/dicom_to_png" --input "$inputs" --output "$work/png" >/dev/null
cp "$work/png/big_endian.png" "$inputs/as_png.png"
(cd "$root" && bare "$root/bin/predict" --run model/classifier --input "$inputs" \
  --out "$work/p.csv" --min-lungs 0 --min-fraction 0 >/dev/null 2>"$work/predict.log") ||
  { cat "$work/predict.log" >&2; exit 1; }
rows=$(($(wc -l <"$work/p.csv") - 1))
[ "$rows" -eq 2 ] || { echo "error: predict gave $rows rows, expected 2" >&2; cat "$work/p.csv" >&2; exit 1; }
echo "check: predict answers a DICOM file and a PNG"

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
(cd "$root" && bare "$root/bin/serve" --run model --addr "127.0.0.1:$port" >"$work/serve.log" 2>&1) &
server=$!
python3 - "$port" "$inputs/big_endian.dcm" <<'PY'
import json, sys, time, urllib.request
port, image = sys.argv[1], sys.argv[2]
base = f"http://127.0.0.1:{port}"
deadline = time.time() + 120
while True:
    try:
        if urllib.request.urlopen(base + "/readyz", timeout=5).status == 200:
            break
    except Exception:
        pass
    if time.time() > deadline:
        sys.exit("error: serve was not ready within 120 s")
    time.sleep(0.5)
req = urllib.request.Request(base + "/v1/predict", data=open(image, "rb").read(), method="POST")
answer = json.load(urllib.request.urlopen(req, timeout=60))
assert "gate" in answer and "model_id" in answer, answer
page = urllib.request.urlopen(base + "/", timeout=10).read().decode()
assert "<html" in page.lower(), page[:200]
print(f"check: serve answers a DICOM upload (gate: {answer['gate']['verdict']}) and shows its page")
PY
