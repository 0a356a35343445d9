"""Problem codes and the one table that turns them into HTTP status codes.

Lower layers say *what* went wrong in their own words: the curator's workflow
skips a post with `Outcome.problem` ("not_found", "invalid", "conflict",
"unchanged"), the insights service raises `LookupError` for an unknown brand or
author and `ValueError` for a bad input, the library raises `LibraryError` or
`MeaningUnavailable`. The HTTP layer answers all of them through `Problem`, whose
status comes from `STATUS` below, so a code means the same status on every route
and the mapping is read in one place. Clients always get `{"detail": ...}`.

    Problem (an HTTPException: FastAPI's handler, or the UI's error page, answers it)
    ├── NotAuthenticated   401  (tesoro.api.auth)
    └── Forbidden          403  (tesoro.api.auth)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from types import MappingProxyType
from typing import Any, Literal, TypeVar

from fastapi import HTTPException
from fastapi.exceptions import RequestValidationError

__all__ = ["STATUS", "Problem", "ProblemCode", "field_error", "service_call", "service_errors"]

T = TypeVar("T")

ProblemCode = Literal[
    "unauthenticated",
    "forbidden",
    "not_found",
    "invalid",
    "conflict",
    "unchanged",
    "bad_request",
    "too_large",
    "rate_limited",
    "unavailable",
]

# The one place a problem code becomes an HTTP status.
STATUS: Mapping[str, int] = MappingProxyType(
    {
        "unauthenticated": 401,
        "forbidden": 403,
        "not_found": 404,
        "invalid": 409,  # a move the state machine refuses, a product of another brand
        "conflict": 409,  # changed by someone else meanwhile, or a name that exists
        "unchanged": 409,  # nothing to change
        "bad_request": 422,  # the request itself is malformed (FastAPI's validation errors are 422 too)
        "too_large": 413,
        "rate_limited": 429,  # e.g. the gallery beacon past its per-address rate
        "unavailable": 503,  # e.g. search by meaning without a usable model
    }
)


class Problem(HTTPException):
    """An error a client can act on: `code` picks the status from `STATUS`, `detail` says why."""

    def __init__(
        self, code: ProblemCode | str, detail: Any, *, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(status_code=STATUS.get(code, 409), detail=detail, headers=headers)
        self.code = code


def field_error(where: str, name: str, message: str, value: Any = None) -> RequestValidationError:
    """A 422 that names the field, in the shape of FastAPI's own validation errors (`raise field_error(...)`).

    `where` is "query", "path" or "body"; the answer is `{"detail": [{"loc": [where, name], "msg": ...}]}`.
    """
    error = {"type": "value_error", "loc": (where, name), "msg": message, "input": value}
    return RequestValidationError([error])


@contextmanager
def service_errors() -> Iterator[None]:
    """Turn a service's errors into problems: an unknown thing is not_found, a bad input bad_request.

    `KeyError` and `IndexError` are `LookupError`s too, but from a service they are bugs,
    not a missing brand: they stay 500s with their traceback.
    """
    try:
        yield
    except (KeyError, IndexError):
        raise
    except LookupError as exc:
        raise Problem("not_found", str(exc).strip("'\"")) from exc
    except ValueError as exc:
        raise Problem("bad_request", str(exc)) from exc


def service_call(fn: Callable[[], T]) -> T:
    """`fn()` under `service_errors`, for one-line calls."""
    with service_errors():
        return fn()
