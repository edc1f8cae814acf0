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
