"""Attachments: photos, videos and GIFs with each platform's own URL shapes, sizes and limits.

The URLs point at the real media hosts (pbs.twimg.com, i.redd.it, cdn.bsky.app,
files.mastodon.social), so Tesoro's media allow-list and proxy are exercised on the
shapes they meet in production; nothing is ever fetched from them in tests.
"""

from __future__ import annotations

import base64
import hashlib
import random
from functools import lru_cache
from urllib.parse import quote

from tesoro.simulator.generator.draw import choice
from tesoro.simulator.generator.mix import ALT_TEXT_CHANCE
from tesoro.simulator.generator.slots import Slots
from tesoro.simulator.model import BSKY_MEDIA_HOST, VIDEO_PLATFORMS, SimAuthor, SimMedia

__all__ = ["bluesky_did", "media", "youtube_video_id"]

# (chance of photos, chance of a video) per kind; the rest carry no media.
_MEDIA_PLAN = {
    "review": (0.30, 0.10),
    "photo": (1.0, 0.0),
    "video": (0.0, 1.0),
    "unboxing": (0.60, 0.30),
    "tutorial": (0.20, 0.50),
    "testimonial": (0.15, 0.0),
    "complaint": (0.25, 0.0),
    "question": (0.10, 0.0),
    "meme": (0.85, 0.0),
    "comparison": (0.30, 0.05),
    "spam": (0.30, 0.0),
    "offtopic": (0.20, 0.0),
}
_PHOTO_SIZES = (
    (4032, 3024),
    (3024, 4032),
    (1080, 1350),
    (1080, 1080),
    (1920, 1080),
    (1200, 1600),
    (2048, 1536),
)
_VIDEO_SIZES = ((1920, 1080), (1080, 1920), (1280, 720), (720, 1280))
_MAX_EDGE = {"x": 2048, "bluesky": 2000, "mastodon": 1920, "instagram": 1440, "threads": 1440}
_MAX_VIDEO_MS = {
    "x": 140_000,
    "bluesky": 180_000,
    "mastodon": 300_000,
    "instagram": 180_000,
    "threads": 300_000,
    "tiktok": 600_000,
}
# Bits per second after each platform's transcoding (Mastodon re-encodes small to stay under its size limit).
_VIDEO_BITRATE = {
    "x": (1.5e6, 5e6),
    "bluesky": (1e6, 3e6),
    "mastodon": (0.8e6, 2.5e6),
    "reddit": (2e6, 6e6),
    "instagram": (1e6, 4e6),
    "threads": (1e6, 4e6),
    "youtube": (2e6, 8e6),
    "tiktok": (1e6, 3e6),
}
_B36 = "abcdefghijklmnopqrstuvwxyz0123456789"
_B32_DID = "abcdefghijklmnopqrstuvwxyz234567"


@lru_cache(maxsize=8192)
def bluesky_did(author_id: int) -> str:
    """The `did:plc` the Bluesky routes give an author (same formula), so media URLs name their owner."""
    number = int.from_bytes(hashlib.sha256(f"sim-author-{author_id}".encode()).digest()[:15], "big")
    out = ""
    for _ in range(24):
        number, rest = divmod(number, 32)
        out = _B32_DID[rest] + out
    return f"did:plc:{out}"


@lru_cache(maxsize=8192)
def youtube_video_id(post_id: int) -> str:
    """The 11-character video id the YouTube routes give a post (same formula as its media URL)."""
    digest = hashlib.sha256(f"sim-youtube-{post_id}".encode()).digest()[:8]
    return base64.urlsafe_b64encode(digest).decode()[:11]


def _token(rng: random.Random, alphabet: str, length: int) -> str:
    return "".join(alphabet[i % len(alphabet)] for i in rng.randbytes(length))


def _dimensions(rng: random.Random, platform: str, mtype: str, kind: str) -> tuple[int, int, int | None, int]:
    """(width, height, duration in ms or None, size in bytes) within the platform's limits."""
    if mtype == "photo":
        width, height = choice(rng, _PHOTO_SIZES)
        edge = _MAX_EDGE.get(platform)
        if edge and max(width, height) > edge:
            scale = edge / max(width, height)
            width, height = round(width * scale), round(height * scale)
        return width, height, None, int(width * height * rng.uniform(0.08, 0.35))
    width, height = choice(rng, _VIDEO_SIZES)
    low, high = {"tutorial": (60, 900), "unboxing": (30, 300), "meme": (3, 12)}.get(kind, (8, 180))
    duration = rng.randint(low, high) * 1000 + rng.randrange(1000)
    cap = _MAX_VIDEO_MS.get(platform)
    if cap is not None and duration > cap:
        duration = rng.randint(cap // 2, cap)  # people trim to the platform's limit, not exactly to it
    return width, height, duration, int(duration / 1000 * rng.uniform(*_VIDEO_BITRATE[platform]) / 8)


def _hosted(
    rng: random.Random, platform: str, serial: int, mtype: str, size: tuple[int, int], author: SimAuthor
) -> tuple[str, str, str]:
    """(media key, URL, preview URL) in the shapes of the platform's own media host."""
    width, height = size
    if platform == "x":
        name = base64.urlsafe_b64encode(rng.randbytes(12)).decode()[:15]
        if mtype == "photo":
            return (
                f"3_{serial}",
                f"https://pbs.twimg.com/media/{name}.jpg",
                f"https://pbs.twimg.com/media/{name}?format=jpg&name=small",
            )
        if mtype == "gif":
            return (
                f"16_{serial}",
                f"https://video.twimg.com/tweet_video/{name}.mp4",
                f"https://pbs.twimg.com/tweet_video_thumb/{name}.jpg",
            )
        return (
            f"7_{serial}",
            f"https://video.twimg.com/ext_tw_video/{serial}/pu/vid/avc1/{width}x{height}/{name}.mp4",
            f"https://pbs.twimg.com/ext_tw_video_thumb/{serial}/pu/img/{name}.jpg",
        )
    if platform == "youtube":
        video = youtube_video_id(serial // 100)
        return (
            video,
            f"https://www.youtube.com/watch?v={video}",
            f"https://i.ytimg.com/vi/{video}/hqdefault.jpg",
        )
    if platform == "tiktok":
        return (
            str(serial // 100),
            f"https://www.tiktok.com/@{author.handle}/video/{serial // 100}",
            f"https://p16-sign-va.tiktokcdn.com/obj/tos-maliva-p-0068/{serial // 100}~tplv-noop.jpeg",
        )
    if platform == "reddit":
        key = _token(rng, _B36, 13)
        if mtype == "video":
            return (
                key,
                f"https://v.redd.it/{key}/DASH_{min(width, height)}.mp4",
                f"https://preview.redd.it/{key}.png?format=pjpg&auto=webp",
            )
        ext = "gif" if mtype == "gif" else choice(rng, ("jpeg", "jpeg", "png"))
        return (
            key,
            f"https://i.redd.it/{key}.{ext}",
            f"https://preview.redd.it/{key}.{ext}?width=640&crop=smart&auto=webp",
        )
    if platform == "bluesky":
        did = bluesky_did(author.id)
        key = "bafkrei" + base64.b32encode(rng.randbytes(32)).decode().lower().rstrip("=")[:52]
        if mtype == "video":
            watch = f"https://video.bsky.app/watch/{quote(did, safe='')}/{key}"
            return key, f"{watch}/playlist.m3u8", f"{watch}/thumbnail.jpg"
        return (
            key,
            f"https://{BSKY_MEDIA_HOST}/img/feed_fullsize/plain/{did}/{key}@jpeg",
            f"https://{BSKY_MEDIA_HOST}/img/feed_thumbnail/plain/{did}/{key}@jpeg",
        )
    if platform in ("instagram", "threads"):
        # Meta's CDN: signed, expiring URLs (`oe` is the expiry in hex), the same host for both apps.
        stem = f"{rng.getrandbits(64):016x}"
        expiry = f"oh=00_{_token(rng, _B36, 12)}&oe={rng.getrandbits(32):08X}"
        ext = "mp4" if mtype == "video" else "jpg"
        url = f"https://scontent.cdninstagram.com/v/t51.2885-15/{serial}_{stem}_n.{ext}?{expiry}"
        return (
            str(serial),
            url,
            f"https://scontent.cdninstagram.com/v/t51.2885-15/{serial}_{stem}_s.jpg?{expiry}",
        )
    key = str(110_000_000_000_000_000 + serial)
    path = "/".join(key[i : i + 3] for i in range(0, 18, 3))
    stem = f"{rng.getrandbits(64):016x}"
    base = f"https://files.mastodon.social/media_attachments/files/{path}"
    if mtype == "photo":
        return key, f"{base}/original/{stem}.jpeg", f"{base}/small/{stem}.jpeg"
    return key, f"{base}/original/{stem}.mp4", f"{base}/small/{stem}.png"


def media(
    rng: random.Random, platform: str, post_id: int, kind: str, lang: str, author: SimAuthor, slots: Slots
) -> tuple[SimMedia, ...]:
    """The post's attachments (often none), with alt texts as often as people on the platform write them."""
    p_photo, p_video = _MEDIA_PLAN[kind]
    if platform == "instagram":
        p_photo = 1.0 - p_video  # every Instagram post is a photo, a carousel, a video or a reel
    roll = rng.random()
    # On the video platforms every post is a video (the YouTube routes drop a comment's).
    if platform in VIDEO_PLATFORMS or roll < p_video:
        mtype, count = "video", 1
    elif roll < p_video + p_photo:
        gif_chance = {"x": 0.3, "mastodon": 0.2, "reddit": 0.15}.get(platform, 0.0) if kind == "meme" else 0.0
        if rng.random() < gif_chance:
            mtype, count = "gif", 1
        else:
            mtype = "photo"
            count = 1 if platform == "reddit" or kind != "photo" else choice(rng, (1, 1, 1, 2, 2, 3, 4))
    else:
        return ()
    words = slots.world.words
    subject = "video" if mtype == "video" else words.alt_subjects.get(kind, "product")
    items: list[SimMedia] = []
    for index in range(count):
        alt = None
        if not author.is_bot and rng.random() < ALT_TEXT_CHANCE[platform]:
            alt = choice(rng, words.alt_texts[(lang, subject)]).format_map(slots)
        width, height, duration, size = _dimensions(rng, platform, mtype, kind)
        key, url, preview = _hosted(rng, platform, post_id * 100 + index, mtype, (width, height), author)
        items.append(SimMedia(key, mtype, url, preview, width, height, duration, size, alt))
    return tuple(items)
