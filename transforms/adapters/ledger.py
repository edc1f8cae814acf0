"""The internal ledger export (DESIGN §2): CSV (UTF-8, header row) or Parquet → ``LedgerEntry`` rows.

Read with the columnar template (``template.py``). Both readers turn the file, chunk by chunk, into the
same frame of text records (the ten columns by name, ``source_line`` and the record's size) and hand
it to one judge (:class:`_Judge`), so a Parquet export is judged exactly like the same CSV. The judge
checks whole columns with expressions (bad characters, byte limits, required columns, enums, the
currency, the amount's shape and scale, ``booked_at``), converts the good records to canonical
columns with integer arithmetic, validates them with the raw and the canonical Pandera models and
sends them on. Only the records an expression finds at fault take the per-record Python path
(:func:`_record_verdict`, the rules as they always were), which names every problem: file, line,
column, value, reason code, reason. Each bad record also gets one best-effort ``REJECTED_SCHEMA``
row; a bad file becomes ``file_error``. The ledger has no footer, so there are no control totals.

CSV (RFC 4180): a chunk is split into physical lines by one Polars read without a quote character
(:func:`_read_fields`, the template's ``read_fields`` with a sound test of regular lines). Lines
without a ``"`` or a lone CR are records as they are. Lines with quotes that are well formed on their
own (:data:`_SIMPLE_LINE`) are unquoted by one Polars read with ``quote_char='"'``; the rare rest (a
quoted field spanning lines, a stray quote, a lone CR) is read by Python's ``csv`` module from that
line on, exactly as the whole file used to be. A chunk never ends inside a record: when the last
record is still open at the chunk's end the chunk is cut before it (or grown, when it is the chunk's
only record).

Parquet: read batch by batch (``ParquetFile.iter_batches``, through a file-like view of the Source),
each column turned into the text a CSV would hold by Arrow / Polars casts, then judged as above.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import polars as pl
import polars.selectors as cs

from schemas.canonical import CHANNELS, LEDGER_KINDS, LEDGER_STATUSES, LedgerEntry
from schemas.ledger import ISO_WITH_OFFSET, LEDGER_AMOUNT, RawLedgerRow
from transforms.adapters.template import (
    BOM,
    Chunk,
    Output,
    Problems,
    bad_character_expr,
    field_names,
    frame_schema,
    has_lone_cr,
    may_hold_bad_characters,
    read_fields,
    rejected_file,
)
from transforms.money import CURRENCY_EXPONENT, AmountError, parse_decimal_text
from transforms.parsed import FileRejected, Limits, LineCounts, ParseContext, ParsedFile, Source, as_source
from transforms.text import bad_characters
from transforms.validate import split_valid

#: The export's columns (DESIGN §2), in the documented order; files may order them freely.
LEDGER_COLUMNS: tuple[str, ...] = (
    "entry_id",
    "order_no",
    "payment_id",
    "channel",
    "channel_txn_id",
    "kind",
    "amount",
    "currency",
    "status",
    "booked_at",
)

#: Columns that must not be empty; the others become null when empty.
REQUIRED_COLUMNS: tuple[str, ...] = (
    "entry_id",
    "channel",
    "kind",
    "amount",
    "currency",
    "status",
    "booked_at",
)
OPTIONAL_COLUMNS: tuple[str, ...] = ("order_no", "payment_id", "channel_txn_id")

FORMAT_CSV = "ledger_csv"
FORMAT_PARQUET = "ledger_parquet"
ROLE = CHANNEL = "ledger"

_WIDTH = len(LEDGER_COLUMNS)
_ENUMS: dict[str, tuple[str, ...]] = {"channel": CHANNELS, "kind": LEDGER_KINDS, "status": LEDGER_STATUSES}
_AMOUNT = re.compile(LEDGER_AMOUNT, re.ASCII)
_BOOKED_AT = re.compile(ISO_WITH_OFFSET, re.ASCII)
_MAX_VALUE_CHARS = 1000
_CANONICAL_SCHEMA: dict[str, pl.DataType] = frame_schema(LedgerEntry)

#: A physical line whose every field is plain or properly quoted (RFC 4180, strict), no CR: read alone,
#: it is exactly one record, and Polars and Python's ``csv`` split it identically.
_SIMPLE_LINE = r'^(?:"(?:[^"\r]|"")*"|[^",\r]*)(?:,(?:"(?:[^"\r]|"")*"|[^",\r]*))*$'
_QUOTED_FIELD = r'"(?:[^"]|"")*"'
#: A plain amount of at most 15 integer digits (the money parser's bound) and any decimals.
_AMOUNT_SHAPE = r"^(?:0|[1-9][0-9]{0,14})(?:\.[0-9]+)?$"
_MAX_EXPONENT = max(CURRENCY_EXPONENT.values())
#: Microseconds since the epoch of 0001-01-01T00:00:00 and of 10000-01-01T00:00:00 (Python's datetime range).
_FIRST_US = -62_135_596_800_000_000
_END_US = 253_402_300_800_000_000
_DAYS_IN_MONTH = {1: 31, 2: 28, 3: 31, 4: 30, 5: 31, 6: 30, 7: 31, 8: 31, 9: 30, 10: 31, 11: 30, 12: 31}
#: The end of a chunk's bytes looked at first for its last line end (to read the chunk only once).
_PROBE_BYTES = 64 * 1024
#: Parquet rows per batch: ``limits.chunk_bytes`` over about this many bytes per row.
_PARQUET_ROW_BYTES = 128
#: A header line longer than this is no header (the file is rejected without reading it all).
_MAX_HEADER_BYTES = 1024 * 1024

#: One problem of a record: ``(column, value, reason_code, reason)``.
_Entry = tuple[str | None, str | None, str, str]


# -- CSV ----------------------------------------------------------------------------------------------


def parse_ledger_csv(data: bytes | Source, source_file: str, context: ParseContext) -> ParsedFile:
    """Parse a ledger CSV export.

    Never raises on bad input: a bad record becomes quarantine entries plus one ``rejected`` row, a
    bad file sets ``file_error``.

    Args:
        data: the file's bytes, or a Source over them: UTF-8 (one leading BOM stripped), a header row,
            RFC 4180 quoting.
        source_file: the path relative to the date's inbox folder, carried on every row.
        context: the merchant's time zone (``timezone``), which gives each entry its
            ``business_date``; the sink for rows; the limits.

    Returns:
        A ParsedFile (format ``ledger_csv``, role and channel ``ledger``) whose ``source_line`` is the
        physical line where each record starts.
    """
    source = as_source(data)
    if source.size == 0:
        return _rejected_file(
            source_file, FORMAT_CSV, FileRejected("EMPTY_FILE", "the file is empty (0 bytes)")
        )
    bom = len(BOM) if source.read(0, len(BOM)) == BOM else 0
    if source.size == bom:
        return _rejected_file(source_file, FORMAT_CSV, FileRejected("EMPTY_FILE", "no header row"))
    header = _HeaderLines(source, bom)
    try:
        try:
            fields = next(csv.reader(header, strict=True))
        except csv.Error as exc:
            _scan_rest(source, header.offset, header.count + 1, bom, context.limits)
            error = FileRejected("HEADER_MISMATCH", f"header row: {exc}", line=1)
            return _rejected_file(source_file, FORMAT_CSV, error)
        except _HeaderTooLong as exc:
            _scan_rest(source, exc.offset, 2, bom, context.limits)
            error = FileRejected(
                "HEADER_MISMATCH", f"header row: line 1 is longer than {exc.size} bytes", line=1
            )
            return _rejected_file(source_file, FORMAT_CSV, error)
        try:
            names = _check_header(fields)
        except FileRejected as exc:
            rest = _scan_rest(source, header.offset, header.count + 1, bom, context.limits)
            return _rejected_file(
                source_file, FORMAT_CSV, exc, LineCounts(physical=header.count + rest, header=1)
            )
    except FileRejected as exc:  # not UTF-8 (anywhere in the file: it used to be decoded whole first)
        return _rejected_file(source_file, FORMAT_CSV, exc)
    return _CsvParser(source, source_file, context, names, bom).run(header.offset, header.count)


class _HeaderTooLong(Exception):  # noqa: N818 - internal signal, caught in parse_ledger_csv
    def __init__(self, size: int, offset: int) -> None:
        super().__init__(size)
        self.size = size
        self.offset = offset


class _HeaderLines:
    """The file's first lines, decoded one by one as ``csv`` asks for them (the header record).

    ``count`` and ``offset`` say how many physical lines were handed out and where the next begins.
    """

    def __init__(self, source: Source, bom: int) -> None:
        self.source = source
        self.bom = bom
        self.offset = bom
        self.count = 0

    def __iter__(self) -> Iterator[str]:
        """Yield each line's text with a LF as its only line end (as the whole-file reader did)."""
        size = self.source.size
        while self.offset < size:
            start = self.offset
            raw = _read_lines(self.source, start, 64 * 1024, first_only=True, limit=_MAX_HEADER_BYTES)
            if raw is None:
                raise _HeaderTooLong(_MAX_HEADER_BYTES, _line_end(self.source, start))
            self.offset += len(raw)
            self.count += 1
            line = raw[:-1].removesuffix(b"\r") if raw.endswith(b"\n") else raw
            try:
                text = line.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise _decode_error(start - self.bom + exc.start, self.count, exc) from None
            yield text + "\n"


def _check_header(fields: list[str]) -> list[str]:
    """Return the header's column names, or raise FileRejected for a header that is not the export's."""
    for name in fields:
        problem = bad_characters(name)
        if problem:
            raise FileRejected("BAD_CHAR", f"header column {name!r}: {problem}", line=1)
    names = [name.strip() for name in fields]
    dups = sorted({name for name in names if names.count(name) > 1})
    if dups:
        raise FileRejected("DUP_COLUMN", f"duplicate columns: {', '.join(dups)}", line=1)
    missing = [name for name in LEDGER_COLUMNS if name not in names]
    if missing:
        raise FileRejected("MISSING_COLUMN", f"missing columns: {', '.join(missing)}", line=1)
    unknown = [name for name in names if name not in LEDGER_COLUMNS]
    if unknown:
        raise FileRejected("UNEXPECTED_COLUMN", f"unexpected columns: {', '.join(unknown)}", line=1)
    return names


def _read_lines(
    source: Source,
    position: int,
    want: int,
    *,
    at_least: int = 0,
    first_only: bool = False,
    limit: int | None = None,
) -> bytes | None:
    """About ``want`` bytes from ``position`` cut after the last line end (whole lines; or up to EOF).

    The cut is at or after ``at_least`` bytes (a chunk that grows takes at least one more line); a line
    longer than ``want`` is read on to its end. ``first_only`` returns just the first line; None when
    it is longer than ``limit``.
    """
    size = source.size
    end = min(position + max(want, at_least + 1), size)
    if not first_only and end < size and end - position > 2 * _PROBE_BYTES:  # find the cut, then read once
        probe_start = max(end - _PROBE_BYTES, position + at_least)
        newline = source.read(probe_start, end).rfind(b"\n")
        if newline != -1:
            return source.read(position, probe_start + newline + 1)
    data = source.read(position, end)
    cut = data.find(b"\n") if first_only else data.rfind(b"\n", at_least)
    if cut != -1:
        return data[: cut + 1]
    if position + len(data) >= size:
        return data
    parts = [data]  # one line longer than ``want``: read on to its end
    end = position + len(data)
    while end < size:
        if limit is not None and end - position > limit:
            return None
        more = source.read(end, min(end + max(want, 64 * 1024), size))
        newline = more.find(b"\n")
        if newline != -1:
            parts.append(more[: newline + 1])
            break
        parts.append(more)
        end += len(more)
    return b"".join(parts)


def _line_end(source: Source, position: int) -> int:
    """The offset just after the line that contains ``position`` (the file's size at its last line)."""
    while position < source.size:
        block = source.read(position, min(position + 1024 * 1024, source.size))
        newline = block.find(b"\n")
        if newline != -1:
            return position + newline + 1
        position += len(block)
    return source.size


def _decode_error(byte: int, line: int, exc: UnicodeDecodeError) -> FileRejected:
    """DECODE_ERROR in the words of the whole-file decoder (byte offset after the BOM)."""
    return FileRejected(
        "DECODE_ERROR", f"not valid utf-8 at byte {byte} (line {line}): {exc.reason}", line=line
    )


def _check_utf8(data: bytes, position: int, first_line: int, bom: int) -> None:
    """Raise DECODE_ERROR for the first byte of ``data`` that is not UTF-8 (ASCII is checked at C speed)."""
    if data.isascii():
        return
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = first_line + data.count(b"\n", 0, exc.start)
        raise _decode_error(position - bom + exc.start, line, exc) from None


def _scan_rest(source: Source, position: int, first_line: int, bom: int, limits: Limits) -> int:
    """The physical lines from ``position`` to the end, checking they are UTF-8 (for a rejected header)."""
    lines = 0
    want = max(limits.chunk_bytes, 1024 * 1024)
    while position < source.size:
        data = _read_lines(source, position, want)
        assert data is not None
        _check_utf8(data, position, first_line + lines, bom)
        lines += Chunk(data, 0).line_count
        position += len(data)
    return lines


@dataclass
class _CsvRecord:
    """One record read by Python's ``csv`` module: lines ``start``…``end`` of the chunk (0-based)."""

    start: int
    end: int
    fields: list[str]
    error: str | None
    raw: str


@dataclass
class _ChunkRecords:
    """A chunk split into records: the candidates (ten fields) as a frame, the rest described."""

    candidates: list[pl.DataFrame] = field(default_factory=list)
    odd: dict[int, list[_Entry]] = field(default_factory=dict)
    blank: int = 0
    records: int = 0
    continuation: int = 0
    truncated: FileRejected | None = None
    #: False when the chunk's bytes hold no character a field may not hold (no per-column search).
    screen: bool = True


class _CsvParser:
    """One pass over one ledger CSV: chunk after chunk of records, each judged over whole columns."""

    def __init__(
        self, source: Source, source_file: str, context: ParseContext, names: list[str], bom: int
    ) -> None:
        self.source = source
        self.source_file = source_file
        self.limits = context.limits
        self.bom = bom
        self.positions = {name: index for index, name in enumerate(names)}
        self.judge = _Judge(source_file, context, names)
        self.physical = self.blank = self.data = self.continuation = 0
        self.truncated: FileRejected | None = None
        self.cr_line: int | None = None

    def run(self, offset: int, header_lines: int) -> ParsedFile:
        """Read every chunk after the header; assemble the ParsedFile."""
        try:
            for records in self.chunks(offset, header_lines + 1):
                self.blank += records.blank
                self.data += records.records - records.blank
                self.continuation += records.continuation
                self.truncated = records.truncated or self.truncated
                candidates = _concat_by_line(records.candidates)
                self.judge.judge(candidates, records.odd, screen_characters=records.screen)
        except FileRejected as exc:  # not UTF-8: nothing of the file is usable
            self.judge.output.discard()
            return _rejected_file(self.source_file, FORMAT_CSV, exc)
        lines = LineCounts(
            physical=header_lines + self.physical, data=self.data, header=header_lines, blank=self.blank,
            continuation=self.continuation,
        )  # fmt: skip
        return self.judge.parsed_file(FORMAT_CSV, lines, self.truncated)

    def chunks(self, position: int, first_line: int) -> Iterator[_ChunkRecords]:
        """Split the file after the header into chunks of whole records, and each chunk into records."""
        size = self.source.size
        want = max(self.limits.chunk_bytes, 1)
        at_least = 0
        line = first_line
        while position < size:
            data = _read_lines(self.source, position, want, at_least=at_least)
            assert data is not None
            at_eof = position + len(data) >= size
            _check_utf8(data, position, line, self.bom)
            chunk = Chunk(data, line)
            frame = read_fields(chunk, _WIDTH)
            split = self.split(data, frame, at_eof)
            if isinstance(split, int):  # the last record is still open at the chunk's end
                if split == 0:  # it is the chunk's only record: read at least one more line
                    want, at_least = 2 * len(data), len(data)
                    continue
                data = data[: _line_start(data, frame.height, split)]
                chunk = Chunk(data, line)
                frame = frame.head(split)
                split = self.split(data, frame, False)
                assert not isinstance(split, int)
            self.physical += frame.height
            split.screen = may_hold_bad_characters(chunk)
            yield split
            position += len(data)
            line += frame.height
            want, at_least = max(self.limits.chunk_bytes, 1), 0

    # -- one chunk into records -------------------------------------------------------------------

    def split(self, data: bytes, frame: pl.DataFrame, at_eof: bool) -> _ChunkRecords | int:
        """The chunk's records; or the index of the line where a record starts that the chunk cuts."""
        out = _ChunkRecords()
        n = frame.height
        # The file's last line may end in a lone CR (no LF after it) that Polars drops; it is part of the text.
        self.cr_line = frame["source_line"][-1] if n and at_eof and data.endswith(b"\r") else None
        regular = frame["line"].null_count() == n
        text = _joined(field_names(_WIDTH)) if regular else pl.col("line")
        plain = frame
        if b'"' in data or has_lone_cr(data):
            marked = frame.select(pl.int_range(n, dtype=pl.Int64).alias("i"), text.alias("text")).filter(
                pl.col("text").str.contains('["\r]')
            )
            if marked.height:
                marked = marked.with_columns(simple=pl.col("text").str.contains(_SIMPLE_LINE))
                texts = _LineTexts(frame, text, at_eof and data.endswith(b"\r"))
                hard = marked.filter(~pl.col("simple"))["i"].to_list()
                parsed = self.parse_hard(hard, n, texts, at_eof)
                if isinstance(parsed, int):
                    return parsed
                csv_records, taken = parsed
                self.take_csv_records(out, csv_records, frame["source_line"][0])
                simple = marked.filter(pl.col("simple"))
                if taken:
                    simple = simple.filter(~pl.col("i").is_in(taken))
                self.take_simple(out, simple.with_columns(source_line=pl.col("i") + frame["source_line"][0]))
                excluded = pl.Series(marked["i"].to_list() + taken, dtype=pl.Int64)
                plain = frame.with_row_index("i").filter(
                    ~pl.col("i").cast(pl.Int64).is_in(excluded.implode())
                )
                plain = plain.drop("i")
        self.take_plain(out, plain, regular, text)
        return out

    def take_plain(self, out: _ChunkRecords, frame: pl.DataFrame, regular: bool, text: pl.Expr) -> None:
        """Lines without quotes or a lone CR: each is a record, its fields as ``read_fields`` split them."""
        names = field_names(_WIDTH)
        out.records += frame.height
        if not regular:
            odd = frame.filter(pl.col("fields") != _WIDTH)
            if odd.height:
                blank = (pl.col("fields") == 1) & pl.col("f0").str.contains(r"^[ \t]*$")
                out.blank += odd.filter(blank).height
                rest = odd.filter(~blank).select("source_line", "fields", text.alias("text"))
                for line, count, line_text in rest.iter_rows():
                    self.odd_record(out, line, line_text + ("\r" if line == self.cr_line else ""), count)
                frame = frame.filter(pl.col("fields") == _WIDTH)
        sizes = [pl.col(name).str.len_bytes().cast(pl.Int64) for name in names]
        out.candidates.append(
            frame.select(
                *(pl.col(f"f{index}").alias(name) for name, index in self.positions.items()),
                "source_line",
                size=pl.sum_horizontal(sizes) + (_WIDTH - 1),
                raw=pl.lit(None, pl.String),
            )
        )

    def take_simple(self, out: _ChunkRecords, simple: pl.DataFrame) -> None:
        """Well-formed quoted lines, one record each: unquoted by one Polars read."""
        if simple.height == 0:
            return
        out.records += simple.height
        names = field_names(_WIDTH)
        joined = ("\n" + "\n".join(simple["text"].to_list()) + "\n").encode(
            "utf-8"
        )  # "\n": keep a leading BOM
        fields = pl.read_csv(
            joined, has_header=False, quote_char='"', schema={name: pl.String() for name in [*names, "_extra"]},
            missing_columns="insert", extra_columns="ignore", truncate_ragged_lines=True, raise_if_empty=False,
        ).slice(1)  # fmt: skip
        if fields.height != simple.height:  # pragma: no cover - Polars would have changed its quoting rules
            raise AssertionError(f"read {fields.height} records from {simple.height} quoted lines")
        count = (
            pl.col("text")
            .str.replace_all(_QUOTED_FIELD, "")
            .str.count_matches(",", literal=True)
            .cast(pl.Int64)
            + 1
        )
        frame = pl.concat([simple.select("source_line", "text", fields=count), fields], how="horizontal")
        odd = frame.filter(pl.col("fields") != _WIDTH)
        for line, line_text, count_ in odd.select("source_line", "text", "fields").iter_rows():
            self.odd_record(out, line, line_text + ("\r" if line == self.cr_line else ""), count_)
        good = frame.filter(pl.col("fields") == _WIDTH) if odd.height else frame
        out.candidates.append(
            good.select(
                *(pl.col(f"f{index}").fill_null("").alias(name) for name, index in self.positions.items()),
                "source_line",
                size=pl.col("text").str.len_bytes().cast(pl.Int64),
                raw=pl.col("text"),
            )
        )

    def parse_hard(
        self, hard: list[int], n: int, texts: _LineTexts, at_eof: bool
    ) -> tuple[list[_CsvRecord], list[int]] | int:
        """Read the records that start at the chunk's hard lines with Python's ``csv`` module.

        Each hard line is at a record boundary (every line before it was a whole record), so a reader
        started there reads exactly what the whole-file reader read: it goes on while the next record
        also starts at a hard line, and takes every line its records span.

        Returns:
            The records and the lines they took; or the line where a record starts that is still open
            at the chunk's end (not the file's: the chunk must be cut before it).
        """
        records: list[_CsvRecord] = []
        taken: list[int] = []
        starts = set(hard)
        free = 0
        for first in hard:
            if first < free:
                continue
            reader = csv.reader((texts[k] + "\n" for k in range(first, n)), strict=True)
            previous = 0
            while first + previous < n:
                try:
                    fields, error = next(reader), None
                except StopIteration:  # pragma: no cover - a line is left, so there is a record
                    break
                except csv.Error as exc:
                    fields, error = [], str(exc)
                end = min(max(reader.line_num, previous + 1), n - first)
                start = first + previous
                if error == "unexpected end of data" and not at_eof:
                    return start
                records.append(_CsvRecord(start, first + end - 1, fields, error, ""))
                previous = end
                if first + previous not in starts:
                    break
            free = first + previous
            taken.extend(range(first, free))
        for record in records:
            record.raw = "\n".join(texts[k] for k in range(record.start, record.end + 1))
        return records, taken

    def take_csv_records(self, out: _ChunkRecords, records: list[_CsvRecord], first_line: int) -> None:
        """Records read by ``csv``: judge the record-level problems here, queue the rest as candidates."""
        rows: list[tuple[object, ...]] = []
        for record in records:
            line = first_line + record.start
            out.records += 1
            if record.error is None and record.end == record.start and record.raw.strip() == "":
                out.blank += 1
                continue
            out.continuation += record.end - record.start
            if record.error == "unexpected end of data":
                out.truncated = FileRejected(
                    "TRUNCATED", f"line {line}: a quoted field is never closed (file cut?)", line=line
                )
                out.odd[line] = [
                    (None, record.raw[:_MAX_VALUE_CHARS], "TRUNCATED", "quoted field never closed")
                ]
            elif record.error is not None:
                code = "BAD_CHAR" if "\r" in record.raw else "FORMAT_VIOLATION"
                if "field larger than field limit" in record.error:
                    code = "LIMIT_EXCEEDED"
                out.odd[line] = [
                    (None, record.raw[:_MAX_VALUE_CHARS], code, f"unreadable CSV record: {record.error}")
                ]
            elif len(record.fields) != _WIDTH:
                self.odd_record(out, line, record.raw, len(record.fields), counted=True)
            else:
                values = [record.fields[index] for index in self.positions.values()]
                rows.append((*values, line, len(record.raw.encode("utf-8")), record.raw))
        if rows:
            schema = {**dict.fromkeys(self.positions, pl.String()), "source_line": pl.Int64(), "size": pl.Int64(),
                      "raw": pl.String()}  # fmt: skip
            out.candidates.append(pl.DataFrame(rows, schema=schema, orient="row"))

    def odd_record(
        self, out: _ChunkRecords, line: int, text: str, count: int, *, counted: bool = False
    ) -> None:
        """A record whose field count is off: blank (only whitespace), over the line limit, or FIELD_COUNT."""
        if not counted and text.strip() == "":
            out.blank += 1
            return
        size = len(text.encode("utf-8"))
        if size > self.limits.max_line_bytes:
            out.odd[line] = [_record_too_long(text, size, self.limits)]
        else:
            out.odd[line] = [
                (None, text[:_MAX_VALUE_CHARS], "FIELD_COUNT", f"expected {_WIDTH} fields, got {count}")
            ]


class _LineTexts:
    """The text of any line of a chunk (without its line end), computed once when first asked for."""

    def __init__(self, frame: pl.DataFrame, text: pl.Expr, lone_cr_at_end: bool) -> None:
        self.frame = frame
        self.text = text
        self.lone_cr_at_end = lone_cr_at_end  # the file's last line ends in a CR that Polars dropped
        self.series: pl.Series | None = None

    def __getitem__(self, index: int) -> str:
        if self.series is None:
            self.series = self.frame.select(self.text.fill_null("")).to_series()
        value = str(self.series[index])
        if self.lone_cr_at_end and index == self.frame.height - 1:
            value += "\r"
        return value


def _joined(names: Sequence[str]) -> pl.Expr:
    return pl.concat_str([pl.col(name) for name in names], separator=",")


def _line_start(data: bytes, lines: int, index: int) -> int:
    """The offset in ``data`` (``lines`` whole lines, the last ending with a LF) of line ``index``."""
    position = len(data) - 1
    for _ in range(lines - index):
        position = data.rfind(b"\n", 0, position)
    return position + 1


def _concat_by_line(frames: list[pl.DataFrame]) -> pl.DataFrame:
    frames = [frame for frame in frames if frame.height] or frames[:1]
    if len(frames) == 1:
        return frames[0]
    return pl.concat(frames, how="vertical").sort("source_line")


# -- the judge: one set of checks for CSV and Parquet -------------------------------------------------


@dataclass
class _Verdict:
    """What the per-record path found: problems, or the record's values after all."""

    problems: list[_Entry]
    units: int | None = None
    booked_at: datetime | None = None
    whole_record: bool = False


class _Judge:
    """Checks text records over whole columns, converts the good ones, and sends them on.

    Args:
        source_file: carried on every row and entry.
        context: time zone, sink and limits.
        names: the file's columns in file order (to show a record's text).
    """

    def __init__(self, source_file: str, context: ParseContext, names: Sequence[str]) -> None:
        self.source_file = source_file
        self.context = context
        self.limits = context.limits
        self.names = list(names)
        self.problems = Problems(source_file, context.limits.max_problem_lines)
        self.output = Output(context, LedgerEntry, source_file)

    def judge(
        self, records: pl.DataFrame, odd: Mapping[int, list[_Entry]], *, screen_characters: bool
    ) -> None:
        """Judge one chunk: ``records`` with ten text columns, ``odd`` records already found bad.

        Args:
            records: the ten columns by name (text), ``source_line``, ``size`` (the record's bytes) and
                ``raw`` (its text as written when that is not the fields joined by commas).
            odd: entries of records that are bad as a whole (unreadable, wrong field count): their
                rejected rows hold nothing but the line.
            screen_characters: False when the chunk is known to hold no bad character.
        """
        if self.problems.overflowed:  # the file is rejected: account for its records, judge no further
            self.problems.undescribed += records.height + len(odd)
            self.send_rejected(_convert(records), set(), odd)
            return
        checked = _convert(records)
        ok = _ok_expr(self.limits, screen_characters=screen_characters)
        checked = checked.with_columns(_ok=ok.fill_null(False))
        found: dict[int, list[_Entry]] = dict(odd)
        whole: set[int] = set(odd)
        fallback: list[tuple[int, int | None, datetime | None]] = []
        suspects = checked.filter(~pl.col("_ok"))
        if suspects.height:
            suspects = suspects.with_columns(raw=pl.coalesce("raw", _joined(self.names)))
            for row in suspects.iter_rows(named=True):
                values = {name: row[name] for name in LEDGER_COLUMNS}
                verdict = _record_verdict(values, row["raw"], row["size"], self.limits)
                line = row["source_line"]
                if verdict.problems:
                    found[line] = verdict.problems
                    if verdict.whole_record:
                        whole.add(line)
                else:  # the expressions are exact; were one not, it would cost speed, not rows
                    fallback.append((line, verdict.units, verdict.booked_at))
        for line in sorted(found):
            self.add_line(line, found[line])
        good = checked.filter(pl.col("_ok")) if suspects.height else checked
        if fallback:  # (test_per_record_path_agrees_with_the_expressions)
            exact = pl.DataFrame(fallback, schema={"source_line": pl.Int64(), "_units": pl.Int64(),
                                                   "_booked": _CANONICAL_SCHEMA["booked_at"]}, orient="row")  # fmt: skip
            rescued = suspects.drop("_units", "_booked", "raw").join(exact, on="source_line")
            good = pl.concat([good.drop("raw"), rescued.select(good.drop("raw").columns)]).sort("source_line")
        bad_lines = set(found)
        good = self.second_line_of_defence(good, bad_lines)
        self.output.rows(good)
        if bad_lines:
            bad = checked.filter(pl.col("source_line").is_in(sorted(bad_lines)))
            self.send_rejected(bad, whole, {line: found[line] for line in odd})

    def second_line_of_defence(self, good: pl.DataFrame, bad_lines: set[int]) -> pl.DataFrame:
        """Validate good records with ``RawLedgerRow``, convert them, validate with ``LedgerEntry``."""
        if good.height == 0:
            return good.select(**_canonical_exprs(self.source_file, self.context.timezone))
        raw = good.select(
            *(_null_if_empty(name) if name in OPTIONAL_COLUMNS else pl.col(name) for name in LEDGER_COLUMNS),
            source_file=pl.lit(self.source_file),
            source_line=pl.col("source_line"),
        )
        _, failures = split_valid(raw, RawLedgerRow, default_reason_code="FORMAT_VIOLATION")
        if failures.height:
            self.add_entries(failures)
            bad_lines.update(failures["source_line"].to_list())
            good = good.filter(~pl.col("source_line").is_in(failures["source_line"].implode()))
        rows = good.select(**_canonical_exprs(self.source_file, self.context.timezone))
        valid, failures = split_valid(rows, LedgerEntry, reason_codes={"sign_follows_kind": "SIGN_VIOLATION"})
        if failures.height:
            self.add_entries(failures)
            bad_lines.update(failures["source_line"].to_list())
        return valid

    def add_line(self, line: int, entries: list[_Entry]) -> None:
        """Record every problem of one line (counted as one undescribed line past the limit)."""
        if line not in self.problems.lines and (
            self.problems.overflowed or len(self.problems.lines) >= self.problems.max_lines
        ):
            self.problems.undescribed += 1
            return
        for column, value, code, reason in entries:
            self.problems.add(line, column, value, code, reason)

    def add_entries(self, failures: pl.DataFrame) -> None:
        """Record quarantine entries from ``split_valid``, line by line."""
        by_line: dict[int, list[_Entry]] = {}
        for entry in failures.iter_rows(named=True):
            by_line.setdefault(entry["source_line"], []).append(
                (entry["column"], entry["value"], entry["reason_code"], entry["reason"])
            )
        for line in sorted(by_line):
            self.add_line(line, by_line[line])

    def send_rejected(self, bad: pl.DataFrame, whole: set[int], odd: Mapping[int, object]) -> None:
        """Best-effort rows of bad records: one expression set over them (nothing read of a whole-record problem)."""
        readable = ~pl.col("source_line").is_in(sorted(whole)) if whole else pl.lit(True)

        def text(name: str) -> pl.Expr:
            return pl.when(readable & (pl.col(name) != "")).then(pl.col(name))

        units = pl.when(readable).then(pl.col("_units"))
        frames = [
            bad.select(
                source_file=pl.lit(self.source_file),
                source_line="source_line",
                channel=text("channel"),
                channel_txn_id=text("channel_txn_id"),
                order_no=text("order_no"),
                kind=text("kind"),
                amount_minor=pl.when(text("kind") == "refund").then(-units).otherwise(units),
                currency=text("currency"),
            )
        ]
        judged = set(bad["source_line"].to_list())
        lines = sorted(line for line in odd if line not in judged)
        if lines:
            frames.append(
                pl.DataFrame({"source_line": lines}, schema={"source_line": pl.Int64()}).with_columns(
                    source_file=pl.lit(self.source_file)
                )
            )
        rejected = (
            pl.concat(frames, how="diagonal_relaxed").sort("source_line") if len(frames) > 1 else frames[0]
        )
        self.output.rejected(rejected.with_columns(
            *(pl.col(name).cast(pl.String) for name in ("channel", "channel_txn_id", "order_no", "kind", "currency")),
        ))  # fmt: skip

    def parsed_file(self, file_format: str, lines: LineCounts, truncated: FileRejected | None) -> ParsedFile:
        """The ParsedFile of what was sent; TOO_MANY_BAD_ROWS before TRUNCATED."""
        errors = [error for error in (self.overflow_error(), truncated) if error is not None]
        return self.output.parsed_file(
            file_format=file_format, role=ROLE, channel=CHANNEL, quarantine=self.problems.frame(),
            file_error=errors[0] if errors else None, lines=lines,
        )  # fmt: skip

    def overflow_error(self) -> FileRejected | None:
        if not self.problems.overflowed:
            return None
        return FileRejected(
            "TOO_MANY_BAD_ROWS",
            f"more than {self.problems.max_lines} bad lines: a format change, not bad rows",
        )


def _null_if_empty(name: str) -> pl.Expr:
    return pl.when(pl.col(name) != "").then(pl.col(name)).alias(name)


def _canonical_exprs(source_file: str, timezone: str) -> dict[str, pl.Expr]:
    """``LedgerEntry`` columns from judged records (``_units`` positive minor units, ``_booked`` UTC)."""
    units = pl.col("_units")
    return {
        "entry_id": pl.col("entry_id"),
        "order_no": _null_if_empty("order_no"),
        "payment_id": _null_if_empty("payment_id"),
        "channel": pl.col("channel"),
        "channel_txn_id": _null_if_empty("channel_txn_id"),
        "kind": pl.col("kind"),
        "amount_minor": pl.when(pl.col("kind") == "refund").then(-units).otherwise(units),
        "currency": pl.col("currency"),
        "status": pl.col("status"),
        "booked_at": pl.col("_booked"),
        "business_date": pl.col("_booked").dt.convert_time_zone(timezone).dt.date(),
        "source_file": pl.lit(source_file),
        "source_line": pl.col("source_line"),
    }


def _ok_expr(limits: Limits, *, screen_characters: bool) -> pl.Expr:
    """True for a record the per-record rules would pass (never True for one they would not)."""
    sizes = [pl.col(name).str.len_bytes() for name in LEDGER_COLUMNS]
    ok = (
        (pl.col("size") <= limits.max_line_bytes)
        & pl.all_horizontal(size <= limits.max_field_bytes for size in sizes)
        # Python's str.strip() whitespace is Unicode White_Space plus U+001C–U+001F
        & pl.col("entry_id").str.contains(r"[^\s\x1c-\x1f]")
        & pl.all_horizontal(pl.col(name).is_in(list(allowed)) for name, allowed in _ENUMS.items())
        & pl.col("_units").is_not_null()
        & pl.col("_booked").is_not_null()
    )
    if screen_characters:
        ok = ok & ~pl.any_horizontal(bad_character_expr(name) for name in LEDGER_COLUMNS)
    return ok


def _convert(records: pl.DataFrame) -> pl.DataFrame:
    """``records`` with ``_units`` (:func:`_amount_steps`) and ``_booked`` (:func:`_booked_at_steps`).

    Each step is one ``with_columns`` over columns the previous steps made, so that no part of an
    expression is computed twice (a nested expression would repeat its shared parts at every use).
    """
    frame = records.lazy()
    for step in (*_amount_steps(), *_booked_at_steps()):
        frame = frame.with_columns(**step)
    return frame.drop(cs.starts_with("__")).collect()


def _amount_steps() -> list[dict[str, pl.Expr]]:
    """Steps to ``_units``: ``amount`` in positive minor units of ``currency``, exactly, or null.

    Null when the rules reject it: a plain decimal with at most the currency's exponent decimals, not
    zero. ``'1234.5'`` CNY → ``123450``: the digits times 10 to the missing decimals (integers only).
    """
    amount, col = pl.col("amount"), pl.col
    powers = {missing: 10**missing for missing in range(_MAX_EXPONENT + 1)}
    return [
        {
            "__exponent": col("currency").replace_strict(
                CURRENCY_EXPONENT, default=None, return_dtype=pl.Int64
            ),
            "__dot": amount.str.find(".", literal=True).cast(pl.Int64),
            "__amount_length": amount.str.len_bytes().cast(pl.Int64),
            "__amount_shape": amount.str.contains(_AMOUNT_SHAPE),
            "__digits": amount.str.replace(".", "", literal=True).cast(pl.Int64, strict=False),
        },
        {
            "__decimals": pl.when(col("__dot").is_null())
            .then(0)
            .otherwise(col("__amount_length") - col("__dot") - 1)
        },
        {
            "__units": pl.when(col("__amount_shape")).then(
                col("__digits")
                * (col("__exponent") - col("__decimals")).replace_strict(
                    powers, default=None, return_dtype=pl.Int64
                )
            )
        },
        {"_units": pl.when(col("__units") > 0).then(col("__units"))},
    ]


def _booked_at_steps() -> list[dict[str, pl.Expr]]:
    """Steps to ``_booked``: ``booked_at`` (ISO 8601, seconds, offset) as a UTC timestamp, or null.

    Null when Python's ``datetime.fromisoformat`` would refuse the text or its UTC time leaves Python's
    datetime range. Built from the digits with integer arithmetic (days from the civil date), so it is
    exactly what ``fromisoformat(text).astimezone(UTC)`` gives: an offset's minutes may exceed 59 as
    long as the offset stays under 24 hours, as in Python.
    """
    text, col = pl.col("booked_at"), pl.col

    def number(start: int, length: int) -> pl.Expr:
        return text.str.slice(start, length).cast(pl.Int64, strict=False)

    year, month, day, hour, minute, second = (col(f"__{name}") for name in ("y", "mo", "d", "h", "mi", "s"))
    zone_length = col("__zone_length")
    return [
        {
            "__shape": text.str.contains(ISO_WITH_OFFSET),  # then the slices below are the parts
            "__length": text.str.len_bytes().cast(pl.Int64),
            "__y": number(0, 4),
            "__mo": number(5, 2),
            "__d": number(8, 2),
            "__h": number(11, 2),
            "__mi": number(14, 2),
            "__s": number(17, 2),
            "__fraction": text.str.slice(19, 1) == ".",
            # Z, +hh:mm or +hhmm
            "__zone_length": pl.when(text.str.ends_with("Z"))
            .then(1)
            .when(text.str.slice(-3, 1) == ":")
            .then(6)
            .otherwise(5),
            "__zone_minutes": number(-2, 2),
        },  # fmt: skip
        {
            "__zone_hours": pl.when(zone_length == 6).then(number(-5, 2)).otherwise(number(-4, 2)),
            "__zone_sign": pl.when(zone_length == 1)
            .then(0)
            .when(text.str.slice(-zone_length, 1) == "-")
            .then(-1)
            .otherwise(1),
            "__fraction_digits": pl.when(col("__fraction"))
            .then(col("__length") - 20 - zone_length)
            .otherwise(0),
            "__leap": ((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0),
            "__shifted": year - (month <= 2).cast(pl.Int64),  # the year of a March-based calendar
        },  # fmt: skip
        {
            "__zone_seconds": pl.when(zone_length == 1)
            .then(0)
            .otherwise(col("__zone_hours") * 3600 + col("__zone_minutes") * 60),
            "__micro": pl.when(col("__fraction_digits") > 0)
            .then(
                text.str.slice(20, col("__fraction_digits")).str.pad_end(6, "0").cast(pl.Int64, strict=False)
            )
            .otherwise(0),
            "__month_days": month.replace_strict(_DAYS_IN_MONTH, default=None, return_dtype=pl.Int64)
            + ((month == 2) & col("__leap")).cast(pl.Int64),
            "__era": col("__shifted") // 400,
        },  # fmt: skip
        {
            "__year_of_era": col("__shifted") - col("__era") * 400,
            "__day_of_year": (153 * ((month + 9) % 12) + 2) // 5 + day - 1,
            "__valid": col("__shape")
            & (year >= 1)
            & (month >= 1)
            & (month <= 12)
            & (day >= 1)
            & (day <= col("__month_days"))
            & (hour <= 23)
            & (minute <= 59)
            & (second <= 59)
            & (col("__zone_seconds") < 86400),
        },  # fmt: skip
        {
            # days since 1970-01-01 of the proleptic Gregorian date (H. Hinnant's days_from_civil)
            "__days": col("__era") * 146097
            + col("__year_of_era") * 365
            + col("__year_of_era") // 4
            - col("__year_of_era") // 100
            + col("__day_of_year")
            - 719468,
        },  # fmt: skip
        {
            "__micros": (
                col("__days") * 86400
                + hour * 3600
                + minute * 60
                + second
                - col("__zone_sign") * col("__zone_seconds")
            )
            * 1_000_000
            + col("__micro"),
        },  # fmt: skip
        {
            "_booked": pl.when(
                col("__valid").fill_null(False) & (col("__micros") >= _FIRST_US) & (col("__micros") < _END_US)
            )
            .then(col("__micros"))
            .cast(_CANONICAL_SCHEMA["booked_at"]),
        },
    ]


def _record_too_long(text: str, size: int, limits: Limits) -> _Entry:
    return (None, text[:_MAX_VALUE_CHARS], "LIMIT_EXCEEDED",
            f"record of {size} bytes, over the {limits.max_line_bytes} byte limit")  # fmt: skip


def _record_verdict(values: dict[str, str], raw: str, size: int, limits: Limits) -> _Verdict:
    """Every problem of one record with ten fields, in the order a person reads them; or its values."""
    if size > limits.max_line_bytes:
        return _Verdict([_record_too_long(raw, size, limits)], whole_record=True)
    problems: list[_Entry] = []

    def problem(column: str, code: str, reason: str) -> None:
        problems.append((column, values[column][:_MAX_VALUE_CHARS], code, reason))

    if bad_characters(",".join(values.values())) is not None:  # one look per row; then find the column
        for column in LEDGER_COLUMNS:
            found = bad_characters(values[column])
            if found:
                problem(column, "BAD_CHAR", f"{column}: {found}")
    for column in LEDGER_COLUMNS:
        length = len(values[column].encode("utf-8"))
        if length > limits.max_field_bytes:
            problem(
                column,
                "LIMIT_EXCEEDED",
                f"{column}: {length} bytes, over the {limits.max_field_bytes} byte limit",
            )
    if not (
        values["channel"] in CHANNELS and values["kind"] in LEDGER_KINDS and values["status"] in LEDGER_STATUSES
        and values["entry_id"].strip() and values["amount"].strip() and values["currency"].strip()
        and values["booked_at"].strip()
    ):  # fmt: skip
        # Some required or enum column is off (enum values are never blank): say which.
        for column in REQUIRED_COLUMNS:
            if values[column].strip() == "":
                problem(column, "REQUIRED_EMPTY", f"{column} is required")
        for column, allowed in _ENUMS.items():
            if values[column].strip() != "" and values[column] not in allowed:
                problem(
                    column, "UNKNOWN_ENUM", f"{column} {values[column]!r} is not one of {'|'.join(allowed)}"
                )
    currency = values["currency"]
    if currency.strip() != "" and currency not in CURRENCY_EXPONENT:
        problem("currency", "BAD_CURRENCY", f"currency {currency!r} is not a known ISO 4217 code")
    units = _amount_minor(values["amount"], currency, problem)
    booked_at = _booked_at(values["booked_at"], problem)
    return _Verdict(problems, units, booked_at)


def _amount_minor(text: str, currency: str, report: Callable[[str, str, str], None]) -> int | None:
    """The positive amount in minor units, or None after reporting why it cannot be read."""
    if text.strip() == "":
        return None  # REQUIRED_EMPTY already reported
    if not _AMOUNT.match(text):
        report("amount", "BAD_AMOUNT", f"amount {text!r} is not a plain positive decimal")
        return None
    if currency not in CURRENCY_EXPONENT:
        return None  # the scale is unknown; BAD_CURRENCY or REQUIRED_EMPTY already reported
    try:
        units = parse_decimal_text(
            text, scale=CURRENCY_EXPONENT[currency], exact_scale=False, allow_negative=False
        )
    except AmountError as exc:
        report("amount", exc.reason_code, f"amount {exc} ({currency})")
        return None
    if units == 0:
        report("amount", "BAD_AMOUNT", f"amount {text!r} is zero")
        return None
    return units


def _booked_at(text: str, report: Callable[[str, str, str], None]) -> datetime | None:
    """``booked_at`` as an aware UTC datetime, or None after reporting why it cannot be read."""
    if text.strip() == "":
        return None
    if not _BOOKED_AT.match(text):
        report("booked_at", "BAD_DATE", f"booked_at {text!r} is not ISO 8601 with an offset")
        return None
    try:
        return datetime.fromisoformat(text).astimezone(UTC)
    except (ValueError, OverflowError) as exc:  # OverflowError: the UTC time is before year 1 or after 9999
        report("booked_at", "BAD_DATE", f"booked_at {text!r}: {exc}")
        return None


def _rejected_file(
    source_file: str, file_format: str, error: FileRejected, counts: LineCounts | None = None
) -> ParsedFile:
    """A ParsedFile for a file rejected before any row could be kept."""
    return rejected_file(
        source_file,
        error,
        file_format=file_format,
        role=ROLE,
        channel=CHANNEL,
        model=LedgerEntry,
        lines=counts,
    )


# -- Parquet ------------------------------------------------------------------------------------------


def parse_ledger_parquet(data: bytes | Source, source_file: str, context: ParseContext) -> ParsedFile:
    """Parse a ledger Parquet export, batch by batch.

    String columns are judged exactly like CSV text (null = empty). ``amount`` may be text, a
    decimal column (converted exactly through its text) or an integer column; a float column is
    an upstream bug and rejects the file (``FLOAT_AMOUNT``, BAD_INPUTS L13). ``booked_at`` may be a
    tz-aware timestamp or ISO text; a naive timestamp is ``BAD_DATE`` on each row.

    Args:
        data: the file's bytes, or a Source over them (read through a file-like view, never whole).
        source_file: the path relative to the date's inbox folder, carried on every row.
        context: the merchant's time zone (``timezone``), the sink for rows, the limits (a batch holds
            about ``chunk_bytes / 128`` rows).

    Returns:
        A ParsedFile (format ``ledger_parquet``, role and channel ``ledger``) whose ``source_line`` is
        the 1-based row number.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    source = as_source(data)
    if source.size == 0:
        return _rejected_file(
            source_file, FORMAT_PARQUET, FileRejected("EMPTY_FILE", "the file is empty (0 bytes)")
        )
    readable = pa.BufferReader(data) if isinstance(data, bytes) else _SourceFile(source)
    try:
        parquet = pq.ParquetFile(readable)
        schema = parquet.schema_arrow
    except (pa.ArrowException, OSError, ValueError) as exc:
        error = FileRejected("PARQUET_MALFORMED", f"not a readable Parquet file: {exc}")
        return _rejected_file(source_file, FORMAT_PARQUET, error)
    try:
        names = _check_header(list(schema.names))
        for index, name in enumerate(names):
            _parquet_text_type(name, schema.field(index).type)
    except FileRejected as exc:
        return _rejected_file(source_file, FORMAT_PARQUET, exc)
    judge = _Judge(source_file, context, names)
    rows = 0
    batch_size = max(1, context.limits.chunk_bytes // _PARQUET_ROW_BYTES)
    batches = parquet.iter_batches(batch_size=batch_size)
    while True:
        try:
            batch = next(batches, None)
        except (
            pa.ArrowException,
            OSError,
            ValueError,
        ) as exc:  # a damaged page: nothing of the file is usable
            judge.output.discard()
            error = FileRejected("PARQUET_MALFORMED", f"not a readable Parquet file: {exc}")
            return _rejected_file(source_file, FORMAT_PARQUET, error)
        if batch is None:
            break
        try:
            texts = [_parquet_texts(name, batch.column(index)) for index, name in enumerate(names)]
        except FileRejected as exc:  # a timestamp that cannot be read in microseconds
            judge.output.discard()
            return _rejected_file(source_file, FORMAT_PARQUET, exc)
        # a CR is bad even before a LF here (no line ends inside Parquet values)
        screen = any(may_hold_bad_characters(data, cr_is_bad=True) for data in map(_string_bytes, texts))
        frame = pl.from_arrow(pa.RecordBatch.from_arrays(texts, names=names))
        assert isinstance(frame, pl.DataFrame)
        sizes = [pl.col(name).str.len_bytes().cast(pl.Int64) for name in LEDGER_COLUMNS]
        records = frame.select(
            *(pl.col(name).fill_null("") for name in LEDGER_COLUMNS),
            source_line=pl.int_range(rows + 1, rows + 1 + batch.num_rows, dtype=pl.Int64),
        ).with_columns(size=pl.sum_horizontal(sizes) + (_WIDTH - 1), raw=pl.lit(None, pl.String))
        judge.judge(records, {}, screen_characters=screen)
        rows += batch.num_rows
    return judge.parsed_file(FORMAT_PARQUET, LineCounts(physical=rows, data=rows), None)


class _SourceFile(io.RawIOBase):
    """A read-only, seekable file over a Source, so pyarrow reads only the byte ranges it needs."""

    def __init__(self, source: Source) -> None:
        super().__init__()
        self._source = source
        self._position = 0

    def readable(self) -> bool:
        """Always readable."""
        return True

    def seekable(self) -> bool:
        """Always seekable."""
        return True

    def tell(self) -> int:
        """The current position."""
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        """Move to ``offset`` from the start, the current position or the end."""
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._source.size}[whence]
        self._position = max(0, base + offset)
        return self._position

    def readinto(self, buffer: Any) -> int:
        """Read up to ``len(buffer)`` bytes at the current position into ``buffer``."""
        view = memoryview(buffer).cast("B")
        data = self._source.read(self._position, min(self._position + len(view), self._source.size))
        view[: len(data)] = data
        self._position += len(data)
        return len(data)


def _parquet_text_type(name: str, kind: Any) -> None:
    """Raise FileRejected for a column type whose values cannot be read as the export's text."""
    import pyarrow as pa

    if pa.types.is_dictionary(kind):
        kind = kind.value_type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_string_view(kind):
        return
    if pa.types.is_integer(kind):
        return
    if name == "amount" and pa.types.is_floating(kind):
        raise FileRejected(
            "FLOAT_AMOUNT", f"column amount is {kind}: money exported as float (upstream bug, BAD_INPUTS L13)"
        )
    if name == "amount" and pa.types.is_decimal(kind):
        return
    if name == "booked_at" and pa.types.is_timestamp(kind):
        return
    raise FileRejected("COLUMN_TYPE", f"column {name} has unsupported type {kind}")


def _parquet_texts(name: str, column: Any) -> Any:
    """One Parquet column (an Arrow array) as the text a CSV would hold, as an Arrow string array.

    Integers as their digits; decimals exactly, without the column's trailing zeros (``129.9000`` →
    ``129.9``); a tz-aware timestamp in UTC and a naive one as Python's ``isoformat`` writes them.
    Nulls stay null (empty text).
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    kind = column.type
    if pa.types.is_dictionary(kind):
        column = pc.cast(column, kind.value_type)
        kind = column.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_string_view(kind):
        return column
    if pa.types.is_integer(kind):
        return pc.cast(column, pa.large_string())
    if pa.types.is_decimal(kind):
        if kind.scale < 0:  # an integer column in disguise: print its digits
            whole = (pa.decimal128 if kind.precision - kind.scale <= 38 else pa.decimal256)(
                kind.precision - kind.scale, 0
            )
            return pc.cast(pc.cast(column, whole), pa.large_string())
        text = pl.from_arrow(pc.cast(column, pa.large_string()))
        assert isinstance(text, pl.Series)
        if kind.scale > 0:
            text = text.str.strip_chars_end("0").str.strip_chars_end(".")
        return text.to_arrow()
    if pa.types.is_timestamp(kind):
        if kind.tz is None:
            moments = pl.from_arrow(column)
            suffix = ""
        else:
            try:
                moments = pl.from_arrow(pc.cast(column, pa.timestamp("us", tz="UTC")))
            except pa.ArrowInvalid as exc:
                raise FileRejected("COLUMN_TYPE", f"column booked_at: {exc}") from None
            suffix = "+00:00"
        assert isinstance(moments, pl.Series)
        moment = pl.col("moment")
        micro = moment.dt.microsecond()
        text = pl.DataFrame({"moment": moments}).select(
            pl.concat_str(
                moment.dt.strftime("%Y-%m-%dT%H:%M:%S"),
                pl.when(micro != 0)
                .then(pl.lit(".") + micro.cast(pl.String).str.zfill(6))
                .otherwise(pl.lit("")),
                pl.lit(suffix),
            )
        )
        return text.to_series().to_arrow()
    # unreachable: _parquet_text_type refused every other type before the first batch
    raise FileRejected("COLUMN_TYPE", f"column {name} has unsupported type {kind}")


def _string_bytes(array: Any) -> bytes:
    """The character data of an Arrow (large) string array, for the C-speed bad-character screen."""
    import pyarrow as pa

    if not (pa.types.is_string(array.type) or pa.types.is_large_string(array.type)):
        array = array.cast(pa.large_string())
    data = array.buffers()[2]
    return b"" if data is None else data.to_pybytes()
