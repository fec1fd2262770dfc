"""Our own, independent simulation of a kiosk camera looking at a live face, a printed photo, or a photo replayed on a
screen, for training the passive PAD model (train/pad/train.py).

Owns: turning one real photo (with a face box) into one camera frame of a chosen kind — 'live' (the photo as the
camera would see the person), 'print' or 'replay' — with every parameter drawn from a seeded numpy Generator, plus the
camera model shared by all three kinds (so capture quality cannot tell them apart) and the kiosk's crop. It must
never read or imitate bench/lib/attacks.ts or its output: the benchmark's simulation stays an independent test of
this one. Written from a description of the artefacts only (halftone and dither, paper white and ink gamut, paper
grain, glare, white borders, hands and perspective for prints; sub-pixel stripes, moiré, gamma and white-point
shift, reflections, bezels and perspective for screens).

All images are float32 RGB in 0..1, HxWx3. Frames are built only around the face's neighbourhood (the crop the
network sees plus a margin) so one sample costs a few milliseconds. Patch mode (`sample(..., patch=64)`, stop 26's
experiment) also cuts a texture patch and draws at the camera's own scale, with print and screen textures at their
physical size; without it every draw is what stop 25 drew (the shipped model is reproduced byte for byte).
"""
import cv2
import numpy as np

CROP_SCALE = 2.7  # the kiosk's crop: detector box grown about its centre (src/config/face.ts pad.ownCropScale)


# ---------------------------------------------------------------- helpers

def _u(rng, a, b):
    return float(rng.uniform(a, b))


def crop_rect(box, frame_w, frame_h, scale):
    """Port of livenessCrop (src/inference/worker/face-liveness.ts): box grown about its centre, moved inside."""
    x, y, w, h = box
    s = max(0.0, min((frame_h - 1) / h, (frame_w - 1) / w, scale))
    cw, ch = w * s, h * s
    cx = x + w / 2 - cw / 2
    cy = y + h / 2 - ch / 2
    cx = min(max(0.0, cx), max(0.0, frame_w - 1 - cw))
    cy = min(max(0.0, cy), max(0.0, frame_h - 1 - ch))
    return cx, cy, cw, ch


def cut(frame, rect, size):
    """Bilinear resample of rect to size x size (what the worker's drawImage with 'medium' smoothing does)."""
    x, y, w, h = rect
    m = np.array([[size / w, 0, -x * size / w], [0, size / h, -y * size / h]], np.float32)
    # Pre-blur on strong shrink like a browser's mip-mapped 'medium' resample, so fine texture aliases alike.
    f = w / size
    src = frame
    if f > 2.0:
        k = f / 2.5
        src = cv2.GaussianBlur(frame, (0, 0), k)
    return cv2.warpAffine(src, m, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def background(rng, h, w, photos):
    """A wall, a corridor or a blurred piece of another photo behind the held print or phone."""
    kind = rng.integers(0, 4)
    if kind == 0 and photos:
        p = photos[rng.integers(0, len(photos))]
        ph, pw = p.shape[:2]
        s = max(h / ph, w / pw) * _u(rng, 1.0, 2.5)
        big = cv2.resize(p, (int(pw * s) + 1, int(ph * s) + 1), interpolation=cv2.INTER_LINEAR)
        oy = rng.integers(0, big.shape[0] - h + 1)
        ox = rng.integers(0, big.shape[1] - w + 1)
        bg = big[oy:oy + h, ox:ox + w].copy()
        return cv2.GaussianBlur(bg, (0, 0), _u(rng, 0.5, 6))
    base = rng.uniform(0.1, 0.9, 3).astype(np.float32)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    g = (xx / w * _u(rng, -0.4, 0.4) + yy / h * _u(rng, -0.4, 0.4))[..., None]
    bg = np.clip(base[None, None, :] + g, 0, 1)
    if kind == 2:  # texture (fabric, plaster)
        n = rng.normal(0, _u(rng, 0.02, 0.08), (h // 4 + 1, w // 4 + 1, 1)).astype(np.float32)
        bg = bg + cv2.resize(n, (w, h))[..., None]
    if kind == 3:  # door frame / shelf edges
        for _ in range(rng.integers(1, 4)):
            c = rng.uniform(0, 1, 3)
            if rng.random() < 0.5:
                x0 = rng.integers(0, w)
                bg[:, x0:x0 + rng.integers(3, max(4, w // 6))] = c
            else:
                y0 = rng.integers(0, h)
                bg[y0:y0 + rng.integers(3, max(4, h // 6))] = c
    return np.clip(bg, 0, 1).astype(np.float32)


def camera(rng, img, native=False):
    """The kiosk camera, the same for every kind: exposure, white balance, lens blur, sensor noise, JPEG.
    `native`: the frame is at the camera's own scale (sample's patch mode): lens blur up to 1.6 px, not 2.2."""
    img = img * _u(rng, 0.7, 1.25) + _u(rng, -0.06, 0.06)
    img = img * rng.uniform(0.88, 1.12, 3).astype(np.float32)[None, None, :]
    img = np.clip(img, 0, 1) ** _u(rng, 0.8, 1.25)
    if rng.random() < 0.5:  # uneven lighting across the scene
        h, w = img.shape[:2]
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        a = _u(rng, 0, 2 * np.pi)
        ramp = ((np.cos(a) * xx / w + np.sin(a) * yy / h) * _u(rng, -0.35, 0.35))[..., None]
        img = img * (1 + ramp)
    # Lens and focus. At the camera's scale up to 1.6 px (a tablet camera at 640x480 is fairly sharp); the stop-25
    # frames were drawn 2-4x smaller, where 2.2 px stands for a little more.
    sigma = _u(rng, 0.0, 1.6 if native else 2.2)
    if sigma > 0.3:
        img = cv2.GaussianBlur(img, (0, 0), sigma)
    if rng.random() < 0.15:  # motion blur
        k = int(rng.integers(3, 8))
        ker = np.zeros((k, k), np.float32)
        ker[k // 2, :] = 1.0 / k
        m = cv2.getRotationMatrix2D((k / 2 - 0.5, k / 2 - 0.5), _u(rng, 0, 180), 1.0)
        ker = cv2.warpAffine(ker, m, (k, k))
        ker /= max(ker.sum(), 1e-6)
        img = cv2.filter2D(img, -1, ker)
    img = img + rng.normal(0, _u(rng, 0.0, 0.04), img.shape).astype(np.float32)
    img = np.clip(img, 0, 1)
    q = int(rng.integers(35, 96))
    ok, enc = cv2.imencode(".jpg", (img[..., ::-1] * 255 + 0.5).astype(np.uint8), [cv2.IMWRITE_JPEG_QUALITY, q])
    return cv2.imdecode(enc, cv2.IMREAD_COLOR)[..., ::-1].astype(np.float32) / 255.0


def _colour_jitter(rng, img):
    """Real faces vary too: skin tone rendering, saturation, contrast of the source photo."""
    grey = img.mean(axis=2, keepdims=True)
    img = grey + (img - grey) * _u(rng, 0.6, 1.35)
    img = (img - 0.5) * _u(rng, 0.8, 1.2) + 0.5
    return np.clip(img, 0, 1)


def _hand(rng, img, mask_w, mask_h):
    """A thumb or fingers over an edge of the held print or phone."""
    h, w = img.shape[:2]
    skin = np.array([_u(rng, 0.55, 0.95), _u(rng, 0.4, 0.75), _u(rng, 0.3, 0.6)], np.float32)
    edge = rng.integers(0, 4)
    cx = {0: _u(rng, 0, w), 1: _u(rng, 0, w), 2: 0.0, 3: w - 1.0}[edge]
    cy = {0: 0.0, 1: h - 1.0, 2: _u(rng, 0, h), 3: _u(rng, 0, h)}[edge]
    m = np.zeros((h, w), np.float32)
    cv2.ellipse(m, (int(cx), int(cy)), (int(mask_w * _u(rng, 0.06, 0.16)), int(mask_h * _u(rng, 0.1, 0.25))),
                _u(rng, 0, 180), 0, 360, 1.0, -1)
    m = cv2.GaussianBlur(m, (0, 0), 2)[..., None]
    shade = 1 - 0.25 * cv2.GaussianBlur(m, (0, 0), 6)[..., None]
    return img * (1 - m) + skin[None, None, :] * m * shade


# ---------------------------------------------------------------- the printed photo

def _dot_screen(rng, img, white, black, pitch):
    """Amplitude-modulated halftone: a rotated dot screen per ink, `pitch` sheet pixels."""
    h, w = img.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    out = np.empty_like(img)
    for c, ang in enumerate((15, 75, 0)):
        a = np.deg2rad(ang + _u(rng, -5, 5))
        u = (xx * np.cos(a) + yy * np.sin(a)) * 2 * np.pi / pitch
        v = (-xx * np.sin(a) + yy * np.cos(a)) * 2 * np.pi / pitch
        screen = (np.cos(u) * np.cos(v)) * 0.5 + 0.5
        out[..., c] = np.where(img[..., c] > screen * (white[c] - black) + black, white[c], black)
    return 0.25 * img + 0.75 * cv2.GaussianBlur(out, (0, 0), pitch * _u(rng, 0.15, 0.35))


def _print_texture(rng, img, white, black, style):
    """Stop 25's print texture, sized relative to the sheet (the frames were drawn 2-4x below camera scale)."""
    h, w = img.shape[:2]
    if style == 0:  # amplitude-modulated halftone
        img = _dot_screen(rng, img, white, black, _u(rng, 2.2, 6.0))
    elif style == 1:  # ordered (Bayer) dither of an inkjet
        bayer = np.array([[0, 8, 2, 10], [12, 4, 14, 6], [3, 11, 1, 9], [15, 7, 13, 5]], np.float32) / 16
        cell = int(rng.integers(1, 3))
        t = np.tile(np.kron(bayer, np.ones((cell, cell), np.float32)), (h // (4 * cell) + 1, w // (4 * cell) + 1))[:h, :w]
        levels = int(rng.integers(2, 5))
        q = np.floor(img * (levels - 1) + t[..., None]) / (levels - 1)
        img = 0.3 * img + 0.7 * cv2.GaussianBlur(np.clip(q, 0, 1), (0, 0), _u(rng, 0.4, 1.0))
    elif style == 2:  # laser banding
        yy = np.arange(h, dtype=np.float32)[:, None, None]
        img = img * (1 + _u(rng, 0.02, 0.07) * np.sin(yy * 2 * np.pi / _u(rng, 3, 12) + _u(rng, 0, 6)))
    # Paper grain, always a little.
    grain = rng.normal(0, _u(rng, 0.01, 0.05), (h // 2 + 1, w // 2 + 1, 1)).astype(np.float32)
    img = img + cv2.resize(grain, (w, h))[..., None]
    if rng.random() < 0.5:  # a glossy print catches a light: a soft bright spot
        m = np.zeros((h, w), np.float32)
        cv2.circle(m, (int(_u(rng, 0, w)), int(_u(rng, 0, h))), int(min(h, w) * _u(rng, 0.05, 0.25)), 1.0, -1)
        m = cv2.GaussianBlur(m, (0, 0), min(h, w) * _u(rng, 0.03, 0.1))[..., None]
        img = img + m * _u(rng, 0.3, 0.9)
    return img


def _print_texture_physical(rng, img, white, black, style, per_mm):
    """Print texture at its physical size (`per_mm` sheet pixels per millimetre of paper; patch mode): what a 640x480
    camera cannot resolve at that distance is not drawn."""
    h, w = img.shape[:2]
    if style == 0:  # halftone of a laser or offset print, 65-175 lines per inch
        pitch = 25.4 / _u(rng, 65, 175) * per_mm
        # Finer than 2 sheet pixels = finer than one camera pixel: the lens and the pixel's area average it away
        # (a Gaussian of 0.4 px keeps < 4 % of it), so drawing it would only draw the sheet's own aliasing.
        if pitch >= 2.0:
            img = _dot_screen(rng, img, white, black, pitch)
    elif style == 1:  # laser banding: 0.5-4 mm stripes of uneven toner
        yy = np.arange(h, dtype=np.float32)[:, None, None]
        img = img * (1 + _u(rng, 0.02, 0.07) * np.sin(yy * 2 * np.pi / (_u(rng, 0.5, 4.0) * per_mm) + _u(rng, 0, 6)))
    # styles 2-3: inkjet or photo print, whose dots (< 0.1 mm) no 640x480 camera at door distance resolves.
    # Paper grain, always a little: fibres and coating, 0.1-0.5 mm.
    cell = max(1.0, _u(rng, 0.1, 0.5) * per_mm)
    grain = rng.normal(0, _u(rng, 0.01, 0.04), (int(h / cell) + 2, int(w / cell) + 2, 1)).astype(np.float32)
    img = img + cv2.resize(grain, (w, h), interpolation=cv2.INTER_LINEAR)[..., None]
    if rng.random() < 0.5:  # a glossy print catches a light: a soft bright spot (drawn at 1/8 scale: it is smooth)
        sh, sw = h // 8 + 1, w // 8 + 1
        m = np.zeros((sh, sw), np.float32)
        cv2.circle(m, (int(_u(rng, 0, sw)), int(_u(rng, 0, sh))), int(min(sh, sw) * _u(rng, 0.05, 0.25)), 1.0, -1)
        m = cv2.GaussianBlur(m, (0, 0), max(0.5, min(sh, sw) * _u(rng, 0.03, 0.1)))
        img = img + cv2.resize(m, (w, h), interpolation=cv2.INTER_LINEAR)[..., None] * _u(rng, 0.3, 0.9)
    return img


def print_sheet(rng, photo, px_mm=None, k=1.0):
    """The photo as it comes out of a printer: ink gamut, dot screen or dither, paper grain, glare. With `px_mm`
    (the sheet's millimetres per camera pixel at the distance it is held) and `k` (sheet pixels per camera pixel),
    every texture is drawn at its real size (patch mode); without, at stop 25's sizes."""
    img = _colour_jitter(rng, photo)
    white = np.array([_u(rng, 0.82, 0.98)] * 3, np.float32) * rng.uniform(0.96, 1.03, 3).astype(np.float32)
    black = _u(rng, 0.06, 0.22)
    grey = img.mean(axis=2, keepdims=True)
    img = grey + (img - grey) * _u(rng, 0.55, 0.95)  # inks cannot reach the screen's saturation
    img = black + img * (white - black)  # paper white and ink black
    style = rng.integers(0, 4)
    if px_mm is None:
        img = _print_texture(rng, img, white, black, style)
    else:
        img = _print_texture_physical(rng, img, white, black, style, k / px_mm)
    return np.clip(img, 0, 1).astype(np.float32), white


def _stripes(rng, img, xx, pitch):
    """RGB sub-pixel stripes of `pitch` sheet pixels."""
    ph = (xx % pitch) / pitch
    stripes = np.stack([(ph < 1 / 3), (ph >= 1 / 3) & (ph < 2 / 3), (ph >= 2 / 3)], -1).astype(np.float32)
    a = _u(rng, 0.15, 0.6)
    return img * (1 - a + a * 3 * stripes * _u(rng, 0.8, 1.0))


def replay_screen(rng, photo, px_mm=None, k=1.0):
    """The photo on a phone or tablet: white point and gamma shift, backlight, pixel grid, moiré, reflection.
    `px_mm`, `k` as in print_sheet: with them the pixel grid is drawn at its real pitch, so it shows only where a
    camera pixel is smaller than a screen pixel (a low-density screen held close), and moiré only as its slow beat."""
    img = _colour_jitter(rng, photo)
    img = np.clip(img, 0, 1) ** _u(rng, 0.6, 1.1)  # screens are brighter, flatter
    img = img * _u(rng, 0.95, 1.25) + _u(rng, 0.0, 0.1)  # backlight lifts the blacks
    img = img * np.array([_u(rng, 0.85, 1.0), _u(rng, 0.92, 1.02), _u(rng, 1.0, 1.15)], np.float32)  # cool white
    h, w = img.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    if px_mm is None:
        pitch = _u(rng, 1.6, 4.5)  # screen pixels per source pixel after the recapture resample
        if rng.random() < 0.8:  # RGB sub-pixel stripes
            img = _stripes(rng, img, xx, pitch)
        if rng.random() < 0.7:  # moiré: two nearly equal frequencies beating
            f1 = 2 * np.pi / _u(rng, 2.0, 5.0)
            f2 = f1 * _u(rng, 0.9, 1.1)
            a1, a2 = _u(rng, 0, np.pi), _u(rng, 0, np.pi)
            m = np.cos(f1 * (xx * np.cos(a1) + yy * np.sin(a1))) * np.cos(f2 * (xx * np.cos(a2) + yy * np.sin(a2)))
            img = img * (1 + _u(rng, 0.04, 0.2) * m[..., None])
    else:
        # Pixel pitch 0.05 mm (a 500 ppi phone) to 0.26 mm (a 100 ppi monitor), in sheet pixels.
        pitch = _u(rng, 0.05, 0.26) * k / px_mm
        if pitch >= 2.0 and rng.random() < 0.8:  # sub-pixel stripes, where the camera can resolve them at all
            img = _stripes(rng, img, xx, pitch)
        if rng.random() < 0.5:
            # Moiré: the unresolved pixel grid beating with the sensor's grid leaves only the slow difference
            # frequency, 6-40 camera pixels, faint; drawn as that beat (the fast carrier would not survive the lens).
            f = 2 * np.pi / (_u(rng, 6, 40) * k)
            a1 = _u(rng, 0, np.pi)
            m = np.cos(f * (xx * np.cos(a1) + yy * np.sin(a1)))
            img = img * (1 + _u(rng, 0.01, 0.06) * m[..., None])
    if rng.random() < 0.6:  # a reflection band of the room's light
        a = _u(rng, 0, np.pi)
        d = xx * np.cos(a) + yy * np.sin(a)
        c = _u(rng, d.min(), d.max())
        band = np.exp(-((d - c) / (max(h, w) * _u(rng, 0.05, 0.3))) ** 2)
        img = img + band[..., None] * _u(rng, 0.1, 0.45)
    return np.clip(img, 0, 1).astype(np.float32)


# ---------------------------------------------------------------- frames and crops

def _place(rng, sheet, sheet_box, bg, frame_face_w, border, border_colour, hand_p, aperture=False):
    """Put a flat sheet (print or screen) with a border into the scene at a random perspective; return frame, box.
    `aperture` (patch mode, frames at the camera's scale): the camera's pixel area averages the sheet first."""
    x, y, w, h = sheet_box
    k = w / frame_face_w  # sheet pixels per camera pixel
    if aperture and k > 1.2:
        # A camera pixel integrates the light over its area (with the lens, ~ a Gaussian of 0.35 px): what the sheet
        # holds finer than that is averaged before the grid samples it, and the rest aliases as it would.
        sheet = cv2.GaussianBlur(sheet, (0, 0), 0.35 * k)
    sh, sw = sheet.shape[:2]
    b = int(border)
    framed = cv2.copyMakeBorder(sheet, b, b, b, b, cv2.BORDER_CONSTANT, value=[float(v) for v in border_colour])
    fh, fw = framed.shape[:2]
    s = frame_face_w / w
    H, W = bg.shape[:2]
    # Corners of the framed sheet, scaled, centred so the face lands near the frame's centre, then tilted.
    cx, cy = (x + b + w / 2) * s, (y + b + h / 2) * s
    src = np.array([[0, 0], [fw, 0], [fw, fh], [0, fh]], np.float32)
    dst = src * s - np.array([cx, cy], np.float32) + np.array([W / 2 + _u(rng, -0.1, 0.1) * W,
                                                               H / 2 + _u(rng, -0.1, 0.1) * H], np.float32)
    tilt = _u(rng, 0.0, 0.22)
    for i in range(4):
        dst[i] += rng.normal(0, tilt * frame_face_w, 2).astype(np.float32) * 0.5
    # A small rotation in the plane.
    ang = np.deg2rad(_u(rng, -12, 12))
    c0 = dst.mean(axis=0)
    r = np.array([[np.cos(ang), -np.sin(ang)], [np.sin(ang), np.cos(ang)]], np.float32)
    dst = (dst - c0) @ r.T + c0
    M = cv2.getPerspectiveTransform(src, dst.astype(np.float32))
    warped = cv2.warpPerspective(framed, M, (W, H), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                                 borderValue=(0, 0, 0))
    mask = cv2.warpPerspective(np.ones((fh, fw), np.float32), M, (W, H), flags=cv2.INTER_LINEAR)[..., None]
    frame = bg * (1 - mask) + warped * mask
    if rng.random() < hand_p:
        frame = _hand(rng, frame, W, H)
    # The face box through the same map: axis-aligned bounds of its corners.
    pts = np.array([[x + b, y + b], [x + b + w, y + b], [x + b + w, y + b + h], [x + b, y + b + h]], np.float32)
    q = cv2.perspectiveTransform(pts[None], M)[0]
    x0, y0 = q.min(axis=0)
    x1, y1 = q.max(axis=0)
    return frame, (float(x0), float(y0), float(x1 - x0), float(y1 - y0))


def _region(rng, photo, box, extent):
    """A rectangle of the photo around the face, `extent` face widths wide (clipped to the photo)."""
    ph, pw = photo.shape[:2]
    x, y, w, h = box
    ex = w * extent * _u(rng, 0.8, 1.25)
    ey = h * extent * _u(rng, 0.9, 1.5)
    x0 = int(max(0, x + w / 2 - ex / 2 + _u(rng, -0.2, 0.2) * w))
    y0 = int(max(0, y + h / 2 - ey / 2.4 + _u(rng, -0.2, 0.2) * h))
    x1 = int(min(pw, x + w / 2 + ex / 2 + _u(rng, -0.2, 0.2) * w))
    y1 = int(min(ph, y + h / 2 + ey / 1.6 + _u(rng, -0.2, 0.2) * h))
    x1, y1 = max(x1, int(x + w) + 1), max(y1, int(y + h) + 1)
    x0, y0 = min(x0, int(x)), min(y0, int(y))
    return photo[y0:y1, x0:x1], (x - x0, y - y0, w, h)


def _box_jitter(rng, box):
    """The detector's box is not the Haar box: shift and size noise."""
    x, y, w, h = box
    s = _u(rng, 0.85, 1.2)
    nw, nh = w * s, h * s * _u(rng, 0.9, 1.15)
    return (x + w / 2 - nw / 2 + _u(rng, -0.08, 0.08) * w, y + h / 2 - nh / 2 + _u(rng, -0.08, 0.08) * h, nw, nh)


CLOSE_P = 0.4
# The texture patch (stop 26 experiment, not shipped): the middle of the detector's box, PATCH_FRACTION of its width
# and height (livenessCrop with that scale: what a worker would cut to run such a model; the kiosk does not today),
# resampled to PATCH_SIZE. For faces the kiosk decides on (box 80-240 px in a 640x480 frame) that is 40-120 camera
# pixels onto 64: close to the camera's own pixel scale.
PATCH_FRACTION = 0.5
PATCH_SIZE = 64
FRAME_H = 480  # the kiosk camera's frame (640x480)
SHEET_K = 2.0  # prints and screens are drawn at twice the camera's resolution, then sampled by the camera's grid


def sample(rng, photo, box, kind, size, scale=CROP_SCALE, photos=(), patch=0):
    """One model input (size x size RGB 0..1) of `kind` in {'live', 'print', 'replay'} from a photo and face box;
    with `patch` (a side in pixels), the pair (context crop, texture patch) cut from the same frame."""
    # Patch mode: everything at the camera's own scale (a 640x480 frame), where a face the kiosk decides on is 80-240
    # px wide (eyes >= 36 px apart; the distance gate stops at half the frame's height), so the patch sees texture at
    # the size the camera would. Without a patch (stop 25): the face 45-130 px, since the 64 px context crop keeps
    # nothing finer than its 1/64 anyway and drawing smaller is 3-4x faster.
    native = patch > 0
    face_w = _u(rng, 80, 240) if native else _u(rng, 45, 130)
    # Close up: the face 35-90 % of the frame's height, as a visitor standing at a tablet is (and as an attacker who
    # holds the print or phone close is). The kiosk's crop then cannot grow 2.7x and is clamped to the frame
    # (crop_rect), so the network sees a tighter crop with little or no context: it must not learn "large = live".
    close = rng.random() < CLOSE_P
    if close:
        if native:
            frame_h = float(FRAME_H)
            face_w = frame_h * _u(rng, 0.35, 0.9)
        else:
            frame_h = face_w / _u(rng, 0.35, 0.9)
        frame_w = frame_h * 4 / 3
    if kind == 'live':
        # The person themself: the photo re-seen by the camera at door distance, small pose/position changes.
        # Only the face's neighbourhood (room for the crop, clipped at the photo's edges like a camera frame's).
        ph, pw = photo.shape[:2]
        cx, cy = box[0] + box[2] / 2, box[1] + box[3] / 2
        if close:
            # The camera's window in photo pixels, the face anywhere inside it, clipped at the photo's edges.
            k = box[2] / face_w
            hw, hh = 0.5 * frame_w * k, 0.5 * frame_h * k
            ox = _u(rng, -1, 1) * max(0.0, hw - box[2] / 2) * 0.8
            oy = _u(rng, -1, 1) * max(0.0, hh - box[3] / 2) * 0.8
            x0, y0 = int(max(0, cx + ox - hw)), int(max(0, cy + oy - hh))
            x1, y1 = int(min(pw, cx + ox + hw + 1)), int(min(ph, cy + oy + hh + 1))
        else:
            half = 0.5 * scale * 1.4 * max(box[2], box[3])
            x0, y0 = int(max(0, cx - half)), int(max(0, cy - half))
            x1, y1 = int(min(pw, cx + half + 1)), int(min(ph, cy + half + 1))
        img = _colour_jitter(rng, photo[y0:y1, x0:x1])
        s = face_w / box[2]
        m = cv2.getRotationMatrix2D((cx - x0, cy - y0), _u(rng, -10, 10), s)
        m[:, 2] += (s - 1) * np.array([cx - x0, cy - y0])  # keep the scaled region in view
        W, H = int((x1 - x0) * s) + 1, int((y1 - y0) * s) + 1
        frame = cv2.warpAffine(img, m, (W, H), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        c = m @ np.array([cx - x0, cy - y0, 1.0])
        fbox = (c[0] - box[2] * s / 2, c[1] - box[3] * s / 2, box[2] * s, box[3] * s)
        if rng.random() < 0.3:  # a lamp on one side of the face
            yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
            d = np.exp(-(((xx - _u(rng, 0, W)) ** 2 + (yy - _u(rng, 0, H)) ** 2) / (2 * (max(W, H) * 0.3) ** 2)))
            frame = frame + d[..., None] * _u(rng, 0.1, 0.4)
    else:
        extent = (_u(rng, 1.3, 3.5) if not close else _u(rng, 1.3, 2.5)) if native else _u(rng, 1.3, 4.0)
        region, rbox = _region(rng, photo, box, extent)
        px_mm, k = None, 1.0
        if native:
            # Millimetres of sheet per camera pixel: the face on a print is 4-16 cm wide, on a phone 2.5-10 cm.
            px_mm = (_u(rng, 40, 160) if kind == 'print' else _u(rng, 25, 100)) / face_w
            # Drawn at SHEET_K sheet pixels per camera pixel (less if the sheet would be huge), so texture near the
            # camera's resolution is sampled by the camera's grid (_place), not by our drawing.
            k = SHEET_K * _u(rng, 0.9, 1.1)
            k = max(1.0, min(k, 800 / (max(region.shape[:2]) * face_w / rbox[2])))
            rs = k * face_w / rbox[2]
        else:
            # Printed or displayed at some resolution: resample so halftone/pixel pitch is in sheet pixels.
            rs = _u(rng, 0.9, 1.5) * face_w / rbox[2]
        region = cv2.resize(region, (max(8, int(region.shape[1] * rs)), max(8, int(region.shape[0] * rs))),
                            interpolation=cv2.INTER_LINEAR)
        rbox = tuple(v * rs for v in rbox)
        if close:
            W, H = int(frame_w), int(frame_h)
        else:
            W = int(face_w * _u(rng, 3.0, 4.5))
            W = min(640, W) if native else W  # no wider than the camera's frame
            H = int(W * 0.75)
        bg = background(rng, H, W, photos)
        if kind == 'print':
            sheet, white = print_sheet(rng, region, px_mm, k)
            border = rbox[2] * (_u(rng, 0.0, 0.35) if rng.random() < 0.8 else 0.0)
            frame, fbox = _place(rng, sheet, rbox, bg, face_w, border, white, 0.5, native)
        else:
            sheet = replay_screen(rng, region, px_mm, k)
            bezel = rbox[2] * _u(rng, 0.03, 0.4)
            colour = np.array([_u(rng, 0.0, 0.12)] * 3, np.float32) if rng.random() < 0.85 else \
                np.array([_u(rng, 0.7, 0.95)] * 3, np.float32)
            frame, fbox = _place(rng, sheet, rbox, bg, face_w, bezel, colour, 0.4, native)
    frame = np.clip(frame, 0, 1).astype(np.float32)
    # Only the crops' neighbourhood goes through the camera model (speed); the crops then come out of it, both from
    # the same detector box, as in the worker.
    fh, fw = frame.shape[:2]
    dbox = _box_jitter(rng, fbox)
    rect = crop_rect(dbox, fw, fh, scale)
    rects = [rect] + ([crop_rect(dbox, fw, fh, PATCH_FRACTION)] if patch else [])
    m = 8
    x0 = int(max(0, min(r[0] for r in rects) - m))
    y0 = int(max(0, min(r[1] for r in rects) - m))
    x1 = int(min(fw, max(r[0] + r[2] for r in rects) + m))
    y1 = int(min(fh, max(r[1] + r[3] for r in rects) + m))
    shot = camera(rng, frame[y0:y1, x0:x1], native)
    outs = [cut(shot, (r[0] - x0, r[1] - y0, r[2], r[3]), n) for r, n in zip(rects, [size, patch])]
    return outs[0] if not patch else (outs[0], outs[1])


def synthetic_face(rng, size=160):
    """A drawn face on a random background, for the smoke run on a machine without the photo data set."""
    img = background(rng, size, size, ())
    skin = np.array([_u(rng, 0.5, 0.9), _u(rng, 0.35, 0.7), _u(rng, 0.25, 0.6)], np.float32)
    c = (size // 2, size // 2)
    cv2.ellipse(img, c, (size // 6, size // 4), 0, 0, 360, [float(v) for v in skin], -1)
    for dx in (-1, 1):
        cv2.circle(img, (c[0] + dx * size // 14, c[1] - size // 16), size // 40 + 1, (0.1, 0.1, 0.1), -1)
    cv2.line(img, (c[0] - size // 20, c[1] + size // 8), (c[0] + size // 20, c[1] + size // 8), (0.4, 0.1, 0.1), 2)
    img = cv2.GaussianBlur(img, (0, 0), 1.0)
    return img, (c[0] - size / 6, c[1] - size / 4, size / 3, size / 2)
