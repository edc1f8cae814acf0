"""Personal data is masked in everything written about a bad line (BAD_INPUTS §2.5)."""

from __future__ import annotations

import polars as pl
import pytest

from transforms.privacy import luhn_valid, mask_quarantine, mask_text, mask_value


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("call 13812345678 now", "call 138****5678 now"),
        ("id 11010519491231002X", "id 110***********002X"),
        ("card 4111111111111111 paid", "card ************1111 paid"),
        ("card 4111 1111 1111 1111", "card ************1111"),
        ("mail zhang.san@qq.com", "mail z***@qq.com"),
        ("openid oZWa1234567890abcdefghij1a2B", "openid oZWa********************1a2B"),
        # not personal: a 28-digit WeChat id, a 16-digit number that fails Luhn, an amount
        ("4200000926202101281412639609", "4200000926202101281412639609"),
        ("order 1234567812345678", "order 1234567812345678"),
        ("amount 12.34", "amount 12.34"),
    ],
)
def test_mask_text(text: str, masked: str) -> None:
    assert mask_text(text) == masked


def test_luhn() -> None:
    assert luhn_valid("4111111111111111") and luhn_valid("79927398713")
    assert not luhn_valid("4111111111111112")


def test_a_personal_columns_value_keeps_its_last_four_characters() -> None:
    assert mask_value("对方账户", "*津水(602***@qq.com)") == "*" * 14 + "com)"  # 18 characters
    assert mask_value("应结订单金额", "¥13812345678") == "¥138****5678"
    assert mask_value("x", None) is None


def test_every_buyer_column_is_personal() -> None:
    """The statement columns ``ChannelTxn.buyer_id`` is read from: a quarantined value keeps its last 4."""
    for column in ("用户标识", "对方账户", "账号", "customer_id", "Consumer ID", "buyer_id"):
        assert mask_value(column, "6225881234567890") == "************7890", column


def test_quarantine_entries_are_masked_in_value_and_reason() -> None:
    frame = pl.DataFrame(
        {"source_file": ["f"], "source_line": [3], "column": ["备注"], "value": ["13812345678"],
         "reason_code": ["BAD_CHAR"], "reason": ["备注: '13812345678' holds a control character"]}
    )
    masked = mask_quarantine(frame).row(0, named=True)
    assert masked["value"] == "138****5678" and "13812345678" not in masked["reason"]
    assert (masked["source_file"], masked["source_line"], masked["column"]) == ("f", 3, "备注")
