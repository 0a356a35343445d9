"""Safe decoding and what is kept of an image: bombs, corrupt files, metadata, hashes and quality."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from PIL import Image, ImageEnhance, ImageFilter

from tesoro.media.images import ImageError, hamming, process_image
from tesoro.simulator.images import image_spec, render


def _jpeg(image: Image.Image, **kw: object) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90, **kw)
    return out.getvalue()


def _photo(identity: str = "sharp-photo") -> Image.Image:
    for i in range(500):
        spec = image_spec(f"{identity}-{i}")
        if spec.take == "sharp" and spec.fault is None and not spec.shared:
            data = render(f"{identity}-{i}", 1080, 1350, edge=640)
            return Image.open(io.BytesIO(data)).convert("RGB")
    raise AssertionError("no sharp photo drawn")


def _png_declaring(width: int, height: int) -> bytes:
    """A real 1x1 PNG whose header claims width x height (what a decompression bomb's header says)."""
    out = io.BytesIO()
    Image.new("RGB", (1, 1)).save(out, "PNG")
    data = bytearray(out.getvalue())
    ihdr = 8 + 8  # signature, then length + type of the IHDR chunk
    data[ihdr : ihdr + 8] = struct.pack(">II", width, height)
    crc = zlib.crc32(bytes(data[12 : ihdr + 13]))
    data[ihdr + 13 : ihdr + 17] = struct.pack(">I", crc)
    return bytes(data)


def test_gps_and_every_other_metadata_are_stripped() -> None:
    image = _photo()
    exif = image.getexif()
    exif[0x010F] = "PhoneMaker"  # camera make
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2], gps[3], gps[4] = "N", (40.0, 26.0, 46.0), "W", (79.0, 58.0, 56.0)
    data = _jpeg(image, exif=exif, comment=b"taken at home")
    with Image.open(io.BytesIO(data)) as original:
        assert original.getexif().get_ifd(0x8825), "the test image carries GPS"
    facts = process_image(data)
    with Image.open(io.BytesIO(facts.thumbnail)) as thumb:
        assert len(thumb.getexif()) == 0
        assert "exif" not in thumb.info and "comment" not in thumb.info and "icc_profile" not in thumb.info
    assert b"Exif" not in facts.thumbnail and b"taken at home" not in facts.thumbnail


def test_the_exif_orientation_is_applied_before_it_is_dropped() -> None:
    image = Image.new("RGB", (400, 200), (10, 120, 200))
    exif = image.getexif()
    exif[0x0112] = 6  # rotate 90 degrees on display
    facts = process_image(_jpeg(image, exif=exif))
    assert (facts.thumb_width, facts.thumb_height) == (160, 320)


def test_a_decompression_bomb_is_refused_from_its_header() -> None:
    with pytest.raises(ImageError) as info:
        process_image(_png_declaring(60_000, 60_000))
    assert info.value.code == "bomb"
    with pytest.raises(ImageError) as capped:
        process_image(_jpeg(Image.new("RGB", (200, 200))), max_pixels=10_000)
    assert capped.value.code == "bomb"


@pytest.mark.parametrize("cut", [0.3, 0.6, 0.9])
def test_a_truncated_file_is_corrupt(cut: float) -> None:
    data = _jpeg(_photo())
    with pytest.raises(ImageError) as info:
        process_image(data[: int(len(data) * cut)])
    assert info.value.code == "corrupt"


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"<html>not an image</html>",
        b"\xff\xd8\xff" + b"\0" * 40,
        b'<svg xmlns="http://www.w3.org/2000/svg"/>',
    ],
)
def test_non_images_and_garbage_are_refused(data: bytes) -> None:
    with pytest.raises(ImageError) as info:
        process_image(data)
    assert info.value.code in {"unsupported", "corrupt"}


def test_thumbnail_placeholder_and_hash() -> None:
    facts = process_image(_jpeg(_photo()), thumb_edge=320)
    assert (facts.width, facts.height) == (512, 640) or max(facts.width, facts.height) == 640
    assert max(facts.thumb_width, facts.thumb_height) == 320 and facts.thumbnail.startswith(b"\xff\xd8")
    assert 20 <= len(facts.blurhash) <= 40
    assert -(2**63) <= facts.phash < 2**63


def test_transparent_and_animated_images_decode() -> None:
    rgba = Image.new("RGBA", (64, 64), (0, 0, 0, 0))
    out = io.BytesIO()
    rgba.save(out, "PNG")
    assert process_image(out.getvalue()).format == "png"
    frames = [Image.new("P", (32, 32), i) for i in range(3)]
    gif = io.BytesIO()
    frames[0].save(gif, "GIF", save_all=True, append_images=frames[1:])
    assert process_image(gif.getvalue()).format == "gif"


def test_near_copies_hash_close_and_other_photos_far() -> None:
    photo = _photo()
    copy = photo.crop((8, 10, photo.width - 6, photo.height - 4)).resize((400, 500))
    copy = ImageEnhance.Brightness(copy).enhance(1.08)
    a = process_image(_jpeg(photo)).phash
    b = process_image(_jpeg(copy, optimize=True)).phash
    other = process_image(_jpeg(_photo("another"))).phash
    assert hamming(a, b) <= 10
    assert hamming(a, other) > 16


def test_blurry_dark_and_tiny_photos_score_below_the_sharp_one() -> None:
    photo = _photo()
    sharp = process_image(_jpeg(photo), original_size=(1080, 1350)).quality
    blurry = process_image(
        _jpeg(photo.filter(ImageFilter.GaussianBlur(4))), original_size=(1080, 1350)
    ).quality
    dark = process_image(
        _jpeg(ImageEnhance.Brightness(photo).enhance(0.3)), original_size=(1080, 1350)
    ).quality
    tiny = process_image(_jpeg(photo.resize((32, 40)))).quality
    assert sharp.score > blurry.score + 0.2 and "blurry" in blurry.describe()
    assert sharp.score > dark.score + 0.2 and "badly exposed" in dark.describe()
    assert sharp.score > tiny.score and "small" in tiny.describe()
    assert "blurry" not in sharp.describe()
