"""The finance team's loop: run, read, resolve, next day; decisions in force from their date, undone."""

from __future__ import annotations

import csv
import shutil
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest

from flows.cli import EXIT_CANNOT_RUN, EXIT_OK, main
from flows.config import load_rules
from flows.reconcile import RunResult
from tests.conftest import SAMPLE_DATA
from tests.helpers import run_day
from transforms.labels import column_code
from transforms.rules import Rules

pytestmark = pytest.mark.usefixtures("prefect_harness")

FIRST = date(2026, 3, 2)
DAYS = [FIRST + timedelta(days=n) for n in range(4)]


def report_bytes(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def resolve(data_dir: Path, *argv: str) -> int:
    return main(["resolve", "--data-dir", str(data_dir), "--quiet", *argv])


def run_first_sample_day(data_dir: Path) -> tuple[date, Rules, RunResult]:
    """The committed week's first day in ``data_dir``, reconciled once: its date, rules and result."""
    shutil.copytree(SAMPLE_DATA / "inbox" / FIRST.isoformat(), data_dir / "inbox" / FIRST.isoformat())
    rules, _ = load_rules(data_dir, None)
    return FIRST, rules, run_day(FIRST, data_dir, rules)


def test_a_decision_resolves_from_its_date_on_never_before_and_an_undo_reopens(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for day in DAYS:
        shutil.copytree(SAMPLE_DATA / "inbox" / day.isoformat(), tmp_path / "inbox" / day.isoformat())
    rules, _ = load_rules(tmp_path, None)
    first = {day: run_day(day, tmp_path, rules) for day in DAYS[:3]}
    day2_before = report_bytes(first[DAYS[1]].reports_dir)

    # Read the third day's Open items: a ledger entry of day 1, booked after the cut-off, never paid.
    items = pl.read_parquet(first[DAYS[2]].reports_dir / "open_items.parquet")
    waiting = items.filter((pl.col("source") == "ledger") & (pl.col("opened_on") == FIRST)).row(0, named=True)
    row = f"{waiting['source_file']}:{waiting['source_line']}"
    assert resolve(tmp_path, "--date", str(DAYS[2]), "--row", row, "--opened-on", str(FIRST),
                   "--action", "write_off", "--account", "6603-rounding", "--reason", "test order, never paid",
                   "--by", "li.na") == EXIT_OK  # fmt: skip
    decision_id = capsys.readouterr().out.split("recorded decision ")[1][:12]

    def identity(frame: pl.DataFrame) -> set[tuple[object, ...]]:
        still_open = frame.filter(pl.col("resolved_by").is_null())  # resolved items are carried, marked
        return set(still_open.select("opened_on", "source", "source_file", "source_line").rows())

    key = (FIRST, "ledger", waiting["source_file"], waiting["source_line"])
    # The rerun of the decision's date applies it: a new run, the item resolved with its trail.
    rerun = run_day(DAYS[2], tmp_path, rules)
    assert rerun.report.run_id != first[DAYS[2]].report.run_id
    assert key not in identity(pl.read_parquet(rerun.reports_dir / "open_items.parquet"))
    resolved = pl.read_parquet(rerun.reports_dir / "resolved.parquet")
    assert resolved.select("action", "account", "decided_by", "decision_id", "reason").rows() == [
        ("write_off", "6603-rounding", "li.na", decision_id, "test order, never paid")
    ]
    # A rerun of an earlier date never sees it: byte for byte what it was.
    again = run_day(DAYS[1], tmp_path, rules, reports_dir=tmp_path / "rerun", record=False)
    assert report_bytes(again.reports_dir) == day2_before
    # The next day keeps it resolved.
    fourth = run_day(DAYS[3], tmp_path, rules)
    assert key not in identity(pl.read_parquet(fourth.reports_dir / "open_items.parquet"))
    assert pl.read_parquet(fourth.reports_dir / "resolved.parquet")["decision_id"].to_list() == [decision_id]

    # Undone from the fourth day on: open again there (aged), still resolved on the third.
    assert resolve(tmp_path, "--date", str(DAYS[3]), "--undo", decision_id, "--reason", "entered on the wrong row",
                   "--by", "li.na") == EXIT_OK  # fmt: skip
    reopened = run_day(DAYS[3], tmp_path, rules)
    assert key in identity(pl.read_parquet(reopened.reports_dir / "open_items.parquet"))
    assert pl.read_parquet(reopened.reports_dir / "resolved.parquet").height == 0
    third = run_day(DAYS[2], tmp_path, rules, reports_dir=tmp_path / "third", record=False)
    assert pl.read_parquet(third.reports_dir / "resolved.parquet")["decision_id"].to_list() == [decision_id]


def test_bulk_from_the_days_own_discrepancies_csv_and_what_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copytree(SAMPLE_DATA / "inbox" / DAYS[0].isoformat(), tmp_path / "inbox" / DAYS[0].isoformat())
    rules, _ = load_rules(tmp_path, None)
    result = run_day(DAYS[0], tmp_path, rules)
    csv_path = result.reports_dir / "discrepancies.csv"
    with open(csv_path, encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert rows and rows[0]["resolution"] == "" and rows[0]["note"] == ""
    rows[0]["resolution"], rows[0]["note"] = "accept_channel", "the order system lost the booking"
    filled = tmp_path / "resolutions.csv"
    with open(filled, "w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    assert resolve(tmp_path, "--date", str(DAYS[0]), "--file", str(filled), "--by", "wang.fang") == EXIT_OK
    assert capsys.readouterr().out.count("recorded decision") == 1
    rerun = run_day(DAYS[0], tmp_path, rules)
    resolved = pl.read_parquet(rerun.reports_dir / "resolved.parquet")
    assert resolved.select("source_file", "source_line", "action", "decided_by").rows() == [
        (rows[0]["source_file"], int(rows[0]["source_line"]), "accept_channel", "wang.fang")
    ]

    outcomes = rerun.outcomes()
    matched = outcomes.filter(pl.col("outcome") == "matched").row(0, named=True)
    big = outcomes.filter(pl.col("outcome") == "missing_in_ledger").sort("amount_minor").row(-1, named=True)
    refused = [
        ["--row", f"{matched['source_file']}:{matched['source_line']}", "--action", "accept_ledger", "--reason", "r"],
        ["--row", "ledger/nope.csv:3", "--action", "accept_ledger", "--reason", "r"],
        ["--row", f"{big['source_file']}:{big['source_line']}", "--action", "write_off", "--account", "6603",
         "--reason", "r"],
        ["--undo", "000000000000", "--reason", "r"],
        ["--row", "ledger/x.csv:3", "--action", "accept_ledger"],
    ]  # fmt: skip
    messages = []
    for argv in refused:
        assert resolve(tmp_path, "--date", str(DAYS[0]), *argv) == EXIT_CANNOT_RUN
        messages.append(capsys.readouterr().err)
    assert "it is matched, nothing to resolve" in messages[0]
    assert "no such row in the recorded run of 2026-03-02" in messages[1]
    assert "over the limit write_off_limit_minor = 100000" in messages[2] or big["amount_minor"] <= 100000
    assert "no recorded decision 000000000000" in messages[3]
    assert "a decision needs a reason" in messages[4]


def test_a_reissued_statement_is_a_new_version_beside_the_old_and_later_dates_are_stale(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for day in DAYS[:3]:
        shutil.copytree(SAMPLE_DATA / "inbox" / day.isoformat(), tmp_path / "inbox" / day.isoformat())
    rules, _ = load_rules(tmp_path, None)
    first = [run_day(day, tmp_path, rules) for day in DAYS[:3]]
    old_run = first[1].report.run_id
    old_outcomes = (first[1].reports_dir / "outcomes.parquet").read_bytes()

    # The same inputs again: the same run, nothing kept, nothing stale.
    same = run_day(DAYS[1], tmp_path, rules)
    assert same.report.run_id == old_run and same.previous_version is None and same.stale_dates == ()

    # The order system re-issues day 2's ledger export: one booking now failed.
    ledger = next((tmp_path / "inbox" / DAYS[1].isoformat() / "ledger").iterdir())
    ledger.write_bytes(ledger.read_bytes().replace(b"succeeded", b"failed", 1))
    again = run_day(DAYS[1], tmp_path, rules)
    assert again.report.run_id != old_run
    kept = tmp_path / "reports" / ".versions" / DAYS[1].isoformat() / old_run
    assert again.previous_version == kept and (kept / "outcomes.parquet").read_bytes() == old_outcomes
    changes = pl.read_csv(kept / f"changes_to_{again.report.run_id}.csv")
    # The first booking of the file closed day 1's open channel row: now a failed booking cannot.
    assert again.changed_rows == changes.height == 1
    assert changes.select("source", "outcome_before", "outcome_after").rows() == [
        ("ledger", "resolved_late", "status_mismatch")
    ]
    assert again.stale_dates == (DAYS[2],)  # reconciled on the old version of day 2

    assert main(["verify", "--date", str(DAYS[2]), "--data-dir", str(tmp_path), "--quiet"]) in (0, 1)
    assert f"STALE: {DAYS[1]} was reconciled again (run {again.report.run_id} replaces {old_run})" in capsys.readouterr().out
    run_day(DAYS[2], tmp_path, rules)  # rerun: current again
    main(["verify", "--date", str(DAYS[2]), "--data-dir", str(tmp_path), "--quiet"])
    assert "STALE" not in capsys.readouterr().out


def test_every_run_is_recorded_with_its_inputs_rules_code_and_outcome_counts(tmp_path: Path) -> None:
    import json

    from flows.warehouse import open_warehouse

    shutil.copytree(SAMPLE_DATA / "inbox" / DAYS[0].isoformat(), tmp_path / "inbox" / DAYS[0].isoformat())
    rules, _ = load_rules(tmp_path, None)
    result = run_day(DAYS[0], tmp_path, rules)
    with open_warehouse(tmp_path / "warehouse.duckdb", read_only=True) as warehouse:
        rows = warehouse.con.execute(
            "select run_id, rules_hash, code_version, inputs_json, outcome_counts_json from run_log"
        ).fetchall()
    ((run_id, rules_hash, code_version, inputs, counts),) = rows
    assert (run_id, rules_hash, code_version) == (result.report.run_id, result.report.rules_hash,
                                                  result.report.code_version)  # fmt: skip
    assert json.loads(inputs) == {f.source_file: f.sha256 for f in result.report.inputs} and json.loads(inputs)
    assert json.loads(counts) == dict(result.report.outcome_counts)
    assert sum(json.loads(counts).values()) == result.outcomes().height


def test_a_rejected_match_is_never_proposed_again_and_an_undo_brings_it_back(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    day, rules, first = run_first_sample_day(tmp_path)
    rows = first.outcomes()
    # A payment the ledger booked without the channel's id, matched by its order number: a proposal.
    proposed = rows.filter((pl.col("source") == "channel") & (pl.col("match_rule") == "order_no")
                           & (pl.col("kind") == "payment")).row(0, named=True)  # fmt: skip
    me = f"{proposed['source_file']}:{proposed['source_line']}"
    other = f"{proposed['counterpart_file']}:{proposed['counterpart_line']}"

    # Refused: the wrong partner, and a row that was matched by the channel's own id.
    assert resolve(tmp_path, "--date", str(day), "--row", me, "--action", "reject_match", "--with", "ledger/x.csv:2",
                   "--reason", "not this one") == EXIT_CANNOT_RUN  # fmt: skip
    assert "it was matched with " + other + " on its own date, not with ledger/x.csv:2" in capsys.readouterr().err
    assert resolve(tmp_path, "--date", str(day), "--row", me, "--action", "reject_match", "--with", other,
                   "--reason", "the order number was reused by the shop") == EXIT_OK  # fmt: skip
    decision_id = capsys.readouterr().out.split("recorded decision ")[1][:12]

    rerun = run_day(day, tmp_path, rules).outcomes()

    def row(frame: pl.DataFrame, source: str, where: str) -> dict[str, object]:
        file, _, line = where.rpartition(":")
        hit = frame.filter((pl.col("source") == source) & (pl.col("source_file") == file)
                           & (pl.col("source_line") == int(line)))  # fmt: skip
        return hit.row(0, named=True)

    channel_row, ledger_row = row(rerun, "channel", me), row(rerun, "ledger", other)
    # Neither the order number nor the amount and time (same amount, minutes apart) proposes it again.
    assert (channel_row["outcome"], ledger_row["outcome"]) == ("missing_in_ledger", "missing_in_channel")
    assert channel_row["counterpart_line"] is None and ledger_row["match_rule"] is None
    assert f"the match proposed with {other} was rejected (decision {decision_id})" in channel_row["detail"]
    assert f"the match proposed with {me} was rejected (decision {decision_id})" in ledger_row["detail"]
    # Every other row is as it was.
    others = pl.col("source_file") + ":" + pl.col("source_line").cast(pl.String)
    unchanged = ~others.is_in([me, other])
    assert rerun.filter(unchanged).select("source", "source_file", "source_line", "outcome").equals(
        rows.filter(unchanged).select("source", "source_file", "source_line", "outcome"))  # fmt: skip
    # A rejected match resolves nothing: both rows are open again, not on the Resolved sheet.
    assert pl.read_parquet(tmp_path / "reports" / day.isoformat() / "resolved.parquet").height == 0

    assert resolve(tmp_path, "--date", str(day), "--undo", decision_id, "--reason", "the shop was right") == EXIT_OK
    back = run_day(day, tmp_path, rules).outcomes()
    assert row(back, "channel", me)["counterpart_line"] == proposed["counterpart_line"]
    assert row(back, "channel", me)["outcome"] == proposed["outcome"]


def test_the_workbooks_own_discrepancies_sheet_is_a_resolutions_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import openpyxl

    day, rules, first = run_first_sample_day(tmp_path)
    book = openpyxl.load_workbook(first.reports_dir / f"recon_{day}.xlsx")
    sheet = book["待处理差异"]
    header = [column_code(cell.value) for cell in sheet[1]]
    # empty columns for a person, right after the suggested action
    assert header[header.index("action") + 1:][:3] == ["resolution", "note", "account"]
    at = {name: index + 1 for index, name in enumerate(header)}
    target = next(r for r in range(2, sheet.max_row + 1)
                  if sheet.cell(r, at["outcome"]).value == "missing_in_channel")  # fmt: skip
    sheet.cell(target, at["resolution"]).value = "accept_ledger"
    sheet.cell(target, at["note"]).value = "the channel confirmed the payment by e-mail"
    filled = tmp_path / "filled.xlsx"
    book.save(filled)
    row = f"{sheet.cell(target, at['source_file']).value}:{sheet.cell(target, at['source_line']).value}"

    assert resolve(tmp_path, "--date", str(day), "--file", str(filled), "--by", "li.na") == EXIT_OK
    out = capsys.readouterr().out
    assert out.count("recorded decision ") == 1 and f"accept_ledger ledger {row} of {day}" in out
    resolved = pl.read_parquet(run_day(day, tmp_path, rules).reports_dir / "resolved.parquet")
    assert resolved.select("action", "reason", "decided_by").rows() == [
        ("accept_ledger", "the channel confirmed the payment by e-mail", "li.na")]  # fmt: skip
    # Not a workbook, or one without the sheet: one line, nothing recorded.
    (tmp_path / "bad.xlsx").write_bytes(b"not a zip")
    assert resolve(tmp_path, "--date", str(day), "--file", str(tmp_path / "bad.xlsx")) == EXIT_CANNOT_RUN
    assert "not a readable xlsx workbook" in capsys.readouterr().err


def test_a_match_by_hand_resolves_both_rows(tmp_path: Path) -> None:
    day, rules, first = run_first_sample_day(tmp_path)
    rows = first.outcomes()

    def first(outcome: str) -> str:
        row = rows.filter(pl.col("outcome") == outcome).row(0, named=True)
        return f"{row['source_file']}:{row['source_line']}"

    channel_row, ledger_row = first("missing_in_ledger"), first("missing_in_channel")
    assert resolve(tmp_path, "--date", str(day), "--row", channel_row, "--action", "match_by_hand", "--with",
                   first("matched"), "--reason", "r") == EXIT_CANNOT_RUN  # a matched row is nobody's partner
    assert resolve(tmp_path, "--date", str(day), "--row", channel_row, "--action", "match_by_hand", "--with", ledger_row,
                   "--reason", "the same sale: the shop typed another order number") == EXIT_OK  # fmt: skip
    rerun = run_day(day, tmp_path, rules)
    resolved = pl.read_parquet(rerun.reports_dir / "resolved.parquet")
    named = resolved.select(pl.col("source_file") + ":" + pl.col("source_line").cast(pl.String), "counterpart")
    assert sorted(named.rows()) == sorted([(channel_row, ledger_row), (ledger_row, channel_row)])
    assert resolved["decision_id"].n_unique() == 1 and set(resolved["action"]) == {"match_by_hand"}
    items = pl.read_parquet(rerun.reports_dir / "open_items.parquet").filter(pl.col("resolved_by").is_null())
    still_open = set((items["source_file"] + ":" + items["source_line"].cast(pl.String)).drop_nulls())
    assert channel_row not in still_open and ledger_row not in still_open
