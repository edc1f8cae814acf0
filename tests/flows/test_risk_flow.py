"""The daily flow computes the risk signals after the day is reconciled (transforms/risk.py, issue 10).

Three generated days run in order: every report set holds ``risk.parquet`` (the RiskSignal schema)
and the Risk sheet in Chinese; the history the signals read is the warehouse as of D, so a rerun of
day 1 after day 3 gives the same bytes.
"""

from __future__ import annotations

import io
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest
from openpyxl import load_workbook

from flows.config import load_rules
from flows.reconcile import RunResult
from sample_data.generate import generate
from schemas.risk import RiskSignal
from tests.helpers import run_day

pytestmark = pytest.mark.usefixtures("prefect_harness")

START = date(2026, 3, 2)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[RunResult]]:
    root = tmp_path_factory.mktemp("risk-flow")
    generate(root, start=START, days=3, seed=3, rows_per_channel=40, quarantined_rows=False)
    rules, _ = load_rules(root, None)
    return root, [run_day(START + timedelta(days=n), root, rules) for n in range(3)]  # type: ignore[misc]


def test_every_report_set_holds_risk_parquet_and_the_risk_sheet(runs: tuple[Path, list[RunResult]]) -> None:
    _, results = runs
    for result in results:
        signals = pl.read_parquet(result.reports_dir / "risk.parquet")
        RiskSignal.validate(signals, lazy=True)
        assert "risk.parquet" in result.outputs
        assert signals.height == result.report.risk.height
        assert (signals["window_to"] == result.report.business_date).all()
        day = result.report.business_date.isoformat()
        book = load_workbook(io.BytesIO((result.reports_dir / f"recon_{day}.xlsx").read_bytes()))
        assert "风险信号" in book.sheetnames
        assert [c.value for c in next(book["风险信号"].iter_rows())][:4] == ["严重程度", "风险信号", "渠道", "对象"]


def test_a_rerun_of_day_one_after_day_three_gives_the_same_signals(runs: tuple[Path, list[RunResult]]) -> None:
    root, results = runs
    before = (results[0].reports_dir / "risk.parquet").read_bytes()
    rules, _ = load_rules(root, None)
    again = run_day(START, root, rules)
    assert (again.reports_dir / "risk.parquet").read_bytes() == before  # type: ignore[attr-defined]
    assert again.report.run_id == results[0].report.run_id  # type: ignore[attr-defined]
    assert (root / "risk.key").exists(), "the WeChat rows name their buyer (用户标识): hashed with the data dir's key"
