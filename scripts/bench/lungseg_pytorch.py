#!/usr/bin/env python3
"""Throughput of the same DeepLabv3+ (ResNet-18 backbone, output stride 16, ASPP 6/12/18,
decoder with layer1 features) in PyTorch eager mode, for the comparison with
`cargo bench --bench lungseg` in docs/performance.md.

Parameter names match crates/cxr-lungseg/src/model.rs, so `--weights run/best.safetensors`
loads a run of ours and `--check` compares the outputs.

    .venv/bin/python scripts/bench/lungseg_pytorch.py --threads 2 --sizes 256 512 --batch 4
"""
import argparse
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def conv(cin, cout, k, stride=1, dilation=1):
    return nn.Conv2d(cin, cout, k, stride, dilation * (k - 1) // 2, dilation, bias=False)


class Block(nn.Module):
    def __init__(self, cin, planes, stride, dilation):
        super().__init__()
        self.conv1, self.bn1 = conv(cin, planes, 3, stride, dilation), nn.BatchNorm2d(planes)
        self.conv2, self.bn2 = conv(planes, planes, 3, 1, dilation), nn.BatchNorm2d(planes)
        self.downsample = None
        if stride != 1 or cin != planes:
            self.downsample = nn.Sequential(conv(cin, planes, 1, stride), nn.BatchNorm2d(planes))

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        s = x if self.downsample is None else self.downsample(x)
        return F.relu(y + s)


class Backbone(nn.Module):
    def __init__(self, width=64, blocks=(2, 2, 2, 2), cin=1):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, width, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        c = width
        for i, (n, (mult, stride, dil)) in enumerate(zip(blocks, [(1, 1, 1), (2, 2, 1), (4, 2, 1), (8, 1, 2)])):
            layer = []
            for b in range(n):
                layer.append(Block(c, width * mult, stride if b == 0 else 1, dil))
                c = width * mult
            setattr(self, f"layer{i + 1}", nn.Sequential(*layer))
        self.low_channels, self.high_channels = width, c

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 3, 2, 1)
        low = self.layer1(x)
        return low, self.layer4(self.layer3(self.layer2(low)))


class ConvBn(nn.Module):
    def __init__(self, cin, cout, k, dilation=1):
        super().__init__()
        self.conv, self.bn = conv(cin, cout, k, 1, dilation), nn.BatchNorm2d(cout)


class DeepLabV3Plus(nn.Module):
    def __init__(self, width=64, aspp=256, rates=(6, 12, 18), low=48, dec=256):
        super().__init__()
        self.backbone = Backbone(width)
        hc = self.backbone.high_channels
        self.aspp = nn.Module()
        self.aspp.b0 = ConvBn(hc, aspp, 1)
        for i, r in enumerate(rates):
            setattr(self.aspp, f"b{i + 1}", ConvBn(hc, aspp, 3, r))
        self.aspp.pool = ConvBn(hc, aspp, 1)
        self.aspp.project = ConvBn(5 * aspp, aspp, 1)
        self.decoder = nn.Module()
        self.decoder.low = ConvBn(self.backbone.low_channels, low, 1)
        self.decoder.conv1, self.decoder.bn1 = conv(aspp + low, dec, 3), nn.BatchNorm2d(dec)
        self.decoder.conv2, self.decoder.bn2 = conv(dec, dec, 3), nn.BatchNorm2d(dec)
        self.decoder.classifier = nn.Conv2d(dec, 1, 1)

    def forward(self, x):
        h, w = x.shape[2:]
        low, high = self.backbone(x)
        a = self.aspp
        cb = lambda m, t: F.relu(m.bn(m.conv(t)))
        outs = [cb(a.b0, high), cb(a.b1, high), cb(a.b2, high), cb(a.b3, high)]
        pooled = cb(a.pool, F.adaptive_avg_pool2d(high, 1))
        outs.append(F.interpolate(pooled, size=high.shape[2:], mode="bilinear", align_corners=False))
        y = F.dropout(cb(a.project, torch.cat(outs, 1)), 0.1, self.training)
        lowf = cb(self.decoder.low, low)
        y = F.interpolate(y, size=lowf.shape[2:], mode="bilinear", align_corners=False)
        y = torch.cat([y, lowf], 1)
        d = self.decoder
        y = F.relu(d.bn1(d.conv1(y)))
        y = F.relu(d.bn2(d.conv2(y)))
        return F.interpolate(d.classifier(y), size=(h, w), mode="bilinear", align_corners=False)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--sizes", type=int, nargs="+", default=[256, 512])
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    ap.add_argument("--amp", action="store_true",
                    help="also measure fp16 autocast (CUDA), as `cargo bench` does there")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    device = torch.device(args.device)
    model = DeepLabV3Plus().eval().to(device)
    n_params = sum(p.numel() for n, p in model.named_parameters() if n.startswith("backbone."))
    print(f"backbone parameters: {n_params}, device {device}"
          + (f" ({torch.cuda.get_device_name(device)})" if device.type == "cuda" else ""))

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    for size in args.sizes:
        x = torch.rand(args.batch, 1, size, size, device=device)
        for amp in [False, True] if args.amp and device.type == "cuda" else [False]:
            with torch.inference_mode(), torch.autocast(device.type, torch.float16,
                                                        enabled=amp):
                for _ in range(2):
                    model(x)
                sync()
                n, t0 = 0, time.perf_counter()
                while time.perf_counter() - t0 < args.seconds:
                    model(x)
                    sync()
                    n += 1
                dt = time.perf_counter() - t0
            what = "fp16 autocast" if amp else "fp32"
            print(f"pytorch eager {size}x{size} batch {args.batch} {what}: "
                  f"{n * args.batch / dt:.2f} images/s ({dt / n * 1000:.2f} ms/batch, "
                  f"{args.threads} threads, torch {torch.__version__})", flush=True)


if __name__ == "__main__":
    main()
