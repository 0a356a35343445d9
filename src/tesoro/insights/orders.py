"""`tesoro orders import FILE`: read an orders CSV and store it, linked to authors where possible.

The file needs a header row with a customer column (`customer`, `handle`,
`email`, `customer_handle`, `customer_email` or `username`), a date column
(`date`, `ordered_at`, `order_date` or `created_at`) and an amount column
(`amount`, `total`, `value` or `order_total`); `order_id` (or `id`) and
`platform` are optional. Like the posts import, bad rows are reported with
their line and reason and the good ones are kept, and importing the same file
again adds nothing.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy.engine import Engine

from tesoro.models import Platform
from tesoro.store.engine import session_scope
from tesoro.store.kpis import OrderIn, insert_orders, link_orders

__all__ = ["BadOrder", "OrdersFile", "OrdersImport", "import_orders", "parse_amount", "read_orders_csv"]

_CUSTOMER = ("customer", "handle", "email", "customer_handle", "customer_email", "username")
_DATE = ("date", "ordered_at", "order_date", "created_at")
_AMOUNT = ("amount", "total", "value", "order_total")
_ID = ("order_id", "id", "order")
_PLATFORMS = {p.value for p in Platform}
_CURRENCY = re.compile(r"[\s$€£¥]|[A-Z]{3}$")


@dataclass(frozen=True, slots=True)
class BadOrder:
    line: int
    reason: str


@dataclass
class OrdersFile:
    orders: list[OrderIn] = field(default_factory=list)
    bad_rows: list[BadOrder] = field(default_factory=list)


def parse_amount(text: str) -> float:
    """'12.50', '$1,234.50', '1.234,50 EUR', '12,5' -> a non-negative number."""
    cleaned = _CURRENCY.sub("", text.strip().upper())
    if "," in cleaned and "." in cleaned:
        # The later separator is the decimal one.
        if cleaned.rfind(",") > cleaned.rfind("."):
            cleaned = cleaned.replace(".", "").replace(",", ".")
        else:
            cleaned = cleaned.replace(",", "")
    elif "," in cleaned:
        head, _, tail = cleaned.rpartition(",")
        cleaned = f"{head.replace(',', '')}.{tail}" if len(tail) <= 2 else cleaned.replace(",", "")
    value = float(cleaned)
    if value < 0 or value != value or value == float("inf"):
        raise ValueError("must be a non-negative amount")
    return value


def _parse_date(text: str) -> datetime:
    value = text.strip()
    if len(value) == 10:
        day = date.fromisoformat(value)
        return datetime(day.year, day.month, day.day, tzinfo=UTC)
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _column(header: list[str], names: tuple[str, ...]) -> int | None:
    lowered = [h.strip().lower() for h in header]
    for name in names:
        if name in lowered:
            return lowered.index(name)
    return None


def read_orders_csv(path: Path) -> OrdersFile:
    """Parse the file; a missing required column is an error for the whole file (ValueError)."""
    result = OrdersFile()
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None:
            raise ValueError(f"{path}: the file is empty (a header row is required)")
        customer_i = _column(header, _CUSTOMER)
        date_i = _column(header, _DATE)
        amount_i = _column(header, _AMOUNT)
        missing = [
            name
            for name, index in (("customer", customer_i), ("date", date_i), ("amount", amount_i))
            if index is None
        ]
        if missing or customer_i is None or date_i is None or amount_i is None:
            raise ValueError(f"{path}: missing column(s) {', '.join(missing)} (header: {header})")
        id_i = _column(header, _ID)
        platform_i = _column(header, ("platform",))
        for row in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            try:
                result.orders.append(_order(row, customer_i, date_i, amount_i, id_i, platform_i))
            except (ValueError, IndexError) as exc:
                result.bad_rows.append(BadOrder(line, str(exc) or type(exc).__name__))
    return result


def _order(
    row: list[str], customer_i: int, date_i: int, amount_i: int, id_i: int | None, platform_i: int | None
) -> OrderIn:
    if len(row) <= max(customer_i, date_i, amount_i):
        raise ValueError(f"expected at least {max(customer_i, date_i, amount_i) + 1} fields, got {len(row)}")
    customer = row[customer_i].strip()
    if not customer.lstrip("@"):
        raise ValueError("customer is empty")
    try:
        ordered_at = _parse_date(row[date_i])
    except ValueError as exc:
        raise ValueError(f"date {row[date_i]!r} is not YYYY-MM-DD or an ISO 8601 time") from exc
    try:
        amount = parse_amount(row[amount_i])
    except ValueError as exc:
        raise ValueError(f"amount {row[amount_i]!r}: {exc}") from exc
    order_id = row[id_i].strip() if id_i is not None and id_i < len(row) and row[id_i].strip() else None
    platform = row[platform_i].strip().lower() if platform_i is not None and platform_i < len(row) else ""
    if platform and platform not in _PLATFORMS:
        raise ValueError(f"platform {platform!r} is not one of {sorted(_PLATFORMS)}")
    return OrderIn(
        customer=customer, ordered_at=ordered_at, amount=amount, order_id=order_id, platform=platform or None
    )


@dataclass(frozen=True, slots=True)
class OrdersImport:
    read: int
    inserted: int
    linked: int
    bad_rows: tuple[BadOrder, ...]


def import_orders(engine: Engine, path: Path) -> OrdersImport:
    """Read, store (skipping duplicates) and link the orders of one CSV file, in one transaction."""
    parsed = read_orders_csv(path)
    with session_scope(engine) as session:
        inserted = insert_orders(session, parsed.orders)
        linked = link_orders(session)
    return OrdersImport(
        read=len(parsed.orders), inserted=inserted, linked=linked, bad_rows=tuple(parsed.bad_rows)
    )
