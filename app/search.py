"""User text to a safe full-text query, the same rules on SQLite FTS5 and PostgreSQL."""

import re
from typing import Any

from sqlalchemy import ColumnElement, Float, cast, func, literal_column, select, text

from app.models import Article

MAX_TERMS = 16
_TOKEN = re.compile(r'"([^"]*)"|(\S+)')
_WORD = re.compile(r"\w+")
# Must repeat the expression of the ix_articles_search index verbatim.
_PG_DOCUMENT = (
    "to_tsvector('newsdesk'::regconfig, coalesce(articles.title, '') || ' ' || "
    "coalesce(articles.excerpt, '') || ' ' || left(coalesce(articles.body, ''), 100000))"
)
FTS_BODY_CHARS = 100_000


def terms(q: str) -> list[str]:
    """Words and quoted phrases, each reduced to its word characters."""
    found: list[str] = []
    for phrase, word in _TOKEN.findall(q):
        words = _WORD.findall(phrase if phrase else word)
        if words:
            found.append(" ".join(words))
    return found[:MAX_TERMS]


def _fts5_query(parts: list[str]) -> str:
    # Every term is quoted, so nothing the user types is FTS5 syntax.
    return " AND ".join(f'"{part}"' for part in parts)


def match(dialect: str, parts: list[str]) -> tuple[Any, ColumnElement[bool], Any]:
    """(table to join or None, condition on `articles`, relevance where higher is better)."""
    if dialect == "sqlite":
        fts = (
            select(
                literal_column("rowid").label("id"),
                literal_column("bm25(article_fts)").label("rank"),
            )
            .select_from(text("article_fts"))
            .where(text("article_fts MATCH :fts_query").bindparams(fts_query=_fts5_query(parts)))
            .subquery("fts")
        )
        return fts, fts.c.id == Article.id, cast(-fts.c.rank, Float)
    document: Any = literal_column(_PG_DOCUMENT)
    queries = [func.phraseto_tsquery(literal_column("'newsdesk'::regconfig"), p) for p in parts]
    tsquery: Any = queries[0]
    for extra in queries[1:]:
        tsquery = tsquery.op("&&")(extra)
    return None, document.op("@@")(tsquery), cast(func.ts_rank(document, tsquery), Float)
