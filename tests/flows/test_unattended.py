"""The unattended day against a real Prefect API server (the session's ``prefect_test_harness``).

A scheduled day of the committed sample week runs at a pretended 06:00 with the WeChat Pay bill not
delivered yet; the clock is compressed (an hour of waiting is half a real second), the bill arrives
from another thread after the first look, and the day reruns and ends in the state it was designed
to end in, with one notice sent (docs/operators.md, "Schedule and retries").
"""

from __future__ import annotations

import http.server
import json
import shutil
import sys
import threading
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from flows import schedule
from tests.conftest import SAMPLE_DATA

pytestmark = pytest.mark.usefixtures("prefect_harness")
DAY = date(2026, 3, 2)
SIX_AM = "2026-03-03T06:00:00+08:00"  # the 06:00 run for "yesterday", 2026-03-02
RECORD = ("import json, os, sys; from pathlib import Path; p = Path(sys.argv[1]); "
          "p.write_text(p.read_text() + json.dumps({k: v for k, v in os.environ.items() if k.startswith('RECON_')}) "
          "+ '\\n' if p.exists() else json.dumps({k: v for k, v in os.environ.items() if k.startswith('RECON_')}) + '\\n')")  # fmt: skip


class Robot(http.server.BaseHTTPRequestHandler):
    bodies: list[dict[str, Any]] = []

    def do_POST(self) -> None:  # noqa: N802 - the http.server name
        Robot.bodies.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b'{"errcode":0,"errmsg":"ok"}')

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def robot() -> Iterator[str]:
    Robot.bodies = []
    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), Robot) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            yield f"http://127.0.0.1:{server.server_address[1]}/send?key=K"
        finally:
            server.shutdown()


@pytest.fixture
def data_dir(tmp_path: Path, robot: str) -> Path:
    """The sample inbox of 2026-03-02 without its WeChat Pay bill (kept aside in ``late/``), and a recon.toml."""
    inbox = tmp_path / "data" / "inbox" / DAY.isoformat()
    shutil.copytree(SAMPLE_DATA / "inbox" / DAY.isoformat(), inbox)
    shutil.move(inbox / "wechatpay", tmp_path / "late")
    (inbox / "wechatpay").mkdir()
    (tmp_path / "data" / "recon.toml").write_text(
        '[channels.wechatpay]\nstatement_ready_after = "10:00"\n'
        '[schedule]\nretry_every_minutes = 30\ngive_up_at = "18:00"\n'
        f"[notify]\ncommand = {json.dumps([sys.executable, '-c', RECORD, str(tmp_path / 'notices.jsonl')])}\n"
        f'webhook_url = "{robot}"\n', encoding="utf-8")  # fmt: skip
    return tmp_path / "data"


def notices(data_dir: Path) -> list[dict[str, str]]:
    path = data_dir.parent / "notices.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def manifest(folder: Path) -> dict[str, Any]:
    return json.loads((folder / "manifest.json").read_text(encoding="utf-8"))


def flow_runs(parent_id: Any) -> list[Any]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterParentFlowRunId

    with get_client(sync_client=True) as client:
        parent = client.read_flow_run(parent_id)
        children = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(parent_flow_run_id=FlowRunFilterParentFlowRunId(any_=[parent_id])))
    return [parent, *children]


def test_a_late_statement_is_waited_for_and_the_day_completes_it(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    looked, delivered = threading.Event(), threading.Event()
    calls: list[int] = []
    fingerprint = schedule.inbox_fingerprint

    def counting(folder: Path) -> Any:
        calls.append(1)
        if len(calls) == 2:  # 1: before the first run; 2: the first look, at 10:00 (nothing there yet)
            looked.set()
        return fingerprint(folder)

    def deliver() -> None:  # the channel's delivery: written aside, then renamed in (atomic)
        looked.wait(60)
        bill = next((data_dir.parent / "late").glob("wechatpay_tradebill_*"))
        target = data_dir / "inbox" / DAY.isoformat() / "wechatpay"
        shutil.copy(bill, target / f".{bill.name}.part")
        (target / f".{bill.name}.part").rename(target / bill.name)
        delivered.set()

    monkeypatch.setattr(schedule, "inbox_fingerprint", counting)
    courier = threading.Thread(target=deliver, daemon=True)
    courier.start()
    state = schedule.reconcile_yesterday(data_dir=str(data_dir), pretend_now=SIX_AM, time_scale=7200,
                                         return_state=True)  # fmt: skip
    courier.join(5)
    assert delivered.is_set()

    # The first run was provisional: exit 3, wechatpay "statement missing"; it is kept as the old version.
    (kept,) = (data_dir / "reports" / ".versions" / DAY.isoformat()).iterdir()
    first = manifest(kept)
    assert first["exit_code"] == 3
    assert {c["channel"]: c["status"] for c in first["channels"]}["wechatpay"] == "statement missing"
    # The rerun read the bill: the day's report is complete for wechatpay.
    final = manifest(data_dir / "reports" / DAY.isoformat())
    assert {c["channel"]: c["status"] for c in final["channels"]} == dict.fromkeys(
        ("wechatpay", "alipay", "unionpay", "stripe", "paypal", "bank"), "ok")
    assert final["run_id"] != first["run_id"]
    # The flow ran the day twice (two reconcile-day subflow runs), and its final state, as the
    # server recorded it, is the final report's: the sample ledger's quarantined rows keep it
    # incomplete (exit 3), so Completed named "Incomplete" with the headline as its message.
    parent, *children = flow_runs(state.state_details.flow_run_id)
    assert sorted(c.name for c in children) == sorted({c.name for c in children}) and len(children) == 2
    assert all(c.state.is_completed() for c in children)
    assert (parent.state.type.value, parent.state.name, parent.state.message) == ("COMPLETED", "Incomplete",
                                                                                 final["headline"])  # fmt: skip
    assert state.result() == 3
    # One notice, at the end, with the final state (not one for the provisional report).
    (notice,) = notices(data_dir)
    assert (notice["RECON_STATE"], notice["RECON_EXIT_CODE"], notice["RECON_HEADLINE"]) == (
        "incomplete", "3", final["headline"])
    assert json.loads(notice["RECON_NOTICE_JSON"])["waited_for"] == ["wechatpay"]
    assert json.loads(notice["RECON_NOTICE_JSON"])["attempts"] == 2
    (body,) = Robot.bodies
    assert body["msgtype"] == "text" and final["headline"] in body["text"]["content"]


def test_a_statement_that_never_comes_ends_incomplete_at_give_up_and_is_notified(data_dir: Path) -> None:
    state = schedule.reconcile_yesterday(data_dir=str(data_dir), pretend_now=SIX_AM, time_scale=36000,
                                         return_state=True)  # fmt: skip
    final = manifest(data_dir / "reports" / DAY.isoformat())
    assert {c["channel"]: c["status"] for c in final["channels"]}["wechatpay"] == "statement missing"
    assert not (data_dir / "reports" / ".versions").exists()  # nothing changed: never rerun
    parent, *children = flow_runs(state.state_details.flow_run_id)
    assert len(children) == 1
    assert (parent.state.name, parent.state.message) == ("Incomplete", final["headline"])
    (notice,) = notices(data_dir)
    assert (notice["RECON_STATE"], notice["RECON_HEADLINE"]) == ("incomplete", final["headline"])
    assert len(Robot.bodies) == 1


def test_a_day_that_cannot_run_is_failed_in_one_line_and_notified(
    data_dir: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    shutil.rmtree(data_dir / "inbox" / DAY.isoformat() / "ledger")
    state = schedule.reconcile_yesterday(data_dir=str(data_dir), pretend_now=SIX_AM, return_state=True)
    assert state.is_failed() and state.message.startswith("no ledger export in ")
    assert "\n" not in state.message
    (notice,) = notices(data_dir)
    assert (notice["RECON_STATE"], notice["RECON_EXIT_CODE"]) == ("failed", "2")
    assert notice["RECON_HEADLINE"] == state.message
    err = capfd.readouterr().err
    assert f"recon: {DAY}: no ledger export in " in err


def test_recon_serve_runs_the_deployment_and_a_failed_day_is_one_line(tmp_path: Path) -> None:
    """`recon serve` against the real server; the deployment's run of a date without a ledger export."""
    import os
    import subprocess
    import time

    from prefect.client.orchestration import get_client
    from prefect.deployments import run_deployment
    from prefect.settings import PREFECT_API_URL

    data = tmp_path / "serve"
    shutil.copytree(SAMPLE_DATA / "inbox" / DAY.isoformat() / "bank", data / "inbox" / DAY.isoformat() / "bank")
    env = {**os.environ, "PREFECT_API_URL": str(PREFECT_API_URL.value()),
           "PYTHONPATH": str(Path(__file__).resolve().parents[2])}  # fmt: skip
    env.pop("PREFECT_LOGGING_LEVEL", None)  # what `recon serve` chooses, as in production
    err = tmp_path / "serve.err"
    with open(err, "wb") as sink:
        server = subprocess.Popen([sys.executable, "-m", "flows.cli", "serve", "--data-dir", str(data)],  # noqa: S603
                                  stdout=subprocess.DEVNULL, stderr=sink, env=env, cwd="/")  # fmt: skip
    try:
        with get_client(sync_client=True) as client:
            for _ in range(120):
                try:
                    client.read_deployment_by_name("reconcile-yesterday/recon-daily")
                    break
                except Exception:  # noqa: BLE001 - not registered yet
                    assert server.poll() is None, err.read_text()
                    time.sleep(0.5)
        run = run_deployment("reconcile-yesterday/recon-daily", parameters={"business_date": DAY.isoformat()},
                             timeout=120)  # fmt: skip
    finally:
        server.terminate()
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(10)
    assert run.state is not None and run.state.is_failed(), run.state
    assert run.state.message.startswith("no ledger export in ")
    lines = err.read_text().splitlines()
    assert f"recon: {DAY}: no ledger export in {data / 'inbox' / DAY.isoformat() / 'ledger'}" in lines
    assert "Traceback" not in err.read_text()
