"""The daily reconciliation flow: one Prefect task per stage of DESIGN §5, reading like the runbook.

Each task loads, calls transforms, and writes; the logic lives in ``transforms/``. Tasks take no
cache policy (inputs are big frames and a DuckDB connection, and nothing here is worth caching) and
never retry, except discovery, where a statement may still be arriving.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import polars as pl
from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from flows.config import code_version
from flows.inbox import InboxInput, discover_inputs, inbox_dir
from flows.warehouse import Warehouse
from schemas.outputs import Discrepancy, Outcome, QuarantineEntry, SettlementLine
from transforms.classify import classify_outcomes
from transforms.dispatch import parse_input, unreadable
from transforms.intake import Day, combine_parsed, input_notes, row_dates
from transforms.parsed import FileRejected, ParsedFile
from transforms.publish import frame_to_parquet, manifest_json, sha256_hex
from transforms.report import InputFile, Report, build_report, conservation_problems
from transforms.rules import Rules
from transforms.settle import SETTLEMENT_SCHEMA, reconcile_payouts, settle_channel_day
from transforms.workbook import render_workbook

log = logging.getLogger("recon")


class InvariantBroken(RuntimeError):
    """A run broke an invariant that must hold before anything is published (a bug, exit code 1)."""


class NoLedger(RuntimeError):  # noqa: N818 - an expected stop, reported with exit code 2
    """The inbox of the date holds no ledger export: nothing can be reconciled."""


@dataclass(frozen=True)
class RunResult:
    """What the CLI needs to print and exit with."""

    report: Report
    reports_dir: Path
    outputs: dict[str, str]


@task(cache_policy=NO_CACHE, retries=2, retry_delay_seconds=5)
def discover(folder: Path) -> list[InboxInput]:
    """List, read, unpack and hash every file of the date's inbox."""
    if not folder.is_dir():
        raise FileNotFoundError(f"no inbox folder {folder}")
    inputs = discover_inputs(folder)
    log.info("discover: %d inputs in %s", len(inputs), folder)
    return inputs


@task(cache_policy=NO_CACHE)
def parse(inputs: list[InboxInput], business_date: date, rules: Rules) -> list[ParsedFile]:
    """Recognise each input by content and parse it with its adapter (duplicates read once)."""
    parsed = []
    for item in inputs:
        if item.duplicate_of is not None:
            continue
        if item.error is not None or item.data is None:
            parsed.append(unreadable(item.source_file, item.error or FileRejected("UNREADABLE", "not readable")))
            continue
        parsed.append(parse_input(item.data, item.source_file, business_date=business_date, rules=rules))
        log.info("parse: %s as %s", item.source_file, parsed[-1].format)
    return parsed


@task(cache_policy=NO_CACHE)
def validate(parsed: list[ParsedFile], inputs: list[InboxInput], rules: Rules) -> Day:
    """Split usable rows from quarantine, find missing or rejected statements, cross-check summaries."""
    day = combine_parsed(parsed, rules.expected)
    duplicates = [(i.source_file, i.duplicate_of) for i in inputs if i.duplicate_of]
    notes = [*day.notes, *input_notes(parsed, duplicates)]
    log.info("validate: %d channel, %d ledger, %d bank rows; %d quarantined",
             day.channel.height, day.ledger.height, day.bank.height, day.quarantined.height)
    return replace(day, notes=tuple(notes))


@task(cache_policy=NO_CACHE)
def load(warehouse: Warehouse, business_date: date, run_id: str, day: Day, files: tuple[InputFile, ...]) -> None:
    """Replace the date's canonical rows in the warehouse (idempotent per date and file)."""
    raw_files = pl.DataFrame([f.__dict__ for f in files]) if files else pl.DataFrame({"source_file": []}, schema={"source_file": pl.String})
    warehouse.replace_day(
        business_date, run_id,
        {"raw_input_file": raw_files, "canonical_channel_txn": day.channel,
         "canonical_ledger_entry": day.ledger, "canonical_bank_txn": day.bank},
    )


@task(cache_policy=NO_CACHE)
def match_and_classify(day: Day, business_date: date, rules: Rules) -> pl.DataFrame:
    """Run the matching cascade and give every channel and ledger row its outcome."""
    outcomes = classify_outcomes(
        day.channel, day.ledger, business_date=business_date, rules=rules, unavailable=day.unavailable
    )
    return pl.concat([outcomes, day.quarantined])


@task(cache_policy=NO_CACHE)
def settle(day: Day, history: pl.DataFrame, business_date: date, rules: Rules) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Settle the day per channel and recognise the payouts on the bank statement."""
    own = settle_channel_day(day.channel, business_date)
    bank_outcomes, payouts = reconcile_payouts(
        day.bank, history, rules, business_date, bank_available="bank" not in day.unavailable
    )
    return bank_outcomes, pl.concat([own, payouts])


@task(cache_policy=NO_CACHE)
def publish(report: Report, reports_dir: Path) -> dict[str, str]:
    """Render the workbook, the Parquet files and the manifest; write each atomically, manifest last.

    Fails closed (BAD_INPUTS I12): a report that loses or doubles a row is never published.
    """
    problems = conservation_problems(report)
    if problems:
        raise InvariantBroken("not published, rows would be lost or doubled: " + "; ".join(problems))
    Outcome.validate(report.outcomes, lazy=True)
    Discrepancy.validate(report.discrepancies, lazy=True)
    SettlementLine.validate(report.settlement, lazy=True)
    QuarantineEntry.validate(report.quarantine, lazy=True)
    day = report.business_date.isoformat()
    files = {
        f"recon_{day}.xlsx": render_workbook(report),
        "outcomes.parquet": frame_to_parquet(report.outcomes),
        "discrepancies.parquet": frame_to_parquet(report.discrepancies),
        "settlement.parquet": frame_to_parquet(report.settlement),
        "quarantine.parquet": frame_to_parquet(report.quarantine),
    }
    hashes = {name: sha256_hex(data) for name, data in sorted(files.items())}
    files["manifest.json"] = manifest_json(report, hashes)
    reports_dir.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        _write_atomically(reports_dir / name, data)
    log.info("publish: %d files in %s", len(files), reports_dir)
    return {**hashes, "manifest.json": sha256_hex(files["manifest.json"])}


def _write_atomically(path: Path, data: bytes) -> None:
    """Write to a temp name in the same folder, fsync, then rename over the target."""
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def describe_inputs(inputs: list[InboxInput], parsed: list[ParsedFile]) -> tuple[InputFile, ...]:
    """One InputFile per input, with its format, role, status and line accounting."""
    by_name = {p.source_file: p for p in parsed}
    described = []
    for item in inputs:
        p = by_name.get(item.source_file)
        if item.duplicate_of:
            status = f"duplicate delivery of {item.duplicate_of}"
        elif item.error is not None:
            status = f"rejected: {item.error.reason_code}"
        elif p is not None and p.file_error is not None:
            status = f"rejected: {p.file_error.reason_code}"
        elif p is not None and p.role == "reference":
            status = "recognised, not used" if p.format != "alipay_trade_summary" else "cross-check"
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
                continuation_lines=lines.continuation if lines else 0,
            )
        )
    return tuple(described)


def run_id_for(inputs: list[InboxInput], rules: Rules, version: str) -> str:
    """The run id: a digest of the input hashes, the rules and the code version (same inputs → same id)."""
    digest = hashlib.sha256()
    for item in sorted(inputs, key=lambda i: i.source_file):
        digest.update(f"{item.source_file}\0{item.sha256}\n".encode())
    digest.update(rules.digest().encode())
    digest.update(version.encode())
    return digest.hexdigest()[:16]


@flow(name="reconcile-day", log_prints=False, validate_parameters=False)
def reconcile_day(
    business_date: date, data_dir: Path, rules: Rules, reports_dir: Path | None = None, record: bool = True
) -> RunResult:
    """Reconcile one business date: discover → parse → validate → load → match → settle → report → record.

    Args:
        business_date: the date D to reconcile.
        data_dir: holds ``inbox/``, ``reports/`` and ``warehouse.duckdb``.
        rules: the parsed recon.toml.
        reports_dir: where to publish (default ``<data-dir>/reports/<D>``; ``recon verify`` uses a temp dir).
        record: False to leave the warehouse untouched (``recon verify``).
    """
    return run_day(business_date, data_dir, rules, reports_dir=reports_dir, record=record, orchestrated=True)


def run_day(
    business_date: date,
    data_dir: Path,
    rules: Rules,
    *,
    reports_dir: Path | None = None,
    record: bool = True,
    orchestrated: bool = False,
) -> RunResult:
    """The runbook of one date, stage by stage.

    Inside the flow each stage is a Prefect task run; with ``orchestrated=False`` the same stages run
    as plain functions (tests, benchmarks), with the same results.
    """

    def stage(step: Any, *args: Any) -> Any:
        began = time.perf_counter()
        result = step(*args) if orchestrated else step.fn(*args)
        log.info("%s done in %.2f s", step.name, time.perf_counter() - began)
        return result

    started_at = datetime.now(UTC)
    version = code_version()
    inputs = stage(discover, inbox_dir(data_dir, business_date))
    parsed = stage(parse, inputs, business_date, rules)
    if not any(p.role == "ledger" for p in parsed):
        raise NoLedger(f"no ledger export in {inbox_dir(data_dir, business_date) / 'ledger'}")
    day = stage(validate, parsed, inputs, rules)
    run_id = run_id_for(inputs, rules, version)
    files = describe_inputs(inputs, parsed)
    with Warehouse(data_dir / "warehouse.duckdb") as warehouse:
        history = warehouse.settlement_history(business_date)
        if history is None:
            history = pl.DataFrame(schema=SETTLEMENT_SCHEMA)
        if record:
            stage(load, warehouse, business_date, run_id, day, files)
        outcomes = stage(match_and_classify, day, business_date, rules)
        bank_outcomes, settlement = stage(settle, day, history, business_date, rules)
        report = build_report(
            business_date=business_date, run_id=run_id, code_version=version, rules_hash=rules.digest(),
            outcomes=pl.concat([outcomes, bank_outcomes]), settlement=settlement, quarantine=day.quarantine,
            unavailable=day.unavailable, notes=day.notes, inputs=files, expected=rules.expected,
            row_dates=row_dates(day),
        )
        target = reports_dir or data_dir / "reports" / business_date.isoformat()
        outputs = stage(publish, report, target)
        if record:
            stage(record_run, warehouse, report, outputs, started_at)
    return RunResult(report=report, reports_dir=target, outputs=outputs)


@task(cache_policy=NO_CACHE)
def record_run(warehouse: Warehouse, report: Report, outputs: dict[str, str], started_at: datetime) -> None:
    """Keep the day's outcomes, settlement and quarantine, and log the run with its output hashes."""
    warehouse.replace_day(
        report.business_date, report.run_id,
        {"outcome_row": report.outcomes, "settlement_line": report.settlement,
         "quarantine_entry": report.quarantine},
    )
    warehouse.record_run(
        run_id=report.run_id, business_date=report.business_date, started_at=started_at,
        finished_at=datetime.now(UTC), exit_code=report.exit_code, code_version=report.code_version,
        rules_hash=report.rules_hash, outputs=outputs,
    )
