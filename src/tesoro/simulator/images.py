"""The simulator's pictures: generated photos and video posters, drawn from each media item's URL.

Every picture is a function of its media item's identity (the original URL), so the same URL
always serves the same bytes and nothing is stored. What a URL draws:

- a *scene*: a subject (a shoe, a bottle, a jacket, a pack, a mountain view, a flat lay) in its
  own colours over a gradient, with texture so sharpness can be measured. About one photo in
  eight shows one of `SHARED_SCENES` popular scenes instead of its own: the same product shot
  re-posted on another platform or by another account, each copy re-cropped (up to 4 % a
  side), re-sized, brightened or darkened a little and re-compressed: the near-copies image
  deduplication must find (`scene_of` is the ground truth);
- a *take*: most photos are sharp and well exposed; some are blurred, some dark, some
  over-exposed;
- a *fault*: a few are tiny (under 48 pixels), a few are corrupt (a JPEG cut short), one in a
  hundred is not an image at all (an HTML error page served as image/jpeg);
- video and GIF previews are posters: the scene letter-boxed with a play mark.
"""

from __future__ import annotations

import hashlib
import io
import random
from dataclasses import dataclass
from functools import lru_cache

from PIL import Image, ImageDraw, ImageEnhance, ImageFilter

__all__ = ["SHARED_SCENES", "ImageSpec", "avatar", "image_spec", "render", "scene_of"]

SHARED_SCENES = 40
_SHARED_CHANCE = 0.12
_BASE_EDGE = 512
_SHARED_SHAPES = ((1080, 1350), (1080, 1080), (1350, 1080), (1200, 1600))


@dataclass(frozen=True, slots=True)
class ImageSpec:
    """What one media item's picture shows and how it was taken."""

    scene: int  # the scene drawn; shared scenes are 0 .. SHARED_SCENES - 1
    shared: bool
    blur: float  # Gaussian radius at 512 pixels; 0 = sharp
    exposure: float  # brightness factor; 1 = as lit
    fault: str | None  # None | "tiny" | "corrupt" | "not_image"
    crop: tuple[float, float, float, float]  # left, top, right, bottom shares cut off
    tint: float  # brightness change of a near-copy
    jpeg_quality: int

    @property
    def take(self) -> str:
        """'sharp', 'blurry', 'dark' or 'bright': how the photo was taken."""
        if self.blur >= 2.5:
            return "blurry"
        if self.exposure < 0.6:
            return "dark"
        if self.exposure > 1.4:
            return "bright"
        return "sharp"


def _rng(*parts: object) -> random.Random:
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def image_spec(identity: str) -> ImageSpec:
    """The picture a media item's URL draws (the same URL, the same picture)."""
    rng = _rng("image", identity)
    shared = rng.random() < _SHARED_CHANCE
    scene = rng.randrange(SHARED_SCENES) if shared else SHARED_SCENES + rng.randrange(1 << 40)
    roll = rng.random()
    blur, exposure = 0.0, 1.0
    if roll < 0.12:
        blur = rng.uniform(3.0, 7.0)
    elif roll < 0.22:
        exposure = rng.uniform(0.22, 0.4)
    elif roll < 0.28:
        exposure = rng.uniform(1.6, 2.2)
    fault_roll = rng.random()
    fault = "tiny" if fault_roll < 0.03 else "corrupt" if fault_roll < 0.06 else None
    if fault is None and fault_roll > 0.99:
        fault = "not_image"
    crop = (rng.uniform(0, 0.04), rng.uniform(0, 0.04), rng.uniform(0, 0.04), rng.uniform(0, 0.04))
    return ImageSpec(
        scene=scene,
        shared=shared,
        blur=blur,
        exposure=exposure,
        fault=fault,
        crop=crop if shared else (0.0, 0.0, 0.0, 0.0),
        tint=rng.uniform(0.9, 1.1) if shared else 1.0,
        jpeg_quality=rng.randint(60, 92),
    )


def scene_of(identity: str) -> int | None:
    """The shared scene a media item shows (None: a scene of its own): near-copies share one."""
    spec = image_spec(identity)
    return spec.scene if spec.shared else None


def _colour(rng: random.Random, light: tuple[float, float]) -> tuple[int, int, int]:
    import colorsys

    r, g, b = colorsys.hls_to_rgb(rng.random(), rng.uniform(*light), rng.uniform(0.35, 0.9))
    return int(r * 255), int(g * 255), int(b * 255)


@lru_cache(maxsize=256)
def _scene(scene: int, width: int, height: int) -> Image.Image:
    """The scene drawn at a size whose longer edge is 512, before any take or copy is applied."""
    rng = _rng("scene", scene)
    top, bottom = _colour(rng, (0.55, 0.85)), _colour(rng, (0.3, 0.6))
    image = Image.new("RGB", (width, height))
    draw = ImageDraw.Draw(image)
    vertical = rng.random() < 0.5
    span = height if vertical else width
    for i in range(span):
        t = i / max(span - 1, 1)
        shade = tuple(int(a + (b - a) * t) for a, b in zip(top, bottom, strict=True))
        draw.line([(0, i), (width, i)] if vertical else [(i, 0), (i, height)], fill=shade)
    # the room or the landscape around the subject: large shapes, so each scene has its own layout
    for _ in range(rng.randint(3, 6)):
        x, y = rng.uniform(-0.2, 1.0) * width, rng.uniform(-0.2, 1.0) * height
        w, h = rng.uniform(0.2, 0.7) * width, rng.uniform(0.2, 0.7) * height
        shade = _colour(rng, (0.15, 0.85))
        if rng.random() < 0.5:
            draw.ellipse([x, y, x + w, y + h], fill=shade)
        else:
            draw.rectangle([x, y, x + w, y + h], fill=shade)
    # texture: speckles and strokes, so a sharp photo has edges everywhere
    for _ in range(260):
        x, y = rng.randrange(width), rng.randrange(height)
        size = rng.randint(1, 6)
        shade = _colour(rng, (0.2, 0.8))
        if rng.random() < 0.5:
            draw.ellipse([x, y, x + size, y + size], fill=shade)
        else:
            draw.line([(x, y), (x + rng.randint(-30, 30), y + rng.randint(-30, 30))], fill=shade, width=1)
    subject = rng.choice(("shoe", "bottle", "jacket", "pack", "mountain", "flatlay"))
    main, accent = _colour(rng, (0.25, 0.6)), _colour(rng, (0.5, 0.8))
    cx, cy = width * rng.uniform(0.25, 0.75), height * rng.uniform(0.3, 0.7)
    u = min(width, height) * rng.uniform(0.22, 0.34)
    if subject == "shoe":
        draw.rounded_rectangle([cx - 1.6 * u, cy, cx + 1.6 * u, cy + 0.5 * u], 18, fill=accent)
        draw.ellipse([cx - 1.4 * u, cy - 0.9 * u, cx + 0.9 * u, cy + 0.4 * u], fill=main)
        for i in range(5):
            x = cx - 0.6 * u + i * 0.22 * u
            draw.line([(x, cy - 0.6 * u), (x + 0.15 * u, cy - 0.3 * u)], fill=accent, width=4)
    elif subject == "bottle":
        draw.rounded_rectangle([cx - 0.45 * u, cy - 1.2 * u, cx + 0.45 * u, cy + u], 24, fill=main)
        draw.rectangle([cx - 0.18 * u, cy - 1.6 * u, cx + 0.18 * u, cy - 1.1 * u], fill=accent)
        draw.rectangle([cx - 0.45 * u, cy - 0.2 * u, cx + 0.45 * u, cy + 0.3 * u], fill=accent)
    elif subject == "jacket":
        draw.polygon(
            [
                (cx - u, cy - u),
                (cx + u, cy - u),
                (cx + 1.3 * u, cy + u),
                (cx - 1.3 * u, cy + u),
            ],
            fill=main,
        )
        draw.line([(cx, cy - u), (cx, cy + u)], fill=accent, width=6)
        draw.ellipse([cx - 0.3 * u, cy - 1.3 * u, cx + 0.3 * u, cy - 0.8 * u], fill=accent)
    elif subject == "pack":
        draw.rounded_rectangle([cx - 0.8 * u, cy - 1.1 * u, cx + 0.8 * u, cy + u], 40, fill=main)
        draw.rounded_rectangle([cx - 0.5 * u, cy, cx + 0.5 * u, cy + 0.7 * u], 16, fill=accent)
        draw.arc(
            [cx - 0.5 * u, cy - 1.5 * u, cx + 0.5 * u, cy - 0.7 * u],
            180,
            360,
            fill=accent,
            width=8,
        )
    elif subject == "mountain":
        horizon = cy + 0.4 * u
        for i in range(4):
            peak_x = width * (0.1 + 0.27 * i + rng.uniform(-0.05, 0.05))
            peak_y = horizon - u * rng.uniform(0.8, 1.8)
            shade = _colour(rng, (0.2, 0.45))
            draw.polygon(
                [(peak_x - u * 1.4, horizon), (peak_x, peak_y), (peak_x + u * 1.4, horizon)], fill=shade
            )
        draw.rectangle([0, horizon, width, height], fill=main)
        draw.ellipse(
            [width * 0.75, height * 0.08, width * 0.75 + u * 0.5, height * 0.08 + u * 0.5], fill=accent
        )
    else:
        for _ in range(7):
            x, y = rng.uniform(0.1, 0.8) * width, rng.uniform(0.1, 0.8) * height
            w, h = u * rng.uniform(0.3, 0.8), u * rng.uniform(0.3, 0.8)
            draw.rounded_rectangle([x, y, x + w, y + h], 10, fill=_colour(rng, (0.3, 0.7)))
    return image


def _base_size(width: int, height: int) -> tuple[int, int]:
    scale = _BASE_EDGE / max(width, height, 1)
    return max(8, round(width * scale)), max(8, round(height * scale))


def render(
    identity: str, width: int, height: int, *, edge: int, poster: bool = False, gif: bool = False
) -> bytes:
    """The bytes served for a media item: at most `edge` pixels on the longer side (JPEG, or GIF)."""
    return _render(identity, width, height, edge, poster, gif)


@lru_cache(maxsize=512)
def _render(identity: str, width: int, height: int, edge: int, poster: bool, gif: bool) -> bytes:
    spec = image_spec(identity)
    if spec.fault == "not_image":
        return b"<!doctype html><title>503</title><p>upstream image service unavailable</p>"
    if spec.shared:
        # A re-posted photo is the same photo: its shape is the scene's, whatever the post says.
        width, height = _SHARED_SHAPES[spec.scene % len(_SHARED_SHAPES)]
    base_w, base_h = _base_size(width, height)
    image = _scene(spec.scene, base_w, base_h).copy()
    if spec.shared:
        left, top, right, bottom = spec.crop
        image = image.crop(
            (
                round(left * base_w),
                round(top * base_h),
                round(base_w * (1 - right)),
                round(base_h * (1 - bottom)),
            )
        )
        image = ImageEnhance.Brightness(image).enhance(spec.tint)
    if spec.blur:
        image = image.filter(ImageFilter.GaussianBlur(spec.blur))
    if spec.exposure != 1.0:
        image = ImageEnhance.Brightness(image).enhance(spec.exposure)
    if poster:
        framed = Image.new("RGB", image.size, (8, 8, 8))
        bar = image.height // 8
        framed.paste(image.crop((0, bar, image.width, image.height - bar)), (0, bar))
        draw = ImageDraw.Draw(framed)
        cx, cy, r = image.width / 2, image.height / 2, min(image.size) / 10
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=(255, 255, 255))
        draw.polygon(
            [(cx - r / 3, cy - r / 2), (cx - r / 3, cy + r / 2), (cx + r / 2, cy)], fill=(20, 20, 20)
        )
        image = framed
    limit = 40 if spec.fault == "tiny" else edge
    scale = min(1.0, limit / max(width, height, 1))
    target = (max(1, round(width * scale)), max(1, round(height * scale)))
    if spec.fault == "tiny":
        target = (max(1, min(target[0], 40)), max(1, min(target[1], 40)))
    image = image.resize(target, Image.Resampling.BILINEAR)
    out = io.BytesIO()
    if gif:
        image.convert("P", palette=Image.Palette.ADAPTIVE, colors=64).save(out, "GIF")
    else:
        image.save(out, "JPEG", quality=spec.jpeg_quality)
    data = out.getvalue()
    if spec.fault == "corrupt":
        return data[: max(64, len(data) * 3 // 5)]  # cut short, as an interrupted upload leaves it
    return data


@lru_cache(maxsize=256)
def avatar(identity: str, edge: int = 96) -> bytes:
    """A profile picture: a coloured disc with a lighter ring, the same for the same URL."""
    rng = _rng("avatar", identity)
    image = Image.new("RGB", (edge, edge), _colour(rng, (0.75, 0.9)))
    draw = ImageDraw.Draw(image)
    draw.ellipse([edge * 0.15, edge * 0.1, edge * 0.85, edge * 0.8], fill=_colour(rng, (0.3, 0.6)))
    draw.ellipse([edge * 0.3, edge * 0.2, edge * 0.7, edge * 0.6], fill=_colour(rng, (0.6, 0.8)))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()
