"""Reddit: one folder for the platform, as every adapter with more than one module keeps it.

`collector` asks Reddit for listings through praw, `cursor` keeps a run incremental and
crash-safe (Reddit has no "newer than" parameter), `normalize` turns listing items into posts.
"""

from tesoro.collector.reddit.collector import DEFAULT_USER_AGENT, RedditCollector
from tesoro.collector.reddit.normalize import (
    REDDIT_WEB,
    normalize_comment,
    normalize_submission,
    reddit_media,
)

__all__ = [
    "DEFAULT_USER_AGENT",
    "REDDIT_WEB",
    "RedditCollector",
    "normalize_comment",
    "normalize_submission",
    "reddit_media",
]
