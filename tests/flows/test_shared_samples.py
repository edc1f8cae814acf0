"""The public sample statements end to end: the money trail from channel bill to bank credit.

The WeChat sample bill was written at 0.38 % and the Alipay one at 0.60 % (formats/README.md), so the
test's recon.toml says so. The ledger fixture books every sample row (33 rows); the camt.053 sample,
booked 2026-03-03, carries the 2026-03-02 WeChat settlement (3157.24) and Alipay withdrawal (3580.67).
"""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from flows.config import load_rules
from tests.conftest import FIXTURES
from tests.helpers import run_day

pytestmark = pytest.mark.usefixtures("prefect_harness")

FORMATS = FIXTURES / "formats"
RULES = """
expected = ["wechatpay", "alipay", "bank"]
[channels.wechatpay]
fee_bps = "38"
payout_reference = 'WECHAT PAY SETTLEMENT (?P<account>\\d+) (?P<date>\\d{8})'
[channels.alipay]
fee_bps = "60"
payout_reference = 'ALIPAY WITHDRAWAL (?P<account>\\d+) (?P<date>\\d{8})'
"""


def test_sample_statements_reconcile_and_their_payouts_arrive(tmp_path: Path) -> None:
    day1, day2 = tmp_path / "inbox" / "2026-03-02", tmp_path / "inbox" / "2026-03-03"
    for folder in ("wechatpay", "alipay", "ledger"):
        (day1 / folder).mkdir(parents=True)
    for folder in ("bank", "ledger"):
        (day2 / folder).mkdir(parents=True)
    shutil.copy(FORMATS / "wechatpay_tradebill_ALL_20260302.csv", day1 / "wechatpay")
    shutil.copy(FORMATS / "alipay_20886413579246800156_20260302.csv.zip", day1 / "alipay")
    shutil.copy(FIXTURES / "shared_samples_ledger_20260302.csv", day1 / "ledger" / "ledger.csv")
    shutil.copy(FORMATS / "camt053_SAMPLEBANK_20260303.xml", day2 / "bank")
    (day2 / "ledger" / "ledger.csv").write_text(
        "entry_id,order_no,payment_id,channel,channel_txn_id,kind,amount,currency,status,booked_at\n", encoding="utf-8"
    )
    (tmp_path / "recon.toml").write_text(RULES, encoding="utf-8")
    rules, _ = load_rules(tmp_path, None)

    first = run_day(date(2026, 3, 2), tmp_path, rules)
    channel_and_ledger = first.outcomes().filter(pl.col("source") != "bank")
    assert channel_and_ledger.height == 17 + 16 + 33
    assert channel_and_ledger["outcome"].unique().to_list() == ["matched"]
    own = first.report.settlement.filter(pl.col("settlement_date") == date(2026, 3, 2))
    # WeChat: 3615.19 − 445.90 − 12.05; Alipay: 3945.30 − 343.00 − 21.63 (formats/README.md, Money trail).
    assert dict(own.select("channel", "net_minor").iter_rows()) == {"wechatpay": 315724, "alipay": 358067}
    assert first.report.problems == ("bank: statement missing",)

    second = run_day(date(2026, 3, 3), tmp_path, rules)
    bank = second.outcomes().filter(pl.col("source") == "bank")
    by_outcome = dict(bank.group_by("outcome").agg(pl.col("channel_txn_id").sort()).iter_rows())
    assert by_outcome == {
        "matched": ["AP0303WDR0001", "WX0303STL0001"],
        # supplier payments, charges, interest, a customer transfer, and Stripe/PayPal payouts of
        # channels this config does not reconcile: nothing explains them.
        "unexplained": sorted(
            ["DB0303SUP0128", "CH0303FEE0028", "CR0303B2B0360", "ST0303PO00001", "PP0303WDR0001",
             "CH0303INW0002", "DB0303WIR0145", "IN0303INT0001"]
        ),
    }
    paid = second.report.settlement.filter(pl.col("settlement_date") == date(2026, 3, 2))
    assert paid["payout_diff_minor"].to_list() == [0, 0]


ABROAD_RULES = RULES.replace('expected = ["wechatpay", "alipay", "bank"]',
                             'expected = ["wechatpay", "alipay", "stripe", "paypal", "bank"]') + """
[channels.stripe]
fee_bps = "290"
fee_fixed_minor = 30
refund_fee = "none"
payout_reference = 'STRIPE PAYOUT (?P<ref>po[_-][0-9A-Za-z]+)'
[channels.stripe.fee_by_currency.EUR]
fee_bps = "540"
fee_fixed_minor = 30
[channels.paypal]
fee_bps = "299"
fee_fixed_minor = 49
payout_basis = "withdrawals"
payout_reference = 'PAYPAL TRANSFER (?P<ref>[0-9A-Za-z]+)'
[channels.paypal.fee_by_currency.EUR]
fee_bps = "449"
fee_fixed_minor = 39
"""


def test_every_shared_format_reconciles_and_each_payout_is_followed_to_the_bank(tmp_path: Path) -> None:
    """WeChat Pay, Alipay, Stripe (a EUR-presented charge, a dispute, a Radar fee) and PayPal (a EUR
    payment converted to USD, a withdrawal) on 2026-03-02; the MT940 rendering of the bank statement on
    2026-03-03 carries all four payouts (formats/README.md, Money trail)."""
    day1, day2 = tmp_path / "inbox" / "2026-03-02", tmp_path / "inbox" / "2026-03-03"
    for folder in ("wechatpay", "alipay", "stripe", "paypal", "ledger"):
        (day1 / folder).mkdir(parents=True)
    for folder in ("bank", "ledger"):
        (day2 / folder).mkdir(parents=True)
    shutil.copy(FORMATS / "wechatpay_tradebill_ALL_20260302.csv", day1 / "wechatpay")
    shutil.copy(FORMATS / "alipay_20886413579246800156_20260302.csv.zip", day1 / "alipay")
    shutil.copy(FORMATS / "stripe_balance_change_from_activity_itemized_20260302.csv", day1 / "stripe")
    shutil.copy(FORMATS / "paypal_STL-20260302.01.009.CSV", day1 / "paypal")
    shutil.copy(FIXTURES / "shared_samples_ledger_20260302.csv", day1 / "ledger" / "ledger.csv")
    shutil.copy(FIXTURES / "shared_samples_ledger_20260302_abroad.csv", day1 / "ledger" / "ledger_abroad.csv")
    shutil.copy(FORMATS / "mt940_SAMPLEBANK_20260303.sta", day2 / "bank")
    (day2 / "ledger" / "ledger.csv").write_text(
        "entry_id,order_no,payment_id,channel,channel_txn_id,kind,amount,currency,status,booked_at\n", encoding="utf-8"
    )
    (tmp_path / "recon.toml").write_text(ABROAD_RULES, encoding="utf-8")
    rules, _ = load_rules(tmp_path, None)

    first = run_day(date(2026, 3, 2), tmp_path, rules)
    rows = first.outcomes().filter(pl.col("source") != "bank")
    outcome_of = dict(rows.group_by("channel", "outcome").len().select(pl.concat_str("channel", "outcome", separator=":"), "len").iter_rows())
    # Every payment and refund on both sides is matched, fees as contracted (Stripe's cross-border
    # 5.4 % + 30¢ on the settled USD, PayPal's EUR 4.49 % + €0.39, refunds per contract).
    assert outcome_of == {
        "wechatpay:matched": 17 + 17, "alipay:matched": 16 + 16,
        "stripe:matched": 15 + 15, "stripe:settlement_item": 1, "stripe:missing_in_ledger": 1,
        "paypal:matched": 15 + 15, "paypal:settlement_item": 3,
    }
    dispute = rows.filter(pl.col("outcome") == "missing_in_ledger").row(0, named=True)
    assert (dispute["kind"], dispute["reason_code"], dispute["amount_minor"]) == ("adjustment", "CHANNEL_ADJUSTMENT", -11850)
    eur = rows.filter((pl.col("channel") == "stripe") & (pl.col("currency") == "EUR") & (pl.col("source") == "channel"))
    assert eur.select("amount_minor", "fee_minor", "expected_fee_minor").row(0) == (8400, -522, -522)
    own = first.report.settlement.filter(pl.col("settlement_date") == date(2026, 3, 2))
    lines = {(r["channel"], r["currency"]): r for r in own.iter_rows(named=True)}
    assert lines["stripe", "USD"]["net_minor"] == 127477 == lines["stripe", "USD"]["payout_expected_minor"]
    # PayPal: USD net of the day, of which 2000.00 was withdrawn; the EUR balance converts to nothing left.
    assert lines["paypal", "USD"]["withdrawn_minor"] == -200000 == -lines["paypal", "USD"]["payout_expected_minor"]
    assert (lines["paypal", "EUR"]["net_minor"], lines["paypal", "EUR"]["payout_expected_minor"]) == (0, 0)
    items = pl.read_parquet(first.reports_dir / "open_items.parquet").filter(pl.col("source") == "payout")
    assert sorted(zip(items["channel"], items["currency"], items["amount_minor"], strict=True)) == [
        ("alipay", "CNY", 358067), ("paypal", "USD", 200000), ("stripe", "USD", 127477), ("wechatpay", "CNY", 315724)]

    second = run_day(date(2026, 3, 3), tmp_path, rules)
    bank = second.outcomes().filter(pl.col("source") == "bank")
    matched = bank.filter(pl.col("outcome") == "matched").sort("channel")
    assert matched.select("channel", "channel_txn_id").rows() == [
        ("alipay", "AP0303WDR0001"), ("paypal", "PP0303WDR0001"), ("stripe", "ST0303PO00001"), ("wechatpay", "WX0303STL0001")]
    assert bank.filter(pl.col("outcome") == "unexplained").height == 6  # supplier payments, charges, interest...
    paid = second.report.settlement.filter(pl.col("settlement_date") == date(2026, 3, 2))
    assert sorted(paid["payout_status"]) == ["matched"] * 4 and set(paid["payout_diff_minor"]) == {0}
    assert pl.read_parquet(second.reports_dir / "open_items.parquet").filter(pl.col("source") == "payout").height == 0
