"""Repository functions for relationships, by sub-domain: the facts ROR is built from, identities,
ROR snapshots, and events logged by hand.
"""

from __future__ import annotations

from tesoro.store.relationships.facts import (
    LoggedFacts,
    PostFacts,
    RelationshipFacts,
    ReplyFacts,
    brand_account_ids,
    relationship_facts,
)
from tesoro.store.relationships.identity import (
    LinkSuggestion,
    dismiss_suggestion,
    identity_author_ids,
    link_accounts,
    linked_accounts,
    suggest_links,
    unlink_account,
)
from tesoro.store.relationships.logged import add_logged_event, logged_events, remove_logged_event
from tesoro.store.relationships.ror import (
    LeaderboardRow,
    advocates,
    replace_ror_scores,
    ror_computed_at,
    ror_for_authors,
    ror_leaderboard,
)

__all__ = [
    "LeaderboardRow",
    "LinkSuggestion",
    "LoggedFacts",
    "PostFacts",
    "RelationshipFacts",
    "ReplyFacts",
    "add_logged_event",
    "advocates",
    "brand_account_ids",
    "dismiss_suggestion",
    "identity_author_ids",
    "link_accounts",
    "linked_accounts",
    "logged_events",
    "relationship_facts",
    "remove_logged_event",
    "replace_ror_scores",
    "ror_computed_at",
    "ror_for_authors",
    "ror_leaderboard",
    "suggest_links",
    "unlink_account",
]
