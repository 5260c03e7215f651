"""POST /v1/uploads and GET /v1/uploads/{id}: auth, body kinds, per-document results, statuses."""

import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from app.db import Database
from app.main import create_app
from app.models import Article
from tests.conftest import API_KEY, AUTH
from tests.uploads.helpers import (
    absent,
    article,
    by_url,
    doc,
    fresh_url,
    is_problem,
    stored,
    upload,
    upload_raw,
)


def good(title: str = "Good story") -> tuple[str, bytes]:
    """A valid document at a fresh URL, with that URL."""
    url = fresh_url()
    return url, doc(title, url)


def bad() -> tuple[str, bytes]:
    url = fresh_url("bad")
    return url, doc("Bad story", url, quality="high")


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong-key"},
        {"Authorization": f"Basic {API_KEY}"},
        {"Authorization": "Bearer "},
        {"Authorization": API_KEY},
    ],
    ids=["missing", "wrong-key", "basic-scheme", "empty-token", "no-scheme"],
)
def test_upload_requires_a_valid_key(shared, headers):
    client = shared.client()
    url, data = good()
    response = client.post(
        "/v1/uploads", content=data, headers={"Content-Type": "text/markdown", **headers}
    )
    body = is_problem(response, 401)
    assert "API key" in body["detail"]
    assert response.headers["www-authenticate"].startswith("Bearer")
    multipart = client.post("/v1/uploads", files=[("files", ("a.md", data))], headers=headers)
    is_problem(multipart, 401)
    assert absent(client, url)
    is_problem(client.get("/v1/uploads/0123456789abcdef", headers=headers), 401)


def test_multipart_with_many_files(shared):
    client = shared.client()
    urls = [fresh_url(kind) for kind in ("a", "b", "yaml", "json", "toml")]
    bare_yaml = f"title: Bare YAML story\nwebUrl: {urls[2]}\n".encode()
    bare_json = json.dumps({"title": "Bare JSON story", "originalUrl": urls[3]}).encode()
    toml = f'+++\ntitle = "TOML story"\nwebUrl = "{urls[4]}"\n+++\nBody\n'.encode()
    response = upload(
        client,
        ("a.md", doc("First story", urls[0])),
        ("b.md", doc("Second story", urls[1])),
        ("c.yaml", bare_yaml),
        ("d.json", bare_json),
        ("e.md", toml),
    )
    report = stored(response)
    results = report["results"]
    assert [r["source"] for r in results] == ["a.md", "b.md", "c.yaml", "d.json", "e.md"]
    assert [r["status"] for r in results] == ["created"] * 5
    assert report["summary"] == {"created": 5, "updated": 0, "unchanged": 0, "rejected": 0}
    assert [r["webUrl"] for r in results] == urls
    assert all(r["errors"] == [] for r in results)
    assert len({r["id"] for r in results}) == 5
    titles = [article(client, r["id"])["title"] for r in results]
    assert titles == [
        "First story",
        "Second story",
        "Bare YAML story",
        "Bare JSON story",
        "TOML story",
    ]


RAW = {
    "text/markdown": "---\ntitle: Raw story\nwebUrl: {url}\n---\nBody\n",
    "text/markdown; charset=utf-8": "---\ntitle: Raw story\nwebUrl: {url}\n---\nBody\n",
    "text/plain": "---\ntitle: Raw story\nwebUrl: {url}\n---\nBody\n",
    "application/yaml": "title: Raw story\nwebUrl: {url}\n",
    "application/json": '{{"title": "Raw story", "webUrl": "{url}"}}',
}


@pytest.mark.parametrize("content_type", list(RAW), ids=list(RAW))
def test_raw_single_document(shared, content_type):
    client = shared.client()
    url = fresh_url()
    data = RAW[content_type].format(url=url).encode()
    response = upload_raw(client, data, content_type)
    report = stored(response)
    [result] = report["results"]
    assert result["status"] == "created"
    assert result["webUrl"] == url
    assert result["source"].startswith("document.")
    assert response.headers["location"] == f"/v1/uploads/{report['id']}"
    assert article(client, result["id"])["title"] == "Raw story"
    assert client.get(f"/v1/articles/{result['id']}/source").content == data


@pytest.mark.parametrize(
    "content_type",
    [
        "application/xml",
        "application/octet-stream",
        "image/png",
        "application/x-www-form-urlencoded",
        None,
    ],
)
def test_other_content_types_are_unsupported(shared, content_type):
    client = shared.client()
    url, data = good()
    headers = AUTH if content_type is None else {**AUTH, "Content-Type": content_type}
    body = is_problem(client.post("/v1/uploads", content=data, headers=headers), 415)
    assert "multipart/form-data" in body["detail"]
    if content_type is not None:
        assert content_type in body["detail"]
    assert absent(client, url)


def test_multipart_without_files_part(shared):
    client = shared.client()
    url, data = good()
    response = client.post(
        "/v1/uploads", files=[("other", ("a.md", data, "text/markdown"))], headers=AUTH
    )
    body = is_problem(response, 422)
    assert body["errors"][0]["field"] == "files"
    assert absent(client, url)


def test_status_200_when_nothing_rejected(shared):
    response = upload(shared.client(), ("a.md", good()[1]), ("b.md", good()[1]))
    assert response.status_code == 200
    assert response.json()["summary"]["created"] == 2


def test_status_207_when_some_rejected(shared):
    client = shared.client()
    (url_a, doc_a), (bad_url, bad_doc), (url_b, doc_b) = good(), bad(), good()
    response = upload(client, ("a.md", doc_a), ("bad.md", bad_doc), ("b.md", doc_b))
    assert response.status_code == 207, response.text
    report = response.json()
    assert report["summary"] == {"created": 2, "updated": 0, "unchanged": 0, "rejected": 1}
    first, rejected, last = report["results"]
    assert (first["status"], last["status"]) == ("created", "created")
    assert rejected == {
        "source": "bad.md",
        "status": "rejected",
        "id": None,
        "webUrl": None,
        "errors": [{"field": "quality", "message": rejected["errors"][0]["message"]}],
    }
    assert "integer" in rejected["errors"][0]["message"]
    assert absent(client, bad_url)
    assert not absent(client, url_a) and not absent(client, url_b)


def test_status_422_when_all_rejected(shared):
    client = shared.client()
    bad_url, bad_doc = bad()
    untitled = fresh_url("untitled")
    response = upload(client, ("bad.md", bad_doc), ("untitled.md", doc(None, untitled)))
    assert response.status_code == 422, response.text
    report = response.json()
    assert report["summary"]["rejected"] == 2
    errors = [r["errors"] for r in report["results"]]
    assert errors == [
        [{"field": "quality", "message": errors[0][0]["message"]}],
        [{"field": "title", "message": "is required"}],
    ]
    assert absent(client, bad_url, untitled)


def test_every_error_of_a_document_is_reported(shared):
    data = doc(None, "ftp://x.example.com/", quality=300, heat="hot")
    [result] = upload(shared.client(), ("bad.md", data)).json()["results"]
    assert {e["field"] for e in result["errors"]} == {"title", "webUrl", "quality", "heat"}


def test_atomic_upload_with_one_bad_document_stores_nothing(shared):
    client = shared.client()
    (url_a, doc_a), (bad_url, bad_doc), (url_b, doc_b) = good(), bad(), good()
    response = upload(client, ("a.md", doc_a), ("bad.md", bad_doc), ("b.md", doc_b), atomic="true")
    assert response.status_code == 422, response.text
    report = response.json()
    assert [r["status"] for r in report["results"]] == ["rejected"] * 3
    assert report["summary"]["rejected"] == 3
    assert report["results"][1]["errors"][0]["field"] == "quality"
    for result in (report["results"][0], report["results"][2]):
        assert result["id"] is None
        assert "atomic" in result["errors"][0]["message"]
    assert absent(client, url_a, bad_url, url_b)


def test_atomic_upload_stores_nothing_counted(make_client):
    """On a database of its own: the exact count of articles stays 0."""
    client = make_client()
    response = upload(client, ("a.md", good()[1]), ("bad.md", bad()[1]), atomic="true")
    assert response.status_code == 422
    listing = client.get("/v1/articles", params={"count": "true", "includeStubs": "true"})
    assert listing.json()["total"] == 0


def test_atomic_upload_rolls_back_updates_and_stubs(shared):
    client = shared.client()
    url, data = good()
    [original] = stored(upload(client, ("a.md", data)))["results"]
    before = article(client, original["id"])
    linked = fresh_url("linked")
    changed = doc("Changed title", url, related=[{"webUrl": linked}])
    response = upload(client, ("a.md", changed), ("bad.md", bad()[1]), atomic="true")
    assert response.status_code == 422
    assert article(client, original["id"]) == before
    assert absent(client, linked)


def test_atomic_upload_with_an_unreadable_archive_stores_nothing(shared):
    client = shared.client()
    url, data = good()
    response = upload(client, ("a.md", data), ("broken.zip", b"not a zip"), atomic="true")
    assert response.status_code == 422, response.text
    assert [r["status"] for r in response.json()["results"]] == ["rejected", "rejected"]
    assert absent(client, url)


def test_atomic_upload_of_good_documents_stores_all(shared):
    client = shared.client()
    files = [("a.md", good()[1]), ("b.md", good()[1])]
    assert stored(upload(client, *files, atomic="true"))["summary"]["created"] == 2
    assert stored(upload(client, *files, atomic="true"))["summary"]["unchanged"] == 2


@pytest.mark.parametrize("atomic", ["false", "true"])
def test_same_bytes_twice_in_one_upload(shared, atomic):
    client = shared.client()
    url, data = good()
    newer = doc("Newer", url)
    report = stored(upload(client, ("a.md", data), ("b.md", data), ("c.md", newer), atomic=atomic))
    assert [r["status"] for r in report["results"]] == ["created", "unchanged", "updated"]
    assert len({r["id"] for r in report["results"]}) == 1
    assert article(client, report["results"][0]["id"])["title"] == "Newer"


def test_atomic_must_be_a_boolean(shared):
    client = shared.client()
    url, data = good()
    is_problem(upload(client, ("a.md", data), atomic="maybe"), 422)
    assert absent(client, url)


def test_upload_report_is_stored(shared):
    client = shared.client()
    response = upload(client, ("a.md", good()[1]), ("bad.md", bad()[1]))
    assert response.status_code == 207
    report = response.json()
    location = response.headers["location"]
    assert location == f"/v1/uploads/{report['id']}"
    again = client.get(location, headers=AUTH)
    assert again.status_code == 200
    assert again.json() == report
    is_problem(client.get(location), 401)
    is_problem(client.get("/v1/uploads/ffffffffffffffffffffffffffffffff", headers=AUTH), 404)

    rejected = upload(client, ("bad.md", bad()[1]))
    assert rejected.status_code == 422
    report = rejected.json()
    assert client.get(f"/v1/uploads/{report['id']}", headers=AUTH).json() == report


def test_request_over_the_body_limit(shared):
    client = shared.client(max_request_bytes=2000)
    url = fresh_url("big")
    big = doc("Big", url, body="x" * 3000)
    body = is_problem(upload(client, ("big.md", big)), 413)
    assert "2000" in body["detail"]
    assert "max_request_bytes" in body["detail"]
    raw = client.post("/v1/uploads", content=big, headers={**AUTH, "Content-Type": "text/markdown"})
    assert "max_request_bytes" in is_problem(raw, 413)["detail"]
    assert absent(client, url)
    assert stored(upload(client, ("a.md", good()[1])))["summary"]["created"] == 1


def test_streamed_request_over_the_body_limit(shared):
    """No Content-Length: the limit is enforced while reading."""
    client = shared.client(max_request_bytes=2000)
    url = fresh_url("streamed")
    chunks = iter([f"---\ntitle: x\nwebUrl: {url}\n---\n".encode(), b"y" * 3000])
    response = client.post(
        "/v1/uploads", content=chunks, headers={**AUTH, "Content-Type": "text/markdown"}
    )
    assert "max_request_bytes" in is_problem(response, 413)["detail"]
    assert absent(client, url)


def test_document_over_the_document_limit(shared):
    client = shared.client(max_document_bytes=1000)
    url = fresh_url("big")
    big = doc("Big", url, body="x" * 1500)
    response = upload(client, ("big.md", big), ("a.md", good()[1]))
    assert response.status_code == 207
    rejected = response.json()["results"][0]
    assert rejected["status"] == "rejected"
    assert "1000" in rejected["errors"][0]["message"]
    assert "max_document_bytes" in rejected["errors"][0]["message"]
    raw = client.post("/v1/uploads", content=big, headers={**AUTH, "Content-Type": "text/plain"})
    assert raw.status_code == 422
    assert "max_document_bytes" in raw.json()["results"][0]["errors"][0]["message"]
    assert absent(client, url)


def test_stored_documents_are_seen_by_a_new_connection(shared):
    (url_a, doc_a), (url_b, doc_b) = good(), good()
    report = stored(upload(shared.client(), ("a.md", doc_a), ("b.md", doc_b)))
    fresh = Database(shared.settings.database_url)
    try:
        with fresh.read() as session:
            found = select(func.count()).select_from(Article).where(Article.url.in_([url_a, url_b]))
            assert session.scalar(found) == 2
        with TestClient(create_app(shared.settings, fresh)) as other:
            for result in report["results"]:
                assert by_url(other, result["webUrl"])["id"] == result["id"]
    finally:
        fresh.dispose()
