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
    # The Python type of the key's values: a cursor is client input, and a value of
    # another type would reach the SQL comparison (and fail there) unless refused here.
    kind: type = str


def fingerprint(parts: Sequence[object]) -> str:
    """Short hash of everything that defines a query's result order and membership."""
    return hashlib.sha256(orjson.dumps(parts, option=orjson.OPT_NON_STR_KEYS)).hexdigest()[:12]


def encode_cursor(query_hash: str, values: Sequence[Any]) -> str:
    payload = [query_hash, [v.isoformat() if isinstance(v, datetime) else v for v in values]]
    return base64.urlsafe_b64encode(orjson.dumps(payload)).decode().rstrip("=")


def decode_cursor(
    cursor: str, query_hash: str, keys: Sequence[SortKey], id_kind: type = int
) -> list[Any]:
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
    kinds = [key.kind for key in keys] + [id_kind]
    decoded = [_decode_value(value, kind) for value, kind in zip(values, kinds, strict=True)]
    if decoded[-1] is None:
        raise BadCursor("cursor is malformed")
    return decoded


_BIGINT = 2**63


def _decode_value(value: Any, kind: type) -> Any:
    if value is None:
        return None
    if kind is datetime and isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise BadCursor("cursor is malformed") from None
        if moment.tzinfo is None:
            return moment
    if _is_kind(value, kind):
        return value
    raise BadCursor("cursor is malformed")


def _is_kind(value: Any, kind: type) -> bool:
    if isinstance(value, bool):
        return False
    if kind is int:
        return isinstance(value, int) and -_BIGINT <= value < _BIGINT
    if kind is float:
        return isinstance(value, int | float)
    # PostgreSQL refuses NUL in text, so such a string could only come from tampering.
    return kind is str and isinstance(value, str) and "\x00" not in value


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
