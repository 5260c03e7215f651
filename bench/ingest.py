"""Ingestion benchmark: ``newsdesk ingest`` and uploads against the bare YAML parse rate.

    .venv/bin/python bench/ingest.py [--docs 20000] [--upload-docs 200000] [--skip-upload]

1. Writes ``--docs`` corpus documents (``corpus.generate``) to ``bench/out/ingest/corpus``.
2. Parse-only rate, pinned to one core: read each file, take the YAML front matter between
   the ``---`` fences and ``yaml.load`` it with ``CSafeLoader`` (best of 3 passes): the
   bare cost the issue quotes (~2,500 docs/s per core for 1.9 KB documents).
3. ``newsdesk ingest --jobs 1`` (pinned to one core) and ``--jobs 2`` (both cores), each into
   a fresh SQLite file. Two times are kept: the wall time of the whole command, and the
   time the command reports for its own work (from opening the database, migration check
   included, to the summary: interpreter start-up and imports are not counted, as they are
   not in the parse-only rate). The goals are judged on the second.
4. ``newsdesk ingest --jobs 2`` again on the second file: every document ``unchanged``.
5. Upload: a ``.tar.gz`` of ``--upload-docs`` documents (200,000 make ~100 MB) POSTed as
   multipart to a Newsdesk server on core 0 over a fresh store (with
   ``NEWSDESK_MAX_ARCHIVE_MEMBERS`` raised to fit), streamed from disk by the client;
   the server's peak RSS (``VmHWM``) and its RSS sampled every 0.2 s are recorded.

Prints a markdown table with the rates, the ratios to the parse-only rate and the goals,
and writes ``bench/out/ingest-results.json``.
"""

from __future__ import annotations

import argparse
import http.client
import io
import json
import os
import re
import subprocess
import sys
import tarfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness  # noqa: E402
from corpus import generate  # noqa: E402
from harness import OUT, ROOT, Server  # noqa: E402

NEWSDESK = ROOT / ".venv" / "bin" / "newsdesk"


def write_corpus(folder: Path, count: int) -> list[Path]:
    marker = folder / f".complete-{count}"
    if not marker.exists():
        if folder.exists():
            subprocess.run(["rm", "-rf", str(folder)], check=True)
        for rel, data in generate(count):
            path = folder / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        marker.touch()
    return sorted(folder.rglob("*.md"))


def parse_only(files: list[Path], passes: int = 3) -> float:
    """Best docs/s of ``passes`` passes of read + front-matter split + CSafeLoader, one core."""
    import yaml

    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {harness.SERVER_CORE})
    best = 0.0
    try:
        for _ in range(passes):
            started = time.perf_counter()
            for path in files:
                text = path.read_bytes().decode("utf-8")
                end = text.index("\n---\n", 4)
                yaml.load(text[4:end], Loader=yaml.CSafeLoader)  # noqa: S506 - the safe C loader
            best = max(best, len(files) / (time.perf_counter() - started))
    finally:
        os.sched_setaffinity(0, before)
    return best


def run_ingest(db: Path, corpus: Path, jobs: int, *, pin: bool) -> dict[str, Any]:
    argv = [str(NEWSDESK), "ingest", "--jobs", str(jobs), str(corpus)]
    if pin:
        argv = ["taskset", "-c", str(harness.SERVER_CORE), *argv]
    env = {**os.environ, "NEWSDESK_DATABASE_URL": f"sqlite:///{db}"}
    started = time.perf_counter()
    done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    summary = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr[-500:]
    counts = {
        k: int(v) for v, k in re.findall(r"(\d+) (created|updated|unchanged|rejected)", summary)
    }
    own = re.search(r" in ([\d.]+) s \(", summary)
    return {
        "wall_seconds": elapsed,
        "seconds": float(own.group(1)) if own else elapsed,
        "exit": done.returncode,
        "summary": summary.split(" in ")[0],
        "counts": counts,
    }


def fresh(db: Path) -> Path:
    for suffix in ("", "-wal", "-shm"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    return db


def write_archive(path: Path, count: int) -> None:
    marker = path.with_name(path.name + f".complete-{count}")
    if marker.exists() and path.exists():
        return
    with tarfile.open(path, mode="w:gz", compresslevel=6) as tar:
        for rel, data in generate(count, seed=2):
            info = tarfile.TarInfo(f"upload/{rel}")
            info.size = len(data)
            info.mtime = 1_700_000_000
            tar.addfile(info, io.BytesIO(data))
    marker.touch()


def upload(archive: Path, db: Path, port: int) -> dict[str, Any]:
    """POST the archive to a fresh server; sample its memory while it ingests."""
    env = {"NEWSDESK_DATABASE_URL": f"sqlite:///{db}"}
    migrate = subprocess.run(
        [str(NEWSDESK), "migrate"], cwd=ROOT, env={**os.environ, **env}, capture_output=True
    )
    if migrate.returncode:
        raise RuntimeError(migrate.stderr.decode())
    server = Server(
        "newsdesk-upload",
        [str(harness.PROJECT_PYTHON), "-m", "uvicorn", "--no-access-log", "--host", "127.0.0.1",
         "app.main:create_app", "--factory", "--port", str(port)],
        port,
        "/readyz",
        env={**env, "NEWSDESK_API_KEYS": "bench", "NEWSDESK_MAX_ARCHIVE_MEMBERS": "10000000"},
    )  # fmt: skip
    server.start()
    samples: list[float] = []
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            rss = server.rss_mb()
            if rss is not None:
                samples.append(rss)
            stop.wait(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    idle_rss = server.rss_mb()
    boundary = uuid.uuid4().hex
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="files"; '
        f'filename="{archive.name}"\r\nContent-Type: application/gzip\r\n\r\n'
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    size = archive.stat().st_size
    try:
        sampler.start()
        started = time.perf_counter()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=None)
        conn.putrequest("POST", "/v1/uploads")
        conn.putheader("Authorization", "Bearer bench")
        conn.putheader("Content-Type", f"multipart/form-data; boundary={boundary}")
        conn.putheader("Content-Length", str(len(head) + size + len(tail)))
        conn.endheaders()
        conn.send(head)
        with archive.open("rb") as handle:
            while chunk := handle.read(1 << 20):
                conn.send(chunk)
        conn.send(tail)
        sent = time.perf_counter()
        response = conn.getresponse()
        body = response.read()
        elapsed = time.perf_counter() - started
        status = response.status
        hwm = server.hwm_mb()
    finally:
        stop.set()
        sampler.join()
        server.stop()
    try:
        report = json.loads(body)
        summary = report.get("summary")
    except ValueError:
        summary = body[:300].decode(errors="replace")
    return {
        "archive_mb": size / 1e6,
        "status": status,
        "summary": summary,
        "seconds": elapsed,
        "send_seconds": sent - started,
        "response_mb": len(body) / 1e6,
        "idle_rss_mb": idle_rss,
        "max_sampled_rss_mb": max(samples, default=None),
        "peak_rss_mb": hwm,
    }


def table(r: dict[str, Any]) -> str:
    parse = r["parse_only_docs_s"]
    n = r["docs"]
    rows = [
        "| measure | docs | wall s | own s | docs/s (own) | × parse-only | goal | result |",
        "|---|--:|--:|--:|--:|--:|---|---|",
        f"| CSafeLoader parse-only, 1 core (best of 3) | {n:,} | | {n / parse:.2f} "
        f"| {parse:,.0f} | 1.00 | | |",
    ]
    for key, label, goal in (
        ("jobs1", "`newsdesk ingest --jobs 1` (pinned to 1 core)", 0.8),
        ("jobs2", "`newsdesk ingest --jobs 2`", 1.5),
        ("unchanged", "re-ingest unchanged (`--jobs 2`)", 10.0),
    ):
        run = r[key]
        rate = n / run["seconds"]
        ratio = rate / parse
        ok = ratio >= goal and run["exit"] == 0
        rows.append(
            f"| {label} — {run['summary']} | {n:,} | {run.get('wall_seconds', 0):.2f} "
            f"| {run['seconds']:.2f} | {rate:,.0f} | {ratio:.2f} | ≥ {goal:g}× "
            f"| {'PASS' if ok else 'FAIL'} |"
        )
    up = r.get("upload")
    if up:
        docs = r["upload_docs"]
        ok = up["status"] == 200 and (up["peak_rss_mb"] or 1e9) < 300
        rows.append(
            f"| upload {up['archive_mb']:.0f} MB .tar.gz (HTTP {up['status']}, {up['summary']}); "
            f"server RSS idle {up['idle_rss_mb']:.0f} MB, peak {up['peak_rss_mb']:.0f} MB "
            f"| {docs:,} | {up['seconds']:.1f} | | {docs / up['seconds']:,.0f} "
            f"| {docs / up['seconds'] / parse:.2f} | peak RSS < 300 MB "
            f"| {'PASS' if ok else 'FAIL'} |"
        )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=20_000)
    parser.add_argument("--upload-docs", type=int, default=200_000, help="~100 MB at 200,000")
    parser.add_argument("--skip-upload", action="store_true")
    parser.add_argument("--port", type=int, default=8111)
    parser.add_argument("--workdir", type=Path, default=OUT / "ingest")
    args = parser.parse_args(argv)
    work = args.workdir.resolve()
    work.mkdir(parents=True, exist_ok=True)
    corpus = work / "corpus"
    print(f"writing {args.docs:,} documents to {corpus} ...", file=sys.stderr, flush=True)
    files = write_corpus(corpus, args.docs)
    results: dict[str, Any] = {
        "docs": len(files),
        "load_before": harness.loadavg(),
        "newsdesk_code": harness.code_version(),
    }
    results["bytes_avg"] = sum(f.stat().st_size for f in files) / len(files)
    results["parse_only_docs_s"] = parse_only(files)
    print(f"parse-only: {results['parse_only_docs_s']:,.0f} docs/s", file=sys.stderr, flush=True)
    for key, db, jobs, pin in (
        ("jobs1", fresh(work / "jobs1.db"), 1, True),
        ("jobs2", fresh(work / "jobs2.db"), 2, False),
        ("unchanged", work / "jobs2.db", 2, False),
    ):
        results[key] = run_ingest(db, corpus, jobs, pin=pin)
        run = results[key]
        print(f"{key}: {run['wall_seconds']:.2f}s wall, {run['seconds']:.2f}s own "
              f"({len(files) / run['seconds']:,.0f} docs/s) "
              f"{run['summary']}", file=sys.stderr, flush=True)  # fmt: skip
    if not args.skip_upload:
        archive = work / f"upload-{args.upload_docs}.tar.gz"
        print(f"writing {archive} ...", file=sys.stderr, flush=True)
        write_archive(archive, args.upload_docs)
        print(f"uploading {archive.stat().st_size / 1e6:.0f} MB ...", file=sys.stderr, flush=True)
        results["upload_docs"] = args.upload_docs
        results["upload"] = upload(archive, fresh(work / "upload.db"), args.port)
        print(f"upload: {results['upload']}", file=sys.stderr, flush=True)
    results["load_after"] = harness.loadavg()
    (OUT / "ingest-results.json").write_text(json.dumps(results, indent=1))
    print(
        f"\n## ingestion — {results['docs']:,} documents of {results['bytes_avg']:,.0f} B avg, "
        f"load average {results['load_before']} → {results['load_after']}; "
        f"Newsdesk code: {results['newsdesk_code']}\n"
    )
    print(table(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
