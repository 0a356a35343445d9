"""`tesoro keys ...`: create, list and revoke API keys from the command line.

The first admin key has to come from somewhere that needs no key, and that is
the operator's shell: `tesoro keys create --role admin --name ops`. The token
is printed once, on stdout alone (so `$(tesoro keys create ...)` captures it),
and never again: only its hash is stored.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from tesoro.cli.kit import ConfigOption, load_or_exit
from tesoro.store.engine import session_scope
from tesoro.store.keys import Role, create_key, list_keys, revoke_key

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

__all__ = ["DEMO_CREATOR", "demo_key", "keys_app"]

# `created_by` of the key `tesoro demo` mints.
DEMO_CREATOR = "demo"

keys_app = typer.Typer(
    help="API keys: create (shown once), list, revoke.",
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)
_err = Console(stderr=True)
_out = Console(markup=False)  # data prints as written


_settings = load_or_exit


def demo_key(engine: Engine) -> str:
    """An admin key for `tesoro demo` to print at start, so the demo's web UI can be opened at once.

    Only one demo key is valid at a time: the store keeps a key's hash, never its token, so
    the previous run's key cannot be shown again; it is revoked (its sessions ended) in the
    same transaction that mints the new one. Keys made with `tesoro keys create` are untouched.
    """

    with session_scope(engine) as session:
        for old in list_keys(session, include_revoked=False):
            if old.created_by == DEMO_CREATOR:
                revoke_key(session, key_id=old.key_id)
        return create_key(session, name="demo", role=Role.ADMIN, created_by=DEMO_CREATOR).token


@keys_app.command("create")
def create(
    role: Annotated[Role, typer.Option(help="admin, coordinator, viewer or gallery.", case_sensitive=False)],
    name: Annotated[str, typer.Option(help="Who or what uses the key (shown in lists and the audit log).")],
    config: ConfigOption = None,
) -> None:
    """Create a key and print its token once; store it now, it cannot be shown again."""

    from tesoro.store.db import open_store

    engine = open_store(_settings(config))
    try:
        with session_scope(engine) as session:
            created = create_key(session, name=name, role=role, created_by="cli")
            key_id = created.key.key_id
    except ValueError as exc:
        _err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    _err.print(f"created {role.value} key {key_id} ({name}); the token below is shown only once:")
    print(created.token)


@keys_app.command("list")
def list_(
    config: ConfigOption = None,
    all_: Annotated[bool, typer.Option("--all", help="Include revoked keys.")] = False,
) -> None:
    """List keys: id, name, role, created, last used, revoked (never their secrets)."""

    from tesoro.store.db import open_store

    engine = open_store(_settings(config))
    table = Table("key id", "name", "role", "created", "last used", "revoked")
    with session_scope(engine) as session:
        for key in list_keys(session, include_revoked=all_):
            table.add_row(
                key.key_id,
                key.name,
                key.role,
                key.created_at.isoformat(timespec="seconds") if key.created_at else "-",
                key.last_used_at.isoformat(timespec="seconds") if key.last_used_at else "-",
                key.revoked_at.isoformat(timespec="seconds") if key.revoked_at else "-",
            )
    _out.print(table)


@keys_app.command("revoke")
def revoke(
    key_id: Annotated[
        str, typer.Argument(help="The key id (the part after tso_ in the token, or from list).")
    ],
    config: ConfigOption = None,
) -> None:
    """Revoke a key at once; its web sessions end too."""

    from tesoro.store.db import open_store

    engine = open_store(_settings(config))
    with session_scope(engine) as session:
        row = revoke_key(session, key_id=key_id.removeprefix("tso_").split("_")[0])
        if row is None:
            _err.print(f"[red]error:[/red] no key {key_id!r}")
            raise typer.Exit(1)
        _out.print(f"revoked {row.key_id} ({row.name}, {row.role})")
