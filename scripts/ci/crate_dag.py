#!/usr/bin/env python3
"""The crate DAG of docs/architecture.md, from `cargo metadata`.

    scripts/ci/crate_dag.py           print the table
    scripts/ci/crate_dag.py --check   fail when docs/architecture.md's table differs
    scripts/ci/crate_dag.py --write   rewrite that table in place

The table sits between `<!-- crate-dag:begin -->` and `<!-- crate-dag:end -->`: one row
per workspace crate with every workspace crate it depends on (normal dependencies;
`?` marks an optional one, behind the facade's `torch` feature) and whether it links
libtorch. `make test` runs `--check`, so the drawing cannot drift from the code.
"""
import json
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "architecture.md"
BEGIN, END = "<!-- crate-dag:begin -->", "<!-- crate-dag:end -->"


def table() -> str:
    meta = json.loads(
        subprocess.run(
            ["cargo", "metadata", "--format-version", "1", "--no-deps", "--offline"],
            cwd=ROOT, check=True, capture_output=True, text=True,
        ).stdout
    )
    names = {p["name"] for p in meta["packages"]}
    rows = ["| crate | depends on (workspace crates) | libtorch |", "|---|---|---|"]
    for p in sorted(meta["packages"], key=lambda p: p["name"]):
        normal = [d for d in p["dependencies"] if d["kind"] is None]
        deps = sorted(
            f"`{d['name']}`" + ("?" if d.get("optional") else "")
            for d in normal if d["name"] in names
        )
        torch = [d for d in normal if d["name"] in ("tch", "torch-sys")]
        if not torch:
            links = "no"
        elif all(d.get("optional") for d in torch):
            links = "with `torch`"
        else:
            links = "yes"
        rows.append(f"| `{p['name']}` | {', '.join(deps) or '—'} | {links} |")
    return "\n".join(rows)


def main() -> int:
    t = table()
    if len(sys.argv) == 1:
        print(t)
        return 0
    text = DOC.read_text()
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    new = f"{head}{BEGIN}\n{t}\n{END}{tail}"
    if sys.argv[1] == "--write":
        DOC.write_text(new)
        return 0
    if new != text:
        print(f"{DOC} is out of date with the crates' Cargo.toml: run {sys.argv[0]} --write", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
