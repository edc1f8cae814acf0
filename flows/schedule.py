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
SERVER_HINT = "start one with `prefect server start` and set PREFECT_API_URL=http://127.0.0.1:4200/api"


def server_problem(api_url: str | None, timeout: float = 3.0) -> str | None:
    """Why ``recon serve`` cannot schedule anything (no server configured, or none answering), or None."""
    import urllib.error
    import urllib.request

    if not api_url:
        return f"recon serve needs a running Prefect server, and PREFECT_API_URL is not set: {SERVER_HINT}"
    if not api_url.startswith(("http://", "https://")):
        return f"PREFECT_API_URL={api_url} is not an http(s) URL: {SERVER_HINT}"
    try:
        with urllib.request.urlopen(api_url.rstrip("/") + "/health", timeout=timeout):  # noqa: S310 - http(s) checked
            return None  # urlopen raises on anything but a success
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return f"no Prefect server answers at {api_url} ({reason}): {SERVER_HINT}"


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
