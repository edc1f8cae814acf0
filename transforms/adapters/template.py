"""The columnar adapter template: the recipe every statement adapter follows, and its shared tools.

A new channel copies the shape of ``wechatpay.py`` (one CSV-like detail block with a summary) or
``alipay.py`` (GBK, a ``#`` preamble and footer) and supplies its own tables; everything below is the
same for all of them. Nothing here touches the filesystem, the clock or the environment.

The recipe:

1. **Find the structure with cheap scans.** The header (and preamble) are the first lines
   (:func:`head_lines`); the detail block ends at the first line that opens the summary or footer,
   found while the block streams past (:class:`DetailBlock`), never by a second pass over the file.
2. **Read the detail block in chunks** of ``limits.chunk_bytes`` cut at line ends, each knowing its
   first physical line number, so memory follows the configuration and not the size of the file. A
   GBK file is decoded once per chunk and handed on as UTF-8 (:func:`utf8_chunk`).
3. **One columnar reader call per chunk.** :func:`read_fields` is one Polars ``read_csv`` with every
   column as text and no quote character, which gives exactly one row per physical line (blank lines
   included), so ``source_line`` = the chunk's first line + the row index, whatever the BOM, CRLF or
   preamble.
4. **Checks and conversion are expressions over whole columns.** Each adapter builds a boolean
   ``ok`` per line from its structural rules, validates the good lines' text with its raw Pandera
   model (:func:`check_raw`), converts text to canonical columns with expressions
   (:func:`transforms.money.amount_units_expr`, :func:`local_time_expr`), and validates the result
   with the canonical model (:func:`check_canonical`).
   A statement column naming the buyer (account, card, device) goes to ``ChannelTxn.buyer_id`` as
   written (null when empty or absent), and its column name into ``transforms.privacy.PERSONAL_COLUMNS``:
   it stays in the work folder, the risk stage keeps only its keyed hash.
5. **Only the few bad lines take a per-line path**, which names each problem exactly as a person
   needs it: file, line, column, value, reason code and reason (:class:`Problems`). Past
   ``limits.max_problem_lines`` bad lines the file is rejected (a format change, not bad rows).
6. **Control totals are column sums** (:class:`ControlSums`) over every data line whose amount can
   be read; one unreadable amount makes that total "not verifiable" (DESIGN §9), never a guess.
7. **Rows leave chunk by chunk** through the context's sink (:class:`Output`); the adapter returns a
   ``ParsedFile`` with the quarantine, the controls and the line accounting.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property
from typing import overload

import pandera.polars as pa
import polars as pl

from schemas.canonical import empty_frame
from transforms.money import AmountError, parse_decimal_text
from transforms.parsed import (
    QUARANTINE_SCHEMA,
    REJECTED_SCHEMA,
    CollectingSink,
    ControlTotal,
    FileRejected,
    LineCounts,
    ParseContext,
    ParsedFile,
    RowSink,
    Source,
    empty_quarantine,
    empty_rejected,
    quarantine_frame,
)
from transforms.validate import split_valid

BOM = b"\xef\xbb\xbf"
#: A character no statement field may hold (BAD_INPUTS F25, §2.3): C0 controls but TAB, DEL, a lone
#: CR, a byte order mark inside a line, private-use characters (the mark of a wrong encoding), and
#: the characters that change how text is shown without being seen: bidirectional marks, embeddings,
#: overrides and isolates (a reversed amount or id on screen), line and paragraph separators.
#: Ids are stricter still: printable ASCII only (``schemas.identifiers``).
BAD_CHARACTER = (
    r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\r\x{feff}\x{e000}-\x{f8ff}"
    r"\x{200e}\x{200f}\x{2028}-\x{202e}\x{2066}-\x{2069}]"
)
_HEAD_BYTES = 64 * 1024


# -- 1. structure ----------------------------------------------------------------------------------


def head_lines(source: Source, count: int) -> tuple[list[bytes], int]:
    """The first ``count`` physical lines (without their line ends) and the offset just after them.

    Fewer lines come back when the file has fewer. A line longer than the 64 KiB looked at is
    returned cut there (a header that long is no header).
    """
    head = source.read(0, min(source.size, _HEAD_BYTES))
    lines: list[bytes] = []
    offset = 0
    while len(lines) < count and offset < len(head):
        end = head.find(b"\n", offset)
        if end == -1:
            lines.append(head[offset:].removesuffix(b"\r"))
            offset = len(head)
            break
        lines.append(head[offset:end].removesuffix(b"\r"))
        offset = end + 1
    return lines, offset


@dataclass(frozen=True)
class Chunk:
    """Whole physical lines of the detail block: ``data`` ends with a line end (but maybe the file's last)."""

    data: bytes
    first_line: int

    @cached_property
    def line_count(self) -> int:
        """Physical lines in ``data`` (counted once)."""
        if not self.data:
            return 0
        return self.data.count(b"\n") + (0 if self.data.endswith(b"\n") else 1)

    @cached_property
    def lone_cr(self) -> bool:
        """True when ``data`` holds a CR that does not end a line (counted once)."""
        return has_lone_cr(self.data)


class DetailBlock:
    """The detail lines from ``start`` to the first line that opens the footer, read in chunks.

    Iterate over :meth:`chunks` once; afterwards ``footer_offset`` / ``footer_line`` say where the
    footer starts (None: the file ended without one).

    Args:
        source: the file.
        start: the byte offset of the first detail line.
        first_line: its physical line number.
        chunk_bytes: the size of a chunk, at least 1 KiB (a chunk grows to hold a longer line).
        footer_prefix: bytes a footer line starts with (``#`` for Alipay); None: no footer.
        is_footer: decides on a candidate line (its bytes, line end removed); default: every candidate.
    """

    def __init__(
        self,
        source: Source,
        start: int,
        first_line: int,
        *,
        chunk_bytes: int,
        footer_prefix: bytes | None,
        is_footer: Callable[[bytes], bool] | None = None,
    ) -> None:
        self.source = source
        self.start = start
        self.first_line = first_line
        self.chunk_bytes = max(chunk_bytes, 1024)
        self.footer_prefix = footer_prefix
        self.is_footer = is_footer or (lambda line: True)
        self.footer_offset: int | None = None
        self.footer_line: int | None = None

    def chunks(self) -> Iterator[Chunk]:
        """Yield the detail block chunk by chunk, stopping at the footer."""
        position, line = self.start, self.first_line
        size = self.source.size
        while position < size:
            data = self._read_whole_lines(position, size)
            footer_at = self._footer_in(data, position)
            if footer_at is not None:
                data = data[:footer_at]
            if data:
                chunk = Chunk(data, line)
                yield chunk
                line += data.count(b"\n")
                position += len(data)
            if footer_at is not None:
                self.footer_offset, self.footer_line = position, line
                return

    def _read_whole_lines(self, position: int, size: int) -> bytes:
        """Read about ``chunk_bytes`` from ``position``, cut after the last line end (or at EOF)."""
        data = self.source.read(position, min(position + self.chunk_bytes, size))
        if position + len(data) >= size:
            return data
        cut = data.rfind(b"\n")
        if cut != -1:
            return data[: cut + 1]
        parts = [data]  # one line longer than a chunk: read on to its end
        end = position + len(data)
        while end < size:
            more = self.source.read(end, min(end + self.chunk_bytes, size))
            newline = more.find(b"\n")
            if newline != -1:
                parts.append(more[: newline + 1])
                break
            parts.append(more)
            end += len(more)
        return b"".join(parts)

    def _footer_in(self, data: bytes, position: int) -> int | None:
        """The offset in ``data`` of the first line that opens the footer, if any."""
        prefix = self.footer_prefix
        if prefix is None:
            return None
        candidates: Iterable[int] = _line_starts_with(data, prefix)
        for at in candidates:
            end = data.find(b"\n", at)
            line = data[at : end if end != -1 else len(data)].removesuffix(b"\r")
            if self.is_footer(line):
                return at
        return None


def _line_starts_with(data: bytes, prefix: bytes) -> Iterator[int]:
    if data.startswith(prefix):
        yield 0
    needle = b"\n" + prefix
    at = data.find(needle)
    while at != -1:
        yield at + 1
        at = data.find(needle, at + 1)


def tail_lines(source: Source, offset: int, *, encoding: str, max_bytes: int = 1024 * 1024) -> tuple[list[str], int]:
    """The footer: the lines from ``offset`` to the end, decoded, and how many physical lines they are.

    Only the first ``max_bytes`` are decoded (a footer is a few lines; more is garbage, and the
    adapter says so on the first unexpected line); the physical lines are counted to the end.

    Raises:
        FileRejected: ``DECODE_ERROR`` when the footer is not valid ``encoding``.
    """
    head = source.read(offset, min(source.size, offset + max_bytes))
    physical = head.count(b"\n")
    position = offset + len(head)
    last = head
    while position < source.size:
        more = source.read(position, min(source.size, position + max_bytes))
        physical += more.count(b"\n")
        position += len(more)
        last = more
    if last and not last.endswith(b"\n"):
        physical += 1
    cut = head if position == offset + len(head) else head[: head.rfind(b"\n") + 1]
    try:
        text = cut.decode(encoding)
    except UnicodeDecodeError as exc:
        raise FileRejected("DECODE_ERROR", f"the footer is not valid {encoding}: {exc.reason}") from None
    lines = [line.removesuffix("\r") for line in text.split("\n")]
    if text.endswith("\n") or not text:
        lines.pop()
    return lines, physical


def utf8_chunk(chunk: Chunk, encoding: str) -> Chunk:
    """The chunk decoded strictly from ``encoding`` and re-encoded as UTF-8 (GBK files: ``gb18030``).

    A chunk is cut at line ends, and 0x0A is never a GB18030 trail byte, so no character is ever cut.

    Raises:
        FileRejected: ``DECODE_ERROR`` naming the line of the first undecodable byte.
    """
    try:
        text = chunk.data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = chunk.first_line + chunk.data.count(b"\n", 0, exc.start)
        raise FileRejected(
            "DECODE_ERROR", f"not valid {encoding} at line {line}: {exc.reason}", line=line
        ) from None
    return Chunk(text.encode("utf-8"), chunk.first_line)


# -- 3. one columnar read per chunk ----------------------------------------------------------------


def field_names(width: int) -> list[str]:
    """The positional column names of a chunk read: ``f0 … f{width-1}``."""
    return [f"f{i}" for i in range(width)]


#: Bytes tried, in order, as the separator of a one-column read (a chunk never holds all of them).
_LINE_SEPARATORS = (0x1F, 0x1E, 0x1D, 0x1C, *range(0x01, 0x09), 0x0B, 0x0C, *range(0x0E, 0x1C), 0x7F)


def read_fields(chunk: Chunk, width: int, *, separator: str = ",") -> pl.DataFrame:
    """Split a chunk of UTF-8 lines into fields: one Polars ``read_csv`` call, one row per physical line.

    Polars reads without a quote character, so every physical line is one row, blank lines included,
    and ``source_line`` is the chunk's first line + the row index. A chunk is *regular* when its
    separators add up to ``width - 1`` per line, no line has more fields (a read that refuses extra
    fields succeeds) and it holds no lone CR (which Polars drops before a separator): then that one
    read is the result. Any other chunk is read as one text column per line, then counted and split
    by Polars expressions: no Python string per line either way.

    Args:
        chunk: whole lines, UTF-8.
        width: the number of fields of a well-formed line (at least 2).
        separator: the field separator.

    Returns:
        Columns ``f0 … f{width-1}`` (text as written, ``""`` for an empty field; null where a line
        has fewer fields), ``fields`` (the line's field count), ``blank`` (only spaces and tabs),
        ``line`` (the line's text without its line end, or null where it can be rebuilt from the
        fields: :func:`line_text`) and ``source_line``.

    Raises:
        FileRejected: ``DECODE_ERROR`` when the chunk is not valid UTF-8, naming the line.
    """
    names = field_names(width)
    data = chunk.data
    lines = chunk.line_count
    # Polars drops one leading BOM of its buffer; a line that starts with one must keep it (BAD_CHAR).
    shifted = data.startswith(BOM)
    buffer = b"\n" + data if shifted else data
    located = pl.int_range(chunk.first_line, chunk.first_line + lines, dtype=pl.Int64).alias("source_line")
    if data.count(separator.encode()) == lines * (width - 1) and not chunk.lone_cr:
        try:
            frame = pl.read_csv(
                buffer, has_header=False, separator=separator, quote_char=None,
                schema=dict.fromkeys(names, pl.String()), missing_columns="insert",
                truncate_ragged_lines=False, raise_if_empty=False,
                empty_string_is_null=False,  # every line has all its fields: no null to tell apart
            )  # fmt: skip
        except pl.exceptions.ComputeError as exc:
            if "utf-8" in str(exc).lower():
                raise _decode_error(chunk, exc) from None
        except pl.exceptions.PolarsError:  # a line with more fields than the header
            pass
        else:
            frame = frame.slice(1) if shifted else frame
            _check_rows(frame, lines)
            return frame.with_columns(
                fields=pl.lit(width, pl.Int64), blank=pl.lit(False), line=pl.lit(None, pl.String)
            ).with_columns(located)
    one_column = next((chr(byte) for byte in _LINE_SEPARATORS if bytes([byte]) not in data), None)
    if one_column is None:  # pragma: no cover - a chunk holding every control character
        raise FileRejected("BAD_CHAR", f"the lines from {chunk.first_line} hold every control character")
    try:
        frame = pl.read_csv(
            b"\n" + data, has_header=False, quote_char=None, separator=one_column,
            schema={"line": pl.String()}, raise_if_empty=False,
        ).slice(1)  # fmt: skip
    except pl.exceptions.ComputeError as exc:
        raise _decode_error(chunk, exc) from None
    _check_rows(frame, lines)
    line = pl.col("line").fill_null("")
    return (
        frame.select(line.alias("line"))
        .with_columns(fields=pl.col("line").str.count_matches(separator, literal=True).cast(pl.Int64) + 1)
        .select(
            # a field the line has is text ("" when empty); one it lacks stays null
            pl.col("line").str.split_exact(separator, width - 1).struct.rename_fields(names).alias("split"),
            "fields",
            blank=pl.col("line").str.strip_chars(" \t").str.len_bytes() == 0,
            line="line",
        )
        .unnest("split")
        .with_columns(located)
    )


_LONE_CR = re.compile(rb"\r(?!\n)")


def has_lone_cr(data: bytes) -> bool:
    """True when ``data`` holds a CR that does not end a line.

    A file without CR is settled by one ``memchr``; a CRLF file by one regex scan, which is about
    three times faster than counting CRs and CRLFs.
    """
    return b"\r" in data and _LONE_CR.search(data) is not None


def _check_rows(frame: pl.DataFrame, lines: int) -> None:
    if frame.height != lines:  # pragma: no cover - the reader would have changed its line rules
        raise AssertionError(f"read {frame.height} rows from {lines} lines")


def _decode_error(chunk: Chunk, exc: Exception) -> FileRejected:
    """The DECODE_ERROR of a chunk Polars refused, naming the line of the first undecodable byte."""
    try:
        chunk.data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = chunk.first_line + chunk.data.count(b"\n", 0, error.start)
        return FileRejected("DECODE_ERROR", f"not valid utf-8 at line {line}: {error.reason}", line=line)
    return FileRejected("DECODE_ERROR", f"unreadable text from line {chunk.first_line}: {exc}", chunk.first_line)


def line_text(frame: pl.DataFrame, width: int, separator: str = ",") -> pl.Expr:
    """The text of each line: ``line`` where kept, else its fields joined (exact for regular lines)."""
    joined = pl.concat_str([pl.col(name) for name in field_names(width)], separator=separator)
    return pl.coalesce(pl.col("line"), joined)


_BAD_ASCII = frozenset(range(0x00, 0x09)) | {0x0B, 0x0C} | frozenset(range(0x0E, 0x20)) | {0x7F}
_KEEP_ASCII = bytes(b for b in range(256) if b not in _BAD_ASCII)
#: In UTF-8: U+FEFF (EF BB BF), the private-use area U+E000–U+F8FF (EE xx xx, EF 80–A3 xx), and the
#: invisible layout characters of ``BAD_CHARACTER`` (E2 80 8E/8F/A8–AE, E2 81 A6–A9).
_BOM_OR_PRIVATE = re.compile(rb"\xef(?:[\x80-\xa3]|\xbb\xbf)|\xe2\x80[\x8e\x8f\xa8-\xae]|\xe2\x81[\xa6-\xa9]")


def may_hold_bad_characters(data: bytes | Chunk, *, cr_is_bad: bool = False) -> bool:
    """A C-speed screen of UTF-8 text: False guarantees no ``BAD_CHARACTER`` anywhere in it.

    Most chunks are clean, and then no per-column search is needed at all. ``cr_is_bad``: every CR is
    one (values, as from Parquet); otherwise only a CR that does not end a line (lines of a chunk).
    """
    lone_cr = data.lone_cr if isinstance(data, Chunk) else None
    data = data.data if isinstance(data, Chunk) else data
    return bool(
        data.translate(None, _KEEP_ASCII)
        or (b"\r" in data if cr_is_bad else (lone_cr if lone_cr is not None else has_lone_cr(data)))
        or b"\xee" in data
        or _BOM_OR_PRIVATE.search(data)
    )


def bad_character_expr(column: str) -> pl.Expr:
    """True where the text holds a character no field may hold (see ``BAD_CHARACTER``)."""
    return pl.col(column).str.contains(BAD_CHARACTER)


# -- 4. checks over whole columns ------------------------------------------------------------------


def frame_schema(model: type[pa.DataFrameModel]) -> dict[str, pl.DataType]:
    """The polars schema (column → dtype) of a Pandera model, in the model's column order."""
    return {name: column.dtype.type for name, column in model.to_schema().columns.items()}


def read_header(
    names: Sequence[str], expected: Sequence[str], *, line_no: int, line: str, mismatch: str
) -> dict[str, int]:
    """Map each column name of a header line to its position, checking it names exactly ``expected``.

    The same columns in another order are read by name (BAD_INPUTS F28).

    Args:
        names: the header's column names, already stripped as the format requires.
        expected: the format's columns.
        line_no: the header's physical line, for the error.
        line: the header line as written (its start is quoted when nothing else can be).
        mismatch: the HEADER_MISMATCH message, a ``str.format`` template with ``{expected}`` (the
            first missing column) and ``{found}`` (the first unknown column, else the line's start).

    Returns:
        ``{column: position}``: ``read_header(["b", "a"], ("a", "b"), ...) == {"b": 0, "a": 1}``.

    Raises:
        FileRejected: ``DUP_COLUMN``, ``HEADER_MISMATCH`` (some columns missing and others unknown,
            or none of the expected ones), ``MISSING_COLUMN`` or ``UNEXPECTED_COLUMN``.
    """
    if tuple(names) != tuple(expected):
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise FileRejected("DUP_COLUMN", f"header repeats column(s) {', '.join(duplicates)}", line_no)
        missing = [name for name in expected if name not in names]
        extra = [name for name in names if name not in expected]
        if missing and extra or len(missing) == len(expected):
            found = extra[0] if extra else line[:40]
            raise FileRejected("HEADER_MISMATCH", mismatch.format(expected=missing[0], found=found), line_no)
        if missing:
            raise FileRejected("MISSING_COLUMN", f"header lacks column(s) {', '.join(missing)}", line_no)
        if extra:
            raise FileRejected(
                "UNEXPECTED_COLUMN", f"header has unknown column(s) {', '.join(extra)}", line_no
            )
    return {name: index for index, name in enumerate(names)}


def named_columns(frame: pl.DataFrame, positions: Mapping[str, int], strip: Callable[[pl.Expr], pl.Expr]) -> pl.DataFrame:
    """The positional fields of a chunk as the format's named columns, each passed through ``strip``.

    Args:
        frame: a :func:`read_fields` frame.
        positions: column name → position in the line (:func:`read_header`).
        strip: what the format removes from a field (WeChat: one backtick; Alipay: TABs and spaces).

    Returns:
        One column per name (null stays null: a field the line does not have), plus ``source_line``.
    """
    return frame.select(
        *(strip(pl.col(f"f{index}")).alias(name) for name, index in positions.items()), "source_line"
    )


def check_raw(
    problems: Problems,
    raw: pl.DataFrame,
    model: type[pa.DataFrameModel],
    *,
    reason_codes: Mapping[str, str],
    amount_scales: Mapping[str, int],
) -> pl.DataFrame:
    """Validate text rows with the format's raw Pandera model; record every failure; return the rest.

    A failed amount gets the money parser's own code and words (``SCALE_EXCEEDED`` for ``12.345``).
    """
    raw = raw.with_columns(source_file=pl.lit(problems.source_file))
    good, failures = split_valid(raw, model, reason_codes=dict(reason_codes))
    problems.add_entries(refine_amount_reason(entry, amount_scales) for entry in failures.iter_rows(named=True))
    return good.drop("source_file")


def check_canonical(
    problems: Problems,
    frame: pl.DataFrame,
    model: type[pa.DataFrameModel],
    *,
    reason_codes: Mapping[str, str] | None = None,
) -> pl.DataFrame:
    """Validate canonical rows with the canonical Pandera model; record failures; return the valid rows."""
    valid, failures = split_valid(frame, model, reason_codes=dict(reason_codes or {}))
    problems.add_entries(failures.iter_rows(named=True))
    return valid


def refine_amount_reason(entry: dict[str, object], scales: Mapping[str, int]) -> dict[str, object]:
    """Give a failed amount field the money parser's own code (BAD_AMOUNT / SCALE_EXCEEDED) and words.

    Args:
        entry: a quarantine entry from ``split_valid``.
        scales: amount column → its exact number of decimals; other columns are left as they are.

    Returns:
        ``entry``, or a copy whose ``reason_code`` and ``reason`` are the money parser's: an entry for
        ``'1.234'`` in a 2-decimal column becomes ``SCALE_EXCEEDED``.
    """
    column, value = entry["column"], entry["value"]
    if not isinstance(column, str) or column not in scales or not isinstance(value, str):
        return entry
    try:
        parse_decimal_text(value, scale=scales[column], exact_scale=True)
    except AmountError as exc:
        return {**entry, "reason_code": exc.reason_code, "reason": f"{column}: {exc}"}
    return entry


def local_time_expr(text: pl.Expr, time_zone: str, fmt: str = "%Y-%m-%d %H:%M:%S") -> pl.Expr:
    """Wall-clock text in ``time_zone`` → an aware UTC timestamp (µs); null when it is no real time."""
    return (
        text.str.to_datetime(fmt, time_unit="us", time_zone=time_zone, strict=False, ambiguous="earliest")
        .dt.convert_time_zone("UTC")
    )


# -- 5. the few bad lines --------------------------------------------------------------------------


def quarantine_entry(
    source_file: str, line: int | None, column: str | None, value: str | None, reason_code: str, reason: str
) -> dict[str, object]:
    """One quarantine entry (a row of ``QUARANTINE_SCHEMA``)."""
    return {
        "source_file": source_file,
        "source_line": line,
        "column": column,
        "value": value,
        "reason_code": reason_code,
        "reason": reason,
    }


class Problems:
    """The quarantine entries of one file, and the lines they make bad, collected while it is read.

    Entries keep the order they were found in; :meth:`frame` sorts them by line, stably. Past
    ``max_lines`` distinct bad lines, entries are no longer kept one by one (``overflowed``): the
    adapter rejects the file and one summary entry says how many lines were not described.
    """

    def __init__(self, source_file: str, max_lines: int) -> None:
        self.source_file = source_file
        self.max_lines = max_lines
        self.entries: list[dict[str, object]] = []
        self.lines: set[int] = set()
        self.undescribed = 0
        self._last_undescribed = -1

    @property
    def overflowed(self) -> bool:
        """True once more lines went bad than may be described one by one."""
        return self.undescribed > 0

    def add(self, line: int, column: str | None, value: str | None, code: str, reason: str) -> None:
        """Record one problem of ``line``."""
        if line not in self.lines:
            if len(self.lines) >= self.max_lines:
                if line != self._last_undescribed:  # a line's problems come together: count it once
                    self.undescribed += 1
                    self._last_undescribed = line
                return
            self.lines.add(line)
        self.entries.append(quarantine_entry(self.source_file, line, column, value, code, reason))

    def add_entries(self, entries: Iterable[dict[str, object]]) -> None:
        """Record entries already shaped like ``QUARANTINE_SCHEMA`` (from ``split_valid``)."""
        for entry in entries:
            line = entry["source_line"]
            assert isinstance(line, int)
            self.add(line, entry["column"], entry["value"], str(entry["reason_code"]), str(entry["reason"]))  # type: ignore[arg-type]

    def frame(self) -> pl.DataFrame:
        """Every entry as a ``QUARANTINE_SCHEMA`` frame, sorted by line (stable)."""
        entries = list(self.entries)
        if self.undescribed:
            entries.append(
                quarantine_entry(
                    self.source_file, None, None, None, "TOO_MANY_BAD_ROWS",
                    f"past {self.max_lines} bad lines the file is rejected; {self.undescribed} more lines "
                    "are not described one by one",
                )  # fmt: skip
            )
        return quarantine_frame(entries).sort("source_line", maintain_order=True, nulls_last=True)


# -- 6. control totals are column sums -------------------------------------------------------------


class ControlSums:
    """Running sums of amount columns over every data line; None once an amount could not be read.

    Args:
        scales: control name → the exact decimals of its column's text (the unit of the sum).
    """

    def __init__(self, scales: Mapping[str, int]) -> None:
        self.scales = dict(scales)
        self.sums: dict[str, int | None] = dict.fromkeys(scales, 0)

    def add_units(self, frame: pl.DataFrame, units: Mapping[str, pl.Expr]) -> None:
        """Add one frame's lines: ``units`` maps controls to integer-unit expressions (null: unreadable)."""
        if frame.height == 0 or not units:
            return
        exprs = []
        for name, expr in units.items():
            # Summed in 128 bits: an Int64 sum wraps silently, and a file of many large amounts could
            # pass 9.2e18 minor units; the footer comparison then fails loudly instead of agreeing by chance.
            exprs += [expr.cast(pl.Int128).sum().alias(name), expr.null_count().alias(f"{name}__unread")]
        totals = frame.select(exprs).row(0, named=True)
        for name in units:
            current = self.sums[name]
            if current is None or totals[f"{name}__unread"]:
                self.sums[name] = None
            else:
                self.sums[name] = current + int(totals[name])

    def add_texts(self, frame: pl.DataFrame, texts: Mapping[str, pl.Expr]) -> None:
        """Add one frame's lines from amount texts (exact scale, else the control is not verifiable)."""
        self.add_units(frame, {name: amount_units_or_null(text, self.scales[name]) for name, text in texts.items()})

    def decimal(self, name: str) -> Decimal | None:
        """The sum of ``name`` in the file's own unit (``Decimal``), or None when not verifiable."""
        return units_to_decimal(self.sums[name], self.scales[name])


def exact_units(column: str) -> pl.Expr:
    """A raw-valid amount column (its pattern already checked: exactly its decimals) as integer units.

    Dropping the point is exact: ``-12.34`` → ``-1234``, ``0.05`` → ``5``; no float is involved.
    """
    return pl.col(column).str.replace(".", "", literal=True).cast(pl.Int64)


def amount_units_or_null(text: pl.Expr, scale: int) -> pl.Expr:
    """Text with exactly ``scale`` decimals (``-12.34``) → integer units, exactly; null for anything else.

    Up to 15 integer digits (the money parser's bound), so an Int64 sum cannot wrap on any real file.
    """
    if scale == 0:
        pattern = r"^-?(0|[1-9][0-9]{0,14})$"
    else:
        pattern = rf"^-?(0|[1-9][0-9]{{0,14}})\.[0-9]{{{scale}}}$"
    return (
        pl.when(text.str.contains(pattern))
        .then(text.str.replace(".", "", literal=True).cast(pl.Int64, strict=False))
        .otherwise(pl.lit(None, pl.Int64))
    )


@overload
def units_to_decimal(units: int, scale: int = 2) -> Decimal: ...
@overload
def units_to_decimal(units: int | None, scale: int = 2) -> Decimal | None: ...
def units_to_decimal(units: int | None, scale: int = 2) -> Decimal | None:
    """Integer units of ``10**-scale`` as an exact Decimal (``150`` → ``Decimal('1.50')``); None stays None."""
    return None if units is None else Decimal(units).scaleb(-scale)


def control_total_error(
    controls: Iterable[ControlTotal], *, line: int | None, template: str
) -> FileRejected | None:
    """``CONTROL_TOTAL_MISMATCH`` naming every control that disagrees, or None when all agree.

    Args:
        controls: the file's control totals.
        line: the line of the figures (the footer / summary).
        template: one control's words, a ``str.format`` template with ``{name}``, ``{footer}`` and
            ``{parsed}``, e.g. ``"{name}: footer says {footer}, rows give {parsed}"``; joined by ``; ``.
    """
    mismatches = [control for control in controls if not control.ok]
    if not mismatches:
        return None
    words = "; ".join(template.format(name=c.name, footer=c.footer, parsed=c.parsed) for c in mismatches)
    return FileRejected("CONTROL_TOTAL_MISMATCH", words, line=line)


# -- 7. rows leave chunk by chunk ------------------------------------------------------------------


@dataclass
class Output:
    """The adapter's end of the sink: counts what it sends, collects when the context has no sink."""

    context: ParseContext
    model: type[pa.DataFrameModel]
    source_file: str
    sink: RowSink = field(init=False)
    row_count: int = 0
    rejected_count: int = 0
    content_hash: int = 0

    def __post_init__(self) -> None:
        self.sink = self.context.sink if self.context.sink is not None else CollectingSink()

    def rows(self, frame: pl.DataFrame) -> None:
        """Send valid canonical rows."""
        if frame.height:
            self.row_count += frame.height
            self._fingerprint(frame)
            self.sink.rows(frame)

    def rejected(self, frame: pl.DataFrame) -> None:
        """Send best-effort rows of quarantined lines (``REJECTED_SCHEMA`` columns, any order)."""
        if frame.height:
            self.rejected_count += frame.height
            rejected = frame.select(list(REJECTED_SCHEMA)).cast(REJECTED_SCHEMA)  # type: ignore[arg-type]
            self._fingerprint(rejected)
            self.sink.rejected(rejected)

    def _fingerprint(self, frame: pl.DataFrame) -> None:
        """Fold the rows into an order-free hash of what the file says (its name and line ends aside)."""
        hashes = frame.drop("source_file").hash_rows(seed=1)
        self.content_hash = (self.content_hash + int(hashes.cast(pl.Decimal(38, 0)).sum())) % (1 << 64)

    def discard(self) -> None:
        """Take back everything sent: the file is unreadable after all (rejected whole, no rows)."""
        self.row_count = self.rejected_count = self.content_hash = 0
        self.sink.discard()

    def parsed_file(
        self,
        *,
        file_format: str,
        role: str,
        channel: str,
        quarantine: pl.DataFrame,
        controls: tuple[ControlTotal, ...] = (),
        file_error: FileRejected | None = None,
        lines: LineCounts | None = None,
        statement_date: object = None,
        merchant_account: str | None = None,
        facts: dict[str, Decimal | None] | None = None,
    ) -> ParsedFile:
        """The ParsedFile of what was sent (rows collected into it when the context had no sink)."""
        sink = self.sink
        if self.context.sink is None and isinstance(sink, CollectingSink):
            rows, rejected = sink.collected_rows(frame_schema(self.model)), sink.collected_rejected()
        else:
            rows, rejected = empty_frame(self.model), empty_rejected()
        return ParsedFile(
            source_file=self.source_file,
            format=file_format,
            role=role,
            channel=channel,
            rows=rows,
            rejected=rejected,
            quarantine=quarantine,
            controls=controls,
            file_error=file_error,
            lines=lines or LineCounts(),
            statement_date=statement_date,  # type: ignore[arg-type]
            merchant_account=merchant_account,
            row_count=self.row_count,
            rejected_count=self.rejected_count,
            facts=facts or {},
            fingerprint=f"{self.row_count}:{self.rejected_count}:{self.content_hash:016x}",
        )


def rejected_file(
    source_file: str,
    error: FileRejected,
    *,
    file_format: str,
    role: str,
    channel: str,
    model: type[pa.DataFrameModel],
    lines: LineCounts | None = None,
) -> ParsedFile:
    """A ``ParsedFile`` for a file rejected before any row could be read: empty frames and the error."""
    return ParsedFile(
        source_file=source_file,
        format=file_format,
        role=role,
        channel=channel,
        rows=empty_frame(model),
        rejected=empty_rejected(),
        quarantine=empty_quarantine(),
        file_error=error,
        lines=lines or LineCounts(),
    )


def rejected_row(
    source_file: str,
    line: int,
    *,
    channel: str | None,
    channel_txn_id: str | None = None,
    order_no: str | None = None,
    kind: str | None = None,
    amount_minor: int | None = None,
    currency: str | None = None,
) -> dict[str, object]:
    """One ``REJECTED_SCHEMA`` row: what could be read of a quarantined line, nulls elsewhere."""
    return {
        "source_file": source_file,
        "source_line": line,
        "channel": channel,
        "channel_txn_id": channel_txn_id,
        "order_no": order_no,
        "kind": kind,
        "amount_minor": amount_minor,
        "currency": currency,
    }


def rejected_frame(by_line: Mapping[int, dict[str, object]], lines: Iterable[int] | None = None) -> pl.DataFrame:
    """The ``rejected`` frame: the rows of ``lines`` (default: every line) that have one, by line."""
    chosen = sorted(by_line if lines is None else set(lines))
    rows = [by_line[line] for line in chosen if line in by_line]
    return pl.DataFrame(rows, schema=REJECTED_SCHEMA) if rows else empty_rejected()


def truncated_last_line(lines: Sequence[str], first: int, width: int, what: str) -> FileRejected | None:
    """``TRUNCATED`` when the last non-blank line (index ``first`` or later) has fewer than ``width`` fields."""
    last = next((i for i in range(len(lines) - 1, first - 1, -1) if lines[i].strip()), None)
    if last is None:
        return None
    count = len(lines[last].split(","))
    if count >= width:
        return None
    return FileRejected(
        "TRUNCATED",
        f"no {what}; the last line {last + 1} has {count} of {width} fields (file cut short?)",
        last + 1,
    )


_ = (re, QUARANTINE_SCHEMA)
