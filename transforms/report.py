"""The typed report: computed once, rendered by the workbook, Parquet and manifest writers alike.

None of the renderers recompute a number (STYLE point 11): they read this object. A day may hold
millions of outcome rows, so the report holds what a person reads (counts, the per-channel summary,
the most important rows of each table up to ``report.max_sheet_rows``) and the SQL that produces the
complete tables (``outcomes_sql``, ``discrepancies_sql``), which the flow streams straight to Parquet
and CSV. Everything is computed by DuckDB over a relation named ``outcomes`` (the Outcome columns plus
``row_date``, the business date each row belongs to), so the same statements serve ten rows in a
test and ten million in a run.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

import duckdb
import polars as pl

from schemas.canonical import CHANNELS
from schemas.outputs import OUTCOMES, Discrepancy, Outcome
from transforms.carry import OPEN_ITEM_SCHEMA, aging_sql, empty_open_items
from transforms.classify import EXCEPTION_CODES as CLASSIFY_CODES
from transforms.decisions import RESOLVED_SCHEMA
from transforms.findings import FINDINGS

OUTCOME_NAMES = tuple(Outcome.to_schema().columns)
#: Every BAD_INPUTS exception code: a row carrying one is a discrepancy whatever its outcome.
EXCEPTION_CODES = (*CLASSIFY_CODES, *FINDINGS)
DISCREPANCY_SCHEMA = {name: col.dtype.type for name, col in Discrepancy.to_schema().columns.items()}

#: Outcomes that need no person (DESIGN §9): every other row is a discrepancy.
SETTLED_OUTCOMES = ("matched", "resolved_late", "void")

#: How urgent each outcome is on the worklist (1 first). Money that moved without its counterpart
#: comes first, then checks that failed, then what only waits or needs a look.
SEVERITY: dict[str, int] = {
    "missing_in_ledger": 1, "missing_in_channel": 1, "amount_mismatch": 1, "currency_mismatch": 1,
    "status_mismatch": 1, "duplicate": 1,
    "fee_mismatch": 2, "unexplained": 2, "quarantined": 2,
    "in_transit": 3, "matched_fallback": 3, "matched": 3, "resolved_late": 3, "void": 3,
}  # fmt: skip
_SOURCE_ORDER = ("channel", "ledger", "bank")
AGING_SCHEMA = {"channel": pl.String, "currency": pl.String, "aging_bucket": pl.String, "items": pl.Int64,
                "amount_minor": pl.Int64}  # fmt: skip


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
    unread_lines: int = 0


@dataclass(frozen=True)
class Report:
    """Everything a run publishes for one business date.

    ``discrepancies`` and ``open_items`` hold the first ``max_sheet_rows`` rows of their tables in
    worklist order (the complete tables are in ``discrepancies.parquet`` / ``.csv`` and
    ``open_items.parquet``); ``*_count`` give the full sizes. ``open_items`` are OpenItem rows: what is
    still open at the end of the day, carried forward, with their age; ``aging`` counts them and adds
    their amounts per channel, currency and aging bucket; ``resolved`` lists the rows a person's
    decision in force resolves, with the trail. ``settlement`` (SettlementLine) and ``quarantine``
    (QuarantineEntry) are whole.
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
    discrepancies: pl.DataFrame
    discrepancy_count: int
    open_items: pl.DataFrame
    open_item_count: int
    settlement: pl.DataFrame
    quarantine: pl.DataFrame
    exit_code: int
    max_sheet_rows: int = 50_000
    rows_per_file: dict[str, int] = field(default_factory=dict)
    shared_lines: tuple[int, str] = (0, "")
    aging: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=AGING_SCHEMA))
    resolved: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=RESOLVED_SCHEMA))


def _order_sql() -> str:
    """File order: channel rows, then ledger, then bank, each by file and line.

    ``row_id`` (file number, then line, as one integer) gives that order cheaply; rows without one
    fall back to ``source_file, source_line``.
    """
    source_rank = "case source when 'channel' then 0 when 'ledger' then 1 else 2 end"
    return f"{source_rank}, row_id nulls last, source_file, source_line nulls last"


def outcomes_sql() -> str:
    """Every outcome row, in file order: channel rows, then ledger rows, then bank rows."""
    return f"select {', '.join(OUTCOME_NAMES)} from outcomes order by {_order_sql()}"  # noqa: S608


def _severity_sql() -> str:
    cases = " ".join(f"when '{name}' then {level}" for name, level in SEVERITY.items())
    return f"case outcome {cases} else 9 end"


def discrepancies_sql() -> str:
    """The rows that need a person, most urgent first (severity, then the largest amount), with their age.

    A discrepancy is every row whose outcome is not settled (``SETTLED_OUTCOMES``), and every row
    carrying a BAD_INPUTS exception code whatever its outcome. ``$business_date`` is bound.
    """
    exceptions = ", ".join(f"'{code}'" for code in EXCEPTION_CODES)
    settled = ", ".join(f"'{name}'" for name in SETTLED_OUTCOMES)
    return f"""
        select {", ".join(OUTCOME_NAMES)},
               greatest(coalesce(date_diff('day', row_date, $business_date::date), 0), 0)::bigint as age_days
        from outcomes
        where outcome not in ({settled}) or coalesce(reason_code in ({exceptions}), false)
        order by {_severity_sql()}, abs(amount_minor) desc nulls last, {_order_sql()}
    """  # noqa: S608 - names and codes from this module


def _rate_pct(matched: int, total: int) -> str:
    """``matched / total`` in percent with one decimal, rounded half-up, in integer arithmetic."""
    if total == 0:
        return "0.0"
    tenths = (matched * 1000 * 2 + total) // (2 * total)
    return f"{tenths // 10}.{tenths % 10}"


def _channel_stats_sql() -> str:
    exceptions = ", ".join(f"'{code}'" for code in EXCEPTION_CODES)
    settled = ", ".join(f"'{name}'" for name in SETTLED_OUTCOMES)
    return f"""
        select case when source = 'bank' then 'bank' else channel end as name,
               count(*) filter (where source in ('channel', 'bank')) as rows,
               count(*) filter (where source = 'ledger') as ledger_rows,
               count(*) filter (where outcome = 'matched') as matched,
               count(*) filter (where outcome not in ({settled})
                                or coalesce(reason_code in ({exceptions}), false)) as discrepancies,
               count(*) filter (where outcome = 'quarantined') as quarantined
        from outcomes group by all
    """  # noqa: S608 - names and codes from this module


def build_report(
    con: duckdb.DuckDBPyConnection,
    *,
    business_date: date,
    run_id: str,
    code_version: str,
    rules_hash: str,
    settlement: pl.DataFrame,
    quarantine: pl.DataFrame,
    unavailable: dict[str, str],
    notes: tuple[str, ...],
    inputs: tuple[InputFile, ...],
    expected: tuple[str, ...],
    max_sheet_rows: int = 50_000,
) -> Report:
    """Assemble the typed report from the ``outcomes``, ``open_items`` and ``resolved`` relations on ``con``.

    Exit code (STYLE): 3 when an expected statement is missing or rejected, or any row or file was
    quarantined; else 0 (discrepancies are findings, not failures).
    """
    params = {"business_date": business_date}
    discrepancies = con.sql(f"{discrepancies_sql()} limit {int(max_sheet_rows)}", params=params).pl()
    discrepancy_count = _count(con, discrepancies_sql(), params)
    open_items = con.sql(f"select * from open_items limit {int(max_sheet_rows)}").pl()  # noqa: S608
    open_item_count = _count(con, "select * from open_items", {})
    aging = con.sql(aging_sql()).pl()
    resolved = con.sql("select * from resolved").pl()
    counts = dict(con.sql("select outcome, count(*) from outcomes group by outcome").fetchall())
    outcome_counts = tuple((name, int(counts.get(name, 0))) for name in OUTCOMES)
    stats = {row[0]: row[1:] for row in con.sql(_channel_stats_sql()).fetchall()}
    rows_per_file = dict(con.sql("select source_file, count(*) from outcomes group by source_file").fetchall())
    shared = con.sql(
        "select count(*), min(source_file || ':' || source_line) from ("
        "  select source_file, source_line from outcomes where source_line is not null"
        "  group by source_file, source_line having count(*) > 1)"
    ).fetchall()[0]

    names = [c for c in expected if c != "bank"]
    # Channels found in the data too, but only real ones: a quarantined row may carry any text there.
    names += sorted(c for c in stats if c in CHANNELS and c not in names)
    channels = []
    for name in [*names, "bank"]:
        rows, ledger_rows, matched, discrepancy_rows, quarantined = stats.get(name, (0, 0, 0, 0, 0))
        if name == "bank" and "bank" not in expected and rows == 0:
            continue
        channels.append(
            ChannelSummary(
                channel=name, status=unavailable.get(name, "ok"), rows=int(rows), ledger_rows=int(ledger_rows),
                matched=int(matched), discrepancies=int(discrepancy_rows), quarantined=int(quarantined),
                match_rate_pct=_rate_pct(int(matched), int(rows) + int(ledger_rows)),
            )
        )  # fmt: skip

    # The ledger first: without it no channel row can be called missing, and the reader must know.
    ledger = unavailable.get("ledger")
    problems = [f"LEDGER NOT READ, {ledger}: no channel row is reported missing from it"] if ledger else []
    problems += [f"{name}: {why}" for name, why in sorted(unavailable.items()) if name != "ledger"]
    quarantined_rows = int(counts.get("quarantined", 0))
    incomplete = bool(problems) or quarantine.height > 0
    total = sum(counts.values())
    if problems:
        headline = f"PROVISIONAL {business_date}: " + "; ".join(problems)
    elif incomplete:
        headline = f"PROVISIONAL {business_date}: {quarantined_rows} rows quarantined"
    else:
        headline = f"Reconciled {business_date}: {total} rows, {discrepancy_count} discrepancies"
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
        discrepancies=discrepancies.cast(DISCREPANCY_SCHEMA),
        discrepancy_count=discrepancy_count,
        open_items=open_items.cast(OPEN_ITEM_SCHEMA),
        open_item_count=open_item_count,
        aging=aging.cast(AGING_SCHEMA),
        resolved=resolved.cast(RESOLVED_SCHEMA),
        settlement=settlement.sort("settlement_date", "channel", "merchant_account", "currency",
                                   "bank_source_line", nulls_last=True),
        quarantine=quarantine.sort("source_file", "source_line", "column", nulls_last=True, maintain_order=True),
        exit_code=3 if incomplete else 0,
        max_sheet_rows=max_sheet_rows,
        rows_per_file={str(k): int(v) for k, v in rows_per_file.items()},
        shared_lines=(int(shared[0]), str(shared[1] or "")),
    )


def _count(con: duckdb.DuckDBPyConnection, sql: str, params: Mapping[str, object]) -> int:
    return int(con.sql(f"select count(*) from ({sql})", params=dict(params) or None).fetchall()[0][0])  # noqa: S608


def register_outcomes(
    con: duckdb.DuckDBPyConnection,
    outcomes: pl.DataFrame,
    row_dates: pl.DataFrame | None = None,
    open_items: pl.DataFrame | None = None,
) -> None:
    """Make in-memory frames the ``outcomes`` and ``open_items`` relations (worked examples, tests).

    ``row_dates`` (source_file, source_line, row_date) gives rows their business date (default: none,
    so every discrepancy is 0 days old); ``open_items`` (OpenItem rows) default to none.
    """
    frame = outcomes.with_columns(
        *(pl.lit(None, pl.Date).alias(name) for name in ("counterpart_date",) if name not in outcomes.columns)
    ).select(list(OUTCOME_NAMES)).with_columns(row_id=pl.lit(None, pl.Int64))
    if row_dates is not None and row_dates.height:
        frame = frame.join(row_dates, on=["source_file", "source_line"], how="left", maintain_order="left")
    else:
        frame = frame.with_columns(row_date=pl.lit(None, pl.Date))
    con.register("outcomes", frame)
    con.register("open_items", empty_open_items() if open_items is None else open_items)
    con.register("resolved", pl.DataFrame(schema=RESOLVED_SCHEMA))


def formula_safe_sql(column: str) -> str:
    """SQL: text that a spreadsheet will never run (OWASP CSV injection).

    A leading ``= + - @ TAB CR LF`` gets an apostrophe in front, so the cell shows the text as written.
    """
    return f"case when regexp_matches({column}, '^[=+\\-@\\t\\r\\n]') then '''' || {column} else {column} end"


def discrepancies_csv_sql() -> str:
    """The discrepancies as a person opens them in Excel.

    Amounts in major units as exact decimal text, every text formula-safe; the same rows in the same
    order as :func:`discrepancies_sql` (``$business_date`` bound), and the empty columns
    ``resolution`` and ``note`` that ``recon resolve --file`` reads back.
    """
    from transforms.classify import currency_exponent_sql, money_text_sql  # money as words, one place

    def amount(column: str) -> str:
        exponent, unit = currency_exponent_sql("currency")
        text = money_text_sql(column, "''", exponent, unit)
        return f"case when {column} is null then null else rtrim({text}, ' ') end as {column.removesuffix('_minor')}"

    def safe(name: str) -> str:
        return f"{formula_safe_sql(name)} as {name}"

    columns = [
        safe("source"), safe("source_file"), "source_line", safe("channel"), safe("entry_id"),
        safe("channel_txn_id"), safe("order_no"), safe("kind"), safe("currency"),
        amount("amount_minor"), amount("fee_minor"), amount("expected_fee_minor"),
        safe("outcome"), safe("reason_code"), safe("detail"), safe("match_rule"), safe("counterpart_file"),
        "counterpart_line", "counterpart_date", "age_days",
        # Empty, for a person to fill in: `recon resolve --file` reads the rows given a resolution.
        "'' as resolution", "'' as note",
    ]  # fmt: skip
    return f"select {', '.join(columns)} from ({discrepancies_sql()})"  # noqa: S608 - names from this module
