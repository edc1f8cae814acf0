"""The daily deployment: 06:00 merchant time, yesterday, with the data dir and config as parameters."""

from __future__ import annotations

import http.server
import os
import socket
import subprocess
import sys
import threading
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from flows.inbox import inbox_dir
from flows.schedule import (
    DAILY_CRON,
    Clock,
    DayEnd,
    daily_deployment,
    final_state,
    first_looks,
    run_until_complete,
    server_problem,
)
from transforms.rules import Rules, parse_rules

SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_daily_deployment_runs_at_six_in_the_merchant_time_zone(tmp_path: Path) -> None:
    deployment = daily_deployment(tmp_path, None, "Asia/Shanghai")
    (schedule,) = deployment.schedules
    assert (schedule.schedule.cron, schedule.schedule.timezone) == (DAILY_CRON, "Asia/Shanghai")
    assert deployment.parameters == {"data_dir": str(tmp_path.resolve()), "config": None}
    assert deployment.name == "recon-daily"
    debugging = daily_deployment(tmp_path, tmp_path / "recon.toml", "Asia/Shanghai", debug=True)
    assert debugging.parameters == {"data_dir": str(tmp_path.resolve()),
                                    "config": str((tmp_path / "recon.toml").resolve()), "debug": True}


def test_serve_help_has_a_working_example() -> None:
    shown = subprocess.run([sys.executable, "-m", "flows.cli", "serve", "--help"], capture_output=True, text=True,
                           timeout=60, check=True).stdout  # fmt: skip
    assert "prefect server start --host 127.0.0.1" in shown
    assert "export PREFECT_API_URL=http://127.0.0.1:4200/api" in shown
    assert "recon serve --data-dir" in shown and "reconcile-yesterday/recon-daily" in shown


def serve(data_dir: Path, api_url: str | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    if api_url is not None:
        env["PREFECT_API_URL"] = api_url
    return subprocess.run([sys.executable, "-m", "flows.cli", "serve", "--data-dir", str(data_dir)],
                          capture_output=True, text=True, env=env, timeout=120, check=False)  # fmt: skip


def test_serve_refuses_in_one_line_without_a_server_it_can_reach(tmp_path: Path) -> None:
    unset = serve(tmp_path, None)
    assert unset.returncode == 2, unset.stderr
    assert unset.stderr.strip().splitlines()[-1].startswith(
        "recon: cannot run: recon serve needs a running Prefect server, and PREFECT_API_URL is not set")
    assert "Traceback" not in unset.stderr
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    closed = serve(tmp_path, f"http://127.0.0.1:{port}/api")
    assert closed.returncode == 2 and "Traceback" not in closed.stderr
    assert f"no Prefect server answers at http://127.0.0.1:{port}/api" in closed.stderr.strip().splitlines()[-1]


def test_a_server_that_answers_its_health_check_is_reachable() -> None:
    class Health(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the http.server name
            self.send_response(200 if self.path == "/api/health" else 404)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    with http.server.HTTPServer(("127.0.0.1", 0), Health) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            url = f"http://127.0.0.1:{server.server_address[1]}"
            assert server_problem(f"{url}/api") is None
            assert (server_problem(f"{url}/other") or "").startswith(f"no Prefect server answers at {url}/other (Not Found)")
        finally:
            server.shutdown()
    assert "is not an http(s) URL" in (server_problem("file:///etc/passwd") or "")


# -- waiting for late statements, without Prefect: a fake run and a compressed clock ------------------

DAY = date(2026, 3, 2)
SIX_AM = datetime(2026, 3, 3, 6, 0, tzinfo=SHANGHAI)


def wait_rules(**schedule: object) -> Rules:
    text = '[channels.wechatpay]\nstatement_ready_after = "10:00"\n[schedule]\n' + "".join(
        f"{key} = {value!r}\n".replace("'", '"') for key, value in schedule.items())
    return parse_rules(text)


class FakeRun:
    """``reconcile_day`` stand-in: wechatpay is "statement missing" until its folder holds a file."""

    def __init__(self, clock: Clock) -> None:
        self.clock, self.times = clock, []

    def __call__(self, business_date: date, data_dir: Path, rules: Rules) -> Any:
        self.times.append(self.clock.now().astimezone(SHANGHAI).strftime("%H:%M"))
        there = any((inbox_dir(data_dir, business_date) / "wechatpay").glob("*"))
        status = "ok" if there else "statement missing"
        channels = (SimpleNamespace(channel="wechatpay", status=status), SimpleNamespace(channel="alipay", status="ok"))
        headline = "Reconciled" if there else "PROVISIONAL: wechatpay: statement missing"
        report = SimpleNamespace(channels=channels, headline=headline, exit_code=0 if there else 3)
        return SimpleNamespace(report=report, reports_dir=data_dir / "reports")


class DeliveringClock(Clock):
    """A fast clock that drops files into the inbox once its time passes theirs."""

    def __init__(self, deliveries: dict[str, Path]) -> None:
        super().__init__(SIX_AM, speed=1e6)
        self.deliveries, self.looks = deliveries, 0

    def sleep(self, seconds: float) -> None:
        super().sleep(seconds)
        self.looks += 1
        for at, path in list(self.deliveries.items()):
            if self.now().astimezone(SHANGHAI).strftime("%H:%M") >= at:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text("bill")
                del self.deliveries[at]


@pytest.fixture
def inbox(tmp_path: Path) -> Path:
    (inbox_dir(tmp_path, DAY) / "ledger").mkdir(parents=True)
    return inbox_dir(tmp_path, DAY)


def test_a_late_statement_is_looked_for_from_its_ready_time_and_the_day_reruns_once_it_is_there(inbox: Path) -> None:
    clock = DeliveringClock({"11:05": inbox / "wechatpay" / "bill.csv"})
    run = FakeRun(clock)
    end = run_until_complete(DAY, inbox.parent.parent, wait_rules(), clock, run)
    # 06:00 provisional; looks at 10:00, 10:30, 11:00 (nothing), 11:30 sees the bill: one rerun, then done.
    assert run.times == ["06:00", "11:30"]
    assert (end.attempts, end.waited_for, end.still_missing) == (2, ("wechatpay",), ())
    assert end.result.report.exit_code == 0


def test_a_statement_that_never_comes_is_given_up_at_give_up_at_without_a_rerun(inbox: Path) -> None:
    (inbox / "alipay").mkdir()
    clock = DeliveringClock({"08:00": inbox / "alipay" / "reissued.csv"})  # a change before wechat is due
    run = FakeRun(clock)
    end = run_until_complete(DAY, inbox.parent.parent, wait_rules(give_up_at="18:00"), clock, run)
    # The alipay file changed the inbox at 08:00, but nothing waited for was due before 10:00: it is
    # picked up by the rerun at 10:00; then nothing changes until 18:00.
    assert run.times == ["06:00", "10:00"]
    assert clock.now().astimezone(SHANGHAI).strftime("%H:%M") == "18:00"
    assert (end.attempts, end.still_missing, end.result.report.exit_code) == (2, ("wechatpay",), 3)


def test_a_day_with_every_statement_never_waits(inbox: Path) -> None:
    (inbox / "wechatpay").mkdir()
    (inbox / "wechatpay" / "bill.csv").write_text("bill")
    clock = DeliveringClock({})
    end = run_until_complete(DAY, inbox.parent.parent, wait_rules(), clock, FakeRun(clock))
    assert (end.attempts, end.waited_for, clock.looks) == (1, (), 0)


def test_a_run_after_give_up_at_looks_once_and_does_not_wait(inbox: Path) -> None:
    clock = DeliveringClock({})
    clock._start = datetime(2026, 3, 3, 19, 0, tzinfo=SHANGHAI)  # a manual run in the evening
    end = run_until_complete(DAY, inbox.parent.parent, wait_rules(), clock, FakeRun(clock))
    assert (end.attempts, end.still_missing, clock.looks) == (1, ("wechatpay",), 0)


def test_first_looks_are_merchant_times_on_the_day_after() -> None:
    looks, give_up = first_looks(DAY, wait_rules(retry_every_minutes=20, give_up_at="17:00"), ("wechatpay", "bank"),
                                 SIX_AM.astimezone(UTC))  # fmt: skip
    assert looks["wechatpay"] == datetime(2026, 3, 3, 10, 0, tzinfo=SHANGHAI)
    assert looks["bank"] == datetime(2026, 3, 3, 6, 20, tzinfo=SHANGHAI)  # no ready time: one interval later
    assert give_up == datetime(2026, 3, 3, 17, 0, tzinfo=SHANGHAI)


def test_the_compressed_clock_moves_on_by_what_it_sleeps() -> None:
    clock = Clock(SIX_AM, speed=3600)
    began = time.monotonic()
    clock.sleep(1800)  # half an hour in half a second
    assert 0.4 < time.monotonic() - began < 2
    assert timedelta(minutes=30) <= clock.now() - SIX_AM < timedelta(minutes=30, seconds=5)
    with pytest.raises(ValueError):
        Clock(speed=0)


def test_the_final_states_are_completed_incomplete_and_failed() -> None:
    def end(code: int) -> DayEnd:
        return DayEnd(SimpleNamespace(report=SimpleNamespace(exit_code=code, headline=f"h{code}")), 1)  # type: ignore[arg-type]

    assert [(s.type.value, s.name, s.message) for s in map(final_state, (end(0), end(3), end(1)))] == [
        ("COMPLETED", "Completed", "h0"), ("COMPLETED", "Incomplete", "h3"), ("FAILED", "Failed", "h1")]
