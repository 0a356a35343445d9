"""Generate the CLI and settings references from the code, for the `cog` blocks in docs/*.md.

The two references are the pages most likely to drift: a new option or a new settings key is easy to
add and easy to forget in the docs. So docs/cli.md and docs/settings.md hold `[[[cog ... ]]]` blocks
that call the functions below, and tests/test_docs.py runs `cog --check` on them: a change to a
command or a setting that is not regenerated fails the test. Regenerate with

    .venv/bin/cog -r -I docs docs/cli.md docs/settings.md

Everything here reads the live objects (the typer app, the pydantic models and the example settings
file that `tesoro init` writes), never a copy of them.
"""

from __future__ import annotations

import enum
import re
import types
import typing
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import annotated_types
import typer.main
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from tesoro.cli.main import app
from tesoro.settings import Settings

__all__ = ["cli_reference", "example_comments", "settings_reference"]


# --- shared ------------------------------------------------------------------------------------------


def _cell(text: str) -> str:
    """One table cell: a single line, with the pipe escaped so it cannot end the cell."""
    return " ".join(text.split()).replace("|", "\\|")


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(_cell(c) or " " for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def _paragraphs(text: str | None) -> str:
    """A docstring as Markdown paragraphs: lines of one paragraph joined, paragraphs kept apart."""
    if not text:
        return ""
    blocks = re.split(r"\n\s*\n", text.strip())
    return "\n\n".join(" ".join(block.split()) for block in blocks)


# --- the CLI -----------------------------------------------------------------------------------------


def _cli_type(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return " or ".join(_cli_type(a) for a in args)
    if origin is list:
        (item,) = typing.get_args(annotation)
        return f"{_cli_type(item)} ..."
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return " | ".join(str(member.value) for member in annotation)
    if annotation is bool:
        return "flag"
    names = {Path: "PATH", str: "TEXT", int: "INTEGER", float: "NUMBER"}
    if annotation in names:
        return names[annotation]
    return getattr(annotation, "__name__", str(annotation)).upper()


def _cli_default(param: Any) -> str:
    if param.required:
        return "required"
    default = param.default
    if default is None or default is False or callable(default):
        return ""
    if isinstance(default, enum.Enum):
        default = default.value
    return f"`{default}`"


def _cli_rows(command: Any) -> list[list[str]]:
    rows = []
    for param in command.params:
        if getattr(param, "hidden", False):
            continue
        if isinstance(param, typer.core.TyperArgument):
            name = f"`{param.name.upper()}`"
        else:
            name = ", ".join(f"`{opt}`" for opt in [*param.opts, *param.secondary_opts])
        kind = _cli_type(param.type_descriptor.annotation)
        rows.append([name, kind, _cli_default(param), param.help or ""])
    return rows


def _walk(group: Any, path: list[str]) -> Iterator[tuple[list[str], Any]]:
    """Every command and group under `group`, depth first, in the order they were added."""
    for name, command in group.commands.items():
        if command.hidden:
            continue
        yield [*path, name], command
        if hasattr(command, "commands"):
            yield from _walk(command, [*path, name])


def cli_reference() -> str:
    """Every `tesoro` command: what it does, its arguments and options, as Markdown."""
    root = typer.main.get_command(app)
    out: list[str] = []
    for path, command in _walk(root, ["tesoro"]):
        is_group = hasattr(command, "commands")
        level = "##" if len(path) == 2 else "###"
        out.append(f"{level} `{' '.join(path)}`\n")
        help_text = _paragraphs(command.help)
        if help_text:
            out.append(help_text + "\n")
        if is_group:
            names = ", ".join(f"`{name}`" for name in command.commands)
            out.append(f"Commands: {names}.\n")
            continue
        rows = _cli_rows(command)
        if rows:
            out.append(_table(["argument / option", "type", "default", "what it is"], rows))
    return "\n".join(out)


# --- settings ----------------------------------------------------------------------------------------

_TABLE = re.compile(r"^\[\[?\s*([a-z0-9_.]+)\s*\]\]?\s*$")
_KEY = re.compile(r"^([a-z_][a-z0-9_]*)\s*=")
# A key left commented out in the example (`# max_pages = 10`): one space after '#', then `key = `.
_COMMENTED_KEY = re.compile(r"^# ([a-z_][a-z0-9_]*) = \S")


def example_comments() -> dict[tuple[str, str], str]:
    """The comment written above each key (and each table) of the example settings file.

    Keyed by (table, key), where a table's own comment is under (table, ""). The first comment found
    wins (a table such as [[sources]] appears several times in the example).
    """
    text = resources.files("tesoro").joinpath("data/tesoro.example.toml").read_text(encoding="utf-8")
    found: dict[tuple[str, str], str] = {}
    table = ""
    pending: list[str] = []
    for raw in text.splitlines():
        line = raw.strip()
        header = _TABLE.match(line)
        key = _KEY.match(line) or _COMMENTED_KEY.match(line)
        if header:
            table = header.group(1)
            found.setdefault((table, ""), " ".join(pending))
            pending = []
        elif key:
            if pending:
                found.setdefault((table, key.group(1)), " ".join(pending))
            pending = []
        elif line.startswith("#"):
            pending.append(line.lstrip("#").strip())
        else:
            pending = []
    return {k: v for k, v in found.items() if v}


def _unwrap(annotation: Any) -> tuple[Any, list[Any]]:
    """The annotation without `Annotated[...]` wrappers, and the constraints those carried."""
    constraints: list[Any] = []
    while typing.get_origin(annotation) is typing.Annotated:
        base, *extra = typing.get_args(annotation)
        for item in extra:
            constraints += item.metadata if isinstance(item, FieldInfo) else [item]
        annotation = base
    return annotation, constraints


def _setting_type(annotation: Any) -> str:
    annotation, _ = _unwrap(annotation)
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Literal:
        return " or ".join(f"`{a}`" for a in args)
    if origin in (typing.Union, types.UnionType):
        parts = [_setting_type(a) for a in args if a is not type(None)]
        return " or ".join(parts) + (" (optional)" if type(None) in args else "")
    if origin is list:
        return f"list of {_setting_type(args[0])}"
    if origin is dict:
        return f"table of {_setting_type(args[0])} to {_setting_type(args[1])}"
    names = {str: "string", int: "integer", float: "number", bool: "boolean", Path: "path"}
    if annotation in names:
        return names[annotation]
    if annotation is typing.Any:
        return "any"
    return getattr(annotation, "__name__", str(annotation))


def _constraints(field: FieldInfo) -> str:
    found = list(field.metadata)
    for arg in typing.get_args(field.annotation) or ():
        found += _unwrap(arg)[1]
    found += _unwrap(field.annotation)[1]
    words = {
        annotated_types.Ge: ("≥", "ge"),
        annotated_types.Gt: ("&gt;", "gt"),
        annotated_types.Le: ("≤", "le"),
        annotated_types.Lt: ("&lt;", "lt"),
        annotated_types.MinLen: ("length ≥", "min_length"),
        annotated_types.MaxLen: ("length ≤", "max_length"),
    }
    parts = []
    for item in found:
        for kind, (sign, attr) in words.items():
            if isinstance(item, kind):
                parts.append(f"{sign} {getattr(item, attr)}")
    return ", ".join(dict.fromkeys(parts))


def _toml_value(value: Any) -> str:
    if value is None:
        return "(unset)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | Path):
        return f'"{value}"'
    if isinstance(value, enum.Enum):
        return _toml_value(value.value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        if not value:
            return "{}"
        return "{ " + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + " }"
    return str(value)


def _default(field: FieldInfo) -> str:
    if field.is_required():
        return "required"
    value = field.get_default(call_default_factory=True)
    if isinstance(value, BaseModel):
        return ""
    return f"`{_toml_value(value)}`"


def _model_of(annotation: Any) -> tuple[type[BaseModel] | None, bool]:
    """The settings model a field holds, and whether it is a list of them (an array of tables)."""
    annotation, _ = _unwrap(annotation)
    if typing.get_origin(annotation) is list:
        (item,) = typing.get_args(annotation)
        if isinstance(item, type) and issubclass(item, BaseModel):
            return item, True
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation, False
    return None, False


def _sections(
    model: type[BaseModel], table: str, is_array: bool, in_array: bool = False
) -> Iterator[tuple[str, bool, bool, type[BaseModel]]]:
    """Each section: its table name, whether it is an array of tables, whether it sits in one."""
    yield table, is_array, in_array or is_array, model
    for name, field in model.model_fields.items():
        if field.exclude:
            continue
        inner, inner_array = _model_of(field.annotation)
        if inner is not None:
            path = f"{table}.{name}" if table else name
            yield from _sections(inner, path, inner_array, in_array or is_array)


def settings_reference() -> str:
    """Every section and key of the settings file, with type, default, limits and meaning, as Markdown."""
    comments = example_comments()
    out: list[str] = []
    for table, is_array, in_array, model in _sections(Settings, "", False):
        title = "top level" if not table else (f"[[{table}]]" if is_array else f"[{table}]")
        out.append(f"### `{title}`\n" if table else "### Top level\n")
        about = comments.get((table, "")) if table else None
        doc = model.__doc__ if model.__doc__ and model.__doc__ != BaseModel.__doc__ else None
        intro = _paragraphs(doc) or about or ""
        if intro and not intro.startswith("Base for file sections"):
            out.append(intro + "\n")
        rows = []
        for name, field in model.model_fields.items():
            if field.exclude or _model_of(field.annotation)[0] is not None:
                continue
            # The model's own description wins; the example file's comment stands in where it has none.
            text = field.description or comments.get((table, name), "")
            # An environment variable carries one plain value: arrays of tables ([[sources]]) and keys
            # holding a list or a table are set in the file only.
            plain = typing.get_origin(_unwrap(field.annotation)[0]) not in (list, dict)
            parts = [*table.split("."), name] if table else [name]
            env = "TESORO_" + "__".join(parts) if plain and not in_array else ""
            rows.append(
                [
                    f"`{name}`",
                    _setting_type(field.annotation),
                    _default(field),
                    _constraints(field),
                    text,
                    f"`{env.upper()}`" if env else "",
                ]
            )
        if rows:
            out.append(_table(["key", "type", "default", "limits", "what it is", "environment"], rows))
    return "\n".join(out)
