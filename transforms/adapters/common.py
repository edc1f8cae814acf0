"""Plumbing shared by the statement adapters: headers, findings, rejected rows, amounts, controls.

Everything here is pure: text and frames in, values and frames out, no filesystem and no clock. The
adapters keep what is their format's own (markers, sign tables, the best-effort reading of a bad
line); what is the same logic in several of them lives here once.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from datetime import UTC, datetime, tzinfo
from decimal import Decimal
from typing import overload

import pandera.polars as pa
import polars as pl

from schemas.canonical import empty_frame
from transforms.money import AmountError, parse_decimal_text
from transforms.parsed import (
    REJECTED_SCHEMA,
    ControlTotal,
    FileRejected,
    LineCounts,
    ParsedFile,
    empty_quarantine,
    empty_rejected,
    quarantine_frame,
)
from transforms.validate import split_valid

#: Makes the best-effort ``rejected`` row of a bad line from ``(source_file, line, values)``.
BestEffort = Callable[[str, int, Mapping[str, object]], dict[str, object]]

#: ``yyyy-MM-dd HH:mm:ss`` (the WeChat and Alipay bills' timestamps), ASCII digits only.
_TIMESTAMP = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2}) ([0-9]{2}):([0-9]{2}):([0-9]{2})")


def frame_schema(model: type[pa.DataFrameModel]) -> dict[str, pl.DataType]:
    """The polars schema (column → dtype) of a Pandera model, in the model's column order.

    Args:
        model: a ``pandera.polars`` model such as ``ChannelTxn``.

    Returns:
        ``{"channel": String, ..., "source_line": Int64}`` for ``ChannelTxn``.
    """
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


def quarantine_entry(
    source_file: str, line: int, column: str | None, value: str | None, reason_code: str, reason: str
) -> dict[str, object]:
    """One quarantine entry (a row of ``QUARANTINE_SCHEMA``).

    Args:
        source_file: the file's path relative to the date's inbox.
        line: the 1-based physical line of the problem.
        column: the column at fault, or None for a whole-line problem.
        value: the offending text as written (None when there is none).
        reason_code: the BAD_INPUTS code, e.g. ``BAD_AMOUNT``.
        reason: a sentence for a person.

    Returns:
        ``{"source_file": ..., "source_line": line, "column": ..., "value": ..., "reason_code": ...,
        "reason": ...}``.
    """
    return {
        "source_file": source_file,
        "source_line": line,
        "column": column,
        "value": value,
        "reason_code": reason_code,
        "reason": reason,
    }


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
    """One ``REJECTED_SCHEMA`` row: what could be read of a quarantined line, nulls elsewhere.

    Args:
        source_file: the file's path relative to the date's inbox.
        line: the line's 1-based physical line (the record's first line).
        channel: ``wechatpay``, ``alipay``, ``bank``, or the ledger's channel column (may be None).
        channel_txn_id: the line's own id, when readable.
        order_no: the merchant's order number, when readable.
        kind: ``payment`` / ``refund``, when readable.
        amount_minor: the signed amount in minor units, when readable.
        currency: the ISO currency, when readable.

    Returns:
        The row as a dict, keys in ``REJECTED_SCHEMA`` order.
    """
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


def rejected_frame(
    by_line: Mapping[int, dict[str, object]], lines: Iterable[int] | None = None
) -> pl.DataFrame:
    """The ``rejected`` frame: the rows of ``lines`` (default: every line) that have one, by line.

    Args:
        by_line: rejected rows (``rejected_row``) keyed by their line.
        lines: the lines to keep, e.g. the lines that have quarantine entries.

    Returns:
        A ``REJECTED_SCHEMA`` frame sorted by ``source_line`` (empty when there is nothing).
    """
    chosen = sorted(by_line if lines is None else set(lines))
    rows = [by_line[line] for line in chosen if line in by_line]
    return pl.DataFrame(rows, schema=REJECTED_SCHEMA) if rows else empty_rejected()


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
    """A ``ParsedFile`` for a file rejected before any row could be read: empty frames and the error.

    Args:
        source_file: the file's path relative to the date's inbox.
        error: why the file is unusable.
        file_format: the adapter's format name (``wechatpay_trade``, ``ledger_csv``, ...).
        role: ``channel``, ``ledger``, ``bank`` or ``reference``.
        channel: the channel the file belongs to.
        model: the canonical model of ``rows`` (``ChannelTxn``, ``LedgerEntry``, ``BankTxn``).
        lines: the line counts known so far (all zero by default).
    """
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


class Findings:
    """The quarantine entries and rejected rows of one file, collected while it is read.

    A line is rejected once: its first ``reject`` wins. Entries keep the order they were found in;
    ``quarantine()`` sorts them by line, stably.

    Args:
        source_file: the file's path relative to the date's inbox.
        best_effort: the adapter's reading of a bad line's values into its ``rejected`` row.
    """

    def __init__(self, source_file: str, best_effort: BestEffort) -> None:
        self.source_file = source_file
        self.best_effort = best_effort
        self.entries: list[dict[str, object]] = []
        self.rejected: dict[int, dict[str, object]] = {}

    def problem(self, line: int, column: str | None, value: str | None, code: str, reason: str) -> None:
        """Record one quarantine entry of ``line``."""
        self.entries.append(quarantine_entry(self.source_file, line, column, value, code, reason))

    def reject(self, line: int, values: Mapping[str, object]) -> None:
        """Record the best-effort ``rejected`` row of ``line`` (once per line)."""
        if line not in self.rejected:
            self.rejected[line] = self.best_effort(self.source_file, line, values)

    def quarantine(self) -> pl.DataFrame:
        """Every entry as a ``QUARANTINE_SCHEMA`` frame, sorted by line (stable)."""
        return quarantine_frame(self.entries).sort("source_line", maintain_order=True)

    def rejected_frame(self) -> pl.DataFrame:
        """Every rejected row as a ``REJECTED_SCHEMA`` frame, sorted by line."""
        return rejected_frame(self.rejected)


def columns_by_name(rows: Sequence[Sequence[str]], positions: Mapping[str, int]) -> dict[str, Sequence[str]]:
    """Turn lines' fields (file order) into columns by name.

    Args:
        rows: each line's fields in file order, all of the same width.
        positions: where each column stands in a line (``read_header``).

    Returns:
        ``{column: values}``: ``columns_by_name([["1", "a"], ["2", "b"]], {"n": 0, "s": 1})`` is
        ``{"n": ("1", "2"), "s": ("a", "b")}``.
    """
    by_position: list[Sequence[str]] = list(zip(*rows, strict=True))
    if not by_position:
        return {name: () for name in positions}
    return {name: by_position[index] for name, index in positions.items()}


def raw_frame(
    columns: Sequence[str],
    values: Mapping[str, Sequence[str]],
    line_numbers: Sequence[int],
    source_file: str,
) -> pl.DataFrame:
    """Text fields of the good lines as a frame of ``columns`` (all String) plus their location.

    Args:
        columns: the raw model's columns, in its order.
        values: each column's texts (``columns_by_name``), one per line.
        line_numbers: each line's physical line, in the same order.
        source_file: the file's path relative to the date's inbox.

    Returns:
        One row per line: ``columns`` then ``source_file`` and ``source_line`` (Int64).
    """
    data: dict[str, Sequence[object]] = {name: values[name] for name in columns}
    data["source_file"] = [source_file] * len(line_numbers)
    data["source_line"] = line_numbers
    schema: dict[str, pl.DataType] = {
        **dict.fromkeys(columns, pl.String()), "source_file": pl.String(), "source_line": pl.Int64()
    }  # fmt: skip
    return pl.DataFrame(data, schema=schema)


def rows_of_lines(frame: pl.DataFrame, lines: Collection[int]) -> dict[int, dict[str, object]]:
    """The rows of ``frame`` whose ``source_line`` is in ``lines``, as dicts keyed by line."""
    if not lines:
        return {}
    chosen = frame.filter(pl.col("source_line").is_in(list(lines)))
    return {row["source_line"]: row for row in chosen.iter_rows(named=True)}


def check_raw_rows(
    findings: Findings,
    raw: pl.DataFrame,
    model: type[pa.DataFrameModel],
    *,
    reason_codes: Mapping[str, str],
    amount_scales: Mapping[str, int],
) -> pl.DataFrame:
    """Validate text rows against the format's raw model; quarantine and reject the failing lines.

    A failed amount gets the money parser's own code and words (``refine_amount_reason``).

    Args:
        findings: where the entries and rejected rows go.
        raw: the text rows (``raw_frame``).
        model: the format's raw Pandera model.
        reason_codes: column → reason code of its failures.
        amount_scales: amount column → its exact number of decimals.

    Returns:
        The rows of ``raw`` that passed every check, in order.
    """
    good, problems = split_valid(raw, model, reason_codes=dict(reason_codes))
    findings.entries.extend(refine_amount_reason(entry, amount_scales) for entry in problems.iter_rows(named=True))
    bad = rows_of_lines(raw, problems["source_line"].unique().to_list())
    for line in problems["source_line"].unique().to_list():
        findings.reject(line, bad[line])
    return good


def check_canonical_rows(
    findings: Findings, frame: pl.DataFrame, model: type[pa.DataFrameModel], raw: pl.DataFrame
) -> pl.DataFrame:
    """Validate canonical rows against ``model``; quarantine failures and reject them with ``raw``'s text.

    Args:
        findings: where the entries and rejected rows go.
        frame: the canonical rows.
        model: the canonical Pandera model (``ChannelTxn``).
        raw: the text rows they came from (for the rejected rows' best effort).

    Returns:
        The valid canonical rows, in order.
    """
    valid, problems = split_valid(frame, model)
    findings.entries.extend(problems.iter_rows(named=True))
    lines = problems["source_line"].unique().to_list()
    bad = rows_of_lines(raw, lines)
    for line in lines:
        findings.reject(line, bad[line])
    return valid


def canonical_rows(
    findings: Findings,
    raw: pl.DataFrame,
    raw_model: type[pa.DataFrameModel],
    model: type[pa.DataFrameModel],
    to_canonical: Callable[[pl.DataFrame], pl.DataFrame],
    *,
    reason_codes: Mapping[str, str],
    amount_scales: Mapping[str, int],
) -> pl.DataFrame:
    """Text rows → valid canonical rows: raw model, the adapter's mapping, then the canonical model.

    Every line that fails a step gets its quarantine entries and its rejected row (from ``raw``).

    Args:
        findings: where the entries and rejected rows go.
        raw: the text rows (``raw_frame``).
        raw_model: the format's raw Pandera model.
        model: the canonical Pandera model (``ChannelTxn``).
        to_canonical: maps the raw-valid rows to canonical rows, recording a problem (in ``findings``)
            for each line it leaves out.
        reason_codes: column → reason code of the raw model's failures.
        amount_scales: amount column → its exact number of decimals.

    Returns:
        The valid canonical rows, in line order.
    """
    good = check_raw_rows(findings, raw, raw_model, reason_codes=reason_codes, amount_scales=amount_scales)
    frame = to_canonical(good)
    left_out = set(good["source_line"].to_list()) - set(frame["source_line"].to_list())
    for line, row in rows_of_lines(raw, left_out).items():
        findings.reject(line, row)
    return check_canonical_rows(findings, frame, model, raw)


def mapped_column(
    frame: pl.DataFrame, column: str, table: Mapping[str, object], dtype: pl.DataType
) -> pl.Series:
    """``frame[column]`` looked up in ``table`` (every text must be in it), as a Series named ``column``.

    ``mapped_column(frame, "fee", {"0.60": 60}, pl.Int64())`` turns the text ``0.60`` into ``60``.
    """
    return pl.Series(column, [table[text] for text in frame.get_column(column).to_list()], dtype=dtype)


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


def parse_units(texts: Iterable[str], scale: int) -> dict[str, int]:
    """Parse each distinct amount text once (exactly ``scale`` decimals); unreadable texts are left out.

    A bill repeats its amounts (``0.00`` above all), so a column is converted through this table.

    Args:
        texts: amount texts as written.
        scale: the exact number of decimals.

    Returns:
        ``{text: units}``: ``parse_units(["1.50", "x", "1.50"], 2) == {"1.50": 150}``.
    """
    table: dict[str, int] = {}
    for text in set(texts):
        try:
            table[text] = parse_decimal_text(text, scale=scale, exact_scale=True)
        except AmountError:
            continue
    return table


def sum_units(texts: Iterable[str], table: Mapping[str, int]) -> int | None:
    """The sum of the amounts ``texts`` through ``table`` (``parse_units``); None if one is unreadable."""
    total = 0
    for text in texts:
        units = table.get(text)
        if units is None:
            return None
        total += units
    return total


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


def truncated_last_line(lines: Sequence[str], first: int, width: int, what: str) -> FileRejected | None:
    """``TRUNCATED`` when the last non-blank line (index ``first`` or later) has fewer than ``width`` fields.

    Args:
        lines: the file's physical lines.
        first: the index of the first line that may be a data line.
        width: the number of fields of a data line.
        what: what is missing, for the message (``summary``, ``footer``).

    Returns:
        The error, or None when the last line is complete (or there is no non-blank line).
    """
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


def local_timestamp(text: str, zone: tzinfo) -> datetime:
    """A ``yyyy-MM-dd HH:mm:ss`` wall-clock time in ``zone`` as an aware UTC datetime.

    Same result as ``datetime.strptime(text, "%Y-%m-%d %H:%M:%S")`` in ``zone``, converted to UTC,
    without strptime's cost.

    Args:
        text: the timestamp as written.
        zone: the bill's time zone.

    Raises:
        ValueError: for text that is not such a timestamp, or no calendar date / time of day.
    """
    match = _TIMESTAMP.fullmatch(text)
    if match is None:
        return datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=zone).astimezone(UTC)
    year, month, day, hour, minute, second = map(int, match.groups())
    return datetime(year, month, day, hour, minute, second, tzinfo=zone).astimezone(UTC)
