"""The inbox edge: list a date's files, hash them, unpack archives, open them for the adapters.

Paths are built only from the validated business date and names found by listing the folder; a
file is never followed through a symlink. A plain file is never read whole: the adapters read it in
chunks through a :class:`FileSource`, and its hash is computed in a streaming pass. Archives are
unpacked in memory within the limits of ``transforms.archive``.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from transforms.archive import is_archive, unpack
from transforms.parsed import BytesSource, FileRejected, Source
from transforms.text import MAX_FILE_BYTES

_HASH_BLOCK = 8 * 1024 * 1024


class FileSource:
    """A :class:`transforms.parsed.Source` over a file on disk, read with ``pread`` (no whole-file read)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._size = path.stat().st_size

    @property
    def size(self) -> int:
        """The file's length in bytes."""
        return self._size

    def read(self, start: int, end: int) -> bytes:
        """The bytes ``[start, end)``."""
        fd = os.open(self.path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        try:
            parts = []
            position = start
            while position < end:
                block = os.pread(fd, min(end - position, 64 * 1024 * 1024), position)
                if not block:
                    break
                parts.append(block)
                position += len(block)
            return b"".join(parts)
        finally:
            os.close(fd)


@dataclass(frozen=True)
class InboxInput:
    """One input after unpacking: a plain file, or one member of an archive.

    Attributes:
        source_file: path relative to ``inbox/<date>/`` (``alipay/x.zip!member.csv`` for a member).
        path: the plain file on disk (None for an archive member).
        data: an archive member's bytes (None for a plain file, or when unreadable).
        sha256: hex digest of the content (of the raw file when it could not be unpacked).
        duplicate_of: the source_file with the same content read earlier in this run, if any.
        error: why the file or archive could not be read.
    """

    source_file: str
    path: Path | None
    data: bytes | bytearray | None
    sha256: str
    duplicate_of: str | None = None
    error: FileRejected | None = None

    def source(self) -> Source:
        """The content, for an adapter."""
        if self.path is not None:
            return FileSource(self.path)
        return BytesSource(self.data or b"")


def inbox_dir(data_dir: Path, business_date: date) -> Path:
    """``<data-dir>/inbox/<YYYY-MM-DD>``, built from a ``date`` object only."""
    return data_dir / "inbox" / business_date.isoformat()


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file, read in 8 MiB blocks (memory does not grow with the file)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(_HASH_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def discover_inputs(folder: Path, max_file_bytes: int = MAX_FILE_BYTES) -> list[InboxInput]:
    """Every regular file under ``folder`` (sorted, so the order never depends on the OS).

    Archives (.zip, .gz, recognised by magic bytes) are unpacked into their members. A content hash
    already seen in this run marks the later input as a duplicate delivery (read once). A file over
    ``max_file_bytes`` is rejected unread.
    """
    found: list[InboxInput] = []
    seen: dict[str, str] = {}
    paths = sorted(p for p in folder.rglob("*") if not p.is_symlink() and p.is_file())
    for path in paths:
        relative = path.relative_to(folder).as_posix()
        if any(part.startswith(".") for part in path.relative_to(folder).parts):
            continue  # editor swap files, .DS_Store and our own temp files are not inputs
        size = path.stat().st_size
        with open(path, "rb") as handle:
            head = handle.read(8)
        if size > max_file_bytes:  # not read, not hashed: only its lines are counted, for the accounting
            error = FileRejected("LIMIT_EXCEEDED", f"{size} bytes is over the {max_file_bytes} byte limit")
            found.append(InboxInput(relative, None if is_archive(head) else path, None, "", error=error))
            continue
        if not is_archive(head):
            digest = file_sha256(path)
            found.append(InboxInput(relative, path, None, digest, duplicate_of=seen.get(digest)))
            seen.setdefault(digest, relative)
            continue
        if size > MAX_FILE_BYTES:  # an archive is unpacked in memory: the archive limits apply
            error = FileRejected("LIMIT_EXCEEDED", f"archive of {size} bytes is over the {MAX_FILE_BYTES} limit")
            found.append(InboxInput(relative, None, None, file_sha256(path), error=error))
            continue
        raw = path.read_bytes()
        try:
            members = unpack(raw, relative)
        except FileRejected as exc:
            found.append(InboxInput(relative, None, None, hashlib.sha256(raw).hexdigest(), error=exc))
            continue
        del raw
        for member in members:
            name = relative if member.name == relative else f"{relative}!{member.name}"
            digest = hashlib.sha256(member.data).hexdigest()
            found.append(InboxInput(name, None, member.data, digest, duplicate_of=seen.get(digest)))
            seen.setdefault(digest, name)
    return found
