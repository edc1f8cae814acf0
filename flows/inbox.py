"""The inbox edge: list a date's files, read them with limits, unpack archives, hash every input.

Paths are built only from the validated business date and names found by listing the folder; a
file is never followed through a symlink, and archives are unpacked in memory (transforms.archive),
never onto disk.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from transforms.archive import unpack
from transforms.parsed import FileRejected
from transforms.text import MAX_FILE_BYTES


@dataclass(frozen=True)
class InboxInput:
    """One input after unpacking: a plain file, or one member of an archive.

    Attributes:
        source_file: path relative to ``inbox/<date>/`` (``alipay/x.zip!member.csv`` for a member).
        data: the bytes (None when the file or archive could not be read; see ``error``).
        sha256: hex digest of ``data`` (of the raw file when it could not be unpacked).
        duplicate_of: the source_file with the same content read earlier in this run, if any.
        error: why the file or archive could not be read.
    """

    source_file: str
    data: bytes | None
    sha256: str
    duplicate_of: str | None = None
    error: FileRejected | None = None


def inbox_dir(data_dir: Path, business_date: date) -> Path:
    """``<data-dir>/inbox/<YYYY-MM-DD>``, built from a ``date`` object only."""
    return data_dir / "inbox" / business_date.isoformat()


def discover_inputs(folder: Path) -> list[InboxInput]:
    """Read every regular file under ``folder`` (sorted, so the order never depends on the OS).

    Archives (.zip, .gz, recognised by magic bytes) are unpacked into their members. A content hash
    already seen in this run marks the later input as a duplicate delivery (read once).
    """
    found: list[InboxInput] = []
    seen: dict[str, str] = {}
    paths = sorted(p for p in folder.rglob("*") if not p.is_symlink() and p.is_file())
    for path in paths:
        relative = path.relative_to(folder).as_posix()
        if any(part.startswith(".") for part in path.relative_to(folder).parts):
            continue  # editor swap files, .DS_Store and our own temp files are not inputs
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            error = FileRejected("LIMIT_EXCEEDED", f"{size} bytes is over the {MAX_FILE_BYTES} limit")
            found.append(InboxInput(relative, None, "", error=error))
            continue
        raw = path.read_bytes()
        try:
            members = unpack(raw, relative)
        except FileRejected as exc:
            found.append(InboxInput(relative, None, hashlib.sha256(raw).hexdigest(), error=exc))
            continue
        for member in members:
            name = relative if member.name == relative else f"{relative}!{member.name}"
            digest = hashlib.sha256(member.data).hexdigest()
            found.append(InboxInput(name, member.data, digest, duplicate_of=seen.get(digest)))
            seen.setdefault(digest, name)
    return found
