#!/usr/bin/env python3
"""Throughput of the paper's masked-input Inception v3 in PyTorch eager mode, for the
comparison with the Rust (tch) classifier of crates/cxr-classifier in docs/performance.md.

Model: torchvision inception_v3(weights=None, aux_logits=False, init_weights=False,
transform_input=False, num_classes=3) with Conv2d_1a_3x3.conv replaced by a 1-input-channel
nn.Conv2d(1, 32, kernel_size=3, stride=2, bias=False) (grayscale, lung-masked input).
Random weights (seed 0), random inputs; float32.

Measured, each as `--warmup` untimed then `--iters` timed iterations of one batch, reported
as images/s from the median iteration time (mean and min are in the JSON too):
  * inference, eval mode under torch.inference_mode, at --size for batch sizes --batches;
  * training, train mode, one optimisation step per iteration (zero_grad, forward,
    cross-entropy on random labels, backward, Adam lr 1e-4 step) at --train-batch.

Human-readable lines go to stderr; the JSON result goes to stdout (and to --out if given).

    .venv/bin/python scripts/bench/classifier_pytorch.py --threads 2 --out /tmp/classifier_pytorch.json

Defaults (--iters 15 --warmup 2) take about 2 minutes on the 2-core development VM
(one pass of the four measurements is ~6 s there: 0.07 + 0.45 + 2.5 + 3.0 s).
"""
import argparse
import json
import os
import platform
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision


def build_model(num_classes=3):
    model = torchvision.models.inception_v3(
        weights=None, aux_logits=False, init_weights=False, transform_input=False,
        num_classes=num_classes,
    )
    model.Conv2d_1a_3x3.conv = nn.Conv2d(1, 32, kernel_size=3, stride=2, bias=False)
    return model


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(fn, warmup, iters, device):
    for _ in range(warmup):
        fn()
    sync(device)
    times = []
    for _ in range(iters):
        t0 = time.perf_counter()
        fn()
        sync(device)
        times.append(time.perf_counter() - t0)
    return times


def summary(kind, batch, size, times):
    med = statistics.median(times)
    return {
        "kind": kind,
        "batch": batch,
        "size": size,
        "iters": len(times),
        "seconds": times,
        "median_s": med,
        "mean_s": statistics.fmean(times),
        "min_s": min(times),
        "images_per_s": batch / med,
    }


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--size", type=int, default=299)
    ap.add_argument("--batches", type=int, nargs="+", default=[1, 8, 32],
                    help="inference batch sizes")
    ap.add_argument("--train-batch", type=int, default=16)
    ap.add_argument("--iters", type=int, default=15, help="timed iterations per measurement")
    ap.add_argument("--warmup", type=int, default=2, help="untimed iterations per measurement")
    ap.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    ap.add_argument("--no-train", action="store_true", help="skip the training measurement")
    ap.add_argument("--out", help="also write the JSON result to this file")
    args = ap.parse_args()
    if args.iters < 1 or args.warmup < 0:
        ap.error("--iters must be >= 1 and --warmup >= 0")

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    device = torch.device(args.device)
    model = build_model().to(device)
    n_params = sum(p.numel() for p in model.parameters())
    log(f"inception v3 (1-channel input, 3 classes): {n_params} parameters, "
        f"{args.threads} threads, torch {torch.__version__}, device {device}")

    results = []
    model.eval()
    for batch in args.batches:
        x = torch.rand(batch, 1, args.size, args.size, device=device)

        def infer():
            with torch.inference_mode():
                model(x)

        r = summary("inference", batch, args.size, timed(infer, args.warmup, args.iters, device))
        results.append(r)
        log(f"pytorch eager inference {args.size}x{args.size} batch {batch}: "
            f"{r['images_per_s']:.2f} images/s ({r['median_s'] * 1000:.1f} ms/batch median "
            f"of {r['iters']})")

    if not args.no_train:
        batch = args.train_batch
        model.train()
        opt = torch.optim.Adam(model.parameters(), lr=1e-4)
        x = torch.rand(batch, 1, args.size, args.size, device=device)
        y = torch.randint(0, 3, (batch,), device=device)

        def step():
            opt.zero_grad(set_to_none=True)
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            opt.step()

        r = summary("train_step", batch, args.size, timed(step, args.warmup, args.iters, device))
        results.append(r)
        log(f"pytorch eager train step {args.size}x{args.size} batch {batch} (Adam 1e-4): "
            f"{r['images_per_s']:.2f} images/s ({r['median_s'] * 1000:.1f} ms/step median "
            f"of {r['iters']})")

    doc = {
        "generator": "scripts/bench/classifier_pytorch.py",
        "model": "torchvision inception_v3, aux_logits=False, 1-channel Conv2d_1a_3x3, 3 classes",
        "parameters": n_params,
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "python": platform.python_version(),
        "device": str(device),
        "threads": args.threads,
        "size": args.size,
        "warmup": args.warmup,
        "iters": args.iters,
        "results": results,
    }
    text = json.dumps(doc, indent=2)
    print(text)
    if args.out:
        d = os.path.dirname(os.path.abspath(args.out))
        os.makedirs(d, exist_ok=True)
        tmp = args.out + ".tmp"
        with open(tmp, "w") as f:
            f.write(text + "\n")
        os.replace(tmp, args.out)


if __name__ == "__main__":
    main()
