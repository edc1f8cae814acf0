"""Invariants on a whole committed day: nothing is lost, money is never a float, reruns are exact."""

from __future__ import annotations

import os
import shutil
import time
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from flows.config import load_rules
from flows.inbox import discover_inputs, inbox_dir
from flows.reconcile import RunResult
from tests.conftest import SAMPLE_DATA
from tests.helpers import run_day
from transforms.dispatch import parse_input
from transforms.parsed import ParseContext

pytestmark = pytest.mark.usefixtures("prefect_harness")

DAY = date(2026, 3, 3)  # a committed day with a zip delivery, quarantined ledger rows and payouts of D-1


@pytest.fixture(scope="module")
def week_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data_dir = tmp_path_factory.mktemp("week")
    for day in ("2026-03-02", "2026-03-03"):
        shutil.copytree(SAMPLE_DATA / "inbox" / day, data_dir / "inbox" / day)
    return data_dir


@pytest.fixture(scope="module")
def result(week_dir: Path) -> RunResult:
    rules, _ = load_rules(week_dir, None)
    run_day(date(2026, 3, 2), week_dir, rules)
    return run_day(DAY, week_dir, rules)


def test_rows_in_equal_rows_over_outcomes_per_file(result: RunResult) -> None:
    per_file = dict(result.outcomes().group_by("source_file").len().iter_rows())
    for f in result.report.inputs:
        # every data row of every file has exactly one outcome...
        assert per_file.get(f.source_file, 0) == f.data_rows, f.source_file
        # ...and the other physical lines are accounted for by role.
        assert f.physical_lines == (
            f.data_rows + f.continuation_lines + f.header_lines + f.preamble_lines + f.footer_lines + f.blank_lines
        )
    assert result.outcomes().select(["source_file", "source_line"]).is_duplicated().sum() == 0


def test_money_in_equals_money_over_outcomes_per_channel_and_currency(result: RunResult, week_dir: Path) -> None:
    rules, _ = load_rules(week_dir, None)
    parsed = [
        parse_input(i.source(), i.source_file, ParseContext(business_date=DAY, timezone=rules.timezone))
        for i in discover_inputs(inbox_dir(week_dir, DAY))
        if i.error is None and i.duplicate_of is None
    ]
    money_in = pl.concat(
        [
            # a fund-flow line is a channel-side row (its outcome's source is channel)
            frame.select("amount_minor", "currency", source=pl.lit("channel" if p.role == "fund_flow" else p.role),
                         channel=pl.col("channel") if p.role != "bank" else pl.lit(None, pl.String))
            for p in parsed if p.role in ("channel", "fund_flow", "ledger", "bank")
            for frame in (p.rows, p.rejected) if frame.height
        ]
    )
    # Outcomes name the recognised payout channel on bank rows; compare bank money per currency only.
    outcomes = result.outcomes().with_columns(
        channel=pl.when(pl.col("source") == "bank").then(pl.lit(None, pl.String)).otherwise("channel")
    )

    def totals(frame: pl.DataFrame) -> dict[tuple[object, ...], int]:
        grouped = frame.group_by("source", "channel", "currency").agg(pl.col("amount_minor").sum(), pl.len())
        return {(s, c, cur): (amount, n) for s, c, cur, amount, n in grouped.iter_rows()}

    assert totals(outcomes) == totals(money_in)


def test_every_money_column_of_every_output_is_an_integer_or_decimal(result: RunResult) -> None:
    frames = {name: pl.read_parquet(result.reports_dir / name) for name in
              ("outcomes.parquet", "discrepancies.parquet", "settlement.parquet", "quarantine.parquet")}
    frames |= {"report.outcomes": result.outcomes(), "report.settlement": result.report.settlement}
    checked = 0
    for name, frame in frames.items():
        for column, dtype in frame.schema.items():
            assert not dtype.is_float(), f"{name}.{column} is {dtype}"
            if column.endswith(("_minor", "_exact")):
                assert dtype == pl.Int64 or isinstance(dtype, pl.Decimal), f"{name}.{column} is {dtype}"
                checked += 1
    assert checked >= 10  # the check really looked at the money columns


def test_the_money_check_can_fail() -> None:
    frame = pl.DataFrame({"amount_minor": [1.5]})
    assert frame.schema["amount_minor"].is_float()


def test_a_rerun_is_byte_identical_whatever_the_host_time_zone(result: RunResult, week_dir: Path, tmp_path: Path) -> None:
    rules, _ = load_rules(week_dir, None)
    before = {p.name: p.read_bytes() for p in result.reports_dir.iterdir()}
    old_tz = os.environ.get("TZ")
    os.environ["TZ"] = "America/New_York"
    time.tzset()
    try:
        rerun = run_day(DAY, week_dir, rules, reports_dir=tmp_path / "rerun")
    finally:
        if old_tz is None:
            os.environ.pop("TZ")
        else:
            os.environ["TZ"] = old_tz
        time.tzset()
    after = {p.name: p.read_bytes() for p in rerun.reports_dir.iterdir()}
    assert sorted(before) == sorted(after) == sorted(
        ["recon_2026-03-03.xlsx", "outcomes.parquet", "discrepancies.parquet", "settlement.parquet",
         "quarantine.parquet", "open_items.parquet", "resolved.parquet", "manifest.json", "discrepancies.csv",
         "cases.parquet", "risk.parquet"]
    )
    assert {k for k in before if before[k] != after[k]} == set()
    assert rerun.report.run_id == result.report.run_id


def test_payouts_of_the_previous_day_are_checked_against_its_recorded_settlement(result: RunResult) -> None:
    payouts = result.report.settlement.filter(pl.col("settlement_date") == date(2026, 3, 2))
    # WeChat Pay, Alipay, UnionPay and Stripe pay their net T+1; PayPal only what it withdrew (if it did).
    assert {"alipay", "stripe", "unionpay", "wechatpay"} <= set(payouts["channel"]) <= {"alipay", "paypal", "stripe",
                                                                                      "unionpay", "wechatpay"}
    assert set(payouts["payout_status"]) == {"matched"}
    assert (payouts["payout_expected_minor"] == payouts["payout_received_minor"]).all()


def test_every_money_column_of_every_schema_is_an_integer_or_decimal() -> None:
    from schemas.canonical import BankTxn, ChannelTxn, LedgerEntry
    from schemas.outputs import Discrepancy, Outcome, SettlementLine

    money = {}
    for model in (ChannelTxn, LedgerEntry, BankTxn, Outcome, Discrepancy, SettlementLine):
        for name, column in model.to_schema().columns.items():
            if name.endswith(("_minor", "_exact")):
                money[f"{model.__name__}.{name}"] = column.dtype.type
    assert len(money) >= 20
    assert {k: v for k, v in money.items() if not (v == pl.Int64 or isinstance(v, pl.Decimal))} == {}


def test_two_processes_with_other_hash_seeds_locales_and_time_zones_write_identical_files(tmp_path: Path) -> None:
    import hashlib
    import subprocess
    import sys

    from prefect.settings import PREFECT_API_URL

    script = (
        "import sys, shutil; from pathlib import Path\n"
        "from flows.cli import main\n"
        "src, out = Path(sys.argv[1]), Path(sys.argv[2])\n"
        "shutil.copytree(src / 'inbox' / '2026-03-02', out / 'inbox' / '2026-03-02')\n"
        "sys.exit(main(['run', '--date', '2026-03-02', '--data-dir', str(out), '--quiet']) not in (0, 3))\n"
    )
    digests = []
    for n, (seed, tz, lang) in enumerate([("1", "UTC", "C"), ("4242", "America/Los_Angeles", "C.UTF-8")]):
        out = tmp_path / f"run{n}"
        # The session's Prefect API (the harness): the two processes differ only where the test says.
        env = {**os.environ, "PYTHONHASHSEED": seed, "TZ": tz, "LANG": lang, "LC_ALL": lang,
               "PREFECT_API_URL": str(PREFECT_API_URL.value())}
        subprocess.run([sys.executable, "-c", script, str(SAMPLE_DATA), str(out)], env=env, check=True,
                       cwd=Path(__file__).resolve().parent.parent)
        reports = out / "reports" / "2026-03-02"
        digests.append({p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(reports.iterdir())})
    assert len(digests[0]) == 11  # every report file, open_items, resolved, cases and risk included
    assert digests[0] == digests[1]
