#!/usr/bin/python3
"""Trains the kiosk's own plate recogniser (a small conv CTC reader) and exports it to ONNX.

    npm run train:plates                 # full run (about an hour on one core), log in train/plates/run/train.log
    npm run train:plates -- --smoke      # a few steps on synthetic plates only, < 1 minute, writes a loadable ONNX
    npm run train:plates -- --init-onnx models/trained/plate_rec.onnx --lr 4e-4 --warmup 50 --minutes 52 \
        --eval-every 100 --real-frac 0.6 --us-crop-weight 1.5 --eu-weight 2 --lookalike 0.35   # fine-tune (run 3)

Owns: the data split (train/plates/split.tsv, fixed seed, written once and committed), the training data pipeline
(real crops from the training part of ../shared/datasets/{plate-crops,plates} plus synthetic plates from synth.py),
the model, the training loop, the ONNX export (float; the int8 is built by scripts/quantise-plate-rec.mjs with the
project's own quantiser) and the parity fixture the browser test checks (test/fixtures/plate-rec/). It must never
read the held-out rows of split.tsv for anything but the split itself, and never download anything: its only
dependencies are Debian packages, which it installs with apt-get when they are missing (no pip).

Input: one greyscale crop resized (stretched) to 32 x 128, (x/255 - 0.5) / 0.5; a plate crop anywhere from the
text line alone to the whole plate with a margin. Output: per-column class probabilities [N, C, 1, 32] (softmax
over C; class 0 is the CTC blank, then CHARSET). Two-line plates are not modelled (see MODEL_CARD.md).
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
APT_PACKAGES = ["python3-torch", "python3-pil", "python3-numpy", "python3-onnx", "fonts-dejavu-core",
                "fonts-liberation", "fonts-wqy-microhei", "fonts-roboto-unhinted", "fonts-bebas-neue",
                "fonts-open-sans", "fonts-b612"]
FONT_FILES = ["/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
              "/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf",
              "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
              "/usr/share/fonts/truetype/roboto/unhinted/RobotoCondensed-Bold.ttf",
              "/usr/share/fonts/opentype/bebas-neue/BebasNeue-Bold.otf",
              "/usr/share/fonts/truetype/open-sans/OpenSans-CondBold.ttf",
              "/usr/share/fonts/opentype/b612/B612-Bold.otf"]


sys.path.insert(0, os.path.dirname(HERE))
from apt_deps import apt_install_and_restart  # noqa: E402


def ensure_deps():
    """Install the Debian packages this script needs (once; apt is idempotent)."""
    missing = False
    try:
        import numpy  # noqa: F401
        import PIL  # noqa: F401
        import torch  # noqa: F401
    except ImportError:
        missing = True
    if "--init-onnx" in sys.argv:  # only fine-tuning reads an ONNX file
        try:
            import onnx  # noqa: F401
        except ImportError:
            missing = True
    if not all(os.path.exists(f) for f in FONT_FILES):
        missing = True
    if not missing:
        return
    apt_install_and_restart(APT_PACKAGES)


ensure_deps()

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
from PIL import Image, ImageFilter  # noqa: E402

sys.path.insert(0, HERE)
import synth  # noqa: E402

CHARSET = synth.DIGITS + synth.LETTERS + synth.CN_PROVINCES
IN_H, IN_W = 32, 128
SEED = 16
# Share of whole-plate crops cut with loose, off-centre margins (set by --loose; 0 keeps earlier runs' draws). The
# plate finder's boxes are looser and less centred than a labelled box (FINDER_CARD.md: mean IoU 0.75), and a box
# read is only worth trusting if the reader reads such a box as well as a tight one.
LOOSE = 0.0
HOLDOUT = 0.25  # of each region's dev photos and of the plate crops: never trained or tuned on
VAL = 0.12  # of the remaining real data: the training part's own validation split (checkpoint choice)
SPLIT_PATH = os.path.join(HERE, "split.tsv")
FIXTURE_DIR = os.path.join(ROOT, "test", "fixtures", "plate-rec")


# ---------------------------------------------------------------- data split

def dataset_rows(data_root):
    """All labelled rows: (set, file, region, label, box or None)."""
    rows = []
    crops = os.path.join(data_root, "plate-crops", "labels.tsv")
    with open(crops) as f:
        next(f)
        for line in f:
            c = line.rstrip("\n").split("\t")
            if len(c) >= 3:
                rows.append(("plate-crops", c[0], "us", c[2], None))
    plates = os.path.join(data_root, "plates", "labels.tsv")
    with open(plates) as f:
        next(f)
        for line in f:
            c = line.rstrip("\n").split("\t")
            if len(c) >= 6:
                rows.append(("plates", c[0], c[0].split("/")[0], c[5], tuple(int(float(v)) for v in c[1:5])))
    return rows


def make_split(rows):
    """Per (set, region): sort, shuffle with SEED, first 25 % held out, next 12 % of the rest validation."""
    groups = {}
    for r in rows:
        groups.setdefault((r[0], r[2]), []).append(r[1])
    roles = {}
    for key in sorted(groups):
        files = sorted(groups[key])
        random.Random(f"{SEED}:{key[0]}:{key[1]}").shuffle(files)
        n_hold = round(len(files) * HOLDOUT)
        rest = files[n_hold:]
        n_val = round(len(rest) * VAL)
        for i, f in enumerate(files):
            roles[(key[0], f)] = "holdout" if i < n_hold else ("val" if i < n_hold + n_val else "train")
    return roles


def load_split(rows):
    if os.path.exists(SPLIT_PATH):
        roles = {}
        with open(SPLIT_PATH) as f:
            for line in f:
                if line.startswith("#") or line.startswith("set\t"):
                    continue
                s, fl, role = line.rstrip("\n").split("\t")
                roles[(s, fl)] = role
        unknown = [r for r in rows if (r[0], r[1]) not in roles]
        if unknown:
            sys.exit(f"split.tsv does not list {len(unknown)} dataset rows (e.g. {unknown[0][1]}): the data changed")
        return roles
    roles = make_split(rows)
    with open(SPLIT_PATH, "w") as f:
        f.write(f"# written by train.py (seed {SEED}, holdout {HOLDOUT} per set and region, val {VAL} of the rest)\n")
        f.write("set\tfile\trole\n")
        for (s, fl), role in sorted(roles.items()):
            f.write(f"{s}\t{fl}\t{role}\n")
    return roles


# ---------------------------------------------------------------- samples

def canon(label, region):
    t = "".join(ch for ch in label.upper() if ch in CHARSET)
    # US plates print one glyph for O and 0 and most states issue no O (the matcher spells US O as 0, formats.ts).
    return t.replace("O", "0") if region == "us" else t


class RealSample:
    """A grey image region holding one plate and the plate's box inside it."""

    def __init__(self, img, box, text, region, kind):
        self.img, self.box, self.text, self.region, self.kind = img, box, text, region, kind  # kind: crop | photo


def load_real(data_root, rows, roles, role):
    out = []
    for s, fl, region, label, box in rows:
        if roles[(s, fl)] != role:
            continue
        path = os.path.join(data_root, s, fl)
        im = Image.open(path).convert("L")
        if box is None:
            out.append(RealSample(im, (0, 0, im.width, im.height), canon(label, region), region, "crop"))
            continue
        x, y, w, h = box
        # Keep context around the plate (margins are drawn from it), scaled so the plate is at most 96 px high.
        X0, Y0 = max(0, int(x - 0.6 * w)), max(0, int(y - 1.0 * h))
        X1, Y1 = min(im.width, int(x + 1.6 * w)), min(im.height, int(y + 2.0 * h))
        crop = im.crop((X0, Y0, X1, Y1))
        k = min(1.0, 96 / max(1, h))
        if k < 1:
            crop = crop.resize((max(1, int(crop.width * k)), max(1, int(crop.height * k))), Image.BOX)
        out.append(RealSample(crop, ((x - X0) * k, (y - Y0) * k, (x - X0 + w) * k, (y - Y0 + h) * k),
                              canon(label, region), region, "photo"))
    return out


def backgrounds_from(data_root, rows, roles, limit=60):
    """Scene backgrounds: training-split car photos with their plate painted out (so no second plate shows)."""
    out = []
    for s, fl, region, label, box in rows:
        if s != "plates" or roles[(s, fl)] != "train":
            continue
        im = Image.open(os.path.join(data_root, s, fl)).convert("RGB")
        x, y, w, h = box
        im.paste(im.crop((x, max(0, y - 2 * h), x + w, max(1, y - h))).resize((w, h)), (x, y))
        k = min(1.0, 640 / max(im.size))
        out.append(im.resize((int(im.width * k), int(im.height * k))))
        if len(out) >= limit:
            break
    return out


def quad_crop(rng, img, quad, mode):
    """Cut `quad` (tl, tr, br, bl) grown by random margins out of `img`, straightened to IN_W x IN_H."""
    (tlx, tly), (trx, try_), (brx, bry), (blx, bly) = quad
    w = math.hypot(trx - tlx, try_ - tly)
    h = math.hypot(blx - tlx, bly - tly)
    if mode in ("band", "band-real"):
        mx = [rng.uniform(0.02, 0.35) * h, rng.uniform(0.02, 0.35) * h]
        my = [rng.uniform(-0.02, 0.2) * h, rng.uniform(-0.02, 0.2) * h]
    elif mode == "loose":
        mx = [rng.uniform(-0.02, 0.25) * w, rng.uniform(-0.02, 0.25) * w]
        my = [rng.uniform(-0.05, 0.55) * h, rng.uniform(-0.05, 0.55) * h]
    else:
        mx = [rng.uniform(-0.02, 0.12) * w, rng.uniform(-0.02, 0.12) * w]
        my = [rng.uniform(-0.05, 0.2) * h, rng.uniform(-0.05, 0.2) * h]
    ux, uy = (trx - tlx) / max(w, 1e-6), (try_ - tly) / max(w, 1e-6)
    vx, vy = (blx - tlx) / max(h, 1e-6), (bly - tly) / max(h, 1e-6)
    j = 0.04 * h

    def pt(px, py, ex, ey):
        return (px + ex * ux + ey * vx + rng.uniform(-j, j), py + ex * uy + ey * vy + rng.uniform(-j, j))

    tl = pt(tlx, tly, -mx[0], -my[0])
    tr = pt(trx, try_, mx[1], -my[0])
    br = pt(brx, bry, mx[1], my[1])
    bl = pt(blx, bly, -mx[0], my[1])
    ch = (math.hypot(bl[0] - tl[0], bl[1] - tl[1]) + math.hypot(br[0] - tr[0], br[1] - tr[1])) / 2
    k = 1.0
    if ch > 2.5 * IN_H:  # pre-shrink so the straightening does not alias
        k = 2.0 * IN_H / ch
        img = img.resize((max(1, int(img.width * k)), max(1, int(img.height * k))), Image.BOX)
    data = [c * k for p in (tl, bl, br, tr) for c in p]
    return img.transform((IN_W, IN_H), Image.QUAD, data, Image.BILINEAR)


def degrade(rng, im):
    """Camera-like degradation of a 128 x 32 crop: resolution loss, blur, contrast, noise, JPEG."""
    small = rng.random() < 0.35
    if small:  # seen small: the crop only 12-26 px high in the camera frame
        hh = rng.randint(12, 26)
        ww = max(8, int(IN_W * hh / IN_H * rng.uniform(0.7, 1.2)))
        im = im.resize((ww, hh), Image.BILINEAR).resize((IN_W, IN_H), Image.BILINEAR)
    if rng.random() < (0.1 if small else 0.3):
        im = im.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.1)))
    a = np.asarray(im, dtype=np.float32)
    lo, hi = rng.uniform(0, 70), rng.uniform(180, 255)
    a = lo + a * (hi - lo) / 255
    if rng.random() < 0.3:
        g = rng.uniform(0.6, 1.6)
        a = 255 * (np.clip(a, 0, 255) / 255) ** g
    if rng.random() < 0.3:  # uneven light across the plate
        a = a * np.linspace(rng.uniform(0.6, 1.0), rng.uniform(0.6, 1.0), IN_W)[None, :]
    nrng = np.random.default_rng(rng.getrandbits(32))
    if rng.random() < 0.5:
        a = a + nrng.normal(0, rng.uniform(2, 10), a.shape)
    if rng.random() < 0.05:
        a = 255 - a
    im = Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))
    if rng.random() < 0.5:
        b = io.BytesIO()
        im.save(b, "JPEG", quality=rng.randint(15, 90))
        im = Image.open(io.BytesIO(b.getvalue())).convert("L")
    return im


def to_tensor(im):
    return (np.asarray(im, dtype=np.float32) / 255.0 - 0.5) / 0.5


def real_example(rng, s, augment=True):
    x0, y0, x1, y1 = s.box
    quad = [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
    if not augment:
        return Image.fromarray(np.asarray(s.img.crop((int(x0), int(y0), int(math.ceil(x1)), int(math.ceil(y1))))
                                          .resize((IN_W, IN_H), Image.BILINEAR))), s.text
    if rng.random() < 0.3:
        # Approximate a text-line crop: the characters of US/BR/EU plates sit in the plate's central band.
        h = y1 - y0
        t, b = y0 + h * rng.uniform(0.1, 0.25), y0 + h * rng.uniform(0.75, 0.9)
        quad = [(x0, t), (x1, t), (x1, b), (x0, b)]
        im = quad_crop(rng, s.img, quad, "band-real")
    else:
        im = quad_crop(rng, s.img, quad, "loose" if LOOSE and rng.random() < LOOSE else "plate")
    return degrade(rng, im), s.text


def synth_example(rng, backgrounds):
    region = rng.choices(["us", "eu", "br", "cn"], weights=[0.45, 0.3, 0.17, 0.08])[0]
    scene, text, tq, pq = synth.scene(rng, region, backgrounds)
    mode = "band" if rng.random() < 0.5 else "plate"
    if mode == "plate" and LOOSE and rng.random() < LOOSE:
        mode = "loose"
    im = quad_crop(rng, scene, tq if mode == "band" else pq, mode)
    return degrade(rng, im), text


# ---------------------------------------------------------------- model

def conv(cin, cout, k=(3, 3), p=(1, 1)):
    return [nn.Conv2d(cin, cout, k, padding=p, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]


class PlateRec(nn.Module):
    """Conv-only CRNN: 1x32x128 -> 32 columns; 1x3 convs along the sequence give each column context."""

    def __init__(self, classes):
        super().__init__()
        self.body = nn.Sequential(
            *conv(1, 32), nn.MaxPool2d(2),  # 16 x 64
            *conv(32, 64), nn.MaxPool2d(2),  # 8 x 32
            *conv(64, 96), *conv(96, 96), nn.MaxPool2d((2, 1)),  # 4 x 32
            *conv(96, 160), *conv(160, 160), nn.MaxPool2d((2, 1)),  # 2 x 32
            *conv(160, 192, (2, 1), (0, 0)),  # 1 x 32
            nn.Dropout(0.15),
            *conv(192, 192, (1, 3), (0, 1)),
            *conv(192, 192, (1, 3), (0, 1)),
            nn.Dropout(0.15),
        )
        self.head = nn.Conv2d(192, classes, 1)

    def forward(self, x):
        return self.head(self.body(x))  # [N, C, 1, T] logits


class Exported(nn.Module):
    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, x):
        return torch.softmax(self.m(x), dim=1)


def greedy(logits):
    """[N, C, 1, T] -> strings (CTC best path)."""
    best = logits[:, :, 0, :].argmax(1).tolist()
    out = []
    for seq in best:
        s, prev = [], 0
        for c in seq:
            if c != prev and c != 0:
                s.append(CHARSET[c - 1])
            prev = c
        out.append("".join(s))
    return out


def fold_o(s):
    return s.replace("O", "0")


# ---------------------------------------------------------------- training

def batch_tensors(examples):
    x = torch.from_numpy(np.stack([to_tensor(im) for im, _ in examples])[:, None])
    targets = [[CHARSET.index(c) + 1 for c in t] for _, t in examples]
    flat = torch.tensor([i for t in targets for i in t], dtype=torch.long)
    lens = torch.tensor([len(t) for t in targets], dtype=torch.long)
    return x, flat, lens


def evaluate(model, val, rng_seed=0):
    model.eval()
    ok = ok_fold = 0
    with torch.no_grad():
        for i in range(0, len(val), 64):
            chunk = val[i:i + 64]
            ims = [real_example(random.Random(rng_seed), s, augment=False) for s in chunk]
            x = torch.from_numpy(np.stack([to_tensor(im) for im, _ in ims])[:, None])
            for (_, t), p in zip(ims, greedy(model(x))):
                ok += p == t
                ok_fold += fold_o(p) == fold_o(t)
    model.train()
    n = max(1, len(val))
    return ok / n, ok_fold / n


# ---------------------------------------------------------------- starting from a shipped ONNX

def run_onnx_graph(graph, x):
    """Evaluate an exported plate_rec graph (Conv, Relu, MaxPool, Softmax only) with torch.nn.functional.

    An interpreter of the ONNX file itself, independent of the PlateRec module, so that init_from_onnx can check
    the weights it loaded reproduce the file's outputs (Debian's python3-onnx 1.12 has no reference runtime)."""
    import onnx.numpy_helper as nh
    import torch.nn.functional as F
    vals = {i.name: torch.from_numpy(nh.to_array(i).copy()) for i in graph.initializer}
    vals[graph.input[0].name] = x
    for n in graph.node:
        a = {at.name: (list(at.ints) if at.ints else at.i) for at in n.attribute}
        ins = [vals[i] for i in n.input]
        if n.op_type == "Conv":
            if a.get("group", 1) != 1 or set(a.get("dilations", [1, 1])) != {1}:
                sys.exit(f"--init-onnx: unexpected Conv attributes {a}")
            p = a.get("pads", [0, 0, 0, 0])
            if p[0] != p[2] or p[1] != p[3]:
                sys.exit(f"--init-onnx: asymmetric pads {p}")
            y = F.conv2d(ins[0], ins[1], ins[2] if len(ins) > 2 else None, stride=a.get("strides", [1, 1]),
                         padding=(p[0], p[1]))
        elif n.op_type == "Relu":
            y = F.relu(ins[0])
        elif n.op_type == "MaxPool":
            p = a.get("pads", [0, 0, 0, 0])
            y = F.max_pool2d(ins[0], a["kernel_shape"], a.get("strides", a["kernel_shape"]), (p[0], p[1]))
        elif n.op_type == "Softmax":
            y = torch.softmax(ins[0], dim=a.get("axis", 1))
        else:
            sys.exit(f"--init-onnx: operator {n.op_type} is not one plate_rec exports")
        vals[n.output[0]] = y
    return vals[graph.output[0].name]


def init_from_onnx(model, path, stat_inputs, check_inputs, log):
    """Load an exported plate_rec ONNX (BatchNorm folded into the convs) into `model` and prove it reproduces it.

    Export folded each BatchNorm into the conv before it, so the file holds conv weights W' and biases b' only.
    Each conv gets W'; its BatchNorm is set to running mean m and variance v measured on `stat_inputs` (the
    conv's output statistics on training-mix crops), weight sqrt(v + eps) and bias b' + m: in eval mode that is
    exactly x + b' (the file's function), and in training mode, where BatchNorm uses the batch's own statistics,
    it stays close to it instead of renormalising unscaled activations (which an identity BatchNorm would do).
    Convs are matched by the node names torch.onnx writes (/m/body/body.K/Conv) and by shape; a missing or
    mis-shaped weight stops the run. Then the model and the graph run on `check_inputs`: the largest difference
    of the softmax outputs must stay under 1e-4."""
    import onnx
    g = onnx.load(path).graph
    init = {i.name: i for i in g.initializer}
    import onnx.numpy_helper as nh
    body = list(model.body)
    loaded = 0
    with torch.no_grad():
        for n in g.node:
            if n.op_type != "Conv":
                continue
            w = torch.from_numpy(nh.to_array(init[n.input[1]]).copy())
            b = torch.from_numpy(nh.to_array(init[n.input[2]]).copy())
            if n.name.startswith("/m/body/body."):
                k = int(n.name.split("/")[3].split(".")[1])
                cv, bn = body[k], body[k + 1]
                if not isinstance(cv, nn.Conv2d) or not isinstance(bn, nn.BatchNorm2d):
                    sys.exit(f"--init-onnx: {n.name} is not a conv + BatchNorm of PlateRec")
            elif n.name.startswith("/m/head/"):
                cv, bn = model.head, None
            else:
                sys.exit(f"--init-onnx: unknown conv {n.name}")
            if tuple(cv.weight.shape) != tuple(w.shape):
                sys.exit(f"--init-onnx: {n.name} weight {tuple(w.shape)} != model {tuple(cv.weight.shape)}")
            cv.weight.copy_(w)
            if bn is None:
                cv.bias.copy_(b)
            else:
                bn.weight.fill_(1.0)
                bn.bias.copy_(b)
                bn.running_mean.zero_()
                bn.running_var.fill_(1.0 - bn.eps)  # identity until the statistics below replace it
            loaded += 1
    n_conv = sum(isinstance(m, nn.Conv2d) for m in model.modules())
    if loaded != n_conv:
        sys.exit(f"--init-onnx: loaded {loaded} convs, the model has {n_conv}")
    # Per-channel statistics of each BatchNorm's input; an identity BatchNorm leaves later layers' inputs as the
    # final model will see them, so one pass measures all of them.
    bns = [m for m in model.body if isinstance(m, nn.BatchNorm2d)]
    sums = {id(b): [0.0, 0.0, 0] for b in bns}

    def hook(mod, inp):
        t, acc = inp[0].double(), sums[id(mod)]
        acc[0] = acc[0] + t.sum((0, 2, 3))
        acc[1] = acc[1] + (t ** 2).sum((0, 2, 3))
        acc[2] += t.numel() // t.shape[1]

    hooks = [b.register_forward_pre_hook(hook) for b in bns]
    model.eval()
    with torch.no_grad():
        model(stat_inputs)
    for h in hooks:
        h.remove()
    with torch.no_grad():
        for b in bns:
            s1, s2, cnt = sums[id(b)]
            mean = s1 / cnt
            var = (s2 / cnt - mean ** 2).clamp_min(1e-6)
            shift = b.bias.clone()
            b.running_mean.copy_(mean.float())
            b.running_var.copy_(var.float())
            b.weight.copy_(torch.sqrt(var + b.eps).float())
            b.bias.copy_(shift + mean.float())
    with torch.no_grad():
        mine = torch.softmax(model(check_inputs), 1)
        theirs = run_onnx_graph(g, check_inputs)
    diff = float((mine - theirs).abs().max())
    same = greedy(mine.log()) == greedy(theirs.log())
    model.train()
    log(f"init from {os.path.relpath(path, ROOT)}: {loaded} convs loaded, BatchNorm statistics from "
        f"{stat_inputs.shape[0]} crops; max |softmax difference| vs the ONNX graph {diff:.2e} on "
        f"{check_inputs.shape[0]} crops, same greedy reads: {same}")
    if diff > 1e-4 or not same:
        sys.exit("--init-onnx: the loaded model does not reproduce the ONNX file")


def export_onnx(model, path):
    model.eval()
    tmp = path + ".tmp"
    torch.onnx.export(Exported(model), torch.zeros(1, 1, IN_H, IN_W), tmp, opset_version=13,
                      input_names=["image"], output_names=["probs"],
                      dynamic_axes={"image": {0: "n"}, "probs": {0: "n"}}, do_constant_folding=True)
    os.replace(tmp, path)
    model.train()


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def write_fixture(model, onnx_path, fixture_dir):
    """Crops with the PyTorch model's reads: the browser test runs the shipped ONNX on the same pixels."""
    os.makedirs(fixture_dir, exist_ok=True)
    rng = random.Random(1234)
    items = []
    model.eval()
    for i, region in enumerate(["us", "us", "eu", "eu", "br", "br", "cn", "us"]):
        scene, text, tq, pq = synth.scene(rng, region, [])
        im = quad_crop(rng, scene, tq if i % 2 else pq, "band" if i % 2 else "plate")
        name = f"synthetic-{i}-{region}.png"
        im.save(os.path.join(fixture_dir, name))
        items.append((name, text, im))
    with torch.no_grad():
        x = torch.from_numpy(np.stack([to_tensor(im) for _, _, im in items])[:, None])
        logits = model(x)
        probs = torch.softmax(logits, 1)
        reads = greedy(logits)
    out = {
        "about": "Written by train/plates/train.py: each PNG is a 128x32 grey model input; `read` is the PyTorch "
                 "model's greedy CTC read, `maxProb` its most likely class probability per column.",
        "model": os.path.relpath(onnx_path, ROOT),
        "sha256": sha256(onnx_path),
        "items": [
            {"file": name, "rendered": text, "read": r,
             "maxProb": [round(float(v), 5) for v in probs[k, :, 0, :].max(0).values.tolist()]}
            for k, ((name, text, _), r) in enumerate(zip(items, reads))
        ],
    }
    with open(os.path.join(fixture_dir, "expected.json"), "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    model.train()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--smoke", action="store_true", help="a few steps on synthetic data only (< 1 minute)")
    ap.add_argument("--data", default=os.path.join(ROOT, "..", "shared", "datasets"))
    ap.add_argument("--out", default=os.path.join(HERE, "run"))
    ap.add_argument("--steps", type=int, default=2200)
    ap.add_argument("--batch", type=int, default=48)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--minutes", type=float, default=0,
                    help="train for this wall time instead of --steps (the learning-rate schedule follows elapsed "
                         "time, so the run depends on the machine's load; the log names the steps reached)")
    ap.add_argument("--eval-every", type=int, default=300)
    ap.add_argument("--warmup", type=int, default=300, help="linear learning-rate warm-up steps")
    ap.add_argument("--init-onnx", default="",
                    help="fine-tune: start from the weights of an exported plate_rec ONNX (e.g. the shipped "
                         "models/trained/plate_rec.onnx); the loaded model must reproduce the file's outputs")
    ap.add_argument("--real-frac", type=float, default=0.5, help="share of each batch drawn from real crops")
    ap.add_argument("--us-crop-weight", type=float, default=1.0,
                    help="sampling weight of a real US crop (plate-crops) relative to a photo's plate box")
    ap.add_argument("--eu-weight", type=float, default=1.0, help="sampling weight of a real EU photo's plate")
    ap.add_argument("--us-photo-weight", type=float, default=1.0,
                    help="sampling weight of a real US photo's plate box (the end-to-end domain: small plates in "
                         "whole-car photos); a plate-crops crop weighs --us-crop-weight")
    ap.add_argument("--lookalike", type=float, default=0.0,
                    help="chance that a synthetic EU/BR character is drawn from the look-alike set (synth.py)")
    ap.add_argument("--loose", type=float, default=0.0,
                    help="share of whole-plate crops cut with loose margins (up to 25 %% of the width and 55 %% of "
                         "the height each side), as a plate finder's box is")
    ap.add_argument("--split", default="",
                    help="another split file (a cross-validation fold: rows marked other than train/val are left "
                         "out); the committed split.tsv is never rewritten from it")
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--fixture", action="store_true", help="also write test/fixtures/plate-rec from the result")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    synth.LOOKALIKE = args.lookalike
    global LOOSE, SPLIT_PATH
    LOOSE = args.loose
    if args.split:
        if not os.path.exists(args.split):
            sys.exit(f"--split {args.split}: no such file")
        SPLIT_PATH = args.split
    random.seed(SEED)
    np.random.seed(SEED)
    torch.manual_seed(SEED)
    os.makedirs(args.out, exist_ok=True)
    log_f = open(os.path.join(args.out, "train.log"), "a")

    def log(msg):
        line = f"{time.strftime('%H:%M:%S')} {msg}"
        print(line, flush=True)
        log_f.write(line + "\n")
        log_f.flush()

    rng = random.Random(SEED)
    if args.smoke:
        train_real, val, backgrounds = [], [], []
        steps, batch, real_frac = 12, 8, 0.0
    else:
        rows = dataset_rows(args.data)
        roles = load_split(rows)
        train_real = load_real(args.data, rows, roles, "train")
        val = load_real(args.data, rows, roles, "val")
        backgrounds = backgrounds_from(args.data, rows, roles)
        steps, batch, real_frac = args.steps, args.batch, args.real_frac
        counts = {}
        for r in rows:
            counts[(r[0], r[2], roles[(r[0], r[1])])] = counts.get((r[0], r[2], roles[(r[0], r[1])]), 0) + 1
        log(f"split: {json.dumps({'/'.join(k): v for k, v in sorted(counts.items())})}")
        log(f"real train {len(train_real)}, val {len(val)}, backgrounds {len(backgrounds)}")

    model = PlateRec(len(CHARSET) + 1)
    n_params = sum(p.numel() for p in model.parameters())
    log(f"model: {n_params} parameters; steps {steps}, batch {batch}, threads {args.threads}, smoke {args.smoke}")
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    ctc = nn.CTCLoss(blank=0, zero_infinity=True)
    start_step = 0
    best = (-1.0, -1.0)
    ckpt = os.path.join(args.out, "last.pt")
    # Real crops drawn by weight (all 1 by default: uniform, as the first runs did).
    real_cum, acc_w = [], 0.0
    for s in train_real:
        acc_w += args.us_crop_weight if s.kind == "crop" else {"eu": args.eu_weight, "us": args.us_photo_weight}.get(
            s.region, 1.0)
        real_cum.append(acc_w)
    if train_real:
        log(f"real mix: {real_frac:.2f} of each batch; weights US crop {args.us_crop_weight}, EU photo "
            f"{args.eu_weight}, US photo {args.us_photo_weight}, other photos 1; synthetic look-alike draw {args.lookalike}; fonts "
            f"{len(synth.LATIN_FONTS)} + {len(synth.PLATE_FONTS)} DIN-like; loose plate crops {LOOSE}")
    if args.init_onnx:
        irng = random.Random(SEED + 2)  # its own stream: the training draws stay those of a run without it
        stat = [real_example(irng, irng.choice(train_real)) if train_real and irng.random() < real_frac
                else synth_example(irng, backgrounds) for _ in range(32 if args.smoke else 192)]
        check = [real_example(irng, s, augment=False) for s in train_real[:8]]
        check += [synth_example(irng, backgrounds) for _ in range(8)]
        init_from_onnx(model, os.path.abspath(args.init_onnx), batch_tensors(stat)[0], batch_tensors(check)[0], log)
        if val:  # the starting point is the score to beat: a fine-tune that never beats it exports it unchanged
            best = evaluate(model, val)
            log(f"val step 0 (start): exact {best[0] * 100:.1f} %, up to O/0 {best[1] * 100:.1f} % (n={len(val)})")
            torch.save(model.state_dict(), os.path.join(args.out, "best.pt"))
            export_onnx(model, os.path.join(args.out, "plate_rec.onnx"))
    if args.resume and os.path.exists(ckpt):
        st = torch.load(ckpt)
        model.load_state_dict(st["model"])
        opt.load_state_dict(st["opt"])
        start_step, best = st["step"], tuple(st["best"])
        rng.setstate(st["rng"])
        log(f"resumed at step {start_step}")

    budget = args.minutes * 60

    def progress(step):
        return min(1.0, (time.time() - t0) / budget) if budget > 0 else step / max(1, steps)

    def lr_at(step):
        warm = min(1.0, (step + 1) / max(1, args.warmup))
        frac = progress(step)
        decay = 1.0 if frac < 0.55 else 0.5 * (1 + math.cos(math.pi * (frac - 0.55) / 0.45))
        return args.lr * warm * max(0.02, decay)

    t0 = time.time()
    t_data = t_step = 0.0
    loss_avg = None
    model.train()
    if budget > 0:
        steps = 10 ** 9
    for step in range(start_step, steps):
        if budget > 0 and time.time() - t0 >= budget:
            steps = step
            break
        for g in opt.param_groups:
            g["lr"] = lr_at(step)
        ta = time.time()
        examples = [real_example(rng, rng.choices(train_real, cum_weights=real_cum)[0])
                    if train_real and rng.random() < real_frac
                    else synth_example(rng, backgrounds) for _ in range(batch)]
        x, flat, lens = batch_tensors(examples)
        tb = time.time()
        logits = model(x)
        lp = logits[:, :, 0, :].permute(2, 0, 1).log_softmax(2)  # [T, N, C]
        loss = ctc(lp, flat, torch.full((x.shape[0],), lp.shape[0], dtype=torch.long), lens)
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()
        t_data += tb - ta
        t_step += time.time() - tb
        loss_avg = loss.item() if loss_avg is None else 0.95 * loss_avg + 0.05 * loss.item()
        if step % 50 == 0 or step == steps - 1:
            log(f"step {step} loss {loss_avg:.3f} lr {lr_at(step):.5f} data {t_data:.0f}s model {t_step:.0f}s "
                f"elapsed {time.time() - t0:.0f}s")
        last = step == steps - 1 or (budget > 0 and time.time() - t0 >= budget)
        if val and ((step + 1) % args.eval_every == 0 or last):
            acc = evaluate(model, val)
            log(f"val step {step + 1}: exact {acc[0] * 100:.1f} %, up to O/0 {acc[1] * 100:.1f} % (n={len(val)})")
            if acc >= best:
                best = acc
                torch.save(model.state_dict(), os.path.join(args.out, "best.pt"))
                export_onnx(model, os.path.join(args.out, "plate_rec.onnx"))
            torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "step": step + 1, "best": list(best),
                        "rng": rng.getstate()}, ckpt)

    if args.smoke or not val:
        export_onnx(model, os.path.join(args.out, "plate_rec.onnx"))
    else:
        model.load_state_dict(torch.load(os.path.join(args.out, "best.pt")))
        log(f"best val exact {best[0] * 100:.1f} %, up to O/0 {best[1] * 100:.1f} %; {steps} steps")
    onnx_path = os.path.join(args.out, "plate_rec.onnx")
    # Calibration inputs for the int8 build (scripts/quantise-plate-rec.mjs): training-split crops and synthetics.
    crng = random.Random(SEED + 1)
    calib = [real_example(crng, s, augment=False)[0] for s in train_real[:160]]
    calib += [synth_example(crng, backgrounds)[0] for _ in range(96 if not args.smoke else 8)]
    np.stack([to_tensor(im) for im in calib]).astype("<f4").tofile(os.path.join(args.out, "calib.f32"))
    if args.fixture:
        write_fixture(model, onnx_path, FIXTURE_DIR)
    log(f"wrote {onnx_path} ({os.path.getsize(onnx_path)} bytes, sha256 {sha256(onnx_path)}) "
        f"in {time.time() - t0:.0f}s")


if __name__ == "__main__":
    main()
