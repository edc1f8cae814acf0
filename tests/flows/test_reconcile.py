"""The daily flow under Prefect: deliveries, reruns, the warehouse, and failing closed."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import duckdb
import polars as pl
import pytest

from flows.config import load_rules
from flows.reconcile import InvariantBroken, NoLedger
from tests.conftest import SAMPLE_DATA
from tests.helpers import run_day

pytestmark = pytest.mark.usefixtures("prefect_harness")

DAY = date(2026, 3, 2)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    shutil.copytree(SAMPLE_DATA / "inbox" / DAY.isoformat(), tmp_path / "inbox" / DAY.isoformat())
    return tmp_path


def run(data_dir: Path):
    rules, _ = load_rules(data_dir, None)
    return run_day(DAY, data_dir, rules)


def test_the_same_file_delivered_twice_is_read_once(data_dir: Path) -> None:
    first = run(data_dir)
    bill = next((data_dir / "inbox" / DAY.isoformat() / "wechatpay").glob("wechatpay_tradebill_*"))
    shutil.copy(bill, bill.with_name("resent_" + bill.name))
    second = run(data_dir)
    assert second.outcomes().height == first.outcomes().height
    assert any("duplicate delivery" in note for note in second.report.notes)
    manifest = json.loads((second.reports_dir / "manifest.json").read_text(encoding="utf-8"))
    statuses = {i["source_file"]: i["status"] for i in manifest["inputs"]}
    # Inputs are read in sorted order, so "resent_…" is read and the original is the duplicate.
    assert statuses[f"wechatpay/{bill.name}"] == f"duplicate delivery of wechatpay/resent_{bill.name}"
    assert statuses[f"wechatpay/resent_{bill.name}"] == "read"


def test_a_rerun_replaces_the_date_in_the_warehouse_never_appends(data_dir: Path) -> None:
    first = run(data_dir)
    run(data_dir)
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
        outcome_rows = con.execute("select count(*) from outcome_row where recon_date = ?", [DAY]).fetchall()[0][0]
        channel_rows = con.execute(
            "select count(*) from outcome_row where recon_date = ? and source = 'channel'", [DAY]
        ).fetchall()[0][0]
        runs = con.execute("select count(distinct run_id), count(*) from run_log").fetchall()[0]
    assert outcome_rows == first.outcomes().height
    key = pl.read_csv(SAMPLE_DATA / "answers" / f"{DAY}.csv", infer_schema=False)
    assert channel_rows == key.filter(pl.col("source") == "channel").height  # every statement row, once
    assert runs == (1, 2)  # the same inputs give the same run id; both runs are logged


def test_a_missing_statement_makes_the_report_provisional(data_dir: Path) -> None:
    shutil.rmtree(data_dir / "inbox" / DAY.isoformat() / "alipay")
    result = run(data_dir)
    assert result.report.exit_code == 3
    assert result.report.problems == ("alipay: statement missing",)
    alipay_ledger = result.outcomes().filter(
        (result.outcomes()["source"] == "ledger") & (result.outcomes()["channel"] == "alipay")
    )
    assert set(alipay_ledger["outcome"]) <= {"in_transit", "duplicate", "quarantined"}
    assert (alipay_ledger["outcome"] == "in_transit").sum() > 100


def test_a_garbled_statement_is_rejected_loudly(data_dir: Path) -> None:
    bill = next((data_dir / "inbox" / DAY.isoformat() / "wechatpay").glob("wechatpay_tradebill_*"))
    bill.write_bytes(b"this is not a bill\n")
    result = run(data_dir)
    assert result.report.exit_code == 3
    assert "wechatpay: statement rejected (UNKNOWN_FORMAT)" in result.report.problems
    assert result.report.quarantine.filter(result.report.quarantine["reason_code"] == "UNKNOWN_FORMAT").height == 1


def test_no_ledger_export_stops_the_run(data_dir: Path) -> None:
    shutil.rmtree(data_dir / "inbox" / DAY.isoformat() / "ledger")
    with pytest.raises(NoLedger):
        run(data_dir)


@pytest.mark.parametrize("check", ["conservation_problems", "amount_problems", "pairing_problems", "group_problems"])
def test_a_broken_invariant_publishes_nothing_new(check: str, data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import flows.reconcile

    first = run(data_dir)
    before = {p.name: p.read_bytes() for p in first.reports_dir.iterdir()}
    monkeypatch.setattr(flows.reconcile, check, lambda *args: ["wechatpay/x.csv:7: what broke"])
    with pytest.raises(InvariantBroken, match="not published, .*wechatpay/x.csv:7: what broke"):
        run(data_dir)
    assert {p.name: p.read_bytes() for p in first.reports_dir.iterdir()} == before
