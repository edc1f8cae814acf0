"""The command line on the committed sample week: every --help example runs as written, trace follows a
payout to its rows, the commands that only read leave the data dir as it was, and progress bars
appear only for a person at a terminal."""

from __future__ import annotations

import argparse
import logging
import re
import shlex
import shutil
from collections.abc import Iterator
from io import StringIO
from pathlib import Path

import pytest

from flows.cli import EXIT_CANNOT_RUN, EXIT_OK, build_parser, main, progress_bars
from tests.conftest import SAMPLE_DATA


def _parsers() -> list[tuple[str, argparse.ArgumentParser]]:
    """``recon`` and each of its commands, in the order ``recon --help`` lists them."""
    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return [("recon", parser), *commands.choices.items()]


def _examples(help_text: str) -> list[tuple[str, int]]:
    """The command lines of a help's examples block (backslash continuations joined), with the exit
    code their ``# exit N`` comment documents (0 when none)."""
    block = help_text[help_text.index("\nexamples") :].splitlines()[1:]
    joined: list[str] = []
    for line in block:
        if joined and joined[-1].endswith("\\"):
            joined[-1] = joined[-1][:-1].rstrip() + " " + line.strip()
        else:
            joined.append(line.strip())
    found = []
    for line in joined:
        if line.startswith("recon "):
            code = re.search(r"#\s*exit (\d)", line)
            found.append((line, int(code.group(1)) if code else 0))
    return found


def _snapshot(root: Path) -> dict[str, tuple[bool, int, int]]:
    """Every name under ``root`` (and root itself) with whether it is a folder, its size and mtime."""
    paths = [root, *sorted(root.rglob("*"))]
    return {str(p.relative_to(root)): (p.is_dir(), 0 if p.is_dir() else p.stat().st_size, p.stat().st_mtime_ns)
            for p in paths}


def test_every_command_ends_its_help_with_examples() -> None:
    for name, parser in _parsers():
        text = parser.format_help()
        assert "\nexamples" in text, f"{name} --help has no examples"
        assert _examples(text), f"{name} --help has no runnable example"
        tail = text[text.rindex("\nexamples") :]
        assert "exit codes:" not in tail and "options:" not in tail, f"{name}: the examples are not the last block"


@pytest.mark.usefixtures("prefect_harness")
def test_every_help_example_runs_on_the_sample_week(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each example, as written, from a folder holding a copy of sample_data: its documented exit code."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    shutil.copytree(SAMPLE_DATA / "inbox", tmp_path / "sample_data" / "inbox")
    monkeypatch.chdir(tmp_path)
    data = tmp_path / "sample_data"
    examples = list(dict.fromkeys(e for _, parser in _parsers() for e in _examples(parser.format_help())))
    assert len(examples) >= 12
    decision = None
    outputs = {}
    for line, expected in examples:
        if "DECISION_ID" in line:
            assert decision is not None, f"{line}: no decision was recorded by an earlier example"
            line = line.replace("DECISION_ID", decision)
        argv = shlex.split(line, comments=True)[1:]
        before = _snapshot(data)
        if argv[0] == "serve":  # no Prefect server answers here: it refuses rather than pretend to serve
            with temporary_settings({PREFECT_API_URL: "http://127.0.0.1:9/api"}):
                code = main(argv)
        else:
            code = main(argv)
        out = capsys.readouterr()
        assert code == expected, f"{line}: exit {code}, documented {expected}\n{out.out}\n{out.err}"
        if argv[0] in ("trace", "verify"):
            assert _snapshot(data) == before, f"{line} changed the data dir"
        assert "\x1b" not in out.out + out.err, f"{line}: terminal codes when no terminal is attached"
        found = re.search(r"recorded decision (\S+):", out.out)
        decision = found.group(1) if found else decision
        outputs[" ".join(argv)] = out.out
    assert (tmp_path / "my_sample" / "inbox").is_dir()

    payout = outputs["trace --payout wechatpay:2026-03-02 --data-dir sample_data"]
    assert "gross ¥161,445.62 (194 payments), refunds -¥1,693.94 (7), fees -¥955.36, net ¥158,796.32" in payout
    assert "payout received ¥158,796.32, difference ¥0.00: matched, on the bank statement at " \
           "bank/camt053_20260303.xml:122" in payout
    assert "statement rows of 2026-03-02: 201 in wechatpay/wechatpay_tradebill_ALL_20260302.csv" in payout
    assert "they add up to the settlement line" in payout
    assert "wechatpay/wechatpay_tradebill_ALL_20260302.csv:2  payment ¥385.73 fee -¥2.31  matched <-> " \
           "ledger/ledger_20260302.csv:3" in payout
    assert "(--rows 201 lists all of them)" in payout
    few = outputs["trace --payout alipay:2026-03-03 --rows 3 --data-dir sample_data"]
    assert "the first 3 in file order:" in few and "payout received: not on any bank statement" in few
    bank = outputs["trace bank/camt053_20260303.xml:122 --data-dir sample_data"]
    assert "payout ¥158,796.32  matched" in bank
    assert "bank/camt053_20260303.xml:122 pays the wechatpay settlement of 2026-03-02:" in bank
    assert "net ¥158,796.32" in bank
    traced = outputs["trace 4200012713202603024716055244 --data-dir sample_data"]
    assert "payment ¥257.90  missing_in_ledger" in traced and "payment ¥257.90  resolved_late" in traced
    assert re.search(r"\b25790\b", traced) is None  # never the minor units
    run = outputs["run --date 2026-03-02 --data-dir sample_data"]
    assert "wechatpay  2026-03-02      ¥158,796.32      ¥158,796.32                -  in_transit" in run


@pytest.fixture(scope="module")
def reconciled(tmp_path_factory: pytest.TempPathFactory, prefect_harness: None) -> Iterator[Path]:
    """A copy of the sample week's first two days, reconciled."""
    data = tmp_path_factory.mktemp("week")
    for day in ("2026-03-02", "2026-03-03"):
        shutil.copytree(SAMPLE_DATA / "inbox" / day, data / "inbox" / day)
    assert main(["backfill", "--from", "2026-03-02", "--to", "2026-03-03", "--data-dir", str(data), "--quiet"]) == 3
    yield data


@pytest.mark.parametrize(
    "argv",
    [
        ["trace", "4200012713202603024716055244"],
        ["trace", "bank/camt053_20260303.xml:122"],
        ["trace", "--payout", "alipay:2026-03-02", "--rows", "1"],
        ["trace", "--payout", "alipay:2026-03-05"],
        ["trace", "no-such-id"],
        ["verify", "--date", "2026-03-02"],
        ["verify", "--date", "2026-03-05"],
        ["verify", "--date", "2026-03-02", "--help"],
        ["trace", "--help"],
        ["--help"],
    ],
)
def test_commands_that_only_read_leave_the_data_dir_as_it_was(
    reconciled: Path, argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    before = _snapshot(reconciled)
    code = main([*argv, "--data-dir", str(reconciled)]) if "--help" not in argv else main(argv)
    out = capsys.readouterr()
    assert code in (EXIT_OK, EXIT_CANNOT_RUN), out
    assert _snapshot(reconciled) == before
    assert not (reconciled / "warehouse.duckdb.wal").exists()


def test_a_verify_of_a_date_never_run_says_so_and_creates_nothing(
    reconciled: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = _snapshot(reconciled)
    assert main(["verify", "--date", "2026-03-05", "--data-dir", str(reconciled)]) == EXIT_CANNOT_RUN
    assert "no recorded run for 2026-03-05" in capsys.readouterr().err
    assert _snapshot(reconciled) == before


def test_trace_wants_one_thing_to_trace(reconciled: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["trace", "--data-dir", str(reconciled)]) == EXIT_CANNOT_RUN
    assert main(["trace", "X", "--payout", "alipay:2026-03-02", "--data-dir", str(reconciled)]) == EXIT_CANNOT_RUN
    assert main(["trace", "--payout", "alipay-2026-03-02", "--data-dir", str(reconciled)]) == EXIT_CANNOT_RUN
    err = capsys.readouterr().err
    assert "say what to trace" in err and "not two of them" in err and "CHANNEL:YYYY-MM-DD" in err


def test_a_payout_of_a_date_never_run_shows_what_the_bank_line_says(
    reconciled: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The first bank statement pays 2026-03-01, a date never reconciled: its totals are unknown.
    assert main(["trace", "--payout", "wechatpay:2026-03-01", "--data-dir", str(reconciled)]) == EXIT_OK
    out = capsys.readouterr().out
    assert "2026-03-01 has no recorded run, so its statement totals are not known" in out
    assert "payout received ¥78,916.65: in_transit, on the bank statement at bank/camt053_20260302.xml:63" in out


def test_bars_only_at_a_terminal_and_never_when_quiet(monkeypatch: pytest.MonkeyPatch) -> None:
    from flows import cli

    monkeypatch.setattr("sys.stdout.isatty", lambda: True, raising=False)
    monkeypatch.setattr("sys.stderr.isatty", lambda: True, raising=False)
    assert cli._bars_wanted(quiet=False) is True
    assert cli._bars_wanted(quiet=True) is False
    monkeypatch.setattr("sys.stderr.isatty", lambda: False, raising=False)
    assert cli._bars_wanted(quiet=False) is False


def test_the_stage_lines_move_a_bar_per_date() -> None:
    from datetime import date

    from rich.console import Console

    screen = StringIO()
    logger = logging.getLogger("recon")
    kept, level = logger.handlers[:], logger.level
    logger.setLevel(logging.INFO)  # as recon sets it without --quiet
    with progress_bars(True, dates=2, console=Console(file=screen, force_terminal=True, width=120)) as bars:
        assert bars.shown
        bars.start(date(2026, 3, 2))
        logger.warning("a warning prints above the bars")
        logger.info("parse: wechatpay/x.csv as wechatpay_trade (3 rows)")
        logger.info("match wechatpay done in 0.10 s")
        logger.info("discover done in 0.01 s")  # a late line never moves a bar back
        task = bars.progress.tasks[bars.current]  # type: ignore[attr-defined,index]
        assert (task.completed, task.fields["stage"]) == (5, "match")
        bars.done()
        bars.start(date(2026, 3, 3))
        bars.done()
        assert [t.completed for t in bars.progress.tasks] == [2, 10, 10]  # type: ignore[attr-defined]
    assert logger.handlers == kept
    logger.setLevel(level)
    text = screen.getvalue()
    assert "2026-03-02" in text and "2026-03-03" in text and "a warning prints above the bars" in text


def test_no_bars_means_the_stage_lines_print_as_they_are() -> None:
    with progress_bars(False) as bars:
        assert not bars.shown
        bars.start(__import__("datetime").date(2026, 3, 2))
        bars.stage("match wechatpay done")
        bars.done()
        assert bars.progress is None


@pytest.mark.parametrize("page", ["docs/auditors.md", "docs/config.md"])
def test_the_docs_link_only_inside_the_repository(page: str) -> None:
    from tests.conftest import REPO

    path = REPO / page
    links = re.findall(r"\]\(([^)#]+)\)", path.read_text(encoding="utf-8"))
    assert links, f"{page} links to nothing"
    for link in links:
        target = (path.parent / link).resolve()
        assert target.is_relative_to(REPO) and target.exists(), f"{page}: {link} is not a file of the repository"


@pytest.mark.slow
def test_the_recon_process_itself_creates_nothing_when_it_only_reads(reconciled: Path) -> None:
    """As the console script runs: no PREFECT_HOME given, so verify must keep Prefect's files elsewhere."""
    import os
    import subprocess
    import sys

    from tests.conftest import REPO

    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")} | {"PYTHONPATH": str(REPO)}
    before = _snapshot(reconciled)
    for argv in (["verify", "--date", "2026-03-02"], ["trace", "--payout", "wechatpay:2026-03-02"], ["verify", "--help"]):
        done = subprocess.run([sys.executable, "-m", "flows.cli", *argv, "--data-dir", str(reconciled), "--quiet"],
                              env=env, capture_output=True, text=True, timeout=300)  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr
        assert _snapshot(reconciled) == before, f"recon {' '.join(argv)} changed the data dir"


def test_a_write_off_over_the_limit_names_both_amounts_as_money(
    reconciled: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["resolve", "--date", "2026-03-02", "--row", "wechatpay/wechatpay_tradebill_ALL_20260302.csv:6",
            "--action", "write_off", "--account", "6603", "--reason", "r", "--by", "li.na", "--data-dir", str(reconciled)]
    assert main(argv) == EXIT_CANNOT_RUN
    err = capsys.readouterr().err
    assert "writing off ¥3,616.99 is over the limit write_off_limit_minor = 100000 (¥1,000.00)" in err
