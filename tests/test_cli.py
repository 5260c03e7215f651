"""`newsdesk migrate` and `newsdesk ingest`: in-process on the test databases, and as a program."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.cli import main, walk
from app.db import Database
from app.migrate import at_head
from app.models import STUB, Article
from tests.conftest import ROOT, SEEDS
from tests.uploads.helpers import doc, make_zip, total

# The summary ends with the time the command took and its rate (start-up not counted).
SUMMARY = (
    r"{} documents: {} created, {} updated, {} unchanged, {} rejected"
    r" in \d+\.\d\d s \(\d+ documents/s\)"
)
BAD = doc("Bad", "https://news.example.com/bad", quality="high")


@pytest.fixture
def cli_env(database_url, tmp_path, monkeypatch):
    """The CLI reads its settings from the environment (and a .env in the working folder)."""
    for name in list(os.environ):
        if name.startswith("NEWSDESK_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("NEWSDESK_DATABASE_URL", database_url)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return work


@pytest.fixture
def folder(tmp_path) -> Path:
    root = tmp_path / "docs"
    (root / "2024" / "03").mkdir(parents=True)
    (root / "a.md").write_bytes(doc("A", "https://news.example.com/a"))
    (root / "2024" / "b.yaml").write_bytes(b"title: B\nwebUrl: https://news.example.com/b\n")
    (root / "2024" / "03" / "c.json").write_bytes(
        b'{"title": "C", "webUrl": "https://news.example.com/c"}'
    )
    (root / "README.txt").write_text("not a document, skipped")
    return root


def ingest(capsys, *args: str) -> tuple[int, list[str], str]:
    status = main(["ingest", "--jobs", "1", *args])
    out, err = capsys.readouterr()
    return status, out.strip().splitlines(), err


def test_walk_names_documents_in_path_order(folder, tmp_path):
    (folder / "2024" / "03" / "archive.TAR.GZ").write_bytes(b"")
    (folder / "2024-b.md").write_bytes(b"")
    single = tmp_path / "single.md"
    single.write_bytes(b"")
    found = list(walk([folder, single]))
    # Sorted by path components (a folder before a sibling whose name extends it), named
    # from the given folder's own name, suffixes matched case-insensitively.
    assert [name for name, _ in found] == [
        "docs/2024/03/archive.TAR.GZ",
        "docs/2024/03/c.json",
        "docs/2024/b.yaml",
        "docs/2024-b.md",
        "docs/a.md",
        str(single),
    ]
    assert all(Path(path).is_file() for _, path in found)


def test_walk_skips_what_is_not_a_regular_file(folder, tmp_path):
    os.mkfifo(folder / "pipe.md")  # opening it would wait for a writer forever
    (folder / "gone.md").symlink_to(tmp_path / "nowhere.md")
    (folder / "linked.md").symlink_to(folder / "a.md")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "x.md").write_bytes(b"title: X\n")
    (folder / "loop").symlink_to(outside)
    (folder / "loop.md").symlink_to(folder / "loop.md")  # following it fails (ELOOP)
    names = [name for name, _ in walk([folder])]
    assert "docs/pipe.md" not in names and "docs/gone.md" not in names
    assert "docs/loop.md" not in names
    assert "docs/loop/x.md" not in names
    assert "docs/linked.md" in names


def test_migrate(cli_env, capsys, database_url):
    assert main(["migrate"]) == 0
    assert "database schema is at head" in capsys.readouterr().out
    db = Database(database_url)
    try:
        assert at_head(db.engine)
    finally:
        db.dispose()


def test_migrate_closes_its_connections(cli_env):
    """A connection still open at exit is a ResourceWarning (psycopg's) on stderr."""
    completed = subprocess.run(
        [sys.executable, "-W", "always::ResourceWarning", "-m", "app.cli", "migrate"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr
    assert "ResourceWarning" not in completed.stderr


def test_migrate_creates_the_schema(cli_env, capsys, monkeypatch, tmp_path):
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    monkeypatch.setenv("NEWSDESK_DATABASE_URL", url)
    assert main(["migrate"]) == 0
    db = Database(url)
    try:
        assert at_head(db.engine)
        assert main(["migrate"]) == 0
    finally:
        db.dispose()


def test_ingest_folder_then_again_unchanged(cli_env, capsys, folder, client):
    status, out, err = ingest(capsys, str(folder))
    assert status == 0, err
    assert re.fullmatch(SUMMARY.format(3, 3, 0, 0, 0), out[-1])
    assert total(client) == 3
    titles = {i["title"] for i in client.get("/v1/articles").json()["items"]}
    assert titles == {"A", "B", "C"}
    item = client.get("/v1/articles", params={"url": "https://news.example.com/c"}).json()
    assert item["items"][0]["title"] == "C"

    status, out, _ = ingest(capsys, str(folder))
    assert status == 0
    assert re.fullmatch(SUMMARY.format(3, 0, 0, 3, 0), out[-1])


def test_ingest_single_file(cli_env, capsys, folder, client):
    status, out, _ = ingest(capsys, str(folder / "a.md"))
    assert status == 0
    assert re.fullmatch(SUMMARY.format(1, 1, 0, 0, 0), out[-1])
    (folder / "a.md").write_bytes(doc("A, corrected", "https://news.example.com/a"))
    status, out, _ = ingest(capsys, str(folder / "a.md"))
    assert re.fullmatch(SUMMARY.format(1, 0, 1, 0, 0), out[-1])
    assert client.get("/v1/articles").json()["items"][0]["title"] == "A, corrected"


def test_ingest_zip_archive(cli_env, capsys, tmp_path, client):
    archive = tmp_path / "batch.zip"
    archive.write_bytes(
        make_zip({
            "2024/a.md": doc("A", "https://news.example.com/a"),
            "2024/b.md": doc("B", "https://news.example.com/b"),
        })
    )  # fmt: skip
    status, out, err = ingest(capsys, str(archive))
    assert status == 0, err
    assert re.fullmatch(SUMMARY.format(2, 2, 0, 0, 0), out[-1])
    assert total(client) == 2


def test_any_rejection_exits_1(cli_env, capsys, folder, tmp_path, client):
    (folder / "2024" / "bad.md").write_bytes(BAD)
    archive = tmp_path / "more.zip"
    archive.write_bytes(
        make_zip({"x/bad.md": BAD, "x/d.md": doc("D", "https://news.example.com/d")})
    )
    status, out, err = ingest(capsys, str(folder), str(archive))
    assert status == 1
    assert re.fullmatch(SUMMARY.format(6, 4, 0, 0, 2), out[-1])
    assert "rejected docs/2024/bad.md: quality: must be an integer" in err
    assert f"rejected {archive}/x/bad.md: quality:" in err
    assert total(client) == 4


def test_missing_path_and_broken_archive_are_rejections(cli_env, capsys, tmp_path, folder):
    broken = tmp_path / "broken.tgz"
    broken.write_bytes(b"not gzip at all")
    status, out, err = ingest(capsys, str(tmp_path / "missing.md"), str(broken), str(folder))
    assert status == 1
    assert re.fullmatch(SUMMARY.format(5, 3, 0, 0, 2), out[-1])
    assert "missing.md: cannot be read" in err
    assert f"rejected {broken}: not a readable tar archive" in err


def test_document_over_the_size_limit_is_rejected_alone(
    cli_env, capsys, folder, monkeypatch, client
):
    monkeypatch.setenv("NEWSDESK_MAX_DOCUMENT_BYTES", "100")
    (folder / "big.md").write_bytes(doc("Big", "https://news.example.com/big", excerpt="x" * 200))
    status, out, err = ingest(capsys, str(folder))
    assert status == 1
    assert re.fullmatch(SUMMARY.format(4, 3, 0, 0, 1), out[-1])
    assert "rejected docs/big.md: document is over the limit of 100 bytes" in err
    assert total(client) == 3


def test_archive_over_a_limit_is_one_rejection(
    cli_env, capsys, tmp_path, folder, monkeypatch, client
):
    monkeypatch.setenv("NEWSDESK_MAX_ARCHIVE_MEMBERS", "2")
    archive = tmp_path / "many.zip"
    archive.write_bytes(
        make_zip({f"{i}.md": doc(f"M{i}", f"https://news.example.com/m{i}") for i in range(3)})
    )
    status, out, err = ingest(capsys, str(archive), str(folder))
    assert status == 1
    assert re.fullmatch(SUMMARY.format(4, 3, 0, 0, 1), out[-1])
    assert "max_archive_members" in err
    assert total(client) == 3


def test_ingest_with_parser_processes(cli_env, capsys, client):
    status = main(["ingest", "--jobs", "2", str(SEEDS)])
    out, err = capsys.readouterr()
    assert status == 0, err
    assert re.fullmatch(SUMMARY.format(17, 17, 0, 0, 0), out.strip().splitlines()[-1])
    assert total(client) == 16


def test_parser_processes_ignore_modules_in_the_working_folder(cli_env, capsys, client):
    # The fork server starting them runs with the current folder first on its path.
    (cli_env / "yaml.py").write_text("raise ImportError('a stray yaml.py was imported')\n")
    status = main(["ingest", "--jobs", "2", str(SEEDS)])
    out, err = capsys.readouterr()
    assert status == 0, err
    assert re.fullmatch(SUMMARY.format(17, 17, 0, 0, 0), out.strip().splitlines()[-1])


def test_entry_point_as_a_program(tmp_path):
    database = tmp_path / "program.db"
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSDESK_")}
    env["NEWSDESK_DATABASE_URL"] = f"sqlite:///{database}"
    program = Path(sys.executable).parent / "newsdesk"
    completed = subprocess.run(
        [str(program), "ingest", "seeds"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr
    assert re.fullmatch(SUMMARY.format(17, 17, 0, 0, 0), completed.stdout.strip().splitlines()[-1])
    db = Database(f"sqlite:///{database}")
    try:
        with db.read() as session:
            full = select(func.count()).select_from(Article).where(Article.state != STUB)
            assert session.scalar(full) == 17
    finally:
        db.dispose()
