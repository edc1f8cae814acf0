"""The pipeline against the generator's own plan: precision and recall 100 % on every row.

The generator (sample_data/) never imports the pipeline; its answer key comes from the scenarios it
planned. Days run in order, as the daily schedule does, because a bank statement's payouts are
checked against the settlement recorded by the previous day's run.
"""

from __future__ import annotations

import shutil
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest

from flows.config import load_rules
from flows.reconcile import RunResult
from sample_data.generate import generate
from tests.conftest import SAMPLE_DATA
from tests.helpers import run_day

pytestmark = pytest.mark.usefixtures("prefect_harness")

KEY = ["source", "source_file", "source_line"]
COMMITTED_START, COMMITTED_DAYS = date(2026, 3, 2), 7


def answer_key(root: Path, day: date) -> pl.DataFrame:
    return pl.read_csv(
        root / "answers" / f"{day}.csv",
        schema_overrides={"source_line": pl.Int64, "key": pl.String, "source_file": pl.String},
    )


def diff(expected: pl.DataFrame, got: pl.DataFrame) -> pl.DataFrame:
    """Rows whose outcome differs, or that exist on one side only: the readable diff of a failure."""
    joined = expected.join(
        got.select(*KEY, "outcome", "detail"), on=KEY, how="full", suffix="_got", coalesce=True
    )
    return joined.filter(pl.col("outcome").ne_missing(pl.col("outcome_got"))).select(
        *KEY, "key", "scenario", expected="outcome", got="outcome_got", why="detail"
    )


def assert_matches_key(root: Path, day: date, result: RunResult) -> None:
    bad = diff(answer_key(root, day), result.outcomes())
    if bad.height:
        with pl.Config(tbl_rows=30, fmt_str_lengths=70, tbl_width_chars=220):
            pytest.fail(f"{day}: {bad.height} rows differ from the answer key\n{bad}")


def run_days(root: Path, data_dir: Path, start: date, days: int) -> list[RunResult]:
    rules, _ = load_rules(data_dir, None)
    results = []
    for n in range(days):
        day = start + timedelta(days=n)
        result = run_day(day, data_dir, rules)
        assert_matches_key(root, day, result)
        results.append(result)
    return results


OPEN = ("in_transit", "missing_in_ledger", "missing_in_channel")


def expected_open_items(root: Path, day: date, start: date) -> set[tuple[str, str, str, int]]:
    """The open rows at the end of ``day`` by the answer keys (a week with every statement delivered).

    Every row whose key outcome is open stays open, except a cross-midnight half: its other half
    arrives the next day and closes it.
    """
    items = set()
    for n in range((day - start).days + 1):
        d = start + timedelta(days=n)
        for row in answer_key(root, d).iter_rows(named=True):
            if row["source"] == "bank" or row["outcome"] not in OPEN:
                continue
            if row["scenario"].startswith("cross_midnight_") and d < day:
                continue
            items.add((d.isoformat(), row["source"], row["source_file"], row["source_line"]))
    return items


def assert_open_items(root: Path, day: date, start: date, result: RunResult) -> None:
    """The day's open_items.parquet against the answer keys: identities, ages, deadlines, payouts."""
    items = pl.read_parquet(result.reports_dir / "open_items.parquet")
    rows = items.filter(pl.col("source") != "payout")
    got = {(str(r["opened_on"]), r["source"], r["source_file"], r["source_line"]) for r in rows.iter_rows(named=True)}
    assert got == expected_open_items(root, day, start), day
    for r in rows.iter_rows(named=True):
        age = (day - r["opened_on"]).days
        assert r["age_days"] == age
        assert r["due_on"] == r["opened_on"] + timedelta(days=3)  # T+1 and 2 days to wait (the defaults)
        overdue = {"ledger": "missing_in_channel", "channel": "missing_in_ledger"}[r["source"]]
        if age > 3:
            assert r["status"] == overdue, r
    late_ledger = rows.filter((pl.col("source") == "ledger") & (pl.col("opened_on") < day - timedelta(days=3)))
    assert set(late_ledger["status"]) <= {"missing_in_channel"}
    # Today's payouts wait for tomorrow's bank statement; yesterday's arrived today. PayPal pays out
    # only what it withdraws (a T0400 line), not every day.
    payouts = items.filter(pl.col("source") == "payout")
    withdrew = any(k["source"] == "channel" and k["source_file"].startswith("paypal/") and k["scenario"] == "withdrawal"
                   for k in answer_key(root, day).iter_rows(named=True))
    assert sorted(payouts["channel"]) == sorted(["alipay", "stripe", "unionpay", "wechatpay", *(["paypal"] if withdrew else [])])
    assert set(payouts["opened_on"]) == {day} and set(payouts["status"]) == {"in_transit"}
    # Each row that closed an open item names it, and it is yesterday's.
    late = result.outcomes().filter(pl.col("counterpart_date").is_not_null())
    assert set(late["outcome"]) <= {"resolved_late"} and set(late["counterpart_date"]) <= {day - timedelta(days=1)}
    assert late.height == (0 if day == start else 8)  # two halves per channel cross every midnight


def test_committed_week_matches_its_answer_key(tmp_path: Path) -> None:
    shutil.copytree(SAMPLE_DATA / "inbox", tmp_path / "inbox")
    results = run_days(SAMPLE_DATA, tmp_path, COMMITTED_START, COMMITTED_DAYS)
    rules, _ = load_rules(tmp_path, None)
    for n, result in enumerate(results):
        assert_open_items(SAMPLE_DATA, COMMITTED_START + timedelta(days=n), COMMITTED_START, result)
    # An auditor reruns day 3 after day 7: it reads what was open after day 2, never later state.
    third = COMMITTED_START + timedelta(days=2)
    again = run_day(third, tmp_path, rules, reports_dir=tmp_path / "rerun", record=False)
    first = {p.name: p.read_bytes() for p in results[2].reports_dir.iterdir()}
    assert {p.name: p.read_bytes() for p in again.reports_dir.iterdir()} == first
    seen = {o for r in results for o in r.outcomes()["outcome"].unique()}
    # Every outcome class appears in the committed week, resolved_late (carried across midnight) included.
    assert seen == {
        "matched", "matched_fallback", "amount_mismatch", "currency_mismatch", "status_mismatch",
        "fee_mismatch", "missing_in_ledger", "missing_in_channel", "duplicate", "in_transit",
        "quarantined", "unexplained", "void", "resolved_late", "settlement_item",
    }


#: A statement missing or rejected on every seed, each channel's turn (the committed week has them all).
SEED_FAULTS: dict[int, tuple[str, str, int]] = {
    0: ("missing", "unionpay", 1), 1: ("missing", "alipay", 1), 2: ("rejected", "wechatpay", 0),
    3: ("rejected", "alipay", 1), 4: ("missing", "stripe", 1), 5: ("rejected", "paypal", 0),
}


@pytest.mark.parametrize("seed", range(6))
def test_fresh_seed_matches_its_answer_key(seed: int, tmp_path: Path) -> None:
    start = date(2026, 4, 1) + timedelta(days=seed)
    how, channel, day = SEED_FAULTS[seed]
    faults: dict[str, object] = {how: [(channel, start + timedelta(days=day))]}
    generate(tmp_path, start=start, days=2, seed=seed, rows_per_channel=30 + 7 * seed, **faults)  # type: ignore[arg-type]
    run_days(tmp_path, tmp_path, start, 2)


def test_the_answer_key_check_can_fail(tmp_path: Path) -> None:
    start = date(2026, 5, 1)
    generate(tmp_path, start=start, days=1, seed=99, rows_per_channel=20)
    rules, _ = load_rules(tmp_path, None)
    result = run_day(start, tmp_path, rules)
    key = answer_key(tmp_path, start)
    tampered = key.with_columns(outcome=pl.when(pl.int_range(pl.len()) == 0).then(pl.lit("void")).otherwise("outcome"))
    assert diff(tampered, result.outcomes()).height == 1
    assert diff(key, result.outcomes()).height == 0


@pytest.mark.slow
def test_a_big_generated_day_matches_its_answer_key(tmp_path: Path) -> None:
    start = date(2026, 6, 1)
    generate(tmp_path, start=start, days=2, seed=7, rows_per_channel=20_000, missing=[("alipay", start)])
    run_days(tmp_path, tmp_path, start, 2)
