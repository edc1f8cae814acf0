"""Which statements are usable, and what happens to the rows of a rejected file."""

from __future__ import annotations

from datetime import date

from tests.conftest import FIXTURES
from transforms.adapters.alipay import parse_alipay_trade_detail
from transforms.adapters.wechatpay import parse_wechatpay_trade_bill
from transforms.intake import combine_parsed

D = date(2026, 3, 2)
ALIPAY = FIXTURES / "formats" / "alipay_20886413579246800156_20260302_业务明细.csv"
WECHAT = FIXTURES / "formats" / "wechatpay_tradebill_ALL_20260302.csv"


def test_a_rejected_statement_quarantines_every_readable_row_and_makes_its_channel_unavailable() -> None:
    wechat = parse_wechatpay_trade_bill(WECHAT.read_bytes(), "wechatpay/bill.csv", business_date=D)
    # The footer claims 14 payments where the file has 13: the whole file is rejected (F22).
    tampered = ALIPAY.read_bytes().replace("#交易合计：13笔".encode("gb18030"), "#交易合计：14笔".encode("gb18030"))
    alipay = parse_alipay_trade_detail(tampered, "alipay/detail.csv", business_date=D)
    assert alipay.file_error is not None

    day = combine_parsed([wechat, alipay], ("wechatpay", "alipay", "bank"))

    assert day.unavailable == {"alipay": "statement rejected (CONTROL_TOTAL_MISMATCH)", "bank": "statement missing"}
    assert day.channel.height == 17  # WeChat only
    quarantined = day.quarantined.filter(day.quarantined["source_file"] == "alipay/detail.csv")
    assert quarantined.height == 16  # every data row of the rejected file, once
    assert set(quarantined["outcome"]) == {"quarantined"}
    assert set(quarantined["reason_code"]) == {"CONTROL_TOTAL_MISMATCH"}
    assert quarantined["amount_minor"].sum() == 394530 - 34300  # its money is still counted
    file_entries = day.quarantine.filter(day.quarantine["column"].is_null() & (day.quarantine["source_file"] == "alipay/detail.csv"))
    assert "13" in file_entries["reason"][0] and "14" in file_entries["reason"][0]
    assert any("FILE REJECTED alipay/detail.csv" in note for note in day.notes)


def test_all_present_and_clean_means_nothing_unavailable() -> None:
    wechat = parse_wechatpay_trade_bill(WECHAT.read_bytes(), "wechatpay/bill.csv", business_date=D)
    day = combine_parsed([wechat], ("wechatpay",))
    assert day.unavailable == {}
    assert day.quarantined.is_empty() and day.quarantine.is_empty()


def test_a_channel_the_ledger_booked_without_any_statement_is_unavailable_too() -> None:
    from tests.helpers import ledger_frame
    from transforms.parsed import ParsedFile, empty_quarantine, empty_rejected

    ledger = ParsedFile(
        source_file="ledger/l.csv", format="ledger_csv", role="ledger", channel="ledger",
        rows=ledger_frame("channel_txn_id|channel|amount_minor\nS1|stripe|1000"), rejected=empty_rejected(),
        quarantine=empty_quarantine(),
    )
    wechat = parse_wechatpay_trade_bill(WECHAT.read_bytes(), "wechatpay/bill.csv", business_date=D)
    day = combine_parsed([wechat, ledger], ("wechatpay",))
    # stripe is not expected by the rules, but its ledger rows cannot be checked without a statement.
    assert day.unavailable == {"stripe": "statement missing"}
