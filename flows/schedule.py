"""The unattended daily run: a Prefect deployment at 06:00 merchant time that reconciles yesterday.

The 06:00 run reconciles yesterday at once with what is in the inbox, so finance has a provisional
report. Then, for every expected statement that was missing (or rejected), it looks at the date's
inbox again from the channel's ``statement_ready_after`` on, every ``[schedule]
retry_every_minutes``, and reruns the day, an ordinary ``reconcile_day``, once each time the inbox
has changed since the last run, until every expected statement is read or ``give_up_at`` passes.
The last run's report is the day's report (a rerun replaces the provisional one as a new version).

The flow run ends Completed (exit 0), Completed named "Incomplete" (exit 3; its message is the
report's headline) or Failed (exit 1 or 2; its message is the cause in one line), and
``[notify]`` is told once, with that final state.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from prefect import flow, serve
from prefect.client.schemas.objects import State
from prefect.schedules import Cron
from prefect.states import Completed, Failed

from flows.config import load_rules
from flows.inbox import inbox_dir
from flows.notify import send_notice
from flows.reconcile import RunResult, reconcile_day
from transforms.notify import Notice, state_of
from transforms.rules import Rules, RulesError

DAILY_CRON = "0 6 * * *"
SERVER_HINT = "start one with `prefect server start` and set PREFECT_API_URL=http://127.0.0.1:4200/api"
INCOMPLETE = "Incomplete"

log = logging.getLogger("recon.schedule")


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


class Clock:
    """The time and the waiting of a scheduled day; a drill or a test compresses the waits.

    ``Clock()`` is the real clock. ``Clock(start, speed)`` starts at ``start`` (an aware datetime) and
    runs at real speed while recon works, but each ``sleep(s)`` takes ``s / speed`` real seconds and
    moves the clock on by ``s``: a day of waiting at speed 3600 is 24 real seconds.
    """

    def __init__(self, start: datetime | None = None, speed: float = 1.0) -> None:
        if speed <= 0:
            raise ValueError(f"clock speed must be positive, got {speed}")
        self._start = start if start is not None else datetime.now(UTC)
        self._began = time.monotonic()
        self._skipped = 0.0  # seconds the clock moved on beyond the real sleeping
        self.speed = speed

    def now(self) -> datetime:
        """The current time (aware, UTC)."""
        return (self._start + timedelta(seconds=time.monotonic() - self._began + self._skipped)).astimezone(UTC)

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` of this clock's time."""
        if seconds <= 0:
            return
        time.sleep(seconds / self.speed)
        self._skipped += seconds - seconds / self.speed


@dataclass(frozen=True)
class DayEnd:
    """How a scheduled day ended.

    Attributes:
        result: the last run's result (its report is the day's report).
        attempts: how many times the day was reconciled (1 + reruns).
        waited_for: the expected statements missing or rejected at the first run.
        still_missing: those still not read when the waiting ended (empty: every one arrived).
    """

    result: RunResult
    attempts: int
    waited_for: tuple[str, ...] = ()
    still_missing: tuple[str, ...] = ()


def waiting_for(result: RunResult, rules: Rules) -> tuple[str, ...]:
    """The expected statements the run could not read (missing, or rejected: a delivery may fix it)."""
    statuses = {c.channel: c.status for c in result.report.channels}
    return tuple(c for c in rules.expected if statuses.get(c, "ok") != "ok")


def inbox_fingerprint(folder: Path) -> tuple[tuple[str, int, int], ...]:
    """Name, size and modification time of every file a run would read (hidden files are not inputs)."""
    if not folder.is_dir():
        return ()
    found = []
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if path.is_symlink() or not path.is_file() or any(part.startswith(".") for part in relative.parts):
            continue
        stat = path.stat()
        found.append((relative.as_posix(), stat.st_size, stat.st_mtime_ns))
    return tuple(found)


def first_looks(
    business_date: date, rules: Rules, waiting: tuple[str, ...], started: datetime
) -> tuple[dict[str, datetime], datetime]:
    """When to look again first for each waiting statement, and when to give up (both aware, UTC).

    Times of day are merchant local time on the day after the business date (the day a statement
    of D is published). A statement without ``statement_ready_after`` is looked for again
    ``retry_every_minutes`` after the first run.
    """
    zone = ZoneInfo(rules.timezone)
    next_day = business_date + timedelta(days=1)
    every = timedelta(minutes=rules.schedule.retry_every_minutes)
    looks = {}
    for channel in waiting:
        ready = rules.channels[channel].statement_ready_after if channel in rules.channels else None
        looks[channel] = datetime.combine(next_day, ready, zone).astimezone(UTC) if ready else started + every
    return looks, datetime.combine(next_day, rules.schedule.give_up_at, zone).astimezone(UTC)


def run_until_complete(
    business_date: date, data_dir: Path, rules: Rules, clock: Clock,
    run: Callable[[date, Path, Rules], RunResult] = reconcile_day,
) -> DayEnd:  # fmt: skip
    """Reconcile the date now, then rerun it when a late statement arrives, until all are read or give_up_at.

    A rerun happens only when a waiting statement is due (its ``statement_ready_after`` passed) and
    the inbox changed since the last run; several statements arriving together cost one rerun.
    """
    folder = inbox_dir(data_dir, business_date)
    seen = inbox_fingerprint(folder)  # before the run: a file arriving during it is seen as new
    result = run(business_date, data_dir, rules)
    attempts = 1
    waited = waiting = waiting_for(result, rules)
    if not waiting:
        return DayEnd(result, attempts)
    looks, give_up = first_looks(business_date, rules, waiting, clock.now())
    every = timedelta(minutes=rules.schedule.retry_every_minutes)
    local = ZoneInfo(rules.timezone)
    log.info("%s: %s not read yet (%s); looking again until %s", business_date, ", ".join(waiting),
             result.report.headline, give_up.astimezone(local).strftime("%Y-%m-%d %H:%M %Z"))  # fmt: skip
    while waiting:
        now = clock.now()
        due = [c for c in waiting if looks[c] <= now]
        current = inbox_fingerprint(folder) if due else seen
        if current != seen:
            seen = current
            log.info("%s: the inbox changed (waiting for %s): reconciling again", business_date, ", ".join(due))
            result = run(business_date, data_dir, rules)
            attempts += 1
            waiting = tuple(c for c in waiting if c in waiting_for(result, rules))
            continue
        if now >= give_up:
            log.warning("%s: gave up waiting for %s at %s: %s", business_date, ", ".join(waiting),
                        give_up.astimezone(local).strftime("%H:%M %Z"), result.report.headline)  # fmt: skip
            break
        wake = min([looks[c] if looks[c] > now else now + every for c in waiting] + [give_up])
        clock.sleep((wake - now).total_seconds())
    return DayEnd(result, attempts, waited, waiting)


def final_state(end: DayEnd) -> State[Any]:
    """The flow run's final state: Completed, Completed named "Incomplete" (exit 3), or Failed."""
    report = end.result.report
    if report.exit_code == 0:
        return Completed(message=report.headline, data=0)
    if report.exit_code == 3:
        return Completed(name=INCOMPLETE, message=report.headline, data=3)
    return Failed(message=report.headline, data=report.exit_code)


def failure(exc: BaseException) -> tuple[int, str] | None:
    """Exit code and one line for an expected failure (cannot run: 2; disk full, broken invariant: 1), else None."""
    from flows.cli import _known_failure, _one_line
    from flows.locks import DateBusy, EarlierDateBusy
    from flows.reconcile import NoLedger
    from flows.warehouse import WarehouseBusy

    if isinstance(exc, RulesError):
        return 2, "bad recon.toml: " + "; ".join(exc.problems)
    if isinstance(exc, FileNotFoundError | NoLedger | WarehouseBusy | DateBusy | EarlierDateBusy):
        return 2, _one_line(str(exc))
    cause = _known_failure(exc)
    return (1, f"failed, nothing new published: {cause}") if cause is not None else None


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """A stream handler on whatever ``sys.stderr`` is at the time of each line."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


def _log_to_stderr() -> None:
    """In the flow run's own process (started by ``recon serve``), recon's lines go to stderr, one each."""
    from flows.cli import _PrintableFormatter

    logger = logging.getLogger("recon")
    # Not twice: cli's handler (on this process's stderr) or this one already prints recon's lines. A
    # handler left on another stream (a caller's, since replaced) does not count.
    if not any(isinstance(h, _StderrHandler) or (isinstance(h, logging.StreamHandler) and h.stream is sys.stderr)
               for h in logger.handlers):  # fmt: skip
        handler = _StderrHandler()
        handler.setFormatter(_PrintableFormatter("recon: %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False



@flow(name="reconcile-yesterday")
def reconcile_yesterday(
    data_dir: str, config: str | None = None, business_date: str | None = None, debug: bool = False,
    pretend_now: str | None = None, time_scale: float = 1.0,
) -> State[Any]:  # fmt: skip
    """Reconcile yesterday (merchant time), wait for late statements, and say how the day ended.

    Args:
        data_dir: the data dir (absolute).
        config: a recon.toml (default: the data dir's, else the packaged one).
        business_date: YYYY-MM-DD to reconcile instead of yesterday.
        debug: raise every failure with its traceback (``recon serve --debug``).
        pretend_now: for a drill or a test: an ISO 8601 time with offset to start the clock at.
        time_scale: for a drill or a test: how much faster the waiting between looks passes.
    """
    _log_to_stderr()
    clock = Clock(datetime.fromisoformat(pretend_now) if pretend_now else None, time_scale)
    day: date | None = date.fromisoformat(business_date) if business_date else None
    rules = None
    try:
        rules, _ = load_rules(Path(data_dir), Path(config) if config else None)
        day = day or clock.now().astimezone(ZoneInfo(rules.timezone)).date() - timedelta(days=1)
        if not inbox_dir(Path(data_dir), day).is_dir():
            raise FileNotFoundError(f"no inbox for {day}: {inbox_dir(Path(data_dir), day)} does not exist")
        end = run_until_complete(day, Path(data_dir), rules, clock)
    except Exception as exc:
        known = failure(exc)
        code, line = known if known is not None else (1, f"unexpected error: {exc!r}")
        log.error("%s: %s", day or "yesterday", line)
        if rules is not None and day is not None:
            send_notice(Notice(state_of(code), code, day, line), rules.notify)
        if debug or known is None:
            raise  # a bug, or --debug: Prefect records the traceback
        return Failed(message=line, data=code)
    report = end.result.report
    notice = Notice(state_of(report.exit_code), report.exit_code, day, report.headline, str(end.result.reports_dir),
                    end.attempts, end.waited_for)  # fmt: skip
    send_notice(notice, rules.notify)
    return final_state(end)


def daily_deployment(data_dir: Path, config: Path | None, timezone: str, debug: bool = False) -> Any:
    """The deployment: every day at 06:00 in ``timezone``, for yesterday (no server needed to build it)."""
    parameters: dict[str, object] = {"data_dir": str(data_dir.resolve()),
                                     "config": str(config.resolve()) if config else None}  # fmt: skip
    if debug:
        parameters["debug"] = True
    return reconcile_yesterday.to_deployment(
        name="recon-daily", schedules=[Cron(DAILY_CRON, timezone=timezone)], parameters=parameters,
    )  # fmt: skip


def serve_daily(data_dir: Path, config: Path | None, timezone: str, debug: bool = False) -> None:
    """Register and serve the daily deployment (blocks; scheduling needs `prefect server start`).

    The flow runs (processes of their own) also send recon's log lines to the Prefect server, where
    the UI shows them with the run; the unset default is recon's lines only, never Prefect's traceback.
    """
    os.environ.setdefault("PREFECT_LOGGING_EXTRA_LOGGERS", "recon")
    serve(daily_deployment(data_dir, config, timezone, debug))
