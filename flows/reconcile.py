"""The daily reconciliation flow: one Prefect task per stage of DESIGN §5, reading like the runbook.

Each task loads, calls transforms, and writes; the logic lives in ``transforms/``. Big data never
travels between tasks: adapters spill their rows to Parquet in the run's work folder, and tasks pass
paths and small descriptors (so the partitions can run on other machines through Dask). Tasks take
no cache policy and never retry, except discovery, where a statement may still be arriving.
"""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
from prefect import flow, task, unmapped
from prefect.cache_policies import NO_CACHE
from prefect.futures import wait

from flows import outputs as staged
from flows.config import code_version
from flows.faults import crash_point
from flows.inbox import InboxInput, discover_inputs, inbox_dir
from flows.locks import date_lock, wait_for_earlier_dates
from flows.warehouse import open_warehouse
from flows.workspace import (
    SpillSink,
    Workspace,
    close_workspace,
    connect_engine,
    open_workspace,
    sweep_work,
)
from schemas.canonical import BalanceMove, BankTxn, ChannelTxn, LedgerEntry, empty_frame
from transforms.carry import OPEN_ITEM_SCHEMA, close_the_day
from transforms.classify import (
    channel_rules_frame,
    classify_parameters,
    classify_sql,
    currency_units_frame,
    explain_sql,
    fee_checked_channels,
    fund_flow_outcomes_sql,
    prepare_classification,
    quarantined_outcomes_sql,
    with_explanations_sql,
)
from transforms.decisions import DECISION_SCHEMA, rejected_pairs_sql
from transforms.dispatch import (
    FORMAT_BY_NAME,
    parse_input,
    recognise_source,
    role_of_folder,
    unreadable,
    with_unread_lines,
)
from transforms.findings import EARLIER_COLUMNS, findings_sql, wanted_keys_sql
from transforms.intake import Day, combine_parsed, identify_deliveries, input_notes
from transforms.invariants import amount_problems, conservation_problems, group_problems, pairing_problems
from transforms.match import cascade_of, entry_dups_sql
from transforms.parsed import REJECTED_SCHEMA, ParseContext, ParsedFile
from transforms.privacy import mask_quarantine, mask_text
from transforms.report import InputFile, Report, build_report
from transforms.risk import (
    RISK_PAYOUT_COLUMNS,
    RISK_ROW_COLUMNS,
    buyer_rows_sql,
    risk_contract_frame,
    risk_party_sql,
    risk_signals,
    todays_rows_sql,
)
from transforms.rules import Rules
from transforms.settle import SETTLEMENT_SCHEMA, reconcile_payouts, settlement_sql

log = logging.getLogger("recon")

#: How long a run waits for the run of an earlier date (its history) before it gives up (exit 2).
EARLIER_DATE_WAIT_SECONDS = 3600.0

#: The pipeline's name for each role's rows (reference files produce none): a fund-flow line is a
#: channel-side row (its outcome's source is ``channel``).
SOURCE_OF_ROLE = {"channel": "channel", "ledger": "ledger", "bank": "bank", "fund_flow": "channel"}
_MODELS = {"channel": ChannelTxn, "ledger": LedgerEntry, "bank": BankTxn, "fund_flow": BalanceMove}


class InvariantBroken(RuntimeError):
    """A run broke an invariant that must hold before anything is published (a bug, exit code 1)."""


class NoLedger(RuntimeError):  # noqa: N818 - an expected stop, reported with exit code 2
    """The inbox of the date holds no ledger export: nothing can be reconciled."""


@dataclass(frozen=True)
class RunResult:
    """What the CLI needs to print and exit with.

    Attributes:
        previous_version: where the report this run replaced was kept (another run id: other inputs,
            rules, decisions or code), or None.
        changed_rows: rows whose outcome differs from that previous version.
        stale_dates: later dates reconciled on the previous version of this one (to rerun, in order).
    """

    report: Report
    reports_dir: Path
    outputs: dict[str, str]
    previous_version: Path | None = None
    changed_rows: int = 0
    stale_dates: tuple[date, ...] = ()

    def outcomes(self) -> pl.DataFrame:
        """Every outcome row of the run, read back from its ``outcomes.parquet``."""
        return pl.read_parquet(self.reports_dir / "outcomes.parquet")


@dataclass(frozen=True)
class ParsedInput:
    """One parsed input: its ParsedFile (rows went to the spill) and the spill files it wrote.

    Attributes:
        file_no: its number in the run (the high half of its rows' ``row_id``).
        parsed: what the adapter found (no rows: they are in the files).
        row_files: ``(channel, Parquet file)`` of its valid rows.
        rejected_files: Parquet files of its quarantined lines' best-effort rows.
    """

    file_no: int
    parsed: ParsedFile
    row_files: tuple[tuple[str, str], ...] = ()
    rejected_files: tuple[str, ...] = ()

    def rows(self, channel: str | None = None) -> list[str]:
        """The files of its valid rows (of one channel, when given)."""
        return [path for name, path in self.row_files if channel is None or name == channel]


@dataclass(frozen=True)
class Partition:
    """One unit of matching: a channel's rows on both sides (paths only: it can travel to a worker).

    Attributes:
        channel: the channel.
        channel_files: Parquet files of its usable statement rows.
        ledger_files: Parquet files of its ledger rows.
        entry_dups: the Parquet file of the day's duplicated entry ids (the global pre-pass).
        outcomes: where the partition's outcome rows go.
        carried: the Parquet file of the open items of earlier dates (all channels).
        explanations: where the nearest candidates of its unmatched rows go (joined in by the report).
        decisions: the Parquet file of the decisions effective on or before D (rejected matches).
    """

    channel: str
    channel_files: tuple[str, ...]
    ledger_files: tuple[str, ...]
    entry_dups: str
    outcomes: str
    carried: str
    explanations: str
    decisions: str


@dataclass(frozen=True)
class History:
    """What earlier dates left for this one, as the warehouse stood after D−1.

    Attributes:
        settlement: settlement lines recorded by runs of earlier dates (payouts to recognise).
        carried: the Parquet file (in the work folder) of the open items carried into D.
        decisions: the Parquet file of the decisions effective on or before D.
        digest: a digest of all of it (part of the run id: what earlier dates left is an input too, so
            a date reconciled on a corrected history is a new version, never a silent overwrite).
    """

    settlement: pl.DataFrame
    carried: str
    decisions: str
    digest: str = ""


@contextmanager
def timed(stage: str) -> Iterator[None]:
    """Log a stage's duration: the progress line an operator sees."""
    began = time.perf_counter()
    yield
    log.info("%s done in %.2f s", stage, time.perf_counter() - began)


# -- stages ------------------------------------------------------------------------------------------


@task(cache_policy=NO_CACHE, retries=2, retry_delay_seconds=5)
def discover(folder: Path, rules: Rules) -> list[InboxInput]:
    """List, hash and unpack every file of the date's inbox."""
    if not folder.is_dir():
        raise FileNotFoundError(f"no inbox folder {folder}")
    with timed("discover"):
        inputs = discover_inputs(folder, rules.limits.max_file_bytes)
    log.info("discover: %d inputs in %s", len(inputs), folder)
    return inputs


@task(cache_policy=NO_CACHE)
def parse_file(
    file_no: int, item: InboxInput, business_date: date, rules: Rules, workspace: Workspace
) -> ParsedInput | None:
    """Recognise one input by its content and parse it with its adapter; its rows spill to the work folder.

    Returns None for a delivery already seen byte for byte (it is reported, not read twice).
    """
    if item.duplicate_of is not None:
        return None
    if item.error is not None:
        return ParsedInput(file_no, with_unread_lines(unreadable(item.source_file, item.error), item.source()))
    source = item.source()
    found = recognise_source(source)
    role = found.role if found is not None else role_of_folder(item.source_file)[0]
    with timed(f"parse {found.name if found is not None else 'unrecognised'} {file_no}"):
        sink = SpillSink(workspace, file_no, SOURCE_OF_ROLE.get(role, "reference"))
        context = ParseContext(business_date=business_date, timezone=rules.timezone, sink=sink,
                               limits=rules.parse_limits())  # fmt: skip
        result = parse_input(source, item.source_file, context)
    result = replace(result, quarantine=mask_quarantine(result.quarantine))
    log.info("parse: %s as %s (%d rows)", item.source_file, result.format, result.row_count)
    return ParsedInput(file_no, result, tuple(sink.row_files), tuple(sink.rejected_files))


@task(cache_policy=NO_CACHE)
def validate(parsed: list[ParsedInput], inputs: list[InboxInput], rules: Rules) -> Day:
    """Decide usable and rejected statements, the unavailable channels, and what the report must say."""
    deliveries = identify_deliveries(p.parsed for p in parsed)
    files = [
        replace(p.parsed, file_error=deliveries.conflicts[p.parsed.source_file])
        if p.parsed.source_file in deliveries.conflicts else p.parsed
        for p in parsed if p.parsed.source_file not in deliveries.duplicates
    ]  # fmt: skip
    ledger_channels = {
        channel for p in parsed if p.parsed.role == "ledger" and p.parsed.file_error is None
        and p.parsed.source_file not in deliveries.duplicates for channel, _ in p.row_files
    }  # fmt: skip
    day = combine_parsed(files, rules.expected, ledger_channels)
    checks: list[str] = []
    for summary in (f for f in files if FORMAT_BY_NAME.get(f.format) and FORMAT_BY_NAME[f.format].cross_check):
        spec = FORMAT_BY_NAME[summary.format]
        detail = next((f for f in files if f.format == spec.cross_checks and f.file_error is None), None)
        if detail is not None and spec.cross_check is not None:
            checks += [f"{summary.source_file}: {problem}" for problem in spec.cross_check(detail, summary)]
    duplicates = [(i.source_file, i.duplicate_of) for i in inputs if i.duplicate_of]
    duplicates += [(name, f"{original} (the same rows in other bytes)") for name, original in deliveries.duplicates.items()]
    unused = [f for f in files if f.role == "reference" and FORMAT_BY_NAME.get(f.format) is not None
              and FORMAT_BY_NAME[f.format].parser is None]  # fmt: skip
    notes = [*day.notes, *input_notes(unused, duplicates, checks)]
    log.info("validate: %d usable files, %d rejected, unavailable: %s",
             len(day.usable), len(day.rejected), ", ".join(sorted(day.unavailable)) or "none")  # fmt: skip
    return replace(day, notes=tuple(notes), duplicates=deliveries.duplicates)


@task(cache_policy=NO_CACHE)
def read_history(data_dir: Path, business_date: date, workspace: Workspace) -> History:
    """Read what earlier dates left open (open items, settlements) as of D−1, never later state.

    Runs of earlier dates still in progress are waited for first: what they leave open is D's history.
    """
    waited = wait_for_earlier_dates(data_dir, business_date, seconds=EARLIER_DATE_WAIT_SECONDS)
    if waited:
        log.info("history: waited for the runs of %s to finish", ", ".join(map(str, waited)))
    carried, decided = workspace.root / "carried.parquet", workspace.root / "decisions.parquet"
    path = data_dir / "warehouse.duckdb"
    settlement, items, decisions = pl.DataFrame(schema=SETTLEMENT_SCHEMA), None, None
    if path.exists():
        with open_warehouse(path, read_only=True) as warehouse:
            recorded = warehouse.settlement_history(business_date)
            settlement = settlement if recorded is None else recorded
            items = warehouse.open_items_before(business_date)
            decisions = warehouse.decisions_until(business_date)
    frame = pl.DataFrame(schema=OPEN_ITEM_SCHEMA) if items is None else items.cast(OPEN_ITEM_SCHEMA)  # type: ignore[arg-type]
    frame.write_parquet(carried)
    decisions = pl.DataFrame(schema=DECISION_SCHEMA) if decisions is None else decisions.cast(DECISION_SCHEMA)  # type: ignore[arg-type]
    decisions.write_parquet(decided)
    decided_ids = "\n".join(sorted(decisions["decision_id"]))
    digest = rows_digest(f"decisions {decided_ids}", frame, settlement)
    log.info("history: %d open items carried in, %d decisions", frame.height, decisions.height)
    return History(settlement=settlement, carried=str(carried), decisions=str(decided), digest=digest)


def rows_digest(*parts: str | pl.DataFrame) -> str:
    """A sha256 of texts and frames' rows (as CSV: the same rows, the same digest on any machine)."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update((part if isinstance(part, str) else part.write_csv()).encode())
        digest.update(b"\0")
    return digest.hexdigest()


@task(cache_policy=NO_CACHE)
def plan_partitions(
    parsed: list[ParsedInput], day: Day, workspace: Workspace, carried: str, decisions: str
) -> list[Partition]:
    """The global duplicate pre-pass over the whole ledger, then one partition per channel."""
    usable = [p for p in parsed if p.parsed.source_file in day.usable]
    by_channel: dict[tuple[str, str], list[str]] = {}
    for p in usable:
        for channel, path in p.row_files:
            by_channel.setdefault((p.parsed.role, channel), []).append(path)
    ledger_files = [path for (source, _), paths in by_channel.items() if source == "ledger" for path in paths]
    entry_dups = str(workspace.root / "entry_dups.parquet")
    with connect_engine(workspace) as con:
        _view(con, "ledger_rows", ledger_files, LedgerEntry)
        con.execute(f"copy ({entry_dups_sql()}) to ? (format parquet)", [entry_dups])  # noqa: S608
    channels = sorted({channel for (source, channel) in by_channel if source in ("channel", "ledger")})
    return [
        Partition(
            channel=channel,
            channel_files=tuple(sorted(by_channel.get(("channel", channel), []))),
            ledger_files=tuple(sorted(by_channel.get(("ledger", channel), []))),
            entry_dups=entry_dups,
            outcomes=str(workspace.outcomes_dir / f"partition-{channel}.parquet"),
            carried=carried,
            explanations=str(workspace.root / f"explain-{channel}.parquet"),
            decisions=decisions,
        )
        for channel in channels
    ]


@task(cache_policy=NO_CACHE)
def match_and_classify(
    partition: Partition, business_date: date, rules: Rules, unavailable: dict[str, str], workspace: Workspace
) -> pl.DataFrame:
    """Match one partition and give every row its outcome (written to Parquet); return its settlement lines."""
    with timed(f"match {partition.channel}"), connect_engine(workspace) as con:
        _view(con, "channel_rows", partition.channel_files, ChannelTxn, row_id="cid")
        _view(con, "ledger_rows", partition.ledger_files, LedgerEntry, row_id="lid")
        con.read_parquet(partition.entry_dups).create_view("entry_dups")
        con.execute("create temp table carried as select * from read_parquet(?) where channel = ?",
                    [partition.carried, partition.channel])  # fmt: skip
        con.read_parquet(partition.decisions).create_view("decisions")
        rejected = con.sql(rejected_pairs_sql(), params={"business_date": business_date}).pl()
        prepare_classification(con, rules, unavailable, rejected)
        carried = bool(con.execute("select count(*) from carried where source <> 'payout'").fetchall()[0][0])
        cascade = cascade_of(rules.match.cascade)
        sql = classify_sql(cascade, carried=carried, rejected=rejected.height > 0)
        sql = f"copy ({sql}) to $out (format parquet, compression lz4)"  # noqa: S608
        con.execute(sql, {**classify_parameters(business_date, rules), "out": partition.outcomes})
        con.read_parquet(partition.outcomes).create_view("partition_outcomes")
        con.execute(f"copy ({explain_sql(cascade)}) to $out (format parquet)",  # noqa: S608
                    {"timezone": rules.timezone, "out": partition.explanations})  # fmt: skip
        lines = con.sql(settlement_sql(rules), params={"business_date": business_date}).pl()
    return lines.select(list(SETTLEMENT_SCHEMA)).cast(SETTLEMENT_SCHEMA)  # type: ignore[arg-type]


@task(cache_policy=NO_CACHE)
def look_back(
    outcome_files: list[str], data_dir: Path, business_date: date, rules: Rules, workspace: Workspace
) -> str:
    """The channel rows of the last ``lookback_days`` dates that share a key with the day's, as of D−1.

    Only the keys a finding needs are looked up (refunds, and rows nothing matched): few rows, however
    long the history. Returns the Parquet file the report reads as ``earlier_rows``.
    """
    out = workspace.root / "earlier_rows.parquet"
    earlier = pl.DataFrame(schema=EARLIER_COLUMNS)
    path, days = data_dir / "warehouse.duckdb", rules.match.lookback_days
    if days and path.exists():
        with connect_engine(workspace) as con:
            con.read_parquet(outcome_files, union_by_name=True).create_view("outcome_rows")
            wanted = con.sql(wanted_keys_sql()).pl()
        if wanted.height:
            with open_warehouse(path, read_only=True) as warehouse:
                found = warehouse.earlier_channel_rows(business_date - timedelta(days=days), business_date, wanted)
            if found is not None:
                earlier = found.select(list(EARLIER_COLUMNS)).cast(EARLIER_COLUMNS)  # type: ignore[arg-type]
    log.info("look back: %d rows of the last %d days share a key with the day's", earlier.height, days)
    earlier.write_parquet(out)
    return str(out)


@task(cache_policy=NO_CACHE)
def risk(
    outcome_files: list[str], channel_files: list[str], settlement: pl.DataFrame, data_dir: Path,
    business_date: date, rules: Rules, workspace: Workspace,
) -> tuple[pl.DataFrame, str]:
    """The day's risk signals (transforms/risk.py) over the window's history as of D, never later dates.

    ``channel_files``: the spill files of the day's canonical channel rows (:func:`channel_row_files`),
    the only place the buyer ids are. Each is replaced by its keyed hash here, into the work folder's
    ``risk_party.parquet`` (returned with the signals; :func:`record_run` keeps it in the warehouse's
    ``risk_party`` table, the history of later dates): the raw id never leaves the work folder.
    """
    first = business_date - timedelta(days=rules.risk.window_days)
    party_file = str(workspace.root / "risk_party.parquet")
    path = data_dir / "warehouse.duckdb"
    recorded = None
    if path.exists():
        with open_warehouse(path, read_only=True) as warehouse:
            recorded = warehouse.risk_history(first, business_date)
    rows, payouts = recorded or (pl.DataFrame(schema=RISK_ROW_COLUMNS), pl.DataFrame(schema=RISK_PAYOUT_COLUMNS))
    today = settlement.with_columns(recon_date=pl.lit(business_date)).select(list(RISK_PAYOUT_COLUMNS))
    with timed("risk"), connect_engine(workspace) as con:
        _view(con, "channel_rows", channel_files, ChannelTxn,
              columns=("kind", "buyer_id", "occurred_at", "status", "source_file", "source_line"))  # fmt: skip
        # No buyer id on any row of the day: nothing to hash, no key made.
        buyers = con.execute(buyer_rows_sql()).fetchall()[0][0]
        key = _risk_key(data_dir) if buyers else ""
        con.execute(f"copy ({risk_party_sql()}) to $out (format parquet)", {"hash_key": key, "out": party_file})  # noqa: S608
        con.read_parquet(party_file).create_view("party_rows")
        con.read_parquet(outcome_files, union_by_name=True).create_view("outcome_rows")
        con.register("earlier_rows", rows.cast(RISK_ROW_COLUMNS))  # type: ignore[arg-type]
        con.execute(f"create temp table risk_rows as {todays_rows_sql()}", {"business_date": business_date})  # noqa: S608
        con.register("risk_payouts", pl.concat([payouts.cast(RISK_PAYOUT_COLUMNS), today.cast(RISK_PAYOUT_COLUMNS)]))  # type: ignore[arg-type]
        con.register("risk_contract", risk_contract_frame(rules))
        signals = risk_signals(con, business_date, rules.risk, key)
    log.info("risk: %d signals (%d high) over %s .. %s; %d rows name their buyer", signals.height,
             signals.filter(pl.col("severity") == 1).height, first, business_date, buyers)  # fmt: skip
    return signals, party_file


def _risk_key(data_dir: Path) -> str:
    """The key of the buyer-id hash: ``<data-dir>/risk.key`` (made once, owner-only), never in an output.

    Made when a day's rows first carry a buyer id: the hashes of one data dir compare across days.
    """
    path = data_dir / "risk.key"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_hex(32))
    return path.read_text().strip()


@task(cache_policy=NO_CACHE)
def quarantine_rows(parsed: list[ParsedInput], day: Day, workspace: Workspace) -> str:
    """Outcome rows for every quarantined line, and for every line of a rejected file; return their file."""
    out = str(workspace.outcomes_dir / "quarantined.parquet")
    rejected = [p for p in parsed if p.parsed.source_file in day.rejected]
    with timed("quarantine"), connect_engine(workspace) as con:
        spill = [path for p in parsed if p.parsed.source_file not in day.duplicates for path in p.rejected_files]
        _view(con, "rejected_spill", spill, None, schema={**REJECTED_SCHEMA, "source": pl.String(), "row_id": pl.Int64()})
        for source, model in _MODELS.items():
            paths = [path for p in rejected if p.parsed.role == source for path in p.rows()]
            _view(con, f"rejected_{source}_rows", paths, model)
        con.register("rejected_files", pl.DataFrame(
            [{"source_file": p.parsed.source_file, "file_code": day.rejected[p.parsed.source_file].reason_code,
              "file_reason": f"file rejected: {mask_text(day.rejected[p.parsed.source_file].message)}"} for p in rejected],
            schema={"source_file": pl.String, "file_code": pl.String, "file_reason": pl.String},
        ))  # fmt: skip
        line_entries = pl.concat(
            [p.parsed.quarantine for p in parsed if p.parsed.source_file not in day.duplicates], how="vertical"
        ) if parsed else day.quarantine  # fmt: skip
        con.register("quarantine_rows", line_entries.with_row_index("ordinal"))
        con.execute(f"copy ({quarantined_outcomes_sql()}) to ? (format parquet, compression lz4)", [out])  # noqa: S608
    return out


@task(cache_policy=NO_CACHE)
def fund_flow_outcomes(parsed: list[ParsedInput], day: Day, workspace: Workspace) -> str:
    """Outcome rows for the lines of the usable fund-flow files; return their file."""
    out = str(workspace.outcomes_dir / "fund_flow.parquet")
    paths = [path for p in parsed if p.parsed.source_file in day.usable and p.parsed.role == "fund_flow"
             for path in p.rows()]  # fmt: skip
    with connect_engine(workspace) as con:
        _view(con, "fund_flow_rows", paths, BalanceMove)
        con.execute(f"copy ({fund_flow_outcomes_sql()}) to ? (format parquet, compression lz4)", [out])  # noqa: S608
    return out


@task(cache_policy=NO_CACHE)
def settle_bank(
    parsed: list[ParsedInput], day: Day, history: pl.DataFrame, business_date: date, rules: Rules, workspace: Workspace
) -> tuple[str, pl.DataFrame]:
    """Recognise the payouts on the bank statement; return the bank outcomes' file and the payout lines."""
    paths = [path for p in parsed if p.parsed.source_file in day.usable and p.parsed.role == "bank"
             for path in p.rows()]  # fmt: skip
    spilled = pl.read_parquet(paths) if paths else empty_frame(BankTxn).with_columns(row_id=pl.lit(None, pl.Int64))
    bank = spilled.drop("row_id")
    outcomes, payouts = reconcile_payouts(bank, history, rules, business_date, bank_available="bank" not in day.unavailable)
    out = str(workspace.outcomes_dir / "bank.parquet")
    row_dates = spilled.select("source_file", "source_line", "row_id", row_date="booking_date")
    outcomes.join(row_dates, on=["source_file", "source_line"], how="left", maintain_order="left").write_parquet(out)
    return out, payouts


@task(cache_policy=NO_CACHE)
def report(
    outcome_files: list[str],
    explanation_files: list[str],
    earlier: str,
    read_files: list[str],
    settlement: pl.DataFrame,
    history: History,
    day: Day,
    inputs: tuple[InputFile, ...],
    risk_found: pl.DataFrame,
    business_date: date,
    run_id: str,
    rules: Rules,
    workspace: Workspace,
    staging: Path,
) -> Report:
    """Build the typed report, check its invariants, and stage the complete tables as files.

    ``earlier``: the look-back's channel rows of earlier dates (:func:`look_back`), for the findings;
    ``read_files``: every row the adapters read (valid and quarantined), for the amount check (I2);
    ``history``: the open items carried into D and the decisions in force, from which (with today's
    rows) the open items at the end of D and the rows resolved by a person are computed.
    """
    with timed("report"), connect_engine(workspace, readable=(staging,)) as con:
        con.read_parquet(outcome_files, union_by_name=True).create_view("outcome_rows")
        _view(con, "explanations", explanation_files, None,
              schema={"source": pl.String(), "row_id": pl.Int64(), "explained": pl.String()})  # fmt: skip
        con.read_parquet(earlier).create_view("earlier_rows")
        con.register("currency_units", currency_units_frame())
        first_date = business_date - timedelta(days=rules.match.lookback_days)
        con.execute(f"create temp table findings as {findings_sql()}",  # noqa: S608 - SQL of transforms
                    {"business_date": business_date, "first_date": first_date})  # fmt: skip
        con.sql(with_explanations_sql("outcome_rows", "explanations", "findings")).create_view("outcomes")
        con.read_parquet(history.carried).create_view("carried")
        con.read_parquet(history.decisions).create_view("decisions")
        con.register("settlement_today", settlement)
        con.register("channel_rules", channel_rules_frame(rules))
        close_the_day(con, business_date)
        _view(con, "read_amounts", read_files, None, schema={"source_file": pl.String(), "amount_minor": pl.Int64()},
              columns=("source_file", "amount_minor"))  # fmt: skip
        built = build_report(
            con, business_date=business_date, run_id=run_id, code_version=code_version(),
            rules_hash=rules.digest(), settlement=settlement, quarantine=day.quarantine,
            unavailable=day.unavailable, notes=day.notes, inputs=inputs, expected=rules.expected,
            max_sheet_rows=rules.report.max_sheet_rows, language=rules.report.language,
            fee_checked=fee_checked_channels(rules), risk=risk_found,
        )  # fmt: skip
        tolerances = {name: 0 if rules.for_channel(name).exact_amounts else 1
                      for name in channel_rules_frame(rules)["channel"]}  # fmt: skip
        checks = {
            "rows would be lost or doubled": conservation_problems(built),
            "amounts would change between the statements and the report": amount_problems(con),
            "matched pairs do not pair up": pairing_problems(con, tolerances),
            "matched groups do not add up": group_problems(con),
        }
        broken = [f"{what}: {'; '.join(problems)}" for what, problems in checks.items() if problems]
        if broken:  # fail closed (BAD_INPUTS I12): nothing new is published
            raise InvariantBroken("not published, " + " | ".join(broken))
        staged.stage_tables(con, business_date, staging)
    return built


@task(cache_policy=NO_CACHE)
def publish(report: Report, staging: Path) -> dict[str, str]:
    """Render the workbook and the small tables into the staging folder; hash every output."""
    with timed("publish"):
        return staged.stage_documents(report, staging)


@task(cache_policy=NO_CACHE)
def record_run(
    data_dir: Path, report: Report, staging: Path, outputs: dict[str, str], started_at: datetime,
    replaces: str | None = None, risk_party: str | None = None,
) -> list[date]:  # fmt: skip
    """Keep the day's canonical rows, outcomes, settlement and quarantine; log the run with its hashes.

    ``replaces``: the run id of the report this run replaces (another version): the later dates
    reconciled on it are marked stale and returned. ``risk_party``: the work folder's file of the day's
    buyer hashes (:func:`risk`), kept in the same transaction as the day.
    """
    stale: list[date] = []
    readable = (staging, Path(risk_party).parent) if risk_party else (staging,)
    with timed("record"), open_warehouse(data_dir / "warehouse.duckdb", readable=readable) as warehouse:
        warehouse.record_day(
            report.business_date, report.run_id,
            files=pl.DataFrame([f.__dict__ for f in report.inputs]) if report.inputs else None,
            outcomes=str(staging / "outcomes.parquet"), settlement=report.settlement, quarantine=report.quarantine,
            open_items=str(staging / "open_items.parquet"), risk_party=risk_party,
        )  # fmt: skip
        warehouse.record_run(
            run_id=report.run_id, business_date=report.business_date, started_at=started_at,
            finished_at=datetime.now(UTC), exit_code=report.exit_code, code_version=report.code_version,
            rules_hash=report.rules_hash, outputs=outputs,
            inputs={f.source_file: f.sha256 for f in report.inputs}, outcome_counts=dict(report.outcome_counts),
        )  # fmt: skip
        warehouse.clear_stale(report.business_date)
        upstream = warehouse.stale_dates_before(report.business_date)
        if upstream:  # reconciled on an earlier date that is stale itself: not current either
            warehouse.mark_stale([report.business_date], f"reconciled on the history of {upstream[-1]}, which is "
                                 f"stale itself: run {upstream[0]} and the dates after it again, in order")  # fmt: skip
        if replaces is not None:
            stale = warehouse.mark_later_dates_stale(
                report.business_date,
                f"{report.business_date} was reconciled again (run {report.run_id} replaces {replaces})",
            )
    return stale


# -- the runbook -------------------------------------------------------------------------------------


@flow(name="reconcile-day", log_prints=False, validate_parameters=False)
def reconcile_day(
    business_date: date, data_dir: Path, rules: Rules, reports_dir: Path | None = None, record: bool = True
) -> RunResult:
    """Reconcile one business date: discover → parse → validate → history → match → settle → report → publish → record.

    Args:
        business_date: the date D to reconcile.
        data_dir: holds ``inbox/``, ``reports/``, ``work/`` and ``warehouse.duckdb``.
        rules: the parsed recon.toml.
        reports_dir: where to publish (default ``<data-dir>/reports/<D>``; ``recon verify`` uses a temp dir).
        record: False to leave the warehouse untouched (``recon verify``).
    """
    started_at = datetime.now(UTC)
    target = reports_dir or data_dir / "reports" / business_date.isoformat()
    with date_lock(data_dir, business_date) if record else nullcontext(), \
            run_folders(data_dir, business_date, rules, target, sweep=record) as (workspace, staging):  # fmt: skip
        inputs = discover(inbox_dir(data_dir, business_date), rules)
        parsing = parse_file.map(range(len(inputs)), inputs, unmapped(business_date), unmapped(rules),
                                 unmapped(workspace))  # fmt: skip
        wait(parsing)  # every file finished (or failed) before any failure ends the run and its folders
        parsed = [p for p in (f.result() for f in parsing) if p is not None]
        crash_point("after_parse")
        if not any(p.parsed.role == "ledger" for p in parsed):
            raise NoLedger(f"no ledger export in {inbox_dir(data_dir, business_date) / 'ledger'}")
        day = validate(parsed, inputs, rules)
        history = read_history(data_dir, business_date, workspace)
        partitions = plan_partitions(parsed, day, workspace, history.carried, history.decisions)
        settlements = match_and_classify.map(partitions, unmapped(business_date), unmapped(rules),
                                             unmapped(day.unavailable), unmapped(workspace))  # fmt: skip
        wait(settlements)
        quarantined = quarantine_rows(parsed, day, workspace)
        fund_flow = fund_flow_outcomes(parsed, day, workspace)
        bank_outcomes, payouts = settle_bank(parsed, day, history.settlement, business_date, rules, workspace)
        settlement = pl.concat([*(s.result() for s in settlements), payouts], how="vertical")
        outcome_files = [*(p.outcomes for p in partitions), quarantined, fund_flow, bank_outcomes]
        earlier = look_back(outcome_files, data_dir, business_date, rules, workspace)
        files = describe_inputs(inputs, [p.parsed for p in parsed], day)
        signals, risk_party = risk(outcome_files, channel_row_files(parsed, day), settlement, data_dir,
                                   business_date, rules, workspace)  # fmt: skip
        built = report(outcome_files, [p.explanations for p in partitions], earlier, read_files(parsed, day), settlement,
                       history, day, files, signals, business_date,
                       run_id_for(inputs, rules, history.digest + rows_digest(pl.read_parquet(earlier), signals)),
                       rules, workspace, staging)  # fmt: skip
        outputs = publish(built, staging)
        previous = staged.published_run_id(target) if record else None
        replaces = previous if previous not in (None, built.run_id) else None
        stale = record_run(data_dir, built, staging, outputs, started_at, replaces, risk_party) if record else []
        crash_point("before_switch")
        kept = data_dir / "reports" / ".versions" / business_date.isoformat() / replaces if replaces else None
        staged.switch_into_place(staging, target, keep=kept)
        changed = 0
        if kept is not None:  # nothing overwritten in silence: the old version stays, with what changed
            with connect_engine(workspace, readable=(kept, target)) as con:
                changed = staged.write_changes(con, kept / "outcomes.parquet", target / "outcomes.parquet",
                                               kept / f"changes_to_{built.run_id}.csv")  # fmt: skip
            log.info("%s: a new version (run %s) replaces run %s, kept in %s: %d rows changed outcome",
                        business_date, built.run_id, replaces, kept, changed)  # fmt: skip
    return RunResult(report=built, reports_dir=target, outputs=outputs, previous_version=kept, changed_rows=changed,
                     stale_dates=tuple(stale))  # fmt: skip


@contextmanager
def run_folders(
    data_dir: Path, business_date: date, rules: Rules, target: Path, *, sweep: bool = False
) -> Iterator[tuple[Workspace, Path]]:
    """The run's work folder and its report staging folder, both removed when the run ends, however.

    ``sweep`` (only under the date's lock): first remove what a killed run of the same date left
    behind (its work folder, its staging folder): they are never read, and never kept.
    """
    if sweep:
        sweep_work(data_dir, business_date, rules.engine)
        staged.sweep_staging(target)
    workspace = open_workspace(data_dir, business_date, rules.engine)
    staging = staged.open_staging(target)
    try:
        yield workspace, staging
    finally:
        staged.discard_staging(staging)
        close_workspace(workspace)


# -- helpers -----------------------------------------------------------------------------------------

def _view(
    con: Any, name: str, paths: list[str], model: Any, *, schema: dict[str, pl.DataType] | None = None,
    row_id: str = "row_id", columns: tuple[str, ...] | None = None,
) -> None:  # fmt: skip
    """Name the rows of ``paths`` (Parquet) as a view, or an empty relation of the model when none.

    ``row_id`` renames the spill's row id (``cid`` for channel rows, ``lid`` for ledger rows).
    """
    if paths:
        relation = con.read_parquet(sorted(paths), union_by_name=True)
    else:
        empty = pl.DataFrame(schema=schema) if schema is not None else empty_frame(model).with_columns(
            row_id=pl.lit(None, pl.Int64)
        )
        relation = con.from_arrow(empty.to_arrow())
    if row_id != "row_id" and "row_id" in relation.columns:
        relation = relation.project(f"* exclude (row_id), row_id as {row_id}")
    if columns is not None:
        relation = relation.select(*columns)
    relation.create_view(name)


def channel_row_files(parsed: list[ParsedInput], day: Day) -> list[str]:
    """The spill files of the day's canonical channel rows (``ChannelTxn``) of the statements that count."""
    return sorted(path for p in parsed if p.parsed.role == "channel" and p.parsed.source_file in day.usable
                  for path in p.rows())  # fmt: skip


def read_files(parsed: list[ParsedInput], day: Day) -> list[str]:
    """The spill files of every row read (valid and quarantined) of the files that count (not duplicates)."""
    return [path for p in parsed if p.parsed.source_file not in day.duplicates and p.parsed.role in SOURCE_OF_ROLE
            for path in (*p.rows(), *p.rejected_files)]  # fmt: skip


def describe_inputs(inputs: list[InboxInput], parsed: list[ParsedFile], day: Day) -> tuple[InputFile, ...]:
    """One InputFile per input, with its format, role, status and line accounting."""
    by_name = {p.source_file: p for p in parsed}
    described = []
    for item in inputs:
        p = by_name.get(item.source_file)
        if item.duplicate_of:
            status = f"duplicate delivery of {item.duplicate_of}"
        elif item.source_file in day.duplicates:
            status = f"duplicate delivery of {day.duplicates[item.source_file]} (the same rows in other bytes)"
        elif item.error is not None:
            status = f"rejected: {item.error.reason_code}"
        elif item.source_file in day.rejected:
            status = f"rejected: {day.rejected[item.source_file].reason_code}"
        elif p is not None and p.file_error is not None:
            status = f"rejected: {p.file_error.reason_code}"
        elif p is not None and p.role == "reference":
            spec = FORMAT_BY_NAME.get(p.format)
            status = "cross-check" if spec is not None and spec.cross_check is not None else "recognised, not used"
        else:
            status = "read"
        lines = p.lines if p is not None else None
        described.append(
            InputFile(
                source_file=item.source_file, sha256=item.sha256,
                format=p.format if p is not None else "unreadable", role=p.role if p is not None else "",
                status=status, data_rows=lines.data if lines else 0, physical_lines=lines.physical if lines else 0,
                header_lines=lines.header if lines else 0, preamble_lines=lines.preamble if lines else 0,
                footer_lines=lines.footer if lines else 0, blank_lines=lines.blank if lines else 0,
                continuation_lines=lines.continuation if lines else 0, unread_lines=lines.unread if lines else 0,
            )
        )  # fmt: skip
    return tuple(described)


def run_id_for(inputs: list[InboxInput], rules: Rules, history: str = "") -> str:
    """The run id: a digest of the input hashes, the rules, the history read and the code version.

    Same inputs → same id. ``history`` digests what earlier dates left (open items, settlements, the
    decisions in force, the look-back's rows): a decision made since, or an earlier date reconciled
    again, is an input too, so a rerun on it is a new run (a new version, never a silent overwrite).
    """
    digest = hashlib.sha256()
    for item in sorted(inputs, key=lambda i: i.source_file):
        digest.update(f"{item.source_file}\0{item.sha256}\n".encode())
    digest.update(rules.digest().encode())
    if history:
        digest.update(f"history {history}".encode())
    digest.update(code_version().encode())
    return digest.hexdigest()[:16]

