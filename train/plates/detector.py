#!/usr/bin/python3
"""Trains the kiosk's own plate detector (a small CenterNet-style heat map + box regressor) and exports it to ONNX.

    npm run train:plate-finder             # full run (--minutes, default 45), log in train/plates/det-run/train.log
    npm run train:plate-finder -- --smoke  # a few steps on synthetic scenes only, < 1 minute, writes a loadable ONNX

Why: the text-line search (PP-OCR's DB detector, plate-pipeline.ts) finds lines, not plates; the ensemble's US
end-to-end misses are localisation (a line found without its first glyph, a notice read instead of the plate, a
neighbouring glyph read into the line; docs/plates.md "Localisation"). A box around the whole plate lets the
known-box reader (readPlateBox, 95 % on held-out US crops) read it.

Owns: the detector's data pipeline (the `train` rows of train/plates/split.tsv for the photos in
../shared/datasets/plates and for the crops in ../shared/datasets/plate-crops, pasted onto photos from
../shared/datasets/faces as plate-free backgrounds), the model, the training loop, the validation on the `val` rows
(never the held-out ones) and the ONNX export. Input: the frame letterboxed into 384 x 384 (top-left, grey 0.5
padding), RGB, (x/255 - 0.5) / 0.5. Output [1, 5, 48, 48] at stride 8: plate-centre probability (sigmoid applied),
centre offset x, y inside the cell, log(width / 8), log(height / 8). Decoding lives in
src/inference/worker/plate-finder.ts. Its only dependencies are Debian packages, installed with apt when missing.
"""
import argparse
import hashlib
import io
import json
import math
import os
import random
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
SPLIT_PATH = os.path.join(HERE, "split.tsv")
APT_PACKAGES = ["python3-torch", "python3-pil", "python3-numpy"]
SEED = 16
SIDE = 384
STRIDE = 8
GRID = SIDE // STRIDE

sys.path.insert(0, os.path.dirname(HERE))
from apt_deps import apt_install_and_restart  # noqa: E402


def ensure_deps():
    try:
        import numpy  # noqa: F401
        import PIL  # noqa: F401
        import torch  # noqa: F401
    except ImportError:
        apt_install_and_restart(APT_PACKAGES)


ensure_deps()
import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter  # noqa: E402


def read_roles(path=SPLIT_PATH):
    """(set, file) -> role from the committed split (written by train.py; this script never writes it)."""
    roles = {}
    with open(path) as f:
        for line in f:
            if line.startswith("#") or line.startswith("set\t"):
                continue
            c = line.rstrip("\n").split("\t")
            if len(c) == 3:
                roles[(c[0], c[1])] = c[2]
    return roles


def shrink(im, longest):
    s = min(1.0, longest / max(im.size))
    if s < 1.0:
        im = im.resize((max(1, round(im.width * s)), max(1, round(im.height * s))), Image.BILINEAR)
    return im, s


def label_rows(data_root, name, min_cols):
    """The rows of ../shared/datasets/<name>/labels.tsv (header skipped); none when the set is absent."""
    path = os.path.join(data_root, name, "labels.tsv")
    if not os.path.exists(path):
        return []
    with open(path) as f:
        next(f)
        return [c for c in (line.rstrip("\n").split("\t") for line in f) if len(c) >= min_cols]


def load_photos(data_root, roles, want):
    """Car photos of the wanted roles with their plate box, shrunk to <= 800 px (boxes scaled alike)."""
    out = []
    for c in label_rows(data_root, "plates", 6):
        if roles.get(("plates", c[0])) in want:
            im, s = shrink(Image.open(os.path.join(data_root, "plates", c[0])).convert("RGB"), 800)
            out.append((c[0], im, tuple(float(v) * s for v in c[1:5])))
    return out


def load_crops(data_root, roles):
    """The `train` plate crops (US, every state): pasted into scenes."""
    return [Image.open(os.path.join(data_root, "plate-crops", c[0])).convert("RGB")
            for c in label_rows(data_root, "plate-crops", 3) if roles.get(("plate-crops", c[0])) == "train"]


def load_backgrounds(data_root, limit=160):
    """Photos without plates (people), as scenes to paste crops into and as negatives."""
    out = []
    faces = os.path.join(data_root, "faces")
    if not os.path.isdir(faces):
        return out
    files = []
    for d in sorted(os.listdir(faces)):
        p = os.path.join(faces, d)
        if os.path.isdir(p):
            files += [os.path.join(p, f) for f in sorted(os.listdir(p)) if f.lower().endswith((".jpg", ".jpeg", ".png"))]
    random.Random(SEED).shuffle(files)
    for f in files[:limit]:
        out.append(shrink(Image.open(f).convert("RGB"), 640)[0])
    return out


def synthetic_plate(rng):
    """A plate-like rectangle with dark glyph blocks: only for --smoke and when no crops exist."""
    w, h = 200, rng.choice([44, 100])
    im = Image.new("RGB", (w, h), tuple(rng.randint(180, 255) for _ in range(3)))
    d = ImageDraw.Draw(im)
    d.rectangle([1, 1, w - 2, h - 2], outline=(20, 20, 20), width=2)
    for i in range(rng.randint(5, 8)):
        x = 12 + i * 24
        d.rectangle([x, h * 0.25, x + 16, h * 0.75], fill=(15, 15, 15))
    return im


def noise_scene(rng):
    arr = np.random.default_rng(rng.randint(0, 1 << 30)).integers(0, 255, (SIDE // 8, SIDE // 8, 3), dtype=np.uint8)
    return Image.fromarray(arr).resize((SIDE, SIDE), Image.BILINEAR)


def place(rng, im, boxes, zoom):
    """Scale `im` so its longest side is SIDE * zoom and put it in a SIDE x SIDE canvas, keeping every box inside
    when zoomed in. Returns the canvas and the boxes in its pixels."""
    s = SIDE * zoom / max(im.size)
    sw, sh = max(1, round(im.width * s)), max(1, round(im.height * s))
    scaled = im.resize((sw, sh), Image.BILINEAR)
    bx = [(x * s, y * s, w * s, h * s) for (x, y, w, h) in boxes]
    canvas = Image.new("RGB", (SIDE, SIDE), (128, 128, 128))
    if zoom <= 1.0:
        ox, oy = 0, 0  # letterboxed top-left, as the worker does
    else:
        # A window of the scaled image; it contains the first box when there is one.
        lo_x, hi_x = 0, max(0, sw - SIDE)
        lo_y, hi_y = 0, max(0, sh - SIDE)
        if bx:
            x, y, w, h = bx[0]
            lo_x, hi_x = max(lo_x, math.ceil(x + w - SIDE)), min(hi_x, math.floor(x))
            lo_y, hi_y = max(lo_y, math.ceil(y + h - SIDE)), min(hi_y, math.floor(y))
            if lo_x > hi_x or lo_y > hi_y:
                return place(rng, im, boxes, 1.0)
        ox, oy = -rng.randint(lo_x, hi_x), -rng.randint(lo_y, hi_y)
    canvas.paste(scaled, (ox, oy))
    out = []
    for (x, y, w, h) in bx:
        x, y = x + ox, y + oy
        if x >= 0 and y >= 0 and x + w <= SIDE and y + h <= SIDE:
            out.append((x, y, w, h))
    return canvas, out


def paste_plate(rng, canvas, crop, boxes):
    """Paste a plate crop, slightly skewed, at a random free place."""
    w = int(math.exp(rng.uniform(math.log(18), math.log(220))))
    h = max(6, int(w * crop.height / crop.width * rng.uniform(0.85, 1.15)))
    if w >= SIDE - 4 or h >= SIDE - 4:
        return
    p = crop.resize((w, h), Image.BILINEAR)
    if rng.random() < 0.5:
        p = p.rotate(rng.uniform(-8, 8), resample=Image.BILINEAR, expand=True, fillcolor=None)
    w, h = p.size
    for _ in range(10):
        x, y = rng.randint(0, SIDE - w), rng.randint(0, SIDE - h)
        if all(x + w < bx or bx + bw < x or y + h < by or by + bh < y for (bx, by, bw, bh) in boxes):
            mask = Image.new("L", p.size, 255) if p.mode == "RGB" else None
            canvas.paste(p, (x, y), mask)
            boxes.append((float(x), float(y), float(w), float(h)))
            return


def photometric(rng, im):
    if rng.random() < 0.8:
        im = ImageEnhance.Brightness(im).enhance(rng.uniform(0.6, 1.4))
        im = ImageEnhance.Contrast(im).enhance(rng.uniform(0.6, 1.4))
        im = ImageEnhance.Color(im).enhance(rng.uniform(0.3, 1.5))
    if rng.random() < 0.15:
        im = im.convert("L").convert("RGB")
    if rng.random() < 0.3:
        im = im.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.5)))
    if rng.random() < 0.4:
        buf = io.BytesIO()
        im.save(buf, "JPEG", quality=rng.randint(30, 90))
        im = Image.open(io.BytesIO(buf.getvalue())).convert("RGB")
    arr = np.asarray(im, dtype=np.float32)
    if rng.random() < 0.4:
        arr = arr + np.random.default_rng(rng.randint(0, 1 << 30)).normal(0, rng.uniform(2, 10), arr.shape)
    return np.clip(arr, 0, 255)


def example(rng, photos, crops, backgrounds):
    """One training scene: (H, W, 3) float pixels and its plate boxes."""
    r = rng.random()
    if photos and r < 0.7:
        _, im, box = rng.choice(photos)
        zoom = 1.0 if rng.random() < 0.45 else math.exp(rng.uniform(0.0, math.log(2.5)))
        canvas, boxes = place(rng, im, [box], zoom)
        if crops and rng.random() < 0.2:
            paste_plate(rng, canvas, rng.choice(crops), boxes)
    else:
        bg = rng.choice(backgrounds) if backgrounds else noise_scene(rng)
        canvas, boxes = place(rng, bg, [], 1.0 if rng.random() < 0.5 else rng.uniform(1.0, 2.0))
        if rng.random() < 0.8:
            paste_plate(rng, canvas, rng.choice(crops) if crops else synthetic_plate(rng), boxes)
    return photometric(rng, canvas), boxes


def targets(boxes):
    """CenterNet targets: an elliptic Gaussian per plate on the heat map, offset and log size at its centre cell."""
    heat = np.zeros((GRID, GRID), np.float32)
    reg = np.zeros((4, GRID, GRID), np.float32)
    mask = np.zeros((GRID, GRID), np.float32)
    ys, xs = np.mgrid[0:GRID, 0:GRID].astype(np.float32)
    for (x, y, w, h) in boxes:
        cx, cy = (x + w / 2) / STRIDE, (y + h / 2) / STRIDE
        ix, iy = min(GRID - 1, int(cx)), min(GRID - 1, int(cy))
        sx, sy = max(0.5, w / STRIDE / 6), max(0.5, h / STRIDE / 6)
        g = np.exp(-((xs - ix) ** 2) / (2 * sx * sx) - ((ys - iy) ** 2) / (2 * sy * sy))
        heat = np.maximum(heat, g)
        heat[iy, ix] = 1.0
        reg[:, iy, ix] = (cx - ix, cy - iy, math.log(w / STRIDE), math.log(h / STRIDE))
        mask[iy, ix] = 1.0
    return heat, reg, mask


def cbr(cin, cout, stride=1):
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class PlateDet(nn.Module):
    """~0.3 M parameters: a strided conv backbone to stride 32, a two-step top-down path back to stride 8."""

    def __init__(self):
        super().__init__()
        self.s1 = nn.Sequential(cbr(3, 16, 2), cbr(16, 24, 2))
        self.s2 = nn.Sequential(cbr(24, 32, 2), cbr(32, 32))
        self.s3 = nn.Sequential(cbr(32, 64, 2), cbr(64, 64))
        self.s4 = nn.Sequential(cbr(64, 96, 2), cbr(96, 96), cbr(96, 96))
        self.p4 = nn.Conv2d(96, 32, 1)
        self.l3 = nn.Conv2d(64, 32, 1)
        self.l2 = nn.Conv2d(32, 32, 1)
        self.head = nn.Sequential(cbr(32, 32), nn.Conv2d(32, 5, 1))
        self.head[-1].bias.data[0] = -4.0  # start from "no plate anywhere" (focal-loss practice)

    def forward(self, x):
        c2 = self.s2(self.s1(x))
        c3 = self.s3(c2)
        c4 = self.s4(c3)
        p = F.interpolate(self.p4(c4), scale_factor=2.0, mode="nearest") + self.l3(c3)
        p = F.interpolate(p, scale_factor=2.0, mode="nearest") + self.l2(c2)
        return self.head(p)


class Exported(nn.Module):
    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, x):
        y = self.m(x)
        return torch.cat([torch.sigmoid(y[:, :1]), y[:, 1:]], dim=1)


def focal(logit, heat):
    p = torch.sigmoid(logit).clamp(1e-4, 1 - 1e-4)
    pos = heat.eq(1).float()
    neg = 1 - pos
    pos_loss = -torch.log(p) * (1 - p) ** 2 * pos
    neg_loss = -torch.log(1 - p) * p ** 2 * (1 - heat) ** 4 * neg
    n = pos.sum().clamp(min=1)
    return (pos_loss.sum() + neg_loss.sum()) / n


def to_input(arr):
    return torch.from_numpy(((arr / 255.0 - 0.5) / 0.5).astype(np.float32).transpose(2, 0, 1))


def batch(rng, n, photos, crops, backgrounds):
    xs, hs, rs, ms = [], [], [], []
    for _ in range(n):
        arr, boxes = example(rng, photos, crops, backgrounds)
        h, r, m = targets(boxes)
        xs.append(to_input(arr))
        hs.append(torch.from_numpy(h))
        rs.append(torch.from_numpy(r))
        ms.append(torch.from_numpy(m))
    return torch.stack(xs), torch.stack(hs), torch.stack(rs), torch.stack(ms)


def decode(out, k=3):
    """Top-k boxes (x, y, w, h, score) in input pixels from one [5, G, G] output (probabilities in channel 0)."""
    heat = out[0:1].unsqueeze(0)
    peaks = (F.max_pool2d(heat, 3, 1, 1) == heat).float() * heat
    flat = peaks.flatten()
    scores, idx = flat.topk(k)
    res = []
    for s, i in zip(scores.tolist(), idx.tolist()):
        iy, ix = divmod(i, GRID)
        cx = (ix + out[1, iy, ix].item()) * STRIDE
        cy = (iy + out[2, iy, ix].item()) * STRIDE
        w = math.exp(out[3, iy, ix].item()) * STRIDE
        h = math.exp(out[4, iy, ix].item()) * STRIDE
        res.append((cx - w / 2, cy - h / 2, w, h, s))
    return res


def iou(a, b):
    ax, ay, aw, ah = a[:4]
    bx, by, bw, bh = b[:4]
    ix = max(0.0, min(ax + aw, bx + bw) - max(ax, bx))
    iy = max(0.0, min(ay + ah, by + bh) - max(ay, by))
    inter = ix * iy
    return inter / max(1e-9, aw * ah + bw * bh - inter)


def letterbox(im):
    s = SIDE / max(im.size)
    canvas = Image.new("RGB", (SIDE, SIDE), (128, 128, 128))
    canvas.paste(im.resize((max(1, round(im.width * s)), max(1, round(im.height * s))), Image.BILINEAR), (0, 0))
    return np.asarray(canvas, dtype=np.float32), s


def evaluate(model, photos):
    """Top box vs the labelled plate on whole letterboxed photos: recall at IoU 0.5 / 0.7 per region, mean IoU."""
    model.eval()
    per = {}
    with torch.no_grad():
        for name, im, box in photos:
            arr, s = letterbox(im)
            out = Exported(model)(to_input(arr).unsqueeze(0))[0]
            top = decode(out, 1)[0]
            v = iou([c / s for c in top[:4]], box)
            r = per.setdefault(name.split("/")[0], [])
            r.append(v)
    model.train()
    res = {}
    for reg, v in sorted(per.items()):
        res[reg] = {"n": len(v), "r50": sum(x >= 0.5 for x in v) / len(v), "r70": sum(x >= 0.7 for x in v) / len(v),
                    "miou": sum(v) / len(v)}
    allv = [x for v in per.values() for x in v]
    if allv:
        res["all"] = {"n": len(allv), "r50": sum(x >= 0.5 for x in allv) / len(allv),
                      "r70": sum(x >= 0.7 for x in allv) / len(allv), "miou": sum(allv) / len(allv)}
    return res


def export_onnx(model, path):
    model.eval()
    tmp = path + ".tmp"
    torch.onnx.export(Exported(model), torch.zeros(1, 3, SIDE, SIDE), tmp, opset_version=13,
                      input_names=["image"], output_names=["maps"], do_constant_folding=True)
    os.replace(tmp, path)
    model.train()


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=os.path.join(ROOT, "..", "shared", "datasets"))
    ap.add_argument("--out", default=os.path.join(HERE, "det-run"))
    ap.add_argument("--minutes", type=float, default=45)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--eval-every", type=int, default=150)
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--split", default=SPLIT_PATH,
                    help="another split file (a cross-validation fold: rows marked other than train/val are left out)")
    a = ap.parse_args()
    random.seed(SEED)
    np.random.seed(SEED)
    torch.manual_seed(SEED)
    torch.set_num_threads(a.threads)
    os.makedirs(a.out, exist_ok=True)
    log_f = open(os.path.join(a.out, "train.log"), "a")

    def log(msg):
        line = f"{time.strftime('%H:%M:%S')} {msg}"
        print(line, flush=True)
        log_f.write(line + "\n")
        log_f.flush()

    roles = read_roles(a.split)
    if a.smoke:
        photos, val, crops, backgrounds = [], [], [], []
    else:
        photos = load_photos(a.data, roles, {"train"})
        val = load_photos(a.data, roles, {"val"})
        crops = load_crops(a.data, roles)
        backgrounds = load_backgrounds(a.data)
    log(f"data: {len(photos)} train photos, {len(val)} val photos, {len(crops)} train crops, "
        f"{len(backgrounds)} plate-free backgrounds; seed {SEED}")
    model = PlateDet()
    log(f"parameters: {sum(p.numel() for p in model.parameters())}")
    opt = torch.optim.AdamW(model.parameters(), lr=a.lr, weight_decay=1e-4)
    rng = random.Random(SEED)
    budget = 60 if a.smoke else a.minutes * 60  # smoke: exactly max_steps steps
    max_steps = 4 if a.smoke else 10 ** 9
    t0 = time.time()
    step = 0
    best = None
    while step < max_steps and time.time() - t0 < budget:
        # Cosine over the time budget (the step count is not known in advance).
        frac = min(1.0, (time.time() - t0) / budget)
        for g in opt.param_groups:
            g["lr"] = a.lr * (0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * frac))) * min(1.0, (step + 1) / 50)
        x, heat, reg, mask = batch(rng, 2 if a.smoke else a.batch, photos, crops, backgrounds)
        y = model(x)
        lh = focal(y[:, 0], heat)
        m = mask.unsqueeze(1)
        lr_ = (torch.abs(y[:, 1:] - reg) * m).sum() / m.sum().clamp(min=1) / 4
        loss = lh + lr_
        opt.zero_grad()
        loss.backward()
        opt.step()
        step += 1
        if step % 25 == 0:
            log(f"step {step} loss {loss.item():.4f} heat {lh.item():.4f} box {lr_.item():.4f} lr "
                f"{opt.param_groups[0]['lr']:.2e}")
        if val and step % a.eval_every == 0:
            res = evaluate(model, val)
            log(f"val step {step}: " + json.dumps(res))
            key = (res["all"]["r50"], res["all"]["miou"])
            if best is None or key >= best[0]:
                best = (key, step)
                torch.save(model.state_dict(), os.path.join(a.out, "best.pt"))
    log(f"done: {step} steps in {(time.time() - t0) / 60:.1f} min")
    torch.save(model.state_dict(), os.path.join(a.out, "last.pt"))
    export_onnx(model, os.path.join(a.out, "plate_det_last.onnx"))
    if best is not None:
        model.load_state_dict(torch.load(os.path.join(a.out, "best.pt")))
        log(f"best val step {best[1]}: r50 {best[0][0]:.3f} mIoU {best[0][1]:.3f}")
    if val:
        log("val (shipped checkpoint): " + json.dumps(evaluate(model, val)))
        log("train photos (seen in training, not a result): " + json.dumps(evaluate(model, photos)))
    path = os.path.join(a.out, "plate_det.onnx")
    export_onnx(model, path)
    log(f"wrote {path} ({os.path.getsize(path)} bytes, sha256 {sha256(path)})")


if __name__ == "__main__":
    main()
