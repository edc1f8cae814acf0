"""What every adapter returns: the contract between parsing and the rest of the pipeline.

An adapter is a pure function ``parse_x(data: bytes, source_file: str, ...) -> ParsedFile``. It never
raises on bad input: a bad row becomes a quarantine entry, a bad file becomes ``file_error``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

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

    ``physical = data + continuation + header + preamble + footer + blank``, where ``data`` counts
    records (one outcome each) and ``continuation`` the extra lines of records that span several lines
    (a quoted CSV field with an embedded newline).
    """

    physical: int = 0
    data: int = 0
    header: int = 0
    preamble: int = 0
    footer: int = 0
    blank: int = 0
    continuation: int = 0


@dataclass(frozen=True)
class ParsedFile:
    """The result of parsing one input file.

    Attributes:
        source_file: path relative to the date's inbox folder (``alipay/x.zip!member.csv``).
        format: ``wechatpay_trade``, ``alipay_trade``, ``alipay_trade_summary``, ``ledger``,
            ``camt053``, ... (the adapter's name for what it recognised).
        role: ``channel``, ``ledger``, ``bank`` or ``reference`` (a file read only to cross-check,
            such as the Alipay 汇总, which produces no rows).
        rows: valid rows in the canonical schema of ``role`` (schemas/canonical.py).
        rejected: one row per quarantined data line (``REJECTED_SCHEMA``).
        quarantine: one row per problem (``QUARANTINE_SCHEMA``).
        controls: footer totals against parsed totals.
        file_error: set when the whole file is rejected; ``rows`` and ``rejected`` still hold what
            could be read, and the pipeline quarantines all of it with this reason.
        lines: physical line accounting for the manifest.
        statement_date: the business date the file declares (bill date), when it declares one.
        merchant_account: the merchant id the file declares, when it declares one.
        channel: the channel this file belongs to (``wechatpay``, ``alipay``, ``bank``, ...).
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


def empty_quarantine() -> pl.DataFrame:
    """An empty quarantine frame with the right columns and types."""
    return pl.DataFrame(schema=QUARANTINE_SCHEMA)


def empty_rejected() -> pl.DataFrame:
    """An empty rejected-rows frame with the right columns and types."""
    return pl.DataFrame(schema=REJECTED_SCHEMA)


def quarantine_frame(entries: list[dict[str, object]]) -> pl.DataFrame:
    """Build a quarantine frame from dicts with the keys of ``QUARANTINE_SCHEMA``."""
    return pl.DataFrame(entries, schema=QUARANTINE_SCHEMA) if entries else empty_quarantine()
