"""Worked examples of transforms/rules.py: the packaged default, collected problems, the digest."""

from __future__ import annotations

import importlib.resources
from dataclasses import replace
from decimal import Decimal

import pytest

from transforms.rules import ChannelRules, Rules, RulesError, parse_rules


def default_text() -> str:
    return importlib.resources.files("flows").joinpath("recon.default.toml").read_text(encoding="utf-8")


def test_packaged_default_parses_to_the_documented_rules() -> None:
    rules = parse_rules(default_text())
    assert rules.timezone == "Asia/Shanghai"
    assert rules.cutoff_minutes == 30
    assert rules.expected == ("wechatpay", "alipay", "unionpay", "stripe", "paypal", "bank")
    assert set(rules.channels) == {"wechatpay", "alipay", "unionpay", "stripe", "paypal"}
    stripe = rules.for_channel("stripe")
    assert (stripe.fee_bps, stripe.fee_fixed_minor, stripe.refund_fee) == (Decimal(290), 30, "none")
    assert stripe.fee_by_currency["EUR"].bps == Decimal(540) and stripe.fee_by_currency["EUR"].fixed_minor == 30
    assert rules.for_channel("paypal").payout_basis == "withdrawals"
    assert rules.for_channel("unionpay").fee_max_minor == 2000
    for name in ("wechatpay", "alipay"):
        channel = rules.for_channel(name)
        assert channel.fee_bps == Decimal(60)  # 60 bps = 0.60 %
        assert isinstance(channel.fee_bps, Decimal)
        assert channel.fee_rounding == "half_up"
        assert channel.amount_tolerance_minor == 0
    assert rules.for_channel("wechatpay").payout_reference is not None
    assert "(?P<date>" in rules.for_channel("alipay").payout_reference  # type: ignore[operator]


def test_empty_config_is_the_defaults() -> None:
    assert parse_rules("") == Rules()


def test_decimal_and_integer_rates_are_exact() -> None:
    rules = parse_rules('[channels.wechatpay]\nfee_bps = "38.5"\n[channels.alipay]\nfee_bps = 55\n')
    assert rules.for_channel("wechatpay").fee_bps == Decimal("38.5")
    assert rules.for_channel("alipay").fee_bps == Decimal(55)


# Seven problems in one file; every one of them must be reported together (STYLE point 5).
BAD_CONFIG = r"""
timezone = "Mars/Olympus_Mons"        # 1. not an IANA zone
colour = "blue"                        # 2. unknown top-level key

[channels.wechatpay]
fee_bps = 0.6                          # 3. a float rate (0.6 bps? 0.6 %?)
payout_reference = 'WECHAT (\d{8}'     # 4. bad regex: unbalanced parenthesis
amount_tolerance_minor = -1            # 5. negative tolerance

[channels.alipay]
payout_reference = 'ALIPAY (\d{8})'    # 6. no (?P<date>...) group

[channels.venmo]                       # 7. unknown channel
fee_bps = "60"
"""


def test_a_config_with_several_problems_lists_them_all() -> None:
    with pytest.raises(RulesError) as info:
        parse_rules(BAD_CONFIG)
    problems = info.value.problems
    expected_fragments = [
        "timezone 'Mars/Olympus_Mons' is not an IANA time zone",
        "unknown key 'colour'",
        "channels.wechatpay.fee_bps: write the number as a string or integer, not 0.6",
        "channels.wechatpay.payout_reference: bad regex",
        "channels.wechatpay.amount_tolerance_minor: must be a non-negative integer",
        "channels.alipay.payout_reference: needs a (?P<date>...) or a (?P<ref>...) group",
        "channels.venmo: unknown channel",
    ]
    assert len(problems) == len(expected_fragments)  # one problem each, nothing extra
    for fragment in expected_fragments:
        assert any(fragment in problem for problem in problems), fragment
    # The message joins them all, for the console.
    assert all(problem in str(info.value) for problem in problems)


# toml                                          | expected problem contains
SINGLE_PROBLEMS = [
    ('expected = ["wechatpay", "fax"]', "expected must list channels"),
    ('expected = "bank"', "expected must list channels"),
    ("cutoff_minutes = 1441", "cutoff_minutes must be an integer 0..1440"),
    ("cutoff_minutes = true", "cutoff_minutes must be an integer"),
    ('[channels.alipay]\nfee_bps = "-1"', "is not a non-negative number"),
    ('[channels.alipay]\nfee_bps = "NaN"', "is not a non-negative number"),
    ('[channels.alipay]\nfee_bps = "sixty"', "is not a non-negative number"),
    ('[channels.alipay]\nfee_rounding = "bankers"', "fee_rounding: 'bankers' is not one of"),
    ('[channels.alipay]\nfee = "60"', "channels.alipay: unknown key 'fee'"),
    ("timezone = ", "not valid TOML"),
    ('[channels.alipay]\namount_tolerance_pct = 0.5', "write the number as a string or integer, not 0.5"),
    ('[channels.alipay]\namount_tolerance_pct = "101"', "a percentage (0-100)"),
    ('[channels.alipay]\namount_tolerance_cap_minor = -1', "amount_tolerance_cap_minor: must be a non-negative"),
    ('[match]\ncascade = ["order_no", "by_hunch"]', "match.cascade must list steps among"),
    ("[match]\ncascade = []", "match.cascade must list steps among"),
    ('[match]\ncascade = ["order_no", "order_no"]', "match.cascade names a step twice"),
    ("[match]\nwindow_minutes = 0", "match.window_minutes must be a positive integer"),
    ("[match]\nwindow_minutes = 1441", "match.window_minutes must be at most a day"),
    ("[match]\nwindow = 5", "match: unknown key 'window'"),
]


def test_the_cascade_and_tolerances_are_read_from_recon_toml() -> None:
    rules = parse_rules(
        '[match]\ncascade = ["order_no", "channel_txn_id"]\nwindow_minutes = 3\n'
        '[channels.alipay]\namount_tolerance_pct = "0.5"\namount_tolerance_cap_minor = 200\n'
    )
    assert rules.match.cascade == ("order_no", "channel_txn_id")
    assert rules.match.window_minutes == 3
    alipay = rules.for_channel("alipay")
    assert alipay.amount_tolerance_pct == Decimal("0.5") and alipay.amount_tolerance_cap_minor == 200
    assert not alipay.exact_amounts and rules.for_channel("wechatpay").exact_amounts
    assert parse_rules("").match.cascade == ("channel_txn_id", "order_no", "amount_time", "order_group")
    assert rules.digest() != parse_rules("").digest()


@pytest.mark.parametrize(("toml", "fragment"), SINGLE_PROBLEMS)
def test_single_problems(toml: str, fragment: str) -> None:
    with pytest.raises(RulesError) as info:
        parse_rules(toml)
    assert len(info.value.problems) == 1
    assert fragment in info.value.problems[0]


def test_a_timezone_that_names_a_tz_directory_is_a_rules_error() -> None:
    with pytest.raises(RulesError):
        parse_rules('timezone = "Asia"')


@pytest.mark.parametrize("toml", ['channels = "x"', "[channels]\nwechatpay = 5"])
def test_channels_that_are_not_tables_are_a_rules_error(toml: str) -> None:
    with pytest.raises(RulesError):
        parse_rules(toml)


def test_digest_is_stable_and_changes_with_a_rate() -> None:
    first = parse_rules(default_text())
    again = parse_rules(default_text())
    assert first.digest() == again.digest()  # same content, same hash (it goes into manifest.json)
    assert len(first.digest()) == 64  # sha256 hex
    # Dict order does not matter: the same channels given in the other order hash the same.
    reordered = Rules(channels=dict(reversed(list(first.channels.items()))))
    assert reordered.digest() == Rules(channels=first.channels).digest()

    cheaper = replace(first, channels={**first.channels, "alipay": replace(first.channels["alipay"], fee_bps=Decimal(55))})
    assert cheaper.digest() != first.digest()
    rounded_down = replace(
        first, channels={**first.channels, "alipay": replace(first.channels["alipay"], fee_rounding="down")}
    )
    assert rounded_down.digest() != first.digest()


def test_for_channel_of_an_unconfigured_channel_gives_defaults() -> None:
    rules = parse_rules("")
    assert rules.for_channel("unionpay") == ChannelRules(fee_bps=None)  # no contract: the fee is not checked
    assert not rules.for_channel("unionpay").fee_checked
    assert rules.for_channel("wechatpay").fee_checked
    assert ChannelRules() == ChannelRules(
        fee_bps=Decimal(60), fee_rounding="half_up", amount_tolerance_minor=0, payout_reference=None
    )
