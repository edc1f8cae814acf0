from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from transforms.adapters.wechatpay import (
    WECHATPAY_TRADE_HEADER,
    looks_like_wechatpay_trade,
    parse_wechatpay_trade_bill,
)
from transforms.parsed import LineCounts, ParseContext

SAMPLE = Path(__file__).parents[2] / "fixtures" / "formats" / "wechatpay_tradebill_ALL_20260302.csv"
DAY = date(2026, 3, 2)
BOM = b"\xef\xbb\xbf"


def sample() -> bytes:
    return SAMPLE.read_bytes()


def parse(data: bytes):
    return parse_wechatpay_trade_bill(data, "wechatpay/bill.csv", ParseContext(business_date=DAY))


def with_field(line_no: int, column: str, value: str, data: bytes | None = None) -> bytes:
    """The sample with one detail field of physical line ``line_no`` replaced (value written as is)."""
    lines = (data or sample()).decode("utf-8").split("\r\n")
    fields = lines[line_no - 1].split(",")
    fields[WECHATPAY_TRADE_HEADER.index(column)] = value
    lines[line_no - 1] = ",".join(fields)
    return "\r\n".join(lines).encode("utf-8")


def reasons(parsed) -> list[tuple[int, str | None, str]]:
    return [
        (r["source_line"], r["column"], r["reason_code"]) for r in parsed.quarantine.iter_rows(named=True)
    ]


def test_sample_bill_matches_its_control_totals():
    parsed = parse(sample())
    assert parsed.file_error is None
    assert parsed.quarantine.height == 0 and parsed.rejected.height == 0
    rows = parsed.rows
    assert rows.height == 17
    assert rows["kind"].value_counts().sort("kind").rows() == [("payment", 14), ("refund", 3)]
    payments, refunds = rows.filter(pl.col("kind") == "payment"), rows.filter(pl.col("kind") == "refund")
    assert payments["amount_minor"].sum() == 361519  # Σ应结订单金额 3615.19
    assert refunds["amount_minor"].sum() == -44590  # −Σ退款金额 445.90
    assert payments["fee_minor"].sum() == -1374 and refunds["fee_minor"].sum() == 169  # fees 13.74 / −1.69
    assert rows["fee_exact"].sum() == Decimal("-12.05000")
    # net settlement = 3615.19 − 445.90 − 12.05 = 3157.24 (the WeChat credit on the bank statement)
    assert rows["amount_minor"].sum() + rows["fee_minor"].sum() == 315724
    assert {c.name: (c.footer, c.parsed) for c in parsed.controls} == {
        "总交易单数": (Decimal(17), Decimal(17)),
        "应结订单总金额": (Decimal("3615.19"), Decimal("3615.19")),
        "退款总金额": (Decimal("445.90"), Decimal("445.90")),
        "充值券退款总金额": (Decimal("0.00"), Decimal("0.00")),
        "手续费总金额": (Decimal("12.05000"), Decimal("12.05000")),
        "订单总金额": (Decimal("3635.19"), Decimal("3635.19")),
        "申请退款总金额": (Decimal("445.90"), Decimal("445.90")),
    }
    # 20 physical lines = 17 data + 1 header + 2 summary lines
    assert parsed.lines == LineCounts(physical=20, data=17, header=1, footer=2)
    assert parsed.merchant_account == "1734502688"
    assert (parsed.format, parsed.role, parsed.channel) == ("wechatpay_trade", "channel", "wechatpay")


def test_sample_rows_map_as_documented():
    rows = parse(sample()).rows
    coupon = rows.filter(pl.col("source_line") == 7).row(0, named=True)  # 265.00 order, 20.00 coupon
    assert (coupon["amount_minor"], coupon["order_amount_minor"], coupon["discount_minor"]) == (
        24500,
        26500,
        2000,
    )
    assert coupon["fee_minor"] == -93 and coupon["fee_exact"] == Decimal("-0.93000")
    assert coupon["occurred_at"] == datetime(2026, 3, 2, 2, 33, 9, tzinfo=UTC)  # 10:33:09 Beijing
    refund = rows.filter(pl.col("source_line") == 18).row(0, named=True)  # PROCESSING full refund
    assert refund["kind"] == "refund" and refund["status"] == "processing"
    assert refund["status_detail"] == "退款状态 PROCESSING"
    assert refund["channel_txn_id"] == "50339457552026030210266323259"
    assert refund["original_txn_id"] == "4200038762202603021327589357"
    assert (refund["amount_minor"], refund["order_amount_minor"], refund["fee_minor"]) == (-19990, -19990, 76)
    assert refund["settle_date"] == DAY and refund["order_no"] == "ZZW202603020109"


def test_sample_buyer_is_the_openid_of_用户标识():
    """``buyer_id`` is 用户标识 (the openid), without WeChat's backtick; kept in the work folder only."""
    rows = parse(sample()).rows
    assert rows.filter(pl.col("source_line") == 2)["buyer_id"].to_list() == ["ohZzxWJnChzxUdwSZDYkpiIEMgg-"]
    assert rows["buyer_id"].null_count() == 0


def test_recognised_by_header():
    assert looks_like_wechatpay_trade(sample())
    assert not looks_like_wechatpay_trade(b"a,b,c\r\n")


def test_bom_and_line_endings_give_identical_rows():
    crlf = parse(sample()).rows
    no_bom = parse(sample().removeprefix(BOM)).rows
    lf = parse(sample().replace(b"\r\n", b"\n")).rows
    assert crlf.equals(no_bom) and crlf.equals(lf)


def test_two_boms_are_a_header_mismatch():
    assert parse(BOM + sample()).file_error.reason_code == "HEADER_MISMATCH"


def test_gbk_encoded_file_is_a_header_mismatch():
    gbk = sample().removeprefix(BOM).decode("utf-8").encode("gb18030")
    error = parse(gbk).file_error
    assert error.reason_code == "HEADER_MISMATCH" and "GBK" in error.message


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("`¥1234.50", "BAD_AMOUNT"),
        ("`12.345", "SCALE_EXCEEDED"),  # never rounded
        ("`168.0", "BAD_AMOUNT"),  # exactly 2 decimals
        ("`NaN", "BAD_AMOUNT"),
    ],
)
def test_bad_amount_is_quarantined_with_the_money_parsers_code(value, code):
    parsed = parse(with_field(2, "应结订单金额", value))
    assert reasons(parsed) == [(2, "应结订单金额", code)]
    assert parsed.rows.height == 16
    rejected = parsed.rejected.row(0, named=True)
    assert (rejected["source_line"], rejected["kind"], rejected["amount_minor"]) == (2, "payment", None)
    assert rejected["channel_txn_id"] == "4200059425202603024322878810"
    # Σ应结订单金额 can no longer be verified; the rest still can and still agrees
    controls = {c.name: c for c in parsed.controls}
    assert controls["应结订单总金额"].parsed is None and controls["订单总金额"].ok
    assert parsed.file_error is None


def test_thousands_separator_splits_the_field_so_the_row_has_28_fields():
    parsed = parse(with_field(2, "应结订单金额", "`1,234.50"))
    assert reasons(parsed) == [(2, None, "FIELD_COUNT")]
    assert "expected 27 fields, got 28" in parsed.quarantine["reason"][0]


def test_fee_keeps_five_decimals_and_rejects_six():
    parsed = parse(with_field(2, "手续费", "`0.640000"))
    assert reasons(parsed) == [(2, "手续费", "SCALE_EXCEEDED")]


@pytest.mark.parametrize(
    ("value", "problem", "amount"),
    [("168.00", "missing", 16800), ("``168.00", "more than one", None)],  # '`168.00' is no amount
)
def test_backtick_missing_or_doubled_is_a_format_violation(value, problem, amount):
    parsed = parse(with_field(2, "应结订单金额", value))
    assert reasons(parsed) == [(2, "应结订单金额", "FORMAT_VIOLATION")]
    assert problem in parsed.quarantine["reason"][0]
    assert parsed.rejected["amount_minor"].to_list() == [amount]


def test_unknown_status_is_quarantined():
    parsed = parse(with_field(3, "交易状态", "`FROZEN"))
    assert reasons(parsed) == [(3, "交易状态", "UNKNOWN_ENUM")]
    assert parsed.rejected["kind"].to_list() == [None]


def test_unknown_refund_status_is_quarantined():
    assert reasons(parse(with_field(6, "退款状态", "`CHANGE"))) == [(6, "退款状态", "UNKNOWN_ENUM")]


def test_revoked_payment_is_kept_as_revoked():
    row = (
        parse(with_field(3, "交易状态", "`REVOKED"))
        .rows.filter(pl.col("source_line") == 3)
        .row(0, named=True)
    )
    assert (row["kind"], row["status"], row["status_detail"]) == ("payment", "revoked", "交易状态 REVOKED")


def test_sign_table():
    negative_payment = with_field(2, "应结订单金额", "`-168.00", with_field(2, "订单金额", "`-168.00"))
    assert reasons(parse(negative_payment)) == [(2, "应结订单金额", "SIGN_VIOLATION")]
    assert reasons(parse(with_field(6, "退款金额", "`-96.00"))) == [(6, "退款金额", "SIGN_VIOLATION")]


def test_required_ids():
    assert reasons(parse(with_field(2, "商户订单号", "`"))) == [(2, "商户订单号", "REQUIRED_EMPTY")]
    assert reasons(parse(with_field(6, "微信退款单号", "`0"))) == [(6, "微信退款单号", "REQUIRED_EMPTY")]


@pytest.mark.parametrize("value", ["`2026-02-30 10:00:00", "`2026/03/02 08:12:05", "`2026-03-02 24:00:00"])
def test_bad_dates(value):
    # pattern and calendar are separate checks: one entry each when both fail
    assert set(reasons(parse(with_field(2, "交易时间", value)))) == {(2, "交易时间", "BAD_DATE")}


def test_unknown_currency():
    assert reasons(parse(with_field(2, "货币种类", "`RMB"))) == [(2, "货币种类", "BAD_CURRENCY")]


def test_control_character_in_a_field():
    assert reasons(parse(with_field(2, "商品名称", "`bad\x00name"))) == [(2, "商品名称", "BAD_CHAR")]


def test_wrong_field_count():
    parsed = parse(with_field(4, "费率备注", "`,`extra"))
    assert reasons(parsed) == [(4, None, "FIELD_COUNT")]
    assert parsed.rows.height == 16 and parsed.rejected["source_line"].to_list() == [4]
    assert parsed.file_error is None  # the count total still agrees (17 detail lines)


def test_footer_mismatch_names_both_numbers():
    data = sample().replace(b"`17,`3615.19", b"`18,`3625.19")
    error = parse(data).file_error
    assert error.reason_code == "CONTROL_TOTAL_MISMATCH" and error.line == 20
    assert "18" in error.message and "17" in error.message
    assert "3625.19" in error.message and "3615.19" in error.message


def test_truncated_file_names_the_last_line():
    lines = sample().split(b"\r\n")
    cut = b"\r\n".join(lines[:17]) + b"\r\n" + b",".join(lines[17].split(b",")[:7])
    parsed = parse(cut)
    assert parsed.file_error.reason_code == "TRUNCATED"
    assert "line 18" in parsed.file_error.message and "7 of 27 fields" in parsed.file_error.message
    assert parsed.rows.height == 16 and parsed.rejected["source_line"].to_list() == [18]


def test_footer_missing():
    lines = sample().split(b"\r\n")
    parsed = parse(b"\r\n".join(lines[:18]) + b"\r\n")
    assert parsed.file_error.reason_code == "FOOTER_MISSING"
    assert parsed.rows.height == 17  # rows still hold what could be read


def test_blank_lines_are_counted():
    data = sample().replace(b"\r\n`2026-03-02 08:47:31", b"\r\n\r\n`2026-03-02 08:47:31") + b"\r\n"
    parsed = parse(data)
    assert parsed.file_error is None
    assert parsed.lines == LineCounts(physical=22, data=17, header=1, footer=2, blank=2)
    assert parsed.rows["source_line"].to_list()[:2] == [2, 4]


def test_header_problems():
    header = ",".join(WECHATPAY_TRADE_HEADER).encode()
    assert parse(
        sample().replace(header, header.replace("商户订单号".encode(), "商户单号".encode()))
    ).file_error.reason_code in {"HEADER_MISMATCH"}
    assert parse(sample().replace(header, header + b",extra")).file_error.reason_code == "UNEXPECTED_COLUMN"
    dup = header.replace("费率备注".encode(), "费率".encode())
    assert parse(sample().replace(header, dup)).file_error.reason_code == "DUP_COLUMN"


def test_empty_file():
    assert parse(b"").file_error.reason_code == "EMPTY_FILE"
