"""Decisions on posts: what a coordinator sends, what a batch did, and the decision log.

Every write of the review workflow is one batch of `tesoro.curator.queue.decide`;
a batch's outcomes say what was applied and what was skipped (with the problem
that decides its HTTP status), and the whole batch is undone in one step.
"""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field

from tesoro.api.schemas.common import Id, Input, Schema, Timestamp, iso
from tesoro.curator.queue import BatchResult, Outcome, UndoResult
from tesoro.store.decisions import DecisionRecord

__all__ = [
    "BatchPublic",
    "BulkDecisionCreate",
    "DecisionCreate",
    "DecisionList",
    "DecisionPublic",
    "OutcomePublic",
    "ProductAssign",
    "RightsUpdate",
    "TagsUpdate",
    "UndoPublic",
]

_DECISION_ACTIONS = Literal["approve", "reject", "feature", "archive", "reopen", "note"]
_BULK_ACTIONS = Literal["approve", "reject", "feature", "archive", "reopen", "note", "tag", "assign_product"]


# --- what a coordinator sends ------------------------------------------------------------------------


class DecisionCreate(Input):
    """A decision on one post, with whatever else the coordinator changed at the same time."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"action": "approve", "note": "hero shot", "product_id": 1, "add_tags": ["trail"]},
                {"action": "reject", "include_copies": True},
            ]
        }
    )

    action: _DECISION_ACTIONS = Field(description="approve, reject, feature, archive, reopen, or only a note")
    note: str | None = Field(None, max_length=5000, description="why, for the decision log")
    product_id: Id | None = Field(None, description="assign this product (of the post's brand) too")
    add_tags: list[str] = Field(default_factory=list, max_length=50)
    remove_tags: list[str] = Field(default_factory=list, max_length=50)
    include_copies: bool = Field(False, description="apply the same decision to the post's duplicates")


class BulkDecisionCreate(DecisionCreate):
    """One action on many posts: one batch, undone in one step."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"action": "reject", "post_ids": [41, 42, 43], "note": "spam wave"},
                {"action": "assign_product", "post_ids": [41, 42], "product_id": 1},
            ]
        }
    )

    action: _BULK_ACTIONS = Field(  # type: ignore[assignment]
        description="a decision, only a note, tags (add_tags, remove_tags), or a product (product_id)"
    )
    post_ids: list[Id] = Field(min_length=1, max_length=1000)


class TagsUpdate(Input):
    """Tags to add and to remove (compared without case or extra spaces)."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"add": ["trail", "hero"], "remove": ["todo"]}]}
    )

    add: list[str] = Field(default_factory=list, max_length=50)
    remove: list[str] = Field(default_factory=list, max_length=50)


class ProductAssign(Input):
    """The product a post shows (one of its brand's); null clears it."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"product_id": 1}, {"product_id": None}]})

    product_id: Id | None


class RightsUpdate(Input):
    """The usage-rights status obtained by hand; the gallery shows only `granted` posts."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"status": "granted", "note": "permission by DM on 2026-11-02"}]}
    )

    status: Literal["none", "requested", "granted", "declined", "expired", "revoked"]
    note: str | None = Field(None, max_length=5000)


# --- decisions -------------------------------------------------------------------------------------


class DecisionPublic(Schema):
    """One entry of the decision log."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 5,
                    "post_id": 42,
                    "action": "approve",
                    "from_state": "new",
                    "to_state": "approved",
                    "product_id": None,
                    "note": "hero shot",
                    "actor": "key:415472f2f1fa (Ana)",
                    "decided_at": "2026-11-01T12:00:00+00:00",
                    "undone": False,
                    "batch_id": "22396ce4ce7f48dea4b988ebae9bf6b5",
                }
            ]
        }
    )

    id: int
    post_id: int
    action: str = Field(description="approve, reject, feature, archive, reopen, note, tag, assign_product...")
    from_state: str | None
    to_state: str | None
    product_id: int | None
    note: str | None
    actor: str = Field(description="who decided: the key, as `key:<key_id> (<name>)`")
    decided_at: Timestamp
    undone: bool
    batch_id: str | None = Field(description="decisions made together share it and are undone together")

    @classmethod
    def from_record(cls, d: DecisionRecord) -> DecisionPublic:
        return cls(
            id=d.id,
            post_id=d.post_id,
            action=d.action,
            from_state=d.from_state,
            to_state=d.to_state,
            product_id=d.product_id,
            note=d.note,
            actor=d.actor,
            decided_at=iso(d.decided_at) or "",
            undone=d.undone,
            batch_id=d.batch_id,
        )


class DecisionList(Schema):
    """The decision log, newest first."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "items": [
                        {
                            "id": 5,
                            "post_id": 42,
                            "action": "approve",
                            "from_state": "new",
                            "to_state": "approved",
                            "product_id": None,
                            "note": "hero shot",
                            "actor": "key:415472f2f1fa (Ana)",
                            "decided_at": "2026-11-01T12:00:00+00:00",
                            "undone": False,
                            "batch_id": "22396ce4ce7f48dea4b988ebae9bf6b5",
                        }
                    ]
                }
            ]
        }
    )

    items: list[DecisionPublic]


class OutcomePublic(Schema):
    """What a decision did to one post, or why it skipped it (`problem`: not_found, invalid, conflict...)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "post_id": 42,
                    "applied": True,
                    "from_state": "new",
                    "to_state": "approved",
                    "decision_id": 5,
                    "reason": None,
                    "problem": None,
                }
            ]
        }
    )

    post_id: int
    applied: bool
    from_state: str | None
    to_state: str | None
    decision_id: int | None
    reason: str | None
    problem: str | None

    @classmethod
    def from_outcome(cls, o: Outcome) -> OutcomePublic:
        return cls(
            post_id=o.post_id,
            applied=o.applied,
            from_state=o.from_state,
            to_state=o.to_state,
            decision_id=o.decision_id,
            reason=o.reason,
            problem=o.problem,
        )


class BatchPublic(Schema):
    """One batch of decisions: what was applied and what was skipped, undone together."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "batch_id": "66225e0d33c247128b5222d90f02eabb",
                    "action": "approve",
                    "actor": "key:415472f2f1fa (Ana)",
                    "applied": [
                        {
                            "post_id": 42,
                            "applied": True,
                            "from_state": "new",
                            "to_state": "approved",
                            "decision_id": 5,
                            "reason": None,
                            "problem": None,
                        }
                    ],
                    "skipped": [],
                }
            ]
        }
    )

    batch_id: str
    action: str
    actor: str
    applied: list[OutcomePublic]
    skipped: list[OutcomePublic]

    @classmethod
    def from_result(cls, result: BatchResult) -> BatchPublic:
        return cls(
            batch_id=result.batch_id,
            action=result.action,
            actor=result.actor,
            applied=[OutcomePublic.from_outcome(o) for o in result.applied],
            skipped=[OutcomePublic.from_outcome(o) for o in result.skipped],
        )


class UndoPublic(Schema):
    """The batch an undo reverted: the posts restored, and those changed since (left alone)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "batch_id": "22396ce4ce7f48dea4b988ebae9bf6b5",
                    "action": "approve",
                    "restored": [
                        {
                            "post_id": 42,
                            "applied": True,
                            "from_state": "approved",
                            "to_state": "new",
                            "decision_id": 5,
                            "reason": None,
                            "problem": None,
                        }
                    ],
                    "skipped": [],
                }
            ]
        }
    )

    batch_id: str
    action: str | None
    restored: list[OutcomePublic]
    skipped: list[OutcomePublic]

    @classmethod
    def from_result(cls, result: UndoResult) -> UndoPublic:
        assert result.batch_id is not None
        return cls(
            batch_id=result.batch_id,
            action=result.action,
            restored=[OutcomePublic.from_outcome(o) for o in result.restored],
            skipped=[OutcomePublic.from_outcome(o) for o in result.skipped],
        )
