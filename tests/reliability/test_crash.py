"""SIGKILL in the middle of uploads and of `newsdesk ingest`: nothing reported stored is lost,
nothing half-written is visible, and re-running converges."""

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
from sqlalchemy import func, select, text

from app.db import Database
from app.models import Article, ArticleImage, ArticleTopic
from tests.conftest import API_KEY, AUTH
from tests.reliability.corpus import document, expected_topics, url
from tests.reliability.server import ROOT, Server, env_for

CRASHES = 3
BATCH = 40


def batch(start: int) -> list[tuple[str, tuple[str, bytes]]]:
    return [("files", (f"{n}.md", document(n))) for n in range(start, start + BATCH)]


def assert_consistent(database_url: str) -> int:
    """The database opens cleanly and every article is whole; return the article count."""
    # The counts below must come from one snapshot while an ingest may still be committing:
    # the application's engine opens a real transaction for reads on SQLite, and PostgreSQL
    # needs REPEATABLE READ (under READ COMMITTED each statement sees later commits).
    engine = Database(database_url).engine
    try:
        with engine.connect() as conn:
            if engine.dialect.name == "sqlite":
                assert conn.execute(text("PRAGMA integrity_check")).scalar() == "ok"
            else:
                conn.execution_options(isolation_level="REPEATABLE READ")
            articles = conn.execute(select(func.count()).select_from(Article)).scalar_one()
            topic_counts = conn.execute(
                select(ArticleTopic.article_id, func.count()).group_by(ArticleTopic.article_id)
            ).all()
            image_counts = conn.execute(
                select(ArticleImage.article_id, func.count()).group_by(ArticleImage.article_id)
            ).all()
    finally:
        engine.dispose()
    # Every generated document has three topics and one image: all or nothing.
    assert len(topic_counts) == articles and {n for _, n in topic_counts} <= {3}
    assert len(image_counts) == articles and {n for _, n in image_counts} <= {1}
    return int(articles)


def assert_stored(client: httpx.Client, numbers: set[int]) -> None:
    """Every listed document is readable, whole and with its content, by walking all pages."""
    topics: dict[str, list[str]] = {}
    params: dict[str, str | int] = {"limit": 100}
    while True:
        page = client.get("/v1/articles", params=params).json()
        for item in page["items"]:
            topics[item["webUrl"]] = [t["slug"] for t in item["topics"]]
        if not page["nextCursor"]:
            break
        params["cursor"] = page["nextCursor"]
    for n in sorted(numbers):
        assert url(n) in topics, f"document {n} was reported stored but is missing"
        assert topics[url(n)] == expected_topics(n, 0)


def test_kill_server_during_uploads(database_url: str, tmp_path: Path) -> None:
    reported: set[int] = set()
    start = 0
    for crash in range(CRASHES):
        server = Server(database_url, API_KEY, tmp_path / "server.log")
        stop = threading.Event()

        def upload_until_killed(first: int, server: Server, stop: threading.Event) -> None:
            with httpx.Client(base_url=server.url, timeout=60) as client:
                offset = first
                while not stop.is_set():
                    try:
                        response = client.post("/v1/uploads", files=batch(offset), headers=AUTH)
                    except httpx.HTTPError:
                        return
                    assert response.status_code == 200, response.text
                    reported.update(
                        int(r["source"].removesuffix(".md")) for r in response.json()["results"]
                    )
                    offset += BATCH

        worker = threading.Thread(target=upload_until_killed, args=(start, server, stop))
        worker.start()
        time.sleep(1.0 + 0.4 * crash)
        server.kill()
        stop.set()
        worker.join(60)
        assert reported, "no upload completed before the crash"
        start = max(reported) + 1 + BATCH * 10
        assert_consistent(database_url)

    server = Server(database_url, API_KEY, tmp_path / "server.log")
    try:
        with httpx.Client(base_url=server.url, timeout=60) as client:
            assert client.get("/readyz").status_code == 200
            assert_stored(client, reported)
            # Re-sending everything converges: stored documents are unchanged, the rest created.
            every = sorted({n - n % BATCH for n in reported})
            for first in every:
                response = client.post("/v1/uploads", files=batch(first), headers=AUTH)
                assert response.status_code == 200
                statuses = {r["status"] for r in response.json()["results"]}
                assert statuses <= {"unchanged", "created"}
            expected = {n for first in every for n in range(first, first + BATCH)}
            assert_stored(client, expected)
            total = client.get("/v1/articles", params={"count": "true", "limit": 1}).json()
            assert total["total"] == assert_consistent(database_url)
    finally:
        server.stop()


def test_kill_ingest_command(database_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "corpus"
    folder.mkdir()
    count = 3000
    for n in range(count):
        (folder / f"{n:05d}.md").write_bytes(document(n))
    env = env_for(database_url, API_KEY)
    # Small transactions: each kill waits for newly stored documents to show up.
    command = [
        sys.executable,
        "-m",
        "app.cli",
        "ingest",
        "--jobs",
        "2",
        "--commit-every",
        "200",
        str(folder),
    ]
    subprocess.run([sys.executable, "-m", "app.cli", "migrate"], cwd=ROOT, env=env, check=True,
                   capture_output=True)  # fmt: skip
    for crash in range(CRASHES):
        before = assert_consistent(database_url)
        if before == count:
            # A run got through everything before its kill: nothing is left to interrupt.
            break
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL, start_new_session=True)  # fmt: skip
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and assert_consistent(database_url) <= before:
            time.sleep(0.05 + 0.05 * crash)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        stored = assert_consistent(database_url)
        assert stored > before
        # The first kill lands as soon as one transaction is visible: mid-way through.
        assert crash > 0 or stored < count
    finished = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    assert finished.returncode == 0, finished.stderr
    assert f"{count} documents" in finished.stdout
    assert assert_consistent(database_url) == count
