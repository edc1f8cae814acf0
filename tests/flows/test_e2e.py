"""End to end through Prefect and the CLI, sharing one Prefect harness (start-up paid once)."""

from __future__ import annotations

import re
import shutil
import zipfile
from pathlib import Path

import openpyxl
import pytest

from flows.cli import EXIT_INCOMPLETE, EXIT_OK, main
from tests.conftest import SAMPLE_DATA

pytestmark = pytest.mark.e2e
DAYS = ("2026-03-02", "2026-03-03")


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory, prefect_harness: None) -> Path:
    root = tmp_path_factory.mktemp("e2e")
    for day in DAYS:
        shutil.copytree(SAMPLE_DATA / "inbox" / day, root / "inbox" / day)
    argv = ["backfill", "--from", DAYS[0], "--to", DAYS[1], "--data-dir", str(root), "--quiet"]
    # The sample ledger holds deliberately broken rows (quarantined), hence "incomplete".
    assert main(argv) == EXIT_INCOMPLETE
    return root


def test_run_twice_writes_the_same_report_set_byte_for_byte(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    reports = data_dir / "reports" / DAYS[1]
    before = {p.name: p.read_bytes() for p in reports.iterdir()}  # written by the backfill
    assert main(["run", "--date", DAYS[1], "--data-dir", str(data_dir), "--quiet"]) == EXIT_INCOMPLETE
    out = capsys.readouterr().out
    assert "wechatpay" in out and "alipay" in out and "match %" in out
    after = {p.name: p.read_bytes() for p in reports.iterdir()}
    assert [name for name in before if before[name] != after[name]] == []
    names = sorted(after)
    assert names == sorted(
        ["manifest.json", "outcomes.parquet", "discrepancies.parquet", "discrepancies.csv", "cases.parquet",
         "settlement.parquet",
         "quarantine.parquet", "open_items.parquet", "resolved.parquet", "risk.parquet", f"recon_{DAYS[1]}.xlsx"]
    )


def test_the_workbook_has_its_sheets_numeric_amounts_and_text_ids(data_dir: Path) -> None:
    path = data_dir / "reports" / DAYS[1] / f"recon_{DAYS[1]}.xlsx"
    book = openpyxl.load_workbook(path)
    # Chinese first (the packaged recon.toml): the worklist comes right after the Summary.
    assert book.sheetnames == ["汇总", "待处理差异", "复核与在途", "结算与回款", "挂账明细", "已处理", "隔离数据", "风险信号", "运行信息"]
    sheet = book["待处理差异"]
    header = [c.value for c in sheet[1]]
    amount_col = header.index("金额") + 1
    id_col = header.index("渠道交易号") + 1
    amounts = [sheet.cell(row=r, column=amount_col).value for r in range(2, 40)]
    ids = [sheet.cell(row=r, column=id_col).value for r in range(2, 40)]
    assert all(isinstance(a, (int, float)) for a in amounts if a is not None) and any(amounts)
    assert all(isinstance(i, str) for i in ids if i is not None) and any(ids)
    assert sheet.freeze_panes == "C2" and sheet.auto_filter.ref
    with zipfile.ZipFile(path) as archive:
        sheets = [archive.read(n).decode() for n in archive.namelist() if n.startswith("xl/worksheets/")]
    formulas = [f for sheet_xml in sheets for f in re.findall(r"<f>(.*?)</f>", sheet_xml)]
    assert formulas and all(f.startswith(("SUM(", "SUMPRODUCT(SUBTOTAL(109,")) for f in formulas)  # our totals only


def test_cases_parquet_holds_every_case_the_workbook_lists_in_words(data_dir: Path) -> None:
    import polars as pl

    from transforms.worklist import CASE_CLASSES, CASE_SCHEMA

    reports = data_dir / "reports" / DAYS[1]
    cases = pl.read_parquet(reports / "cases.parquet")
    assert list(cases.columns) == [c for c in CASE_SCHEMA if c != "explanation"]
    assert set(cases["class_code"]) <= set(CASE_CLASSES) and cases.height > 0
    sheet = openpyxl.load_workbook(reports / f"recon_{DAYS[1]}.xlsx")["待处理差异"]
    listed = [r for r in sheet.iter_rows(min_row=2, values_only=True) if r[0] in ("高", "中", "低")]
    worklist = cases.filter(pl.col("sheet") == "worklist")
    assert len(listed) == worklist.height  # the sample day fits on the sheet: every case, in the same order
    assert [r[-6:-3] for r in listed] == worklist.select("source", "source_file", "source_line").rows()
    # A discrepancy row is in exactly one case (a payout case comes from the settlement, not a row).
    rows = pl.read_parquet(reports / "discrepancies.parquet").filter(pl.col("outcome") != "quarantined")
    from_rows = cases.filter(~pl.col("reason_code").str.starts_with("PAYOUT_").fill_null(False))
    assert from_rows["rows"].sum() == rows.filter(
        ~((pl.col("source") == "bank") & (pl.col("outcome") == "amount_mismatch"))).height


def test_verify_reruns_a_date_and_finds_identical_outputs(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify", "--date", DAYS[0], "--data-dir", str(data_dir), "--quiet"]) == EXIT_OK
    assert "identical to run" in capsys.readouterr().out


def test_verify_notices_a_changed_report(data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(data_dir, copy)
    ledger = next((copy / "inbox" / DAYS[0] / "ledger").iterdir())
    ledger.write_bytes(ledger.read_bytes().replace(b"succeeded", b"failed", 1))
    assert main(["verify", "--date", DAYS[0], "--data-dir", str(copy), "--quiet"]) == 1
    out = capsys.readouterr().out
    assert f"inputs: DIFFERENT: ledger/{ledger.name}: changed" in out  # which input
    assert "DIFFERENT outcomes.parquet" in out  # which output
    # which rows: the entry and its channel row, both sides of the pair
    assert "rows: 2 rows differ, e.g.:" in out and " -> rerun status_mismatch" in out
    assert out.rstrip().endswith("DIFFERS")


def test_verify_checks_the_published_files_on_disk(data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(data_dir, copy)
    published = copy / "reports" / DAYS[0] / "discrepancies.csv"
    published.write_bytes(published.read_bytes() + b"\n")  # someone edited the report by hand
    assert main(["verify", "--date", DAYS[0], "--data-dir", str(copy), "--quiet"]) == 1
    out = capsys.readouterr().out
    assert "DIFFERENT: discrepancies.csv (changed on disk)" in out
    assert "inputs: the same files, byte for byte" in out and "rows: every outcome as recorded" in out


def test_trace_follows_an_id_to_its_file_lines(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import polars as pl

    outcomes = pl.read_parquet(data_dir / "reports" / DAYS[1] / "outcomes.parquet")
    matched = outcomes.filter((pl.col("outcome") == "matched") & (pl.col("source") == "channel")).row(0, named=True)
    assert main(["trace", matched["channel_txn_id"], "--data-dir", str(data_dir), "--quiet"]) == EXIT_OK
    out = capsys.readouterr().out
    assert f"{matched['source_file']}:{matched['source_line']}" in out and "<-> ledger/" in out


def test_no_ledger_cannot_run(data_dir: Path, tmp_path: Path) -> None:
    shutil.copytree(data_dir / "inbox" / DAYS[0], tmp_path / "inbox" / DAYS[0])
    shutil.rmtree(tmp_path / "inbox" / DAYS[0] / "ledger")
    assert main(["run", "--date", DAYS[0], "--data-dir", str(tmp_path), "--quiet"]) == 2
