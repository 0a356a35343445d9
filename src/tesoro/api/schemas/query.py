"""The closed sets a query parameter may take, as types: a value outside one is a 422 naming them all.

`?platform=myspace` used to return an empty page, which reads as "no posts"; with these
types FastAPI answers 422 and the error lists the allowed values ("Input should be 'x',
'reddit', ..."). They are Literals, not the Enums they mirror, so a route hands plain
strings to the store; tests/api/test_api_query_types.py checks that each Literal
holds exactly its Enum's values.
"""

from __future__ import annotations

from typing import Literal

from tesoro.api.schemas.corrections import ContentTypeName, SentimentLabel

__all__ = ["ContentTypeName", "PlatformName", "QueueStateName", "RightsStateName", "SentimentLabel"]

# tesoro.models.Platform
PlatformName = Literal[
    "x", "reddit", "bluesky", "mastodon", "instagram", "tiktok", "facebook", "youtube", "threads", "file"
]
# tesoro.store.tables.posts.QueueState
QueueStateName = Literal["new", "approved", "rejected", "featured", "archived"]
# tesoro.store.tables.posts.RightsState
RightsStateName = Literal["none", "requested", "granted", "declined", "expired", "revoked"]
