"""Past one machine: the same flow with its partitions on a 2-worker Dask cluster gives the same bytes."""

from __future__ import annotations

import hashlib
import shutil
from datetime import date
from pathlib import Path

import pytest

from flows.config import load_rules
from flows.reconcile import reconcile_day
from tests.conftest import SAMPLE_DATA

pytestmark = [pytest.mark.usefixtures("prefect_harness"), pytest.mark.dask]
DAY = date(2026, 3, 2)


def digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_a_two_worker_local_cluster_writes_the_same_report_as_one_process(tmp_path: Path) -> None:
    prefect_dask = pytest.importorskip("prefect_dask", reason="the dask extra: pip install -e '.[dask]'")
    shutil.copytree(SAMPLE_DATA / "inbox" / DAY.isoformat(), tmp_path / "inbox" / DAY.isoformat())
    rules, _ = load_rules(tmp_path, None)

    single = reconcile_day(DAY, tmp_path, rules, reports_dir=tmp_path / "single", record=False)
    runner = prefect_dask.DaskTaskRunner(cluster_kwargs={"n_workers": 2, "threads_per_worker": 1, "processes": True})
    on_dask = reconcile_day.with_options(task_runner=runner)(
        DAY, tmp_path, rules, reports_dir=tmp_path / "dask", record=False
    )

    assert single.report.run_id == on_dask.report.run_id
    assert len(single.report.channels) == 6  # five channels and the bank
    assert single.report.outcome_counts == on_dask.report.outcome_counts
    assert digests(single.reports_dir) == digests(on_dask.reports_dir)
    assert len(digests(single.reports_dir)) == 11  # every report file, cases.parquet and risk.parquet included
