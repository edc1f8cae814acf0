"""The finance team's decisions: validated as written, in force from their date, undone by a decision."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import duckdb
import polars as pl

from transforms.decisions import (
    ACTIONS,
    active_decisions_sql,
    decision_rows,
    rejected_pairs_sql,
    source_of_file,
)

D = date(2026, 3, 5)
AT = datetime(2026, 3, 6, 9, 30, tzinfo=UTC)


def decide(*entries: dict[str, object], on: date = D, at: datetime = AT) -> pl.DataFrame:
    frame, problems = decision_rows(entries, effective_date=on, decided_by="li.na", decided_at=at)
    assert problems == []
    return frame


def test_a_decision_names_its_row_and_says_who_why_and_from_when():
    frame = decide({"source_file": "ledger/ledger_20260303.csv", "source_line": "12", "opened_on": "2026-03-03",
                    "action": "write_off", "account": "6603", "reason": "test order"})  # fmt: skip
    row = frame.row(0, named=True)
    assert row["source"] == "ledger" and row["source_line"] == 12 and row["opened_on"] == date(2026, 3, 3)
    assert row["effective_date"] == D and row["decided_by"] == "li.na" and row["decided_at"] == AT
    assert len(row["decision_id"]) == 12
    # the same words at another time are another decision
    again = decide({"source_file": "ledger/ledger_20260303.csv", "source_line": "12", "opened_on": "2026-03-03",
                    "action": "write_off", "account": "6603", "reason": "test order"}, at=AT + timedelta(seconds=1))
    assert again["decision_id"][0] != row["decision_id"]


def test_every_problem_of_every_entry_is_listed_and_nothing_is_kept():
    frame, problems = decision_rows(
        [
            {"source_file": "wechatpay/w.csv", "source_line": "x", "action": "forgive", "reason": ""},
            {"source_file": "ledger/l.csv", "source_line": "3", "action": "write_off", "reason": "r"},
            {"source_file": "ledger/l.csv", "source_line": "3", "action": "match_by_hand", "reason": "r"},
            {"action": "undo", "reason": "oops"},
            {"source_file": "ledger/l.csv", "source_line": "3", "action": "accept_ledger", "reason": "r",
             "opened_on": "2026-03-09"},
        ],
        effective_date=D, decided_by="li.na", decided_at=AT,
    )  # fmt: skip
    assert frame.height == 0
    assert problems == [
        "entry 1: action 'forgive' is not one of " + ", ".join(ACTIONS),
        "entry 1: a decision needs a reason",
        "entry 1: source_line 'x' is not a line number",
        "entry 2: a write-off names the account it is written off to",
        "entry 3: match_by_hand names the other row (file:line)",
        "entry 4: an undo names the decision it cancels",
        "entry 5: the row's date 2026-03-09 is after the report's date 2026-03-05",
    ]


def test_the_side_of_a_row_comes_from_its_folder():
    assert [source_of_file(f) for f in ("ledger/a.csv", "bank/c.xml", "alipay/x.zip!y.csv")] == [
        "ledger", "bank", "channel",
    ]  # fmt: skip


def active(decisions: pl.DataFrame, day: date) -> list[tuple[str, str]]:
    with duckdb.connect() as con:
        con.register("decisions", decisions)
        rows = con.sql(active_decisions_sql(), params={"business_date": day}).pl()
    return sorted(zip(rows["source_file"], rows["action"], strict=True))


def test_in_force_from_its_date_on_the_latest_wins_and_an_undo_cancels_from_its_own_date():
    row = {"source_file": "ledger/l.csv", "source_line": "3", "opened_on": "2026-03-03", "reason": "r"}
    first = decide({**row, "action": "accept_ledger"}, on=D)
    later = decide({**row, "action": "accept_channel"}, on=D + timedelta(days=1), at=AT + timedelta(days=1))
    other = decide({**row, "source_file": "ledger/m.csv", "action": "accept_ledger"}, on=D)
    undo = decide({"action": "undo", "undoes": other["decision_id"][0], "reason": "mistake"},
                  on=D + timedelta(days=2), at=AT + timedelta(days=2))  # fmt: skip
    every = pl.concat([first, later, other, undo])
    assert active(every, D - timedelta(days=1)) == []  # never before its date
    assert active(every, D) == [("ledger/l.csv", "accept_ledger"), ("ledger/m.csv", "accept_ledger")]
    assert active(every, D + timedelta(days=1)) == [("ledger/l.csv", "accept_channel"), ("ledger/m.csv", "accept_ledger")]
    assert active(every, D + timedelta(days=2)) == [("ledger/l.csv", "accept_channel")]  # undone from its date


def test_a_rejected_match_names_both_rows_resolves_nothing_and_an_undo_lifts_it():
    _, problems = decision_rows([{"source_file": "wechatpay/w.csv", "source_line": "7", "action": "reject_match",
                                  "reason": "r"}], effective_date=D, decided_by="li.na", decided_at=AT)  # fmt: skip
    assert problems == ["entry 1: reject_match names the other row (file:line)"]
    _, problems = decision_rows([{"source_file": "wechatpay/w.csv", "source_line": "8", "action": "reject_match",
                                  "counterpart": "ledger/l.csv:3", "reason": "r", "opened_on": "2026-03-04"}],
                                effective_date=D, decided_by="li.na", decided_at=AT)  # fmt: skip
    assert problems == ["entry 1: a match is rejected on the report of its own date (2026-03-04): the rerun of that "
                        "date applies it"]  # fmt: skip
    rejected = pl.concat([
        decide({"source_file": "ledger/l.csv", "source_line": "9", "action": "reject_match",
                "counterpart": "wechatpay/w.csv:7", "reason": "the order number was reused"}),
        decide({"source_file": "wechatpay/w.csv", "source_line": "8", "action": "reject_match",
                "counterpart": "ledger/l.csv:3", "reason": "another order"}, on=D - timedelta(days=1)),
    ])  # fmt: skip

    def query(sql: str, decisions: pl.DataFrame, on: date) -> list[tuple[object, ...]]:
        with duckdb.connect() as con:
            con.register("decisions", decisions)
            return con.sql(sql, params={"business_date": on}).fetchall()

    # Only the rows of the run's own date; the channel side first, whichever side the person named.
    assert query(rejected_pairs_sql(), rejected, D) == [("wechatpay/w.csv", 7, "ledger/l.csv", 9, rejected["decision_id"][0])]
    assert query(rejected_pairs_sql(), rejected, D - timedelta(days=1)) == [
        ("wechatpay/w.csv", 8, "ledger/l.csv", 3, rejected["decision_id"][1])]  # fmt: skip
    assert len(query(rejected_pairs_sql(), rejected, D + timedelta(days=1))) == 0  # rows of D only, on D
    assert query(active_decisions_sql(), rejected, D) == []  # it resolves nothing
    undo = decide({"action": "undo", "undoes": rejected["decision_id"][0], "reason": "the shop was right"},
                  on=D + timedelta(days=1), at=AT + timedelta(days=1))  # fmt: skip
    both = pl.concat([rejected, undo])
    assert len(query(rejected_pairs_sql(), both, D)) == 1  # a rerun of D still sees it
    assert query(rejected_pairs_sql(), both, D + timedelta(days=1)) == []  # the undo's date: no longer
