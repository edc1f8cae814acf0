"""Unpack a delivered file in memory, safely: zip and gzip in, plain members out (BAD_INPUTS §2.2).

Nothing is ever written to disk. Every limit is checked on the archive's *declared* sizes before a
single byte is decompressed, then again on the bytes actually produced while streaming, so neither a
ratio bomb nor a header that lies about its sizes can exhaust memory. Anything unsafe or unreadable
raises ``FileRejected`` with a BAD_INPUTS §3.1 reason code; the caller turns it into a rejected file.

The archive type is recognised by its magic bytes, never by its name.
"""

from __future__ import annotations

import gzip
import io
import stat
import struct
import zipfile
import zlib
from dataclasses import dataclass
from typing import cast

from transforms.parsed import FileRejected

#: At most this many members in one zip (BAD_INPUTS §2.2 step 1).
MAX_MEMBERS = 10
#: Largest member, declared or actually decompressed.
MAX_MEMBER_BYTES = 512 * 1024 * 1024
#: Largest sum of all members of one archive, declared or actually decompressed.
MAX_TOTAL_BYTES = 1024 * 1024 * 1024
#: Largest uncompressed / compressed size ratio of a member (a CSV compresses about 3-10 : 1).
MAX_RATIO = 200

#: What a member may be (by its name's suffix): statements, ledgers, bank files. Anything else
#: (``.exe``, ``.xlsm``, ``readme.txt`` is fine) rejects the archive unread: never opened.
MEMBER_SUFFIXES = ("csv", "txt", "xml", "parquet")
#: Member names of archives inside the archive (also found by magic bytes when renamed).
ARCHIVE_SUFFIXES = ("zip", "gz", "tgz", "tar", "7z", "rar", "bz2", "xz")

ZIP_MAGIC = b"PK\x03\x04"
EMPTY_ZIP_MAGIC = b"PK\x05\x06"
GZIP_MAGIC = b"\x1f\x8b"
_ARCHIVE_MAGICS = (ZIP_MAGIC, EMPTY_ZIP_MAGIC, GZIP_MAGIC)

_CHUNK = 64 * 1024
_FLAG_ENCRYPTED = 0x1
_FLAG_STRONG_ENCRYPTION = 0x40
_FLAG_UTF8 = 0x800
_LOCAL_HEADER = struct.Struct("<4s2B4HL2L2H")  # zipfile.structFileHeader, 30 bytes
_BAD_NAME_PARTS = ("/", "\\", "..", ":", "\x00")


@dataclass(frozen=True)
class Member:
    """One file taken out of a delivery.

    Attributes:
        name: the member's name inside the archive (decoded), or the delivery's own name when the
            delivery was not an archive. The caller builds ``archive.zip!member`` from it.
        data: the member's bytes, exactly as stored (not decoded).
    """

    name: str
    data: bytes | bytearray


def is_archive(data: bytes) -> bool:
    """True when ``data`` starts with zip or gzip magic bytes."""
    return data.startswith(_ARCHIVE_MAGICS)


def unpack(
    data: bytes,
    name: str,
    *,
    max_members: int = MAX_MEMBERS,
    max_member_bytes: int = MAX_MEMBER_BYTES,
    max_total_bytes: int = MAX_TOTAL_BYTES,
    max_ratio: float = MAX_RATIO,
) -> list[Member]:
    """Return the files inside a delivery: a zip's members, a gzip's content, or the file itself.

    Args:
        data: the delivered bytes.
        name: the delivered file's name (used only to name a gzip's content and a plain file).
        max_members: member count limit for a zip.
        max_member_bytes: size limit of one member (declared and actual).
        max_total_bytes: size limit of all members together (declared and actual).
        max_ratio: limit of uncompressed size / compressed size per member.

    Returns:
        The members in archive order. A delivery that is not an archive is one member named ``name``.

    Raises:
        FileRejected: ``ARCHIVE_BAD_NAME``, ``ARCHIVE_DUP_MEMBER``, ``ARCHIVE_SYMLINK``,
            ``ARCHIVE_ENCRYPTED``, ``ARCHIVE_TOO_MANY_MEMBERS``, ``ARCHIVE_TOO_LARGE``,
            ``NESTED_ARCHIVE``, ``ARCHIVE_EMPTY`` or ``ARCHIVE_CORRUPT``.
    """
    limits = _Limits(max_members, max_member_bytes, max_total_bytes, max_ratio)
    if data.startswith((ZIP_MAGIC, EMPTY_ZIP_MAGIC)):
        return _unpack_zip(data, name, limits)
    if data.startswith(GZIP_MAGIC):
        return [_unpack_gzip(data, name, limits)]
    return [Member(name=name, data=data)]


@dataclass(frozen=True)
class _Limits:
    members: int
    member_bytes: int
    total_bytes: int
    ratio: float


def _unpack_zip(data: bytes, archive_name: str, limits: _Limits) -> list[Member]:
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError) as exc:
        raise FileRejected("ARCHIVE_CORRUPT", f"{archive_name}: not a readable zip ({exc})") from None
    with zf:
        every = zf.infolist()
        if any(info.filename == "[Content_Types].xml" for info in every):
            raise FileRejected(
                "UNKNOWN_FORMAT",
                f"{archive_name}: an Office document (xlsx, docx), not a statement: export it as CSV",
            )
        infos = [info for info in every if not (info.is_dir() or info.filename.endswith(("/", "\\")))]
        if not infos:  # directory entries hold no data: a zip of folders only holds nothing
            raise FileRejected("ARCHIVE_EMPTY", f"{archive_name}: the zip holds no file")
        if len(infos) > limits.members:
            raise FileRejected(
                "ARCHIVE_TOO_MANY_MEMBERS",
                f"{archive_name}: {len(infos)} members, at most {limits.members} allowed",
            )
        names = [_check_member(info, archive_name, limits) for info in infos]
        _check_duplicates(names, archive_name)
        declared_total = sum(info.file_size for info in infos)
        if declared_total > limits.total_bytes:
            raise FileRejected(
                "ARCHIVE_TOO_LARGE",
                f"{archive_name}: members declare {declared_total} bytes in all, "
                f"over the {limits.total_bytes} limit",
            )
        _check_no_overlap(data, infos, getattr(zf, "start_dir", len(data)), archive_name)
        members = []
        total = 0
        for info, member_name in zip(infos, names, strict=True):
            content = _read_member(zf, info, f"{archive_name}!{member_name}", limits, total)
            total += len(content)
            members.append(Member(name=member_name, data=content))
    return members


def _member_name(info: zipfile.ZipInfo, archive_name: str) -> str:
    """Decode a member name: UTF-8 when flag bit 11 is set, else GBK (read as GB18030)."""
    if info.flag_bits & _FLAG_UTF8:
        return info.orig_filename
    # Without the flag, zipfile decoded the raw bytes as cp437, which maps every byte one to one:
    # encoding back gives the original bytes. orig_filename still holds any NUL that filename cut.
    raw = info.orig_filename.encode("cp437")
    try:
        return raw.decode("gb18030")
    except UnicodeDecodeError:
        raise FileRejected(
            "ARCHIVE_BAD_NAME", f"{archive_name}: member name {raw!r} is neither UTF-8 flagged nor GBK"
        ) from None


def _check_member(info: zipfile.ZipInfo, archive_name: str, limits: _Limits) -> str:
    name = _member_name(info, archive_name)
    where = f"{archive_name}: member {name!r}"
    if (
        not name
        or name.startswith(".")
        or any(part in name for part in _BAD_NAME_PARTS)
        or any(ord(char) < 0x20 for char in name)
    ):
        raise FileRejected(
            "ARCHIVE_BAD_NAME",
            f"{where}: a member name must be a plain file name (no path, '..', ':', NUL or leading dot)",
        )
    suffix = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if suffix in ARCHIVE_SUFFIXES:
        raise FileRejected("NESTED_ARCHIVE", f"{where} is itself an archive")
    if suffix not in MEMBER_SUFFIXES:
        raise FileRejected(
            "UNEXPECTED_MEMBER",
            f"{where}: only {', '.join('.' + s for s in MEMBER_SUFFIXES)} files are taken out of an archive",
        )
    if stat.S_ISLNK(info.external_attr >> 16):
        raise FileRejected("ARCHIVE_SYMLINK", f"{where} is a symbolic link")
    if info.flag_bits & (_FLAG_ENCRYPTED | _FLAG_STRONG_ENCRYPTION):
        raise FileRejected("ARCHIVE_ENCRYPTED", f"{where} is encrypted")
    if info.file_size > limits.member_bytes:
        raise FileRejected(
            "ARCHIVE_TOO_LARGE",
            f"{where} declares {info.file_size} bytes, over the {limits.member_bytes} limit",
        )
    if info.file_size > limits.ratio * max(info.compress_size, 1):
        raise FileRejected(
            "ARCHIVE_TOO_LARGE",
            f"{where} declares {info.file_size} bytes from {info.compress_size} compressed, "
            f"a ratio over {limits.ratio:g}",
        )
    return name


def _check_duplicates(names: list[str], archive_name: str) -> None:
    seen: set[str] = set()
    for name in names:
        key = name.casefold()  # two names differing only in case collide on Windows and macOS
        if key in seen:
            raise FileRejected(
                "ARCHIVE_DUP_MEMBER", f"{archive_name}: member name {name!r} appears more than once"
            )
        seen.add(key)


def _check_no_overlap(data: bytes, infos: list[zipfile.ZipInfo], start_dir: int, archive_name: str) -> None:
    """Each entry's local header and data must end before the next entry (or the directory) begins.

    Python 3.11.7 lacks the CVE-2024-0450 check for overlapping ("quoted-overlap") entries.
    """
    ordered = sorted(infos, key=lambda info: info.header_offset)
    for position, info in enumerate(ordered):
        start = info.header_offset
        header = data[start : start + _LOCAL_HEADER.size]
        if len(header) < _LOCAL_HEADER.size or not header.startswith(ZIP_MAGIC):
            raise FileRejected(
                "ARCHIVE_CORRUPT", f"{archive_name}: no local header for member at offset {start}"
            )
        fields = _LOCAL_HEADER.unpack(header)
        name_length, extra_length = fields[10], fields[11]
        end = start + _LOCAL_HEADER.size + name_length + extra_length + info.compress_size
        limit = ordered[position + 1].header_offset if position + 1 < len(ordered) else start_dir
        if end > limit:
            raise FileRejected(
                "ARCHIVE_CORRUPT",
                f"{archive_name}: member at offset {start} overlaps the next entry (ends at {end}, "
                f"next begins at {limit})",
            )


def _read_member(
    zf: zipfile.ZipFile, info: zipfile.ZipInfo, where: str, limits: _Limits, total_before: int
) -> bytearray:
    cap = min(limits.member_bytes, info.file_size)
    # The declared size is checked against the limits already: the member is decompressed straight
    # into one buffer of that size, so it is never held twice (no list of chunks joined at the end).
    buffer = bytearray(cap)
    view = memoryview(buffer)
    size = 0
    try:
        with zf.open(info) as stream:
            while size < cap and (read := cast(io.BufferedIOBase, stream).readinto(view[size : size + _CHUNK])):
                if size == 0:
                    _check_not_nested(bytes(view[:read]), where)
                size += read
            if stream.read(1):  # more than declared: a header that lies about its size
                raise FileRejected(
                    "ARCHIVE_TOO_LARGE",
                    f"{where}: decompressed more than {cap} bytes (its declared size or the limit)",
                )
    except (zipfile.BadZipFile, OSError, EOFError, zlib.error, NotImplementedError, ValueError) as exc:
        raise FileRejected("ARCHIVE_CORRUPT", f"{where}: {exc}") from None
    if total_before + size > limits.total_bytes:
        raise FileRejected(
            "ARCHIVE_TOO_LARGE", f"{where}: decompressed more than {limits.total_bytes - total_before} bytes in all"
        )
    view.release()
    if size < cap:
        del buffer[size:]
    return buffer


def _unpack_gzip(data: bytes, name: str, limits: _Limits) -> Member:
    member_name = name[:-3] if name.lower().endswith(".gz") else name
    where = f"{name}!{member_name}"
    if len(data) >= 18:
        # ISIZE, the last 4 bytes: the declared size modulo 2**32 (checked before decompressing;
        # the streaming counter below catches a trailer that lies).
        declared = int.from_bytes(data[-4:], "little")
        if declared > limits.member_bytes or declared > limits.ratio * len(data):
            raise FileRejected(
                "ARCHIVE_TOO_LARGE",
                f"{where} declares {declared} bytes from {len(data)} compressed, over the limits",
            )
    cap = min(limits.member_bytes, limits.total_bytes, int(limits.ratio * len(data)))
    chunks: list[bytes] = []
    size = 0
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as stream:
            while chunk := stream.read(_CHUNK):
                if size == 0:
                    _check_not_nested(chunk, where)
                size += len(chunk)
                if size > cap:
                    raise FileRejected("ARCHIVE_TOO_LARGE", f"{where}: decompressed more than {cap} bytes")
                chunks.append(chunk)
    except (gzip.BadGzipFile, OSError, EOFError, zlib.error) as exc:
        raise FileRejected("ARCHIVE_CORRUPT", f"{where}: {exc}") from None
    return Member(name=member_name, data=b"".join(chunks))


def _check_not_nested(first_chunk: bytes, where: str) -> None:
    if is_archive(first_chunk):
        raise FileRejected("NESTED_ARCHIVE", f"{where} is itself an archive (zip or gzip magic bytes)")
