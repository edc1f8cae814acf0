"""Worked examples of transforms/findings.py: one table of the day's rows, one of earlier dates' rows."""

from __future__ import annotations

from datetime import date

import duckdb
import polars as pl

from tests.helpers import table
from transforms.classify import currency_units_frame
from transforms.findings import EARLIER_COLUMNS, FINDINGS, findings_sql, wanted_keys_sql

D = date(2026, 3, 9)
FIRST = date(2026, 2, 7)

TODAY = """
source |line|channel  |kind   |channel_txn_id|order_no|amount_minor|outcome          |expected
channel|2   |wechatpay|payment|W1            |O1      |10000       |matched          |
channel|3   |wechatpay|payment|W2            |O1      |10000       |missing_in_ledger|DUPLICATE_PAYMENT
channel|4   |wechatpay|refund |R1            |O3      |-6000       |matched          |
channel|5   |wechatpay|refund |R2            |O3      |-5000       |matched          |REFUND_EXCEEDS_CAPTURE
channel|6   |wechatpay|refund |R3            |O9      |-100        |matched          |ORPHAN_REFUND
channel|7   |wechatpay|payment|W7            |O7      |2500        |missing_in_ledger|DUPLICATE_ACROSS_DAYS
channel|8   |wechatpay|refund |R4            |O4      |-300        |matched          |
channel|9   |wechatpay|payment|W8            |O8      |6000        |missing_in_ledger|SPLIT_PAYMENT
channel|10  |alipay   |payment|A8            |O8      |4000        |missing_in_ledger|SPLIT_PAYMENT
ledger |2   |wechatpay|payment|              |O8      |10000       |missing_in_channel|SPLIT_PAYMENT
channel|11  |wechatpay|payment|W9            |O10     |100         |duplicate        |
channel|12  |wechatpay|payment|W10           |O10     |100         |duplicate        |
channel|13  |wechatpay|payment|W11           |O11     |700         |missing_in_ledger|
"""
# line 3: order O1 paid twice today, the ledger booked one (W1): the other needs a refund.
# lines 4, 5: refunds of O3 add up to 110.00 against its payment of 100.00 on an earlier date: both exceed;
#   line 4 too (the expected column holds the one row to check per code; see the assertions).
# line 6: O9 was paid by no statement of the look-back window.
# line 7: W7 is also in the statement of 2026-03-08.   line 8: the refund of O4 (paid earlier) is fine.
# lines 9, 10 / ledger 2: O8 paid 60.00 by WeChat Pay and 40.00 by Alipay, booked as one entry of 100.00.
# lines 11, 12: duplicates are not transactions: no DUPLICATE_PAYMENT.   line 13: one payment, nothing to say.

EARLIER = """
business_date|channel  |kind   |channel_txn_id|order_no|amount_minor|line
2026-03-02   |wechatpay|payment|W3            |O3      |10000       |40
2026-03-08   |wechatpay|payment|W7            |O7      |2500        |7
2026-03-05   |wechatpay|payment|W4            |O4      |300         |9
2026-01-05   |wechatpay|payment|W9X           |O9      |100         |3
"""
# O9's payment is older than the window (the warehouse query leaves it out; here it is filtered by date too).


def outcome_rows(text: str) -> pl.DataFrame:
    rows = [
        {"source": r["source"], "source_file": f"{r['source']}/file.csv", "source_line": int(r["line"]),
         "channel": r["channel"], "kind": r["kind"], "channel_txn_id": r["channel_txn_id"] or None,
         "order_no": r["order_no"], "amount_minor": int(r["amount_minor"]), "currency": "CNY",
         "outcome": r["outcome"], "counterpart_file": r.get("counterpart") or None,
         "counterpart_line": 2 if r.get("counterpart") else None, "expected": r["expected"] or None}
        for r in table(text)
    ]  # fmt: skip
    return pl.DataFrame(rows)


def earlier_rows(text: str) -> pl.DataFrame:
    rows = [
        {"business_date": date.fromisoformat(r["business_date"]), "channel": r["channel"], "kind": r["kind"],
         "channel_txn_id": r["channel_txn_id"], "order_no": r["order_no"], "amount_minor": int(r["amount_minor"]),
         "currency": "CNY", "source_file": "wechatpay/earlier.csv", "source_line": int(r["line"])}
        for r in table(text)
    ]  # fmt: skip
    frame = pl.DataFrame(rows, schema=EARLIER_COLUMNS)
    return frame.filter(pl.col("business_date") >= FIRST)


def findings(today: pl.DataFrame, earlier: pl.DataFrame) -> dict[tuple[str, int], tuple[str, str]]:
    with duckdb.connect() as con:
        con.register("outcome_rows", today)
        con.register("earlier_rows", earlier)
        con.register("currency_units", currency_units_frame())
        found = con.sql(findings_sql(), params={"business_date": D, "first_date": FIRST}).pl()
    return {
        (r["source"], r["source_line"]): (r["finding_code"], r["finding"])
        for r in found.iter_rows(named=True)
    }


def test_findings_worked_example() -> None:
    today = outcome_rows(TODAY)
    got = findings(today, earlier_rows(EARLIER))
    expected = {
        (r["source"], r["source_line"]): r["expected"] for r in today.iter_rows(named=True) if r["expected"]
    }
    expected[("channel", 4)] = "REFUND_EXCEEDS_CAPTURE"  # both refunds of O3 are part of the excess
    assert {key: code for key, (code, _) in got.items()} == expected
    assert got[("channel", 3)][1] == (
        "DUPLICATE_PAYMENT: order O1 paid 2 times at the channel (W1, W2); the ledger has no entry for this one: "
        "a refund is needed"
    )
    assert (
        got[("channel", 5)][1]
        == "REFUND_EXCEEDS_CAPTURE: refunds of order O3 total 110.00 CNY against payments of 100.00 CNY"
    )
    assert (
        got[("channel", 6)][1]
        == "ORPHAN_REFUND: no payment of order O9 in the statements of 2026-02-07 to 2026-03-09"
    )
    assert got[("channel", 7)][1] == (
        "DUPLICATE_ACROSS_DAYS: this channel transaction is also in the statement of 2026-03-08 (wechatpay/earlier.csv:7)"
    )
    assert (
        got[("ledger", 2)][1]
        == "SPLIT_PAYMENT: order O8 paid through alipay 40.00 CNY + wechatpay 60.00 CNY, booked as one entry"
    )


def test_without_history_a_refund_of_an_earlier_payment_is_an_orphan_and_nothing_else_changes() -> None:
    today = outcome_rows(TODAY)
    got = findings(today, earlier_rows(EARLIER).clear())
    codes = {key: code for key, (code, _) in got.items()}
    assert codes[("channel", 4)] == codes[("channel", 5)] == codes[("channel", 8)] == "ORPHAN_REFUND"
    assert ("channel", 7) not in codes  # nothing earlier to repeat
    assert codes[("channel", 3)] == "DUPLICATE_PAYMENT"  # a same-day finding needs no history


def test_a_split_that_does_not_add_up_is_not_called_a_split() -> None:
    today = outcome_rows(
        TODAY.replace("|4000        |missing_in_ledger|SPLIT_PAYMENT", "|3999        |missing_in_ledger|")
    )
    codes = {key: code for key, (code, _) in findings(today, earlier_rows(EARLIER)).items()}
    assert "SPLIT_PAYMENT" not in codes.values()


def test_the_look_back_asks_only_for_the_keys_a_finding_needs() -> None:
    with duckdb.connect() as con:
        con.register("outcome_rows", outcome_rows(TODAY))
        wanted = con.sql(wanted_keys_sql() + " order by all").pl()
    # refunds, and payments nothing booked; never the matched payment W1 or the duplicates
    assert sorted(wanted["channel_txn_id"]) == ["A8", "R1", "R2", "R3", "R4", "W11", "W2", "W7", "W8"]


def test_every_finding_is_documented() -> None:
    assert list(FINDINGS) == [
        "DUPLICATE_ACROSS_DAYS", "DUPLICATE_PAYMENT", "REFUND_EXCEEDS_CAPTURE", "ORPHAN_REFUND", "SPLIT_PAYMENT"
    ]  # fmt: skip
    assert all(meaning for meaning in FINDINGS.values())


def test_a_split_whose_one_part_the_order_number_matched_is_still_a_split() -> None:
    # WeChat's part was paired with the ledger entry by the order number (amounts differ); Alipay's is alone.
    today = outcome_rows("""
source |line|channel  |kind   |channel_txn_id|order_no|amount_minor|outcome          |counterpart   |expected
channel|9   |wechatpay|payment|W8            |O8      |6000        |amount_mismatch  |ledger/file.csv|SPLIT_PAYMENT
channel|10  |alipay   |payment|A8            |O8      |4000        |missing_in_ledger|              |SPLIT_PAYMENT
ledger |2   |wechatpay|payment|              |O8      |10000       |amount_mismatch  |channel/file.csv|SPLIT_PAYMENT
""")
    codes = {key: code for key, (code, _) in findings(today, earlier_rows(EARLIER)).items()}
    assert codes == {("channel", 9): "SPLIT_PAYMENT", ("channel", 10): "SPLIT_PAYMENT", ("ledger", 2): "SPLIT_PAYMENT"}
