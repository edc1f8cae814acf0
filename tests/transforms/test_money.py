"""Worked examples of transforms/money.py: text becomes integer minor units exactly, or a reason code.

The accepted / rejected tables follow BAD_INPUTS §2.4 and §3.2 (R05–R10); the fee examples follow
DESIGN §9 Fees. The property test checks the Polars fee expression of classify.py against the scalar
``contracted_fee_minor`` (STYLE point 14).
"""

from __future__ import annotations

from decimal import Decimal

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from transforms.classify import channel_rules_frame, contracted_fee_sql, currency_units_frame, money_text_sql
from transforms.money import (
    AmountError,
    contracted_fee_minor,
    format_money,
    parse_decimal_text,
    round_half_up,
)
from transforms.rules import ChannelRules, Rules

# text       | scale | exact | expected units    (units of 10**-scale)
ACCEPTED = [
    ("1234.5", 2, False, 123450),  # 1234.50 yuan = 123450 fen (one decimal padded to two)
    ("1234.50", 2, True, 123450),  # the same, written at the format's exact scale
    ("0.05940", 5, True, 5940),  # WeChat fee, 5 decimals: 0.05940 × 10**5 (R07: ACCEPT)
    ("-1.56000", 5, True, -156000),  # −1.56 × 10**5
    ("0", 2, False, 0),  # the ledger may write fewer decimals than the exponent
    ("7", 2, False, 700),  # 7 yuan = 700 fen
    ("0.01", 2, True, 1),  # one fen
    ("999999999999999.99", 2, True, 99999999999999999),  # 15 integer digits, the regex's maximum
]


@pytest.mark.parametrize(("text", "scale", "exact", "expected"), ACCEPTED)
def test_parse_decimal_text_accepts_plain_ascii_decimals(text: str, scale: int, exact: bool, expected: int) -> None:
    got = parse_decimal_text(text, scale=scale, exact_scale=exact)
    assert got == expected
    assert type(got) is int  # never a float, never a Decimal


# text          | why it is not a plain decimal (BAD_INPUTS §2.4: Decimal() would accept several of these)
BAD_AMOUNTS = [
    ("1,234.50", "thousands separator (R05)"),
    ("¥1,234.50", "currency sign (R06)"),
    ("1234.50元", "currency suffix (R06)"),
    ("１２３.４５", "full-width digits: Decimal reads 123.45"),
    ("٣.٥", "Arabic-Indic digits: Decimal reads 3.5"),
    ("1_000.00", "underscore separator: Decimal and int() accept it"),
    ("NaN", "not a number (R09)"),
    ("Infinity", "infinity (R09)"),
    ("1e3", "exponent"),
    (" 12.50", "leading space"),
    ("12.50\t", "trailing tab (Alipay pads with tabs; stripping is the adapter's job)"),
    ("", "empty (R09)"),
    ("-", "a lone minus (R09)"),
    ("−12.50", "U+2212 MINUS SIGN, not an ASCII hyphen"),
    ("(12.50)", "accounting negative"),
    ("+12.50", "explicit plus sign"),
    ("12.", "a point with no decimals"),
    (".50", "no integer part"),
    ("007.00", "leading zeros"),
    ("-007.00", "leading zeros, negative"),
    ("1234567890123456.00", "16 integer digits: over the 15-digit cap"),
]


@pytest.mark.parametrize(("text", "why"), BAD_AMOUNTS)
def test_parse_decimal_text_rejects_anything_else_as_bad_amount(text: str, why: str) -> None:
    with pytest.raises(AmountError) as info:
        parse_decimal_text(text, scale=2, exact_scale=False)
    assert info.value.reason_code == "BAD_AMOUNT", why


def test_parse_decimal_text_rejects_a_trailing_newline() -> None:
    with pytest.raises(AmountError) as info:
        parse_decimal_text("12.50\n", scale=2, exact_scale=False)
    assert info.value.reason_code == "BAD_AMOUNT"


def test_too_many_decimals_is_scale_exceeded_never_rounded() -> None:
    # R07: 12.345 in a scale-2 column; DuckDB would give 12.35 and Polars 12.34. We give neither.
    for exact in (True, False):
        with pytest.raises(AmountError) as info:
            parse_decimal_text("12.345", scale=2, exact_scale=exact)
        assert info.value.reason_code == "SCALE_EXCEEDED"
    # L13: a float leaked into the ledger export.
    with pytest.raises(AmountError) as info:
        parse_decimal_text("12.300000000000001", scale=2, exact_scale=False)
    assert info.value.reason_code == "SCALE_EXCEEDED"


def test_exact_scale_requires_exactly_scale_decimals() -> None:
    # WeChat and Alipay always write two decimals: '12.5' there means the format changed.
    for text in ("12.5", "12"):
        with pytest.raises(AmountError) as info:
            parse_decimal_text(text, scale=2, exact_scale=True)
        assert info.value.reason_code == "BAD_AMOUNT"
    # The ledger allows at most the exponent: '12.5' is 1250 fen there.
    assert parse_decimal_text("12.5", scale=2, exact_scale=False) == 1250


def test_minus_sign_in_an_unsigned_column_is_a_sign_violation() -> None:
    with pytest.raises(AmountError) as info:
        parse_decimal_text("-12.50", scale=2, exact_scale=True, allow_negative=False)
    assert info.value.reason_code == "SIGN_VIOLATION"
    # Without the sign the same column is fine.
    assert parse_decimal_text("12.50", scale=2, exact_scale=True, allow_negative=False) == 1250


def test_shape_is_checked_before_scale_and_sign() -> None:
    # A text that is not a decimal at all is BAD_AMOUNT even if it also has a sign or many decimals.
    with pytest.raises(AmountError) as info:
        parse_decimal_text("-1,234.567", scale=2, exact_scale=True, allow_negative=False)
    assert info.value.reason_code == "BAD_AMOUNT"


# units | from | to | expected    (half away from zero)
ROUNDING = [
    (4500, 5, 2, 5),  # 0.04500 → 0.05 (the DESIGN §9 fee of 7.50 at 0.60 %)
    (-4500, 5, 2, -5),  # −0.04500 → −0.05: away from zero, not towards +∞
    (4499, 5, 2, 4),  # 0.04499 → 0.04
    (-4499, 5, 2, -4),
    (5940, 5, 2, 6),  # 0.05940 → 0.06 (WeChat fee_exact to fee_minor)
    (-5940, 5, 2, -6),
    (0, 5, 2, 0),
    (499, 3, 0, 0),  # 0.499 → 0
    (500, 3, 0, 1),  # 0.500 → 1
    (-500, 3, 0, -1),
    (1250, 2, 5, 1250000),  # widening multiplies: 12.50 → 12.50000
    (1250, 2, 2, 1250),
]


@pytest.mark.parametrize(("units", "from_scale", "to_scale", "expected"), ROUNDING)
def test_round_half_up(units: int, from_scale: int, to_scale: int, expected: int) -> None:
    got = round_half_up(units, from_scale, to_scale)
    assert got == expected
    assert type(got) is int


# amount | bps  | rounding | expected   (signed towards the merchant: a payment pays, a refund gets back)
FEES = [
    (750, "60", "half_up", -5),  # 750 × 60 / 10000 = 4.5 fen → 5 (DESIGN §9: 7.50 × 0.60 % = 0.045 → 0.05)
    (-750, "60", "half_up", 5),  # the refund of it returns 0.05
    (10000, "60", "half_up", -60),  # 100.00 × 0.60 % = 0.60 exactly
    (749, "60", "half_up", -4),  # 4.494 → 4
    (10000, "38.5", "half_up", -39),  # 10000 × 38.5 / 10000 = 38.5 → 39
    (-10000, "38.5", "half_up", 39),
    (10000, "38.4", "half_up", -38),  # 38.4 → 38
    (750, "60", "down", -4),  # 4.5 truncated → 4
    (-750, "60", "down", 4),
    (750, "60", "up", -5),  # 4.5 → 5
    (10000, "60", "up", -60),  # exact: no extra fen
    (101, "60", "up", -1),  # 0.606 → 1
    (-101, "60", "up", 1),
    (0, "60", "half_up", 0),  # nothing, no fee
    (750, "0", "half_up", 0),
]


@pytest.mark.parametrize(("amount", "bps", "rounding", "expected"), FEES)
def test_contracted_fee_minor(amount: int, bps: str, rounding: str, expected: int) -> None:
    got = contracted_fee_minor(amount, Decimal(bps), rounding)
    assert got == expected
    assert type(got) is int


def test_contracted_fee_minor_default_is_half_up_and_unknown_rounding_is_refused() -> None:
    assert contracted_fee_minor(750, Decimal(60)) == -5
    with pytest.raises(ValueError, match="bankers"):
        contracted_fee_minor(750, Decimal(60), "bankers")


@settings(max_examples=80, deadline=None)
@given(
    amounts=st.lists(st.integers(min_value=-(10**12), max_value=10**12), min_size=1, max_size=20),
    tenths_of_bps=st.integers(min_value=0, max_value=5000),  # 0.0 … 500.0 bps, one decimal
    rounding=st.sampled_from(["half_up", "down", "up"]),
    fixed=st.integers(min_value=0, max_value=500),
    least=st.integers(min_value=0, max_value=300),
    most=st.one_of(st.none(), st.integers(min_value=300, max_value=5000)),
    refund_fee=st.sampled_from(["proportional", "full", "none"]),
)
def test_fee_expression_agrees_with_the_scalar_reference(
    amounts: list[int], tenths_of_bps: int, rounding: str, fixed: int, least: int, most: int | None, refund_fee: str
) -> None:
    import duckdb

    from transforms.classify import fee_terms_frame, fee_terms_join_sql

    bps = Decimal(tenths_of_bps) / 10  # e.g. 385 → Decimal('38.5')
    rules = Rules(channels={"wechatpay": ChannelRules(
        fee_bps=bps, fee_rounding=rounding, fee_fixed_minor=fixed, fee_min_minor=least, fee_max_minor=most,
        refund_fee=refund_fee)})  # fmt: skip
    frame = pl.DataFrame(
        {"channel": ["wechatpay"] * len(amounts), "currency": ["CNY"] * len(amounts), "amount_minor": amounts,
         "kind": ["payment" if a > 0 else "refund" for a in amounts]},
        schema={"channel": pl.String, "currency": pl.String, "amount_minor": pl.Int64, "kind": pl.String},
    ).with_row_index("n")
    with duckdb.connect() as con:
        con.register("rows", frame)
        con.register("channel_rules", channel_rules_frame(rules))
        con.register("fee_terms", fee_terms_frame(rules))
        got = con.sql(
            f"select {contracted_fee_sql('x.amount_minor', 'x.kind')} as fee from rows x "  # noqa: S608
            f"left join channel_rules r using (channel) {fee_terms_join_sql('x')} order by n"
        ).pl()["fee"]
    assert got.dtype == pl.Int64
    assert got.to_list() == [
        contracted_fee_minor(a, bps, rounding, fixed_minor=fixed, min_minor=least, max_minor=most, refund_fee=refund_fee)
        for a in amounts
    ]


def test_fee_terms_of_another_transaction_currency_apply_to_its_rows() -> None:
    import duckdb

    from transforms.classify import fee_terms_frame, fee_terms_join_sql
    from transforms.rules import parse_rules

    rules = parse_rules(
        '[channels.stripe]\nfee_bps = "290"\nfee_fixed_minor = 30\nrefund_fee = "none"\n'
        '[channels.stripe.fee_by_currency.EUR]\nfee_bps = "540"\nfee_fixed_minor = 30\n'
    )
    # The shared Stripe sample: USD 64.00 pays 2.16; EUR-presented, USD 91.06 settled, pays 5.22; a refund gets nothing.
    frame = pl.DataFrame({"channel": ["stripe"] * 3, "currency": ["USD", "EUR", "USD"], "amount_minor": [6400, 9106, -8500],
                          "kind": ["payment", "payment", "refund"]}).with_row_index("n")  # fmt: skip
    with duckdb.connect() as con:
        con.register("rows", frame)
        con.register("channel_rules", channel_rules_frame(rules))
        con.register("fee_terms", fee_terms_frame(rules))
        got = con.sql(
            f"select {contracted_fee_sql('x.amount_minor', 'x.kind')} as fee from rows x "  # noqa: S608
            f"left join channel_rules r using (channel) {fee_terms_join_sql('x')} order by n"
        ).pl()["fee"]
    assert got.to_list() == [-216, -522, 0]


def test_a_capped_debit_card_rate_and_a_minimum() -> None:
    # UnionPay-like: 0.5 % capped at ¥20.00; a ¥0.10 minimum.
    assert contracted_fee_minor(1_000_000, Decimal(50), max_minor=2000) == -2000
    assert contracted_fee_minor(100_000, Decimal(50), max_minor=2000) == -500
    assert contracted_fee_minor(500, Decimal(50), min_minor=10) == -10
    assert contracted_fee_minor(-1_000_000, Decimal(50), max_minor=2000) == 2000  # the refund's rate part, capped
    # PayPal: the percentage part comes back, the fixed part is kept.
    assert contracted_fee_minor(-3000, Decimal(299), fixed_minor=49) == 90
    assert contracted_fee_minor(-3000, Decimal(299), fixed_minor=49, refund_fee="full") == 139
    assert contracted_fee_minor(-3000, Decimal(299), fixed_minor=49, refund_fee="none") == 0


@settings(max_examples=40, deadline=None)
@given(amounts=st.lists(st.integers(min_value=-(10**15), max_value=10**15), min_size=1, max_size=10),
       currency=st.sampled_from(["CNY", "JPY", "KWD", "USD", "XXX"]))
def test_money_words_are_the_same_in_polars_and_in_sql(amounts: list[int], currency: str) -> None:
    import duckdb

    from transforms.money import money_text_expr

    frame = pl.DataFrame({"a": amounts, "c": [currency] * len(amounts)}).with_row_index("n")
    polars_words = frame.select(t=money_text_expr(pl.col("a"), pl.col("c")))["t"].to_list()
    with duckdb.connect() as con:
        con.register("rows", frame)
        con.register("currency_units", currency_units_frame())
        sql_words = con.sql(
            f"select {money_text_sql('a', 'c', 'u.exponent', 'u.unit')} as t from rows "  # noqa: S608
            "left join currency_units u on u.currency = c order by n"
        ).pl()["t"].to_list()
    assert sql_words == polars_words


def test_money_text_is_exact_major_units_with_the_currency() -> None:
    import polars as pl

    from transforms.money import money_text_expr

    frame = pl.DataFrame({"a": [-225, 1500, 5, -1, 0, 123456789], "c": ["CNY", "JPY", "CNY", "KWD", "USD", "CNY"]})
    text = frame.select(money_text_expr(pl.col("a"), pl.col("c")).alias("t"))["t"].to_list()
    assert text == ["-2.25 CNY", "1500 JPY", "0.05 CNY", "-0.001 KWD", "0.00 USD", "1234567.89 CNY"]


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        (1047103, "CNY", "¥10,471.03"),
        (15600, "CNY", "¥156.00"),
        (-300, "CNY", "-¥3.00"),
        (5, "CNY", "¥0.05"),
        (0, "CNY", "¥0.00"),
        (15600, "USD", "US$156.00"),
        (1500, "JPY", "JPY 1,500"),
        (-1234, "KWD", "-KWD 1.234"),
        (123456789012345, "CNY", "¥1,234,567,890,123.45"),
        (42, None, "42 minor units (no currency)"),
        (42, "XXX", "42 minor units (XXX)"),
    ],
)
def test_format_money_is_what_a_person_reads(amount: int, currency: str | None, expected: str) -> None:
    assert format_money(amount, currency) == expected
