"""Settlement worked examples: net = gross + refunds + fees; payouts recognised by reference only."""

from __future__ import annotations

from datetime import date

import polars as pl

from schemas.outputs import SettlementLine
from tests.helpers import D, bank_frame, channel_frame
from transforms.rules import ChannelRules, Rules
from transforms.settle import reconcile_payouts, settle_channel_day

RULES = Rules(
    channels={
        "wechatpay": ChannelRules(payout_reference=r"WECHAT PAY SETTLEMENT (?P<account>\d+) (?P<date>\d{8})"),
        "alipay": ChannelRules(payout_reference=r"ALIPAY WITHDRAWAL (?P<account>\d+) (?P<date>\d{8})"),
    }
)


def test_net_is_gross_plus_refunds_plus_fees():
    channel = channel_frame(
        """
        channel_txn_id|kind   |amount_minor|fee_minor|status
        W1            |payment|10000       |-60      |succeeded
        W2            |payment|20000       |-120     |succeeded
        R1            |refund |-5000       |30       |processing
        W3            |payment|99900       |-599     |revoked
        """
    )
    lines = settle_channel_day(channel, D)
    SettlementLine.validate(lines, lazy=True)
    line = lines.row(0, named=True)
    # gross 100.00 + 200.00; refunds −50.00; fees −0.60 −1.20 +0.30; the revoked payment is not settled.
    assert (line["gross_minor"], line["refunds_minor"], line["fees_minor"]) == (30000, -5000, -150)
    assert line["net_minor"] == 30000 - 5000 - 150
    assert line["payout_status"] == "in_transit"


def test_payouts_matched_mismatched_in_transit_and_unexplained():
    history = settle_channel_day(
        channel_frame("channel_txn_id|amount_minor|fee_minor\nW1|10000|-60"), date(2026, 3, 1)
    )
    bank = bank_frame(
        """
        amount_minor|reference                                       |expected
        9940        |WECHAT PAY SETTLEMENT 1734502688 20260301       |matched
        9000        |WECHAT PAY SETTLEMENT 1734502688 20260301       |amount_mismatch
        358067      |ALIPAY WITHDRAWAL 20886413579246800156 20260301 |in_transit
        9940        |SUPPLIER REFUND 20260301                        |unexplained
        -9940       |WECHAT PAY SETTLEMENT 1734502688 20260301       |unexplained
        """
    )
    outcomes, lines = reconcile_payouts(bank.drop("expected"), history, RULES, D)
    assert outcomes["outcome"].to_list() == bank["expected"].to_list()
    assert lines["payout_diff_minor"].to_list() == [0, 9000 - 9940, None]
    assert lines["payout_status"].to_list() == ["matched", "amount_mismatch", "in_transit"]


def test_a_later_date_in_history_is_never_used():
    history = settle_channel_day(channel_frame("channel_txn_id|amount_minor|fee_minor\nW1|10000|-60"), D)
    bank = bank_frame("amount_minor|reference\n9940|WECHAT PAY SETTLEMENT 1734502688 20260302")
    outcomes, _ = reconcile_payouts(bank, history, RULES, D)
    assert outcomes["outcome"].to_list() == ["in_transit"]
    assert isinstance(outcomes, pl.DataFrame)


def test_a_payout_due_today_that_no_credit_pays_is_missing():
    # D-1's WeChat settlement (net 99.40) is due T+1 on D's statement; the statement has no such credit.
    history = settle_channel_day(channel_frame("channel_txn_id|amount_minor|fee_minor\nW1|10000|-60"), date(2026, 3, 1))
    bank = bank_frame("amount_minor|reference\n-5000|SUPPLIER PAYMENT")
    _, lines = reconcile_payouts(bank, history, RULES, D)
    assert lines.select("settlement_date", "channel", "payout_expected_minor", "payout_status").rows() == [
        (date(2026, 3, 1), "wechatpay", 9940, "missing")
    ]
    # Without D's bank statement nothing can be declared missing.
    _, lines = reconcile_payouts(bank, history, RULES, D, bank_available=False)
    assert lines.is_empty()


def test_a_channel_paid_by_its_withdrawals_and_a_reference_without_a_date():
    """PayPal-like: the day's net stays in the balance but for what the statement withdraws; Stripe-like:
    the payout reference has no date, so it pays its booking date less the lag."""
    rules = Rules(channels={
        "paypal": ChannelRules(payout_basis="withdrawals", payout_reference=r"PAYPAL TRANSFER (?P<ref>\w+)"),
        "stripe": ChannelRules(payout_reference=r"STRIPE PAYOUT (?P<ref>po[_-]\w+)"),
    })  # fmt: skip
    paypal = channel_frame(
        """
        channel_txn_id|kind      |amount_minor|fee_minor|currency
        P1            |payment   |173305      |-5543    |USD
        P2            |payment   |7600        |-380     |EUR
        C1            |conversion|-7220       |0        |EUR
        C2            |conversion|7590        |0        |USD
        W1            |payout    |-100000     |0        |USD
        """,
        channel="paypal",
    )
    stripe = channel_frame(
        """
        channel_txn_id|kind      |amount_minor|fee_minor|currency|settle_amount_minor|settle_currency
        S1            |payment   |8400        |-522     |EUR     |9106               |USD
        S2            |adjustment|-2000       |-1500    |USD     |                   |
        S3            |fee       |-84         |0        |USD     |                   |
        """,
        channel="stripe",
    )
    lines = settle_channel_day(pl.concat([paypal, stripe]), date(2026, 3, 2), rules)
    SettlementLine.validate(lines, lazy=True)
    got = {(r["channel"], r["currency"]): r for r in lines.iter_rows(named=True)}
    assert got["paypal", "EUR"]["net_minor"] == 0 and got["paypal", "EUR"]["payout_expected_minor"] == 0
    usd = got["paypal", "USD"]
    assert (usd["other_minor"], usd["withdrawn_minor"], usd["payout_expected_minor"]) == (7590, -100000, 100000)
    assert usd["net_minor"] == 173305 - 5543 + 7590
    stripe_usd = got["stripe", "USD"]  # the EUR charge counts at its settled USD amount
    assert (stripe_usd["gross_minor"], stripe_usd["other_minor"], stripe_usd["fees_minor"]) == (9106, -2084, -2022)
    assert stripe_usd["payout_expected_minor"] == stripe_usd["net_minor"] == 9106 - 2084 - 2022
    bank = bank_frame(
        """
        amount_minor|reference                             |expected
        100000      |PAYPAL TRANSFER BNK20260302X          |matched
        4999        |STRIPE PAYOUT po-1SmplPayout          |amount_mismatch
        """,
        currency="USD",
    )  # booked 2026-03-03: both pay 2026-03-02 (T+1)
    outcomes, paid = reconcile_payouts(bank.drop("expected"), lines, rules, date(2026, 3, 3))
    assert outcomes["outcome"].to_list() == bank["expected"].to_list()
    assert paid.select("channel", "settlement_date", "payout_diff_minor").rows() == [
        ("paypal", date(2026, 3, 2), 0), ("stripe", date(2026, 3, 2), 4999 - (9106 - 2084 - 2022))]
