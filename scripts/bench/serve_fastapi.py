#!/usr/bin/env python3
"""The obvious Python alternative to `cxr-serve`, for the load test's comparison
(scripts/bench/serve_load.sh, docs/performance.md): FastAPI + uvicorn + PyTorch 2.11,
serving the same two networks with the same weights.

- the lung segmenter: the DeepLabv3+ of scripts/bench/lungseg_pytorch.py, sized from the
  segmenter run's config.json, weights from its safetensors (our parameter names);
- the classifier: torchvision's Inception v3 with a one-channel first convolution,
  weights from the classifier run's safetensors (our names are torchvision's);
- the same steps per request: decode the PNG, resize to the segmenter's input, sigmoid,
  resize back, threshold at 0.5, the paper's gate (two largest components, lungs ≥ 30 %),
  resize image and mask to the classifier's input, (x / 127.5 − 1) × mask, softmax with
  the run's temperature. One image per forward pass (no batching), as a plain FastAPI
  app does; sync handlers run in uvicorn's thread pool.

    .venv/bin/python scripts/bench/serve_fastapi.py --classifier RUN --segmenter SEGRUN --port 8081
"""
import argparse
import io
import json
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from PIL import Image
from safetensors.torch import load_file
from scipy import ndimage

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lungseg_pytorch import DeepLabV3Plus  # noqa: E402


def weights_file(run):
    for name in ("averaged.safetensors", "best.safetensors", "last.safetensors"):
        p = os.path.join(run, name)
        if os.path.exists(p):
            return p
    raise SystemExit(f"{run}: no weights")


def load_segmenter(run):
    m = json.load(open(os.path.join(run, "config.json")))["model"]
    if m["depth"] != 18:
        raise SystemExit("the peer's DeepLab has a ResNet-18 backbone only")
    net = DeepLabV3Plus(width=m["width"], aspp=m["aspp_channels"], rates=tuple(m["aspp_rates"]),
                        low=m["low_level_channels"], dec=m["decoder_channels"])
    state = load_file(weights_file(run))
    missing, unexpected = net.load_state_dict(state, strict=False)
    bad = [k for k in missing if not k.endswith("num_batches_tracked")]
    if bad or unexpected:
        raise SystemExit(f"segmenter weights do not match: missing {bad[:5]}, unexpected {unexpected[:5]}")
    return net.eval(), m["input_size"]


def load_classifier(run):
    c = json.load(open(os.path.join(run, "config.json")))
    m = c["model"]
    if m.get("width", 1.0) != 1.0 or m["input"] != "masked":
        raise SystemExit("the peer serves the paper's network: width 1, masked input")
    net = torchvision.models.inception_v3(weights=None, aux_logits=m.get("aux_logits", False),
                                          init_weights=False, transform_input=False,
                                          num_classes=m["num_classes"])
    net.Conv2d_1a_3x3.conv = nn.Conv2d(1, 32, kernel_size=3, stride=2, bias=False)
    state = load_file(weights_file(run))
    missing, unexpected = net.load_state_dict(state, strict=False)
    bad = [k for k in missing if not k.endswith("num_batches_tracked")]
    if bad or unexpected:
        raise SystemExit(f"classifier weights do not match: missing {bad[:5]}, unexpected {unexpected[:5]}")
    t = None
    tp = os.path.join(run, "temperature.json")
    if os.path.exists(tp):
        t = json.load(open(tp))["temperature"]
    return net.eval(), m["input_size"], t


def gate(mask):
    labels, n = ndimage.label(mask)
    if n < 2:
        return None, f"lungs not found ({n} found)"
    sizes = ndimage.sum(mask, labels, range(1, n + 1))
    keep = np.argsort(sizes)[-2:] + 1
    lungs = np.isin(labels, keep)
    if lungs.mean() < 0.30:
        return None, "lungs too small"
    return lungs, None


def build_app(args):
    torch.set_num_threads(args.threads)
    seg, seg_size = load_segmenter(args.segmenter)
    clf, clf_size, temperature = load_classifier(args.classifier)
    app = FastAPI()

    def run(data):
        try:
            img = np.asarray(Image.open(io.BytesIO(data)).convert("L"), dtype=np.float32)
        except Exception as e:  # noqa: BLE001
            return {"code": "unreadable_image", "message": str(e)}
        h, w = img.shape
        x = torch.from_numpy(img / 255.0)[None, None]
        with torch.inference_mode():
            s = F.interpolate(x, size=(seg_size, seg_size), mode="bilinear", align_corners=False)
            p = torch.sigmoid(seg(s))
            p = F.interpolate(p, size=(h, w), mode="bilinear", align_corners=False)[0, 0].numpy()
            lungs, reason = (p >= 0.5, None) if args.open_gate else gate(p >= 0.5)
            if lungs is None:
                return {"gate": {"accepted": False, "reason": reason}, "probabilities": None}
            xi = F.interpolate(x, size=(clf_size, clf_size), mode="bilinear", align_corners=False)
            mi = F.interpolate(torch.from_numpy(lungs.astype(np.float32))[None, None],
                               size=(clf_size, clf_size), mode="nearest")
            logits = clf((xi * 2.0 - 1.0) * mi)
            if temperature:
                logits = logits / temperature
            pr = torch.softmax(logits, 1)[0].tolist()
        return {"gate": {"accepted": True}, "probabilities":
                {"healthy": pr[0], "covid": pr[1], "bacterial": pr[2]}}

    # The raw body, then the work in the thread pool (what a sync handler gets).
    @app.post("/v1/predict")
    async def predict_raw(request: Request):
        data = await request.body()
        out = await run_in_threadpool(run, data)
        return JSONResponse(out, status_code=200 if "code" not in out else 422)

    @app.get("/readyz")
    def readyz():
        return {"status": "ready"}

    return app


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--classifier", required=True)
    ap.add_argument("--segmenter", required=True)
    ap.add_argument("--port", type=int, default=8081)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 2,
                    help="torch intra-op threads (default: every core, as cxr's libtorch)")
    ap.add_argument("--open-gate", action="store_true",
                    help="classify every image (the load test's setting, as cxr's --min-lungs 0 --min-fraction 0)")
    args = ap.parse_args()
    import uvicorn
    uvicorn.run(build_app(args), host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
