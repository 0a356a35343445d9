"""Reading settings: the TOML file, then `TESORO_*` overrides, then validation into `Settings`.

Every problem becomes a `ConfigError` naming the file and the key, so a bad file fails at start-up.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from tesoro.settings.base import ConfigError
from tesoro.settings.root import Settings

__all__ = ["load_settings"]

# Keys that would hold a secret if written inline; the file must name an env var instead.
_SECRET_KEY = re.compile(r"(token|secret|password|api_key|apikey|webhook_url)$", re.IGNORECASE)


def _find_inline_secrets(data: Any, path: str = "") -> list[tuple[str, str]]:
    """Keys like `token = "..."` anywhere in the file: secrets must come from env vars."""
    found: list[tuple[str, str]] = []
    if isinstance(data, dict):
        for key, value in data.items():
            where = f"{path}.{key}" if path else str(key)
            if isinstance(value, str) and _SECRET_KEY.search(str(key)) and not str(key).endswith("_env"):
                found.append(
                    (where, f'secrets may not be written in the file; use `{key}_env = "ENV_VAR_NAME"`')
                )
            found.extend(_find_inline_secrets(value, where))
    elif isinstance(data, list):
        for i, item in enumerate(data):
            found.extend(_find_inline_secrets(item, f"{path}[{i}]"))
    return found


def _env_overrides(environ: Mapping[str, str]) -> dict[str, Any]:
    """`TESORO_DATABASE_URL` -> {"database": {"url": ...}}; `TESORO_LOG_LEVEL` -> {"log_level": ...}.

    Nested sections use a double underscore (`TESORO_SERVER__PORT`); the two shortcuts
    most deployments need (`TESORO_DATABASE_URL`, `TESORO_DATA_DIR`) also work with one.
    """
    shortcuts = {"TESORO_DATABASE_URL": ("database", "url"), "TESORO_DATA_DIR": ("data_dir",)}
    overrides: dict[str, Any] = {}
    for name, value in environ.items():
        if not name.startswith("TESORO_") or name == "TESORO_CONFIG":
            continue
        keys = shortcuts.get(name) or tuple(name.removeprefix("TESORO_").lower().split("__"))
        if keys[0] not in Settings.model_fields or keys[0] in ("base_dir", "source_file"):
            # Not a settings key: most likely a secret the file references by name
            # (e.g. TESORO_X_BEARER_TOKEN), which must not be read as an override.
            continue
        target = overrides
        for key in keys[:-1]:
            target = target.setdefault(key, {})
        target[keys[-1]] = value
    return overrides


def _merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _format_loc(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def load_settings(path: Path | str | None = None, *, environ: Mapping[str, str] | None = None) -> Settings:
    """Read the TOML file (or `$TESORO_CONFIG`), apply `TESORO_*` overrides, validate.

    With no file at all, the embedded defaults apply (SQLite under ./data, no sources).
    """
    env = os.environ if environ is None else environ
    chosen = path if path is not None else env.get("TESORO_CONFIG")
    data: dict[str, Any] = {}
    source_name = "environment"
    base_dir = Path.cwd()
    if chosen:
        file = Path(chosen).expanduser()
        source_name = str(file)
        if not file.exists():
            raise ConfigError(
                source_name, [("", "file not found (run `tesoro init` to write a starter config)")]
            )
        try:
            data = tomllib.loads(file.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(source_name, [("", f"not valid TOML: {exc}")]) from exc
        except UnicodeDecodeError as exc:
            raise ConfigError(source_name, [("", f"not UTF-8 text: {exc}")]) from exc
        base_dir = file.resolve().parent
        secrets = _find_inline_secrets(data)
        if secrets:
            raise ConfigError(source_name, secrets)
    merged = _merge(data, _env_overrides(env))
    merged.setdefault("base_dir", base_dir)
    if chosen:
        merged.setdefault("source_file", Path(chosen).expanduser().resolve())
    try:
        return Settings.model_validate(merged)
    except ValidationError as exc:
        raise ConfigError(source_name, _problems(exc)) from exc
    except ValueError as exc:  # a query that does not parse, raised outside pydantic's wrapper
        raise ConfigError(source_name, [("", str(exc))]) from exc


def _problems(exc: ValidationError) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    for error in exc.errors():
        key = _format_loc(error["loc"])
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "unknown key (a typo? see config/tesoro.example.toml for every key)"
        problems.append((key, message))
    return problems
