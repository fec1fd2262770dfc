#!/usr/bin/python3
"""Trains the kiosk's own passive PAD model (live face vs printed photo / screen replay) and exports it to ONNX.

    npm run train:pad                 # full run (a few minutes on 2 cores), writes models/trained/pad.onnx + fixture
    npm run train:pad -- --smoke      # drawn faces only, a few steps, < 1 minute, writes a loadable ONNX elsewhere

Owns: which photos may be trained on (only the tuning half of bench:liveness's split — sha256 of the source name,
first byte even — plus photos the benchmark never uses), the face boxes (OpenCV's Haar detector, written to
train/pad/faces.tsv), the training set (simulate.py, seeded), the network, the training loop, the ONNX export and
the parity fixture the browser test checks (test/fixtures/pad/). It must never read a photo of the benchmark's test
half, never use bench/lib/attacks.ts or its output, and never download anything: its only dependencies are Debian
packages, installed with apt-get when missing (no pip).

Model inputs: `input` [N,3,S,S] RGB in 0..1 (x/255), the detector's box grown CROP_SCALE times about its centre and
moved inside the frame (the kiosk's livenessCrop), bilinear resize; `patch` [N,3,P,P], the middle PATCH_FRACTION of
the same box (livenessCrop with that scale), bilinear resize, near the camera's own pixel scale (surface texture).
Output: [N,2] logits, softmax index 0 = live. The default (`--patch 0`) is the shipped stop-25 network: the context
input alone, trained on frames drawn below camera scale. `--patch 64` (stop 26, an experiment, not shipped: see
docs/liveness.md) adds the texture branch and draws every frame at the camera's own scale; the kiosk's worker cuts
no patch today, so such a model needs TRAINED_PAD to grow a second input before it can be benchmarked or shipped
(run it as `train.py --patch 64 --out DIR`: `npm run train:pad` refuses it, since it installs what it trains).
`--members N` (stop 27, measured, not shipped) trains N such networks on their own crops and seeds and exports their
mean live probability as one model with the same input and output (member 0 is the single network, byte for byte).
"""
import argparse
import re
import hashlib
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
APT_PACKAGES = ["python3-torch", "python3-numpy", "python3-opencv", "opencv-data"]
HAAR = "/usr/share/opencv4/haarcascades/haarcascade_frontalface_default.xml"


sys.path.insert(0, os.path.dirname(HERE))
from apt_deps import apt_install_and_restart  # noqa: E402


def ensure_deps():
    """Install the Debian packages this script needs (once; apt is idempotent)."""
    try:
        import cv2  # noqa: F401
        import numpy  # noqa: F401
        import torch  # noqa: F401
        if os.path.exists(HAAR):
            return
    except ImportError:
        pass
    apt_install_and_restart(APT_PACKAGES)


ensure_deps()

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402

sys.path.insert(0, HERE)
import simulate  # noqa: E402

SEED = 20
SIZE = 64
KINDS = ("live", "print", "replay")
FACES_TSV = os.path.join(HERE, "faces.tsv")
FIXTURE_DIR = os.path.join(ROOT, "test", "fixtures", "pad")
IMAGE_EXT = (".jpg", ".jpeg", ".png", ".webp", ".bmp")


# ---------------------------------------------------------------- which photos

def bench_side(name):
    """bench/lib/pad-split.mjs `side`: sha256 of the source's group (the name without a `~member` suffix, see
    bench/lib/npm-faces.mjs), first byte even → tune. test/unit/pad-split.test.ts checks the two agree."""
    group = re.sub(r"~[a-z0-9]+$", "", name, flags=re.I)
    return "tune" if hashlib.sha256(group.encode()).digest()[0] % 2 == 0 else "test"


def candidate_photos(faces_dir, extra=None):
    """(path, bench name or None, role). Role 'tune' = the benchmark's tuning half; 'unused' = never in the bench."""
    out = []
    for person in sorted(os.listdir(faces_dir)):
        p = os.path.join(faces_dir, person)
        if not os.path.isdir(p):
            continue
        for f in sorted(os.listdir(p)):
            if not f.lower().endswith(IMAGE_EXT):
                continue
            if person.startswith("_"):
                # bench/liveness-set.mjs takes only the videos of _scenes: its photos are never in the bench.
                out.append((os.path.join(p, f), None, "unused"))
            else:
                name = f"{person}-{os.path.splitext(f)[0]}"
                out.append((os.path.join(p, f), name, bench_side(name)))
    demo = os.path.join(ROOT, "node_modules", "@vladmandic", "face-api", "demo")
    if os.path.isdir(demo):
        for f in sorted(os.listdir(demo)):
            if not f.lower().endswith(IMAGE_EXT):
                continue
            if f.startswith("screenshot"):
                continue  # pictures of a computer screen: neither bona fide nor ours to call an attack
            name = f"faceapi-{os.path.splitext(f)[0]}"
            out.append((os.path.join(demo, f), name, bench_side(name)))
    for path, name in extra or []:
        out.append((path, name, bench_side(name)))
    return out


def read_extra(tsv):
    """`--extra-faces TSV` (path, name): photos of real people from npm packages (bench/lib/npm-faces.mjs --tsv)."""
    with open(tsv) as f:
        return [tuple(line.rstrip("\n").split("\t")[:2]) for line in f if line.strip()]


def load_rgb(path):
    img = cv2.imread(path, cv2.IMREAD_COLOR)
    if img is None:
        raise SystemExit(f"cannot read {path}")
    return img[..., ::-1].astype(np.float32) / 255.0


def shrunk(photo, box, face_w=200):
    """The photo scaled so the face is at most face_w wide: the simulation never needs more (simulate.sample)."""
    f = min(1.0, face_w / box[2])
    if f >= 1.0:
        return photo, box
    small = cv2.resize(photo, (max(1, int(photo.shape[1] * f)), max(1, int(photo.shape[0] * f))),
                       interpolation=cv2.INTER_AREA)
    return small, tuple(v * f for v in box)


def detect_faces(photos):
    """Haar boxes for every photo we may train on; the largest face, or every face ≥ 64 px in a scene photo (smaller finds were not faces)."""
    det = cv2.CascadeClassifier(HAAR)
    rows = []
    for path, name, role in photos:
        if role == "test":
            continue  # never opened
        grey = cv2.cvtColor(cv2.imread(path, cv2.IMREAD_COLOR), cv2.COLOR_BGR2GRAY)
        found = det.detectMultiScale(grey, scaleFactor=1.1, minNeighbors=6, minSize=(64, 64))
        boxes = sorted([tuple(int(v) for v in b) for b in found], key=lambda b: -b[2])
        if role != "unused":
            boxes = boxes[:1]
        for b in boxes:
            rows.append((os.path.relpath(path, ROOT), name or "", role, *b))
    return rows


# ---------------------------------------------------------------- the network

def block(cin, cout):
    """3x3 convolution, stride 2, batch norm, ReLU. Plain convolutions, not depthwise-separable: on CPU PyTorch
    1.13 (Debian) a depthwise network of the same cost trained > 10x slower (over 5 minutes for one epoch of 8,000
    crops on the shared 2-core machine), and at 64x64 the plain network costs ~4 M multiply-adds per face."""
    return nn.Sequential(nn.Conv2d(cin, cout, 3, 2, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class PadNet(nn.Module):
    """Context branch (the 2.7x crop: margins, bezels, hands, colour) and, with `patch`, a texture branch (the middle
    of the face near the camera's pixel scale: dot screens, banding, paper grain, a screen's moiré and glare), each
    pooled globally, concatenated, one linear layer."""

    def __init__(self, patch=True):
        super().__init__()
        self.features = nn.Sequential(block(3, 16), block(16, 32), block(32, 64), block(64, 96),  # 64 → 4
                                      nn.Conv2d(96, 128, 3, 1, 1, bias=False), nn.BatchNorm2d(128), nn.ReLU(inplace=True))
        self.texture = nn.Sequential(block(3, 16), block(16, 32), block(32, 64), block(64, 96)) if patch else None
        self.head = nn.Sequential(nn.Dropout(0.2), nn.Linear(128 + (96 if patch else 0), 2))

    def forward(self, x, p=None):
        f = self.features(x).mean(dim=(2, 3))
        if self.texture is not None:
            f = torch.cat([f, self.texture(p).mean(dim=(2, 3))], dim=1)
        return self.head(f)


# ---------------------------------------------------------------- data

_POOL_STATE = {}


def _one(job):
    """One sample from its own seed (so the set is the same whatever the number of processes)."""
    seed, kind = job
    st = _POOL_STATE
    rng = np.random.default_rng(seed)
    photo, box = st["faces"][rng.integers(0, len(st["faces"]))]
    out = simulate.sample(rng, photo, box, kind, st["size"], st["scale"], st["backgrounds"], st["patch"])
    if not st["patch"]:
        return (out,)
    # Stored as 8-bit, as the worker's canvas hands the crops to the network (getImageData); and half the memory.
    q = lambda a: (np.clip(a, 0, 1) * 255 + 0.5).astype(np.uint8)  # noqa: E731
    return q(out[0]), q(out[1])


def build_set(seed, faces, n_per_kind, size, scale, backgrounds, patch, procs=2):
    """n_per_kind samples of each attack kind and as many live ones as attacks; label 0 = live, 1 = attack.
    Returns (inputs, labels): inputs a list of tensors [N,3,S,S] (the context crop as float 0..1; with a patch, both
    as uint8)."""
    jobs = []
    for kind in KINDS:
        n = n_per_kind * (2 if kind == "live" else 1)
        jobs += [(seed * 10_000_000 + KINDS.index(kind) * 1_000_000 + i, kind) for i in range(n)]
    _POOL_STATE.update(faces=faces, size=size, scale=scale, backgrounds=backgrounds, patch=patch)
    if procs > 1:
        import multiprocessing as mp
        with mp.get_context("fork").Pool(procs) as pool:
            xs = pool.map(_one, jobs, chunksize=32)
    else:
        xs = [_one(j) for j in jobs]
    ys = [0 if k == "live" else 1 for _, k in jobs]
    ys = torch.tensor(ys, dtype=torch.long)
    if not patch:
        # Exactly as stop 25 built it, memory layout included (a transposed, not contiguous array): the layout
        # changes how the convolutions round, and the shipped model must come out byte for byte.
        return [torch.from_numpy(np.stack([s[0] for s in xs]).transpose(0, 3, 1, 2).astype(np.float32))], ys
    return [torch.from_numpy(np.ascontiguousarray(np.stack([s[i] for s in xs]).transpose(0, 3, 1, 2)))
            for i in range(2)], ys


def cached(out, key, build):
    """A built set is kept in the run folder (same seed, same parameters, same crops), so a re-run trains at once."""
    path = os.path.join(out, f"set-{key}.pt")
    if os.path.exists(path):
        x, y = torch.load(path)
        return (x if isinstance(x, list) else [x]), y  # a stop-25 cache held the one input bare
    xy = build()
    torch.save(xy, path)
    return xy


def as_float(inputs, idx=None):
    """The inputs (rows idx) as float 0..1: uint8 ones / 255 (the worker's pixel scale), float ones as they are."""
    out = [t if idx is None else t[idx] for t in inputs]
    return [t.float() / 255.0 if t.dtype == torch.uint8 else t for t in out]


def evaluate(model, x, y):
    model.eval()
    with torch.no_grad():
        p = torch.cat([torch.softmax(model(*as_float([t[i:i + 256] for t in x])), dim=1)[:, 0]
                       for i in range(0, len(y), 256)]).numpy()
    y = y.numpy()
    live, att = np.sort(p[y == 0]), p[y == 1]
    t = live[int(0.05 * len(live))] if len(live) else 0.5  # BPCER 5 % on this set
    return float((att >= t).mean()), float(t)


def export(model, path, size, patch):
    model.eval()
    dummy = (torch.zeros(1, 3, size, size),) + ((torch.zeros(1, 3, patch, patch),) if patch else ())
    names = ["input"] + (["patch"] if patch else [])
    torch.onnx.export(model, dummy, path, input_names=names, output_names=["logits"], opset_version=13,
                      dynamic_axes={**{n: {0: "n"} for n in names}, "logits": {0: "n"}}, do_constant_folding=True)


def write_fixture(model, onnx_path, fixture_dir, rng, size, scale, patch):
    """Drawn-face inputs (no dataset photo leaves the machine) as PNGs and PyTorch's live probability for each
    (with a texture branch: NAME.png the context crop, NAME-patch.png the patch)."""
    os.makedirs(fixture_dir, exist_ok=True)
    for f in os.listdir(fixture_dir):
        os.remove(os.path.join(fixture_dir, f))
    items, xs, ps = [], [], []
    for i in range(6):
        kind = KINDS[i % 3]
        photo, box = simulate.synthetic_face(rng, 400 if patch else 200)
        out = simulate.sample(rng, photo, box, kind, size, scale, (), patch)
        x, p = out if patch else (out, None)
        name = f"synthetic-{i}-{kind}.png"
        item = {"file": name, "kind": kind}
        for arr, fname, acc in ((x, name, xs), (p, name.replace(".png", "-patch.png"), ps)):
            if arr is None:
                continue
            q = (np.clip(arr, 0, 1) * 255 + 0.5).astype(np.uint8)  # the PNG is the input: quantise before scoring
            cv2.imwrite(os.path.join(fixture_dir, fname), q[..., ::-1])
            acc.append(q.astype(np.float32) / 255.0)
        if patch:
            item["patch"] = name.replace(".png", "-patch.png")
        items.append(item)
    model.eval()
    with torch.no_grad():
        args = [torch.from_numpy(np.stack(a).transpose(0, 3, 1, 2).copy()) for a in (xs, ps) if a]
        logits = model(*args)
        p = torch.softmax(logits, dim=1)[:, 0].tolist()
    for it, pl, lg in zip(items, p, logits.tolist()):
        it["live"] = pl
        it["logits"] = lg
    sha = hashlib.sha256(open(onnx_path, "rb").read()).hexdigest()
    with open(os.path.join(fixture_dir, "expected.json"), "w") as f:
        json.dump({"sha256": sha, "size": size, "patch": patch, "patchFraction": simulate.PATCH_FRACTION,
                   "items": items}, f, indent=1)
        f.write("\n")


def set_key(args, per_kind, member=0):
    """The cache key of a built set (member 0's is the stop-25 key, so its cached crops are reused)."""
    key = f"{args.smoke}-{per_kind}-{args.size}-{args.scale}" + (f"-patch{args.patch}-s26" if args.patch else "")
    return key + (f"-m{member}" if member else "")


def val_set(args, faces, per_kind, backgrounds):
    """The validation crops (seed SEED + 1, the same for every member and for the average)."""
    return cached(args.out, f"val-{set_key(args, per_kind)}",
                  lambda: build_set(SEED + 1, faces, max(20, per_kind // 6), args.size, args.scale, backgrounds,
                                    args.patch))


def train_member(args, member, faces, per_kind, epochs, backgrounds, t0):
    """One network. Member 0 is exactly the single network of `npm run train:pad` (same seeds, same crops, byte for
    byte); member m > 0 draws its own crops and initial weights from seed SEED + 100 m, so the members err apart."""
    seed = SEED + 100 * member
    key = set_key(args, per_kind, member)
    x, y = cached(args.out, f"train-{key}", lambda: build_set(seed, faces, per_kind, args.size, args.scale, backgrounds,
                                                              args.patch))
    xv, yv = val_set(args, faces, per_kind, backgrounds)
    print(f"member {member}: built {len(y)} training and {len(yv)} validation crops in {time.time() - t0:.0f} s",
          flush=True)
    torch.manual_seed(seed)
    model = PadNet(patch=bool(args.patch))
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-4)
    steps = epochs * ((len(y) + 63) // 64)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=max(1, steps))
    gen = torch.Generator().manual_seed(seed)
    log = []
    for ep in range(epochs):

            model.train()
            perm = torch.randperm(len(y), generator=gen)
            total = 0.0
            for i in range(0, len(y), 64):
                idx = perm[i:i + 64]
                # Mirror half the batch (both inputs alike): faces are left-right symmetric, attacks too.
                flip = (torch.rand(len(idx), generator=gen) < 0.5)[:, None, None, None]
                xb = [torch.where(flip, t.flip(3), t) for t in as_float(x, idx)]
                loss = nn.functional.cross_entropy(model(*xb), y[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
                sched.step()
                total += float(loss) * len(idx)
            apcer, t = evaluate(model, xv, yv)
            log.append({"epoch": ep + 1, "loss": total / len(y), "val_apcer_at_bpcer5": apcer, "threshold": t})
            print(f"epoch {ep + 1}: loss {total / len(y):.4f}  val APCER@BPCER5 {apcer:.3f} (t {t:.3f})  "
                  f"{time.time() - t0:.0f} s", flush=True)

    return model, [dict(e, member=member) for e in log], len(y)


class Ensemble(nn.Module):
    """The members' mean live probability, exported as logits (log of the mean softmax): the kiosk's softmax of
    these logits is that mean, so the worker, the threshold and the parity test read it like a single network."""

    def __init__(self, nets):
        super().__init__()
        self.nets = nn.ModuleList(nets)

    def forward(self, x, p=None):
        probs = torch.stack([torch.softmax(n(x, p), dim=1) for n in self.nets]).mean(dim=0)
        return torch.log(probs.clamp_min(1e-12))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--smoke", action="store_true", help="drawn faces only, a few steps")
    ap.add_argument("--out", required=True)
    ap.add_argument("--faces", default=os.path.join(ROOT, "..", "shared", "datasets", "faces"))
    ap.add_argument("--extra-faces", default=None,
                    help="TSV of more real-people photos (path, name); npm run train:pad -- --npm-faces writes it")
    ap.add_argument("--size", type=int, default=SIZE)
    ap.add_argument("--scale", type=float, default=simulate.CROP_SCALE)
    ap.add_argument("--per-kind", type=int, default=1200)
    ap.add_argument("--epochs", type=int, default=24)
    ap.add_argument("--patch", type=int, default=0,
                    help=f"texture patch side (stop 26 experiment: {simulate.PATCH_SIZE}); 0 = the shipped network")
    ap.add_argument("--members", type=int, default=1,
                    help="train N networks (member m: data and weights from seed SEED + 100 m; member 0 is the "
                         "single network) and export their mean live probability as one model")
    ap.add_argument("--fixture", action="store_true", help="also write test/fixtures/pad from the result")
    args = ap.parse_args()
    if args.members < 1:
        ap.error("--members must be at least 1")
    os.makedirs(args.out, exist_ok=True)
    torch.manual_seed(SEED)
    torch.set_num_threads(1)  # measured faster than 2 on the shared 2-core machine (no thread contention)
    rng = np.random.default_rng(SEED)
    t0 = time.time()

    if args.smoke:
        faces = [simulate.synthetic_face(rng) for _ in range(8)]
        backgrounds = []
        # Camera-scale drawing (patch mode) costs ~0.1-0.3 s a crop: keep its smoke run < 1 min too.
        per_kind, epochs = (20 if args.patch else 40), 1
    else:
        rows = detect_faces(candidate_photos(os.path.abspath(args.faces), read_extra(args.extra_faces) if args.extra_faces else None))
        with open(FACES_TSV, "w") as f:
            f.write("file\tbench_name\trole\tx\ty\tw\th\n")
            for r in rows:
                f.write("\t".join(str(v) for v in r) + "\n")
        # Patch mode draws faces up to 430 px (close-ups at camera scale): keep more of the photo.
        faces = [shrunk(load_rgb(os.path.join(ROOT, r[0])), tuple(float(v) for v in r[3:7]), 320 if args.patch else 200)
                 for r in rows]
        backgrounds = [cv2.resize(p, (p.shape[1] // 2, p.shape[0] // 2), interpolation=cv2.INTER_AREA) for p, _ in faces]
        per_kind, epochs = args.per_kind, args.epochs
        print(f"{len(rows)} faces from {len(set(r[0] for r in rows))} photos (train/pad/faces.tsv)", flush=True)

    nets, log = [], []
    for m in range(args.members):
        net, net_log, samples = train_member(args, m, faces, per_kind, epochs, backgrounds, t0)
        nets.append(net)
        log += net_log
    model = nets[0] if len(nets) == 1 else Ensemble(nets)
    n_params = sum(p.numel() for p in model.parameters())
    if len(nets) > 1:
        apcer, t = evaluate(model, *val_set(args, faces, per_kind, backgrounds))
        log.append({"members": len(nets), "val_apcer_at_bpcer5": apcer, "threshold": t})
        print(f"ensemble of {len(nets)}: val APCER@BPCER5 {apcer:.3f} (t {t:.3f})", flush=True)
    onnx_path = os.path.join(args.out, "pad.onnx")
    torch.save(model.state_dict(), os.path.join(args.out, "pad.pt"))
    export(model, onnx_path, args.size, args.patch)
    with open(os.path.join(args.out, "train.json"), "w") as f:
        json.dump({"seed": SEED, "size": args.size, "scale": args.scale, "patch": args.patch,
                   "patchFraction": simulate.PATCH_FRACTION, "params": n_params, "samples": samples,
                   "members": args.members,
                   "epochs": epochs, "log": log, "seconds": time.time() - t0, "smoke": args.smoke}, f, indent=1)
    if args.fixture:
        write_fixture(model, onnx_path, FIXTURE_DIR, np.random.default_rng(SEED + 2), args.size, args.scale,
                      args.patch)
    elif args.smoke:
        write_fixture(model, onnx_path, os.path.join(args.out, "fixture"), np.random.default_rng(SEED + 2), args.size,
                      args.scale, args.patch)
    print(f"{n_params} parameters, {os.path.getsize(onnx_path)} bytes → {onnx_path} ({time.time() - t0:.0f} s)")


if __name__ == "__main__":
    main()
