"""Repository functions for alerts, by sub-domain: rules and dedupe marks, the outbox and its
delivery log, the facts rules look at, and the counts spike detection reads.

Every query the alerts area needs is built here (the evaluator and the outbox only
call these functions). Times come back aware UTC (the store's `UtcDateTime`).
"""

from __future__ import annotations

from tesoro.store.alerts.facts import (
    PostFacts,
    failing_sources,
    listening_query,
    mention_candidates,
    negative_candidates,
    rights_candidates,
    stored_ror,
    treasure_candidates,
)
from tesoro.store.alerts.outbox import (
    DeliveryWindow,
    add_alerts,
    alert_status_counts,
    claim_due_alerts,
    delivered_channels,
    deliveries_for_alerts,
    delivery_alerts,
    delivery_rules,
    delivery_window,
    finish_alerts,
    list_alerts,
    list_deliveries,
    record_delivery,
    reschedule_alerts,
)
from tesoro.store.alerts.rules import (
    create_rule,
    delete_rule,
    get_rule,
    list_rules,
    mark_subjects,
    recently_alerted,
    rule_config,
    save_rule_state,
    sync_rules,
    update_rule,
)
from tesoro.store.alerts.spikes import first_post_at, hourly_counts, posts_in_window

__all__ = [
    "DeliveryWindow",
    "PostFacts",
    "add_alerts",
    "alert_status_counts",
    "claim_due_alerts",
    "create_rule",
    "delete_rule",
    "delivered_channels",
    "deliveries_for_alerts",
    "delivery_alerts",
    "delivery_rules",
    "delivery_window",
    "failing_sources",
    "finish_alerts",
    "first_post_at",
    "get_rule",
    "hourly_counts",
    "list_alerts",
    "list_deliveries",
    "list_rules",
    "listening_query",
    "mark_subjects",
    "mention_candidates",
    "negative_candidates",
    "posts_in_window",
    "recently_alerted",
    "record_delivery",
    "reschedule_alerts",
    "rights_candidates",
    "rule_config",
    "save_rule_state",
    "stored_ror",
    "sync_rules",
    "treasure_candidates",
    "update_rule",
]
