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
    cross-entropy on random labels, backward, Adam lr 1e-4 step) at --train-batch;
  * the optimiser step alone, as `cargo bench --bench classifier -- optimiser` measures
    it: the loss is the sum of every parameter tensor's sum (one small backward kernel
    per tensor), then AdamW (lr 1e-4, weight decay 1e-4) steps, with a GradScaler on
    CUDA; PyTorch's default implementation (a loop over tensors on the CPU, multi-tensor
    "foreach" kernels on CUDA), then foreach, then fused.

With --suite cuda (and --device cuda) it runs instead the set that `CXR_DEVICE=cuda cargo
bench --bench classifier` runs, under the same names: inference at batch 1, 32, 128 in
fp32; batch 128 under fp16 autocast (torch.autocast, float16), with and without
channels-last; training steps at batch 64 in fp32 and in fp16 autocast + channels-last
(and the `_fit` row: AdamW with weight decay and a GradScaler, as `cxr_nn::fit` steps);
then the two channels-last fp16 measurements again with torch.backends.cudnn.benchmark on.
PyTorch runs batch norm unfolded (eager mode as users run it); ours folds it for inference.

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


def to_channels_last(model, x):
    return model.to(memory_format=torch.channels_last), x.contiguous(
        memory_format=torch.channels_last)


def layouts(args):
    """The memory layouts the CPU suite measures: row-major, and with --channels-last
    also channels-last."""
    return (False, True) if args.channels_last else (False,)


def in_layout(model, x, cl):
    """`model` and `x` in channels-last order when `cl`, else row-major."""
    if cl:
        return to_channels_last(model, x)
    return model.to(memory_format=torch.contiguous_format), x


def cuda_suite(args, device):
    """The measurements of benches/classifier.rs on CUDA, named as criterion names them."""
    out = []
    size = args.size

    def fresh():
        torch.manual_seed(0)
        return build_model().to(device)

    def infer(batch, amp, cl, name):
        model = fresh().eval()
        x = torch.rand(batch, 1, size, size, device=device)
        if cl:
            model, x = to_channels_last(model, x)

        def run():
            with torch.inference_mode(), torch.autocast("cuda", torch.float16, enabled=amp):
                model(x)

        r = summary("inference", batch, size, timed(run, args.warmup, args.iters, device))
        r["name"] = name
        out.append(r)
        log(f"{name}: {r['images_per_s']:.1f} images/s ({r['median_s'] * 1000:.2f} ms/batch)")

    def train(batch, amp, name, scaler=False, **adam):
        model = fresh().train()
        x = torch.rand(batch, 1, size, size, device=device)
        y = torch.randint(0, 3, (batch,), device=device)
        if amp:
            model, x = to_channels_last(model, x)
        if scaler:
            # What an AMP training loop runs (and `cxr_nn::fit`): AdamW with weight
            # decay 1e-4 and a GradScaler.
            opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=1e-4, **adam)
        else:
            opt = torch.optim.Adam(model.parameters(), lr=1e-4, **adam)
        gs = torch.amp.GradScaler("cuda", enabled=scaler)

        def step():
            opt.zero_grad(set_to_none=True)
            with torch.autocast("cuda", torch.float16, enabled=amp):
                logits = model(x)
            loss = F.cross_entropy(logits.float(), y)
            gs.scale(loss).backward()
            gs.step(opt)
            gs.update()

        r = summary("train_step", batch, size, timed(step, args.warmup, args.iters, device))
        r["name"] = name
        out.append(r)
        log(f"{name}: {r['images_per_s']:.1f} images/s ({r['median_s'] * 1000:.2f} ms/step)")

    p = "inception_v3_299_"
    for batch in (1, 32, 128):
        infer(batch, False, False, f"{p}infer_batch{batch}_fp32")
    infer(128, True, False, f"{p}infer_batch128_fp16")
    infer(128, True, True, f"{p}infer_batch128_fp16_channels_last")
    train(64, False, f"{p}train_step_batch64_fp32")
    train(64, True, f"{p}train_step_batch64_fp16_channels_last")
    train(64, True, f"{p}train_step_batch64_fp16_channels_last_fit", scaler=True)
    torch.backends.cudnn.benchmark = True
    infer(128, True, True, f"{p}infer_batch128_fp16_channels_last_cudnn_benchmark")
    train(64, True, f"{p}train_step_batch64_fp16_channels_last_cudnn_benchmark")
    torch.backends.cudnn.benchmark = False
    # Not in the Rust bench: PyTorch's Adam on CUDA updates all parameters with a few
    # multi-tensor kernels (foreach, the default) or one fused kernel; libtorch's C++ Adam,
    # which tch drives, loops over the ~300 parameters. These two show what that costs.
    train(64, True, f"{p}train_step_batch64_fp16_channels_last_adam_foreach_off", foreach=False)
    train(64, True, f"{p}train_step_batch64_fp16_channels_last_adam_fused", fused=True)
    return out


def optimiser_steps(args, model, device):
    """The optimiser step alone (see the module docstring), three implementations."""
    params = [p for p in model.parameters() if p.requires_grad]
    out = []
    for variant, kw in (("", {}), ("_foreach", {"foreach": True}), ("_fused", {"fused": True})):
        opt = torch.optim.AdamW(params, lr=1e-4, weight_decay=1e-4, **kw)
        scaler = torch.amp.GradScaler(device.type, enabled=device.type == "cuda")

        def step():
            opt.zero_grad(set_to_none=True)
            loss = sum(p.sum() for p in params)
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()

        r = summary("optimiser_step", 1, 0, timed(step, args.warmup, args.iters, device))
        r["name"] = f"inception_v3_stepper_step_{len(params)}_tensors_pytorch_adamw{variant}"
        out.append(r)
        log(f"{r['name']}: {r['median_s'] * 1000:.1f} ms/step (median of {r['iters']})")
    return out


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
    ap.add_argument("--suite", choices=["cpu", "cuda"], default="cpu",
                    help="cuda: the CUDA set of `cargo bench --bench classifier` (see above)")
    ap.add_argument("--channels-last", action="store_true",
                    help="CPU suite: also run inference and the training step with "
                         "channels-last model and inputs (AdamW for training)")
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
    if args.suite == "cuda":
        if device.type != "cuda":
            ap.error("--suite cuda needs --device cuda")
        results = cuda_suite(args, device)
        args.batches = []
        args.no_train = True
    model.eval()
    for cl in layouts(args):
        for batch in args.batches:
            model, x = in_layout(model, torch.rand(batch, 1, args.size, args.size,
                                                   device=device), cl)

            def infer():
                with torch.inference_mode():
                    model(x)

            r = summary("inference", batch, args.size,
                        timed(infer, args.warmup, args.iters, device))
            r["channels_last"] = cl
            results.append(r)
            log(f"pytorch eager inference {args.size}x{args.size} batch {batch}"
                f"{' channels-last' if cl else ''}: {r['images_per_s']:.2f} images/s "
                f"({r['median_s'] * 1000:.1f} ms/batch median of {r['iters']})")

    if not args.no_train:
        batch = args.train_batch
        for cl in layouts(args):
            model.train()
            model, x = in_layout(model, torch.rand(batch, 1, args.size, args.size,
                                                   device=device), cl)
            if cl:
                # The channels-last row: AdamW with weight decay, as `cxr_nn::fit` steps.
                opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=1e-4)
            else:
                opt = torch.optim.Adam(model.parameters(), lr=1e-4)
            y = torch.randint(0, 3, (batch,), device=device)

            def step():
                opt.zero_grad(set_to_none=True)
                loss = F.cross_entropy(model(x), y)
                loss.backward()
                opt.step()

            r = summary("train_step", batch, args.size,
                        timed(step, args.warmup, args.iters, device))
            r["channels_last"] = cl
            results.append(r)
            log(f"pytorch eager train step {args.size}x{args.size} batch {batch}"
                f"{' channels-last, AdamW' if cl else ' (Adam 1e-4)'}: "
                f"{r['images_per_s']:.2f} images/s ({r['median_s'] * 1000:.1f} ms/step "
                f"median of {r['iters']})")
    model, _ = in_layout(model, None, False)

    results += optimiser_steps(args, model, device)

    doc = {
        "generator": "scripts/bench/classifier_pytorch.py",
        "model": "torchvision inception_v3, aux_logits=False, 1-channel Conv2d_1a_3x3, 3 classes",
        "parameters": n_params,
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "python": platform.python_version(),
        "device": str(device),
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else
        platform.processor(),
        "suite": args.suite,
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
