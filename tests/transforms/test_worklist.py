"""transforms/worklist.py: one row per case, the class registry, and money in words."""

from __future__ import annotations

from datetime import date

import duckdb
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.currency import CURRENCY_EXPONENT
from schemas.outputs import OUTCOMES
from transforms.classify import OUTCOME_SCHEMA
from transforms.labels import OWNERS
from transforms.money import format_money
from transforms.report import SEVERITY, register_outcomes
from transforms.settle import SETTLEMENT_SCHEMA
from transforms.worklist import CASE_CLASSES, case_classes_frame, cases_sql, explanation_sql, money_words_sql

D = date(2026, 3, 3)
W = "wechatpay/w.csv"
L = "ledger/l.csv"


def row(source: str, file: str, line: int, outcome: str, amount: int, **values: object) -> dict[str, object]:
    cells: dict[str, object] = dict.fromkeys(OUTCOME_SCHEMA)
    cells.update(source=source, source_file=file, source_line=line, outcome=outcome, amount_minor=amount,
                 currency="CNY", channel="wechatpay", kind="payment")  # fmt: skip
    cells.update(values)
    return cells


def cases(rows: list[dict[str, object]], settlement: list[dict[str, object]] | None = None,
          language: str = "en") -> pl.DataFrame:
    with duckdb.connect() as con:
        register_outcomes(con, pl.DataFrame(rows, schema=OUTCOME_SCHEMA))
        con.register("settlement_lines", pl.DataFrame(settlement or [], schema=SETTLEMENT_SCHEMA))
        con.register("case_classes", case_classes_frame())
        sql = f"select *, {explanation_sql(language)} as explanation from ({cases_sql()})"
        return con.sql(sql, params={"business_date": D}).pl()


def pair(outcome: str, c_line: int, l_line: int, c_amount: int, l_amount: int, **values: object) -> list[dict]:
    return [
        row("channel", W, c_line, outcome, c_amount, counterpart_file=L, counterpart_line=l_line,
            match_rule="channel_txn_id", channel_txn_id=f"T{c_line}", **values),
        row("ledger", L, l_line, outcome, l_amount, counterpart_file=W, counterpart_line=c_line,
            match_rule="channel_txn_id", channel_txn_id=f"T{c_line}", entry_id=f"E{l_line}"),
    ]  # fmt: skip


def test_a_pair_that_disagrees_is_one_case_with_its_difference_and_both_rows() -> None:
    found = cases(pair("amount_mismatch", 5, 9, 96690, 96689))
    assert found.height == 1
    case = found.row(0, named=True)
    assert (case["class_code"], case["severity"], case["sheet"]) == ("amount_mismatch", 1, "worklist")
    assert (case["amount_minor"], case["difference_minor"], case["rows"]) == (96690, 1, 2)
    assert (case["source_file"], case["source_line"], case["other_file"], case["other_line"]) == (W, 5, L, 9)
    assert (case["channel_txn_id"], case["entry_id"]) == ("T5", "E9")
    assert case["explanation"] == "channel ¥966.90, ledger ¥966.89, difference ¥0.01"


def test_one_sided_rows_carry_their_whole_amount_as_the_difference_signed_by_side() -> None:
    found = cases([
        row("channel", W, 2, "missing_in_ledger", 10000, channel_txn_id="A"),
        row("ledger", L, 3, "missing_in_channel", 25000, entry_id="E3"),
    ])  # fmt: skip
    by_class = {r["class_code"]: r for r in found.iter_rows(named=True)}
    assert by_class["missing_in_ledger"]["difference_minor"] == 10000
    assert by_class["missing_in_channel"]["difference_minor"] == -25000
    # Most urgent first, then the largest amount at stake.
    assert found["class_code"].to_list() == ["missing_in_channel", "missing_in_ledger"]
    assert by_class["missing_in_channel"]["other_file"] is None


def test_a_group_is_one_case_judged_on_its_totals() -> None:
    group = dict(match_rule="order_group", order_no="O1", kind="refund")
    found = cases([
        row("ledger", L, 4, "fee_mismatch", -15000, counterpart_file=W, counterpart_line=7, **group),
        row("channel", W, 7, "fee_mismatch", -10000, counterpart_file=L, counterpart_line=4, fee_minor=60,
            expected_fee_minor=60, **group),
        row("channel", W, 8, "fee_mismatch", -5000, counterpart_file=L, counterpart_line=4, fee_minor=29,
            expected_fee_minor=30, **group),
    ])  # fmt: skip
    assert found.height == 1
    case = found.row(0, named=True)
    assert (case["amount_minor"], case["rows"], case["channel_rows"], case["ledger_rows"]) == (-15000, 3, 2, 1)
    # Contracted 90 returned, 89 returned: the channel kept 1 fen more than the contract.
    assert case["difference_minor"] == 1 and case["class_code"] == "fee_mismatch"
    assert case["other_file"] is None  # three rows: a decision names each row itself


def test_copies_of_one_transaction_are_one_case_on_the_side_that_repeats() -> None:
    found = cases([
        row("channel", W, 2, "duplicate", 98760, channel_txn_id="D1"),
        row("channel", W, 3, "duplicate", 98760, channel_txn_id="D1"),
        row("ledger", L, 5, "duplicate", 98760, channel_txn_id="D1"),
        row("channel", W, 9, "duplicate", 1400, channel_txn_id="D2"),
        row("ledger", L, 7, "duplicate", 1400, channel_txn_id="D2"),
        row("ledger", L, 8, "duplicate", 1400, channel_txn_id="D2"),
    ])  # fmt: skip
    assert found.select("class_code", "rows", "amount_minor").rows() == [
        ("duplicate_channel", 3, 98760), ("duplicate_ledger", 3, 1400)]
    assert found["explanation"].to_list() == [
        "the same transaction is on the statement 2 times, ¥987.60 each", "the same entry is booked 2 times, ¥14.00 each"]


def test_a_finding_names_the_case_and_informational_rows_go_to_review() -> None:
    found = cases([
        # a refund matched by id whose payment is nowhere: a finding on a settled row
        row("channel", W, 2, "matched", -8800, reason_code="ORPHAN_REFUND", kind="refund",
            counterpart_file=L, counterpart_line=2),
        row("ledger", L, 2, "matched", -8800, kind="refund", counterpart_file=W, counterpart_line=2),
        *pair("matched_fallback", 3, 3, 6490, 6490, reason_code="MATCHED_FALLBACK"),
        row("ledger", L, 9, "in_transit", 3290, reason_code="IN_TRANSIT"),
        row("ledger", L, 10, "quarantined", 0),
        row("channel", W, 4, "matched", 500),
    ])  # fmt: skip
    assert found.select("sheet", "class_code", "rows").rows() == [
        ("worklist", "ORPHAN_REFUND", 1), ("review", "matched_fallback", 2), ("review", "in_transit", 1)]


def test_a_payout_not_received_or_short_is_a_case_from_the_settlement() -> None:
    line: dict[str, object] = dict.fromkeys(SETTLEMENT_SCHEMA)
    line.update(settlement_date=date(2026, 3, 2), channel="alipay", currency="CNY", payout_expected_minor=500000)
    found = cases([], settlement=[
        {**line, "payout_status": "missing"},
        {**line, "channel": "wechatpay", "payout_status": "amount_mismatch", "payout_received_minor": 499000,
         "bank_source_file": "bank/b.xml", "bank_source_line": 40},
        {**line, "settlement_date": D, "payout_status": "in_transit"},
        {**line, "payout_status": "matched", "payout_received_minor": 500000},
    ])  # fmt: skip
    # Nothing received: the whole payout is the difference, and the larger amount at stake comes first.
    assert found.select("class_code", "channel", "amount_minor", "difference_minor", "age_days").rows() == [
        ("payout_missing", "alipay", 500000, -500000, 1), ("payout_mismatch", "wechatpay", 500000, -1000, 1)]
    assert found["explanation"].to_list() == [
        "expected ¥5,000.00, the bank received nothing",
        "expected ¥5,000.00, received ¥4,990.00, difference -¥10.00"]


def test_explanations_speak_chinese_first() -> None:
    found = cases(pair("amount_mismatch", 5, 9, 25700, 25701), language="zh")
    assert found["explanation"][0] == "渠道 ¥257.00，账务 ¥257.01，差额 -¥0.01"


def test_the_registry_is_complete_and_consistent() -> None:
    for case_class in CASE_CLASSES.values():
        assert case_class.owner in OWNERS, case_class.code
        assert case_class.sheet in ("worklist", "review") and case_class.severity in (1, 2, 3)
        assert case_class.difference in ("amount", "fee", "payout", "none")
    # Every outcome a case can carry has a class, and the row order of discrepancies.parquet agrees.
    for outcome in OUTCOMES:
        code = {"duplicate": "duplicate_channel"}.get(outcome, outcome)
        if outcome in ("matched", "resolved_late", "void", "quarantined", "settlement_item"):
            continue
        assert CASE_CLASSES[code].severity == SEVERITY[outcome], outcome


@pytest.mark.parametrize("currency", sorted(CURRENCY_EXPONENT))
def test_money_in_words_is_format_money_in_sql(currency: str) -> None:
    amounts = [0, 1, -1, 5, 99, 100, 12345, -1234567, 10**15]
    with duckdb.connect() as con:
        con.register("frame", pl.DataFrame({"a": amounts, "c": [currency] * len(amounts)}))
        got = con.sql(f"select {money_words_sql('a', 'c')} from frame").fetchall()
    assert [g[0] for g in got] == [format_money(a, currency) for a in amounts]


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=-(10**17), max_value=10**17),
       # every exponent (0, 2, 3, 4) and every currency with a symbol; the parametrized test above covers all codes
       st.sampled_from(["CNY", "USD", "EUR", "GBP", "HKD", "JPY", "KWD", "CLF", "CHF"]))
def test_money_in_words_agrees_for_any_amount(amount: int, currency: str) -> None:
    with duckdb.connect() as con:
        got = con.sql(f"select {money_words_sql('$a::bigint', '$c::varchar')}", params={"a": amount, "c": currency})
        assert got.fetchall()[0][0] == format_money(amount, currency)


def test_a_row_of_a_class_the_registry_does_not_know_is_still_a_case() -> None:
    found = cases([row("bank", "bank/b.xml", 7, "duplicate", 500, channel=None)])  # no bank duplicates exist
    assert found.select("class_code", "rows", "source_line").rows() == [("unexplained", 1, 7)]
