"""Build a Newsdesk SQLite store from the synthetic corpus, through the project's own pipeline.

    .venv/bin/python bench/build.py --count 100000 --out bench/out/articles-100k.db [--jobs 2]

The documents come from ``corpus.generate(count, seed)`` and are streamed (never held in
memory) into ``app.ingest.run.ingest`` with a ``ProcessPoolExecutor`` for parsing, after
``app.migrate.upgrade`` has created the schema: exactly what ``newsdesk ingest`` does, minus
reading files from disk. Progress goes to stderr every 10,000 documents; the last line is a
summary with docs/s. The database is written to ``PATH.tmp`` and renamed when complete, so
an interrupted build never leaves a half-filled store behind under the final name.
After loading it runs ``ANALYZE`` (as an operator would before serving) and a WAL
checkpoint, so the file can be served read-only (Datasette ``--immutable``).
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from corpus import generate  # noqa: E402


def build(count: int, out: Path, *, jobs: int = 2, seed: int = 1, quiet: bool = False) -> float:
    """Build ``out`` with ``count`` documents; return the ingest rate in docs/s."""
    from app.cli import CACHE_MIB, COMMIT_DOCS
    from app.config import Settings
    from app.db import Database
    from app.ingest.bulk import deferred_sort_indexes
    from app.ingest.load import Result
    from app.ingest.run import collecting_less, ingest, parser_pool
    from app.migrate import upgrade
    from app.uploads.service import limits_of

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    for suffix in ("", "-wal", "-shm", "-bulk"):
        Path(str(tmp) + suffix).unlink(missing_ok=True)
    settings = Settings(database_url=f"sqlite:///{tmp}")
    db = Database(settings.database_url, cache_mib=CACHE_MIB)
    upgrade(db.engine)
    limits, _ = limits_of(settings)
    totals: Counter[str] = Counter()
    start = time.perf_counter()
    last_report = [0]

    def note(results: list[Result]) -> None:
        for result in results:
            totals[result.status] += 1
        done = sum(totals.values())
        if not quiet and done - last_report[0] >= 10_000:
            last_report[0] = done
            elapsed = time.perf_counter() - start
            print(f"  {done:>9,} docs  {elapsed:7.1f}s  {done / elapsed:7.0f} docs/s",
                  file=sys.stderr, flush=True)  # fmt: skip

    def stream() -> Iterator[tuple[str, bytes]]:
        yield from generate(count, seed)

    executor = parser_pool(jobs) if jobs > 1 else None
    try:
        with collecting_less(), deferred_sort_indexes(db):
            ingest(db, stream(), limits, executor=executor, commit_docs=COMMIT_DOCS, on_batch=note)
    finally:
        if executor is not None:
            executor.shutdown()
    elapsed = time.perf_counter() - start
    db.dispose()
    finish = time.perf_counter()
    conn = sqlite3.connect(tmp)
    conn.execute("ANALYZE")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    analyze = time.perf_counter() - finish
    os.replace(tmp, out)
    for suffix in ("-wal", "-shm", "-bulk"):
        Path(str(tmp) + suffix).unlink(missing_ok=True)
    rate = count / elapsed if elapsed else 0.0
    summary = ", ".join(f"{totals[s]} {s}" for s in ("created", "updated", "unchanged", "rejected"))
    size = out.stat().st_size / 1e6
    print(
        f"built {out} ({size:.0f} MB): {count} documents ({summary}) in {elapsed:.1f}s = "
        f"{rate:.0f} docs/s with {jobs} parser process(es); ANALYZE {analyze:.1f}s",
        file=sys.stderr,
        flush=True,
    )
    return rate


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, required=True, help="number of documents")
    parser.add_argument("--out", type=Path, required=True, help="SQLite file to create")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="parser processes")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--force", action="store_true", help="rebuild even if --out exists")
    args = parser.parse_args(argv)
    if args.out.exists() and not args.force:
        print(f"{args.out} exists; use --force to rebuild", file=sys.stderr)
        return 0
    build(args.count, args.out.resolve(), jobs=args.jobs, seed=args.seed)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
