"""Upload reports: stored batch by batch in `upload_results`, sent as JSON written page by page."""

import uuid

import orjson
import pytest
from sqlalchemy import event, func, select

import app.ingest.run
import app.uploads.service
from app.models import Upload, UploadResult
from app.uploads import reports
from tests.conftest import AUTH
from tests.uploads.helpers import doc, fresh_url, is_problem, make_zip, stored, upload


def members(count: int, bad_every: int = 0) -> dict[str, bytes]:
    """Archive members at fresh URLs; with `bad_every`, every such member is rejected."""
    made = {}
    for i in range(count):
        quality = "high" if bad_every and i % bad_every == 0 else 50
        made[f"{i:05}.md"] = doc(f"Story {i}", fresh_url(f"r{i}"), quality=quality)
    return made


def result_rows(shared, upload_id: str) -> int:
    with shared.db.read() as session:
        count = select(func.count()).select_from(UploadResult)
        return session.scalar(count.where(UploadResult.upload_id == upload_id))


def assert_exact_json(response) -> dict:
    """The body is compact JSON with the fields in the documented order, as before streaming."""
    assert response.headers["content-type"] == "application/json"
    report = response.json()
    assert response.content == orjson.dumps(report)
    assert list(report) == ["id", "results", "summary"]
    assert list(report["summary"]) == ["created", "updated", "unchanged", "rejected"]
    for result in report["results"]:
        assert list(result) == ["source", "status", "id", "webUrl", "errors"]
    return report


def test_report_of_an_upload_larger_than_a_group_and_a_page(shared, monkeypatch):
    """1,201 documents: groups of 600 written in batches of at most 500, two pages of at
    most 1,000."""
    monkeypatch.setattr(app.uploads.service, "GROUP", 600)
    assert app.ingest.run.BATCH == 500
    assert reports.PAGE == 1000
    client = shared.client()
    made = members(1201, bad_every=97)
    response = upload(client, ("many.zip", make_zip(made)))
    assert response.status_code == 207, response.text[:500]
    report = assert_exact_json(response)
    sources = [r["source"] for r in report["results"]]
    assert sources == [f"many.zip/{name}" for name in made]
    rejected = [i for i, r in enumerate(report["results"]) if r["status"] == "rejected"]
    assert rejected == list(range(0, 1201, 97))
    assert report["summary"] == {
        "created": 1201 - len(rejected),
        "updated": 0,
        "unchanged": 0,
        "rejected": len(rejected),
    }
    assert result_rows(shared, report["id"]) == 1201
    again = client.get(response.headers["location"], headers=AUTH)
    assert again.status_code == 200
    assert again.content == response.content


@pytest.mark.parametrize("count", [1, 2, 3, 4, 6, 7])
@pytest.mark.parametrize("atomic", ["false", "true"])
def test_pages_join_into_one_report(shared, monkeypatch, count, atomic):
    """Around the edges of a page of 3 results, with batches of one document."""
    monkeypatch.setattr(reports, "PAGE", 3)
    monkeypatch.setattr(app.ingest.run, "BATCH_BYTES", 1)
    client = shared.client()
    made = members(count)
    response = upload(client, ("pages.zip", make_zip(made)), atomic=atomic)
    assert response.status_code == 200, response.text
    report = assert_exact_json(response)
    assert [r["source"] for r in report["results"]] == [f"pages.zip/{name}" for name in made]
    assert [r["status"] for r in report["results"]] == ["created"] * count
    assert result_rows(shared, report["id"]) == count
    again = client.get(response.headers["location"], headers=AUTH)
    assert again.content == response.content


def test_each_group_of_documents_is_written_in_one_transaction(shared, monkeypatch):
    """1,201 documents in groups of 600: the pipeline writes a group of 600 in two batches
    (500 and 100), and commits the group's articles once."""
    monkeypatch.setattr(app.uploads.service, "GROUP", 600)
    engine = shared.db.engine
    commits: list[int] = []

    def wrote(conn, _cursor, statement, *_):
        if statement.lstrip().upper().startswith("INSERT INTO ARTICLES "):
            conn.info["articles"] = conn.info.get("articles", 0) + 1

    def committed(conn):
        if conn.info.pop("articles", 0):
            commits.append(1)

    event.listen(engine, "before_cursor_execute", wrote)
    event.listen(engine, "commit", committed)
    try:
        report = stored(upload(shared.client(), ("groups.zip", make_zip(members(1201)))))
    finally:
        event.remove(engine, "before_cursor_execute", wrote)
        event.remove(engine, "commit", committed)
    assert report["summary"]["created"] == 1201
    assert len(commits) == 3


def test_results_are_stored_as_each_group_is_done(shared, monkeypatch):
    """Before each group is ingested, the results of every earlier group are rows already,
    and the unfinished upload has no report yet."""
    monkeypatch.setattr(app.ingest.run, "BATCH_BYTES", 1)
    seen: list[int] = []
    ingest_batch = app.uploads.service._ingest_entries

    def spy(db, batch, limits, *, atomic):
        with shared.db.read() as session:
            [upload_id] = session.scalars(select(Upload.id).where(Upload.status_code.is_(None)))
            assert reports.find(session=session, upload_id=upload_id) is None
        seen.append(result_rows(shared, upload_id))
        return ingest_batch(db, batch, limits, atomic=atomic)

    monkeypatch.setattr(app.uploads.service, "_ingest_entries", spy)
    client = shared.client()
    report = stored(upload(client, ("batches.zip", make_zip(members(5)))))
    assert seen == [0, 1, 2, 3, 4]
    assert result_rows(shared, report["id"]) == 5


def test_an_unfinished_upload_has_no_report(shared):
    upload_id = uuid.uuid4().hex
    with shared.db.write() as session:
        reports.begin(session=session, upload_id=upload_id, atomic=False)
    client = shared.client()
    is_problem(client.get(f"/v1/uploads/{upload_id}", headers=AUTH), 404)
    summary = {"created": 0, "updated": 0, "unchanged": 0, "rejected": 0}
    with shared.db.write() as session:
        reports.finish(session=session, report=reports.Report(upload_id, 422, summary))
    response = client.get(f"/v1/uploads/{upload_id}", headers=AUTH)
    assert response.status_code == 200
    assert assert_exact_json(response) == {"id": upload_id, "results": [], "summary": summary}


def test_an_upload_without_documents(shared):
    client = shared.client()
    response = upload(client, ("empty.zip", make_zip({})))
    assert response.status_code == 422, response.text
    report = assert_exact_json(response)
    assert report["results"] == []
    assert client.get(response.headers["location"], headers=AUTH).content == response.content


def test_a_refused_upload_leaves_no_upload_row(shared):
    def uploads() -> int:
        with shared.db.read() as session:
            return session.scalar(select(func.count()).select_from(Upload))

    client = shared.client(max_archive_members=2)
    before = uploads()
    for atomic in ("false", "true"):
        is_problem(upload(client, ("many.zip", make_zip(members(3))), atomic=atomic), 413)
    assert uploads() == before


def test_report_reads_are_validated_and_cached(shared, monkeypatch):
    monkeypatch.setattr(reports, "PAGE", 2)
    client = shared.client()
    posted = upload(client, ("cached.zip", make_zip(members(5))))
    location = posted.headers["location"]
    first = client.get(location, headers=AUTH)
    etag = first.headers["etag"]
    assert first.content == posted.content
    # The second answer comes from the response cache, the third is a 304 without a body.
    cached = client.get(location, headers=AUTH)
    assert cached.content == first.content
    assert cached.headers["etag"] == etag
    not_modified = client.get(location, headers={**AUTH, "If-None-Match": etag})
    assert not_modified.status_code == 304
    assert not_modified.content == b""


def test_a_cached_report_names_accept_encoding_in_vary_once(shared):
    """A streamed report is cached whole; small, its hits are sent as they are."""
    client = shared.client()
    posted = upload(client, ("one.zip", make_zip(members(1))))
    for encoding in ("gzip", "gzip", "identity", "identity"):  # a miss, then hits
        response = client.get(posted.headers["location"],
                              headers={**AUTH, "Accept-Encoding": encoding})  # fmt: skip
        assert response.content == posted.content
        assert response.headers["vary"].split(", ").count("Accept-Encoding") == 1


def test_report_is_gzipped_when_accepted(shared):
    client = shared.client()
    posted = upload(client, ("gzip.zip", make_zip(members(40))))
    response = client.get(posted.headers["location"], headers={**AUTH, "Accept-Encoding": "gzip"})
    assert response.headers["content-encoding"] == "gzip"
    assert response.content == posted.content
