"""flows/notify.py: the command and the webhook are sent, with timeouts, and a failing hook never raises."""

from __future__ import annotations

import http.server
import json
import socket
import sys
import threading
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from flows.notify import send_notice
from transforms.notify import Notice
from transforms.rules import NotifyRules

NOTICE = Notice("incomplete", 3, date(2026, 3, 2), "PROVISIONAL 2026-03-02: wechatpay: statement missing",
                "/srv/reports/2026-03-02", 1, ("wechatpay",))  # fmt: skip
RECORD = ("import json, os, sys; from pathlib import Path; "
          "Path(sys.argv[1]).write_text(json.dumps({'stdin': sys.stdin.read(), "
          "'env': {k: v for k, v in os.environ.items() if k.startswith('RECON_')}}))")  # fmt: skip


class Robot(http.server.BaseHTTPRequestHandler):
    """A WeCom-like group robot: records each POST, answers {"errcode": 0} (or what ``answer`` says)."""

    received: list[tuple[str, dict[str, str], bytes]] = []
    answer = b'{"errcode":0,"errmsg":"ok"}'
    delay = 0.0

    def do_POST(self) -> None:  # noqa: N802 - the http.server name
        import time

        body = self.rfile.read(int(self.headers["Content-Length"]))
        Robot.received.append((self.path, dict(self.headers), body))
        time.sleep(Robot.delay)
        try:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(Robot.answer)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (the timeout test)
            pass

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def robot() -> Iterator[str]:
    Robot.received, Robot.answer, Robot.delay = [], b'{"errcode":0,"errmsg":"ok"}', 0.0
    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), Robot) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            yield f"http://127.0.0.1:{server.server_address[1]}/cgi-bin/webhook/send?key=SECRET"
        finally:
            server.shutdown()


def test_the_webhook_gets_the_robot_body(robot: str) -> None:
    assert send_notice(NOTICE, NotifyRules(webhook_url=robot)) == [
        f"notify webhook {robot.split('?')[0]}: sent"]  # the key never reaches a log line
    ((path, headers, body),) = Robot.received
    assert path == "/cgi-bin/webhook/send?key=SECRET"
    assert headers["Content-Type"] == "application/json; charset=utf-8"
    content = json.loads(body)["text"]["content"]
    assert json.loads(body)["msgtype"] == "text"
    assert content.startswith("recon 2026-03-02: INCOMPLETE (exit 3): PROVISIONAL 2026-03-02: wechatpay: statement missing")


def test_the_command_runs_without_a_shell_with_the_notice_in_env_and_stdin(tmp_path: Path) -> None:
    out = tmp_path / "notice.json"
    hostile = Notice("failed", 2, date(2026, 3, 2), "no ledger; $(touch pwned) `touch pwned`")
    rules = NotifyRules(command=(sys.executable, "-c", RECORD, str(out)))
    assert send_notice(hostile, rules) == [f"notify command {sys.executable}: sent"]
    got = json.loads(out.read_text())
    assert got["env"]["RECON_HEADLINE"] == hostile.headline and got["env"]["RECON_EXIT_CODE"] == "2"
    assert got["env"]["RECON_STATE"] == "failed" and json.loads(got["env"]["RECON_NOTICE_JSON"])["exit_code"] == 2
    assert got["stdin"].startswith("recon 2026-03-02: FAILED (exit 2): no ledger; $(touch pwned)")
    assert not (tmp_path / "pwned").exists() and not Path("pwned").exists()


def test_a_failing_hook_is_one_line_and_never_raises(tmp_path: Path, robot: str) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}/hook"
    lines = send_notice(NOTICE, NotifyRules(command=(sys.executable, "-c", "import sys; sys.exit('no mail')"),
                                            webhook_url=closed))  # fmt: skip
    assert lines[0] == f"notify command {sys.executable} exited 1: no mail"
    assert lines[1].startswith(f"notify webhook {closed} failed:")
    assert send_notice(NOTICE, NotifyRules(command=(str(tmp_path / "no-such-program"),)))[0].startswith(
        f"notify command {tmp_path / 'no-such-program'} could not start")
    Robot.answer = b'{"errcode":93000,"errmsg":"invalid webhook url"}'
    assert send_notice(NOTICE, NotifyRules(webhook_url=robot)) == [
        f"notify webhook {robot.split('?')[0]} refused the message: errcode 93000 invalid webhook url"]


def test_a_hook_that_hangs_is_stopped_by_its_timeout(robot: str) -> None:
    import time

    Robot.delay = 2.0
    began = time.monotonic()
    lines = send_notice(NOTICE, NotifyRules(command=(sys.executable, "-c", "import time; time.sleep(30)"),
                                            webhook_url=robot, timeout_seconds=1))  # fmt: skip
    assert time.monotonic() - began < 6
    assert lines[0] == f"notify command {sys.executable} did not finish within 1 s (killed)"
    assert lines[1].startswith(f"notify webhook {robot.split('?')[0]} failed:") and "timed out" in lines[1]


def test_nothing_is_sent_for_a_state_not_configured(robot: str) -> None:
    assert send_notice(NOTICE, NotifyRules(webhook_url=robot, notify_on=("failed",))) == []
    assert Robot.received == []


def test_an_undecodable_headline_is_still_sent(tmp_path: Path, robot: str) -> None:
    out = tmp_path / "notice.json"
    notice = Notice("incomplete", 3, date(2026, 3, 2), "wechatpay/bill\udcff.csv: rejected")
    lines = send_notice(notice, NotifyRules(command=(sys.executable, "-c", RECORD, str(out)), webhook_url=robot))
    assert [line.endswith(": sent") for line in lines] == [True, True]
    assert json.loads(out.read_text())["env"]["RECON_HEADLINE"] == "wechatpay/bill\\udcff.csv: rejected"
