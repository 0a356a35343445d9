"""Decoding untrusted images safely, and what Tesoro keeps of them: thumbnail, placeholder, hash, quality.

`process_image(data)` reads only the header first and refuses an image whose width x height
is over `max_pixels` before a single pixel is decoded (a decompression bomb: a few KB of PNG
or GIF that decode to gigabytes); a file Pillow cannot decode, or decodes only in part, is
`corrupt`. Only the first frame of an animation is used. The EXIF orientation is applied and
then every piece of metadata (EXIF with its GPS position, XMP, comments, ICC text) is left
behind: the thumbnail is a new JPEG written from the pixels alone.

From the pixels:

- `blurhash`: a ~30-character placeholder (4 x 3 components) the UI paints while the
  thumbnail loads;
- `phash`: the 64-bit DCT perceptual hash (imagehash), as a signed integer so it fits a
  BIGINT column; two near-copies (re-compressed, re-sized, lightly cropped or brightened)
  differ in a few bits, two different photos in about 32;
- the photo-quality score in [0, 1], from four parts:

| part | measures | 1.0 means |
| --- | --- | --- |
| sharpness | variance of the Laplacian on a 256-pixel grey copy | crisp edges (blurred: near 0) |
| exposure | mean brightness and the share of crushed blacks and blown whites | mid-tones, nothing clipped |
| resolution | the shorter edge of the original (the platform's size if given) | 1080 pixels or more |
| aspect | how much of the photo a square gallery tile keeps | 4:5 to 5:4 |

weighted 0.45, 0.30, 0.15 and 0.10, and scaled down below a 330-pixel shorter edge (a
thumbnail-sized photo cannot fill a tile): a blurry, dark or tiny photo ranks below a sharp one.
"""

from __future__ import annotations

import io
import math
import warnings
from dataclasses import dataclass

import blurhash
import imagehash
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

__all__ = [
    "ImageError",
    "ImageFacts",
    "Quality",
    "hamming",
    "process_image",
    "quality_of",
]

_FORMATS = ("JPEG", "PNG", "GIF", "WEBP")
_ANALYSIS_EDGE = 256
# Laplacian variance (grey levels squared, at 256 px) at which sharpness reaches 1 - 1/e.
_SHARPNESS_SCALE = 40.0
_WEIGHTS = {"sharpness": 0.45, "exposure": 0.30, "resolution": 0.15, "aspect": 0.10}
_FULL_RESOLUTION = 1080
_USABLE_RESOLUTION = 0.55  # the resolution part of a 330-pixel shorter edge


class ImageError(Exception):
    """An image refused at decoding: `code` is `bomb`, `corrupt` or `unsupported`."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail


@dataclass(frozen=True, slots=True)
class Quality:
    """The photo-quality score and its parts, each in [0, 1]."""

    sharpness: float
    exposure: float
    resolution: float
    aspect: float

    @property
    def score(self) -> float:
        mean = sum(float(getattr(self, name)) * weight for name, weight in _WEIGHTS.items())
        # Below about 330 pixels on the shorter edge a photo cannot fill a tile, however sharp.
        return float(mean * min(1.0, self.resolution / _USABLE_RESOLUTION))

    def describe(self) -> str:
        """A few words for "why it ranks here": the weak parts first, or what is good."""
        words: list[str] = []
        if self.sharpness < 0.35:
            words.append("blurry")
        if self.exposure < 0.5:
            words.append("badly exposed")
        if self.resolution < 0.5:
            words.append("small")
        if self.aspect < 0.5:
            words.append("awkward shape for a tile")
        if not words:
            words.append("sharp" if self.sharpness >= 0.7 else "fairly sharp")
            words.append("well exposed" if self.exposure >= 0.8 else "fair exposure")
        return ", ".join(words)


@dataclass(frozen=True, slots=True)
class ImageFacts:
    """What Tesoro keeps of one decoded image."""

    width: int
    height: int
    format: str
    thumbnail: bytes  # JPEG, no metadata
    thumb_width: int
    thumb_height: int
    blurhash: str
    phash: int  # signed 64-bit
    quality: Quality


def hamming(a: int, b: int) -> int:
    """Bits that differ between two 64-bit hashes (signed or not)."""
    return ((a ^ b) & 0xFFFF_FFFF_FFFF_FFFF).bit_count()


def _signed64(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


def _open(data: bytes, max_pixels: int) -> Image.Image:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=_FORMATS)
    except Image.DecompressionBombError as exc:
        raise ImageError("bomb", str(exc)) from None
    except Image.DecompressionBombWarning as exc:
        raise ImageError("bomb", str(exc)) from None
    except UnidentifiedImageError:
        raise ImageError("unsupported", "not a JPEG, PNG, GIF or WebP image Pillow can read") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageError("corrupt", f"unreadable header: {exc}") from None
    width, height = image.size
    if width < 1 or height < 1:
        raise ImageError("corrupt", f"{width}x{height} pixels")
    if width * height > max_pixels:
        raise ImageError("bomb", f"{width}x{height} pixels is over the cap of {max_pixels}")
    return image


def _decode(image: Image.Image, edge: int) -> Image.Image:
    """The first frame, oriented, as RGB, decoded at no less than `edge` on its longer side."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            if image.format == "JPEG":
                image.draft("RGB", (edge, edge))  # let libjpeg decode at 1/2, 1/4 or 1/8 scale
            image.seek(0)
            image.load()
            try:
                oriented = ImageOps.exif_transpose(image)
            except (OSError, SyntaxError, ValueError, KeyError, TypeError):
                oriented = image  # a broken EXIF block only costs the orientation
            if oriented.mode in ("RGBA", "LA", "PA") or (
                oriented.mode == "P" and "transparency" in oriented.info
            ):
                rgba = oriented.convert("RGBA")
                flat = Image.new("RGB", rgba.size, (255, 255, 255))
                flat.paste(rgba, mask=rgba.getchannel("A"))
                return flat
            return oriented.convert("RGB")
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageError("bomb", str(exc)) from None
    except (OSError, SyntaxError, ValueError, EOFError, MemoryError) as exc:
        raise ImageError("corrupt", f"cannot decode: {exc}") from None


def _sharpness(grey: np.ndarray) -> float:
    if grey.shape[0] < 3 or grey.shape[1] < 3:
        return 0.0
    lap = grey[1:-1, :-2] + grey[1:-1, 2:] + grey[:-2, 1:-1] + grey[2:, 1:-1] - 4.0 * grey[1:-1, 1:-1]
    return 1.0 - math.exp(-float(lap.var()) / _SHARPNESS_SCALE)


def _exposure(grey: np.ndarray) -> float:
    levels = grey / 255.0
    mean = float(levels.mean())
    clipped = float(np.count_nonzero((levels < 0.03) | (levels > 0.97))) / max(levels.size, 1)
    off = max(0.0, abs(mean - 0.48) - 0.12) / 0.3
    return max(0.0, 1.0 - off) * max(0.0, 1.0 - 1.5 * clipped)


def quality_of(image: Image.Image, *, original_size: tuple[int, int] | None = None) -> Quality:
    """The photo-quality parts of an RGB image (`original_size`: the full photo's, when larger)."""
    small = image.copy()
    small.thumbnail((_ANALYSIS_EDGE, _ANALYSIS_EDGE), Image.Resampling.BILINEAR)
    grey = np.asarray(small.convert("L"), dtype=np.float32)
    width, height = image.size
    if original_size is not None and original_size[0] * original_size[1] > width * height:
        width, height = original_size
    short = min(width, height)
    kept = min(width, height) / max(width, height)
    return Quality(
        sharpness=_sharpness(grey),
        exposure=_exposure(grey),
        resolution=min(1.0, short / _FULL_RESOLUTION) ** 0.5,
        aspect=min(1.0, max(0.0, (kept - 0.4) / 0.4)),
    )


def process_image(
    data: bytes,
    *,
    max_pixels: int = 40_000_000,
    thumb_edge: int = 320,
    thumb_quality: int = 80,
    original_size: tuple[int, int] | None = None,
) -> ImageFacts:
    """Decode `data` safely and derive everything Tesoro keeps; ImageError when it must be refused."""
    source = _open(data, max_pixels)
    width, height = source.size
    kind = str(source.format or "").lower()
    try:
        # Decode large enough for a crisp thumbnail and the 256-pixel analysis copy.
        rgb = _decode(source, max(thumb_edge, _ANALYSIS_EDGE) * 2)
    finally:
        source.close()
    quality = quality_of(rgb, original_size=original_size or (width, height))
    phash = _signed64(int(str(imagehash.phash(rgb)), 16))
    scaled = rgb.copy()
    scaled.thumbnail((thumb_edge, thumb_edge), Image.Resampling.LANCZOS, reducing_gap=2.0)
    # A new image from the pixels alone: the decoded one still carries the file's EXIF (GPS
    # included), XMP, comment and ICC profile in `info`, and Pillow would write them back.
    thumb = Image.frombytes("RGB", scaled.size, scaled.tobytes())
    out = io.BytesIO()
    thumb.save(out, "JPEG", quality=thumb_quality, optimize=True)
    tiny = thumb.copy()
    tiny.thumbnail((32, 32), Image.Resampling.BILINEAR)
    with warnings.catch_warnings():
        # blurhash-python reads pixels with Image.getdata, which Pillow 13 marks as deprecated.
        warnings.simplefilter("ignore", DeprecationWarning)
        placeholder = blurhash.encode(tiny, x_components=4, y_components=3)
    return ImageFacts(
        width=width,
        height=height,
        format=kind,
        thumbnail=out.getvalue(),
        thumb_width=thumb.width,
        thumb_height=thumb.height,
        blurhash=placeholder,
        phash=phash,
        quality=quality,
    )
