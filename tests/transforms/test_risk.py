"""transforms/risk.py: the robust statistics against hand-computed tables, and each rule on a worked example."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta

import duckdb
import polars as pl
import pytest

from schemas.risk import RiskSignal
from tests.helpers import table
from transforms.labels import RISK_SIGNALS as RISK_WORDS
from transforms.risk import (
    MAD_SCALE,
    RISK_CODES,
    RISK_CONTRACT_COLUMNS,
    RISK_KEYS,
    RISK_PAYOUT_COLUMNS,
    RISK_ROW_COLUMNS,
    RISK_RULES,
    RISK_SCHEMA,
    band_sql,
    parse_series,
    risk_signals,
    robust_z_sql,
    rule_parameters,
)
from transforms.rules import RiskRules, Rules, RulesError, parse_rules

D = date(2026, 3, 2)


# -- robust statistics: truth tables worked by hand --------------------------------------------------

ROBUST = table("""
values              | x    | floor | median | mad | z
1,2,3,4,10          | 10   | 0     | 3      | 1   | 4.721435
1,2,3,4,10          | 1    | 0     | 3      | 1   | -1.348981
5,5,5,5             | 6    | 0.5   | 5      | 0   | 2.0
2,4,6,8             | 11   | 0     | 5      | 2   | 2.023472
0.02,0.03,0.03,0.04 | 0.25 | 0.01  | 0.03   | 0.005 | 22.0
""")
# Row 1: median 3; |x − 3| = 2,1,0,1,7 → MAD = median(0,1,1,2,7) = 1; z = (10 − 3) / 1.4826 = 4.721435.
# Row 2: (1 − 3) / 1.4826 = −1.348981 (the same baseline, below it).
# Row 3: MAD 0, so the floor 0.5 is the spread: (6 − 5) / 0.5 = 2.
# Row 4: even count: median (4 + 6) / 2 = 5; |x − 5| = 3,1,1,3 → MAD 2; z = 6 / 2.9652 = 2.023472.
# Row 5: refund rates: median 0.03, MAD 0.005 → 1.4826 × 0.005 = 0.007413 < floor 0.01; z = 0.22 / 0.01 = 22.


@pytest.mark.parametrize("case", ROBUST, ids=[row["values"] for row in ROBUST])
def test_robust_z_matches_the_hand_computed_table(case: dict[str, str]) -> None:
    values = [float(v) for v in case["values"].split(",")]
    con = duckdb.connect()
    con.register("baseline", pl.DataFrame({"v": values}))
    sql = f"select median(v), mad(v), {robust_z_sql(case['x'], 'median(v)', 'mad(v)', float(case['floor']))} from baseline"  # noqa: S608
    median, mad, z = con.execute(sql).fetchall()[0]
    assert float(median) == pytest.approx(float(case["median"]))
    assert float(mad) == pytest.approx(float(case["mad"]))
    assert float(z) == pytest.approx(float(case["z"]), abs=1e-6)


def test_the_band_is_what_a_robust_z_of_z_allows() -> None:
    # median 3, MAD 1, z 2: 3 ± 2 × 1.4826 = 0.0348 .. 5.9652
    low, high = band_sql("3", "1", 0.0, "2")
    assert tuple(map(float, duckdb.connect().execute(f"select {low}, {high}").fetchall()[0])) == pytest.approx((3 - 2 * MAD_SCALE, 3 + 2 * MAD_SCALE))  # noqa: S608


def test_a_series_reads_back_as_pairs() -> None:
    assert parse_series("2026-03-01=0.05;2026-03-02=0.25") == [("2026-03-01", 0.05), ("2026-03-02", 0.25)]
    assert parse_series(None) == []


# -- the registry ------------------------------------------------------------------------------------


def test_every_rule_reads_only_risk_keys_and_has_its_words() -> None:
    keys = {f.name for f in dataclasses.fields(RiskRules)}
    for rule in RISK_RULES:
        assert set(rule_parameters(rule)) <= keys & set(RISK_KEYS), rule.code
        assert rule.code in RISK_WORDS, f"{rule.code}: no zh/en words in transforms/labels.py"
    assert len(set(RISK_CODES)) == len(RISK_CODES)


def test_docs_risk_md_explains_every_signal_in_chinese_and_english() -> None:
    from tests.conftest import REPO

    text = (REPO / "docs" / "risk.md").read_text(encoding="utf-8")
    for code in RISK_CODES:
        zh, en = RISK_WORDS[code]
        assert f"| {zh} | `{code}` |" in text, code
        assert f"| {en} | `{code}` |" in text or f"`{code}`" in text.split("in English")[-1], code


def test_severities_come_from_recon_toml() -> None:
    rules = parse_rules('[risk]\nhigh = ["AMOUNT_OUTLIER"]\nlow = ["VELOCITY"]\nwindow_days = 14\n').risk
    assert (rules.severity_of("AMOUNT_OUTLIER"), rules.severity_of("VELOCITY"), rules.severity_of("FEE_DRIFT")) == (1, 3, 2)
    assert rules.window_days == 14
    assert Rules().digest() != parse_rules("[risk]\nwindow_days = 14\n").digest(), "[risk] is in the rules hash"
    with pytest.raises(RulesError) as error:
        parse_rules('[risk]\nhigh = ["NO_SUCH"]\nrefund_rate_z = 4.5\nspeed = 1\npayout_grace_days = -1\n')
    assert len(error.value.problems) == 4


# -- worked examples ---------------------------------------------------------------------------------


def _at(day: date, hhmmss: str) -> datetime:
    h, m, s = (int(p) for p in hhmmss.split(":"))
    return datetime(day.year, day.month, day.day, h, m, s, tzinfo=UTC)


def rows(text: str) -> pl.DataFrame:
    """Channel rows: ``day`` is days before D (0 = D); ``line`` the statement line; time ``at`` on that day."""
    out = []
    for cells in table(text):
        day = D - timedelta(days=int(cells["day"]))
        channel = cells.get("channel") or "wechatpay"
        out.append({
            "business_date": day, "channel": channel, "kind": cells["kind"],
            "channel_txn_id": f"T{cells['line']}", "order_no": cells.get("order") or None,
            "amount_minor": int(cells["amount"]), "fee_minor": int(cells.get("fee") or 0), "currency": "CNY",
            "occurred_at": _at(day, cells["at"]) if cells.get("at") else None, "party": cells.get("party") or None,
            "status": cells.get("status") or None, "source_file": f"{channel}/{day:%Y%m%d}.csv",
            "source_line": int(cells["line"]),
        })  # fmt: skip
    return pl.DataFrame(out, schema=RISK_ROW_COLUMNS)


def signals(
    risk_rows: pl.DataFrame, payouts: pl.DataFrame | None = None, rules: RiskRules | None = None
) -> pl.DataFrame:
    con = duckdb.connect()
    con.register("risk_rows", risk_rows)
    con.register("risk_payouts", payouts if payouts is not None else pl.DataFrame(schema=RISK_PAYOUT_COLUMNS))
    con.register("risk_contract", pl.DataFrame(
        [{"channel": c, "fee_bps": 60.0, "settlement_lag_days": 1} for c in ("wechatpay", "alipay")],
        schema=RISK_CONTRACT_COLUMNS))  # fmt: skip
    found = risk_signals(con, D, rules or RiskRules(), "test-key")
    RiskSignal.validate(found, lazy=True)
    return found


def test_refunds_beyond_the_payment_through_another_channel_and_of_no_payment() -> None:
    found = signals(rows("""
    day | line | kind    | order | amount | channel
    3   | 2    | payment | A     | 10000  | wechatpay
    1   | 2    | refund  | A     | -6000  | wechatpay
    0   | 2    | refund  | A     | -6000  | wechatpay
    2   | 3    | payment | B     | 5000   | wechatpay
    0   | 3    | refund  | B     | -5000  | alipay
    0   | 4    | refund  | C     | -700   | wechatpay
    0   | 5    | refund  | E     | -100   | wechatpay
    40  | 9    | payment | E     | 100    | wechatpay
    """), rules=RiskRules(min_history_days=3))
    # A: ¥120 refunded of ¥100 → REFUND_EXCEEDS_PAYMENT, naming the payment and both refunds.
    # B: paid through WeChat Pay, refunded through Alipay → REFUND_OTHER_CHANNEL (not an orphan).
    # C: no payment anywhere → REFUND_ORPHAN. E: its payment is 40 days back, outside the 28-day
    # window: as far as the window knows, an orphan too (the window is the limit, and the rule says so).
    # Orphans need min_history_days earlier dates on record (here 3: days 3, 2 and 1).
    got = {(r["rule"], r["subject"]): r for r in found.iter_rows(named=True)}
    over = got[("REFUND_EXCEEDS_PAYMENT", "A")]
    assert (over["value"], over["threshold"], over["row_count"]) == (12000, 10000, 3)
    assert over["rows"] == "wechatpay/20260227.csv:2, wechatpay/20260301.csv:2, wechatpay/20260302.csv:2"
    assert got[("REFUND_OTHER_CHANNEL", "B")]["rows"] == "alipay/20260302.csv:3, wechatpay/20260228.csv:3"
    assert got[("REFUND_ORPHAN", "C")]["rows"] == "wechatpay/20260302.csv:4"
    assert ("REFUND_ORPHAN", "E") in got
    assert ("REFUND_ORPHAN", "B") not in got
    assert found["severity"].to_list() == sorted(found["severity"].to_list()), "most severe first"


def test_no_orphan_is_called_before_the_history_is_long_enough() -> None:
    found = signals(rows("""
    day | line | kind    | order | amount
    1   | 2    | payment | A     | 100
    0   | 2    | refund  | C     | -700
    """))
    # One earlier date on record (< 7): the refund's payment may simply predate the warehouse.
    assert "REFUND_ORPHAN" not in found["rule"].to_list()


def test_a_late_refund_and_an_order_paid_through_two_channels() -> None:
    found = signals(rows("""
    day | line | kind    | order | amount | channel
    25  | 2    | payment | L     | 25800  | alipay
    0   | 2    | refund  | L     | -25800 | alipay
    1   | 3    | payment | T     | 49900  | wechatpay
    0   | 3    | payment | T     | 49900  | alipay
    0   | 4    | payment | S     | 30000  | alipay
    0   | 5    | payment | S     | 20000  | wechatpay
    """))
    # L: refunded 25 days after its payment (> 21). T: the same ¥499 through both channels.
    # S: one order paid in two parts (different amounts): a split, not a double payment.
    got = {(r["rule"], r["subject"]): r for r in found.iter_rows(named=True)}
    assert got[("REFUND_LATE", "L")]["value"] == 25
    assert got[("PAID_TWO_CHANNELS", "T")]["rows"] == "alipay/20260302.csv:3, wechatpay/20260301.csv:3"
    assert ("PAID_TWO_CHANNELS", "S") not in got


def test_velocity_and_failed_attempts_compare_a_keyed_hash_and_never_show_the_id() -> None:
    openid = "oZWa1234567890abcdefghij1a2B"
    burst = "\n".join(f"0 | {10 + k} | payment | P{k} | 990 | {openid} | 12:0{k}:00 |" for k in range(4))
    tries = "\n".join(f"0 | {20 + k} | payment | Q | 500 | buyer-2 | 13:0{k}:00 | revoked" for k in range(3))
    found = signals(rows(f"""
    day | line | kind | order | amount | party | at | status
    {burst}
    0 | 30 | payment | Z | 990 | {openid} | 12:30:00 |
    {tries}
    0 | 29 | payment | Q | 500 | buyer-2 | 13:04:00 |
    """), rules=RiskRules(velocity_count=4, failed_attempts=3))
    # 4 payments of one buyer within 10 minutes (12:00..12:03; 12:30 is outside) → VELOCITY;
    # 3 declines then a success within 10 minutes → FAILED_ATTEMPTS.
    velocity = found.filter(pl.col("rule") == "VELOCITY").row(0, named=True)
    assert (velocity["value"], velocity["row_count"]) == (4, 4)
    assert ":30" not in velocity["rows"]
    failed = found.filter(pl.col("rule") == "FAILED_ATTEMPTS").row(0, named=True)
    assert (failed["value"], failed["row_count"]) == (3, 4)
    text = found.write_csv()
    assert openid not in text and "buyer-2" not in text and openid[-4:] not in text


def test_the_fee_above_the_contract_names_the_overcharged_payments() -> None:
    found = signals(rows("""
    day | line | kind    | amount | fee
    0   | 2    | payment | 10000  | -60
    0   | 3    | payment | 10000  | -90
    0   | 4    | payment | 10000  | -60
    """))
    # fees 210 / payments 30000 = 70 bps > 60 + 2; line 3 is charged 90 where 60 bps is 60.
    fee = found.filter(pl.col("rule") == "FEE_ABOVE_CONTRACT").row(0, named=True)
    assert (fee["value"], fee["threshold"], fee["rows"]) == (70.0, 62.0, "wechatpay/20260302.csv:3")


def test_payouts_late_and_skipped() -> None:
    payouts = pl.DataFrame([
        # (recon date, settlement date, status, bank line): 02-27 paid T+3, 02-28 never, 03-01 paid T+1
        {"recon_date": date(2026, 2, 27), "settlement_date": date(2026, 2, 27), "payout_status": "in_transit"},
        {"recon_date": date(2026, 2, 28), "settlement_date": date(2026, 2, 28), "payout_status": "in_transit"},
        {"recon_date": date(2026, 3, 1), "settlement_date": date(2026, 3, 1), "payout_status": "in_transit"},
        {"recon_date": D, "settlement_date": date(2026, 2, 27), "payout_status": "matched", "bank_source_line": 5},
        {"recon_date": D, "settlement_date": date(2026, 3, 1), "payout_status": "matched", "bank_source_line": 6},
    ], schema=RISK_PAYOUT_COLUMNS).with_columns(
        channel=pl.lit("alipay"), currency=pl.lit("CNY"), net_minor=pl.lit(1000, pl.Int64),
        bank_source_file=pl.when(pl.col("bank_source_line").is_not_null()).then(pl.lit("bank/20260302.xml")),
    )  # fmt: skip
    found = signals(rows("day | line | kind | amount\n0 | 2 | payment | 100"), payouts)
    got = {(r["rule"], r["subject"]): r for r in found.iter_rows(named=True)}
    late = got[("PAYOUT_LATE", "alipay 2026-02-27")]
    assert (late["value"], late["threshold"], late["rows"]) == (3, 1, "bank/20260302.xml:5")
    skipped = got[("PAYOUT_SKIPPED", "alipay 2026-02-28")]
    assert skipped["value"] == 2 and "bank/20260302.xml:6" in skipped["rows"]


def test_amounts_piled_up_under_a_review_threshold() -> None:
    under = "\n".join(f"0 | {2 + k} | payment | {499_000 - 1000 * k}" for k in range(6))
    found = signals(rows(f"day | line | kind | amount\n{under}\n0 | 20 | payment | 501000"))
    # 6 payments within 5 % under ¥5,000 against 1 within 5 % over it: 6 >= 3 × 1 and >= 5.
    hit = found.filter(pl.col("rule") == "UNDER_THRESHOLD").row(0, named=True)
    assert (hit["value"], hit["threshold"], hit["row_count"]) == (6, 3, 6)


def test_nothing_after_the_date_is_read() -> None:
    history = rows("""
    day | line | kind    | order | amount
    1   | 2    | payment | A     | 10000
    0   | 2    | refund  | A     | -6000
    """)
    later = rows("day | line | kind | order | amount\n0 | 3 | refund | A | -6000").with_columns(
        business_date=pl.lit(D + timedelta(days=1)))
    assert signals(history).equals(signals(pl.concat([history, later])))
    assert signals(history).schema == pl.Schema(RISK_SCHEMA)
