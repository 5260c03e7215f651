"""Opaque keyset cursors and the "rows after this position" predicate."""

import base64
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import ColumnElement, and_, or_


class BadCursor(ValueError):
    """A cursor that is malformed or belongs to another query (HTTP 400)."""


@dataclass(frozen=True)
class SortKey:
    name: str
    expr: Any
    desc: bool
    is_datetime: bool = False


def fingerprint(parts: Sequence[object]) -> str:
    """Short hash of everything that defines a query's result order and membership."""
    return hashlib.sha256(orjson.dumps(parts, option=orjson.OPT_NON_STR_KEYS)).hexdigest()[:12]


def encode_cursor(query_hash: str, values: Sequence[Any]) -> str:
    payload = [query_hash, [v.isoformat() if isinstance(v, datetime) else v for v in values]]
    return base64.urlsafe_b64encode(orjson.dumps(payload)).decode().rstrip("=")


def decode_cursor(cursor: str, query_hash: str, keys: Sequence[SortKey]) -> list[Any]:
    """Values of the sort keys (then the id) at the cursor; raise BadCursor otherwise."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        found_hash, values = orjson.loads(raw)
    except (ValueError, TypeError, orjson.JSONDecodeError):
        raise BadCursor("cursor is malformed") from None
    if found_hash != query_hash:
        raise BadCursor("cursor belongs to another query (filters or sort differ)")
    if not isinstance(values, list) or len(values) != len(keys) + 1:
        raise BadCursor("cursor is malformed")
    decoded: list[Any] = []
    for key, value in zip(keys, values, strict=False):
        if value is None:
            decoded.append(None)
        elif key.is_datetime and isinstance(value, str):
            try:
                decoded.append(datetime.fromisoformat(value))
            except ValueError:
                raise BadCursor("cursor is malformed") from None
        elif not key.is_datetime and isinstance(value, int | float | str):
            decoded.append(value)
        else:
            raise BadCursor("cursor is malformed")
    if not isinstance(values[-1], int | str) or isinstance(values[-1], bool):
        raise BadCursor("cursor is malformed")
    return [*decoded, values[-1]]


def after(keys: Sequence[SortKey], values: Sequence[Any], id_expr: Any) -> ColumnElement[bool]:
    """Rows strictly after `values` in ORDER BY key NULLS LAST, ..., id ASC."""
    condition: ColumnElement[bool] = id_expr > values[-1]
    for key, value in reversed(list(zip(keys, values, strict=False))):
        if value is None:
            condition = and_(key.expr.is_(None), condition)
        else:
            beyond = key.expr < value if key.desc else key.expr > value
            condition = or_(beyond, key.expr.is_(None), and_(key.expr == value, condition))
    return condition


def order_by(keys: Sequence[SortKey], id_expr: Any, *, first_not_null: bool) -> list[Any]:
    clauses = []
    for index, key in enumerate(keys):
        clause = key.expr.desc() if key.desc else key.expr.asc()
        clauses.append(clause if index == 0 and first_not_null else clause.nulls_last())
    clauses.append(id_expr.asc())
    return clauses
