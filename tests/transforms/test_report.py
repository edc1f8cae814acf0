"""The typed report: headline, exit code, per-channel summary and the discrepancy filter."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import duckdb
import polars as pl

from schemas.outputs import Discrepancy, Outcome
from tests.helpers import table
from transforms.classify import OUTCOME_SCHEMA
from transforms.parsed import empty_quarantine, quarantine_frame
from transforms.report import _rate_pct, build_report, register_outcomes
from transforms.settle import SETTLEMENT_SCHEMA

D = date(2026, 3, 2)


def outcomes(text: str) -> pl.DataFrame:
    rows = []
    for cells in table(text):
        row: dict[str, object] = dict.fromkeys(OUTCOME_SCHEMA)
        row |= {k: (v or None) for k, v in cells.items()}
        row["source_line"] = int(cells["source_line"])
        row["amount_minor"] = int(cells.get("amount_minor") or 0)
        rows.append(row)
    return pl.DataFrame(rows, schema=OUTCOME_SCHEMA)


OUTCOMES = outcomes(
    """
    source |source_file|source_line|channel  |outcome          |reason_code      |amount_minor|currency
    ledger |l.csv      |3          |wechatpay|matched          |CROSS_DATE       |700         |CNY
    channel|w.csv      |2          |wechatpay|matched          |                 |500         |CNY
    ledger |l.csv      |2          |wechatpay|matched          |                 |500         |CNY
    channel|w.csv      |3          |wechatpay|missing_in_ledger|MISSING_IN_LEDGER|123450      |CNY
    ledger |l.csv      |4          |alipay   |void             |                 |100         |CNY
    bank   |b.xml      |10         |         |unexplained      |UNEXPLAINED      |-956900     |CNY
    """
)


def report(quarantine: pl.DataFrame | None = None, unavailable: dict[str, str] | None = None,
           outcomes: pl.DataFrame = OUTCOMES, row_dates: pl.DataFrame | None = None, max_sheet_rows: int = 50_000,
           expected: tuple[str, ...] = ("wechatpay", "alipay", "bank"), language: str = "en"):
    with duckdb.connect() as con:
        register_outcomes(con, outcomes, row_dates)
        return build_report(
            con, business_date=D, run_id="r", code_version="v", rules_hash="h",
            settlement=pl.DataFrame(schema=SETTLEMENT_SCHEMA),
            quarantine=quarantine if quarantine is not None else empty_quarantine(),
            unavailable=unavailable or {}, notes=(), inputs=(), expected=expected, max_sheet_rows=max_sheet_rows,
            language=language,
        )


def test_clean_run_exits_0_and_outcomes_sort_channel_ledger_bank() -> None:
    from transforms.report import outcomes_sql

    r = report()
    # Money first, the most urgent class first: the one-sided payment, then the unexplained bank debit.
    assert r.exit_code == 0 and r.headline == (
        "Reconciled 2026-03-02: 2 channels reconciled; one-sided: at the channel, not in the ledger: ¥1,234.50 (1); "
        "bank entry nobody explains: ¥9,569.00 (1)"
    )
    assert report(language="zh").headline == (
        "2026-03-02 对账完成：2 个渠道已对账；单边账（渠道有、账务无） ¥1,234.50（1 笔）；银行流水无法解释 ¥9,569.00（1 笔）"
    )
    with duckdb.connect() as con:
        register_outcomes(con, OUTCOMES)
        ordered = con.sql(outcomes_sql()).pl()
    assert ordered.select("source", "source_line").rows() == [
        ("channel", 2), ("channel", 3), ("ledger", 2), ("ledger", 3), ("ledger", 4), ("bank", 10)
    ]
    Outcome.validate(ordered, lazy=True)


def test_discrepancies_are_the_unsettled_rows_plus_exception_codes_most_urgent_first() -> None:
    r = report()
    Discrepancy.validate(r.discrepancies, lazy=True)
    # missing_in_ledger and unexplained need a person; the matched CROSS_DATE row too; void does not.
    # Worklist order: severity (missing 1, unexplained 2, a matched row with an exception code 3).
    assert r.discrepancies.select("source", "source_line").rows() == [("channel", 3), ("bank", 10), ("ledger", 3)]
    assert r.discrepancy_count == 3


def test_a_sheet_holds_the_first_rows_and_the_report_the_full_count() -> None:
    r = report(max_sheet_rows=2)
    assert r.discrepancies.height == 2 and r.discrepancy_count == 3


def test_channel_summary_counts_both_sides() -> None:
    wechat = next(c for c in report().channels if c.channel == "wechatpay")
    # 3 matched rows of 4 (channel 2 + ledger 2): 75.0 %
    assert (wechat.rows, wechat.ledger_rows, wechat.matched, wechat.match_rate_pct) == (2, 2, 3, "75.0")


def test_missing_statement_or_quarantine_means_provisional_exit_3() -> None:
    missing = report(unavailable={"alipay": "statement missing"})
    assert missing.exit_code == 3 and missing.problems == ("alipay: statement missing",)
    assert missing.headline.startswith("PROVISIONAL 2026-03-02 (Alipay: statement missing): ")
    zh = report(unavailable={"alipay": "statement rejected (WRONG_DATE)"}, language="zh")
    assert zh.headline.startswith("2026-03-02 对账未完成（支付宝：对账单被拒收 (WRONG_DATE)）：")
    entry = {"source_file": "l.csv", "source_line": 9, "column": "amount", "value": "¥1", "reason_code": "BAD_AMOUNT",
             "reason": "amount: '¥1' is not a plain decimal amount"}
    assert report(quarantine=quarantine_frame([entry])).exit_code == 3


def test_rate_is_text_rounded_half_up_in_integers() -> None:
    assert (_rate_pct(2, 3), _rate_pct(1, 8), _rate_pct(0, 0), _rate_pct(5, 5)) == ("66.7", "12.5", "0.0", "100.0")


def test_conservation_problems_name_lost_doubled_and_unaccounted_rows() -> None:
    from transforms.invariants import conservation_problems
    from transforms.report import InputFile

    def input_file(name: str, data: int, physical: int) -> InputFile:
        # one header line; physical = data + 1 when the accounting adds up
        return InputFile(name, "0" * 64, "x", "ledger", "read", data, physical, 1, 0, 0, 0)

    clean = report()  # outcomes: w.csv 2 rows, l.csv 3 rows, b.xml 1 row
    files = (input_file("w.csv", 2, 3), input_file("l.csv", 3, 4), input_file("b.xml", 1, 2))
    assert conservation_problems(replace(clean, inputs=files)) == []

    lost = (input_file("w.csv", 3, 4), input_file("l.csv", 3, 5), input_file("b.xml", 1, 2))
    assert conservation_problems(replace(clean, inputs=lost)) == [
        "w.csv: 3 data rows but 2 outcomes",
        "l.csv: 5 physical lines but 4 accounted for",
    ]
    doubled = report(outcomes=pl.concat([OUTCOMES, OUTCOMES.filter(pl.col("source_file") == "b.xml")]))
    assert conservation_problems(replace(doubled, inputs=files)) == [
        "b.xml: 1 data rows but 2 outcomes",
        "1 lines have two outcomes, e.g. b.xml:10",
    ]
    unread = (input_file("w.csv", 2, 3), input_file("l.csv", 3, 4))
    assert conservation_problems(replace(clean, inputs=unread)) == ["b.xml: outcomes for a file that was not read"]


def test_a_discrepancy_is_as_old_as_the_day_its_row_belongs_to() -> None:
    from datetime import timedelta

    dates = pl.DataFrame(
        {"source_file": ["l.csv", "w.csv"], "source_line": [3, 3], "row_date": [D - timedelta(days=4), D]},
        schema={"source_file": pl.String, "source_line": pl.Int64, "row_date": pl.Date},
    )
    r = report(row_dates=dates, expected=("wechatpay",))
    # ledger line 3 was booked 4 days before D (CROSS_DATE); the others are today's or undated: 0.
    assert r.discrepancies.select("source_file", "source_line", "age_days").rows() == [
        ("w.csv", 3, 0), ("b.xml", 10, 0), ("l.csv", 3, 4)
    ]


# -- risk signals (transforms/risk.py) -------------------------------------------------------------------


def test_the_headline_counts_and_names_the_high_severity_risk_signals_and_the_notice_sends_them() -> None:
    from transforms.notify import Notice, notice_text
    from transforms.risk import RISK_SCHEMA

    def signal(severity: int, rule: str, subject: str) -> dict[str, object]:
        return {"business_date": D, "severity": severity, "rule": rule, "channel": "alipay", "currency": "CNY",
                "subject": subject, "window_from": D, "window_to": D, "unit": "count", "value": 1.0,
                "threshold": 0.0, "detail": "d", "row_count": 1, "rows": "a.csv:2"}  # fmt: skip

    risk = pl.DataFrame([signal(1, "PAYOUT_SKIPPED", "alipay 2026-02-28"), signal(2, "REFUND_LATE", "O-1")],
                        schema=RISK_SCHEMA)  # fmt: skip
    with duckdb.connect() as con:
        register_outcomes(con, OUTCOMES)
        built = build_report(
            con, business_date=D, run_id="r", code_version="v", rules_hash="h",
            settlement=pl.DataFrame(schema=SETTLEMENT_SCHEMA), quarantine=empty_quarantine(), unavailable={},
            notes=(), inputs=(), expected=("wechatpay",), language="zh", risk=risk,
        )  # fmt: skip
    # One high signal (the medium one is on the Risk sheet only).
    assert built.risk_high_count == 1 and built.risk.height == 2
    assert built.headline_parts[-1] == "1 个高风险信号（见“风险信号”）：回款漏了一天 alipay 2026-02-28"
    assert "回款漏了一天" in notice_text(Notice("completed", 0, D, built.headline))
    assert "风险" not in report(language="zh").headline, "no part when no high signal"
