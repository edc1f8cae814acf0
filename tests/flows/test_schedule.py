"""The daily deployment: 06:00 merchant time, yesterday, with the data dir and config as parameters."""

from __future__ import annotations

import http.server
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

from flows.schedule import DAILY_CRON, daily_deployment, server_problem


def test_daily_deployment_runs_at_six_in_the_merchant_time_zone(tmp_path: Path) -> None:
    deployment = daily_deployment(tmp_path, None, "Asia/Shanghai")
    (schedule,) = deployment.schedules
    assert (schedule.schedule.cron, schedule.schedule.timezone) == (DAILY_CRON, "Asia/Shanghai")
    assert deployment.parameters == {"data_dir": str(tmp_path.resolve()), "config": None}
    assert deployment.name == "recon-daily"


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
