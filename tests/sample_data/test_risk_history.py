"""sample_data/risk_history.py against transforms/risk.py: every injected leak is found, a clean history raises none.

Five weeks of two channels (about 14,000 rows), every date judged as the daily run would: with the
history as of that date only.
"""

from __future__ import annotations

import io
from datetime import date

import duckdb
import polars as pl
import pytest

from sample_data import risk_history
from sample_data.risk_history import DAYS, PATTERNS, RiskHistory, generate_history
from schemas.risk import RiskSignal
from transforms import risk
from transforms.risk import RISK_CODES, risk_signals
from transforms.rules import RiskRules

KEY = "history-test-key"


def judge(history: RiskHistory, day: date, rules: RiskRules | None = None) -> pl.DataFrame:
    con = duckdb.connect()
    con.register("risk_rows", history.rows)
    con.register("risk_payouts", history.payouts)
    con.register("risk_contract", history.contract)
    return risk_signals(con, day, rules or RiskRules(), KEY)


@pytest.fixture(scope="module")
def leaky() -> tuple[RiskHistory, pl.DataFrame]:
    history = generate_history(7)
    days = sorted({a.business_date for a in history.answers})
    return history, pl.concat([judge(history, day) for day in days])


def test_the_generator_writes_the_relations_the_signals_read() -> None:
    for name in ("RISK_ROW_COLUMNS", "RISK_PAYOUT_COLUMNS", "RISK_CONTRACT_COLUMNS"):
        assert getattr(risk_history, name) == getattr(risk, name), name


def test_every_pattern_is_injected_over_several_weeks(leaky: tuple[RiskHistory, pl.DataFrame]) -> None:
    history, _ = leaky
    assert {a.rule for a in history.answers} == set(PATTERNS) == set(RISK_CODES)
    dates = sorted(a.business_date for a in history.answers)
    assert (dates[-1] - dates[0]).days >= 14, "the leaks spread over more than two weeks"
    assert len(history.dates) == DAYS


def test_every_injected_leak_is_found_with_the_rows_behind_it(leaky: tuple[RiskHistory, pl.DataFrame]) -> None:
    history, found = leaky
    RiskSignal.validate(found, lazy=True)
    missed = []
    for answer in history.answers:
        same = found.filter((pl.col("business_date") == answer.business_date) & (pl.col("rule") == answer.rule))
        named = [set((rows or "").split(", ")) for rows in same["rows"]]
        if not any(set(answer.rows) <= rows for rows in named):
            missed.append(f"{answer.business_date} {answer.rule} {answer.channel}: {answer.note}")
    assert not missed, "recall below 100 %:\n" + "\n".join(missed)


def test_a_clean_history_of_the_same_length_raises_no_high_severity_signal() -> None:
    history = generate_history(7, leaks=False)
    assert not history.answers
    found = pl.concat([judge(history, day) for day in history.dates])
    assert found.filter(pl.col("severity") == 1).height == 0, found.select("business_date", "rule", "detail")


@pytest.mark.parametrize("seed", [11, 12])
def test_other_seeds_find_every_leak_too(seed: int) -> None:
    history = generate_history(seed)
    for answer in history.answers:
        found = judge(history, answer.business_date).filter(pl.col("rule") == answer.rule)
        assert any(set(answer.rows) <= set((rows or "").split(", ")) for rows in found["rows"]), answer


def test_a_rerun_of_a_historical_date_gives_the_same_bytes(leaky: tuple[RiskHistory, pl.DataFrame]) -> None:
    history, _ = leaky
    day = history.dates[-10]
    # As the run of that date saw it (nothing after it existed yet) and as a rerun sees it weeks later.
    then = RiskHistory(
        rows=history.rows.filter(pl.col("business_date") <= day),
        payouts=history.payouts.filter(pl.col("recon_date") <= day),
        contract=history.contract,
    )

    def parquet(frame: pl.DataFrame) -> bytes:
        out = io.BytesIO()
        frame.write_parquet(out)
        return out.getvalue()

    first, rerun = judge(then, day), judge(history, day)
    assert first.height > 0
    assert parquet(first) == parquet(rerun)


def test_a_month_with_leaks_shows_each_one_on_the_risk_sheet_with_the_rows_behind_it(
    leaky: tuple[RiskHistory, pl.DataFrame],
) -> None:
    from dataclasses import replace

    from openpyxl import load_workbook

    from tests.transforms.test_workbook import make_report
    from transforms.labels import RISK_SIGNALS
    from transforms.workbook import render_workbook

    history, found = leaky
    base = make_report(language="zh")
    for day in sorted({a.business_date for a in history.answers}):
        xlsx = render_workbook(replace(base, business_date=day, risk=found.filter(pl.col("business_date") == day)))
        sheet = list(load_workbook(io.BytesIO(xlsx))["风险信号"].iter_rows(values_only=True))
        for answer in (a for a in history.answers if a.business_date == day):
            first = min(answer.rows, key=lambda place: (place.rsplit(":", 1)[0], int(place.rsplit(":", 1)[1])))
            shown = [row for row in sheet[1:] if row[1] == RISK_SIGNALS[answer.rule][0] and first in str(row[10])]
            assert shown, f"{day} {answer.rule}: not on the Risk sheet with {first}"
