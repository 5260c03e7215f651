"""`newsdesk serve | ingest | migrate`."""

import argparse
import os
import secrets
import sys
import time
from collections import Counter
from collections.abc import Iterator
from operator import attrgetter
from pathlib import Path

from app.config import Settings
from app.db import Database
from app.ingest.bulk import deferred_sort_indexes
from app.ingest.load import Result
from app.ingest.run import collecting_less, ingest, parser_pool
from app.migrate import upgrade
from app.uploads.archives import SMALL_READ, LimitExceeded, is_archive, label, sized
from app.uploads.service import documents, limits_of

DOCUMENT_SUFFIXES = (".md", ".markdown", ".yaml", ".yml", ".json")
# Bulk ingestion runs in its own process, so it can afford a large page cache; with
# several batches per commit, the index pages a commit rewrites are shared by more
# documents. Together they double the write rate into a 100k store (bench/README.md).
CACHE_MIB = 256
COMMIT_DOCS = 5000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="newsdesk", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="migrate, load seeds into an empty database, serve")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    load = commands.add_parser("ingest", help="ingest files, folders and archives")
    load.add_argument("paths", nargs="+", type=Path)
    load.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="parser processes")
    load.add_argument(
        "--commit-every",
        type=int,
        default=COMMIT_DOCS,
        metavar="DOCS",
        help=f"documents per transaction (default {COMMIT_DOCS}); a crash loses only the open one",
    )
    commands.add_parser("migrate", help="bring the database schema to head")
    args = parser.parse_args(argv)
    settings = Settings()
    if args.command == "migrate":
        database = Database(settings.database_url)
        try:
            upgrade(database.engine)
        finally:
            database.dispose()
        print("database schema is at head")
        return 0
    if args.command == "ingest":
        return run_ingest(settings, args.paths, jobs=args.jobs, commit_docs=args.commit_every)
    return run_serve(settings, args.host, args.port, args.workers)


def walk(paths: list[Path]) -> Iterator[tuple[str, str]]:
    """Documents and archives under the given paths, in a stable order (sorted by path)."""
    for path in paths:
        if not path.is_dir():
            yield str(path), str(path)
            continue
        found: list[tuple[str, str]] = []
        _collect(str(path), path.name, found)
        yield from found


_entry_name = attrgetter("name")


def _collect(folder: str, name: str, found: list[tuple[str, str]]) -> None:
    # scandir and plain strings: the directory entry already tells a regular file (no stat
    # per file, as pathlib or os.path.isfile would make) when a re-ingest finds every
    # document unchanged. Links to folders are not followed, FIFOs and devices not read.
    # Each folder's entries sorted by name, depth first: the order of sorting whole paths
    # by their parts, at the cost of many small sorts instead of one of every path.
    try:
        entries = sorted(os.scandir(folder), key=_entry_name)
    except OSError:
        return
    for entry in entries:
        try:
            if entry.is_dir(follow_symlinks=False):
                _collect(entry.path, f"{name}/{entry.name}", found)
            elif (
                entry.name.lower().endswith(DOCUMENT_SUFFIXES) or is_archive(entry.name)
            ) and entry.is_file():
                found.append((f"{name}/{entry.name}", entry.path))
        except OSError:
            # A link that loops or points where it cannot be followed, as os.walk would.
            continue


def read_all(
    settings: Settings, paths: list[Path]
) -> Iterator[tuple[str, bytes | None, str | None]]:
    _, limits = limits_of(settings)
    for name, path in walk(paths):
        try:
            if is_archive(name):
                with open(path, "rb") as handle:
                    for entry in documents([(name, handle)], settings):
                        yield entry.source, entry.data, entry.problem
                continue
            data = read_file(path, limits.max_document_bytes)
        except OSError as exc:
            yield name, None, f"cannot be read: {exc.strerror}"
            continue
        except LimitExceeded as exc:
            yield name, None, str(exc)
            continue
        entry = sized(label(name), data, limits)
        yield entry.source, entry.data, entry.problem


def read_file(path: str, limit: int) -> bytes:
    """Up to `limit` + 1 bytes of a file: one more than allowed tells it is over the limit.

    Plain descriptors, no file object: when a re-ingest finds every document unchanged,
    opening and reading is most of its work, and `open()` cost twice as much.
    """
    fd = os.open(path, os.O_RDONLY)
    try:
        chunks: list[bytes] = []
        size = 0
        while size <= limit:
            chunk = os.read(fd, min(SMALL_READ, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)
    finally:
        os.close(fd)


def run_ingest(
    settings: Settings, paths: list[Path], *, jobs: int, commit_docs: int = COMMIT_DOCS
) -> int:
    """Ingest every document under `paths`; exit status 1 if any was rejected."""
    started = time.perf_counter()
    db = Database(settings.database_url, cache_mib=CACHE_MIB)
    upgrade(db.engine)
    limits, _ = limits_of(settings)
    totals: Counter[str] = Counter()
    rejected: list[Result] = []
    progress = _progress()

    def note(results: list[Result]) -> None:
        for result in results:
            totals[result.status] += 1
            if result.status == "rejected":
                rejected.append(result)
        if progress is not None:
            progress.update(len(results))

    def stream() -> Iterator[tuple[str, bytes]]:
        for source, data, problem in read_all(settings, paths):
            if data is None:
                note([Result(source, "rejected", errors=[{"field": None, "message": problem}])])
            else:
                yield source, data

    executor = parser_pool(jobs) if jobs > 1 else None
    try:
        with collecting_less(), deferred_sort_indexes(db) as deferred:
            # The summary counts results and never shows a webUrl.
            ingest(
                db, stream(), limits, executor=executor, commit_docs=commit_docs,
                on_batch=note, web_urls=False,
            )  # fmt: skip
            if deferred:
                # A minute or more for millions of articles, with nothing else to show.
                print("building the listing indexes ...", file=sys.stderr, flush=True)
    finally:
        if executor is not None:
            executor.shutdown()
        if progress is not None:
            progress.close()
        db.dispose()
    for result in rejected:
        reasons = "; ".join(
            f"{e['field']}: {e['message']}" if e["field"] else str(e["message"])
            for e in result.errors
        )
        print(f"rejected {result.source}: {reasons}", file=sys.stderr)
    summary = ", ".join(f"{totals[s]} {s}" for s in ("created", "updated", "unchanged", "rejected"))
    count, elapsed = sum(totals.values()), time.perf_counter() - started
    print(f"{count} documents: {summary} in {elapsed:.2f} s ({count / elapsed:.0f} documents/s)")
    return 1 if totals["rejected"] else 0


def _progress():  # type: ignore[no-untyped-def]
    if not sys.stderr.isatty():
        return None
    from tqdm import tqdm

    return tqdm(unit=" docs", file=sys.stderr)


def load_seeds(settings: Settings, db: Database) -> int:
    """Ingest `seeds/` into an empty database; return how many documents were stored."""
    from sqlalchemy import func, select

    from app.models import Article

    with db.read() as session:
        if session.scalar(select(func.count()).select_from(Article)):
            return 0
    if not settings.seeds_dir.is_dir():
        return 0
    limits, _ = limits_of(settings)
    items = [(name, Path(path).read_bytes()) for name, path in walk([settings.seeds_dir])]
    results = ingest(db, items, limits)
    return sum(r.status in ("created", "updated") for r in results)


def run_serve(settings: Settings, host: str, port: int, workers: int) -> int:
    import uvicorn

    db = Database(settings.database_url)
    upgrade(db.engine)
    stored = load_seeds(settings, db)
    if stored:
        print(f"loaded {stored} seed documents from {settings.seeds_dir}/")
    if not settings.api_keys:
        key = secrets.token_urlsafe(24)
        # Workers re-read settings from the environment, so the key goes there.
        os.environ["NEWSDESK_API_KEYS"] = key
        print(f"no NEWSDESK_API_KEYS set; this run's API key (shown once): {key}", flush=True)
    db.dispose()
    uvicorn.run(
        "app.main:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        proxy_headers=True,
        log_level="info",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
