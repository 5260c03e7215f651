"""Documents out of uploaded files and archives, never touching the filesystem."""

import stat
import tarfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

ARCHIVE_SUFFIXES = (".zip", ".tar", ".tar.gz", ".tgz")


class LimitExceeded(Exception):
    """An archive broke a request-wide limit: the whole request is refused (413)."""


@dataclass(frozen=True)
class ArchiveLimits:
    max_document_bytes: int
    max_members: int
    max_total_bytes: int


@dataclass
class Entry:
    """A document's name and bytes, or the reason it could not be read."""

    source: str
    data: bytes | None
    problem: str | None = None


def is_archive(name: str) -> bool:
    return name.lower().endswith(ARCHIVE_SUFFIXES)


def entries(name: str, file: IO[bytes], limits: ArchiveLimits) -> Iterator[Entry]:
    """Every regular member of an archive; links, devices and folders are skipped."""
    lowered = name.lower()
    if lowered.endswith(".zip"):
        yield from _zip_entries(name, file, limits)
    else:
        yield from _tar_entries(name, file, limits)


def _too_large(source: str, limits: ArchiveLimits) -> Entry:
    return Entry(
        source,
        None,
        f"document is over the limit of {limits.max_document_bytes} bytes (max_document_bytes)",
    )


class _Budget:
    def __init__(self, limits: ArchiveLimits) -> None:
        self.limits = limits
        self.members = 0
        self.total = 0

    def member(self) -> None:
        self.members += 1
        if self.members > self.limits.max_members:
            raise LimitExceeded(
                f"archive has more than {self.limits.max_members} members (max_archive_members)"
            )

    def spend(self, size: int) -> None:
        self.total += size
        if self.total > self.limits.max_total_bytes:
            raise LimitExceeded(
                "archive expands beyond the limit of "
                f"{self.limits.max_total_bytes} bytes (max_archive_bytes)"
            )


def _zip_entries(name: str, file: IO[bytes], limits: ArchiveLimits) -> Iterator[Entry]:
    try:
        archive = zipfile.ZipFile(file)
        members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        yield Entry(name, None, f"not a readable zip archive ({exc})")
        return
    budget = _Budget(limits)
    with archive:
        for info in members:
            mode = info.external_attr >> 16
            if info.is_dir() or (mode and not stat.S_ISREG(mode)):
                continue
            budget.member()
            source = f"{name}/{info.filename}"
            if info.file_size > limits.max_document_bytes:
                yield _too_large(source, limits)
                continue
            try:
                with archive.open(info) as member:
                    data = member.read(limits.max_document_bytes + 1)
            except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError) as exc:
                yield Entry(source, None, f"member cannot be read ({exc})")
                continue
            budget.spend(len(data))
            # The declared size can lie; the bytes read cannot.
            if len(data) > limits.max_document_bytes:
                yield _too_large(source, limits)
                continue
            yield Entry(source, data)


def _tar_entries(name: str, file: IO[bytes], limits: ArchiveLimits) -> Iterator[Entry]:
    budget = _Budget(limits)
    try:
        archive = tarfile.open(fileobj=file, mode="r|*")  # noqa: SIM115 - closed below
    except (tarfile.TarError, OSError, EOFError) as exc:
        yield Entry(name, None, f"not a readable tar archive ({exc})")
        return
    try:
        for info in archive:
            if not info.isreg():
                continue
            budget.member()
            source = f"{name}/{info.name}"
            if info.size > limits.max_document_bytes:
                yield _too_large(source, limits)
                continue
            budget.spend(info.size)
            member = archive.extractfile(info)
            data = member.read(limits.max_document_bytes + 1) if member else b""
            yield Entry(source, data)
    except (tarfile.TarError, OSError, EOFError, ValueError) as exc:
        yield Entry(name, None, f"archive is damaged ({exc})")
    finally:
        archive.close()
