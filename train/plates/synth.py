"""Synthetic licence plates per region, rendered with Debian fonts (fonts-dejavu-core, fonts-liberation,
fonts-wqy-microhei, and the narrow DIN-like faces of fonts-roboto-unhinted, fonts-bebas-neue, fonts-open-sans,
fonts-b612) onto backgrounds cut from real photos.

Owns only the drawing: a plate string of a region's format, the plate's look (colours, band, state name,
frame, screws, stickers, dirt, glare), and its placement in a scene with a perspective warp. Returns the scene
(PIL greyscale) and the plate's text box corners in scene pixels; cropping, resizing and pixel-level noise are
the caller's (train.py `augment`). It never reads the held-out data: backgrounds come from the training list.
"""
import math
import random

from PIL import Image, ImageDraw, ImageFilter, ImageFont

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
DIGITS = "0123456789"
CN_PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"

LATIN_FONTS = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSansCondensed-Bold.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSansMono-Bold.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSansCondensed.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSansNarrow-Bold.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationMono-Bold.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSansNarrow-Regular.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSerif-Bold.ttf",
]
# Narrow engineering-style faces, the nearest Debian has to DIN 1451 (German and most EU plates), FE-Schrift
# (Mercosul, newer EU) and the US states' condensed plate faces: drawn for half of the EU and BR plates and a
# quarter of the US ones (PLATE_FONT_P), because the first runs' humanist faces never showed a DIN 'W' or '0'.
PLATE_FONTS = [
    "/usr/share/fonts/truetype/roboto/unhinted/RobotoCondensed-Bold.ttf",
    "/usr/share/fonts/truetype/roboto/unhinted/RobotoCondensed-Medium.ttf",
    "/usr/share/fonts/truetype/roboto/unhinted/RobotoTTF/Roboto-Medium.ttf",
    "/usr/share/fonts/opentype/bebas-neue/BebasNeue-Bold.otf",
    "/usr/share/fonts/opentype/bebas-neue/BebasNeue-Regular.otf",
    "/usr/share/fonts/truetype/open-sans/OpenSans-CondBold.ttf",
    "/usr/share/fonts/opentype/b612/B612-Bold.otf",
    "/usr/share/fonts/opentype/b612/B612Mono-Bold.otf",
]
PLATE_FONT_P = {"us": 0.25, "eu": 0.5, "br": 0.5, "cn": 0.25}
CJK_FONT = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"
# Characters that real EU/BR plates get wrong in pairs (W/VV, O/0/D/Q, 8/B, 5/S, 2/Z, 1/I, M/N): with probability
# LOOKALIKE (set by train.py --lookalike; 0 keeps earlier runs' draws) each character of an EU/BR plate is drawn
# from this set instead of the whole alphabet, so the reader sees the pairs side by side more often.
LOOKALIKE = 0.0
LOOKALIKE_LETTERS = "WVODQBSZIMNU"
LOOKALIKE_DIGITS = "085217"

US_STATES = [
    "CALIFORNIA", "TEXAS", "NEW YORK", "FLORIDA", "OHIO", "ILLINOIS", "GEORGIA", "VIRGINIA", "ARIZONA",
    "WASHINGTON", "MICHIGAN", "PENNSYLVANIA", "NEW JERSEY", "MARYLAND", "OREGON", "NEVADA", "COLORADO",
    "MASSACHUSETTS", "MISSOURI", "INDIANA", "ALASKA", "UTAH", "IOWA", "KANSAS", "MAINE", "IDAHO",
]
US_SLOGANS = ["Sunshine State", "dmv.ca.gov", "THE LONE STAR STATE", "EMPIRE STATE", "Grand Canyon State",
              "Land of Lincoln", "Great Lakes", "Evergreen State", "", "", "LIVE FREE OR DIE", "Peach State"]
US_FORMATS = ["LLLDDDD", "DLLLDDD", "LLDLDL", "LLDLDDD", "LDDLLL", "DLLDDDD", "DLLDDD", "LLLDDD", "DDDLLL",
              "LLDDDD", "LLDDDDD", "LLLDLL", "DDDDDDD", "DDDDDD", "AAAAAA", "AAAAAAA", "AAAAA", "DAAAADD"]
EU_FORMATS = ["LL DDD LL", "DLD DDDD", "DLL DDDD", "LL DDDDD", "LLL DDDD", "LL DDDDL", "LLL DDLL", "DDDD LLL",
              "LL DD LLL", "LL DDD L", "LLL DDDD", "LL DDDD", "LLLL DDD", "L DDDD", "LL DDDDDD", "LL-DDD-LL",
              "L-LL DDD", "LL LL DDD"]
EU_COUNTRIES = ["D", "F", "I", "SK", "CZ", "PL", "E", "NL", "A", "B", "GB", "HR", "SLO", "H", "RO", "P", "LT"]


def rand_text(rng, fmt, no_o=False, lookalike=0.0):
    letters = LETTERS.replace("O", "") if no_o else LETTERS
    out = []
    for c in fmt:
        if c == "L":
            out.append(rng.choice(LOOKALIKE_LETTERS if lookalike and rng.random() < lookalike else letters))
        elif c == "D":
            out.append(rng.choice(LOOKALIKE_DIGITS if lookalike and rng.random() < lookalike else DIGITS))
        elif c == "A":
            out.append(rng.choice(letters + DIGITS))
        else:
            out.append(c)
    return "".join(out)


def _font(path, size):
    return ImageFont.truetype(path, size)


def _draw_text_fit(img, text, box, font_path, colour, rng, stroke=0):
    """Draw `text` filling `box` (x0, y0, x1, y1) by stretching a rendered line; returns the drawn ink box."""
    x0, y0, x1, y1 = box
    h = y1 - y0
    font = _font(font_path, max(8, int(h * 1.25)))
    spacing = rng.uniform(-0.02, 0.12)
    # Render each glyph separately so spacing is controllable; measure the union.
    glyphs = []
    for ch in text:
        if ch == " ":
            glyphs.append((None, int(h * rng.uniform(0.25, 0.5))))
            continue
        bb = font.getbbox(ch, stroke_width=stroke)
        gw, gh = bb[2] - bb[0], bb[3] - bb[1]
        g = Image.new("L", (gw + 2, gh + 2), 0)
        ImageDraw.Draw(g).text((1 - bb[0], 1 - bb[1]), ch, font=font, fill=255, stroke_width=stroke, stroke_fill=255)
        glyphs.append((g, gw + 2))
    gap = int(h * spacing)
    total_w = sum(w for _, w in glyphs) + gap * (len(glyphs) - 1)
    line = Image.new("L", (max(1, total_w), max(g.height for g, _ in glyphs if g is not None)), 0)
    x = 0
    for g, w in glyphs:
        if g is not None:
            line.paste(g, (x, (line.height - g.height) // 2 if not g.height >= line.height else 0))
        x += w + gap
    tw = x1 - x0
    line = line.resize((max(1, tw), max(1, h)), Image.BILINEAR)
    ink = Image.new("RGB", line.size, colour)
    img.paste(ink, (x0, y0), line)
    return (x0, y0, x1, y1)


def _colour_jitter(rng, c, amount=25):
    return tuple(max(0, min(255, v + rng.randint(-amount, amount))) for v in c)


def render_plate(rng, region):
    """A flat plate image (RGB) and its label and the characters' box on it."""
    font = rng.choice(PLATE_FONTS if rng.random() < PLATE_FONT_P[region] else LATIN_FONTS)
    if region == "us":
        fmt = rng.choice(US_FORMATS)
        text = rand_text(rng, fmt, no_o=True)
        W, H = 300, 150
        bg = _colour_jitter(rng, rng.choice([(245, 245, 245), (250, 250, 235), (235, 240, 250), (250, 240, 220),
                                             (220, 235, 245), (255, 255, 255), (240, 230, 200), (30, 40, 90)]))
        dark_bg = sum(bg) < 300
        ink = _colour_jitter(rng, rng.choice([(20, 30, 120), (10, 10, 10), (140, 20, 20), (20, 80, 30),
                                              (30, 30, 90)]), 15) if not dark_bg else (240, 240, 240)
        img = Image.new("RGB", (W, H), bg)
        d = ImageDraw.Draw(img)
        if rng.random() < 0.5:  # a scenic gradient band
            for y in range(H):
                t = y / H
                c = tuple(int(bg[i] * (1 - 0.3 * t) + rng.choice([0, 40]) * 0.3 * t) for i in range(3))
                d.line([(0, y), (W, y)], fill=c)
        state = rng.choice(US_STATES)
        sf = _font(rng.choice(LATIN_FONTS), rng.randint(18, 30))
        sx = (W - d.textlength(state, font=sf)) // 2
        d.text((sx, rng.randint(4, 14)), state, font=sf, fill=_colour_jitter(rng, ink, 40))
        slogan = rng.choice(US_SLOGANS)
        if slogan:
            lf = _font(rng.choice(LATIN_FONTS), rng.randint(12, 18))
            d.text(((W - d.textlength(slogan, font=lf)) // 2, H - rng.randint(22, 28)), slogan, font=lf,
                   fill=_colour_jitter(rng, ink, 40))
        disp = text
        if rng.random() < 0.4 and len(text) >= 6:
            k = len(text) // 2 if rng.random() < 0.5 else 3
            disp = text[:k] + rng.choice([" ", "-", "·"]) + text[k:]
        tw = int(W * rng.uniform(0.62, 0.88))
        th = int(H * rng.uniform(0.38, 0.5))
        tx = (W - tw) // 2 + rng.randint(-8, 8)
        ty = int(H * 0.3) + rng.randint(-6, 6)
        box = _draw_text_fit(img, disp.replace("·", " "), (tx, ty, tx + tw, ty + th), font, ink, rng)
        if rng.random() < 0.5:  # registration sticker in a corner
            sx0 = rng.choice([6, W - 46])
            sy0 = rng.choice([6, H - 36])
            d.rectangle([sx0, sy0, sx0 + rng.randint(26, 40), sy0 + rng.randint(18, 28)],
                        fill=tuple(rng.randint(0, 255) for _ in range(3)))
        return img, text, box
    if region == "eu":
        fmt = rng.choice(EU_FORMATS)
        text_disp = rand_text(rng, fmt, lookalike=LOOKALIKE)
        text = text_disp.replace(" ", "").replace("-", "")
        W, H = 520, 112
        bg = _colour_jitter(rng, rng.choice([(245, 245, 245), (250, 210, 30), (255, 255, 255)]), 12)
        img = Image.new("RGB", (W, H), bg)
        d = ImageDraw.Draw(img)
        band = rng.random() < 0.85
        x_start = 10
        if band:
            bw = int(W * rng.uniform(0.08, 0.11))
            d.rectangle([0, 0, bw, H], fill=_colour_jitter(rng, (20, 50, 160), 15))
            for k in range(12):  # ring of stars
                a = 2 * math.pi * k / 12
                cx, cy = bw / 2 + math.cos(a) * bw * 0.28, H * 0.3 + math.sin(a) * bw * 0.28
                d.ellipse([cx - 2, cy - 2, cx + 2, cy + 2], fill=(250, 210, 30))
            cf = _font(rng.choice(LATIN_FONTS), int(H * 0.3))
            cc = rng.choice(EU_COUNTRIES)
            d.text(((bw - d.textlength(cc, font=cf)) / 2, H * 0.55), cc, font=cf, fill=(250, 250, 250))
            x_start = bw + 8
        if rng.random() < 0.4:  # a crest or seal between groups
            cx = x_start + rng.randint(100, 200)
            d.ellipse([cx, H * 0.3, cx + 22, H * 0.7], fill=_colour_jitter(rng, (150, 60, 60), 60))
        tw = int((W - x_start - 10) * rng.uniform(0.8, 0.98))
        th = int(H * rng.uniform(0.62, 0.76))
        tx = x_start + rng.randint(0, 10)
        ty = (H - th) // 2 + rng.randint(-3, 3)
        box = _draw_text_fit(img, text_disp, (tx, ty, tx + tw, ty + th), font, (15, 15, 15), rng)
        return img, text, box
    if region == "br":
        mercosul = rng.random() < 0.55
        W, H = 400, 130
        if mercosul:
            text = rand_text(rng, "LLLDLDD", lookalike=LOOKALIKE)
            img = Image.new("RGB", (W, H), _colour_jitter(rng, (245, 245, 245), 8))
            d = ImageDraw.Draw(img)
            d.rectangle([0, 0, W, int(H * 0.22)], fill=_colour_jitter(rng, (20, 60, 170), 15))
            bf = _font(rng.choice(LATIN_FONTS), int(H * 0.15))
            d.text(((W - d.textlength("BRASIL", font=bf)) / 2, 3), "BRASIL", font=bf, fill=(250, 250, 250))
            tw, th = int(W * rng.uniform(0.78, 0.92)), int(H * rng.uniform(0.5, 0.6))
            tx, ty = (W - tw) // 2, int(H * 0.3)
            box = _draw_text_fit(img, text, (tx, ty, tx + tw, ty + th), font, (15, 15, 15), rng)
        else:
            text = rand_text(rng, "LLLDDDD", lookalike=LOOKALIKE)
            bg = rng.choice([(190, 190, 190), (200, 30, 30), (240, 240, 240)])
            ink = (15, 15, 15) if bg != (200, 30, 30) else (245, 245, 245)
            img = Image.new("RGB", (W, H), _colour_jitter(rng, bg, 15))
            d = ImageDraw.Draw(img)
            town = rng.choice(["SP - SAO PAULO", "RJ - RIO DE JANEIRO", "MG - BELO HORIZONTE", "PR - CURITIBA",
                               "RS - PORTO ALEGRE", "BA - SALVADOR"])
            tf = _font(rng.choice(LATIN_FONTS), int(H * 0.16))
            d.text(((W - d.textlength(town, font=tf)) / 2, 4), town, font=tf, fill=ink)
            tw, th = int(W * rng.uniform(0.8, 0.93)), int(H * rng.uniform(0.5, 0.6))
            tx, ty = (W - tw) // 2, int(H * 0.3)
            box = _draw_text_fit(img, text[:3] + "-" + text[3:], (tx, ty, tx + tw, ty + th), font, ink, rng)
        return img, text, box
    # cn
    green = rng.random() < 0.4
    prov = rng.choice(CN_PROVINCES)
    letter = rng.choice(LETTERS.replace("I", "").replace("O", ""))
    pool = (LETTERS.replace("I", "").replace("O", "")) + DIGITS
    rest = "".join(rng.choice(pool) for _ in range(6 if green else 5))
    text = prov + letter + rest
    W, H = 440, 140
    if green:
        img = Image.new("RGB", (W, H), (120, 200, 120))
        d = ImageDraw.Draw(img)
        for y in range(H):
            t = y / H
            d.line([(0, y), (W, y)], fill=(int(240 - 140 * t), int(250 - 40 * t), int(240 - 120 * t)))
        ink = (10, 10, 10)
    else:
        img = Image.new("RGB", (W, H), _colour_jitter(rng, (20, 60, 200), 15))
        d = ImageDraw.Draw(img)
        d.rectangle([5, 5, W - 6, H - 6], outline=(240, 240, 240), width=3)
        ink = (245, 245, 245)
    th = int(H * 0.7)
    ty = (H - th) // 2
    pw = int(th * 0.9)
    if CJK_FONT:
        pf = _font(CJK_FONT, int(th * 0.95))
        g = Image.new("L", (pw + 10, th + 10), 0)
        bb = pf.getbbox(prov)
        ImageDraw.Draw(g).text((-bb[0], -bb[1]), prov, font=pf, fill=255)
        g = g.crop((0, 0, bb[2] - bb[0], bb[3] - bb[1])).resize((pw, th))
        img.paste(Image.new("RGB", g.size, ink), (18, ty), g)
    x = 18 + pw + 6
    _draw_text_fit(img, letter, (x, ty, x + int(th * 0.5), ty + th), font, ink, rng)
    x += int(th * 0.5) + 8
    d.ellipse([x, H // 2 - 4, x + 8, H // 2 + 4], fill=ink)
    x += 16
    _draw_text_fit(img, rest, (x, ty, W - 16, ty + th), font, ink, rng)
    return img, text, (18, ty, W - 16, ty + th)


def decorate(rng, img):
    """Frame, screws, dirt, glare and a partial occlusion on the flat plate (in place)."""
    W, H = img.size
    d = ImageDraw.Draw(img, "RGBA")
    if rng.random() < 0.6:  # screws / bolts
        for (sx, sy) in [(W * 0.2, H * 0.12), (W * 0.8, H * 0.12), (W * 0.2, H * 0.88), (W * 0.8, H * 0.88)]:
            if rng.random() < 0.7:
                r = H * rng.uniform(0.03, 0.05)
                c = rng.randint(60, 200)
                d.ellipse([sx - r, sy - r, sx + r, sy + r], fill=(c, c, c, 255))
    for _ in range(rng.randint(0, 6)):  # dirt
        x, y = rng.uniform(0, W), rng.uniform(0, H)
        r = rng.uniform(3, H * 0.25)
        c = rng.randint(40, 120)
        d.ellipse([x - r, y - r * 0.6, x + r, y + r * 0.6], fill=(c, c - 10, c - 20, rng.randint(20, 90)))
    if rng.random() < 0.3:  # glare
        x = rng.uniform(0, W)
        w = rng.uniform(W * 0.1, W * 0.4)
        d.polygon([(x, 0), (x + w, 0), (x + w - W * 0.2, H), (x - W * 0.2, H)], fill=(255, 255, 255, rng.randint(40, 140)))
    if rng.random() < 0.12:  # occlusion of an edge (tow bar, another car's corner): at most 8% of the width
        w = W * rng.uniform(0.02, 0.08)
        x = 0 if rng.random() < 0.5 else W - w
        c = rng.randint(0, 80)
        d.rectangle([x, 0, x + w, H], fill=(c, c, c, 255))
    if rng.random() < 0.5:  # plate frame / dealer surround
        t = int(H * rng.uniform(0.04, 0.12))
        c = rng.choice([(20, 20, 20), (190, 190, 190), (120, 100, 60)])
        framed = Image.new("RGB", (W + 2 * t, H + 2 * t + (t if rng.random() < 0.5 else 0)), c)
        fd = ImageDraw.Draw(framed)
        if framed.height > H + 2 * t and rng.random() < 0.7:
            dealer = rng.choice(["AUTO SALES", "TOYOTA OF", "HONDA", "FORD", "CHEVROLET", "DEALER"])
            df = _font(rng.choice(LATIN_FONTS), max(6, int(t * 1.2)))
            fd.text((framed.width // 2 - fd.textlength(dealer, font=df) // 2, H + t + 1), dealer, font=df,
                    fill=(230, 230, 230) if sum(c) < 300 else (20, 20, 20))
        framed.paste(img, (t, t))
        return framed, (t, t)
    return img, (0, 0)


def _perspective_coeffs(src, dst):
    """Coefficients for PIL's Image.transform(PERSPECTIVE) mapping output (dst) points to input (src) points."""
    import numpy as np
    A = []
    B = []
    for (x, y), (u, v) in zip(dst, src):
        A.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        A.append([0, 0, 0, x, y, 1, -v * x, -v * y])
        B += [u, v]
    return np.linalg.solve(np.array(A, dtype=float), np.array(B, dtype=float)).tolist()


def scene(rng, region, backgrounds):
    """A greyscale scene with one synthetic plate: (image, text, text quad, plate quad)."""
    plate, text, box = render_plate(rng, region)
    plate, (ox, oy) = decorate(rng, plate)
    box = (box[0] + ox, box[1] + oy, box[2] + ox, box[3] + oy)
    pw, ph = plate.size
    scale = rng.uniform(0.35, 1.0)
    SW, SH = int(pw * scale * rng.uniform(1.3, 1.8)), int(ph * scale * rng.uniform(1.6, 2.4))
    bg = rng.choice(backgrounds) if backgrounds else None
    if bg is not None and bg.width > SW and bg.height > SH:
        x = rng.randint(0, bg.width - SW)
        y = rng.randint(0, bg.height - SH)
        canvas = bg.crop((x, y, x + SW, y + SH)).convert("RGB")
    else:
        c = rng.randint(0, 255)
        canvas = Image.new("RGB", (SW, SH), (c, c, c))
    # Destination quad: the plate's corners, placed and skewed.
    cx, cy = SW / 2 + rng.uniform(-0.08, 0.08) * SW, SH / 2 + rng.uniform(-0.08, 0.08) * SH
    w, h = pw * scale, ph * scale
    ang = math.radians(rng.uniform(-6, 6))
    persp = rng.uniform(-0.12, 0.12)
    corners = [(-w / 2, -h / 2 * (1 + persp)), (w / 2, -h / 2 * (1 - persp)), (w / 2, h / 2 * (1 - persp)),
               (-w / 2, h / 2 * (1 + persp))]
    shear = rng.uniform(-0.15, 0.15)
    dst = []
    for (x, y) in corners:
        x = x + shear * y
        dst.append((cx + x * math.cos(ang) - y * math.sin(ang), cy + x * math.sin(ang) + y * math.cos(ang)))
    src = [(0, 0), (pw, 0), (pw, ph), (0, ph)]
    coeffs = _perspective_coeffs(src, dst)
    warped = plate.transform((SW, SH), Image.PERSPECTIVE, coeffs, Image.BILINEAR)
    mask = Image.new("L", (pw, ph), 255).transform((SW, SH), Image.PERSPECTIVE, coeffs, Image.BILINEAR)
    canvas.paste(warped, (0, 0), mask.filter(ImageFilter.GaussianBlur(0.6)))

    def fwd(px, py):
        # Map a plate point to scene coordinates by bilinear interpolation of the corners (close enough for boxes).
        u, v = px / pw, py / ph
        top = (dst[0][0] * (1 - u) + dst[1][0] * u, dst[0][1] * (1 - u) + dst[1][1] * u)
        bot = (dst[3][0] * (1 - u) + dst[2][0] * u, dst[3][1] * (1 - u) + dst[2][1] * u)
        return (top[0] * (1 - v) + bot[0] * v, top[1] * (1 - v) + bot[1] * v)

    tq = [fwd(box[0], box[1]), fwd(box[2], box[1]), fwd(box[2], box[3]), fwd(box[0], box[3])]
    return canvas.convert("L"), text, tq, dst
