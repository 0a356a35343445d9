"""The errors of the listening language: one for what a user typed, one for what a platform cannot search."""

from __future__ import annotations

__all__ = ["QueryCompileError", "QuerySyntaxError"]


class QuerySyntaxError(ValueError):
    """A query the user typed cannot be parsed.

    It carries the position so that the UI and the CLI can point at the mistake: ``str(error)``
    shows the message, the query and a caret under the offending character.
    """

    def __init__(self, message: str, position: int, query: str = "") -> None:
        super().__init__(message, position)
        self.message = message
        self.position = position
        self.query = query

    def __str__(self) -> str:
        # Tabs and newlines would break the caret's alignment, so show every space as one blank.
        shown = "".join(" " if ch.isspace() else ch for ch in self.query)
        return f"{self.message} (at position {self.position})\n  {shown}\n  {' ' * self.position}^"


class QueryCompileError(ValueError):
    """A valid query has no equivalent-or-broader form on a platform.

    Raised, for instance, for a query that is only exclusions (no platform can search for
    "everything except X") or a compiled query longer than the platform accepts.
    """
