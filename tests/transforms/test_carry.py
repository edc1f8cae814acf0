"""Open items carried across days: closed late, aged, expired, payouts credited (worked examples)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import duckdb
import polars as pl

from tests.helpers import D, channel_frame, ledger_frame
from transforms.carry import OPEN_ITEM_SCHEMA, aging_sql, close_the_day, empty_open_items
from transforms.classify import channel_rules_frame, classify_outcomes
from transforms.decisions import empty_decisions
from transforms.rules import ChannelRules, Rules
from transforms.settle import SETTLEMENT_SCHEMA

RULES = Rules(channels={"wechatpay": ChannelRules(settlement_lag_days=1, open_item_days=2)})
YESTERDAY = D - timedelta(days=1)


def item(**values: object) -> dict[str, object]:
    row: dict[str, object] = dict.fromkeys(OPEN_ITEM_SCHEMA)
    row.update(channel="wechatpay", currency="CNY", status="in_transit", age_days=0, aging_bucket="0-1")
    row.update(values)
    return row


def carried(*rows: dict[str, object]) -> pl.DataFrame:
    return pl.DataFrame(list(rows), schema=OPEN_ITEM_SCHEMA) if rows else empty_open_items()


def late_outcomes(channel: pl.DataFrame, ledger: pl.DataFrame, items: pl.DataFrame) -> dict:
    out = classify_outcomes(channel, ledger, business_date=D, rules=RULES, unavailable={}, carried=items)
    return {
        (row["source"], row["source_line"]): (row["outcome"], row["counterpart_date"], row["counterpart_line"])
        for row in out.select("source", "source_line", "outcome", "counterpart_date", "counterpart_line").iter_rows(
            named=True
        )
    }


def test_todays_rows_close_yesterdays_open_items_first_by_the_same_cascade():
    items = carried(
        # booked 23:59:50 yesterday, in transit: the channel reports it today
        item(opened_on=YESTERDAY, source="ledger", source_file="ledger/l.csv", source_line=7, kind="payment",
             channel_txn_id="W1", order_no="O1", amount_minor=10000, entry_id="LE7"),
        # paid at the channel 23:59:55 yesterday, booked today just after midnight
        item(opened_on=YESTERDAY, source="channel", source_file="wechatpay/w.csv", source_line=9, kind="payment",
             channel_txn_id="W2", order_no="O2", amount_minor=20000, status="missing_in_ledger"),
        # in transit, closed today by a row whose amount differs: the mismatch, not resolved_late
        item(opened_on=YESTERDAY, source="ledger", source_file="ledger/l.csv", source_line=8, kind="payment",
             channel_txn_id="W3", order_no="O3", amount_minor=30000, entry_id="LE8"),
        # found by order number (no channel id on the ledger side)
        item(opened_on=YESTERDAY, source="ledger", source_file="ledger/l.csv", source_line=10, kind="payment",
             channel_txn_id=None, order_no="O4", amount_minor=40000, entry_id="LE10"),
    )  # fmt: skip
    channel = channel_frame(
        """
        source_line|channel_txn_id|order_no|kind   |amount_minor|fee_minor|currency|status
        2          |W1            |O1      |payment|10000       |-60      |CNY     |succeeded
        3          |W3            |O3      |payment|30001       |-180     |CNY     |succeeded
        4          |W4            |O4      |payment|40000       |-240     |CNY     |succeeded
        5          |W5            |O5      |payment|50000       |-300     |CNY     |succeeded
        """
    )
    ledger = ledger_frame(
        """
        source_line|channel_txn_id|order_no|kind   |amount_minor|currency|status   |booked
        2          |W2            |O2      |payment|20000       |CNY     |succeeded|00:00
        3          |W5            |O5      |payment|50000       |CNY     |succeeded|10:00
        """
    )
    got = late_outcomes(channel, ledger, items)
    assert got == {
        ("channel", 2): ("resolved_late", YESTERDAY, 7),
        ("channel", 3): ("amount_mismatch", YESTERDAY, 8),
        ("channel", 4): ("resolved_late", YESTERDAY, 10),
        ("channel", 5): ("matched", None, 3),  # today's own pair wins: it is matched first
        ("ledger", 2): ("resolved_late", YESTERDAY, 9),
        ("ledger", 3): ("matched", None, 5),
    }


def test_an_open_item_on_the_same_side_never_closes_and_without_items_nothing_is_late():
    items = carried(
        item(opened_on=YESTERDAY, source="channel", source_file="wechatpay/w.csv", source_line=9, kind="payment",
             channel_txn_id="W1", order_no="O1", amount_minor=10000, status="missing_in_ledger"),
    )  # fmt: skip
    channel = channel_frame(
        """
        source_line|channel_txn_id|order_no|kind   |amount_minor|fee_minor|currency|status
        2          |W1            |O1      |payment|10000       |-60      |CNY     |succeeded
        """
    )
    ledger = ledger_frame(
        """
        source_line|channel_txn_id|order_no|kind   |amount_minor|currency|status   |booked
        2          |W9            |O9      |payment|10000       |CNY     |succeeded|10:00
        """
    )
    assert late_outcomes(channel, ledger, items)[("channel", 2)] == ("missing_in_ledger", None, None)
    plain = late_outcomes(channel, ledger, empty_open_items())
    assert plain[("channel", 2)] == ("missing_in_ledger", None, None)


def close(
    items: pl.DataFrame, outcomes: pl.DataFrame, settlement: pl.DataFrame, decisions: pl.DataFrame | None = None,
    day: date = D,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The open items and the resolved rows at the end of ``day``."""
    with duckdb.connect() as con:
        con.execute("set TimeZone = 'UTC'")
        con.register("carried", items)
        con.register("outcomes", outcomes)
        con.register("settlement_today", settlement)
        con.register("channel_rules", channel_rules_frame(RULES))
        con.register("decisions", empty_decisions() if decisions is None else decisions)
        close_the_day(con, day)
        return con.sql("select * from open_items").pl(), con.sql("select * from resolved").pl()


def snapshot(items: pl.DataFrame, outcomes: pl.DataFrame, settlement: pl.DataFrame, day: date = D) -> pl.DataFrame:
    return close(items, outcomes, settlement, day=day)[0]


def outcome(**values: object) -> dict[str, object]:
    row: dict[str, object] = dict.fromkeys(
        ("source", "source_file", "source_line", "channel", "entry_id", "channel_txn_id", "order_no", "kind",
         "amount_minor", "currency", "outcome", "detail", "counterpart_file", "counterpart_line", "counterpart_date")
    )  # fmt: skip
    row.update(channel="wechatpay", currency="CNY", kind="payment")
    row.update(values)
    return row


OUTCOME_TYPES = {"source_line": pl.Int64, "amount_minor": pl.Int64, "counterpart_line": pl.Int64,
                 "counterpart_date": pl.Date}  # fmt: skip


def settlement(*rows: dict[str, object]) -> pl.DataFrame:
    full = []
    for values in rows:
        row: dict[str, object] = dict.fromkeys(SETTLEMENT_SCHEMA)
        row.update(channel="wechatpay", merchant_account="M1", currency="CNY")
        row.update(values)
        full.append(row)
    return pl.DataFrame(full, schema=SETTLEMENT_SCHEMA)


def test_the_next_snapshot_drops_what_closed_ages_the_rest_and_adds_todays_open_rows():
    week_ago = D - timedelta(days=7)
    items = carried(
        item(opened_on=YESTERDAY, source="ledger", source_file="ledger/l.csv", source_line=7, amount_minor=100,
             age_days=0),
        item(opened_on=D - timedelta(days=4), source="ledger", source_file="ledger/old.csv", source_line=4,
             amount_minor=200, age_days=3),
        item(opened_on=D - timedelta(days=2), source="channel", source_file="wechatpay/w.csv", source_line=5,
             amount_minor=300, age_days=1, status="missing_in_ledger"),
        item(opened_on=week_ago, source="payout", kind="payout", merchant_account="M1", amount_minor=5000,
             age_days=6),
        item(opened_on=YESTERDAY, source="payout", kind="payout", merchant_account="M1", amount_minor=6000),
    )  # fmt: skip
    outcomes = pl.DataFrame(
        [
            outcome(source="channel", source_file="wechatpay/t.csv", source_line=2, outcome="resolved_late",
                    amount_minor=100, counterpart_file="ledger/l.csv", counterpart_line=7,
                    counterpart_date=YESTERDAY),
            outcome(source="ledger", source_file="ledger/t.csv", source_line=3, outcome="in_transit",
                    amount_minor=400, entry_id="LE3"),
            outcome(source="ledger", source_file="ledger/t.csv", source_line=4, outcome="matched", amount_minor=1),
            outcome(source="channel", source_file="wechatpay/t.csv", source_line=3, outcome="missing_in_ledger",
                    amount_minor=500),
        ],
        schema_overrides=OUTCOME_TYPES,
    )  # fmt: skip
    lines = settlement(
        {"settlement_date": YESTERDAY, "payout_status": "matched", "payout_expected_minor": 6000},
        {"settlement_date": D, "payout_status": "in_transit", "payout_expected_minor": 7000, "net_minor": 7000},
    )
    got = snapshot(items, outcomes, lines)
    rows = {
        (r["source"], r["source_file"], r["source_line"], str(r["opened_on"])): (r["status"], r["age_days"],
                                                                                r["aging_bucket"], r["due_on"])
        for r in got.iter_rows(named=True)
    }  # fmt: skip
    three_days = timedelta(days=3)
    assert rows == {
        # opened 4 days ago, due 1 + 2 days later (yesterday): today is past it
        ("ledger", "ledger/old.csv", 4, str(D - timedelta(days=4))): ("missing_in_channel", 4, "4-7",
                                                                      D - timedelta(days=1)),
        ("channel", "wechatpay/w.csv", 5, str(D - timedelta(days=2))): ("missing_in_ledger", 2, "2-3",
                                                                        D + timedelta(days=1)),
        ("payout", None, None, str(week_ago)): ("payout_overdue", 7, "4-7", week_ago + three_days),
        ("ledger", "ledger/t.csv", 3, str(D)): ("in_transit", 0, "0-1", D + three_days),
        ("channel", "wechatpay/t.csv", 3, str(D)): ("missing_in_ledger", 0, "0-1", D + three_days),
        ("payout", None, None, str(D)): ("in_transit", 0, "0-1", D + three_days),
    }  # the ledger row closed today and yesterday's credited payout are gone
    assert got.schema == pl.Schema(OPEN_ITEM_SCHEMA)
    # what needs a person first, the oldest first; what only waits last
    assert got.select("source", "status").rows() == [
        ("payout", "payout_overdue"), ("ledger", "missing_in_channel"), ("channel", "missing_in_ledger"),
        ("channel", "missing_in_ledger"), ("ledger", "in_transit"), ("payout", "in_transit"),
    ]  # fmt: skip
    with duckdb.connect() as con:
        con.register("open_items", got)
        aging = con.sql(aging_sql()).pl()
    assert aging.rows() == [
        ("wechatpay", "CNY", "0-1", 3, 400 + 500 + 7000),
        ("wechatpay", "CNY", "2-3", 1, 300),
        ("wechatpay", "CNY", "4-7", 2, 200 + 5000),
    ]


def test_a_snapshot_is_the_same_whatever_the_order_of_its_inputs():
    items = carried(*(
        item(opened_on=D - timedelta(days=n % 3 + 1), source="ledger", source_file=f"ledger/{n % 2}.csv",
             source_line=n, amount_minor=n)
        for n in range(1, 30)
    ))  # fmt: skip
    empty_outcomes = pl.DataFrame([outcome(source="ledger", source_file="x", source_line=1, outcome="matched")],
                                  schema_overrides=OUTCOME_TYPES)  # fmt: skip
    first = snapshot(items, empty_outcomes, settlement())
    second = snapshot(items.reverse(), empty_outcomes, settlement())
    assert first.equals(second)
    assert first.height == 29


def test_a_decision_in_force_moves_an_item_from_the_open_list_to_the_resolved_one_with_its_trail():
    from transforms.decisions import decision_rows

    items = carried(
        item(opened_on=YESTERDAY, source="ledger", source_file="ledger/l.csv", source_line=7, amount_minor=100,
             status="missing_in_channel"),
        item(opened_on=YESTERDAY, source="ledger", source_file="ledger/l.csv", source_line=8, amount_minor=200),
    )  # fmt: skip
    outcomes = pl.DataFrame(
        [outcome(source="channel", source_file="wechatpay/t.csv", source_line=4, outcome="amount_mismatch",
                 amount_minor=300)],
        schema_overrides=OUTCOME_TYPES,
    )  # fmt: skip
    decisions, problems = decision_rows(
        [
            {"source_file": "ledger/l.csv", "source_line": 7, "opened_on": str(YESTERDAY), "action": "write_off",
             "account": "6603", "reason": "test order"},
            {"source_file": "wechatpay/t.csv", "source_line": 4, "action": "accept_channel", "reason": "typo"},
        ],
        effective_date=D, decided_by="li.na", decided_at=datetime(2026, 3, 3, 9, tzinfo=UTC),
    )  # fmt: skip
    assert problems == []
    open_items, resolved = close(items, outcomes, settlement(), decisions)
    assert open_items.select("source_file", "source_line").rows() == [("ledger/l.csv", 8)]
    assert resolved.select("source_file", "source_line", "was", "action", "account", "decided_by").rows() == [
        ("ledger/l.csv", 7, "missing_in_channel", "write_off", "6603", "li.na"),
        ("wechatpay/t.csv", 4, "amount_mismatch", "accept_channel", None, "li.na"),
    ]
    # The day before the decision's date, nothing is resolved.
    open_before, resolved_before = close(items, outcomes, settlement(), decisions, day=YESTERDAY)
    assert resolved_before.height == 0 and open_before.height == 2


def test_without_open_items_the_query_without_the_late_cascade_gives_the_same_outcomes():
    from transforms.classify import classify_parameters, classify_sql, prepare_classification
    from transforms.match import entry_dups_sql

    channel = channel_frame(
        """
        source_line|channel_txn_id|order_no|kind   |amount_minor|fee_minor|currency|status
        2          |W1            |O1      |payment|10000       |-60      |CNY     |succeeded
        3          |W2            |O2      |payment|20000       |-120     |CNY     |succeeded
        """
    )
    ledger = ledger_frame(
        """
        source_line|channel_txn_id|order_no|kind   |amount_minor|currency|status   |booked
        2          |              |O1      |payment|10000       |CNY     |succeeded|10:00
        3          |W3            |O3      |payment|30000       |CNY     |succeeded|23:50
        """
    )
    results = []
    for with_late in (True, False):
        with duckdb.connect() as con:
            con.execute("set TimeZone = 'UTC'")
            con.register("channel_rows", channel.with_row_index("cid").with_columns(pl.col("cid").cast(pl.Int64)))
            con.register("ledger_rows", ledger.with_row_index("lid").with_columns(pl.col("lid").cast(pl.Int64)))
            con.execute(f"create temp table entry_dups as {entry_dups_sql()}")
            prepare_classification(con, RULES, {})
            con.register("carried", empty_open_items())
            sql = f"select * from ({classify_sql(carried=with_late)}) order by source, row_id"
            results.append(con.sql(sql, params=classify_parameters(D, RULES)).pl())
    assert results[0].equals(results[1])
    assert results[0]["outcome"].to_list() == ["matched_fallback", "missing_in_ledger", "matched_fallback", "in_transit"]


def test_a_late_pair_whose_new_row_is_not_done_is_a_status_mismatch():
    items = carried(
        item(opened_on=YESTERDAY, source="channel", source_file="wechatpay/w.csv", source_line=9, kind="payment",
             channel_txn_id="W2", order_no="O2", amount_minor=20000, status="missing_in_ledger"),
    )  # fmt: skip
    channel = channel_frame(
        """
        source_line|channel_txn_id|order_no|kind   |amount_minor|fee_minor|currency|status
        2          |W9            |O9      |payment|10000       |-60      |CNY     |succeeded
        """
    )
    ledger = ledger_frame(
        """
        source_line|channel_txn_id|order_no|kind   |amount_minor|currency|status|booked
        2          |W2            |O2      |payment|20000       |CNY     |failed|00:00
        """
    )
    out = classify_outcomes(channel, ledger, business_date=D, rules=RULES, unavailable={}, carried=items)
    row = out.filter(pl.col("source") == "ledger").row(0, named=True)
    assert (row["outcome"], row["counterpart_date"], row["counterpart_line"]) == ("status_mismatch", YESTERDAY, 9)
    assert row["detail"].startswith("status_mismatch: ledger status failed, the open item it closes is done; closes")
