"""Archives in uploads: layouts, links, hostile member names, bombs, damage and limits."""

import functools
import io
import os
import stat
import struct
import tarfile
import tracemalloc
import zipfile
from pathlib import Path
from typing import Any

import pytest

import app.ingest.run
from app.uploads.archives import SMALL_READ, ArchiveLimits, check, entries, read_at_most
from tests.uploads.helpers import (
    absent,
    article,
    doc,
    fresh_url,
    is_problem,
    make_tar,
    make_zip,
    stored,
    upload,
)

MiB = 1024 * 1024


def nested() -> dict[str, bytes]:
    return {
        "2024/a.md": doc("Story A", fresh_url("a")),
        "2024/03/b.md": doc("Story B", fresh_url("b")),
        "c.yaml": f"title: Story C\nwebUrl: {fresh_url('c')}\n".encode(),
    }


def stories(count: int, **fields: Any) -> tuple[dict[str, bytes], list[str]]:
    """`count` valid members at fresh URLs, and those URLs."""
    urls = [fresh_url(f"m{i}") for i in range(count)]
    return {f"{i}.md": doc(f"Story {i}", url, **fields) for i, url in enumerate(urls)}, urls


def archive(name: str, members: dict[str, bytes]) -> bytes:
    if name.lower().endswith(".zip"):
        return make_zip(members)
    mode = "w:gz" if name.lower().endswith(("gz", ".tgz")) else "w"
    return make_tar(members, mode)


@pytest.mark.parametrize(
    "name", ["batch.zip", "batch.tar", "batch.tar.gz", "batch.tgz", "BATCH.ZIP"]
)
def test_archive_with_nested_folders(shared, name):
    client = shared.client()
    members = nested()
    report = stored(upload(client, (name, archive(name, members))))
    assert sorted(r["source"] for r in report["results"]) == sorted(
        f"{name}/{member}" for member in members
    )
    assert {r["status"] for r in report["results"]} == {"created"}
    titles = sorted(article(client, r["id"])["title"] for r in report["results"])
    assert titles == ["Story A", "Story B", "Story C"]


def test_archive_next_to_plain_documents(shared):
    loose = doc("Loose story", fresh_url("loose"))
    report = stored(upload(shared.client(), ("loose.md", loose), ("batch.zip", make_zip(nested()))))
    assert [r["source"] for r in report["results"]][0] == "loose.md"
    assert report["summary"]["created"] == 4


def test_zip_directory_entries_are_skipped(shared):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as made:
        made.writestr(zipfile.ZipInfo("2024/"), b"")
        made.writestr("2024/a.md", doc("A", fresh_url()))
    report = stored(upload(shared.client(), ("batch.zip", buffer.getvalue())))
    assert [r["source"] for r in report["results"]] == ["batch.zip/2024/a.md"]


def test_tar_links_and_devices_are_ignored(shared):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as made:
        folder = tarfile.TarInfo("docs")
        folder.type = tarfile.DIRTYPE
        made.addfile(folder)
        data = doc("A", fresh_url())
        regular = tarfile.TarInfo("docs/a.md")
        regular.size = len(data)
        made.addfile(regular, io.BytesIO(data))
        for name, kind, target in [
            ("docs/passwd.md", tarfile.SYMTYPE, "/etc/passwd"),
            ("docs/hard.md", tarfile.LNKTYPE, "docs/a.md"),
            ("docs/shadow.md", tarfile.LNKTYPE, "/etc/shadow"),
            ("docs/tty.md", tarfile.CHRTYPE, ""),
            ("docs/disk.md", tarfile.BLKTYPE, ""),
            ("docs/pipe.md", tarfile.FIFOTYPE, ""),
        ]:
            link = tarfile.TarInfo(name)
            link.type = kind
            link.linkname = target
            made.addfile(link)
    report = stored(upload(shared.client(), ("links.tar", buffer.getvalue())))
    assert [r["source"] for r in report["results"]] == ["links.tar/docs/a.md"]


def test_zip_symlinks_are_ignored(shared):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as made:
        link = zipfile.ZipInfo("passwd.md")
        link.create_system = 3
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        made.writestr(link, "/etc/passwd")
        made.writestr("a.md", doc("A", fresh_url()))
    report = stored(upload(shared.client(), ("links.zip", buffer.getvalue())))
    assert [r["source"] for r in report["results"]] == ["links.zip/a.md"]


HOSTILE_NAMES = ["../../etc/newsdesk-x.md", "/tmp/newsdesk-abs.md", "a/../../../newsdesk-up.md"]


@pytest.mark.parametrize("name", ["evil.zip", "evil.tar", "evil.tgz"])
def test_path_traversal_names_are_only_labels(shared, name, tmp_path, monkeypatch):
    workdir = tmp_path / "a" / "b" / "c"
    workdir.mkdir(parents=True)
    monkeypatch.chdir(workdir)
    urls = [fresh_url(f"hostile-{i}") for i in range(len(HOSTILE_NAMES))]
    members = {member: doc("Hostile", url) for member, url in zip(HOSTILE_NAMES, urls, strict=True)}
    before = sorted(tmp_path.rglob("*"))
    client = shared.client()
    report = stored(upload(client, (name, archive(name, members))))
    assert [r["source"] for r in report["results"]] == [f"{name}/{m}" for m in HOSTILE_NAMES]
    assert sorted(tmp_path.rglob("*")) == before
    assert not Path("/tmp/newsdesk-abs.md").exists()
    assert not Path("/etc/newsdesk-x.md").exists()
    assert [r["webUrl"] for r in report["results"]] == urls


def test_upload_part_name_with_traversal_is_only_a_label(shared, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    part = ("../../newsdesk-part.md", doc("A", fresh_url()))
    report = stored(upload(shared.client(), part))
    assert report["results"][0]["source"] == "../../newsdesk-part.md"
    assert list(tmp_path.iterdir()) == []


def _tar_named(name: str, tar_format: int, encoding: str) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tar_format, encoding=encoding) as made:
        data = doc("Odd name", fresh_url())
        info = tarfile.TarInfo(name)
        info.size = len(data)
        made.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def test_member_names_that_are_not_text_are_labelled_safely(shared):
    """Non-UTF-8 bytes, and a NUL (possible in PAX names), become U+FFFD in the labels."""
    latin1 = _tar_named("caf\xe9/\xff.md", tarfile.GNU_FORMAT, "latin-1")
    nul = _tar_named("\xe9\x00b.md", tarfile.PAX_FORMAT, "utf-8")  # non-ASCII: a PAX path
    report = stored(upload(shared.client(), ("latin1.tar", latin1), ("nul.tar", nul)))
    sources = [r["source"] for r in report["results"]]
    assert sources == ["latin1.tar/caf\ufffd/\ufffd.md", "nul.tar/\xe9\ufffdb.md"]
    assert [r["status"] for r in report["results"]] == ["created", "created"]


def _lying_zip(declared: int, real: bytes, method: int = zipfile.ZIP_DEFLATED) -> bytes:
    """One member whose headers declare `declared` bytes instead of len(real)."""
    data = bytearray(make_zip({"bomb.md": real}, method))
    # Uncompressed size: offset 22 in the local header, 24 in the central directory entry.
    struct.pack_into("<I", data, 22, declared)
    struct.pack_into("<I", data, data.rfind(b"PK\x01\x02") + 24, declared)
    return bytes(data)


@functools.cache
def _bomb(kind: str) -> bytes:
    """Archives a few KiB long that inflate to 32 MiB; built once for both backends."""
    inflated = doc("Bomb", "https://news.example.com/bomb", body="a" * (32 * MiB))
    if kind == "deflate":
        return _lying_zip(200, inflated)
    if kind == "bzip2":
        return _lying_zip(200, inflated, zipfile.ZIP_BZIP2)
    assert kind == "bzip2-tar"
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:bz2") as made:
        info = tarfile.TarInfo("bomb.md")
        info.size = len(inflated)
        made.addfile(info, io.BytesIO(inflated))
    return buffer.getvalue()


def _peak_during(action):  # type: ignore[no-untyped-def]
    tracemalloc.start()
    try:
        result = action()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return result, peak


@pytest.mark.parametrize(
    ("kind", "name", "message"),
    [
        ("deflate", "bomb.zip", "cannot be read"),
        ("bzip2", "bomb.zip", "compression method 12"),
        ("bzip2-tar", "bomb.tgz", "not a readable tar archive"),
    ],
)
def test_bomb_declaring_a_small_size(shared, kind, name, message):
    bomb = _bomb(kind)
    assert len(bomb) < 64 * 1024
    good = make_zip({"ok.md": doc("OK", fresh_url())})
    client = shared.client()
    response, peak = _peak_during(lambda: upload(client, (name, bomb), ("ok.zip", good)))
    assert response.status_code == 207, response.text
    bad, ok = response.json()["results"]
    assert bad["source"].startswith(name)
    assert bad["status"] == "rejected"
    assert message in bad["errors"][0]["message"]
    assert ok["status"] == "created"
    assert peak < 8 * MiB


def test_bomb_member_with_an_honest_size(shared):
    bomb = _bomb_honest()
    client = shared.client()
    response, peak = _peak_during(lambda: upload(client, ("bomb.zip", bomb)))
    assert response.status_code == 422
    [result] = response.json()["results"]
    assert "max_document_bytes" in result["errors"][0]["message"]
    assert peak < 8 * MiB


@functools.cache
def _bomb_honest() -> bytes:
    return make_zip({"bomb.md": b"a" * (32 * MiB)})


@functools.cache
def _many_members() -> bytes:
    return make_zip({f"m{i:03}.md": b" " * (256 * 1024) for i in range(200)})


def test_many_highly_compressed_members_over_the_document_limit(shared):
    client = shared.client(max_document_bytes=128 * 1024)
    bomb = _many_members()
    assert len(bomb) < 256 * 1024
    response, peak = _peak_during(lambda: upload(client, ("bomb.zip", bomb)))
    assert response.status_code == 422
    results = response.json()["results"]
    assert len(results) == 200
    assert all("max_document_bytes" in r["errors"][0]["message"] for r in results)
    assert peak < 8 * MiB


@pytest.mark.parametrize("name", ["bomb.zip", "bomb.tgz"])
def test_many_members_over_the_archive_byte_limit(shared, name):
    client = shared.client(max_archive_bytes=MiB, max_document_bytes=128 * 1024)
    members, urls = stories(40, body=" " * (100 * 1024))
    bomb = archive(name, members)
    assert len(bomb) < 256 * 1024
    response, peak = _peak_during(lambda: upload(client, (name, bomb)))
    body = is_problem(response, 413)
    assert "max_archive_bytes" in body["detail"]
    assert str(MiB) in body["detail"]
    assert absent(client, *urls)
    # tarfile inflates 10 KiB of gzip at a time: about 10 MiB at worst, whatever the archive.
    assert peak < 24 * MiB


@pytest.mark.parametrize("name", ["huge.zip", "huge.tar"])
def test_members_over_the_document_limit_count_towards_the_archive_limit(shared, name):
    """§4.6 limits the archive's uncompressed size, skipped members included."""
    client = shared.client(max_archive_bytes=MiB, max_document_bytes=1000)
    url = fresh_url()
    members = {"huge.md": b" " * (2 * MiB), "ok.md": doc("OK", url)}
    body = is_problem(upload(client, (name, archive(name, members))), 413)
    assert "max_archive_bytes" in body["detail"]
    assert absent(client, url)


def test_encrypted_zip_member(shared):
    data = bytearray(make_zip({"secret.md": doc("Secret", fresh_url())}, zipfile.ZIP_STORED))
    # General purpose flag bit 0 (encrypted): offset 6 locally, 8 in the central directory.
    data[6] |= 1
    data[data.rfind(b"PK\x01\x02") + 8] |= 1
    response = upload(shared.client(), ("secret.zip", bytes(data)))
    assert response.status_code == 422, response.text
    assert "encrypted" in response.json()["results"][0]["errors"][0]["message"]


@pytest.mark.parametrize("name", ["big.zip", "big.tar", "big.tar.gz"])
def test_member_over_the_document_limit(shared, name):
    client = shared.client(max_document_bytes=2000)
    members = {
        "big.md": doc("Big", fresh_url("big"), body="x" * 3000),
        "ok.md": doc("Small", fresh_url("ok")),
    }
    response = upload(client, (name, archive(name, members)))
    assert response.status_code == 207, response.text
    big, ok = response.json()["results"]
    assert big["source"] == f"{name}/big.md"
    assert big["status"] == "rejected"
    assert "2000" in big["errors"][0]["message"]
    assert "max_document_bytes" in big["errors"][0]["message"]
    assert ok["status"] == "created"


def _truncated(data: bytes) -> bytes:
    return data[: len(data) // 2]


def _flipped(data: bytes) -> bytes:
    """Corrupt the compressed bytes of the first member, keeping the headers intact."""
    damaged = bytearray(data)
    for offset in range(60, 90):
        damaged[offset] ^= 0xFF
    return bytes(damaged)


BIG_MEMBERS = {
    f"{i}.md": doc(f"Story {i}", f"https://news.example.com/{i}", body=os.urandom(3000).hex())
    for i in range(4)
}
DAMAGED = {
    "garbage.zip": (b"this is not an archive at all", "not a readable zip archive"),
    "garbage.tar": (os.urandom(1000), "not a readable tar archive"),
    "garbage.tgz": (b"\x1f\x8b" + os.urandom(500), "not a readable tar archive"),
    "empty.zip": (b"", "not a readable zip archive"),
    "empty.tar.gz": (b"", "not a readable tar archive"),
    "truncated.zip": (_truncated(make_zip(BIG_MEMBERS)), "not a readable zip archive"),
    "truncated.tar": (_truncated(make_tar(BIG_MEMBERS)), "archive is damaged"),
    "truncated.tar.gz": (_truncated(make_tar(BIG_MEMBERS, "w:gz")), "archive is damaged"),
    "corrupt-member.zip": (_flipped(make_zip(BIG_MEMBERS)), "member cannot be read"),
    "corrupt.tgz": (_flipped(make_tar(BIG_MEMBERS, "w:gz")), "not a readable tar archive"),
    "bzip2-named.tar.gz": (make_tar(BIG_MEMBERS, "w:bz2"), "not a gzip file"),
    "gzip-named.tar": (make_tar(BIG_MEMBERS, "w:gz"), "not a readable tar archive"),
}


@pytest.mark.parametrize("name", list(DAMAGED), ids=list(DAMAGED))
def test_damaged_archive_is_rejected_cleanly(shared, name):
    """Whatever was readable before the damage is ingested; the damage is one rejection."""
    client = shared.client()
    data, message = DAMAGED[name]
    response = upload(client, (name, data), ("fine.md", doc("Fine", fresh_url("fine"))))
    assert response.status_code == 207, response.text
    *damaged, fine = response.json()["results"]
    assert fine["status"] == "created"
    [rejected] = [r for r in damaged if r["status"] == "rejected"]
    assert rejected["source"].startswith(name)
    assert message in rejected["errors"][0]["message"]
    assert all(r["source"].startswith(f"{name}/") for r in damaged if r is not rejected)
    assert client.get("/healthz").status_code == 200


@pytest.mark.parametrize("name", ["many.zip", "many.tar", "many.tgz"])
def test_more_members_than_the_limit(shared, name):
    client = shared.client(max_archive_members=3)
    members, urls = stories(4)
    first = fresh_url("first")
    body = is_problem(
        upload(client, ("first.md", doc("First", first)), (name, archive(name, members))), 413
    )
    assert "max_archive_members" in body["detail"]
    assert "3" in body["detail"]
    assert absent(client, first, *urls)
    exact = {name: data for name, data in list(members.items())[:3]}
    assert stored(upload(client, (name, archive(name, exact))))["summary"]["created"] == 3


@pytest.mark.parametrize("name", ["many.zip", "many.tgz"])
def test_archive_limit_refuses_before_storing_anything(shared, monkeypatch, name):
    """A 413 stores nothing, even when earlier parts would fill several batches."""
    monkeypatch.setattr(app.ingest.run, "BATCH_BYTES", 1)
    client = shared.client(max_archive_members=5)
    fine, fine_urls = stories(5)
    many, many_urls = stories(6)
    response = upload(client, ("fine.zip", make_zip(fine)), (name, archive(name, many)))
    is_problem(response, 413)
    assert absent(client, *fine_urls, *many_urls)


def test_many_members_near_the_document_limit_are_ingested_in_bounded_memory(shared, monkeypatch):
    """Highly compressible members under every limit: batches stop at BATCH_BYTES."""
    monkeypatch.setattr(app.ingest.run, "BATCH_BYTES", 256 * 1024)
    client = shared.client(max_document_bytes=64 * 1024)
    members, urls = stories(100, body=" " * (60 * 1024) + "end")
    bomb = make_zip(members)
    assert len(bomb) < 256 * 1024
    response, peak = _peak_during(lambda: upload(client, ("many.zip", bomb)))
    assert stored(response)["summary"]["created"] == 100
    assert peak < 4 * MiB
    assert article(client, response.json()["results"][-1]["id"])["body"].endswith("end")


@functools.cache
def _tar_of(count: int) -> bytes:
    # Random content: a near-empty archive inflates megabytes from each compressed read,
    # which would hide what the member count costs.
    return make_tar({f"{i:05}.md": os.urandom(48).hex().encode() for i in range(count)}, "w:gz")


def test_reading_a_tar_does_not_keep_its_members():
    """TarFile keeps every header it reads, even streaming: memory must not grow with them."""
    limits = ArchiveLimits(max_document_bytes=1024, max_members=10**6, max_total_bytes=1 << 30)

    def peak(count: int) -> int:
        data = _tar_of(count)

        def read() -> int:
            check("many.tgz", io.BytesIO(data), limits)
            return sum(1 for _ in entries("many.tgz", io.BytesIO(data), limits))

        read_count, peak = _peak_during(read)
        assert read_count == count
        return peak

    # Kept headers take some 3 MB more for the larger archive.
    assert peak(8000) - peak(1000) < 512 * 1024


@pytest.mark.parametrize("limit", [10, SMALL_READ - 1, SMALL_READ, SMALL_READ + 5, 200_000])
def test_read_at_most_reads_one_byte_past_the_limit(limit):
    for size in sorted({0, 1, limit - 1, limit, limit + 1, limit + 2, SMALL_READ, SMALL_READ + 1}):
        data = bytes(range(256)) * (size // 256 + 1)
        got = read_at_most(io.BytesIO(data[:size]), limit)
        assert got == data[: min(size, limit + 1)], (limit, size)
