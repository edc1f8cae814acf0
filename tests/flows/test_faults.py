"""Crashes, full disks and concurrent runs (BAD_INPUTS §4.1, §4.2, §4.4), on the real CLI in a subprocess.

Each fault leaves the published report either as it was (absent on a first run, the previous complete
set on a rerun) or as the new complete set, never a mix; the real cause is one line on stderr; a clean
rerun afterwards is byte-identical to a run that never failed, and leaves nothing behind. The
subprocesses use the session's Prefect API (no server start each), so the file stays short.
"""

from __future__ import annotations

import hashlib
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import pytest

from flows.faults import CRASH_POINTS
from flows.locks import EarlierDateBusy, date_lock, wait_for_earlier_dates
from tests.conftest import REPO, SAMPLE_DATA

pytestmark = pytest.mark.usefixtures("prefect_harness")
DAY = date(2026, 3, 2)


def recon(data_dir: Path, *args: str, env: dict[str, str] | None = None,
          limit_bytes: int | None = None, day: date = DAY) -> subprocess.CompletedProcess[str]:  # fmt: skip
    """``recon run --date D`` in a fresh process, on the session's Prefect API."""
    from prefect.settings import PREFECT_API_URL

    full_env = {**os.environ, "PYTHONPATH": str(REPO), "PREFECT_API_URL": str(PREFECT_API_URL.value()), **(env or {})}
    full_env.pop("PREFECT_LOGGING_LEVEL", None)  # recon's own default, as an operator would see it

    def limit() -> None:  # in the child: files may not grow past limit_bytes (EFBIG, as a full disk would)
        if limit_bytes is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, limit_bytes))
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)

    command = [sys.executable, "-m", "flows.cli", "run", "--date", day.isoformat(), "--data-dir", str(data_dir), *args]
    return subprocess.run(command, env=full_env, capture_output=True, text=True, timeout=300, preexec_fn=limit,
                          check=False)  # fmt: skip


def inbox_v1(data_dir: Path, day: date = DAY) -> None:
    shutil.copytree(SAMPLE_DATA / "inbox" / day.isoformat(), data_dir / "inbox" / day.isoformat())


def change_inputs(data_dir: Path) -> None:
    """v2 of the day: the ledger loses one entry (a re-exported ledger), so the outputs change."""
    ledger = next((data_dir / "inbox" / DAY.isoformat() / "ledger").iterdir())
    lines = ledger.read_bytes().split(b"\n")
    ledger.write_bytes(b"\n".join(lines[:5] + lines[6:]))


def published(data_dir: Path) -> dict[str, str] | None:
    """The published set as its files are now (name → sha256), checked complete against its manifest."""
    folder = data_dir / "reports" / DAY.isoformat()
    if not folder.exists():
        return None
    files = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()}
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    listed = manifest["outputs"]
    assert {**listed, "manifest.json": files["manifest.json"]} == files, "the published folder is not one complete set"
    return files


def leftovers(data_dir: Path) -> list[str]:
    """Staging, old and work folders left behind (the kept versions of a report are not leftovers)."""
    reports = data_dir / "reports"
    found = [p.name for p in reports.glob(".*") if p.name != ".versions"] if reports.exists() else []
    found += [p.name for p in (data_dir / "work").glob(f"{DAY.isoformat()}-*")] if (data_dir / "work").exists() else []
    return found


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, str]]:
    """What runs that never failed publish: v1 on a first run, then v2 on the rerun."""
    data_dir = tmp_path_factory.mktemp("reference")
    inbox_v1(data_dir)
    assert recon(data_dir).returncode == 3  # the sample day quarantines rows on purpose
    first = published(data_dir)
    change_inputs(data_dir)
    assert recon(data_dir).returncode == 3
    second = published(data_dir)
    assert first is not None and second is not None and first != second
    return {"v1": first, "v2": second}


def _prepare(tmp_path: Path, rerun: bool) -> dict[str, str] | None:
    inbox_v1(tmp_path)
    if not rerun:
        return None
    assert recon(tmp_path).returncode == 3
    before = published(tmp_path)
    change_inputs(tmp_path)
    return before


# The rerun over changed inputs is the longer half (a reference run more); it runs with -m slow.
RERUN = [False, pytest.param(True, marks=pytest.mark.slow)]


@pytest.mark.parametrize("rerun", RERUN, ids=["first-run", "rerun-changed-inputs"])
@pytest.mark.parametrize("point", CRASH_POINTS)
def test_kill_9_at_every_step_leaves_a_complete_report_and_a_clean_rerun(
    point: str, rerun: bool, tmp_path: Path, reference: dict[str, dict[str, str]]
) -> None:
    before = _prepare(tmp_path, rerun)
    crashed = recon(tmp_path, env={"RECON_CRASH_AT": point})
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr[-2000:]
    now = published(tmp_path)
    new = reference["v2" if rerun else "v1"]
    assert now in (before, new), "a reader sees the previous complete set or the new one, never a mix"
    if point != "after_switch":
        assert now == before
    again = recon(tmp_path)
    assert again.returncode == 3, again.stderr[-2000:]
    assert published(tmp_path) == new  # byte-identical to a run that never crashed
    assert leftovers(tmp_path) == []
    if rerun and point != "after_switch":  # the replaced report is kept whole beside the new one
        (kept,) = (tmp_path / "reports" / ".versions" / DAY.isoformat()).iterdir()
        files = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in kept.iterdir() if p.suffix != ".csv"
                 or p.name == "discrepancies.csv"}  # fmt: skip
        assert files == before


@pytest.mark.parametrize("rerun", RERUN, ids=["first-run", "rerun-changed-inputs"])
@pytest.mark.parametrize("limit_bytes", [4_096, 21_000, 60_000, 400_000])  # spill, staging, WAL, checkpoint
def test_a_full_disk_says_so_in_one_line_and_publishes_nothing_new(
    limit_bytes: int, rerun: bool, tmp_path: Path, reference: dict[str, dict[str, str]]
) -> None:
    before = _prepare(tmp_path, rerun)
    full = recon(tmp_path, limit_bytes=limit_bytes)
    assert full.returncode == 1, full.stdout[-2000:] + full.stderr[-2000:]
    last = full.stderr.strip().splitlines()[-1]  # after the progress lines: the cause, in one line
    assert last.startswith("recon: failed, nothing new published: disk full"), full.stderr[-3000:]
    assert "Traceback" not in full.stderr
    assert published(tmp_path) == before
    assert leftovers(tmp_path) == []  # staging and work folders are removed even when a write failed
    again = recon(tmp_path)
    assert again.returncode == 3
    assert published(tmp_path) == reference["v2" if rerun else "v1"]


def test_a_second_run_of_the_same_date_stops_at_once_naming_the_first(tmp_path: Path) -> None:
    inbox_v1(tmp_path)
    with date_lock(tmp_path, DAY):  # this test process is "the first run"
        second = recon(tmp_path)
    assert second.returncode == 2
    assert second.stderr.strip().splitlines()[-1] == f"recon: cannot run: {DAY} is being processed by PID {os.getpid()}"
    assert published(tmp_path) is None


def test_runs_of_different_dates_at_once_both_succeed_as_if_run_one_after_the_other(tmp_path: Path) -> None:
    # The later date's history is what the earlier one leaves open: it waits for it, then goes on.
    days = [date(2026, 3, 2), date(2026, 3, 4)]
    together, apart = tmp_path / "together", tmp_path / "apart"
    for data_dir in (together, apart):
        for day in days:
            inbox_v1(data_dir, day)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    from prefect.settings import PREFECT_API_URL

    env["PREFECT_API_URL"] = str(PREFECT_API_URL.value())

    def start(day: date) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, "-m", "flows.cli", "run", "--date", day.isoformat(), "--data-dir", str(together)],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip

    first = start(days[0])
    lock = together / "work" / f"{days[0]}.lock"
    deadline = time.monotonic() + 120
    while not (lock.exists() and lock.read_text().strip()) and first.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)  # the earlier date's run holds its lock: the later one starts now, at once
    running = [first, start(days[1])]
    codes = [process.wait(timeout=300) for process in running]
    assert codes == [3, 3], [p.stderr.read() for p in running if p.stderr]  # type: ignore[union-attr]
    for day in days:
        assert recon(apart, day=day).returncode == 3

    def report(data_dir: Path, day: date) -> dict[str, str]:
        folder = data_dir / "reports" / day.isoformat()
        return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()}

    assert [report(together, day) for day in days] == [report(apart, day) for day in days]


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def _wait(condition: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


def test_recons_own_prefect_server_never_outlives_it(tmp_path: Path) -> None:
    inbox_v1(tmp_path)
    env = {key: value for key, value in os.environ.items() if key != "PREFECT_API_URL"}
    env.update(PYTHONPATH=str(REPO), PREFECT_HOME=str(tmp_path / ".prefect"), RECON_CRASH_AT="after_parse")
    process = subprocess.Popen(
        [sys.executable, "-m", "flows.cli", "run", "--date", DAY.isoformat(), "--data-dir", str(tmp_path)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    servers: list[int] = []
    assert _wait(lambda: bool(servers.extend(_children(process.pid)) or servers) or process.poll() is not None, 120)
    assert process.wait(timeout=300) == -signal.SIGKILL  # killed at the crash point, after its server started
    assert servers, "recon started no Prefect server of its own"
    assert _wait(lambda: not any(_alive(pid) for pid in servers), 30), "its server outlived it"


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie has exited (nobody has reaped it yet)


def test_a_run_waits_for_the_run_of_an_earlier_date_and_gives_up_loudly(tmp_path: Path) -> None:
    earlier = DAY - timedelta(days=2)
    with date_lock(tmp_path, earlier):  # "a run of an earlier date" in progress
        with pytest.raises(EarlierDateBusy, match=f"the run of {earlier} is still in progress"):
            wait_for_earlier_dates(tmp_path, DAY, seconds=0.3)
        assert wait_for_earlier_dates(tmp_path, earlier, seconds=0.3) == []  # its own date and later: no wait
    holder = threading.Thread(target=lambda: _hold(tmp_path, earlier, 0.5))
    holder.start()
    time.sleep(0.1)
    began = time.monotonic()
    assert wait_for_earlier_dates(tmp_path, DAY, seconds=30) == [earlier]
    assert time.monotonic() - began >= 0.3  # it waited for the earlier run to finish
    holder.join()
    assert wait_for_earlier_dates(tmp_path, DAY, seconds=0.3) == []


def _hold(data_dir: Path, day: date, seconds: float) -> None:
    with date_lock(data_dir, day):
        time.sleep(seconds)
