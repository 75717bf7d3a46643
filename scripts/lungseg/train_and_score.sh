#!/usr/bin/env bash
# Trains the lung segmenter on part of a folder pair and scores it on patients it has
# not seen, so that a recipe can be judged on any images/masks pair (Montgomery,
# Shenzhen, JSRT converted to folders, your own):
#
#   scripts/lungseg/train_and_score.sh IMAGES MASKS OUT [options] [-- train_segmenter flags]
#
# options:
#   --test-share F          share of the patients held out for scoring (default 0.2)
#   --patient-separator S   the patient is the file name's part before S (default: the
#                           whole stem, one image per patient)
#   --seed N                seed of the patient split (default 1)
#
# The split is by patient, deterministic (SHA-256 of "seed:patient"), and written as
# symbolic links under OUT/split/{train,test}/{images,masks}; the test patients are
# listed in OUT/split/test_patients.txt. Then OUT/run is trained (train_segmenter with
# the flags after `--`, `--patient-separator` passed on so that validation is by patient
# too) and scored (OUT/scores.csv, the worst images drawn in OUT/scores.worst.png,
# summary on standard output and in OUT/summary.txt).
# Re-running resumes the training and rescores.
set -euo pipefail
cd "$(dirname "$0")/../.."

if [ $# -lt 3 ]; then
  sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
fi
images=$(realpath "$1"); masks=$(realpath "$2"); out=$3; shift 3
share=0.2; sep=""; seed=1; train_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --test-share) share=$2; shift 2 ;;
    --patient-separator) sep=$2; shift 2 ;;
    --seed) seed=$2; shift 2 ;;
    --) shift; train_args=("$@"); break ;;
    *) echo "unknown option $1 (see the header of $0)" >&2; exit 2 ;;
  esac
done
mkdir -p "$out"
out=$(realpath "$out")

python3 - "$images" "$masks" "$out/split" "$share" "$sep" "$seed" <<'PY'
import hashlib, os, sys
images, masks, split, share, sep, seed = sys.argv[1:7]
share = float(share)
stems = {}
for name in sorted(os.listdir(masks)):
    stem, ext = os.path.splitext(name)
    if ext.lower() in (".png", ".gif", ".bmp"):
        stems.setdefault(stem, name)
pairs = []
for name in sorted(os.listdir(images)):
    stem, ext = os.path.splitext(name)
    if ext.lower() in (".png", ".jpg", ".jpeg", ".tif", ".tiff") and stem in stems:
        pairs.append((name, stems[stem]))
if not pairs:
    sys.exit(f"no image/mask pair in {images} and {masks}")
def patient(stem):
    if sep and sep in stem and stem.index(sep) > 0:
        return stem.split(sep, 1)[0]
    return stem
def held_out(p):
    h = hashlib.sha256(f"{seed}:{p}".encode()).digest()
    return int.from_bytes(h[:8], "big") / 2**64 < share
test_patients = set()
for part in ("train", "test"):
    for kind in ("images", "masks"):
        d = os.path.join(split, part, kind)
        os.makedirs(d, exist_ok=True)
        for old in os.listdir(d):
            os.unlink(os.path.join(d, old))
counts = {"train": 0, "test": 0}
for img, msk in pairs:
    p = patient(os.path.splitext(img)[0])
    part = "test" if held_out(p) else "train"
    if part == "test":
        test_patients.add(p)
    counts[part] += 1
    os.symlink(os.path.join(images, img), os.path.join(split, part, "images", img))
    os.symlink(os.path.join(masks, msk), os.path.join(split, part, "masks", msk))
with open(os.path.join(split, "test_patients.txt"), "w") as f:
    f.write("".join(p + "\n" for p in sorted(test_patients)))
print(f"split: {counts['train']} training images, {counts['test']} test images "
      f"of {len(test_patients)} patients", file=sys.stderr)
PY

sep_args=()
if [ -n "$sep" ]; then sep_args=(--patient-separator "$sep"); fi
cargo build --release -q --example train_segmenter --example score_segmenter
start=$(date +%s)
./target/release/examples/train_segmenter \
  --images "$out/split/train/images" --masks "$out/split/train/masks" "${sep_args[@]}" \
  --out "$out/run" "${train_args[@]}"
echo "training: $(( $(date +%s) - start )) s" | tee "$out/summary.txt"
./target/release/examples/score_segmenter --weights "$out/run" \
  --images "$out/split/test/images" --masks "$out/split/test/masks" "${sep_args[@]}" \
  --out "$out/scores.csv" | tee -a "$out/summary.txt"
