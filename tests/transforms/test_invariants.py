"""The run-time invariants name what broke (I2 amounts, I10 pairs); I1 is in test_report.py."""

from __future__ import annotations

import duckdb
import polars as pl
import pytest

from tests.helpers import table
from transforms.classify import OUTCOME_SCHEMA
from transforms.invariants import amount_problems, group_problems, pairing_problems


def outcomes(text: str) -> pl.DataFrame:
    rows = []
    for cells in table(text):
        row: dict[str, object] = dict.fromkeys(OUTCOME_SCHEMA)
        row |= {k: (v or None) for k, v in cells.items()}
        for key in ("source_line", "counterpart_line", "amount_minor"):
            row[key] = int(cells[key]) if cells.get(key) else None
        rows.append(row)
    return pl.DataFrame(rows, schema=OUTCOME_SCHEMA)


#: A matched pair, a mismatched pair (amounts differ, as they may), and an unmatched row.
GOOD = """
source |source_file|source_line|channel  |outcome          |currency|amount_minor|counterpart_file|counterpart_line
channel|w.csv      |2          |wechatpay|matched          |CNY     |1000        |l.csv           |5
ledger |l.csv      |5          |wechatpay|matched          |CNY     |1000        |w.csv           |2
channel|w.csv      |3          |wechatpay|amount_mismatch  |CNY     |1000        |l.csv           |6
ledger |l.csv      |6          |wechatpay|amount_mismatch  |CNY     |999         |w.csv           |3
channel|w.csv      |4          |wechatpay|currency_mismatch|CNY     |500         |l.csv           |7
ledger |l.csv      |7          |wechatpay|currency_mismatch|USD     |500         |w.csv           |4
channel|w.csv      |5          |wechatpay|missing_in_ledger|CNY     |700         |                |
"""


def check_pairs(text: str, tolerances: dict[str, int] | None = None) -> list[str]:
    with duckdb.connect() as con:
        con.register("outcomes", outcomes(text))
        return pairing_problems(con, tolerances or {"wechatpay": 0})


def test_pairs_that_name_each_other_and_agree_pass() -> None:
    assert check_pairs(GOOD) == []


def test_a_row_named_by_two_rows_is_named() -> None:
    doubled = GOOD + "channel|w.csv|9|wechatpay|matched|CNY|1000|l.csv|5\n"
    problems = check_pairs(doubled)
    assert "l.csv:5: is named as counterpart by 2 rows" in problems


def test_a_pair_named_from_one_end_only_is_named() -> None:
    one_sided = GOOD.replace("ledger |l.csv      |6          |wechatpay|amount_mismatch  |CNY     |999         |w.csv           |3",
                             "ledger |l.csv      |6          |wechatpay|amount_mismatch  |CNY     |999         |        |")  # fmt: skip
    assert check_pairs(one_sided) == ["w.csv:3: names ledger row l.csv:6 which does not name it back"]


@pytest.mark.parametrize(
    ("column", "old", "new"),
    [("outcome", "matched          |CNY     |1000        |w.csv", "matched_fallback |CNY     |1000        |w.csv"),
     ("amount", "matched          |CNY     |1000        |w.csv", "matched          |CNY     |1001        |w.csv"),
     ("currency", "matched          |CNY     |1000        |w.csv", "matched          |USD     |1000        |w.csv")],
)  # fmt: skip
def test_a_matched_pair_that_disagrees_is_named(column: str, old: str, new: str) -> None:
    assert check_pairs(GOOD.replace(old, new)) == ["w.csv:2: its pair with l.csv:5 disagrees (outcome, currency or amount)"]


def test_a_tolerance_lets_a_matched_pair_differ_in_amount() -> None:
    within = GOOD.replace("matched          |CNY     |1000        |w.csv", "matched          |CNY     |1001        |w.csv")
    assert check_pairs(within, {"wechatpay": 1}) == []


def test_amounts_that_change_between_reading_and_reporting_are_named() -> None:
    with duckdb.connect() as con:
        con.register("outcomes", outcomes(GOOD))
        read = pl.DataFrame({"source_file": ["w.csv"] * 4 + ["l.csv"] * 3,
                             "amount_minor": [1000, 1000, 500, 700, 1000, 999, 500]})  # fmt: skip
        con.register("read_amounts", read)
        assert amount_problems(con) == []
        con.register("read_amounts", read.with_columns(amount_minor=pl.when(pl.col("amount_minor") == 999)
                                                       .then(-999).otherwise(pl.col("amount_minor"))))  # fmt: skip
        assert amount_problems(con) == [
            "l.csv: read with 3 amounts summing to 501 minor units, but its outcome rows carry 3 summing to 2499"
        ]
        con.register("read_amounts", read.head(6))  # a row reported that was never read
        assert amount_problems(con) == [
            "l.csv: read with 2 amounts summing to 1999 minor units, but its outcome rows carry 3 summing to 2499"
        ]


#: Two partial refunds booked as one ledger entry: the members name the single row, which names the first.
GROUP = """
source |source_file|source_line|channel  |outcome         |currency|amount_minor|counterpart_file|counterpart_line|match_rule
channel|w.csv      |2          |wechatpay|matched_fallback|CNY     |-3000       |l.csv           |5               |order_group
channel|w.csv      |3          |wechatpay|matched_fallback|CNY     |-2000       |l.csv           |5               |order_group
ledger |l.csv      |5          |wechatpay|matched_fallback|CNY     |-5000       |w.csv           |2               |order_group
"""


def check_groups(text: str) -> list[str]:
    with duckdb.connect() as con:
        con.register("outcomes", outcomes(text))
        return group_problems(con) + pairing_problems(con, {"wechatpay": 0})


def test_a_group_that_names_its_rows_and_agrees_passes_both_checks() -> None:
    assert check_groups(GROUP) == []  # and the pair check leaves group rows to the group check


def test_a_group_whose_rows_disagree_on_the_outcome_is_named() -> None:
    split = GROUP.replace("ledger |l.csv      |5          |wechatpay|matched_fallback", "ledger |l.csv      |5          |wechatpay|amount_mismatch ")
    assert check_groups(split) == ["l.csv:5: the rows of one group have different outcomes"]


def test_a_matched_group_that_does_not_add_up_is_named() -> None:
    matched = GROUP.replace("matched_fallback", "matched        ").replace("|-5000       |", "|-5001       |")
    assert check_groups(matched) == ["l.csv:5: a matched group does not add up: -5001 against -5000"]


def test_a_group_of_one_is_named() -> None:
    lonely = "\n".join(GROUP.strip("\n").split("\n")[:2] + [GROUP.strip("\n").split("\n")[3]])
    assert check_groups(lonely) == [  # each of the two rows anchors a broken group
        "l.csv:5: a group without one single row and several members",
        "w.csv:2: a group without one single row and several members",
    ]
