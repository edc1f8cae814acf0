"""Combine the parsed files of one date into the day's frames, deciding which statements are usable.

A statement is usable when its file parsed without a file-level error. A channel expected by
recon.toml with no usable statement is *unavailable* (statement missing, or rejected): its ledger
rows are carried forward as ``in_transit`` and the report says so on its first line (DESIGN §9).
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from schemas.canonical import BankTxn, ChannelTxn, LedgerEntry, empty_frame
from transforms.adapters.alipay import cross_check_alipay_summary
from transforms.classify import quarantined_outcomes
from transforms.parsed import REJECTED_SCHEMA, ParsedFile, empty_quarantine, quarantine_frame

SOURCE_OF_ROLE = {"channel": "channel", "ledger": "ledger", "bank": "bank"}


@dataclass(frozen=True)
class Day:
    """The day's inputs after parsing, ready to match.

    Attributes:
        channel / ledger / bank: valid canonical rows from usable files.
        quarantined: Outcome rows (``quarantined``) for every data line that was rejected, by its
            row's own problem or because its whole file was rejected.
        quarantine: every problem found (QUARANTINE_SCHEMA), file-level ones with their line.
        unavailable: expected channel → why no usable statement ("statement missing", ...).
        notes: sentences for the report about files (rejected, unused, cross-check problems).
    """

    channel: pl.DataFrame
    ledger: pl.DataFrame
    bank: pl.DataFrame
    quarantined: pl.DataFrame
    quarantine: pl.DataFrame
    unavailable: dict[str, str]
    notes: tuple[str, ...]


def _rows_as_rejected(parsed: ParsedFile) -> pl.DataFrame:
    """The valid rows of a rejected file, in the REJECTED_SCHEMA shape."""
    rows = parsed.rows
    if rows.is_empty():
        return pl.DataFrame(schema=REJECTED_SCHEMA)
    lit_none = pl.lit(None, pl.String)
    return rows.select(
        source_file="source_file",
        source_line="source_line",
        channel=pl.col("channel") if "channel" in rows.columns else pl.lit(parsed.channel),
        channel_txn_id=pl.col("channel_txn_id") if "channel_txn_id" in rows.columns else pl.col("bank_ref"),
        order_no=pl.col("order_no") if "order_no" in rows.columns else lit_none,
        kind=pl.col("kind") if "kind" in rows.columns else lit_none,
        amount_minor="amount_minor",
        currency="currency",
    ).cast(REJECTED_SCHEMA)  # type: ignore[arg-type]


def combine_parsed(files: list[ParsedFile], expected: tuple[str, ...]) -> Day:
    """Split parsed files into usable rows and quarantine, and find the unavailable statements.

    Args:
        files: every parsed input of the date (reference files such as the Alipay 汇总 included).
        expected: channels (and ``bank``) whose statement must be present (recon.toml ``expected``).
    """
    frames: dict[str, list[pl.DataFrame]] = {"channel": [], "ledger": [], "bank": []}
    quarantined: list[pl.DataFrame] = []
    quarantine: list[pl.DataFrame] = [empty_quarantine()]
    usable: set[str] = set()
    rejected_why: dict[str, str] = {}
    notes: list[str] = []
    for parsed in sorted(files, key=lambda p: p.source_file):
        if parsed.role not in SOURCE_OF_ROLE:
            if parsed.file_error is not None:
                notes.append(f"{parsed.source_file}: {parsed.file_error.reason_code}: {parsed.file_error.message}")
            continue
        source = SOURCE_OF_ROLE[parsed.role]
        quarantine.append(parsed.quarantine)
        error = parsed.file_error
        if error is None:
            frames[source].append(parsed.rows)
            quarantined.append(quarantined_outcomes(parsed.rejected, parsed.quarantine, source))
            usable.add(parsed.channel)
            continue
        where = f":{error.line}" if error.line else ""
        notes.append(f"FILE REJECTED {parsed.source_file}{where}: {error.reason_code}: {error.message}")
        rejected_why.setdefault(parsed.channel, f"statement rejected ({error.reason_code})")
        file_entry = quarantine_frame(
            [{"source_file": parsed.source_file, "source_line": error.line, "column": None, "value": None,
              "reason_code": error.reason_code, "reason": f"file rejected: {error.message}"}]
        )
        quarantine.append(file_entry)
        everything = pl.concat([_rows_as_rejected(parsed), parsed.rejected]).unique(
            ["source_file", "source_line"], keep="first", maintain_order=True
        )
        file_reason = everything.select("source_file", "source_line").with_columns(
            column=pl.lit(None, pl.String), value=pl.lit(None, pl.String),
            reason_code=pl.lit(error.reason_code), reason=pl.lit(f"file rejected: {error.message}"),
        )
        quarantined.append(
            quarantined_outcomes(everything, pl.concat([file_reason, parsed.quarantine], how="vertical_relaxed"), source)
        )

    unavailable = {
        channel: rejected_why.get(channel, "statement missing")
        for channel in expected
        if channel != "ledger" and channel not in usable
    }
    models = {"channel": ChannelTxn, "ledger": LedgerEntry, "bank": BankTxn}
    combined = {
        source: pl.concat(parts) if parts else empty_frame(models[source]) for source, parts in frames.items()
    }
    # A channel the ledger booked but no usable statement covers (not expected by recon.toml, or not
    # delivered) cannot be checked today: its rows are carried forward, not declared missing.
    for channel in sorted(set(combined["ledger"]["channel"].unique()) - usable - set(unavailable)):
        unavailable[channel] = rejected_why.get(channel, "statement missing")
    return Day(
        channel=combined["channel"],
        ledger=combined["ledger"],
        bank=combined["bank"],
        quarantined=pl.concat(quarantined) if quarantined else quarantined_outcomes(
            pl.DataFrame(schema=REJECTED_SCHEMA), empty_quarantine(), "ledger"
        ),
        quarantine=pl.concat(quarantine),
        unavailable=unavailable,
        notes=tuple(notes),
    )


def input_notes(parsed: list[ParsedFile], duplicates: list[tuple[str, str]]) -> list[str]:
    """Sentences for the report about inputs that change nothing but must be seen.

    Args:
        parsed: every parsed input.
        duplicates: ``(source_file, duplicate_of)`` of inputs delivered twice (read once).

    Returns:
        Alipay 汇总 cross-check problems, duplicate deliveries, recognised files not used by this run.
    """
    notes = []
    details = [p for p in parsed if p.format == "alipay_trade" and p.file_error is None]
    for summary in (p for p in parsed if p.format == "alipay_trade_summary"):
        for detail in details[:1]:
            notes += [f"{summary.source_file}: {problem}" for problem in cross_check_alipay_summary(detail, summary)]
    notes += [f"{name}: duplicate delivery of {original}, read once" for name, original in duplicates]
    notes += [
        f"{p.source_file}: recognised as {p.format}, not used by this run"
        for p in parsed
        if p.role == "reference" and p.format != "alipay_trade_summary"
    ]
    return notes


def row_dates(day: Day) -> pl.DataFrame:
    """The business date each usable row belongs to: ``source_file, source_line, row_date``.

    Ledger rows: the booking's date in the merchant's time zone; channel rows: their statement's
    date; bank rows: the booking date. Used for the age in days of a discrepancy.
    """
    parts = [
        day.ledger.select("source_file", "source_line", row_date="business_date"),
        day.channel.select("source_file", "source_line", row_date="settle_date"),
        day.bank.select("source_file", "source_line", row_date="booking_date"),
    ]
    return pl.concat(parts).unique(["source_file", "source_line"], keep="first", maintain_order=True)
