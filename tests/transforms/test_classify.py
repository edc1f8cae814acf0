"""Worked examples of DESIGN §4/§9: one table per rule, the expected outcome in its own column."""

from __future__ import annotations

from decimal import Decimal

import polars as pl

from tests.helpers import D, channel_frame, ledger_frame
from transforms.classify import classify_outcomes
from transforms.rules import ChannelRules, MatchRules, Rules

RULES = Rules()


def outcomes(channel: pl.DataFrame, ledger: pl.DataFrame, unavailable: dict[str, str] | None = None) -> dict:
    out = classify_outcomes(channel, ledger, business_date=D, rules=RULES, unavailable=unavailable or {})
    return {
        (row["source"], row["source_line"]): row["outcome"]
        for row in out.select("source", "source_line", "outcome").iter_rows(named=True)
    }


def test_cascade_and_precedence():
    # fee at 60 bps half-up: 10000 fen → 60 fen; 750 → 4.5 → 5 (DESIGN §9: 7.50 × 0.60 % = 0.05).
    channel = channel_frame(
        """
        source_line|channel_txn_id|order_no|kind  |amount_minor|fee_minor|currency|status    |expected
        2          |W1            |O1      |payment|10000      |-60      |CNY     |succeeded |matched
        3          |W2            |O2      |payment|10000      |-60      |CNY     |succeeded |matched_fallback
        4          |W3            |O3      |payment|10000      |-60      |CNY     |succeeded |amount_mismatch
        5          |W4            |O4      |payment|10000      |-60      |CNY     |succeeded |currency_mismatch
        6          |W5            |O5      |payment|10000      |-60      |CNY     |succeeded |status_mismatch
        7          |W6            |O6      |payment|750        |-4       |CNY     |succeeded |fee_mismatch
        8          |W7            |O7      |payment|10000      |-60      |CNY     |succeeded |missing_in_ledger
        9          |R1            |O1      |refund |-750       |5        |CNY     |processing|matched
        10         |W8            |O8      |payment|10000      |-50      |USD     |succeeded |currency_mismatch
        """
    )
    ledger = ledger_frame(
        """
        source_line|channel_txn_id|order_no|kind   |amount_minor|currency|status   |booked|expected
        2          |W1            |O1      |payment|10000       |CNY     |succeeded|10:00 |matched
        3          |              |O2      |payment|10000       |CNY     |succeeded|10:00 |matched_fallback
        4          |W3            |O3      |payment|10001       |CNY     |succeeded|10:00 |amount_mismatch
        5          |W4            |O4      |payment|10000       |USD     |succeeded|10:00 |currency_mismatch
        6          |W5            |O5      |payment|10000       |CNY     |failed   |10:00 |status_mismatch
        7          |W6            |O6      |payment|750         |CNY     |succeeded|10:00 |fee_mismatch
        8          |W9            |O9      |payment|10000       |CNY     |succeeded|10:00 |missing_in_channel
        9          |W10           |O10     |payment|10000       |CNY     |succeeded|23:30 |in_transit
        10         |W11           |O11     |payment|10000       |CNY     |failed   |23:50 |void
        11         |R1            |O1      |refund |-750        |CNY     |succeeded|12:00 |matched
        12         |W8            |O8      |payment|10001       |CNY     |succeeded|10:00 |currency_mismatch
        13         |W12           |O12     |payment|10000       |CNY     |succeeded|23:29 |missing_in_channel
        """
    )
    got = outcomes(channel.drop("expected"), ledger.drop("expected"))
    expected = {("channel", r["source_line"]): r["expected"] for r in channel.iter_rows(named=True)}
    expected |= {("ledger", r["source_line"]): r["expected"] for r in ledger.iter_rows(named=True)}
    assert got == expected


def test_duplicates_take_every_copy_and_the_counterpart():
    channel = channel_frame(
        """
        source_line|channel_txn_id|order_no|amount_minor|fee_minor
        2          |W1            |O1      |10000       |-60
        3          |W1            |O1      |10000       |-60
        4          |W2            |O2      |10000       |-60
        """
    )
    ledger = ledger_frame(
        """
        source_line|entry_id|channel_txn_id|order_no|amount_minor
        2          |E1      |W1            |O1      |10000
        3          |E2      |W2            |O2      |10000
        4          |E2      |W2            |O2      |10000
        5          |E3      |              |O3      |10000
        6          |E4      |              |O3      |10000
        """
    )
    got = outcomes(channel, ledger)
    assert got == {
        ("channel", 2): "duplicate", ("channel", 3): "duplicate", ("ledger", 2): "duplicate",
        ("channel", 4): "duplicate", ("ledger", 3): "duplicate", ("ledger", 4): "duplicate",
        # two ledger rows without a channel id are not duplicates of each other (DESIGN §9 Keys).
        ("ledger", 5): "missing_in_channel", ("ledger", 6): "missing_in_channel",
    }


def test_partial_refunds_match_their_own_refund_ids_and_fallback_needs_a_unique_candidate():
    channel = channel_frame(
        """
        source_line|channel_txn_id|order_no|kind   |amount_minor|fee_minor
        2          |R1            |O1      |refund |-1000       |6
        3          |R2            |O1      |refund |-2000       |12
        4          |W5            |O5      |payment|10000       |-60
        5          |W6            |O5      |payment|10000       |-60
        """
    )
    ledger = ledger_frame(
        """
        source_line|channel_txn_id|order_no|kind  |amount_minor
        2          |R2            |O1      |refund|-2000
        3          |R1            |O1      |refund|-1000
        4          |              |O5      |payment|10000
        """
    )
    got = outcomes(channel, ledger)
    assert got == {
        ("channel", 2): "matched", ("channel", 3): "matched", ("ledger", 2): "matched", ("ledger", 3): "matched",
        # two channel payments carry order O5: no unique candidate, so no fallback match.
        ("channel", 4): "missing_in_ledger", ("channel", 5): "missing_in_ledger", ("ledger", 4): "missing_in_channel",
    }


def test_statement_missing_carries_ledger_rows_forward():
    ledger = ledger_frame(
        """
        source_line|channel_txn_id|channel|amount_minor|status
        2          |A1            |alipay |10000       |succeeded
        3          |A2            |alipay |10000       |failed
        """
    )
    channel = channel_frame("source_line|channel_txn_id\n2|W1").filter(pl.lit(False))
    got = outcomes(channel, ledger, {"alipay": "statement missing"})
    assert got == {("ledger", 2): "in_transit", ("ledger", 3): "in_transit"}


def test_an_unmatched_row_names_its_nearest_candidate_and_the_fields_that_differ():
    channel = channel_frame(
        """
        source_line|channel_txn_id|order_no|kind   |amount_minor|fee_minor|currency|status
        3          |W8            |O8      |payment|12990       |-78      |CNY     |succeeded
        4          |W4            |O4      |payment|70000       |-420     |CNY     |succeeded
        """
    )
    ledger = ledger_frame(
        """
        source_line|channel_txn_id|order_no|kind   |amount_minor|currency|status   |booked
        2          |W9            |O9      |payment|19290       |CNY     |succeeded|10:00
        3          |              |O5      |payment|60000       |CNY     |succeeded|23:50
        4          |W3            |O3      |refund |-12990      |CNY     |succeeded|10:00
        """
    )
    out = classify_outcomes(channel, ledger, business_date=D, rules=RULES, unavailable={})
    detail = {(r["source"], r["source_line"]): r["detail"] for r in out.iter_rows(named=True)}
    # nearest in amount, of the same kind (the refund of the same size is no candidate)
    assert detail[("channel", 3)] == (
        "no ledger entry for this channel row; nearest candidate: the ledger entry LE2 (ledger/ledger.csv:2): "
        "amount 129.90 CNY vs 192.90 CNY; order_no O8 vs O9; channel_txn_id W8 vs W9; "
        "channel 2026-03-02 10:00:00, ledger 2026-03-02 10:00:00"
    )
    assert detail[("ledger", 3)].startswith(
        "booked in the last 30 minutes of the day: carried forward; nearest candidate: the channel row W4 "
        "(wechatpay/bill.csv:4): amount 600.00 CNY vs 700.00 CNY; order_no O5 vs O4; channel_txn_id (none) vs W4; "
        "ledger 2026-03-02 23:50:00, channel 2026-03-02"
    )
    assert detail[("ledger", 4)] == "no channel row for this ledger entry"  # nothing of its kind to compare with


def test_amount_and_time_match_a_unique_candidate_and_name_an_ambiguous_set():
    # The ledger rows carry neither the channel id nor the order number (a manual booking).
    channel = channel_frame(
        """
        source_line|channel_txn_id|order_no|amount_minor|fee_minor
        2          |W1            |O1      |12990       |-78
        3          |W2            |O2      |5000        |-30
        4          |W3            |O3      |5000        |-30
        """
    )
    ledger = ledger_frame(
        """
        source_line|amount_minor|booked
        2          |12990       |10:05
        3          |5000        |10:02
        """
    )
    out = classify_outcomes(channel, ledger, business_date=D, rules=RULES, unavailable={})
    by_row = {(r["source"], r["source_line"]): r for r in out.iter_rows(named=True)}
    assert by_row[("channel", 2)]["outcome"] == "matched_fallback"
    assert by_row[("channel", 2)]["match_rule"] == "amount_time"
    assert by_row[("ledger", 2)]["counterpart_line"] == 2
    # Two channel rows of 50.00 at 10:00 fit the one ledger row of 50.00 at 10:02: none is picked.
    assert {by_row[("channel", 3)]["outcome"], by_row[("channel", 4)]["outcome"]} == {"missing_in_ledger"}
    assert by_row[("ledger", 3)]["outcome"] == "missing_in_channel"
    assert by_row[("ledger", 3)]["detail"].endswith(
        "ambiguous: 2 candidates of the same amount within the time window, none picked"
    )
    assert by_row[("channel", 3)]["detail"].endswith(
        "ambiguous: its one candidate of the same amount within the time window fits 1 other row(s) too, none picked"
    )
    # Without the step in the cascade, nothing is paired by amount and time, and nothing is called ambiguous.
    keys_only = Rules(match=MatchRules(cascade=("channel_txn_id", "order_no")))
    out = classify_outcomes(channel, ledger, business_date=D, rules=keys_only, unavailable={})
    assert set(out["outcome"]) == {"missing_in_ledger", "missing_in_channel"}
    assert not out["detail"].str.contains("ambiguous").any()


def test_tolerances_absolute_percent_and_percent_with_a_cap():
    # ledger 100.00 against the channel's 100.40 / 100.60: 0.5 % of 100.00 is 0.50.
    channel = channel_frame(
        """
        source_line|channel_txn_id|order_no|amount_minor|fee_minor
        2          |W1            |O1      |10040       |-60
        3          |W2            |O2      |10060       |-60
        """
    )
    ledger = ledger_frame(
        """
        source_line|channel_txn_id|order_no|amount_minor
        2          |W1            |O1      |10000
        3          |W2            |O2      |10000
        """
    )

    def judged(**tolerance: object) -> tuple[str, str]:
        rules = Rules(channels={"wechatpay": ChannelRules(**tolerance)})  # type: ignore[arg-type]
        out = classify_outcomes(channel, ledger, business_date=D, rules=rules, unavailable={})
        mine = out.filter(pl.col("source") == "channel").sort("source_line")
        return tuple(mine["outcome"])  # type: ignore[return-value]

    assert judged() == ("amount_mismatch", "amount_mismatch")  # exact by default
    assert judged(amount_tolerance_minor=40) == ("matched", "amount_mismatch")
    assert judged(amount_tolerance_pct=Decimal("0.5")) == ("matched", "amount_mismatch")
    assert judged(amount_tolerance_pct=Decimal("0.5"), amount_tolerance_cap_minor=30) == (
        "amount_mismatch", "amount_mismatch")  # fmt: skip
    # the larger of the two tolerances applies
    assert judged(amount_tolerance_pct=Decimal("0.5"), amount_tolerance_cap_minor=30, amount_tolerance_minor=60) == (
        "matched", "matched")  # fmt: skip


def test_a_group_gets_one_outcome_per_row_judged_on_its_totals():
    # Two partial refunds of O1 booked as one ledger refund; O3 paid once, booked in two parts; O2's
    # two payments (6.00 + 4.00) booked as one entry of 10.00 with a fee charged wrongly on one of them.
    channel = channel_frame(
        """
        source_line|channel_txn_id|order_no|kind   |amount_minor|fee_minor
        2          |R1            |O1      |refund |-3000       |18
        3          |R2            |O1      |refund |-2000       |12
        4          |W3            |O3      |payment|10000       |-60
        5          |W4            |O2      |payment|600         |-4
        6          |W5            |O2      |payment|400         |-9
        """
    )
    ledger = ledger_frame(
        """
        source_line|order_no|kind   |amount_minor
        2          |O1      |refund |-5000
        3          |O3      |payment|7000
        4          |O3      |payment|3000
        5          |O2      |payment|1000
        """
    )
    out = classify_outcomes(channel, ledger, business_date=D, rules=RULES, unavailable={})
    by_row = {(r["source"], r["source_line"]): r for r in out.iter_rows(named=True)}
    assert out.height == 9  # one outcome per row, the single row of a group too
    for key in [("channel", 2), ("channel", 3), ("ledger", 2), ("channel", 4), ("ledger", 3), ("ledger", 4)]:
        assert by_row[key]["outcome"] == "matched_fallback", (key, by_row[key]["detail"])
        assert by_row[key]["match_rule"] == "order_group"
    # the members name the single row; the single row names its first member
    assert by_row[("channel", 3)]["counterpart_line"] == 2 and by_row[("ledger", 2)]["counterpart_line"] == 2
    assert by_row[("ledger", 4)]["counterpart_line"] == 4 and by_row[("channel", 4)]["counterpart_line"] == 3
    assert "matched as a group: 2 channel rows against one ledger entry, -50.00 CNY in total" in by_row[("ledger", 2)]["detail"]
    assert "matched as a group: 2 ledger entries against one channel row, 100.00 CNY in total" in by_row[("channel", 4)]["detail"]
    # a group takes the first finding of any of its rows: W5's fee (9 fen charged, 2 contracted)
    assert {by_row[("channel", 5)]["outcome"], by_row[("channel", 6)]["outcome"], by_row[("ledger", 5)]["outcome"]} == {
        "fee_mismatch"}  # fmt: skip


def test_a_conversion_off_the_channels_own_rate_is_fx_mismatch_and_fees_follow_the_settled_amount():
    """Stripe-like: a EUR charge settled in USD at the channel's rate; the fee is on the USD amount."""
    rules = Rules(channels={"stripe": ChannelRules(fee_bps=Decimal(290), fee_fixed_minor=30, refund_fee="none",
                                                   fx_tolerance_minor=1)})  # fmt: skip
    channel = channel_frame(
        """
        source_line|channel_txn_id|kind   |amount_minor|currency|settle_amount_minor|settle_currency|fx_rate|fee_minor|expected
        2          |T1            |payment|8400        |EUR     |9106               |USD            |1.0840 |-294     |matched
        3          |T2            |payment|8400        |EUR     |9107               |USD            |1.0840 |-294     |matched
        4          |T3            |payment|8400        |EUR     |9150               |USD            |1.0840 |-295     |fx_mismatch
        5          |T4            |payment|10000       |USD     |                   |               |       |-330     |fee_mismatch
        6          |T5            |refund |-5000       |USD     |                   |               |       |0        |matched
        7          |T6            |payout |-20000      |USD     |                   |               |       |0        |settlement_item
        8          |T7            |adjustment|-11850   |USD     |                   |               |       |-1500    |missing_in_ledger
        """,
        channel="stripe", source_file="stripe/balance.csv",
    )
    ledger = ledger_frame(
        """
        source_line|channel_txn_id|kind   |amount_minor|currency|expected
        2          |T1            |payment|8400        |EUR     |matched
        3          |T2            |payment|8400        |EUR     |matched
        4          |T3            |payment|8400        |EUR     |fx_mismatch
        5          |T4            |payment|10000       |USD     |fee_mismatch
        6          |T5            |refund  |-5000      |USD     |matched
        """,
        channel="stripe",
    )
    out = classify_outcomes(channel.drop("expected"), ledger.drop("expected"), business_date=D, rules=rules,
                            unavailable={})  # fmt: skip
    got = {(r["source"], r["source_line"]): r["outcome"] for r in out.iter_rows(named=True)}
    expected = {("channel", r["source_line"]): r["expected"] for r in channel.iter_rows(named=True)}
    expected |= {("ledger", r["source_line"]): r["expected"] for r in ledger.iter_rows(named=True)}
    assert got == expected
    by_line = {r["source_line"]: r for r in out.filter(pl.col("source") == "channel").iter_rows(named=True)}
    # 91.06 USD × 2.9 % = 2.64 + 0.30: the contracted fee is on the settled amount, in USD.
    assert by_line[2]["expected_fee_minor"] == -294
    assert "fx_mismatch: 84.00 EUR at the channel's rate 1.08400000 is 91.06 USD, the channel settled 91.50 USD" in by_line[4]["detail"]
    assert by_line[8]["reason_code"] == "CHANNEL_ADJUSTMENT"
    assert by_line[7]["reason_code"] is None
