"""The simulator's media host: pictures behind the media URLs, drawn from each URL, served locally."""

from __future__ import annotations

import io
from collections import Counter
from pathlib import Path

import httpx
from PIL import Image

from tesoro.simulator.demo import demo_settings
from tesoro.simulator.images import SHARED_SCENES, image_spec, render, scene_of
from tesoro.simulator.mediahost import local_media_url
from tesoro.simulator.model import VIDEO_PLATFORMS
from tesoro.simulator.server import SimulatorServer
from tesoro.simulator.state import SimState

_MASTODON_AUTH = {"Authorization": "Bearer sim-mastodon-token"}


def _statuses(base: str) -> list[dict[str, object]]:
    answer = httpx.get(
        f"{base}/mastodon/api/v2/search",
        params={"q": "andes", "type": "statuses", "limit": 40},
        headers=_MASTODON_AUTH,
    )
    answer.raise_for_status()
    statuses: list[dict[str, object]] = answer.json()["statuses"]
    return statuses


def _world(n: int = 40) -> SimState:
    state = SimState()
    state.world.grow(n)
    return state


def test_media_urls_point_at_the_simulator_and_serve_pictures() -> None:
    with SimulatorServer(_world(), serve_media=True) as sim:
        statuses = _statuses(sim.base_url)
        media = [m for s in statuses for m in s["media_attachments"]]  # type: ignore[attr-defined]
        assert media, "the world has posts with media"
        for item in media:
            assert item["preview_url"].startswith(f"{sim.base_url}/media/files.mastodon.social/")
        served = 0
        for item in media[:12]:
            first = httpx.get(item["preview_url"])
            again = httpx.get(item["preview_url"])
            assert first.content == again.content  # the same URL draws the same picture
            if first.status_code == 200 and first.content.startswith(b"\xff\xd8"):
                with Image.open(io.BytesIO(first.content)) as image:
                    assert max(image.size) <= 640
                served += 1
        assert served >= 6
        avatar = httpx.get(f"{sim.base_url}/media/cdn.bsky.app/img/avatar/plain/did:plc:abc/xyz@jpeg")
        assert avatar.status_code == 200 and avatar.content.startswith(b"\xff\xd8")
        assert httpx.get(f"{sim.base_url}/media/pbs.twimg.com/media/nothing-here.jpg").status_code == 404


def test_without_serve_media_the_real_host_names_stay() -> None:
    with SimulatorServer(_world()) as sim:
        media = [m for s in _statuses(sim.base_url) for m in s["media_attachments"]]  # type: ignore[attr-defined]
        assert media and all(m["url"].startswith("https://files.mastodon.social/") for m in media)


def test_pictures_vary_and_some_are_near_copies_tiny_or_corrupt() -> None:
    specs = [image_spec(f"https://i.redd.it/{i}.jpeg") for i in range(3000)]
    takes = Counter(s.take for s in specs)
    faults = Counter(s.fault for s in specs)
    assert {"sharp", "blurry", "dark", "bright"} <= set(takes)
    assert takes["sharp"] > takes["blurry"] > 0
    assert faults["tiny"] > 30 and faults["corrupt"] > 30 and faults["not_image"] > 0
    scenes = Counter(s.scene for s in specs if s.shared)
    assert len(scenes) <= SHARED_SCENES and max(scenes.values()) >= 2
    assert scene_of("https://i.redd.it/0.jpeg") == (specs[0].scene if specs[0].shared else None)


def test_a_corrupt_picture_is_cut_short_and_a_tiny_one_is_tiny() -> None:
    corrupt = next(f"c{i}" for i in range(5000) if image_spec(f"c{i}").fault == "corrupt")
    tiny = next(f"t{i}" for i in range(5000) if image_spec(f"t{i}").fault == "tiny")
    data = render(corrupt, 1080, 1080, edge=640)
    assert data.startswith(b"\xff\xd8") and not data.endswith(b"\xff\xd9")
    with Image.open(io.BytesIO(render(tiny, 1080, 1080, edge=640))) as image:
        assert max(image.size) <= 40


def test_the_demo_allows_the_simulators_media_host(tmp_path: Path) -> None:
    settings = demo_settings(tmp_path, "http://127.0.0.1:40123")
    assert "127.0.0.1:40123" in settings.gallery.media_hosts
    assert "pbs.twimg.com" in settings.gallery.media_hosts
    assert settings.media.private_hosts == ["127.0.0.1:40123"]


def test_instagram_youtube_and_tiktok_media_are_served_too() -> None:
    """The UGC platforms' media (Meta's CDN, YouTube thumbnails, TikTok covers) come from the media host."""
    state = SimState()
    state.world.grow(6, platforms=("instagram", *VIDEO_PLATFORMS))
    with SimulatorServer(state, serve_media=True) as sim:
        for platform in ("instagram", *VIDEO_PLATFORMS):
            media = [m for p in state.world.posts(platform) for m in p.media]
            assert media, platform
            url = local_media_url(sim.base_url, media[0].preview_url)
            assert url.startswith(f"{sim.base_url}/media/"), (platform, url)
            answer = httpx.get(url)
            assert answer.status_code == 200 and answer.content.startswith(b"\xff\xd8"), platform
