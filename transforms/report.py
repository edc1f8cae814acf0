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
from schemas.outputs import OUTCOMES, SETTLED_OUTCOMES, Discrepancy, Outcome
from transforms.carry import OPEN_ITEM_SCHEMA, aging_sql, empty_open_items
from transforms.classify import EXCEPTION_CODES as CLASSIFY_CODES
from transforms.decisions import RESOLVED_SCHEMA
from transforms.findings import FINDINGS
from transforms.labels import CHANNEL_NAMES, PHRASES, RISK_SIGNALS, STATEMENT_STATUSES, word
from transforms.money import format_money
from transforms.risk import RISK_SCHEMA, high_severity
from transforms.worklist import CASE_CLASSES, CASE_SCHEMA, case_classes_frame, cases_sql, explanation_sql

OUTCOME_NAMES = tuple(Outcome.to_schema().columns)
#: Every BAD_INPUTS exception code: a row carrying one is a discrepancy whatever its outcome.
EXCEPTION_CODES = (*CLASSIFY_CODES, *FINDINGS)
DISCREPANCY_SCHEMA = {name: col.dtype.type for name, col in Discrepancy.to_schema().columns.items()}


#: How urgent each outcome is on the worklist (1 first). Money that moved without its counterpart
#: comes first, then checks that failed, then what only waits or needs a look.
SEVERITY: dict[str, int] = {
    "missing_in_ledger": 1, "missing_in_channel": 1, "amount_mismatch": 1, "currency_mismatch": 1,
    "fx_mismatch": 1, "status_mismatch": 1, "duplicate": 1,
    "fee_mismatch": 2, "unexplained": 2, "quarantined": 2,
    "in_transit": 3, "matched_fallback": 3, "matched": 3, "resolved_late": 3, "void": 3,
    "settlement_item": 3,
}  # fmt: skip
_SOURCE_ORDER = ("channel", "ledger", "bank")
AGING_SCHEMA = {"channel": pl.String, "currency": pl.String, "aging_bucket": pl.String, "items": pl.Int64,
                "amount_minor": pl.Int64}  # fmt: skip
#: The Summary's money per class of case: cases, amount at stake and difference, per channel and currency.
CLASS_TOTAL_SCHEMA = {"sheet": pl.String, "severity": pl.Int64, "class_code": pl.String, "channel": pl.String,
                      "currency": pl.String, "cases": pl.Int64, "stake_minor": pl.Int64,
                      "difference_minor": pl.Int64}  # fmt: skip
#: The Summary's line per channel and currency: the statement, what was matched, what is at stake,
#: the day's settlement (gross, refunds, fees, net) and where its payouts are.
CHANNEL_MONEY_SCHEMA = {
    "channel": pl.String, "currency": pl.String, "statement": pl.String, "footer": pl.String,
    "transactions": pl.Int64, "matched": pl.Int64, "cases": pl.Int64, "stake_minor": pl.Int64,
    "gross_minor": pl.Int64, "refunds_minor": pl.Int64, "fees_minor": pl.Int64, "net_minor": pl.Int64,
    "payout_received_minor": pl.Int64, "payout_in_transit_minor": pl.Int64, "payout_missing_minor": pl.Int64,
}  # fmt: skip


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
    ``open_items.parquet``); ``*_count`` give the full sizes. ``cases`` is the worklist, one row per
    case (transforms/worklist.py), and ``review`` the cases that only need a look, both most urgent
    first and cut at ``max_sheet_rows``; ``class_totals`` and ``channel_money`` carry the Summary's
    money. ``headline`` is in ``language``; ``problems`` (statements missing or rejected, the ledger
    not read) and ``not_checked`` say the same in English for tools. ``open_items`` are OpenItem rows: what is
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
    language: str = "zh"
    headline_parts: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()
    not_checked: tuple[str, ...] = ()
    cases: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=CASE_SCHEMA))
    case_count: int = 0
    review: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=CASE_SCHEMA))
    review_count: int = 0
    class_totals: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=CLASS_TOTAL_SCHEMA))
    channel_money: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=CHANNEL_MONEY_SCHEMA))
    risk: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=RISK_SCHEMA))
    risk_high_count: int = 0


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
               -- a fund-flow line is the channel's balance record, not a row of its statement
               count(*) filter (where source in ('channel', 'bank') and not starts_with(coalesce(kind, ''), 'flow_'))
                   as rows,
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
    language: str = "zh",
    fee_checked: tuple[str, ...] | None = None,
    risk: pl.DataFrame | None = None,
) -> Report:
    """Assemble the typed report from the ``outcomes``, ``open_items`` and ``resolved`` relations on ``con``.

    Exit code (STYLE): 3 when an expected statement is missing or rejected, or any row or file was
    quarantined; else 0 (discrepancies are findings, not failures). ``fee_checked`` names the
    channels with a contracted fee (None: all); a channel of the day outside it is "not checked".
    ``risk``: the day's risk signals (``transforms.risk``), most severe first; the headline counts and
    names the high ones.
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

    cases, case_count, review, review_count, class_totals = _cases(con, settlement, params, max_sheet_rows, language)
    channel_money = _channel_money(con, [c.channel for c in channels if c.channel != "bank"], unavailable,
                                   inputs, settlement, business_date, class_totals)

    # The ledger first: without it no channel row can be called missing, and the reader must know.
    ledger = unavailable.get("ledger")
    problems = [f"LEDGER NOT READ, {ledger}: no channel row is reported missing from it"] if ledger else []
    problems += [f"{name}: {why}" for name, why in sorted(unavailable.items()) if name != "ledger"]
    seen = [c.channel for c in channels if c.channel != "bank" and c.rows + c.ledger_rows > 0]
    fee_unchecked = [name for name in seen if fee_checked is not None and name not in fee_checked]
    not_checked = [*problems, *(f"{name}: fee not checked (no contracted fee)" for name in fee_unchecked)]
    quarantined_rows = int(counts.get("quarantined", 0))
    incomplete = bool(problems) or quarantine.height > 0
    headline_parts = _headline(
        business_date, language, incomplete=incomplete, ledger=ledger,
        unavailable={k: v for k, v in unavailable.items() if k != "ledger"}, quarantined_rows=quarantined_rows,
        channels=len(seen), class_totals=class_totals, settlement=settlement,
    )  # fmt: skip
    risk = pl.DataFrame(schema=RISK_SCHEMA) if risk is None else risk
    high = high_severity(risk)
    if high.height:
        headline_parts = (*headline_parts, _risk_part(high, language))
    return Report(
        business_date=business_date,
        run_id=run_id,
        code_version=code_version,
        rules_hash=rules_hash,
        headline=headline_text(headline_parts, language),
        headline_parts=headline_parts,
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
        language=language,
        problems=tuple(problems),
        not_checked=tuple(not_checked),
        cases=cases,
        case_count=case_count,
        review=review,
        review_count=review_count,
        class_totals=class_totals,
        channel_money=channel_money,
        risk=risk,
        risk_high_count=high.height,
    )


def _cases(
    con: duckdb.DuckDBPyConnection, settlement: pl.DataFrame, params: Mapping[str, object], max_rows: int,
    language: str,
) -> tuple[pl.DataFrame, int, pl.DataFrame, int, pl.DataFrame]:
    """The worklist and review cases (first ``max_rows`` of each), their counts, and the class totals."""
    con.register("settlement_lines", settlement)
    con.register("case_classes", case_classes_frame())
    sql = f"select *, {explanation_sql(language)} as explanation from ({cases_sql()})"  # noqa: S608 - our SQL
    every = con.sql(sql, params=dict(params)).pl().cast(CASE_SCHEMA)
    worklist = every.filter(pl.col("sheet") == "worklist")
    review = every.filter(pl.col("sheet") == "review")
    totals = (
        every.group_by("sheet", "severity", "class_code", "channel", "currency")
        .agg(cases=pl.len().cast(pl.Int64), stake_minor=pl.col("stake_minor").sum(),
             difference_minor=pl.col("difference_minor").sum())
        .sort("severity", pl.col("stake_minor"), "class_code", "channel", "currency",
              descending=[False, True, False, False, False], nulls_last=True)
        .cast(CLASS_TOTAL_SCHEMA)
    )  # fmt: skip
    return worklist.head(max_rows), worklist.height, review.head(max_rows), review.height, totals


def _channel_money(
    con: duckdb.DuckDBPyConnection,
    names: list[str],
    unavailable: dict[str, str],
    inputs: tuple[InputFile, ...],
    settlement: pl.DataFrame,
    business_date: date,
    class_totals: pl.DataFrame,
) -> pl.DataFrame:
    """One line per channel and currency for the Summary (CHANNEL_MONEY_SCHEMA)."""
    counts = con.sql("""
        select channel, currency, count(*) as transactions, count(*) filter (where outcome = 'matched') as matched
        from outcomes
        -- the channel's transactions: its own fee lines, conversions, payouts and fund-flow lines are
        -- settlement items, counted in the settlement and not here
        where source = 'channel' and outcome not in ('quarantined', 'settlement_item') group by all
    """).pl()
    cases = class_totals.filter(pl.col("sheet") == "worklist").group_by("channel", "currency").agg(
        pl.col("cases").sum(), pl.col("stake_minor").sum())
    money = ["gross_minor", "refunds_minor", "fees_minor", "net_minor"]
    # The day's own settlement, and where the payouts are: received (whatever the date they pay, checked
    # or not), still in transit (expected, nothing received), or missing (due, not received).
    today = settlement.filter(pl.col("settlement_date") == business_date).group_by("channel", "currency").agg(
        *(pl.col(c).sum() for c in money))
    in_transit = _in_transit()
    paid = settlement.group_by("channel", "currency").agg(
        payout_received_minor=pl.col("payout_received_minor").sum(),
        payout_in_transit_minor=pl.col("payout_expected_minor").filter(in_transit).sum(),
        payout_missing_minor=pl.col("payout_expected_minor").filter(pl.col("payout_status") == "missing").sum())
    keys = pl.concat([f.select("channel", "currency") for f in (counts, cases, today, paid)]).unique()
    keys = keys.filter(pl.col("channel").is_in(names))
    statement = {name: unavailable.get(name, "ok") for name in names}
    footers: dict[str, str] = {}
    for f in inputs:
        channel = f.source_file.split("/", 1)[0]
        if f.role == "channel" and f.status == "read":
            footers[channel] = "ok" if f.footer_lines > 0 and footers.get(channel, "ok") == "ok" else "absent"
    missing = pl.DataFrame({"channel": [n for n in names if n not in keys["channel"].to_list()]},
                           schema={"channel": pl.String}).with_columns(currency=pl.lit(None, pl.String))
    lines = (
        pl.concat([keys, missing])
        .join(counts, on=["channel", "currency"], how="left", nulls_equal=True)
        .join(cases, on=["channel", "currency"], how="left", nulls_equal=True)
        .join(today, on=["channel", "currency"], how="left", nulls_equal=True)
        .join(paid, on=["channel", "currency"], how="left", nulls_equal=True)
        .with_columns(
            statement=pl.col("channel").replace_strict(statement, default="ok"),
            footer=pl.col("channel").replace_strict(footers, default="n/a"),
            cases=pl.col("cases").fill_null(0),
        )
    )
    order = {name: rank for rank, name in enumerate(names)}
    return (
        lines.with_columns(rank=pl.col("channel").replace_strict(order, default=len(order)))
        .sort("rank", "currency", nulls_last=True)
        .select(list(CHANNEL_MONEY_SCHEMA))
        .cast(CHANNEL_MONEY_SCHEMA)  # type: ignore[arg-type]
    )


def _in_transit() -> pl.Expr:
    """A payout on its way: expected, nothing received yet.

    (A credit whose settlement date is not reconciled yet is ``in_transit`` too, but its money arrived.)
    """
    return (pl.col("payout_status") == "in_transit") & pl.col("payout_received_minor").is_null()


def _amounts(frame: pl.DataFrame, column: str) -> str:
    """The sums of ``column`` per currency, as a person reads them: ``¥10,471.03`` or ``¥5.00 + US$3.00``."""
    sums = frame.group_by("currency").agg(pl.col(column).sum()).sort("currency", nulls_last=True)
    return " + ".join(format_money(int(amount), currency) for currency, amount in sums.iter_rows() if amount is not None)


#: Classes the headline names one by one (most urgent, largest first); the rest are counted.
HEADLINE_CLASSES = 4


def _headline(
    business_date: date,
    language: str,
    *,
    incomplete: bool,
    ledger: str | None,
    unavailable: dict[str, str],
    quarantined_rows: int,
    channels: int,
    class_totals: pl.DataFrame,
    settlement: pl.DataFrame,
) -> tuple[str, ...]:
    """What the day comes to, money first, in ``language``, as parts.

    The head (the date, complete or not, and why), then one part per class of case, most urgent and
    largest first, then the payouts.
    """

    def say(key: str, **values: object) -> str:
        return word(PHRASES, key, language).format(**values)

    problems = [say("ledger_not_read", why=ledger)] if ledger else []
    for name, why in sorted(unavailable.items()):
        status = next((k for k in STATEMENT_STATUSES if why.startswith(k)), None)
        text = why if status is None else word(STATEMENT_STATUSES, status, language) + why[len(status):]
        problems.append(say("statement_problem", channel=word(CHANNEL_NAMES, name, language), status=text))
    if quarantined_rows:
        problems.append(say("quarantined_rows", n=quarantined_rows))
    parts = [say("channels_reconciled", n=channels)]
    worklist = class_totals.filter(pl.col("sheet") == "worklist")
    order = worklist.group_by("class_code").agg(pl.col("severity").min(), pl.col("stake_minor").sum()).sort(
        "severity", pl.col("stake_minor"), "class_code", descending=[False, True, False], nulls_last=True)
    for code in order["class_code"].head(HEADLINE_CLASSES):
        rows = worklist.filter(pl.col("class_code") == code)
        case_class = CASE_CLASSES[code]
        label = case_class.zh if language == "zh" else case_class.en
        parts.append(say("class_at_stake", label=label, amount=_amounts(rows, "stake_minor"), n=int(rows["cases"].sum())))
    if order.height > HEADLINE_CLASSES:
        rest = worklist.filter(pl.col("class_code").is_in(order["class_code"].slice(HEADLINE_CLASSES).implode()))
        parts.append(say("more_classes", classes=order.height - HEADLINE_CLASSES, n=int(rest["cases"].sum())))
    if worklist.height == 0:
        parts.append(say("no_discrepancy"))
    in_transit = settlement.filter(_in_transit())
    if in_transit.height:
        parts.append(say("payout_in_transit", amount=_amounts(in_transit, "payout_expected_minor")))
    missing = settlement.filter(pl.col("payout_status") == "missing")
    if missing.height:
        parts.append(say("payout_missing", amount=_amounts(missing, "payout_expected_minor")))
    head = say("provisional" if incomplete else "reconciled", date=business_date.isoformat())
    if problems:
        head += ("（" + "；".join(problems) + "）") if language == "zh" else " (" + "; ".join(problems) + ")"
    return (head, *parts)


#: High-severity signals the headline names one by one (the rest are counted, and all are on the Risk sheet).
HEADLINE_RISKS = 3


def _risk_part(high: pl.DataFrame, language: str) -> str:
    """The headline's part for the high-severity risk signals: how many, and the first ones by name."""
    named = [f"{word(RISK_SIGNALS, rule, language)} {subject}"
             for rule, subject in high.select("rule", "subject").head(HEADLINE_RISKS).iter_rows()]  # fmt: skip
    more = "…" if high.height > HEADLINE_RISKS else ""
    return word(PHRASES, "risk_high", language).format(n=high.height) + (
        "：" + "、".join(named) + more if language == "zh" else ": " + ", ".join(named) + more)


def headline_text(parts: tuple[str, ...], language: str) -> str:
    """The headline as one line (console, manifest, notifications): the head, then the money."""
    head, *rest = parts
    return head + ("：" if language == "zh" else ": ") + ("；" if language == "zh" else "; ").join(rest)


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
