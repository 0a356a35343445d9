"""Repository functions of the curator, by sub-domain: ranked items, duplicates, cards and the queue.

`Post` stays the source of truth for what a coordinator decides; a `CurationItem`
is what the curator derives from a post and its latest score set, so it can always
be recomputed. These modules are the only place the curator's queries are built.
"""

from __future__ import annotations

from tesoro.store.curation.duplicates import (
    apply_group_changes,
    duplicate_candidates,
    group_members,
    groups_led_by,
    replace_bands,
    stored_posts,
)
from tesoro.store.curation.items import (
    RankInput,
    count_items,
    get_item,
    latest_scores,
    posts_to_rank,
    rankable_ids,
    save_items,
    set_item_scores,
)
from tesoro.store.curation.queue import (
    NOTE_ACTIONS,
    Arrivals,
    CopyRef,
    MediaRef,
    NoteRef,
    PostCard,
    QueueEntry,
    QueuePage,
    RequestRef,
    copies_of,
    copy_counts,
    latest_notes,
    latest_requests,
    list_queue,
    post_cards,
    products_by_id,
    queue_arrivals,
    queue_entries,
    queue_stamp,
)

__all__ = [
    "NOTE_ACTIONS",
    "Arrivals",
    "CopyRef",
    "MediaRef",
    "NoteRef",
    "PostCard",
    "QueueEntry",
    "QueuePage",
    "RankInput",
    "RequestRef",
    "apply_group_changes",
    "copies_of",
    "copy_counts",
    "count_items",
    "duplicate_candidates",
    "get_item",
    "group_members",
    "groups_led_by",
    "latest_notes",
    "latest_requests",
    "latest_scores",
    "list_queue",
    "post_cards",
    "posts_to_rank",
    "products_by_id",
    "queue_arrivals",
    "queue_entries",
    "queue_stamp",
    "rankable_ids",
    "replace_bands",
    "save_items",
    "set_item_scores",
    "stored_posts",
]
