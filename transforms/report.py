"""The typed report: computed once, rendered by the workbook, Parquet and manifest writers alike.

None of the renderers recompute a number (STYLE point 11): they read this object.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import polars as pl


@dataclass(frozen=True)
class ChannelSummary:
    """One line of the Summary sheet and of the console summary.

    Attributes:
        channel: ``wechatpay``, ``alipay``, ``bank``, ...
        status: ``ok``, ``statement missing`` or ``rejected: <reason>``.
        rows: data rows read for this channel (channel statement rows; for ``bank``, bank rows).
        ledger_rows: ledger rows of this channel.
        matched: rows (both sides) whose outcome is matched.
        discrepancies: rows (both sides) that need a person.
        quarantined: rows quarantined.
        match_rate_pct: matched rows / all rows, in percent with 1 decimal, as text ("97.5");
            text so that no float is involved.
    """

    channel: str
    status: str
    rows: int
    ledger_rows: int
    matched: int
    discrepancies: int
    quarantined: int
    match_rate_pct: str


@dataclass(frozen=True)
class InputFile:
    """One file found in the inbox, for the Run sheet and the manifest."""

    source_file: str
    sha256: str
    format: str
    role: str
    status: str
    data_rows: int
    physical_lines: int
    header_lines: int
    preamble_lines: int
    footer_lines: int
    blank_lines: int


@dataclass(frozen=True)
class Report:
    """Everything a run publishes for one business date.

    Frames follow schemas/outputs.py: ``outcomes`` (Outcome), ``discrepancies`` (Discrepancy),
    ``settlement`` (SettlementLine), ``quarantine`` (QuarantineEntry); ``open_items`` has the
    Outcome columns (rows still ``in_transit``).
    """

    business_date: date
    run_id: str
    code_version: str
    rules_hash: str
    headline: str
    notes: tuple[str, ...]
    channels: tuple[ChannelSummary, ...]
    inputs: tuple[InputFile, ...]
    outcome_counts: tuple[tuple[str, int], ...]
    outcomes: pl.DataFrame
    discrepancies: pl.DataFrame
    settlement: pl.DataFrame
    open_items: pl.DataFrame
    quarantine: pl.DataFrame
    exit_code: int
