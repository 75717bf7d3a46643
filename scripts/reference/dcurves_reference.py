#!/usr/bin/env python3
"""Net benefit from the `dcurves` package (decision-curve analysis, the peer of
`cxr_stats::calibration::net_benefit` and of the decision curves every evaluation
reports), on the outcomes and probabilities of `b_calibration.json`.

    make peers && .venv/bin/pip install dcurves
    .venv/bin/python scripts/reference/dcurves_reference.py

Writes crates/cxr-stats/tests/reference/b_dcurves.json: for thresholds 1 %, 2 %, …,
99 %, the model's net benefit and treat-all's, as `dcurves.dca` computes them.
"""
import json
import pathlib

import dcurves
import pandas as pd

REF = pathlib.Path(__file__).resolve().parents[2] / "crates/cxr-stats/tests/reference"


def main() -> None:
    cal = json.loads((REF / "b_calibration.json").read_text())
    df = pd.DataFrame({"y": cal["y_true"], "p": cal["y_prob"]})
    thresholds = [round(0.01 * i, 2) for i in range(1, 100)]
    r = dcurves.dca(data=df, outcome="y", modelnames=["p"], thresholds=thresholds)
    rows = []
    for t in thresholds:
        model = r[(r.model == "p") & (r.threshold == t)].net_benefit.item()
        treat_all = r[(r.model == "all") & (r.threshold == t)].net_benefit.item()
        rows.append({"threshold": t, "model": float(model), "treat_all": float(treat_all)})
    out = {
        "meta": {"peer": "dcurves", "version": dcurves.__version__, "pandas": pd.__version__,
                 "data": "y_true, y_prob of b_calibration.json"},
        "net_benefit": rows,
    }
    (REF / "b_dcurves.json").write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
