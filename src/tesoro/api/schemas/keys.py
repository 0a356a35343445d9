"""API keys, the caller, the service's health and its running configuration."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict, Field

from tesoro.api.auth import Principal
from tesoro.api.schemas.common import Input, Schema, Timestamp, iso
from tesoro.store.keys import Role
from tesoro.store.tables import ApiKey

__all__ = [
    "Check",
    "DatabaseInfo",
    "Health",
    "KeyCreate",
    "KeyCreated",
    "KeyPublic",
    "Me",
    "Readiness",
    "SettingsPublic",
]

_KEY_EXAMPLE: dict[str, Any] = {
    "key_id": "415472f2f1fa",
    "name": "site build",
    "role": "viewer",
    "created_by": "key:0a1b2c3d4e5f (Ana)",
    "created_at": "2026-11-01T12:00:00+00:00",
    "last_used_at": None,
    "revoked_at": None,
}


class Health(Schema):
    """The service answers and its database too."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"status": "ok", "version": "0.1.0"}]})

    status: Literal["ok"]
    version: str = Field(description="Tesoro's version")


class Check(Schema):
    """One dependency the process needs to serve."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"name": "redis", "ok": False, "detail": "ConnectionError: refused"}]}
    )

    name: Literal["database", "redis", "index"]
    ok: bool = Field(description="whether the check passed")
    detail: str = Field("", description="why the check failed (empty when it passed)")


class Readiness(Schema):
    """Whether this process can serve: each check, and `ready` only when all of them passed (else 503)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "status": "not_ready",
                    "checks": [
                        {"name": "database", "ok": True, "detail": ""},
                        {"name": "index", "ok": False, "detail": "the library index is loading"},
                    ],
                }
            ]
        }
    )

    status: Literal["ready", "not_ready"]
    checks: list[Check] = Field(description="each check, in order: database, redis (RQ backend), index")


class Me(Schema):
    """The key a request was made with."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"key_id": "415472f2f1fa", "name": "Ana", "role": "coordinator", "via": "key"}]
        }
    )

    key_id: str = Field(description="the public part of the key (tso_<key_id>_<secret>)")
    name: str
    role: str = Field(description="admin, coordinator, viewer or gallery")
    via: Literal["key", "session"] = Field(description="an API key header, or a web login's session cookie")

    @classmethod
    def from_principal(cls, caller: Principal) -> Me:
        return cls(key_id=caller.key_id, name=caller.name, role=caller.role.value, via=caller.via)


class KeyCreate(Input):
    """A new key: who or what it is for, and its role."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"name": "site build", "role": "gallery"}]})

    name: str = Field(min_length=1, max_length=200, description="who or what uses the key")
    role: Role = Field(description="what the key may do (the role matrix is on /docs)")


class KeyPublic(Schema):
    """An API key, never its secret."""

    model_config = ConfigDict(json_schema_extra={"examples": [_KEY_EXAMPLE]})

    key_id: str
    name: str
    role: str
    created_by: str | None = Field(description="the key that created it; null for the command line")
    created_at: Timestamp
    last_used_at: Timestamp | None = Field(description="updated at most once a minute")
    revoked_at: Timestamp | None

    @classmethod
    def from_row(cls, key: ApiKey) -> KeyPublic:
        return cls(**_key_fields(key))


class KeyCreated(KeyPublic):
    """A key just created, with its token: shown this once, stored only as a hash."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{**_KEY_EXAMPLE, "token": "tso_415472f2f1fa_znTrlSEqUsXF7jVu"}]}
    )

    token: str = Field(description="send it as `Authorization: Bearer <token>`")

    @classmethod
    def from_created(cls, key: ApiKey, token: str) -> KeyCreated:
        return cls(**_key_fields(key), token=token)


def _key_fields(key: ApiKey) -> dict[str, str | None]:
    return {
        "key_id": key.key_id,
        "name": key.name,
        "role": key.role,
        "created_by": key.created_by,
        "created_at": iso(key.created_at) or "",
        "last_used_at": iso(key.last_used_at),
        "revoked_at": iso(key.revoked_at),
    }


class DatabaseInfo(Schema):
    """Which store the service runs on (the password hidden)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"backend": "postgresql", "url": "postgresql+psycopg://tesoro:***@db/tesoro"}]
        }
    )

    backend: str = Field(description="sqlite or postgresql")
    url: str = Field(description="the database URL with its password hidden")


class SettingsPublic(Schema):
    """The running configuration as the settings file and TESORO_* variables made it, without secrets.

    Every section of the settings reference appears under its own key (brands, products,
    sources, models, curator, alerts, gallery, api...); they are listed in the settings
    docs rather than repeated here.
    """

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "data_dir": "data",
                    "brands": [{"name": "Andes Outdoor"}],
                    "database": {"backend": "sqlite", "url": "sqlite:///data/tesoro.db"},
                    "queue_states": ["new", "approved", "featured", "rejected", "archived"],
                }
            ]
        },
    )

    database: DatabaseInfo
    queue_states: list[str] = Field(description="every state a post can be in")
