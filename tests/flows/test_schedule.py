"""The daily deployment: 06:00 merchant time, yesterday, with the data dir and config as parameters."""

from __future__ import annotations

from pathlib import Path

from flows.schedule import DAILY_CRON, daily_deployment


def test_daily_deployment_runs_at_six_in_the_merchant_time_zone(tmp_path: Path) -> None:
    deployment = daily_deployment(tmp_path, None, "Asia/Shanghai")
    (schedule,) = deployment.schedules
    assert (schedule.schedule.cron, schedule.schedule.timezone) == (DAILY_CRON, "Asia/Shanghai")
    assert deployment.parameters == {"data_dir": str(tmp_path.resolve()), "config": None}
    assert deployment.name == "recon-daily"
