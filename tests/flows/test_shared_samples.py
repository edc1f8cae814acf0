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
