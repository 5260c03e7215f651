"""Many uploaders and readers at once through a real server process over HTTP."""

import re
import threading
from collections import defaultdict
from pathlib import Path

import httpx

from tests.conftest import API_KEY, AUTH
from tests.reliability.corpus import PROVIDERS, TOPICS, document, expected_topics, url
from tests.reliability.server import Server

UPLOADERS = 8
READERS = 16
ROUNDS = 3
BATCH = 20
BASE = 120


def upload(client: httpx.Client, docs: dict[str, bytes]) -> httpx.Response:
    files = [("files", (name, data)) for name, data in docs.items()]
    return client.post("/v1/uploads", files=files, headers=AUTH, timeout=60)


def walk(client: httpx.Client) -> list[str]:
    ids: list[str] = []
    params: dict[str, str | int] = {"sort": "-publishedDateTime", "limit": 9}
    while True:
        response = client.get("/v1/articles", params=params, timeout=30)
        assert response.status_code == 200, response.text
        page = response.json()
        ids += [item["id"] for item in page["items"]]
        if not page["nextCursor"]:
            return ids
        params["cursor"] = page["nextCursor"]


def test_concurrent_uploaders_and_readers(database_url: str, tmp_path: Path) -> None:
    server = Server(database_url, API_KEY, tmp_path / "server.log", workers=2)
    failures: list[str] = []
    stored: dict[int, set[int]] = defaultdict(set)
    lock = threading.Lock()
    try:
        with httpx.Client(base_url=server.url) as client:
            assert upload(client, {f"{n}.md": document(n) for n in range(BASE)}).status_code == 200
            before = set(walk(client))
            assert len(before) == BASE

        def uploader(worker: int) -> None:
            with httpx.Client(base_url=server.url) as client:
                for round_ in range(ROUNDS):
                    version = worker * 100 + round_ + 1
                    # Overlapping ranges: every batch shares URLs, providers and topics
                    # with other workers' batches, and rewrites some existing articles.
                    start = (worker * 7 + round_ * 11) % (BASE + 60)
                    numbers = [(start + i) % (BASE + 60) for i in range(BATCH)]
                    response = upload(client, {f"w{worker}/{n}.md": document(n, version)
                                               for n in numbers})  # fmt: skip
                    if response.status_code != 200:
                        failures.append(f"upload {response.status_code}: {response.text[:300]}")
                        continue
                    for result in response.json()["results"]:
                        n = int(re.search(r"/(\d+)\.md$", result["source"]).group(1))  # type: ignore[union-attr]
                        if result["status"] in ("created", "updated"):
                            with lock:
                                stored[n].add(version)

        def reader() -> None:
            with httpx.Client(base_url=server.url) as client:
                for _ in range(2):
                    ids = walk(client)
                    if len(ids) != len(set(ids)):
                        failures.append("a cursor walk returned an article twice")
                    if not before <= set(ids):
                        failures.append(f"a cursor walk missed {len(before - set(ids))} articles")

        threads = [threading.Thread(target=uploader, args=(w,)) for w in range(UPLOADERS)]
        threads += [threading.Thread(target=reader) for _ in range(READERS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=300)
        assert failures == []

        with httpx.Client(base_url=server.url) as client:
            touched = sorted(set(range(BASE)) | set(stored))
            for n in touched:
                items = client.get("/v1/articles", params={"url": url(n)}).json()["items"]
                assert len(items) == 1, n
                version = int(items[0]["title"].rsplit(" ", 1)[1])
                assert version in stored[n] | ({0} if n < BASE else set()), (n, version)
            # A last sequential round makes "the last content" unambiguous.
            final = {f"final/{n}.md": document(n, 9999) for n in touched}
            assert upload(client, final).status_code == 200
            for n in touched:
                item = client.get("/v1/articles", params={"url": url(n)}).json()["items"][0]
                assert item["title"] == f"Story {n} version 9999"
                assert [t["slug"] for t in item["topics"]] == expected_topics(n, 9999)
                assert [i["url"] for i in item["images"]] == [
                    f"https://img.example.com/{n}/9999.jpg"
                ]
            total = client.get("/v1/articles", params={"count": "true", "limit": 1}).json()
            assert total["total"] == len(touched)
            providers = client.get("/v1/providers", params={"limit": 100}).json()["items"]
            assert sorted(p["domain"] for p in providers) == sorted(
                f"news{i}.example.com" for i in range(PROVIDERS)
            )
            topics = client.get("/v1/topics", params={"limit": 100}).json()["items"]
            assert len(topics) == len({t["slug"] for t in topics}) <= len(TOPICS)
    finally:
        server.stop()
    log = (tmp_path / "server.log").read_text()
    assert API_KEY not in log, "the API key must never be logged"
    assert " 500 " not in log and "Traceback" not in log
