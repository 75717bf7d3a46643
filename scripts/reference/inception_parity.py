#!/usr/bin/env python3
"""Parity fixture for the Rust Inception v3 of crates/cxr-classifier against torchvision.

Builds torchvision's inception_v3 (weights=None, aux_logits=True, init_weights=False,
transform_input=False, num_classes=1000) in eval mode, float32 on the CPU, and fills every
state_dict entry (except `num_batches_tracked`) with deterministic pseudo-random values
that the Rust test regenerates bit for bit, so no weights file is committed. Inputs are
made the same way. The fixture stores the recipe, a few weight checksums and the logits:

    crates/cxr-classifier/tests/fixtures/inception_parity.json

Hash rule (all integer arithmetic wrapping mod 2^64):

    key = fnv1a64(name utf-8 bytes)      offset 0xcbf29ce484222325, prime 0x100000001b3,
                                         xor the byte, then multiply
    z   = splitmix64(key ^ i)            i = element index in row-major (C) order
          splitmix64(x): x += 0x9E3779B97F4A7C15
                         x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9
                         x = (x ^ (x >> 27)) * 0x94D049BB133111EB
                         return x ^ (x >> 31)
    u   = (z >> 11) / 2^53               float64 in [0, 1)
    s   = 2 u - 1

Values (computed in float64, then cast to float32; fan_in = product of shape[1:]):

    *.conv.weight          s * sqrt(6 / fan_in)
    *fc.weight             s * sqrt(3 / fan_in)   (fc and AuxLogits.fc)
    *fc.bias               0.1 s
    *.bn.weight            1 + 0.2 s
    *.bn.bias              0.1 s
    *.bn.running_mean      0.1 s
    *.bn.running_var       0.5 + u
    anything else          error

Input of case c: shape [batch, 3, size, size], value s with name "input/<c>".

Regenerate (from the repository root; needs torch, torchvision and numpy in the venv):

    .venv/bin/python scripts/reference/inception_parity.py
"""
import json
import math
import os

import numpy as np
import torch
import torchvision

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "crates", "cxr-classifier", "tests", "fixtures", "inception_parity.json")

SPEC = (
    "key=fnv1a64(name utf-8); z=splitmix64(key^i), i=row-major index; u=(z>>11)/2^53; s=2u-1; "
    "float64 then cast to float32; fan_in=prod(shape[1:]); .conv.weight: s*sqrt(6/fan_in); "
    "fc.weight: s*sqrt(3/fan_in); fc.bias: 0.1s; .bn.weight: 1+0.2s; .bn.bias: 0.1s; "
    ".bn.running_mean: 0.1s; .bn.running_var: 0.5+u; num_batches_tracked untouched; "
    "input of case c: s with name 'input/<c>', shape [batch,3,size,size]"
)

CASES = [
    {"name": "b2_299", "batch": 2, "size": 299},
    {"name": "b1_75", "batch": 1, "size": 75},
]

CHECKSUM_NAMES = [
    "Conv2d_1a_3x3.conv.weight",
    "Conv2d_1a_3x3.bn.running_var",
    "Mixed_7c.branch_pool.conv.weight",
    "fc.weight",
    "fc.bias",
]

MASK64 = (1 << 64) - 1


def fnv1a64(data: bytes) -> int:
    h = 0xCBF29CE484222325
    for b in data:
        h ^= b
        h = (h * 0x100000001B3) & MASK64
    return h


def splitmix64(x: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        x = x + np.uint64(0x9E3779B97F4A7C15)
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return x ^ (x >> np.uint64(31))


def hash_uniform(name: str, n: int):
    """(u, s) as float64 arrays of length n for the given name."""
    key = np.uint64(fnv1a64(name.encode("utf-8")))
    i = np.arange(n, dtype=np.uint64)
    z = splitmix64(key ^ i)
    u = (z >> np.uint64(11)).astype(np.float64) / float(2**53)
    return u, 2.0 * u - 1.0


def param_values(name: str, shape) -> np.ndarray:
    n = int(np.prod(shape, dtype=np.int64)) if len(shape) else 1
    fan_in = int(np.prod(shape[1:], dtype=np.int64)) if len(shape) > 1 else 1
    u, s = hash_uniform(name, n)
    if name.endswith(".conv.weight"):
        v = s * math.sqrt(6.0 / fan_in)
    elif name.endswith("fc.weight"):
        v = s * math.sqrt(3.0 / fan_in)
    elif name.endswith("fc.bias"):
        v = 0.1 * s
    elif name.endswith(".bn.weight"):
        v = 1.0 + 0.2 * s
    elif name.endswith(".bn.bias"):
        v = 0.1 * s
    elif name.endswith(".bn.running_mean"):
        v = 0.1 * s
    elif name.endswith(".bn.running_var"):
        v = 0.5 + u
    else:
        raise ValueError(f"no fill rule for state_dict entry {name!r} {tuple(shape)}")
    return v.astype(np.float32).reshape(tuple(shape))


def main():
    torch.manual_seed(0)  # irrelevant to the result (every entry is overwritten); keeps init quiet
    model = torchvision.models.inception_v3(
        weights=None, aux_logits=True, init_weights=False, transform_input=False, num_classes=1000
    ).eval()
    model = model.float()

    sd = model.state_dict()
    param_names = []
    checksums = {}
    first_param_sum = None
    with torch.no_grad():
        for name, t in sd.items():
            if name.endswith("num_batches_tracked"):
                continue
            if t.dtype != torch.float32:
                raise ValueError(f"{name}: unexpected dtype {t.dtype}")
            v = torch.from_numpy(param_values(name, list(t.shape)))
            t.copy_(v)
            param_names.append([name, list(t.shape)])
            total = float(t.double().sum())
            if first_param_sum is None:
                first_param_sum = total
            if name in CHECKSUM_NAMES:
                checksums[name] = total
    missing = [n for n in CHECKSUM_NAMES if n not in checksums]
    if missing:
        raise ValueError(f"checksum names not in the state_dict: {missing}")
    # state_dict() shares storage with the module, but check that the copies landed.
    w = model.Conv2d_1a_3x3.conv.weight.detach().double().sum().item()
    assert w == checksums["Conv2d_1a_3x3.conv.weight"], "state_dict copy did not reach the model"

    cases = []
    for c in CASES:
        shape = (c["batch"], 3, c["size"], c["size"])
        _, s = hash_uniform(f"input/{c['name']}", int(np.prod(shape)))
        x = torch.from_numpy(s.astype(np.float32).reshape(shape))
        with torch.no_grad():
            out = model(x)
        if not torch.is_tensor(out):
            raise TypeError(f"expected logits tensor in eval mode, got {type(out)}")
        logits = out.detach().float()
        if not torch.isfinite(logits).all():
            raise ValueError(f"{c['name']}: non-finite logits")
        ld = logits.double()
        print(
            f"{c['name']}: logits shape {tuple(logits.shape)} min {ld.min().item():.6g} "
            f"max {ld.max().item():.6g} mean {ld.mean().item():.6g} std {ld.std().item():.6g} "
            f"argmax {logits.argmax(1).tolist()}"
        )
        cases.append({
            "name": c["name"],
            "batch": c["batch"],
            "size": c["size"],
            "logits": [[float(v) for v in row] for row in logits.numpy()],
            "input_sum": float(x.double().sum()),
            "first_param_sum": first_param_sum,
        })

    doc = {
        "generator": "scripts/reference/inception_parity.py",
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "spec": SPEC,
        "state_dict_entries": len(param_names),
        "checksums": checksums,
        "param_names": param_names,
        "cases": cases,
    }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    tmp = OUT + ".tmp"
    with open(tmp, "w") as f:
        json.dump(doc, f, separators=(",", ":"))
        f.write("\n")
    os.replace(tmp, OUT)
    print(f"state_dict entries filled: {len(param_names)}")
    for k, v in checksums.items():
        print(f"checksum {k}: {v!r}")
    print(f"wrote {os.path.relpath(OUT, ROOT)} ({os.path.getsize(OUT)} bytes)")


if __name__ == "__main__":
    main()
