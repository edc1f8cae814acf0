"""The internal ledger export (DESIGN §2): CSV (UTF-8, header row) or Parquet → ``LedgerEntry`` rows.

Both readers turn the file into text records ``(source_line, {column: text})`` and share one set of
row checks, so a Parquet export is judged exactly like the same CSV. Each bad row becomes one
quarantine entry per problem plus one ``REJECTED_SCHEMA`` row; a bad file becomes ``file_error``.
The ledger has no footer, so there are no control totals.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import polars as pl

from schemas.canonical import CHANNELS, LEDGER_KINDS, LEDGER_STATUSES, LedgerEntry
from schemas.ledger import ISO_WITH_OFFSET, LEDGER_AMOUNT, RawLedgerRow
from transforms.adapters.common import quarantine_entry, rejected_file, rejected_frame, rejected_row
from transforms.money import CURRENCY_EXPONENT, AmountError, parse_decimal_text
from transforms.parsed import FileRejected, LineCounts, ParsedFile, quarantine_frame
from transforms.text import bad_characters, decode_text, split_lines
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

_ENUMS: dict[str, tuple[str, ...]] = {"channel": CHANNELS, "kind": LEDGER_KINDS, "status": LEDGER_STATUSES}
_AMOUNT = re.compile(LEDGER_AMOUNT, re.ASCII)
_BOOKED_AT = re.compile(ISO_WITH_OFFSET, re.ASCII)
_MAX_VALUE_CHARS = 1000

#: Reports one problem of the current row: ``(column, reason_code, reason)``.
_Report = Callable[[str, str, str], None]

_CANONICAL_SCHEMA: dict[str, pl.DataType] = {
    "entry_id": pl.String(),
    "order_no": pl.String(),
    "payment_id": pl.String(),
    "channel": pl.String(),
    "channel_txn_id": pl.String(),
    "kind": pl.String(),
    "amount_minor": pl.Int64(),
    "currency": pl.String(),
    "status": pl.String(),
    "booked_at": pl.Datetime("us", "UTC"),
    "source_file": pl.String(),
    "source_line": pl.Int64(),
}
_RAW_SCHEMA: dict[str, pl.DataType] = {
    **{name: pl.String() for name in LEDGER_COLUMNS},
    "source_file": pl.String(),
    "source_line": pl.Int64(),
}


@dataclass
class _Collected:
    """What the row checks produced for one file."""

    #: Rows that passed the row checks, as tuples in ``_CANONICAL_SCHEMA`` / ``_RAW_SCHEMA`` order.
    good: list[tuple[object, ...]] = field(default_factory=list)
    raw: list[tuple[object, ...]] = field(default_factory=list)
    rejected: dict[int, dict[str, object]] = field(default_factory=dict)
    #: What a good row's rejected row would be made of, should validation reject it after all.
    passed: dict[int, tuple[dict[str, str], int | None]] = field(default_factory=dict)
    problems: list[dict[str, object]] = field(default_factory=list)

    def problem(
        self, source_file: str, line: int, column: str | None, value: str, code: str, reason: str
    ) -> None:
        """Record one quarantine entry."""
        self.problems.append(
            quarantine_entry(source_file, line, column, value[:_MAX_VALUE_CHARS], code, reason)
        )

    def rejected_row(self, source_file: str, line: int) -> dict[str, object] | None:
        """The rejected row of ``line``: recorded by the row checks, or made now for a row that passed them."""
        if line in self.rejected:
            return self.rejected[line]
        if line in self.passed:
            values, amount_minor = self.passed[line]
            return _rejected_row(source_file, line, values, amount_minor)
        return None


def parse_ledger_csv(data: bytes, source_file: str, *, tz: str = "Asia/Shanghai") -> ParsedFile:
    """Parse a ledger CSV export.

    Args:
        data: the file's bytes: UTF-8 (one leading BOM stripped), a header row, RFC 4180 quoting.
        source_file: the path relative to the date's inbox folder, carried on every row.
        tz: the merchant's time zone, which gives each entry its ``business_date``.

    Returns:
        A ParsedFile (format ``ledger_csv``, role and channel ``ledger``) whose ``source_line`` is the
        physical line where each record starts.
    """
    try:
        text = decode_text(data, "utf-8")
    except FileRejected as exc:
        return _rejected_file(source_file, "ledger_csv", exc)
    lines = split_lines(text)
    if not lines:
        return _rejected_file(source_file, "ledger_csv", FileRejected("EMPTY_FILE", "no header row"))
    records = _csv_records(lines)
    header_line, header = next(records)
    header_end, header_fields, header_error = header
    if header_error is not None:
        return _rejected_file(
            source_file, "ledger_csv", FileRejected("HEADER_MISMATCH", f"header row: {header_error}", line=1)
        )
    try:
        names = _check_header(header_fields)
    except FileRejected as exc:
        return _rejected_file(source_file, "ledger_csv", exc, LineCounts(physical=len(lines), header=1))

    collected = _Collected()
    file_error: FileRejected | None = None
    blank = 0
    data_records = 0
    continuation = 0
    for start, (end, fields, error) in records:
        raw_text = lines[start - 1] if end == start else "\n".join(lines[start - 1 : end])
        if error is None and end == start and raw_text.strip() == "":
            blank += 1
            continue
        data_records += 1
        continuation += end - start
        if error == "unexpected end of data":
            file_error = FileRejected(
                "TRUNCATED", f"line {start}: a quoted field is never closed (file cut?)", line=start
            )
            collected.problem(source_file, start, None, raw_text, "TRUNCATED", "quoted field never closed")
            collected.rejected[start] = _rejected_row(source_file, start, {})
        elif error is not None:
            code = "BAD_CHAR" if "\r" in raw_text else "FORMAT_VIOLATION"
            if "field larger than field limit" in error:
                code = "LIMIT_EXCEEDED"
            collected.problem(source_file, start, None, raw_text, code, f"unreadable CSV record: {error}")
            collected.rejected[start] = _rejected_row(source_file, start, {})
        elif len(fields) != len(names):
            collected.problem(
                source_file,
                start,
                None,
                raw_text,
                "FIELD_COUNT",
                f"expected {len(names)} fields, got {len(fields)}",
            )
            collected.rejected[start] = _rejected_row(source_file, start, {})
        else:
            _check_record(collected, source_file, start, dict(zip(names, fields, strict=True)))
    lines_count = LineCounts(
        physical=len(lines), data=data_records, header=header_end, blank=blank, continuation=continuation
    )
    return _finish(collected, source_file, "ledger_csv", tz, lines_count, file_error)


def parse_ledger_parquet(data: bytes, source_file: str, *, tz: str = "Asia/Shanghai") -> ParsedFile:
    """Parse a ledger Parquet export.

    String columns are judged exactly like CSV text (null = empty). ``amount`` may be text, a
    decimal128 column (converted exactly through its text) or an integer column; a float column is
    an upstream bug and rejects the file (``FLOAT_AMOUNT``, BAD_INPUTS L13). ``booked_at`` may be a
    tz-aware timestamp or ISO text; a naive timestamp is ``BAD_DATE`` on each row.

    Args:
        data: the file's bytes.
        source_file: the path relative to the date's inbox folder, carried on every row.
        tz: the merchant's time zone, which gives each entry its ``business_date``.

    Returns:
        A ParsedFile (format ``ledger_parquet``, role and channel ``ledger``) whose ``source_line`` is
        the 1-based row number.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    if len(data) == 0:
        return _rejected_file(
            source_file, "ledger_parquet", FileRejected("EMPTY_FILE", "the file is empty (0 bytes)")
        )
    try:
        table = pq.read_table(io.BytesIO(data))
    except (pa.ArrowException, OSError, ValueError) as exc:
        return _rejected_file(
            source_file,
            "ledger_parquet",
            FileRejected("PARQUET_MALFORMED", f"not a readable Parquet file: {exc}"),
        )
    try:
        names = _check_header(list(table.column_names))
        columns = {name: _parquet_texts(name, table.column(index)) for index, name in enumerate(names)}
    except FileRejected as exc:
        return _rejected_file(source_file, "ledger_parquet", exc)
    collected = _Collected()
    for row in range(table.num_rows):
        _check_record(collected, source_file, row + 1, {name: columns[name][row] for name in names})
    counts = LineCounts(physical=table.num_rows, data=table.num_rows)
    return _finish(collected, source_file, "ledger_parquet", tz, counts, None)


def _parquet_texts(name: str, column: Any) -> list[str]:
    """One Parquet column as the text a CSV would hold (null → empty)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    chunked = column
    kind = chunked.type
    if pa.types.is_dictionary(kind):
        chunked = pc.cast(chunked, kind.value_type)
        kind = chunked.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_string_view(kind):
        return ["" if value is None else value for value in chunked.to_pylist()]
    if pa.types.is_integer(kind):
        return ["" if value is None else str(value) for value in chunked.to_pylist()]
    if name == "amount" and pa.types.is_floating(kind):
        raise FileRejected(
            "FLOAT_AMOUNT", f"column amount is {kind}: money exported as float (upstream bug, BAD_INPUTS L13)"
        )
    if name == "amount" and pa.types.is_decimal(kind):
        return [_decimal_text(value) for value in chunked.to_pylist()]
    if name == "booked_at" and pa.types.is_timestamp(kind):
        if kind.tz is None:
            return ["" if value is None else value.isoformat() for value in chunked.to_pylist()]
        try:
            utc = pc.cast(chunked, pa.timestamp("us", tz="UTC"))
        except pa.ArrowInvalid as exc:
            raise FileRejected("COLUMN_TYPE", f"column booked_at: {exc}") from None
        return ["" if value is None else value.astimezone(UTC).isoformat() for value in utc.to_pylist()]
    raise FileRejected("COLUMN_TYPE", f"column {name} has unsupported type {kind}")


def _decimal_text(value: Decimal | None) -> str:
    """Exact text of a decimal128 value, without the column's trailing zeros (``129.9000`` → ``129.9``)."""
    if value is None:
        return ""
    if not value.is_finite():
        return str(value)
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def _csv_records(lines: list[str]) -> Iterator[tuple[int, tuple[int, list[str], str | None]]]:
    """Yield ``(start_line, (end_line, fields, csv_error))`` for each CSV record of ``lines``.

    Lines are fed with a newline ending, so CRLF and LF files give identical fields; a quoted field
    may span lines. A record the csv module refuses has its error text and no fields.
    """
    reader = csv.reader(_with_newlines(lines), strict=True)
    previous = 0
    while True:
        try:
            fields = next(reader)
            error = None
        except StopIteration:
            return
        except csv.Error as exc:
            fields, error = [], str(exc)
        end = max(reader.line_num, previous + 1)
        yield previous + 1, (min(end, len(lines)), fields, error)
        previous = end


def _with_newlines(lines: Iterable[str]) -> Iterator[str]:
    for line in lines:
        yield line + "\n"


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


def _check_record(collected: _Collected, source_file: str, line: int, values: dict[str, str]) -> None:
    """Apply every row check to one record; append it to ``good`` or to ``rejected`` + ``problems``."""
    before = len(collected.problems)

    def problem(column: str, code: str, reason: str) -> None:
        collected.problem(source_file, line, column, values[column], code, reason)

    if bad_characters(",".join(values.values())) is not None:  # one look per row; then find the column
        for column in LEDGER_COLUMNS:
            found = bad_characters(values[column])
            if found:
                problem(column, "BAD_CHAR", f"{column}: {found}")
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
                problem(column, "UNKNOWN_ENUM", f"{column} {values[column]!r} is not one of {'|'.join(allowed)}")
    currency = values["currency"]
    if currency.strip() != "" and currency not in CURRENCY_EXPONENT:
        problem("currency", "BAD_CURRENCY", f"currency {currency!r} is not a known ISO 4217 code")

    amount_minor = _amount_minor(values["amount"], currency, problem)
    booked_at = _booked_at(values["booked_at"], problem)

    kind = values["kind"]
    signed = None if amount_minor is None else (-amount_minor if kind == "refund" else amount_minor)
    if len(collected.problems) > before:
        collected.rejected[line] = _rejected_row(source_file, line, values, signed)
        return

    order_no, payment_id, txn_id = values["order_no"] or None, values["payment_id"] or None, values["channel_txn_id"] or None
    entry_id, channel, status = values["entry_id"], values["channel"], values["status"]
    collected.good.append(
        (entry_id, order_no, payment_id, channel, txn_id, kind, signed, currency, status, booked_at, source_file, line)
    )
    collected.raw.append(
        (entry_id, order_no, payment_id, channel, txn_id, kind, values["amount"], currency, status,
         values["booked_at"], source_file, line)
    )  # fmt: skip
    collected.passed[line] = (values, signed)


def _amount_minor(text: str, currency: str, report: _Report) -> int | None:
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


def _booked_at(text: str, report: _Report) -> datetime | None:
    """``booked_at`` as an aware UTC datetime, or None after reporting why it cannot be read."""
    if text.strip() == "":
        return None
    if not _BOOKED_AT.match(text):
        report("booked_at", "BAD_DATE", f"booked_at {text!r} is not ISO 8601 with an offset")
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        report("booked_at", "BAD_DATE", f"booked_at {text!r}: {exc}")
        return None
    return moment.astimezone(UTC)


def _rejected_row(
    source_file: str, line: int, values: dict[str, str], amount_minor: int | None = None
) -> dict[str, object]:
    """Best-effort ``REJECTED_SCHEMA`` row of a quarantined line."""
    return rejected_row(
        source_file,
        line,
        channel=values.get("channel") or None,
        channel_txn_id=values.get("channel_txn_id") or None,
        order_no=values.get("order_no") or None,
        kind=values.get("kind") or None,
        amount_minor=amount_minor,
        currency=values.get("currency") or None,
    )


def _finish(
    collected: _Collected,
    source_file: str,
    file_format: str,
    tz: str,
    counts: LineCounts,
    file_error: FileRejected | None,
) -> ParsedFile:
    """Validate the good rows (raw model, then canonical model) and assemble the ParsedFile."""
    quarantines = [quarantine_frame(collected.problems)]
    candidates = pl.DataFrame(collected.good, schema=_CANONICAL_SCHEMA, orient="row")
    raw = pl.DataFrame(collected.raw, schema=_RAW_SCHEMA, orient="row")
    if raw.height:
        _, raw_problems = split_valid(raw, RawLedgerRow, default_reason_code="FORMAT_VIOLATION")
        quarantines.append(raw_problems)
        candidates = candidates.filter(~pl.col("source_line").is_in(raw_problems["source_line"].implode()))
    candidates = candidates.with_columns(
        business_date=pl.col("booked_at").dt.convert_time_zone(tz).dt.date()
    ).select(list(LedgerEntry.to_schema().columns))
    rows = candidates
    if candidates.height:
        rows, schema_problems = split_valid(
            candidates, LedgerEntry, reason_codes={"sign_follows_kind": "SIGN_VIOLATION"}
        )
        quarantines.append(schema_problems)
    quarantine = pl.concat(quarantines, how="vertical")
    bad_lines = set(quarantine["source_line"].to_list())
    by_line = {line: row for line in bad_lines if (row := collected.rejected_row(source_file, line)) is not None}
    rejected = rejected_frame(by_line)
    return ParsedFile(
        source_file=source_file,
        format=file_format,
        role="ledger",
        channel="ledger",
        rows=rows,
        rejected=rejected,
        quarantine=quarantine.sort("source_line", maintain_order=True),
        file_error=file_error,
        lines=counts,
    )


def _rejected_file(
    source_file: str, file_format: str, error: FileRejected, counts: LineCounts | None = None
) -> ParsedFile:
    """A ParsedFile for a file rejected before any row could be read."""
    return rejected_file(
        source_file, error, file_format=file_format, role="ledger", channel="ledger", model=LedgerEntry,
        lines=counts,
    )  # fmt: skip
