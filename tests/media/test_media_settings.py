"""The [media] settings and the media host allow-list: mistakes stop Tesoro at start-up."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from tesoro.api.security import MediaFilter
from tesoro.media.fetch import FetchPolicy
from tesoro.settings import GallerySettings, MediaSettings, Settings


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"private_hosts": ["127.0.0.1"]}, "host:port"),
        ({"private_hosts": ["http://127.0.0.1:8000"]}, "host:port"),
        ({"retry_base_s": 600, "retry_max_s": 60}, "retry_max_s"),
        ({"interval": "often"}, "not a duration"),
        ({"max_bytes": 10}, "greater than or equal"),
        ({"thumb_edge": 5000}, "less than or equal"),
        ({"concurrency": 0}, "greater than or equal"),
        ({"fetch_everything": True}, "Extra inputs"),
    ],
)
def test_bad_media_settings_are_refused(values: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        MediaSettings.model_validate(values)


def test_interval_zero_turns_the_job_off_and_strings_are_durations() -> None:
    assert MediaSettings.model_validate({"interval": 0}).interval == 0
    assert MediaSettings.model_validate({"interval": "5m"}).interval == 300


def test_media_hosts_take_an_optional_port_and_the_filter_honours_it() -> None:
    gallery = GallerySettings.model_validate({"media_hosts": ["pbs.twimg.com", "127.0.0.1:8123"]})
    media = MediaFilter(gallery.media_hosts)
    assert media.allowed("https://pbs.twimg.com/media/a.jpg")
    assert not media.allowed("https://pbs.twimg.com:8443/media/a.jpg")
    assert media.allowed("http://127.0.0.1:8123/media/x.jpg")
    assert not media.allowed("http://127.0.0.1:8124/media/x.jpg")
    assert not media.allowed("http://127.0.0.1/media/x.jpg")
    assert not media.allowed("http://127.0.0.1:99999999/media/x.jpg")
    with pytest.raises(ValidationError, match="not a host name"):
        GallerySettings.model_validate({"media_hosts": ["https://pbs.twimg.com/"]})


def test_the_fetch_policy_reads_the_allow_list_and_the_limits() -> None:
    settings = Settings.model_validate(
        {
            "gallery": {"media_hosts": ["cdn.example", "127.0.0.1:9000"]},
            "media": {"private_hosts": ["127.0.0.1:9000"], "max_bytes": 4096, "max_redirects": 0},
        }
    )
    policy = FetchPolicy.from_settings(settings)
    assert policy.allowed_hosts == {"cdn.example", "127.0.0.1:9000"}
    assert policy.private_hosts == {"127.0.0.1:9000"} and policy.max_redirects == 0
    assert (
        policy.max_bytes == 4096 and FetchPolicy.from_settings(settings, max_bytes=10**6).max_bytes == 10**6
    )
