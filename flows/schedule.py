"""The unattended daily run: a Prefect deployment at 06:00 merchant time that reconciles yesterday."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from prefect import flow, serve
from prefect.schedules import Cron

from flows.config import load_rules
from flows.reconcile import reconcile_day

DAILY_CRON = "0 6 * * *"


@flow(name="reconcile-yesterday")
def reconcile_yesterday(data_dir: str, config: str | None = None) -> int:
    """Reconcile yesterday (merchant time) with the rules of the data dir; return the exit code."""
    rules, _ = load_rules(Path(data_dir), Path(config) if config else None)
    yesterday = datetime.now(ZoneInfo(rules.timezone)).date() - timedelta(days=1)
    return reconcile_day(yesterday, Path(data_dir), rules).report.exit_code


def daily_deployment(data_dir: Path, config: Path | None, timezone: str) -> Any:
    """The deployment: every day at 06:00 in ``timezone``, for yesterday (no server needed to build it)."""
    return reconcile_yesterday.to_deployment(
        name="recon-daily",
        schedules=[Cron(DAILY_CRON, timezone=timezone)],
        parameters={"data_dir": str(data_dir.resolve()), "config": str(config.resolve()) if config else None},
    )


def serve_daily(data_dir: Path, config: Path | None, timezone: str) -> None:
    """Register and serve the daily deployment (blocks; scheduling needs `prefect server start`)."""
    serve(daily_deployment(data_dir, config, timezone))
