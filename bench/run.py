"""Read-path benchmark: Newsdesk vs Datasette vs a typical FastAPI + ORM app, side by side.

    .venv/bin/python bench/run.py [--count 100000] [--duration 10] [--only distinct,hot]

Builds ``bench/out/articles-COUNT.db`` with ``build.py`` when it is missing, then starts
three servers over that same SQLite file, each pinned to core 0 with ``taskset``:

- Newsdesk: ``uvicorn app.main:create_app --factory --no-access-log`` (one process);
- Datasette (``bench/.venv-datasette``): ``--immutable``, facets off
  (``allow_facet off``, ``suggest_facets off``), ``sql_time_limit_ms 10000``;
- the baseline ``bench/baseline_app.py`` (SQLAlchemy ORM, lazy relationships, Pydantic).

and drives them with wrk on core 1 (``-t1 -c8 --latency``, script ``paths.lua``), each
workload on the three servers one after the other (interleaved, so that a noisy neighbour
hurts all three alike), after a short warm-up that uses other request paths:

- ``distinct``: a few thousand randomised listings (quality/heat bounds, topic, provider,
  date, sort), every path distinct so Newsdesk's response cache cannot answer; Datasette
  gets the equivalent flat table query with ``_nocount=1`` (topic as ``_where``);
- ``topic`` / ``provider``: scoped listings sorted by -heat, -quality or
  -publishedDateTime, scopes picked by popularity; Newsdesk's paths differ only in
  parameter order and explicit defaults, so each is a cache miss with the same meaning;
  Datasette gets a ``?sql=`` join over article_topics / the table filtered by provider_id;
- ``hot``: the front page ``minQuality=50&minHeat=60&sort=-heat`` repeated; ``hotgz``
  the same with a browser's ``Accept-Encoding: gzip, deflate, br`` (Datasette answers it
  uncompressed); ``hot304`` (Newsdesk only) sends its ETag as If-None-Match; Datasette is
  also measured with count;
- ``detail``: one article by id, over a few thousand ids (Datasette's row page).

Then, sequentially from one client, ``count=true`` and ``facets=topic,provider`` over
distinct queries (p50, p99), and the Newsdesk server's RSS. Before loading, a sample of
each workload's paths is fetched from all three servers and the returned article ids are
compared, so the queries are known to be equivalent.

Prints one markdown table (req/s, p50, p99, ratios, goal, pass/fail) and writes
``bench/out/results-COUNT.json``; when the results of another --count exist, the p50 of the
listings at both sizes are compared (goal: within 2x).
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness  # noqa: E402
from harness import OUT, ROOT, Server, WrkResult  # noqa: E402

TARGETS = ("newsdesk", "datasette", "baseline")
SORTS = ("-heat", "-quality", "-publishedDateTime")
DS_COLUMN = {"heat": "heat", "quality": "quality", "publishedDateTime": "published_at"}
FRONT_PAGE = {"minQuality": 50, "minHeat": 60}
PAGE = 20


# --- what is in the store -------------------------------------------------------------


@dataclass
class Store:
    path: Path
    articles: int
    topics: list[tuple[str, int, int]]  # slug, id, listed articles
    providers: list[tuple[str, int, int]]  # domain, id, listed articles
    ids: list[int]
    first_day: date
    last_day: date

    @property
    def ds_name(self) -> str:
        return self.path.stem


def inspect(path: Path, sample: int, seed: int) -> Store:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        articles = conn.execute("select count(*) from articles where state = 0").fetchone()[0]
        topics = conn.execute(
            "select t.slug, t.id, count(*) from article_topics a join topics t on t.id = a.topic_id"
            " where a.state = 0 group by t.id order by 3 desc, 1"
        ).fetchall()
        providers = conn.execute(
            "select p.domain, p.id, count(*) from articles a"
            " join providers p on p.id = a.provider_id"
            " where a.state = 0 group by p.id order by 3 desc, 1"
        ).fetchall()
        ids = [r[0] for r in conn.execute("select id from articles where state = 0 order by id")]
        first, last = conn.execute(
            "select min(published_at), max(published_at) from articles where state = 0"
        ).fetchone()
    finally:
        conn.close()
    rng = random.Random(seed)
    chosen = rng.sample(ids, min(sample, len(ids)))
    return Store(
        path, articles, topics, providers, chosen,
        date.fromisoformat(first[:10]), date.fromisoformat(last[:10]),
    )  # fmt: skip


# --- queries and their three renderings ----------------------------------------------


@dataclass
class Query:
    filters: dict[str, Any]
    sort: str
    scope: tuple[str, str] | None = None  # ("topic", slug) or ("provider", domain)
    variant: list[tuple[str, str]] = field(default_factory=list)  # Newsdesk-only no-ops

    def newsdesk(self) -> str:
        base = "/v1/articles"
        if self.scope is not None:
            kind, key = self.scope
            base = f"/v1/{'topics' if kind == 'topic' else 'providers'}/{quote(key)}/articles"
        params = [(k, str(v)) for k, v in self.filters.items()]
        params += [("sort", self.sort), ("limit", str(PAGE))]
        if self.variant:  # same meaning, another cache key: order and explicit defaults
            extra = [p for p in self.variant if p[0] != "order"]
            params = [p for p in params if not (p[0] == "limit" and ("limit", "") in extra)]
            params += [p for p in extra if p[1]]
            order = next((int(v) for k, v in self.variant if k == "order"), 0)
            random.Random(order).shuffle(params)
        return f"{base}?{urlencode(params)}"

    def baseline(self) -> str:
        params = [(k, str(v)) for k, v in self.filters.items()]
        if self.scope is not None:
            params.append(self.scope)
        params += [("sort", self.sort), ("limit", str(PAGE))]
        return f"/articles?{urlencode(params)}"

    def datasette(self, store: Store, *, count: bool = False) -> str:
        db = store.ds_name
        key = self.sort.removeprefix("-")
        column = DS_COLUMN[key]
        direction = "desc" if self.sort.startswith("-") else "asc"
        if self.scope is not None and self.scope[0] == "topic":
            where = ["topics.slug = :slug", "articles.state = 0"]
            where += [f"articles.{c} {op} {v}" for c, op, v in self._ds_conditions()]
            sql = (
                "select articles.* from articles"
                " join article_topics on article_topics.article_id = articles.id"
                " join topics on topics.id = article_topics.topic_id"
                f" where {' and '.join(where)}"
                f" order by articles.{column} {direction}, articles.id limit {PAGE}"
            )
            params = [("sql", sql), ("slug", self.scope[1]), ("_shape", "objects")]
            return f"/{db}.json?{urlencode(params)}"
        provider_ids = {domain: pid for domain, pid, _ in store.providers}
        topic_ids = {slug: tid for slug, tid, _ in store.topics}
        params = [("state", "0")]
        ops = {">=": "gte", "<=": "lte", "<": "lt"}
        params += [(f"{c}__{ops[op]}", str(v).strip("'")) for c, op, v in self._ds_conditions()]
        provider = self.filters.get("provider") or (self.scope and self.scope[1])
        if provider:
            params.append(("provider_id", str(provider_ids[provider])))
        if "topic" in self.filters:
            tid = topic_ids[self.filters["topic"]]
            params.append(("_where", f"id in (select article_id from article_topics "
                                     f"where topic_id = {tid})"))  # fmt: skip
        params += [("_sort_desc" if direction == "desc" else "_sort", column)]
        params += [("_size", str(PAGE)), ("_shape", "objects")]
        if not count:
            params.append(("_nocount", "1"))
        return f"/{db}/articles.json?{urlencode(params)}"

    def _ds_conditions(self) -> list[tuple[str, str, str]]:
        f = self.filters
        out = []
        for name, column, op in (
            ("minQuality", "quality", ">="), ("maxQuality", "quality", "<="),
            ("minHeat", "heat", ">="), ("maxHeat", "heat", "<="),
            ("publishedAfter", "published_at", ">="), ("publishedBefore", "published_at", "<"),
        ):  # fmt: skip
            if name in f:
                value = f[name]
                out.append((column, op, f"'{value}'" if isinstance(value, str) else str(value)))
        return out


def distinct_queries(store: Store, n: int, seed: int) -> list[Query]:
    """``n`` distinct randomised listings, as a frontend's filter panel would send them."""
    rng = random.Random(seed)
    topic_slugs = [t[0] for t in store.topics]
    topic_weights = [t[2] for t in store.topics]
    domains = [p[0] for p in store.providers]
    provider_weights = [p[2] for p in store.providers]
    span = max(1, (store.last_day - store.first_day).days)
    seen: set[str] = set()
    queries: list[Query] = []
    attempts = 0
    while len(queries) < n and attempts < n * 50:
        attempts += 1
        f: dict[str, Any] = {"minQuality": rng.randint(0, 80)}
        if rng.random() < 0.3:
            f["maxQuality"] = rng.randint(f["minQuality"] + 5, 100)
        if rng.random() < 0.7:
            f["minHeat"] = rng.randint(0, 200)
        if rng.random() < 0.15:
            f["maxHeat"] = rng.randint(f.get("minHeat", 0) + 20, 320)
        pick = rng.random()
        if pick < 0.2:
            f["topic"] = rng.choices(topic_slugs, weights=topic_weights)[0]
        elif pick < 0.4:
            f["provider"] = rng.choices(domains, weights=provider_weights)[0]
        if rng.random() < 0.3:
            f["publishedAfter"] = (
                store.first_day + timedelta(days=rng.randrange(span))
            ).isoformat()
        query = Query(f, rng.choice(SORTS))
        key = query.newsdesk()
        if key not in seen:
            seen.add(key)
            queries.append(query)
    return queries


_DEFAULTS = [("includeStubs", "false"), ("published", "true"), ("count", "false"),
             ("limit", "")]  # fmt: skip


def scoped_queries(store: Store, kind: str, n: int, seed: int) -> list[Query]:
    """Scoped listings by popularity; Newsdesk variants differ only in no-op parameters."""
    rng = random.Random(seed)
    pool = store.topics if kind == "topic" else store.providers
    keys = [p[0] for p in pool]
    weights = [p[2] for p in pool]
    seen: set[str] = set()
    queries: list[Query] = []
    attempts = 0
    while len(queries) < n and attempts < n * 50:
        attempts += 1
        variant = [d for d in _DEFAULTS if rng.random() < 0.5]
        variant.append(("order", str(rng.randrange(1_000_000))))
        query = Query({}, rng.choice(SORTS), (kind, rng.choices(keys, weights=weights)[0]), variant)
        path = query.newsdesk()
        if path not in seen:
            seen.add(path)
            queries.append(query)
    return queries


# --- workloads ------------------------------------------------------------------------


@dataclass
class Workload:
    name: str
    label: str
    goal: str
    paths: dict[str, list[str]]  # target -> request paths
    ids: Callable[[str, Any], list[str]] | None = None  # for the equivalence check
    etag: bool = False
    headers: tuple[str, ...] = ()  # sent with every request, warm-up included


# What a browser's fetch() sends.
BROWSER_ENCODINGS = "Accept-Encoding: gzip, deflate, br"


def _ids_newsdesk(body: Any) -> list[str]:
    return [item["id"] for item in body["items"]]


def _ids_baseline(body: Any) -> list[str]:
    return [item["id"] for item in body["items"]]


def _ids_datasette(body: Any) -> list[str]:
    return [f"{row['id']:016x}" for row in body["rows"]]


ID_READERS = {"newsdesk": _ids_newsdesk, "datasette": _ids_datasette, "baseline": _ids_baseline}


def workloads(store: Store, n_paths: int, seed: int) -> list[Workload]:
    distinct = distinct_queries(store, n_paths, seed)
    topic = scoped_queries(store, "topic", n_paths, seed + 1)
    provider = scoped_queries(store, "provider", n_paths, seed + 2)
    front = Query(dict(FRONT_PAGE), "-heat")
    ds = store.ds_name

    def render(queries: list[Query]) -> dict[str, list[str]]:
        return {
            "newsdesk": [q.newsdesk() for q in queries],
            "datasette": [q.datasette(store) for q in queries],
            "baseline": [q.baseline() for q in queries],
        }

    hot = render([front])
    hot["datasette_count"] = [front.datasette(store, count=True)]
    return [
        Workload("distinct", "listing, distinct random filters", ">=3x DS, >=20x base",
                 render(distinct)),
        Workload("topic", "topic-scoped, sort heat/quality/date", ">=10x DS", render(topic)),
        Workload("provider", "provider-scoped, sort heat/quality/date", ">=10x DS",
                 render(provider)),
        Workload("hot", "hot front page (repeated)", ">=10x DS", hot),
        Workload("hotgz", "hot front page, gzip client", ">=10x DS",
                 {"newsdesk": hot["newsdesk"], "datasette": hot["datasette"]},
                 headers=(BROWSER_ENCODINGS,)),
        Workload("hot304", "hot front page, If-None-Match", "304", {"newsdesk": hot["newsdesk"]},
                 etag=True),
        Workload("detail", "detail by id", ">=1.5x DS", {
            "newsdesk": [f"/v1/articles/{i:016x}" for i in store.ids],
            "datasette": [f"/{ds}/articles/{i}.json?_shape=objects" for i in store.ids],
            "baseline": [f"/articles/{i:016x}" for i in store.ids],
        }),
    ]  # fmt: skip


# --- servers --------------------------------------------------------------------------


def servers(
    store: Store, port_base: int, source: Path, newsdesk_url: str | None = None
) -> dict[str, Server]:
    db = str(store.path)
    python = str(harness.PROJECT_PYTHON)
    uvicorn = ["-m", "uvicorn", "--no-access-log", "--host", "127.0.0.1"]
    return {
        "newsdesk": Server(
            "newsdesk",
            [python, *uvicorn, "app.main:create_app", "--factory", "--port", str(port_base)],
            port_base,
            "/readyz",
            env={
                "NEWSDESK_DATABASE_URL": newsdesk_url or f"sqlite:///{db}",
                "NEWSDESK_API_KEYS": "bench",
            },
            cwd=source,
        ),
        "datasette": Server(
            "datasette",
            [
                str(harness.DATASETTE),
                "serve",
                "--immutable",
                db,
                "--host",
                "127.0.0.1",
                "--port",
                str(port_base + 1),
                "--setting",
                "suggest_facets",
                "off",
                "--setting",
                "allow_facet",
                "off",
                "--setting",
                "sql_time_limit_ms",
                "10000",
            ],
            port_base + 1,
            "/-/versions.json",
        ),  # fmt: skip
        "baseline": Server(
            "baseline",
            [
                python,
                *uvicorn,
                "baseline_app:create_app",
                "--factory",
                "--app-dir",
                str(harness.BENCH),
                "--port",
                str(port_base + 2),
            ],
            port_base + 2,
            "/healthz",
            env={"BASELINE_DATABASE": db},
        ),  # fmt: skip
    }


def port_of(target: str, running: dict[str, Server]) -> int:
    return running["datasette" if target == "datasette_count" else target].port


# --- checks and measurements -----------------------------------------------------------


def check_equivalence(wl: Workload, running: dict[str, Server], sample: int) -> str:
    """Fetch a sample of paths from every server; compare the article ids returned."""
    if wl.name == "hot304":
        return ""
    n = min(sample, len(wl.paths["newsdesk"]))
    same = 0
    problems: list[str] = []
    empty = 0
    for i in range(n):
        answers = {}
        for target in TARGETS:
            if target not in running or target not in wl.paths:
                continue
            status, body = harness.get_json(running[target].port, wl.paths[target][i])
            if status != 200:
                problems.append(f"{target} {status} on {wl.paths[target][i][:160]}")
                continue
            if wl.name == "detail":
                answers[target] = ["ok"]
            else:
                answers[target] = ID_READERS[target](body)
        reference = answers.get("newsdesk")
        if reference is not None and not reference:
            empty += 1
        if reference is not None and all(a == reference for a in answers.values()):
            same += 1
        elif reference is not None:
            others = {t: a[:3] for t, a in answers.items() if a != reference}
            problems.append(f"path {i}: newsdesk {reference[:3]} vs {others}")
    note = f"{same}/{n} same ids" + (f" ({empty} empty)" if empty else "")
    for problem in problems[:3]:
        print(f"    ! {wl.name}: {problem}", file=sys.stderr)
    return note


def measure(
    wl: Workload, target: str, running: dict[str, Server], args: argparse.Namespace, paths_dir: Path
) -> WrkResult:
    port = port_of(target, running)
    paths = wl.paths[target]
    file = paths_dir / f"{wl.name}-{target}.txt"
    file.write_text("\n".join(paths) + "\n")
    etag = None
    if wl.etag:
        _, headers, _ = harness.get(port, paths[0])
        etag = headers.get("etag")
    if wl.headers:
        sent = dict(header.split(": ", 1) for header in wl.headers)
        _, headers, _ = harness.get(port, paths[0], sent)
        encoding = headers.get("content-encoding", "identity")
        print(f"  {wl.name:9} {target:16} answers in {encoding}", file=sys.stderr)
    # Warm-up on paths from the other half of the list, so measured paths are not cached.
    harness.wrk(port, file, duration=args.warmup, connections=args.connections,
                start=len(paths) // 2, etag=etag, headers=wl.headers)  # fmt: skip
    result = harness.wrk(port, file, duration=args.duration, connections=args.connections,
                         etag=etag, headers=wl.headers)  # fmt: skip
    print(
        f"  {wl.name:9} {target:16} {result.rps:9.1f} req/s  p50 {result.p50_ms:8.2f} ms  "
        f"p99 {result.p99_ms:8.2f} ms  statuses {result.statuses}  load {harness.loadavg()}",
        file=sys.stderr,
        flush=True,
    )
    return result


def sequential(port: int, paths: list[str]) -> dict[str, float]:
    """p50/p99 of GETs sent one at a time from one client."""
    times: list[float] = []
    bad = 0
    for path in paths:
        started = time.perf_counter()
        status, _, _ = harness.get(port, path)
        times.append((time.perf_counter() - started) * 1000)
        bad += status != 200
    return {"p50_ms": harness.percentile(times, 50), "p99_ms": harness.percentile(times, 99),
            "n": len(times), "errors": bad}  # fmt: skip


# --- report ---------------------------------------------------------------------------


def fmt(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"


def verdict(ok: bool | None) -> str:
    return "–" if ok is None else ("PASS" if ok else "FAIL")


def report(results: dict[str, Any], other: dict[str, Any] | None) -> str:
    rows = [
        "| workload | Newsdesk req/s | p50 ms | p99 ms | Datasette req/s | p50 ms | p99 ms "
        "| baseline req/s | p50 ms | × DS | × base | goal | result |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|---|",
    ]
    wrk_results = results["wrk"]
    for name, info in results["workloads"].items():
        r = wrk_results.get(name, {})
        nd, ds, base = r.get("newsdesk"), r.get("datasette"), r.get("baseline")
        x_ds = nd["rps"] / ds["rps"] if nd and ds and ds["rps"] else None
        x_base = nd["rps"] / base["rps"] if nd and base and base["rps"] else None
        ok: bool | None = None
        if name == "distinct" and x_ds is not None and x_base is not None:
            ok = x_ds >= 3 and x_base >= 20
        elif name in ("topic", "provider", "hot", "hotgz") and x_ds is not None:
            ok = x_ds >= 10
        elif name == "detail" and x_ds is not None:
            ok = x_ds >= 1.5
        elif name == "hot304" and nd:
            ok = set(nd["statuses"]) == {"304"}
        errors = [t for t, v in r.items() if v and v["errors"]]
        result = verdict(ok) + (f" (errors: {', '.join(errors)})" if errors else "")
        rows.append(
            f"| {info['label']} | {fmt(nd and nd['rps'])} | {fmt(nd and nd['p50_ms'], 2)} "
            f"| {fmt(nd and nd['p99_ms'], 2)} | {fmt(ds and ds['rps'])} "
            f"| {fmt(ds and ds['p50_ms'], 2)} | {fmt(ds and ds['p99_ms'], 2)} "
            f"| {fmt(base and base['rps'])} | {fmt(base and base['p50_ms'], 2)} "
            f"| {fmt(x_ds)} | {fmt(x_base)} | {info['goal']} | {result} |"
        )
    seq = results.get("sequential", {})
    for key, label in (
        ("count", "count=true (sequential)"),
        ("facets", "facets=topic,provider (sequential)"),
    ):
        s = seq.get(key)
        if s:
            ds_s = seq.get(f"datasette_{key}")
            rows.append(
                f"| {label} | – | {fmt(s['p50_ms'], 2)} | {fmt(s['p99_ms'], 2)} | – "
                f"| {fmt(ds_s and ds_s['p50_ms'], 2)} | {fmt(ds_s and ds_s['p99_ms'], 2)} "
                f"| – | – | – | – | p50 < 250 ms "
                f"| {verdict(s['p50_ms'] < 250 and not s['errors'])} |"
            )
    rss = results.get("newsdesk_rss_mb")
    if rss is not None:
        rows.append(
            f"| Newsdesk server RSS (anon {fmt(results.get('newsdesk_RssAnon_mb'), 0)}, "
            f"file {fmt(results.get('newsdesk_RssFile_mb'), 0)}, "
            f"peak {fmt(results.get('newsdesk_hwm_mb'), 0)} MB) "
            f"| {fmt(rss, 0)} MB | | | | | | | | | | < 250 MB | {verdict(rss < 250)} |"
        )
    if other:
        for name in ("distinct", "topic", "provider", "hot", "detail"):
            here = wrk_results.get(name, {}).get("newsdesk")
            there = other["wrk"].get(name, {}).get("newsdesk")
            if not here or not there:
                continue
            small, large = sorted([(results["count"], here), (other["count"], there)],
                                  key=lambda x: x[0])  # fmt: skip
            ratio = large[1]["p50_ms"] / small[1]["p50_ms"]
            rows.append(
                f"| scale: {name} p50 at {large[0]:,} vs {small[0]:,} | | "
                f"{fmt(large[1]['p50_ms'], 2)} vs {fmt(small[1]['p50_ms'], 2)} | | | | | | | "
                f"{fmt(ratio, 2)}× | | within 2× | {verdict(ratio <= 2)} |"
            )
    return "\n".join(rows)


# --- main -----------------------------------------------------------------------------


def warm(db: Path, *, quiet: bool = False) -> None:
    """Read the whole store, so the OS page cache holds it for every server alike.

    Otherwise the first server to read a row pays for the disk read and the next ones find
    it cached: at 1M articles (8 GB), a detail run measured 83 req/s first and 985 second.
    Done again before every run: some machines drop cached pages of the 8 GB file with
    memory to spare (6.5 of 7.7 GB still cached after one full run), and a run that reads
    from disk measures the disk.
    """
    started = time.perf_counter()
    with db.open("rb") as handle:
        while handle.read(64 * 1024 * 1024):
            pass
    if not quiet:
        print(f"read {db.stat().st_size / 1e9:.1f} GB of the store into the OS page cache in "
              f"{time.perf_counter() - started:.1f}s", file=sys.stderr)  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000, help="articles in the store")
    parser.add_argument(
        "--db", type=Path, help="store to use (default bench/out/articles-COUNT.db)"
    )
    parser.add_argument(
        "--newsdesk-url",
        help="serve Newsdesk from this database instead (e.g. PostgreSQL loaded with "
        "`newsdesk ingest` from the same corpus); the others still serve the SQLite store",
    )
    parser.add_argument("--duration", type=float, default=10, help="seconds per wrk run")
    parser.add_argument("--warmup", type=float, default=2, help="seconds of warm-up per run")
    parser.add_argument("--rounds", type=int, default=1,
                        help="wrk runs per server and workload, interleaved; the median is "
                        "reported (3 or 5 on a noisy machine)")  # fmt: skip
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--only", help="comma-separated workloads: distinct,topic,provider,"
                        "hot,hotgz,hot304,detail,count,facets")  # fmt: skip
    parser.add_argument("--targets", default=",".join(TARGETS), help="servers to measure")
    parser.add_argument("--paths", type=int, default=20_000, help="distinct paths per workload")
    parser.add_argument("--sequential", type=int, default=200, help="requests for count/facets")
    parser.add_argument("--check", type=int, default=20, help="paths compared across servers")
    parser.add_argument("--port-base", type=int, default=8101)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--source",
        type=Path,
        default=ROOT,
        help="Newsdesk source tree to serve (default: this repo), e.g. an export made with "
        "`git archive COMMIT | tar -x -C DIR`",
    )
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    harness.need_wrk()
    if not harness.DATASETTE.exists() and "datasette" in args.targets:
        sys.exit(f"Datasette is missing: python3 -m venv {harness.DATASETTE.parent.parent} && "
                 f"{harness.DATASETTE.parent}/pip install datasette")  # fmt: skip
    harness.pin_self()
    db = (args.db or OUT / f"articles-{args.count}.db").resolve()
    if not db.exists():
        import build

        print(f"building {db} ...", file=sys.stderr)
        build.build(args.count, db)
    started = time.perf_counter()
    warm(db)
    store = inspect(db, sample=10_000, seed=args.seed)
    print(f"store {db}: {store.articles:,} listed articles, {len(store.topics)} topics, "
          f"{len(store.providers)} providers", file=sys.stderr)  # fmt: skip
    selected = set(args.only.split(",")) if args.only else None
    targets = [t for t in args.targets.split(",") if t]
    wls = [w for w in workloads(store, args.paths, args.seed)
           if selected is None or w.name in selected]  # fmt: skip
    paths_dir = OUT / "paths" / str(store.articles)
    paths_dir.mkdir(parents=True, exist_ok=True)
    all_servers = servers(store, args.port_base, args.source.resolve(), args.newsdesk_url)
    running: dict[str, Server] = {}
    results: dict[str, Any] = {
        "count": store.articles,
        "db": str(db),
        "when": datetime.now().isoformat(timespec="seconds"),
        "newsdesk_code": harness.code_version(args.source.resolve()),
        "newsdesk_database": "postgresql" if args.newsdesk_url else "sqlite",
        "duration": args.duration,
        "rounds": args.rounds,
        "connections": args.connections,
        "load_before": harness.loadavg(),
        "workloads": {},
        "wrk": {},
        "checks": {},
        "sequential": {},
    }
    try:
        for target in targets:
            all_servers[target].start()
            running[target] = all_servers[target]
        for wl in wls:
            results["workloads"][wl.name] = {"label": wl.label, "goal": wl.goal}
            note = check_equivalence(wl, running, args.check)
            results["checks"][wl.name] = note
            if note:
                print(f"  {wl.name}: equivalence check {note}", file=sys.stderr)
            # Rounds interleave the servers, so a slow spell of the machine falls on all of
            # them; each server's median round goes into the table.
            rounds: dict[str, list[harness.WrkResult]] = {}
            for _ in range(args.rounds):
                for target in [*TARGETS, "datasette_count"]:
                    server = "datasette" if target == "datasette_count" else target
                    if target in wl.paths and server in running:
                        warm(db, quiet=True)
                        result = measure(wl, target, running, args, paths_dir)
                        rounds.setdefault(target, []).append(result)
            results["wrk"][wl.name] = {
                target: {
                    **sorted(found, key=lambda r: r.rps)[len(found) // 2].as_dict(),
                    "rounds_rps": [r.rps for r in found],
                }
                for target, found in rounds.items()
            }
        if "newsdesk" in running and (selected is None or selected & {"count", "facets"}):
            tail = distinct_queries(store, args.paths + args.sequential, args.seed)[
                -args.sequential :
            ]
            port = running["newsdesk"].port
            warm(db, quiet=True)
            for key, extra in (("count", "&count=true"), ("facets", "&facets=topic,provider")):
                if selected is None or key in selected:
                    seq = sequential(port, [q.newsdesk() + extra for q in tail])
                    results["sequential"][key] = seq
                    print(
                        f"  {key:9} newsdesk sequential p50 {seq['p50_ms']:.2f} ms "
                        f"p99 {seq['p99_ms']:.2f} ms errors {seq['errors']}",
                        file=sys.stderr,
                    )
            if "datasette" in running and (selected is None or "count" in selected):
                ds_paths = [q.datasette(store, count=True) for q in tail]
                seq = sequential(running["datasette"].port, ds_paths)
                results["sequential"]["datasette_count"] = seq
                print(
                    f"  count     datasette sequential p50 {seq['p50_ms']:.2f} ms", file=sys.stderr
                )
        if "newsdesk" in running:
            results["newsdesk_rss_mb"] = running["newsdesk"].rss_mb()
            results["newsdesk_hwm_mb"] = running["newsdesk"].hwm_mb()
            for key in ("RssAnon", "RssFile"):
                kb = harness.proc_status(running["newsdesk"].pid, key)
                results[f"newsdesk_{key}_mb"] = None if kb is None else kb / 1024
    finally:
        for server in running.values():
            server.stop()
    results["load_after"] = harness.loadavg()
    results["elapsed_s"] = round(time.perf_counter() - started, 1)
    full = selected is None and set(targets) == set(TARGETS)
    suffix = "-postgresql" if args.newsdesk_url else "" if full else "-partial"
    out = OUT / f"results-{store.articles}{suffix}.json"
    out.write_text(json.dumps(results, indent=1))
    other = None
    for candidate in sorted(OUT.glob("results-*.json")):
        # The 1M goal compares full SQLite runs (p50 within 2x of 100k).
        partial = "-" in candidate.stem.removeprefix("results-")
        if args.newsdesk_url or partial or candidate == out:
            continue
        data = json.loads(candidate.read_text())
        if data["count"] != store.articles:
            other = data
    engine = " on PostgreSQL" if args.newsdesk_url else ""
    median = f", median of {args.rounds} rounds" if args.rounds > 1 else ""
    print(
        f"\n## {store.articles:,} articles — {results['when']}, wrk -t1 -c{args.connections} "
        f"-d{args.duration:g}s{median}, load average {results['load_before']} → "
        f"{results['load_after']}; "
        f"Newsdesk{engine} code: {results['newsdesk_code']}\n"
    )
    print(report(results, other))
    ds_count = results["wrk"].get("hot", {}).get("datasette_count")
    if ds_count:
        print(
            f"\nDatasette hot front page *with* count: {ds_count['rps']:.1f} req/s, "
            f"p50 {ds_count['p50_ms']:.2f} ms (the table compares against _nocount)."
        )
    if args.rounds > 1:
        # Medians of each server can pair rounds the ratio never saw side by side.
        per_round = []
        for name, found in results["wrk"].items():
            nd, ds = found.get("newsdesk"), found.get("datasette")
            if nd and ds:
                pairs = zip(nd["rounds_rps"], ds["rounds_rps"], strict=True)
                ratios = [f"{a / b:.1f}" for a, b in pairs]
                per_round.append(f"{name} {', '.join(ratios)}")
        if per_round:
            print("\nNewsdesk / Datasette in each round: " + "; ".join(per_round))
    checks = ", ".join(f"{k}: {v}" for k, v in results["checks"].items() if v)
    if checks:
        print(
            "Equivalence (article ids of sampled pages, Newsdesk vs Datasette vs baseline): "
            + checks
        )
    print(f"\nresults: {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
