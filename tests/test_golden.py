"""Whole outputs of one committed day pinned by golden files (STYLE point 13).

A change to any outcome, detail sentence, settlement figure, workbook cell or number format shows up
here as a diff. When the change is intended, regenerate and review the diff in git:

    RECON_REGEN_GOLDEN=1 .venv/bin/pytest tests/test_golden.py
"""

from __future__ import annotations

import json
import os
import shutil
from datetime import date
from pathlib import Path

import openpyxl
import pytest

from flows.config import load_rules
from flows.reconcile import RunResult
from tests.conftest import SAMPLE_DATA
from tests.helpers import run_day
from transforms.labels import LANGUAGES, SHEETS, word

pytestmark = pytest.mark.usefixtures("prefect_harness")

GOLDEN = Path(__file__).resolve().parent / "golden"
REGEN = os.environ.get("RECON_REGEN_GOLDEN") == "1"
DAY = date(2026, 3, 3)
#: Manifest keys that change with the code itself, not with what it computes.
VOLATILE = ("code_version", "run_id", "outputs")


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    data_dir = tmp_path_factory.mktemp("golden")
    for day in ("2026-03-02", "2026-03-03"):
        shutil.copytree(SAMPLE_DATA / "inbox" / day, data_dir / "inbox" / day)
    rules, _ = load_rules(data_dir, None)
    run_day(date(2026, 3, 2), data_dir, rules)
    return run_day(DAY, data_dir, rules)


def check(name: str, text: str) -> None:
    path = GOLDEN / name
    if REGEN:
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return
    assert path.exists(), f"no golden file {path}: run RECON_REGEN_GOLDEN=1 .venv/bin/pytest {__file__}"
    expected = path.read_text(encoding="utf-8")
    if text != expected:
        got, want = text.splitlines(), expected.splitlines()
        first = next((i for i, (a, b) in enumerate(zip(got, want, strict=False)) if a != b), min(len(got), len(want)))
        pytest.fail(
            f"{name} changed at line {first + 1}:\n  golden: {want[first] if first < len(want) else '<end>'}\n"
            f"  now:    {got[first] if first < len(got) else '<end>'}\n"
            f"If intended: RECON_REGEN_GOLDEN=1 .venv/bin/pytest tests/test_golden.py, then review `git diff tests/golden`."
        )


def test_outcomes(result: RunResult) -> None:
    check(f"outcomes_{DAY}.csv", result.outcomes().write_csv())


def test_settlement(result: RunResult) -> None:
    check(f"settlement_{DAY}.csv", result.report.settlement.write_csv())


def test_manifest_without_code_identity(result: RunResult) -> None:
    manifest = json.loads((result.reports_dir / "manifest.json").read_text(encoding="utf-8"))
    stable = {key: value for key, value in manifest.items() if key not in VOLATILE}
    check(f"manifest_{DAY}.json", json.dumps(stable, ensure_ascii=False, indent=2, sort_keys=True) + "\n")


RUN_SHEETS = {word(SHEETS, "run", language) for language in LANGUAGES}


def test_workbook_cells_and_formats(result: RunResult) -> None:
    book = openpyxl.load_workbook(result.reports_dir / f"recon_{DAY}.xlsx")
    lines = []
    for sheet in book.worksheets:
        if sheet.title in RUN_SHEETS:  # holds the code version and run id
            continue
        lines.append(f"== {sheet.title} freeze={sheet.freeze_panes} filter={sheet.auto_filter.ref}")
        for row in sheet.iter_rows():
            for cell in row:
                if cell.value is not None:
                    lines.append(f"{cell.coordinate}\t{type(cell.value).__name__}\t{cell.value!r}\t{cell.number_format}")
    check(f"workbook_{DAY}.txt", "\n".join(lines) + "\n")


@pytest.mark.skipif(REGEN, reason="regenerating")
def test_a_changed_output_fails_with_the_first_differing_line(result: RunResult) -> None:
    text = result.report.settlement.write_csv().replace("matched", "amount_mismatch", 1)
    with pytest.raises(pytest.fail.Exception, match="changed at line"):
        check(f"settlement_{DAY}.csv", text)
