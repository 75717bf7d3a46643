#!/usr/bin/env bash
# What one seed is worth: the demo (reproduce_main --synthetic) with 3 classifier seeds ×
# 2 instruction sets (this CPU's own, and oneDNN held to AVX2, as on a CPU without
# AVX-512), each a whole run from scratch, then one table of the six.
#
#   scripts/demo/spread.sh [OUT]        (default out/spread; about 6 × 5 minutes)
#
# Writes OUT/<seed>-<isa>/ (run folders), OUT/spread.md (the table docs/reproducing.md
# shows) and prints it. A finished run folder is re-rendered, not redone.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${1:-out/spread}
mkdir -p "$out"
cargo build --release -q --example reproduce_main
for seed in 2020 2021 2022; do
  printf '[classifier]\nseed = %s\n' "$seed" > "$out/seed-$seed.toml"
  for isa in native avx2; do
    run="$out/$seed-$isa"
    start=$(date +%s)
    if [ "$isa" = avx2 ]; then
      ONEDNN_MAX_CPU_ISA=AVX2 ./target/release/examples/reproduce_main --synthetic \
        --config "$out/seed-$seed.toml" --out "$run" > "$run.log" 2>&1
    else
      ./target/release/examples/reproduce_main --synthetic \
        --config "$out/seed-$seed.toml" --out "$run" > "$run.log" 2>&1
    fi
    echo $(( $(date +%s) - start )) > "$run.seconds"
    tail -n 2 "$run.log"
  done
done
python3 - "$out" <<'PY' | tee "$out/spread.md"
import json, os, sys
out = sys.argv[1]
rows = []
for seed in (2020, 2021, 2022):
    for isa in ("native", "avx2"):
        run = os.path.join(out, f"{seed}-{isa}")
        m = json.load(open(os.path.join(run, "evaluation", "metrics.json")))
        secs = open(run + ".seconds").read().strip()
        pc = m["per_class"]
        rows.append((seed, isa, m["global_accuracy"], pc["covid"]["auc"], pc["bacterial"]["auc"],
                     pc["healthy"]["auc"], m["n_units"], secs))
print("| classifier seed | oneDNN ISA | accuracy | covid-19 AUC | bacterial AUC | healthy AUC | test units | run time (s) |")
print("|---|---|---|---|---|---|---|---|")
for r in rows:
    isa = "this CPU's" if r[1] == "native" else "AVX2"
    print(f"| {r[0]} | {isa} | {100*r[2]:.1f} % | {r[3]:.3f} | {r[4]:.3f} | {r[5]:.3f} | {r[6]} | {r[7]} |")
acc = [r[2] for r in rows]; auc = [r[3] for r in rows]
print()
print(f"covid-19 AUC {min(auc):.3f}–{max(auc):.3f} (spread {max(auc)-min(auc):.3f}); "
      f"accuracy {100*min(acc):.1f}–{100*max(acc):.1f} % (spread {100*(max(acc)-min(acc)):.1f} points).")
PY
