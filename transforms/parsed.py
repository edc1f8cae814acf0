"""What every adapter takes and returns: the contract between parsing and the rest of the pipeline.

An adapter is a pure function ``parse_x(source, source_file, context) -> ParsedFile``:

- ``source`` is the file's bytes, or a :class:`Source` that reads byte ranges of it (the flow opens
  the file; the adapter never touches the filesystem), so that a file bigger than memory is read in
  chunks of ``context.limits.chunk_bytes``;
- valid canonical rows and the best-effort rows of quarantined lines go to ``context.sink`` chunk by
  chunk (a :class:`RowSink`); with no sink they are collected into ``ParsedFile.rows`` /
  ``ParsedFile.rejected`` (tests, small files);
- it never raises on bad input: a bad row becomes a quarantine entry, a bad file ``file_error``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Protocol

import polars as pl

#: Quarantine entries: one row per problem (a bad line may have several problems).
QUARANTINE_SCHEMA: dict[str, pl.DataType] = {
    "source_file": pl.String(),
    "source_line": pl.Int64(),
    "column": pl.String(),
    "value": pl.String(),
    "reason_code": pl.String(),
    "reason": pl.String(),
}

#: One row per quarantined *data line*, holding whatever could be read of it (nulls elsewhere),
#: so that the line still gets its ``quarantined`` outcome and its money is still counted.
REJECTED_SCHEMA: dict[str, pl.DataType] = {
    "source_file": pl.String(),
    "source_line": pl.Int64(),
    "channel": pl.String(),
    "channel_txn_id": pl.String(),
    "order_no": pl.String(),
    "kind": pl.String(),
    "amount_minor": pl.Int64(),
    "currency": pl.String(),
}


class FileRejected(Exception):  # noqa: N818 - a finding, not a programming error
    """A whole file is unusable (bad format, truncated, totals off, unsafe archive).

    Attributes:
        reason_code: BAD_INPUTS §3.1 code, e.g. ``TRUNCATED``, ``HEADER_MISMATCH``.
        line: the 1-based physical line where the problem was found, when known.
    """

    def __init__(self, reason_code: str, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.reason_code = reason_code
        self.message = message
        self.line = line


@dataclass(frozen=True)
class ControlTotal:
    """One footer / summary figure compared with the same figure computed from the parsed rows.

    ``footer`` and ``parsed`` are exact: counts as integers, money as ``Decimal`` in the file's own
    unit (yuan for WeChat and Alipay). ``parsed`` is None when some row's amount could not be read,
    so the comparison is not verifiable (DESIGN §9).
    """

    name: str
    footer: Decimal
    parsed: Decimal | None

    @property
    def verifiable(self) -> bool:
        """True when every row's amount could be read."""
        return self.parsed is not None

    @property
    def ok(self) -> bool:
        """True when verifiable and equal; an unverifiable total is not a mismatch."""
        return self.parsed is None or self.parsed == self.footer


@dataclass(frozen=True)
class LineCounts:
    """Physical lines of a decoded file by role.

    ``physical = data + continuation + header + preamble + footer + blank + unread``, where ``data``
    counts records (one outcome each), ``continuation`` the extra lines of records that span several
    lines (a quoted CSV field with an embedded newline), and ``unread`` the lines of a file rejected
    before they could be given a role (counted as LF-terminated runs of bytes).
    """

    physical: int = 0
    data: int = 0
    header: int = 0
    preamble: int = 0
    footer: int = 0
    blank: int = 0
    continuation: int = 0
    unread: int = 0


@dataclass(frozen=True)
class ParsedFile:
    """The result of parsing one input file.

    Attributes:
        source_file: path relative to the date's inbox folder (``alipay/x.zip!member.csv``).
        format: ``wechatpay_trade``, ``alipay_trade``, ``alipay_trade_summary``, ``ledger``,
            ``camt053``, ... (the adapter's name for what it recognised).
        role: ``channel``, ``ledger``, ``bank`` or ``reference`` (a file read only to cross-check,
            such as the Alipay 汇总, which produces no rows).
        rows: valid rows in the canonical schema of ``role`` (schemas/canonical.py) when the adapter
            ran without a sink; empty when they went to ``context.sink``.
        rejected: one row per quarantined data line (``REJECTED_SCHEMA``), likewise.
        quarantine: one row per problem (``QUARANTINE_SCHEMA``).
        controls: footer totals against parsed totals.
        file_error: set when the whole file is rejected; ``rows`` and ``rejected`` still hold what
            could be read, and the pipeline quarantines all of it with this reason.
        lines: physical line accounting for the manifest.
        statement_date: the business date the file declares (bill date), when it declares one.
        merchant_account: the merchant id the file declares, when it declares one.
        channel: the channel this file belongs to (``wechatpay``, ``alipay``, ``bank``, ...).
        row_count: valid rows produced (sent to the sink, or held in ``rows``).
        rejected_count: quarantined data lines (sent to the sink, or held in ``rejected``).
        facts: figures the adapter computed over its rows for another file to cross-check (the
            Alipay 业务明细 for its 汇总): exact ``Decimal`` in the file's unit, None when some row's
            value could not be read. Rows may have left through a sink, so nothing later can recount.
        fingerprint: what the file says, whatever its bytes: the same statement delivered again in
            another encoding or with other line ends has the same fingerprint (its name aside).
    """

    source_file: str
    format: str
    role: str
    channel: str
    rows: pl.DataFrame
    rejected: pl.DataFrame
    quarantine: pl.DataFrame
    controls: tuple[ControlTotal, ...] = ()
    file_error: FileRejected | None = None
    lines: LineCounts = field(default_factory=LineCounts)
    statement_date: date | None = None
    merchant_account: str | None = None
    row_count: int = 0
    rejected_count: int = 0
    facts: dict[str, Decimal | None] = field(default_factory=dict)
    fingerprint: str = ""


def empty_quarantine() -> pl.DataFrame:
    """An empty quarantine frame with the right columns and types."""
    return pl.DataFrame(schema=QUARANTINE_SCHEMA)


def empty_rejected() -> pl.DataFrame:
    """An empty rejected-rows frame with the right columns and types."""
    return pl.DataFrame(schema=REJECTED_SCHEMA)


def quarantine_frame(entries: list[dict[str, object]]) -> pl.DataFrame:
    """Build a quarantine frame from dicts with the keys of ``QUARANTINE_SCHEMA``."""
    return pl.DataFrame(entries, schema=QUARANTINE_SCHEMA) if entries else empty_quarantine()


# -- what an adapter reads ------------------------------------------------------------------------


class Source(Protocol):
    """Random access to a file's bytes, opened by the caller (``flows/``), read by the adapter."""

    @property
    def size(self) -> int:
        """The file's length in bytes."""
        ...

    def read(self, start: int, end: int) -> bytes:
        """The bytes ``[start, end)`` (fewer only at the end of the file)."""
        ...


class BytesSource:
    """A :class:`Source` over bytes already in memory (tests, small archive members)."""

    def __init__(self, data: bytes | bytearray) -> None:
        self._data = data

    @property
    def size(self) -> int:
        """The length of the bytes."""
        return len(self._data)

    def read(self, start: int, end: int) -> bytes:
        """A slice of the bytes."""
        return bytes(self._data[start:end])


def as_source(data: bytes | Source) -> Source:
    """``data`` as a :class:`Source` (bytes are wrapped, a Source is returned as it is)."""
    return BytesSource(data) if isinstance(data, bytes | bytearray | memoryview) else data


@dataclass(frozen=True)
class Limits:
    """Bounds on the work one file may cause (BAD_INPUTS I13), set in ``recon.toml`` ``[limits]``.

    Attributes:
        chunk_bytes: the detail block is read and converted in pieces of about this many bytes, so
            memory follows this setting, not the size of the file.
        max_file_bytes: a bigger input file is rejected unread (``LIMIT_EXCEEDED``); it is read in
            chunks, so this bounds time and disk, not memory.
        max_line_bytes: a longer physical line is quarantined (``LIMIT_EXCEEDED``), never parsed.
        max_field_bytes: a longer field (in UTF-8 bytes) is quarantined (``LIMIT_EXCEEDED``).
        max_problem_lines: quarantined lines described one by one; past this many the file is
            rejected (``TOO_MANY_BAD_ROWS``: a format change, not bad rows) and the rest of its lines
            are accounted for without a description each.
        max_bad_row_pct: a statement or ledger whose quarantined rows pass this share of its data rows
            (and number at least ``BAD_ROWS_FLOOR``) is rejected whole (``TOO_MANY_BAD_ROWS``): so
            many bad rows point to a format change, and a channel reconciled on what is left of
            its statement would look complete when it is not.
    """

    chunk_bytes: int = 64 * 1024 * 1024
    max_file_bytes: int = 16 * 1024 * 1024 * 1024
    max_line_bytes: int = 64 * 1024
    max_field_bytes: int = 4096
    max_problem_lines: int = 10_000
    max_bad_row_pct: int = 20


class RowSink(Protocol):
    """Where an adapter sends its rows, chunk by chunk (the flow spills them to Parquet)."""

    def rows(self, frame: pl.DataFrame) -> None:
        """Receive valid canonical rows."""
        ...

    def rejected(self, frame: pl.DataFrame) -> None:
        """Receive best-effort rows of quarantined lines (``REJECTED_SCHEMA``)."""
        ...

    def discard(self) -> None:
        """Forget everything received: the file turned out unreadable (it is rejected whole)."""
        ...


class CollectingSink:
    """A :class:`RowSink` that keeps every chunk in memory (no sink given: tests, small files)."""

    def __init__(self) -> None:
        self.row_chunks: list[pl.DataFrame] = []
        self.rejected_chunks: list[pl.DataFrame] = []

    def rows(self, frame: pl.DataFrame) -> None:
        """Keep a chunk of valid rows."""
        self.row_chunks.append(frame)

    def rejected(self, frame: pl.DataFrame) -> None:
        """Keep a chunk of rejected rows."""
        self.rejected_chunks.append(frame)

    def discard(self) -> None:
        """Forget every chunk kept."""
        self.row_chunks.clear()
        self.rejected_chunks.clear()

    def collected_rows(self, schema: dict[str, pl.DataType]) -> pl.DataFrame:
        """Every valid row received, in order (an empty frame of ``schema`` when none)."""
        return _concat(self.row_chunks, schema)

    def collected_rejected(self) -> pl.DataFrame:
        """Every rejected row received, sorted by line."""
        return _concat(self.rejected_chunks, REJECTED_SCHEMA).sort("source_line", maintain_order=True)


def _concat(frames: Sequence[pl.DataFrame], schema: dict[str, pl.DataType]) -> pl.DataFrame:
    frames = [frame for frame in frames if frame.height]
    return pl.concat(frames, how="vertical") if frames else pl.DataFrame(schema=schema)


@dataclass(frozen=True)
class ParseContext:
    """What an adapter needs beyond the file itself.

    Attributes:
        business_date: the date D the run reconciles (the statement date channel rows belong to).
        timezone: the merchant's IANA time zone (the ledger's business dates).
        sink: where rows go; None collects them into the returned ``ParsedFile``.
        limits: bounds on the work one file may cause.
    """

    business_date: date
    timezone: str = "Asia/Shanghai"
    sink: RowSink | None = None
    limits: Limits = field(default_factory=Limits)
