"""A statement is identified by what it says, not by its bytes (BAD_INPUTS F19-F21)."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest

from flows.config import load_rules
from tests.conftest import SAMPLE_DATA
from tests.helpers import run_day

pytestmark = pytest.mark.usefixtures("prefect_harness")
DAY = date(2026, 3, 2)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    shutil.copytree(SAMPLE_DATA / "inbox" / DAY.isoformat(), tmp_path / "inbox" / DAY.isoformat())
    return tmp_path


def bill(data_dir: Path) -> Path:
    return next((data_dir / "inbox" / DAY.isoformat() / "wechatpay").glob("wechatpay_tradebill_*"))


def run(data_dir: Path):
    return run_day(DAY, data_dir, load_rules(data_dir, None)[0])


def test_the_same_bill_with_other_line_ends_and_no_bom_is_read_once(data_dir: Path) -> None:
    first = run(data_dir)
    original = bill(data_dir)
    original.with_name("again_lf.csv").write_bytes(original.read_bytes().removeprefix(b"\xef\xbb\xbf").replace(b"\r\n", b"\n"))
    second = run(data_dir)
    assert second.outcomes().height == first.outcomes().height  # nothing read twice
    assert second.report.settlement.equals(first.report.settlement)  # the settlement does not double
    note = next(n for n in second.report.notes if "again_lf.csv" in n)
    assert "duplicate delivery of" in note and "other bytes" in note
    # The first by name is read ("again_lf.csv"), the other is the duplicate.
    statuses = {f.source_file: f.status for f in second.report.inputs}
    assert statuses["wechatpay/again_lf.csv"] == "read"
    assert statuses[f"wechatpay/{original.name}"].startswith("duplicate delivery of wechatpay/again_lf.csv")


def test_two_different_bills_for_one_account_and_date_are_a_loud_conflict_never_a_merge(data_dir: Path) -> None:
    original = bill(data_dir)
    lines = original.read_bytes().split(b"\r\n")
    # A re-issued bill: one payment time moved by seconds (its totals still agree: a valid bill on its own).
    lines[1] = lines[1][:18] + (b"9" if lines[1][18:19] != b"9" else b"8") + lines[1][19:]  # another second
    original.with_name("reissued.csv").write_bytes(b"\r\n".join(lines))
    result = run(data_dir)
    assert result.report.exit_code == 3
    assert "wechatpay: statement rejected (CONFLICTING_DELIVERY)" in result.report.problems
    outcomes = result.outcomes()
    wechat_rows = outcomes.filter((outcomes["source"] == "channel") & (outcomes["channel"] == "wechatpay")
                                  & ~outcomes["source_file"].str.contains("fundflow"))  # the trade bills
    assert set(wechat_rows["outcome"]) == {"quarantined"}  # nothing of either bill is merged
    assert set(wechat_rows["reason_code"]) == {"CONFLICTING_DELIVERY"}
    assert wechat_rows.height == 2 * 201  # 200 rows and one paid at 23:59:4x, in each bill


def test_the_next_days_bill_in_this_days_inbox_is_rejected_naming_both_dates(data_dir: Path) -> None:
    shutil.rmtree(data_dir / "inbox" / DAY.isoformat() / "wechatpay")
    shutil.copytree(SAMPLE_DATA / "inbox" / "2026-03-03" / "wechatpay", data_dir / "inbox" / DAY.isoformat() / "wechatpay")
    result = run(data_dir)
    assert "wechatpay: statement rejected (WRONG_DATE)" in result.report.problems
    note = next(n for n in result.report.notes if "WRONG_DATE" in n)
    assert "2026-03-03" in note and "2026-03-02" in note
