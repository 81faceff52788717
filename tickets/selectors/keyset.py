"""Keyset (cursor) pagination: a page is the rows just after (or before) a row already seen, in a fixed order.

No OFFSET: a page deep in a long list costs what the first one costs, and rows that arrive while an agent
pages through a list do not shift the later pages (no row twice, none skipped). A cursor is opaque to the
browser: the sort's name and the sort key of a row (its last key is the unique id), as base64 of JSON.
"""

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from django.db.models import F, Model, Q, QuerySet
from django.db.models.expressions import OrderBy

KeyKind = Literal["datetime", "int"]
# Each part of a client sort key is this many digits wide, so that comparing the strings compares the keys.
_DIGITS = 17
_FLIP = 10**_DIGITS - 1
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class SortKey:
    """One column of an ordering. A nullable key puts its NULLs last, in either direction."""

    field: str  # a model field or an annotation of the queryset
    descending: bool
    kind: KeyKind
    nullable: bool = False


@dataclass(frozen=True)
class Ordering:
    """A named total order of rows: its last key must be unique (the id)."""

    name: str
    keys: tuple[SortKey, ...]

    def order_by(self, *, reverse: bool = False) -> list[OrderBy]:
        """The ORDER BY of this ordering, or of its exact reverse (for the page before a cursor)."""
        terms = []
        for key in self.keys:
            descending = key.descending != reverse
            # NULLs last reading forward, hence first reading backward.
            nulls = {"nulls_first": True} if reverse else {"nulls_last": True}
            expression = F(key.field)
            terms.append(expression.desc(**nulls) if descending else expression.asc(**nulls))
        return terms

    def values(self, row: Model) -> tuple[Any, ...]:
        """The sort key of `row`."""
        return tuple(getattr(row, key.field) for key in self.keys)


def encode_cursor(ordering: Ordering, values: tuple[Any, ...]) -> str:
    """An opaque cursor naming a position in `ordering` (URL-safe)."""
    encoded = [value.isoformat() if isinstance(value, datetime) else value for value in values]
    raw = json.dumps([ordering.name, *encoded], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(ordering: Ordering, token: str) -> tuple[Any, ...] | None:
    """The position a cursor names, or None for one that is malformed or made for another ordering."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        name, *values = json.loads(raw)
    except (ValueError, TypeError, binascii.Error):
        return None
    if name != ordering.name or len(values) != len(ordering.keys):
        return None
    decoded: list[Any] = []
    for key, value in zip(ordering.keys, values, strict=True):
        if value is None and key.nullable:
            decoded.append(None)
        elif key.kind == "int" and type(value) is int and abs(value) < 2**63:
            decoded.append(value)
        elif key.kind == "datetime" and isinstance(value, str):
            try:
                moment = datetime.fromisoformat(value)
            except ValueError:
                return None
            if moment.tzinfo is None:
                return None
            decoded.append(moment)
        else:
            return None
    return tuple(decoded)


def client_sort_key(ordering: Ordering, values: tuple[Any, ...]) -> str:
    """A string for the browser: rows in `ordering`'s order have these strings in descending order."""
    parts = []
    for key, value in zip(ordering.keys, values, strict=True):
        if value is None:
            parts.append("0" + "0" * _DIGITS)  # NULLs last: below every value
            continue
        number = (value - _EPOCH) // timedelta(microseconds=1) if isinstance(value, datetime) else int(value)
        parts.append(("1" if key.nullable else "") + f"{number if key.descending else _FLIP - number:0{_DIGITS}d}")
    return ".".join(parts)


def _beyond(key: SortKey, value: Any, *, backward: bool) -> Q | None:
    """Rows strictly past `value` in `key` (before it, when `backward`); None when no row can be."""
    if value is None:
        # NULLs come last: nothing follows them; every non-NULL precedes them.
        return Q(**{f"{key.field}__isnull": False}) if backward else None
    after = Q(**{f"{key.field}__{'lt' if key.descending else 'gt'}": value})
    before = Q(**{f"{key.field}__{'gt' if key.descending else 'lt'}": value})
    if backward:
        return before
    return after | Q(**{f"{key.field}__isnull": True}) if key.nullable else after


def _equal(key: SortKey, value: Any) -> Q:
    return Q(**{f"{key.field}__isnull": True}) if value is None else Q(**{key.field: value})


def past(ordering: Ordering, values: tuple[Any, ...], *, backward: bool = False) -> Q:
    """The rows after the position `values` in `ordering` (before it, when `backward`)."""
    condition = Q(pk__in=[])
    prefix = Q()
    for key, value in zip(ordering.keys, values, strict=True):
        beyond = _beyond(key, value, backward=backward)
        if beyond is not None:
            condition |= prefix & beyond
        prefix &= _equal(key, value)
    first, start = ordering.keys[0], values[0]
    if not first.nullable and start is not None:
        # Redundant, but it lets the database start reading an index on the first key at the cursor.
        bound = "gte" if first.descending == backward else "lte"
        condition &= Q(**{f"{first.field}__{bound}": start})
    return condition


@dataclass(frozen=True)
class KeysetPage:
    """One page of rows, and the cursors of the pages on either side (None: there is none)."""

    rows: list[Any]
    next_cursor: str | None
    previous_cursor: str | None
    is_first: bool


def _positions(queryset: QuerySet[Any], ordering: Ordering, *, reverse: bool, limit: int) -> list[tuple[Any, ...]]:
    """The sort keys of the first `limit` rows of `queryset` in `ordering` (or its reverse), and nothing else."""
    keys = queryset.values(*(key.field for key in ordering.keys)).order_by(*ordering.order_by(reverse=reverse))
    return [tuple(row[key.field] for key in ordering.keys) for row in keys[:limit]]


def _rows(queryset: QuerySet[Any], positions: list[tuple[Any, ...]]) -> list[Any]:
    """The rows at `positions` (their last key is the id), in that order, as `queryset` makes them."""
    ids = [position[-1] for position in positions]
    by_id = {row.pk: row for row in queryset.filter(pk__in=ids).order_by()}
    return [by_id[row_id] for row_id in ids if row_id in by_id]


def keyset_page(
    queryset: QuerySet[Any],
    ordering: Ordering,
    *,
    size: int,
    after: tuple[Any, ...] | None = None,
    before: tuple[Any, ...] | None = None,
) -> KeysetPage:
    """The `size` rows of `queryset` just after `after` (or just before `before`; else the first), in two queries.

    The first sorts narrow rows, the sort keys alone: the database then sorts (and, for a key that is an
    aggregate, groups) the fewest bytes it can. The second reads the page's rows with all that `queryset` joins.
    """
    if before is not None:
        found = _positions(
            queryset.filter(past(ordering, before, backward=True)), ordering, reverse=True, limit=size + 1
        )
        if not found:  # nothing before it any more: the first page is what comes before
            return keyset_page(queryset, ordering, size=size)
        more_before = len(found) > size
        positions = found[:size][::-1]
        return KeysetPage(
            rows=_rows(queryset, positions),
            next_cursor=encode_cursor(ordering, positions[-1]),
            previous_cursor=encode_cursor(ordering, positions[0]) if more_before else None,
            is_first=not more_before,
        )
    if after is not None:
        queryset = queryset.filter(past(ordering, after))
    found = _positions(queryset, ordering, reverse=False, limit=size + 1)
    positions = found[:size]
    return KeysetPage(
        rows=_rows(queryset, positions) if positions else [],
        next_cursor=encode_cursor(ordering, positions[-1]) if len(found) > size else None,
        previous_cursor=encode_cursor(ordering, positions[0]) if after is not None and positions else None,
        is_first=after is None,
    )
