"""The typed report: computed once, rendered by the workbook, Parquet and manifest writers alike.

None of the renderers recompute a number (STYLE point 11): they read this object.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import polars as pl

from schemas.canonical import CHANNELS
from schemas.outputs import OUTCOMES, SETTLED_OUTCOMES
from transforms.classify import EXCEPTION_CODES


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
    continuation_lines: int = 0


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


def _sort_outcomes(outcomes: pl.DataFrame) -> pl.DataFrame:
    order = {"channel": 0, "ledger": 1, "bank": 2}
    return outcomes.sort(
        pl.col("source").replace_strict(order, return_dtype=pl.Int8), "source_file", "source_line",
        nulls_last=True, maintain_order=True,
    )


def _rate_pct(matched: int, total: int) -> str:
    """``matched / total`` in percent with one decimal, rounded half-up, in integer arithmetic."""
    if total == 0:
        return "0.0"
    tenths = (matched * 1000 * 2 + total) // (2 * total)
    return f"{tenths // 10}.{tenths % 10}"


def build_report(
    *,
    business_date: date,
    run_id: str,
    code_version: str,
    rules_hash: str,
    outcomes: pl.DataFrame,
    settlement: pl.DataFrame,
    quarantine: pl.DataFrame,
    unavailable: dict[str, str],
    notes: tuple[str, ...],
    inputs: tuple[InputFile, ...],
    expected: tuple[str, ...],
    row_dates: pl.DataFrame | None = None,
) -> Report:
    """Assemble the typed report: sorted frames, per-channel summary, counts, headline and exit code.

    Exit code (STYLE): 3 when an expected statement is missing or rejected, or any row or file was
    quarantined; else 0 (discrepancies are findings, not failures). ``row_dates`` (source_file,
    source_line, row_date) gives each discrepancy its age in days; rows without a date are 0 days old.
    """
    outcomes = _sort_outcomes(outcomes)
    discrepancies = outcomes.filter(
        ~pl.col("outcome").is_in(SETTLED_OUTCOMES) | pl.col("reason_code").is_in(EXCEPTION_CODES)
    )
    if row_dates is not None and row_dates.height:
        discrepancies = discrepancies.join(
            row_dates, on=["source_file", "source_line"], how="left", maintain_order="left"
        )
    else:
        discrepancies = discrepancies.with_columns(row_date=pl.lit(None, pl.Date))
    age = (pl.lit(business_date) - pl.col("row_date")).dt.total_days().clip(lower_bound=0).fill_null(0)
    discrepancies = discrepancies.with_columns(age_days=age.cast(pl.Int64)).drop("row_date")
    open_items = outcomes.filter(pl.col("outcome") == "in_transit")
    counts = dict(outcomes.group_by("outcome").len().iter_rows())
    outcome_counts = tuple((name, int(counts.get(name, 0))) for name in OUTCOMES)

    channels = []
    names = [c for c in expected if c != "bank"]
    # Channels found in the data too, but only real ones: a quarantined row may carry any text there.
    names += sorted({c for c in outcomes["channel"].drop_nulls().unique() if c in CHANNELS and c not in names})
    for name in [*names, "bank"]:
        if name == "bank":
            mine = outcomes.filter(pl.col("source") == "bank")
            rows, ledger_rows = mine.height, 0
        else:
            mine = outcomes.filter((pl.col("channel") == name) & (pl.col("source") != "bank"))
            rows = mine.filter(pl.col("source") == "channel").height
            ledger_rows = mine.filter(pl.col("source") == "ledger").height
        if name == "bank" and "bank" not in expected and mine.is_empty():
            continue
        matched = mine.filter(pl.col("outcome") == "matched").height
        channels.append(
            ChannelSummary(
                channel=name,
                status=unavailable.get(name, "ok"),
                rows=rows,
                ledger_rows=ledger_rows,
                matched=matched,
                discrepancies=discrepancies.filter(
                    pl.col("source").is_in(["bank"] if name == "bank" else ["channel", "ledger"])
                    & ((pl.col("channel") == name) if name != "bank" else pl.lit(True))
                ).height,
                quarantined=mine.filter(pl.col("outcome") == "quarantined").height,
                match_rate_pct=_rate_pct(matched, rows + ledger_rows),
            )
        )

    problems = [f"{name}: {why}" for name, why in sorted(unavailable.items())]
    quarantined_rows = int(counts.get("quarantined", 0))
    incomplete = bool(problems) or quarantine.height > 0
    if problems:
        headline = f"PROVISIONAL {business_date}: " + "; ".join(problems)
    elif incomplete:
        headline = f"PROVISIONAL {business_date}: {quarantined_rows} rows quarantined"
    else:
        headline = f"Reconciled {business_date}: {outcomes.height} rows, {discrepancies.height} discrepancies"
    return Report(
        business_date=business_date,
        run_id=run_id,
        code_version=code_version,
        rules_hash=rules_hash,
        headline=headline,
        notes=notes,
        channels=tuple(channels),
        inputs=inputs,
        outcome_counts=outcome_counts,
        outcomes=outcomes,
        discrepancies=discrepancies,
        settlement=settlement.sort("settlement_date", "channel", "merchant_account", "currency",
                                   "bank_source_line", nulls_last=True),
        open_items=open_items,
        quarantine=quarantine.sort("source_file", "source_line", "column", nulls_last=True, maintain_order=True),
        exit_code=3 if incomplete else 0,
    )


def conservation_problems(report: Report) -> list[str]:
    """Check BAD_INPUTS I1 on the finished report: every data row of every input has exactly one outcome.

    Returns:
        One sentence per broken rule (empty when the report may be published): a file whose data rows
        differ from its outcome rows, a line with two outcomes, an outcome for a file that was not read,
        or a file whose line accounting does not add up to its physical lines.
    """
    problems = []
    per_file = dict(report.outcomes.group_by("source_file").len().iter_rows())
    read = {f.source_file for f in report.inputs if not f.status.startswith("duplicate delivery")}
    for f in report.inputs:
        if f.source_file not in read:
            continue
        if per_file.get(f.source_file, 0) != f.data_rows:
            problems.append(f"{f.source_file}: {f.data_rows} data rows but {per_file.get(f.source_file, 0)} outcomes")
        accounted = f.data_rows + f.continuation_lines + f.header_lines + f.preamble_lines + f.footer_lines + f.blank_lines
        if f.physical_lines and accounted != f.physical_lines:
            problems.append(f"{f.source_file}: {f.physical_lines} physical lines but {accounted} accounted for")
    for name in sorted(set(per_file) - read):
        problems.append(f"{name}: outcomes for a file that was not read")
    twice = report.outcomes.filter(pl.struct("source_file", "source_line").is_duplicated() & pl.col("source_line").is_not_null())
    if twice.height:
        first = twice.row(0, named=True)
        problems.append(f"{twice.height} rows share a line, e.g. {first['source_file']}:{first['source_line']}")
    return problems
