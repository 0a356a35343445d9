"""Who is calling (`/api/me`), API keys and the running configuration (admin only)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from tesoro.api.deps import Admin, AnyKey, EngineDep, SettingsDep
from tesoro.api.problems import Problem
from tesoro.api.schemas.keys import DatabaseInfo, KeyCreate, KeyCreated, KeyPublic, Me, SettingsPublic
from tesoro.store.engine import session_scope
from tesoro.store.keys import create_key, list_keys, revoke_key
from tesoro.store.tables import QueueState
from tesoro.text.redact import mask_urls

__all__ = ["router"]

router = APIRouter()


@router.get("/api/me", tags=["auth"], response_model=Me, summary="The key this request was made with")
def me(caller: AnyKey) -> Me:
    assert caller is not None  # the guard let no anonymous request through
    return Me.from_principal(caller)


@router.get(
    "/api/keys", tags=["admin"], response_model=list[KeyPublic], summary="Every API key (never their secrets)"
)
def keys(caller: Admin, engine: EngineDep) -> list[KeyPublic]:
    with session_scope(engine) as session:
        return [KeyPublic.from_row(k) for k in list_keys(session)]


@router.post(
    "/api/keys",
    tags=["admin"],
    status_code=201,
    response_model=KeyCreated,
    summary="Create a key; its token is shown once",
)
def new_key(caller: Admin, engine: EngineDep, body: KeyCreate) -> KeyCreated:
    assert caller is not None
    with session_scope(engine) as session:
        created = create_key(session, name=body.name, role=body.role, created_by=caller.actor)
        return KeyCreated.from_created(created.key, created.token)


@router.delete(
    "/api/keys/{key_id}",
    tags=["admin"],
    response_model=KeyPublic,
    summary="Revoke a key and end its web sessions",
)
def revoke(caller: Admin, engine: EngineDep, key_id: str) -> KeyPublic:
    with session_scope(engine) as session:
        row = revoke_key(session, key_id=key_id)
        if row is None:
            raise Problem("not_found", f"no key {key_id}")
        return KeyPublic.from_row(row)


@router.get(
    "/api/settings",
    tags=["admin"],
    response_model=SettingsPublic,
    summary="The running configuration (no secrets)",
)
def settings_overview(caller: Admin, engine: EngineDep, settings: SettingsDep) -> SettingsPublic:
    data = _masked(settings.model_dump(mode="json", exclude={"base_dir"}))
    data["database"] = DatabaseInfo(
        backend=engine.url.get_backend_name(), url=mask_urls(engine.url.render_as_string(hide_password=True))
    )
    data["queue_states"] = [s.value for s in QueueState]
    return SettingsPublic.model_validate(data)


def _masked(value: Any) -> Any:
    """Every string in the settings with URL credentials masked (`queue.redis_url`, sources' base URLs...)."""
    if isinstance(value, str):
        return mask_urls(value)
    if isinstance(value, dict):
        return {key: _masked(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_masked(item) for item in value]
    return value
