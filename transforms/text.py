"""Bytes to physical lines, strictly: one BOM stripped, no replacement characters, ever.

``source_line`` everywhere is the 1-based physical line of the decoded file as a text editor shows
it, so line splitting lives here once.
"""

from __future__ import annotations

import re

from transforms.parsed import FileRejected

#: Hard limits (BAD_INPUTS I13): a statement bigger than this is refused before decoding.
MAX_FILE_BYTES = 512 * 1024 * 1024
MAX_LINE_CHARS = 64 * 1024

_PRIVATE_USE = re.compile("[\ue000-\uf8ff]")
#: Characters that change how text is shown without being seen (bidi marks, overrides, isolates,
#: line and paragraph separators): the same set as ``transforms.adapters.template.BAD_CHARACTER``.
_INVISIBLE_LAYOUT = re.compile("[\u200e\u200f\u2028-\u202e\u2066-\u2069]")
_BAD_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def decode_text(data: bytes, encoding: str) -> str:
    """Decode a whole file strictly, stripping exactly one leading UTF-8 BOM.

    Args:
        data: the file's bytes (after unpacking).
        encoding: ``utf-8`` or ``gb18030`` (use gb18030 for files documented as GBK: it is a strict
            superset, see STACK_NOTES §4).

    Raises:
        FileRejected: ``LIMIT_EXCEEDED`` for an oversized file, ``DECODE_ERROR`` naming the line of
            the first undecodable byte, ``EMPTY_FILE`` for zero bytes.
    """
    if len(data) == 0:
        raise FileRejected("EMPTY_FILE", "the file is empty (0 bytes)")
    if len(data) > MAX_FILE_BYTES:
        raise FileRejected("LIMIT_EXCEEDED", f"{len(data)} bytes is over the {MAX_FILE_BYTES} limit")
    if encoding.replace("-", "").lower() == "utf8" and data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode(encoding, errors="strict")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise FileRejected(
            "DECODE_ERROR",
            f"not valid {encoding} at byte {exc.start} (line {line}): {exc.reason}",
            line=line,
        ) from None
    return text


def split_lines(text: str) -> list[str]:
    r"""Split decoded text into physical lines on ``\\r\\n`` or ``\\n`` (a lone ``\\r`` stays in its line).

    A final line ending does not create an extra empty line; a file without a final newline keeps its
    last line. The result's index + 1 is the physical line number.
    """
    lines = text.split("\n")
    last = lines.pop()  # the text after the final LF: not terminated, so its CR (if any) is a lone CR
    stripped = [line[:-1] if line.endswith("\r") else line for line in lines]
    return [*stripped, last] if last else stripped


def bad_characters(value: str) -> str | None:
    """Describe a control, private-use or invisible layout character in ``value`` (BAD_INPUTS F25, §2.3), else None."""
    found = _BAD_CONTROL.search(value)
    if found:
        return f"control character {found.group()!r} at position {found.start()}"
    if "\r" in value:
        return "carriage return inside a field"
    if "\ufeff" in value:
        return "byte order mark inside a line"
    found = _PRIVATE_USE.search(value)
    if found:
        return f"private-use character {found.group()!r} (wrong encoding?)"
    found = _INVISIBLE_LAYOUT.search(value)
    if found:
        return f"invisible layout character U+{ord(found.group()):04X} (bidirectional mark or separator)"
    return None
