"""Which statements are usable, which channels are unavailable, and what the report must say."""

from __future__ import annotations

from datetime import date

from tests.conftest import FIXTURES
from transforms.adapters.alipay import parse_alipay_trade_detail
from transforms.adapters.wechatpay import parse_wechatpay_trade_bill
from transforms.intake import combine_parsed, input_notes
from transforms.parsed import ParseContext

D = date(2026, 3, 2)
ALIPAY = FIXTURES / "formats" / "alipay_20886413579246800156_20260302_业务明细.csv"
WECHAT = FIXTURES / "formats" / "wechatpay_tradebill_ALL_20260302.csv"
CONTEXT = ParseContext(business_date=D)


def test_a_rejected_statement_makes_its_channel_unavailable_and_says_so() -> None:
    wechat = parse_wechatpay_trade_bill(WECHAT.read_bytes(), "wechatpay/bill.csv", CONTEXT)
    # The footer claims 14 payments where the file has 13: the whole file is rejected (F22).
    tampered = ALIPAY.read_bytes().replace("#交易合计：13笔".encode("gb18030"), "#交易合计：14笔".encode("gb18030"))
    alipay = parse_alipay_trade_detail(tampered, "alipay/detail.csv", CONTEXT)
    assert alipay.file_error is not None

    day = combine_parsed([wechat, alipay], ("wechatpay", "alipay", "bank"), ledger_channels=())

    assert day.unavailable == {"alipay": "statement rejected (CONTROL_TOTAL_MISMATCH)", "bank": "statement missing"}
    assert day.usable == {"wechatpay/bill.csv"}
    assert set(day.rejected) == {"alipay/detail.csv"}
    assert day.rejected["alipay/detail.csv"].reason_code == "CONTROL_TOTAL_MISMATCH"
    file_entries = day.quarantine.filter(day.quarantine["column"].is_null() & (day.quarantine["source_file"] == "alipay/detail.csv"))
    assert file_entries.height == 1
    assert "13" in file_entries["reason"][0] and "14" in file_entries["reason"][0]
    assert any("FILE REJECTED alipay/detail.csv" in note for note in day.notes)


def test_all_present_and_clean_means_nothing_unavailable() -> None:
    wechat = parse_wechatpay_trade_bill(WECHAT.read_bytes(), "wechatpay/bill.csv", CONTEXT)
    day = combine_parsed([wechat], ("wechatpay",), ledger_channels=("wechatpay",))
    assert day.unavailable == {}
    assert day.rejected == {} and day.quarantine.is_empty()


def test_a_channel_the_ledger_booked_without_any_statement_is_unavailable_too() -> None:
    wechat = parse_wechatpay_trade_bill(WECHAT.read_bytes(), "wechatpay/bill.csv", CONTEXT)
    day = combine_parsed([wechat], ("wechatpay",), ledger_channels=("wechatpay", "stripe"))
    # stripe is not expected by the rules, but its ledger rows cannot be checked without a statement.
    assert day.unavailable == {"stripe": "statement missing"}


def test_input_notes_name_cross_checks_duplicates_and_unused_files() -> None:
    from transforms.dispatch import unusable

    unused = unusable("stripe/balance.csv", "stripe_balance", "reference", "stripe", None)
    notes = input_notes([unused], [("wechatpay/b2.csv", "wechatpay/b1.csv")], ["alipay/s.csv: 实收净额 differs"])
    assert notes == [
        "alipay/s.csv: 实收净额 differs",
        "wechatpay/b2.csv: duplicate delivery of wechatpay/b1.csv, read once",
        "stripe/balance.csv: recognised as stripe_balance, not used by this run",
    ]
