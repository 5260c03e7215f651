"""Documents out of uploaded files and archives, never touching the filesystem."""

import stat
import tarfile
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Literal

ARCHIVE_SUFFIXES = (".zip", ".tar", ".tar.gz", ".tgz")
SMALL_READ = 64 * 1024
# zipfile bounds only deflate's output per read; bzip2 and LZMA members inflate
# without limit in one call, so a few hundred bytes could claim gigabytes.
_ZIP_METHODS = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflated"}
_ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, OSError, ValueError, EOFError, NotImplementedError)
_TAR_ERRORS = (tarfile.TarError, zlib.error, OSError, EOFError, ValueError)


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


def read_at_most(file: IO[bytes], limit: int) -> bytes:
    """Up to `limit` + 1 bytes: one more than allowed tells a document is over the limit.

    A buffered read of n bytes allocates n up front; most documents are a few kilobytes, so
    a small first read keeps a folder of them from costing a megabyte allocation each.
    """
    first = file.read(SMALL_READ)
    if len(first) < SMALL_READ or limit < SMALL_READ:
        return first[: limit + 1]
    return first + file.read(limit + 1 - len(first))


def is_archive(name: str) -> bool:
    return name.lower().endswith(ARCHIVE_SUFFIXES)


def check(name: str, file: IO[bytes], limits: ArchiveLimits) -> None:
    """Raise LimitExceeded if the archive breaks a request-wide limit, keeping no member's bytes.

    Callers run this over every archive before storing any document, so a refused
    request leaves nothing behind.
    """
    members = 0
    total = 0
    # Damage ends the count where `entries` will stop reading too, and it reports it.
    try:
        for size in _member_sizes(name, file):
            members += 1
            if members > limits.max_members:
                raise LimitExceeded(
                    f"archive has more than {limits.max_members} members (max_archive_members)"
                )
            total += size
            if total > limits.max_total_bytes:
                raise LimitExceeded(
                    "archive expands beyond the limit of "
                    f"{limits.max_total_bytes} bytes (max_archive_bytes)"
                )
    except (*_ZIP_ERRORS, *_TAR_ERRORS):
        pass
    finally:
        file.seek(0)


def _member_sizes(name: str, file: IO[bytes]) -> Iterator[int]:
    """Uncompressed sizes of the regular members. A zip member's declared size bounds
    what zipfile will ever inflate from it; a tar member's size is its stored length."""
    if name.lower().endswith(".zip"):
        with zipfile.ZipFile(file) as archive:
            yield from (info.file_size for info in archive.infolist() if _zip_regular(info))
        return
    with _open_tar(name, file) as archive:
        yield from (info.size for info in _tar_members(archive) if info.isreg())


def entries(name: str, file: IO[bytes], limits: ArchiveLimits) -> Iterator[Entry]:
    """Every regular member of an archive; links, devices and folders are skipped."""
    if name.lower().endswith(".zip"):
        yield from _zip_entries(name, file, limits)
    else:
        yield from _tar_entries(name, file, limits)


def label(name: str) -> str:
    """A document's name as stored: PostgreSQL text cannot hold NUL, which names may."""
    return name.replace("\x00", "\ufffd")


def sized(source: str, data: bytes, limits: ArchiveLimits) -> Entry:
    """A document read up to one byte past the limit, or its rejection if it went past."""
    return (
        too_large(source, limits) if len(data) > limits.max_document_bytes else Entry(source, data)
    )


def too_large(source: str, limits: ArchiveLimits) -> Entry:
    return Entry(
        source,
        None,
        f"document is over the limit of {limits.max_document_bytes} bytes (max_document_bytes)",
    )


def _zip_regular(info: zipfile.ZipInfo) -> bool:
    # Only the file-type bits tell a link or device; many writers (Python's
    # zipfile among them) store permission bits with no type at all.
    kind = stat.S_IFMT(info.external_attr >> 16)
    return not info.is_dir() and kind in (0, stat.S_IFREG)


def _zip_entries(name: str, file: IO[bytes], limits: ArchiveLimits) -> Iterator[Entry]:
    try:
        archive = zipfile.ZipFile(file)
        members = archive.infolist()
    except _ZIP_ERRORS as exc:
        yield Entry(name, None, f"not a readable zip archive ({exc})")
        return
    with archive:
        for info in members:
            if not _zip_regular(info):
                continue
            source = f"{name}/{info.filename}"
            if info.compress_type not in _ZIP_METHODS:
                accepted = " and ".join(_ZIP_METHODS.values())
                message = f"member uses compression method {info.compress_type}; only {accepted}"
                yield Entry(source, None, f"{message} members are accepted")
                continue
            if info.flag_bits & 0x1:
                yield Entry(source, None, "member is encrypted")
                continue
            if info.file_size > limits.max_document_bytes:
                yield too_large(source, limits)
                continue
            try:
                with archive.open(info) as member:
                    data = read_at_most(member, limits.max_document_bytes)
            except _ZIP_ERRORS as exc:
                yield Entry(source, None, f"member cannot be read ({exc})")
                continue
            yield Entry(source, data)


def _open_tar(name: str, file: IO[bytes]) -> tarfile.TarFile:
    # The compression follows the name: "r|*" would also inflate bzip2 and xz,
    # whose stream reader has no bound on what one small block expands to.
    mode: Literal["r|", "r|gz"] = "r|" if name.lower().endswith(".tar") else "r|gz"
    # Member names are only labels; bytes that are not UTF-8 must not reach JSON or the database.
    return tarfile.open(fileobj=file, mode=mode, errors="replace")


def _tar_members(archive: tarfile.TarFile) -> Iterator[tarfile.TarInfo]:
    """Members read one at a time, each forgotten once the next is read.

    TarFile keeps every member it has read, even when streaming: an archive of 200,000
    documents would otherwise hold some 120 MB of headers until it is closed.
    """
    while (info := archive.next()) is not None:
        # typeshed leaves `members` out; getmembers() would read the whole archive instead.
        archive.members.clear()  # type: ignore[attr-defined]
        yield info


def _tar_entries(name: str, file: IO[bytes], limits: ArchiveLimits) -> Iterator[Entry]:
    try:
        archive = _open_tar(name, file)
    except _TAR_ERRORS as exc:
        yield Entry(name, None, f"not a readable tar archive ({exc})")
        return
    try:
        for info in _tar_members(archive):
            if not info.isreg():
                continue
            # PAX names may hold NUL.
            source = label(f"{name}/{info.name}")
            if info.size > limits.max_document_bytes:
                yield too_large(source, limits)
                continue
            member = archive.extractfile(info)
            data = read_at_most(member, limits.max_document_bytes) if member else b""
            yield Entry(source, data)
    except _TAR_ERRORS as exc:
        yield Entry(name, None, f"archive is damaged ({exc})")
    finally:
        archive.close()
