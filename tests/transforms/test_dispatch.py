"""Inputs are routed by content; an unrecognisable file stands, loudly, for its folder's statement."""

from __future__ import annotations

from datetime import date

import pytest

from tests.conftest import FIXTURES
from transforms.dispatch import parse_input
from transforms.parsed import ParseContext

D = date(2026, 3, 2)


@pytest.mark.parametrize(
    ("fixture", "fmt", "role", "channel"),
    [
        ("wechatpay_tradebill_ALL_20260302.csv", "wechatpay_trade", "channel", "wechatpay"),
        ("alipay_20886413579246800156_20260302_业务明细.csv", "alipay_trade", "channel", "alipay"),
        ("alipay_20886413579246800156_20260302_业务明细(汇总).csv", "alipay_trade_summary", "reference", "alipay"),
        ("camt053_SAMPLEBANK_20260303.xml", "camt053", "bank", "bank"),
    ],
)
def test_recognised_by_content_whatever_the_folder(fixture: str, fmt: str, role: str, channel: str) -> None:
    data = (FIXTURES / "formats" / fixture).read_bytes()
    # The folder is deliberately wrong: content decides.
    parsed = parse_input(data, f"paypal/{fixture}", ParseContext(business_date=D))
    assert (parsed.format, parsed.role, parsed.channel) == (fmt, role, channel)


@pytest.mark.parametrize(
    ("source_file", "role", "channel"),
    [("alipay/x.csv", "channel", "alipay"), ("ledger/x.csv", "ledger", "ledger"), ("bank/x.xml", "bank", "bank")],
)
def test_garbage_is_rejected_as_the_statement_of_its_folder(source_file: str, role: str, channel: str) -> None:
    parsed = parse_input(b"hello,world\n1,2\n", source_file, ParseContext(business_date=D))
    assert (parsed.role, parsed.channel) == (role, channel)
    assert parsed.file_error is not None and parsed.file_error.reason_code == "UNKNOWN_FORMAT"


def test_an_empty_file_is_rejected_as_empty() -> None:
    parsed = parse_input(b"", "wechatpay/bill.csv", ParseContext(business_date=D))
    assert parsed.file_error is not None and parsed.file_error.reason_code == "EMPTY_FILE"
