"""The CLI in-process through main(argv): arguments and configuration problems exit 2 before any work."""

from __future__ import annotations

from pathlib import Path

import pytest

from flows.cli import EXIT_CANNOT_RUN, EXIT_OK, main


def test_help_teaches_exit_codes_and_layout(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--help"]) == EXIT_OK
    out = capsys.readouterr().out
    assert "exit codes:" in out and "inbox/<YYYY-MM-DD>" in out and "--data-dir" in out


@pytest.mark.parametrize("bad_date", ["2026-02-30", "20260302", "../../etc", "2026-3-2"])
def test_a_bad_date_cannot_run(bad_date: str, tmp_path: Path) -> None:
    assert main(["run", "--date", bad_date, "--data-dir", str(tmp_path)]) == EXIT_CANNOT_RUN


def test_no_inbox_cannot_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--date", "2026-03-02", "--data-dir", str(tmp_path), "--quiet"]) == EXIT_CANNOT_RUN
    assert "no inbox for 2026-03-02" in capsys.readouterr().err


def test_a_bad_config_lists_every_problem(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "recon.toml").write_text(
        'timezone = "Mars/Olympus"\ncutoff_minutes = -5\n[channels.wechatpay]\nfee_bps = 0.6\n', encoding="utf-8"
    )
    assert main(["run", "--date", "2026-03-02", "--data-dir", str(tmp_path), "--quiet"]) == EXIT_CANNOT_RUN
    err = capsys.readouterr().err
    assert "Mars/Olympus" in err and "cutoff_minutes" in err and "fee_bps" in err


def test_a_missing_config_file_cannot_run(tmp_path: Path) -> None:
    argv = ["run", "--date", "2026-03-02", "--data-dir", str(tmp_path), "--config", str(tmp_path / "nope.toml")]
    assert main(argv) == EXIT_CANNOT_RUN


def test_backfill_range_must_be_ordered(tmp_path: Path) -> None:
    argv = ["backfill", "--from", "2026-03-05", "--to", "2026-03-02", "--data-dir", str(tmp_path), "--quiet"]
    assert main(argv) == EXIT_CANNOT_RUN


def test_verify_without_a_recorded_run_cannot_run(tmp_path: Path) -> None:
    assert main(["verify", "--date", "2026-03-02", "--data-dir", str(tmp_path), "--quiet"]) == EXIT_CANNOT_RUN


def test_sample_writes_days_and_their_answer_key(tmp_path: Path) -> None:
    argv = ["sample", "--data-dir", str(tmp_path), "--start", "2026-04-01", "--days", "2", "--rows", "10", "--quiet"]
    assert main(argv) == EXIT_OK
    assert sorted(p.name for p in (tmp_path / "inbox").iterdir()) == ["2026-04-01", "2026-04-02"]
    assert (tmp_path / "answers" / "2026-04-02.csv").read_text(encoding="utf-8").startswith("source,source_file")


def test_a_warehouse_held_by_another_process_is_waited_for(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import subprocess
    import sys
    import time

    (tmp_path / "inbox" / "2026-03-02").mkdir(parents=True)
    holder = subprocess.Popen(
        [sys.executable, "-c", f"import duckdb, time; c = duckdb.connect({str(tmp_path / 'warehouse.duckdb')!r}); "
         "print('held', flush=True); time.sleep(2)"],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        began = time.monotonic()
        # Another run writing the warehouse holds it for seconds: a reader waits its turn, then reads.
        assert main(["verify", "--date", "2026-03-02", "--data-dir", str(tmp_path), "--quiet"]) == EXIT_CANNOT_RUN
        assert time.monotonic() - began >= 1.0
        assert "no recorded run for 2026-03-02" in capsys.readouterr().err
    finally:
        holder.kill()
        holder.wait()


def test_commands_that_only_read_create_no_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["trace", "X1", "--data-dir", str(tmp_path)]) == EXIT_CANNOT_RUN
    assert "no warehouse" in capsys.readouterr().err
    assert main(["--help"]) == EXIT_OK
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_printable_escapes_what_a_terminal_would_obey() -> None:
    from flows.cli import printable

    assert printable("bill\x1b[2J\u202e\nx.csv 账单") == "bill\\x1b[2J\\u202e\\nx.csv 账单"


@pytest.mark.usefixtures("prefect_harness")
def test_file_names_reach_the_terminal_escaped(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import shutil

    from tests.conftest import SAMPLE_DATA

    inbox = tmp_path / "inbox" / "2026-03-02"
    shutil.copytree(SAMPLE_DATA / "inbox" / "2026-03-02", inbox)
    bill = next((inbox / "wechatpay").glob("wechatpay_tradebill_*"))
    shutil.copy(bill, inbox / "wechatpay" / "again\x1b[2J\u202e.csv")  # a duplicate delivery: its name is printed
    assert main(["run", "--date", "2026-03-02", "--data-dir", str(tmp_path)]) == 3
    out = capsys.readouterr()
    assert "again\\x1b[2J\\u202e.csv" in out.out + out.err
    assert "\x1b" not in out.out + out.err and "\u202e" not in out.out + out.err
