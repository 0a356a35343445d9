"""Issue 22, small things: `tesoro demo` keeps one valid demo key, however often it is run."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from tesoro.cli.serve import DEMO_CREATOR, demo_key
from tesoro.store.engine import session_scope
from tesoro.store.keys import Role, create_key, create_session, list_keys, resolve_session, verify_key


def test_each_demo_run_revokes_the_previous_demo_key(engine: Engine) -> None:
    with session_scope(engine) as session:
        mine = create_key(session, name="ana", role=Role.ADMIN, created_by="cli").token
    first = demo_key(engine)
    with session_scope(engine) as session:
        row = verify_key(session, token=first)
        assert row is not None
        signed_in, _ = create_session(session, api_key=row, ttl_s=3600)
    second = demo_key(engine)
    third = demo_key(engine)
    assert len({first, second, third}) == 3
    with session_scope(engine) as session:
        assert verify_key(session, token=first) is None
        assert verify_key(session, token=second) is None
        assert verify_key(session, token=third) is not None
        assert resolve_session(session, token=signed_in) is None  # the old key's browser session ended
        live = [k for k in list_keys(session, include_revoked=False) if k.created_by == DEMO_CREATOR]
        assert len(live) == 1
        assert verify_key(session, token=mine) is not None  # a key made by hand is left alone
