"""Findings that need earlier dates (BAD_INPUTS R17, L04): the look-back reads the warehouse as of D−1."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from flows.config import load_rules
from flows.reconcile import RunResult
from sample_data.generate import generate
from tests.corpus.inputs import (
    W_ORDER,
    W_REFUND_ID,
    W_STATUS,
    W_TXN,
    Inbox,
    TextFile,
    edit_text,
    wechat_fields,
    wechat_line,
    wechat_refoot,
    wechat_rows,
)
from tests.helpers import run_day

pytestmark = pytest.mark.usefixtures("prefect_harness")

DAY1, DAY2 = date(2026, 3, 1), date(2026, 3, 2)
WECHAT1 = "wechatpay/wechatpay_tradebill_ALL_20260301.csv"
WECHAT2 = "wechatpay/wechatpay_tradebill_ALL_20260302.csv"


class Edited:
    """What the day-2 statement was given: a day-1 payment listed again, and a refund of a day-1 payment."""

    repeated_txn: str
    refund_id: str


def reason_codes(result: RunResult) -> dict[str, str | None]:
    rows = result.outcomes().filter(pl.col("source") == "channel")
    return dict(zip(rows["channel_txn_id"], rows["reason_code"], strict=True))


@pytest.fixture(scope="module")
def inbox(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Edited]:
    root = tmp_path_factory.mktemp("across-days")
    generate(root, start=DAY1, days=2, seed=5, rows_per_channel=20, quarantined_rows=False)
    day1 = TextFile.load((root / "inbox" / DAY1.isoformat() / WECHAT1).read_bytes(), "utf-8")
    paid = [i for i in wechat_rows(day1) if wechat_fields(day1.lines[i])[W_STATUS] == "SUCCESS"]
    again, refunded_order = day1.lines[paid[0]], wechat_fields(day1.lines[paid[1]])[W_ORDER]
    edited = Edited()
    edited.repeated_txn = wechat_fields(again)[W_TXN]

    def change(text: TextFile) -> None:
        at = next(i for i in wechat_rows(text) if wechat_fields(text.lines[i])[W_STATUS] == "REFUND")
        values = wechat_fields(text.lines[at])
        values[W_ORDER] = refunded_order  # now the refund of a payment of day 1
        text.lines[at] = wechat_line(values)
        edited.refund_id = values[W_REFUND_ID]
        text.lines.insert(1, again)  # the same transaction in the next day's statement too
        wechat_refoot(text)

    edit_text(Inbox(root / "inbox" / DAY2.isoformat()), WECHAT2, "utf-8", change)
    return root, edited


def test_the_look_back_finds_a_repeated_transaction_and_the_payment_of_a_refund(
    inbox: tuple[Path, Edited], tmp_path: Path
) -> None:
    root, edited = inbox
    shutil.copytree(root / "inbox", tmp_path / "inbox")
    rules = load_rules(tmp_path, None)[0]
    run_day(DAY1, tmp_path, rules)
    codes = reason_codes(run_day(DAY2, tmp_path, rules))
    assert codes[edited.repeated_txn] == "DUPLICATE_ACROSS_DAYS"
    assert codes[edited.refund_id] != "ORPHAN_REFUND"


def test_without_the_earlier_date_the_same_day_says_orphan_and_sees_no_repeat(
    inbox: tuple[Path, Edited], tmp_path: Path
) -> None:
    root, edited = inbox
    shutil.copytree(root / "inbox" / DAY2.isoformat(), tmp_path / "inbox" / DAY2.isoformat())
    result = run_day(DAY2, tmp_path, load_rules(tmp_path, None)[0])
    codes = reason_codes(result)
    assert codes[edited.refund_id] == "ORPHAN_REFUND"
    assert codes[edited.repeated_txn] != "DUPLICATE_ACROSS_DAYS"
    detail = result.outcomes().filter(pl.col("channel_txn_id") == edited.refund_id)["detail"][0]
    assert "ORPHAN_REFUND: no payment of order" in detail and "2026-01-31 to 2026-03-02" in detail
