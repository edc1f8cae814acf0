"""The benchmark runs end to end on a small day (a smoke run: the figures are checked by bench/run.py itself)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.usefixtures("prefect_harness")


def test_the_benchmark_runs_and_writes_its_results(tmp_path: Path) -> None:
    from prefect.settings import PREFECT_API_URL

    out = tmp_path / "RESULTS.md"
    # The recon processes it starts use the session's Prefect API instead of starting their own.
    env = {**os.environ, "PREFECT_API_URL": str(PREFECT_API_URL.value())}
    done = subprocess.run(
        [sys.executable, str(REPO / "bench" / "run.py"), "--rows", "2000", "--cache", str(tmp_path / "cache"),
         "--out", str(out), "--skip-pandas", "--skip-profile"],
        env=env, capture_output=True, text=True, check=False, cwd=REPO, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    text = out.read_text(encoding="utf-8")
    assert "## 2,000 rows per side" in text
    assert "(c) floor" in text and "Outputs of (a) and (b) identical: yes" in text
