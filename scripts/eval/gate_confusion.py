#!/usr/bin/env python3
"""Scores a segmentation run on a synthetic cohort against its ground truth.

    .venv/bin/python scripts/eval/gate_confusion.py COHORT_DIR SEGMENT_OUT_DIR

COHORT_DIR is written by `synth_cohort` (records.csv with `defect` and `mask_path`,
images/, masks/); SEGMENT_OUT_DIR by `segment --input COHORT_DIR/images` (qc.csv,
masks/). Prints the quality gate's confusion (good vs bad phantoms, accepted vs rejected,
by defect kind) and the Dice of the predicted masks on the good phantoms.
Needs numpy and Pillow.
"""
import csv
import sys
from collections import Counter
from pathlib import Path

import numpy as np
from PIL import Image


def main(cohort: Path, seg: Path) -> None:
    qc = {r["image"]: r for r in csv.DictReader(open(seg / "qc.csv"))}
    confusion, dices, errors = Counter(), [], 0
    for r in csv.DictReader(open(cohort / "records.csv")):
        rel = str(Path(r["path"]).relative_to("images"))
        row = qc.get(rel)
        if row is None or row["status"] != "ok":
            errors += 1
            continue
        defect = r["defect"]
        confusion[(defect, row["verdict"])] += 1
        if defect == "none":
            truth = np.asarray(Image.open(cohort / r["mask_path"])) > 127
            pred = np.asarray(Image.open(seg / "masks" / rel)) > 127
            denom = truth.sum() + pred.sum()
            dices.append(1.0 if denom == 0 else 2.0 * (truth & pred).sum() / denom)
    good_acc = confusion[("none", "accept")]
    good = good_acc + confusion[("none", "reject")]
    bad_rej = sum(v for (d, verdict), v in confusion.items() if d != "none" and verdict == "reject")
    bad = sum(v for (d, _), v in confusion.items() if d != "none")
    print(f"images scored: {good + bad} (errors/missing: {errors})")
    print(f"good phantoms accepted: {good_acc}/{good} = {good_acc / max(good, 1):.4f}")
    print(f"bad phantoms rejected:  {bad_rej}/{bad} = {bad_rej / max(bad, 1):.4f}")
    for (d, verdict), v in sorted(confusion.items()):
        print(f"  {d:<14} {verdict:<7} {v}")
    d = np.array(dices)
    print(f"Dice on good phantoms: mean {d.mean():.4f}, median {np.median(d):.4f}, min {d.min():.4f} (n={len(d)})")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
