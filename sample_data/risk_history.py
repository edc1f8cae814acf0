"""A seeded multi-week history of reconciled days, with money leaks injected and their answer key (issue 10).

The daily generator (``sample_data.generate``) writes statement files for the flow; the risk signals
read what the flow *leaves behind*: the warehouse's channel rows and settlement lines of many dates.
This module generates that history directly, in the relations ``transforms.risk`` reads
(``risk_rows``, ``risk_payouts``, ``risk_contract``), so that weeks of days are cheap to test:

- two channels (WeChat Pay, Alipay), ``days`` dates from ``start``, 150-250 payments a channel a day
  with log-normal amounts (median ¥100), the contracted fee (60 bps, half up), about 3 % refunded
  within ten days, each payment by one of a few thousand buyers (an openid), a few failed attempts,
  and every payout credited on T+1;
- with ``leaks=True``, each pattern of :data:`PATTERNS` injected on its dates (over several weeks)
  and written into the answer key: the date it must show, the rule, the channel and the rows behind
  it (``source_file:source_line``) that the signal must name.

    python -m sample_data.risk_history --seed 7 --out /tmp/history   # writes the three Parquet files + answers.csv
"""

from __future__ import annotations

import argparse
import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import polars as pl

# The relations of transforms/risk.py, spelled out again: sample_data imports nothing of the pipeline
# (tests/test_layers.py); tests/sample_data/test_risk_history.py checks they are the same.
RISK_ROW_COLUMNS: dict[str, pl.DataType] = {
    "business_date": pl.Date(), "channel": pl.String(), "kind": pl.String(), "channel_txn_id": pl.String(),
    "order_no": pl.String(), "amount_minor": pl.Int64(), "fee_minor": pl.Int64(), "currency": pl.String(),
    "occurred_at": pl.Datetime("us", "UTC"), "party": pl.String(), "status": pl.String(),
    "source_file": pl.String(), "source_line": pl.Int64(), "expected_fee_minor": pl.Int64(),
    "party_hash": pl.String(),
}  # fmt: skip
RISK_PAYOUT_COLUMNS: dict[str, pl.DataType] = {
    "recon_date": pl.Date(), "settlement_date": pl.Date(), "channel": pl.String(), "currency": pl.String(),
    "net_minor": pl.Int64(), "payout_expected_minor": pl.Int64(), "payout_received_minor": pl.Int64(),
    "payout_status": pl.String(), "bank_source_file": pl.String(), "bank_source_line": pl.Int64(),
}  # fmt: skip
RISK_CONTRACT_COLUMNS: dict[str, pl.DataType] = {
    "channel": pl.String(), "fee_bps": pl.Float64(), "settlement_lag_days": pl.Int64(),
}  # fmt: skip
START = date(2026, 2, 2)
DAYS = 35
CHANNELS = ("wechatpay", "alipay")
FEE_BPS = 60
#: Every injected pattern: the rule that must find it (the answer key's ``rule``).
PATTERNS = (
    "REFUND_RATE_AMOUNT", "REFUND_RATE_COUNT", "REFUND_EXCEEDS_PAYMENT", "REFUND_LATE", "REFUND_ORPHAN",
    "REFUND_OTHER_CHANNEL", "PAID_TWO_CHANNELS", "FEE_ABOVE_CONTRACT", "FEE_DRIFT", "PAYOUT_LATE",
    "PAYOUT_SKIPPED", "VELOCITY", "FAILED_ATTEMPTS", "AMOUNT_OUTLIER", "UNDER_THRESHOLD",
)  # fmt: skip
_OPENID_CHARS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_-"


@dataclass(frozen=True)
class Answer:
    """One injected pattern: on ``business_date`` rule ``rule`` must fire for ``channel``, naming ``rows``."""

    business_date: date
    rule: str
    channel: str
    rows: tuple[str, ...]
    note: str


@dataclass
class RiskHistory:
    """The generated history: the three relations and the answer key (empty for a clean history)."""

    rows: pl.DataFrame
    payouts: pl.DataFrame
    contract: pl.DataFrame
    answers: list[Answer] = field(default_factory=list)
    dates: tuple[date, ...] = ()


class _Day:
    """The rows of one channel statement of one date, numbered as the file's lines (header on line 1)."""

    def __init__(self, channel: str, day: date) -> None:
        self.channel, self.day = channel, day
        self.file = f"{channel}/{channel}_{day:%Y%m%d}.csv"
        self.rows: list[dict[str, object]] = []

    def add(self, kind: str, amount: int, order_no: str, at: datetime, party: str | None, *,
            fee_bps: float = FEE_BPS, status: str = "succeeded") -> str:  # fmt: skip
        line = len(self.rows) + 2
        paid = kind == "payment" and status == "succeeded"
        fee = -_fee(amount, Decimal(str(fee_bps))) if paid else 0
        expected = -_fee(amount, Decimal(FEE_BPS)) if kind == "payment" else None
        self.rows.append({
            "business_date": self.day, "channel": self.channel, "kind": kind,
            "channel_txn_id": f"{self.channel[:2].upper()}{self.day:%Y%m%d}{line:06d}", "order_no": order_no,
            "amount_minor": amount, "fee_minor": fee, "currency": "CNY", "occurred_at": at, "party": party,
            "status": status, "source_file": self.file, "source_line": line, "expected_fee_minor": expected,
        })  # fmt: skip
        return f"{self.file}:{line}"


def _fee(amount: int, bps: Decimal) -> int:
    """``|amount| × bps / 10000`` rounded half up to the minor unit, exactly (no float touches money)."""
    return int((Decimal(abs(amount)) * bps / 10_000).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _at(day: date, seconds: int) -> datetime:
    """``seconds`` into the business date ``day`` (Asia/Shanghai, UTC+8), as a UTC time."""
    return datetime(day.year, day.month, day.day, tzinfo=UTC) - timedelta(hours=8) + timedelta(seconds=seconds)


def _openid(rng: random.Random) -> str:
    return "o" + "".join(rng.choice(_OPENID_CHARS) for _ in range(27))


def generate_history(seed: int = 7, *, start: date = START, days: int = DAYS, leaks: bool = True) -> RiskHistory:
    """A history of ``days`` dates from ``start``; with ``leaks``, every pattern of :data:`PATTERNS` injected."""
    rng = random.Random(seed)
    buyers = [_openid(rng) for _ in range(4000)]
    dates = tuple(start + timedelta(days=n) for n in range(days))
    statements = {(c, d): _Day(c, d) for d in dates for c in CHANNELS}
    paid: dict[str, list[tuple[date, str, int]]] = {c: [] for c in CHANNELS}  # payments a refund may pick
    answers: list[Answer] = []
    at = _at

    def day_of(n: int) -> date:
        return dates[n]

    # The injections that change how a whole day is generated (its fee rate, its refunds).
    fee_rate = {(c, d): float(FEE_BPS) for c in CHANNELS for d in dates}
    extra_refunds: dict[tuple[str, date], int] = {}
    if leaks:
        for n in (days - 7, days - 6):  # WeChat Pay charges 65 bps for two days
            fee_rate[("wechatpay", day_of(n))] = 65.0
        for n in range(days - 12, days):  # Alipay creeps up to 61.5 bps: inside the tolerance, a drift
            fee_rate[("alipay", day_of(n))] = 61.5
        for n in (days - 15, days - 5):  # Alipay refunds a quarter of a week's payments, twice
            extra_refunds[("alipay", day_of(n))] = 45

    for d in dates:
        for channel in CHANNELS:
            sheet = statements[(channel, d)]
            for i in range(rng.randint(150, 250)):
                amount = max(100, min(int(rng.lognormvariate(9.21, 0.8)), 300_000))  # median ~ ¥100
                order = f"O{d:%Y%m%d}{channel[0].upper()}{i:05d}"
                when = at(d, rng.randint(0, 86_399))
                party = rng.choice(buyers)
                if rng.random() < 0.01:  # a declined attempt before the payment goes through
                    sheet.add("payment", amount, order, when - timedelta(seconds=30), party, status="revoked")
                sheet.add("payment", amount, order, when, party, fee_bps=fee_rate[(channel, d)])
                paid[channel].append((d, order, amount))
            # About 3 % of the last ten days' payments are refunded today, some in part.
            recent = [p for p in paid[channel] if 0 < (d - p[0]).days <= 10]
            count = int(len(recent) / 10 * 0.03) + rng.randint(-2, 2)
            count += extra_refunds.get((channel, d), 0)
            for picked in rng.sample(recent, min(max(count, 0), len(recent))):
                paid[channel].remove(picked)  # refunded once: never refunded again (a clean history)
                _, order, amount = picked
                share = amount if rng.random() < 0.7 else max(1, amount * rng.randint(20, 90) // 100)
                sheet.add("refund", -share, order, at(d, rng.randint(0, 86_399)), None)
            if (channel, d) in extra_refunds:
                refunds = tuple(f"{sheet.file}:{r['source_line']}" for r in sheet.rows if r["kind"] == "refund")
                for rule in ("REFUND_RATE_AMOUNT", "REFUND_RATE_COUNT"):
                    answers.append(Answer(d, rule, channel, refunds, "a quarter of a week's payments refunded"))

    if leaks:
        answers += _inject_rows(rng, statements, dates, buyers)
    rows = pl.DataFrame([r for key in sorted(statements, key=lambda k: (k[1], k[0])) for r in statements[key].rows],
                        schema=RISK_ROW_COLUMNS)  # fmt: skip
    payouts, payout_answers = _payouts(rows, dates, leaks)
    contract = pl.DataFrame([{"channel": c, "fee_bps": float(FEE_BPS), "settlement_lag_days": 1} for c in CHANNELS],
                            schema=RISK_CONTRACT_COLUMNS)  # fmt: skip
    fee_answers = []
    if leaks:
        for n in (days - 7, days - 6):  # the rows behind: the payments charged more than 60 bps allows
            sheet = statements[("wechatpay", day_of(n))]
            over = tuple(f"{sheet.file}:{r['source_line']}" for r in sheet.rows
                         if r["kind"] == "payment" and r["status"] == "succeeded"
                         and -int(r["fee_minor"]) > _fee(int(r["amount_minor"]), Decimal(FEE_BPS)))  # type: ignore[call-overload]
            fee_answers.append(Answer(sheet.day, "FEE_ABOVE_CONTRACT", "wechatpay", over, "charged 65 bps, contract 60"))
        sheet = statements[("alipay", day_of(days - 1))]
        today = tuple(f"{sheet.file}:{r['source_line']}" for r in sheet.rows
                      if r["kind"] == "payment" and r["status"] == "succeeded")  # fmt: skip
        fee_answers.append(Answer(sheet.day, "FEE_DRIFT", "alipay", today, "fee rate crept up to 61.5 bps over twelve days"))
    return RiskHistory(rows=rows, payouts=payouts, contract=contract,
                       answers=sorted([*answers, *payout_answers, *fee_answers],
                                      key=lambda a: (a.business_date, a.rule, a.channel)),
                       dates=dates)  # fmt: skip


def _inject_rows(
    rng: random.Random, statements: dict[tuple[str, date], _Day], dates: tuple[date, ...], buyers: list[str]
) -> list[Answer]:
    """Rows that make a pattern by themselves (an order refunded twice over, a burst of one buyer, ...)."""
    n = len(dates)
    answers = []

    def sheet(channel: str, k: int) -> _Day:
        return statements[(channel, dates[k])]

    def stamp(k: int, seconds: int) -> datetime:
        return _at(dates[k], seconds)

    # Refunds that outgrow their payment: ¥100 paid, ¥60 refunded twice, a week apart.
    a = sheet("wechatpay", n - 20).add("payment", 10_000, "LEAK-OVER-1", stamp(n - 20, 40_000), rng.choice(buyers))
    b = sheet("wechatpay", n - 19).add("refund", -6_000, "LEAK-OVER-1", stamp(n - 19, 40_000), None)
    c = sheet("wechatpay", n - 13).add("refund", -6_000, "LEAK-OVER-1", stamp(n - 13, 40_000), None)
    answers.append(Answer(dates[n - 13], "REFUND_EXCEEDS_PAYMENT", "wechatpay", (a, b, c), "¥120 refunded of ¥100"))
    # A refund 25 days after its payment.
    a = sheet("alipay", n - 33).add("payment", 25_800, "LEAK-LATE-1", stamp(n - 33, 30_000), rng.choice(buyers))
    b = sheet("alipay", n - 8).add("refund", -25_800, "LEAK-LATE-1", stamp(n - 8, 30_000), None)
    answers.append(Answer(dates[n - 8], "REFUND_LATE", "alipay", (a, b), "refunded 25 days after payment"))
    # A refund of an order no channel ever took.
    a = sheet("wechatpay", n - 11).add("refund", -38_800, "LEAK-ORPHAN-1", stamp(n - 11, 50_000), None)
    answers.append(Answer(dates[n - 11], "REFUND_ORPHAN", "wechatpay", (a,), "refund of an order never paid"))
    # Paid through WeChat Pay, refunded through Alipay.
    a = sheet("wechatpay", n - 17).add("payment", 15_600, "LEAK-CROSS-1", stamp(n - 17, 20_000), rng.choice(buyers))
    b = sheet("alipay", n - 16).add("refund", -15_600, "LEAK-CROSS-1", stamp(n - 16, 20_000), None)
    answers.append(Answer(dates[n - 16], "REFUND_OTHER_CHANNEL", "alipay", (b, a), "refund through the other channel"))
    # The same order paid through both channels.
    buyer = rng.choice(buyers)
    a = sheet("wechatpay", n - 10).add("payment", 49_900, "LEAK-TWICE-1", stamp(n - 10, 36_000), buyer)
    b = sheet("alipay", n - 10).add("payment", 49_900, "LEAK-TWICE-1", stamp(n - 10, 36_100), buyer)
    answers.append(Answer(dates[n - 10], "PAID_TWO_CHANNELS", "alipay, wechatpay", (a, b), "paid twice, two channels"))
    # One buyer pays thirty times in eight minutes (a card-testing or cash-out burst).
    buyer = rng.choice(buyers)
    burst = tuple(sheet("wechatpay", n - 14).add("payment", 990 + k, f"LEAK-BURST-{k}", stamp(n - 14, 70_000 + 16 * k),
                                                 buyer) for k in range(30))  # fmt: skip
    answers.append(Answer(dates[n - 14], "VELOCITY", "wechatpay", burst, "30 payments of one buyer in 8 minutes"))
    # Six declined attempts, then one that goes through.
    buyer = rng.choice(buyers)
    tries = tuple(sheet("alipay", n - 9).add("payment", 88_800, "LEAK-TRY-1", stamp(n - 9, 60_000 + 40 * k), buyer,
                                             status="revoked") for k in range(6))  # fmt: skip
    ok = sheet("alipay", n - 9).add("payment", 88_800, "LEAK-TRY-1", stamp(n - 9, 60_300), buyer)
    answers.append(Answer(dates[n - 9], "FAILED_ATTEMPTS", "alipay", (*tries, ok), "six declines, then a payment"))
    # One payment three hundred times the usual.
    a = sheet("wechatpay", n - 12).add("payment", 3_000_000, "LEAK-BIG-1", stamp(n - 12, 45_000), rng.choice(buyers))
    answers.append(Answer(dates[n - 12], "AMOUNT_OUTLIER", "wechatpay", (a,), "¥30,000 against a typical ¥100"))
    # Twelve payments just under the ¥5,000 review threshold.
    under = tuple(sheet("alipay", n - 4).add("payment", 499_900 - 1_700 * k, f"LEAK-UNDER-{k}", stamp(n - 4, 30_000 + 600 * k),
                                             rng.choice(buyers)) for k in range(12))  # fmt: skip
    answers.append(Answer(dates[n - 4], "UNDER_THRESHOLD", "alipay", under, "12 payments just under ¥5,000"))
    return answers


def _payouts(rows: pl.DataFrame, dates: tuple[date, ...], leaks: bool) -> tuple[pl.DataFrame, list[Answer]]:
    """Each date's own settlement line, and its payout credited on T+1 (with the payout leaks, if asked)."""
    ok = rows.filter(pl.col("status") == "succeeded")
    net = ok.group_by("channel", "business_date", "currency").agg(
        net_minor=(pl.col("amount_minor") + pl.col("fee_minor")).sum()
    ).sort("business_date", "channel")
    n = len(dates)
    late = {("wechatpay", dates[n - 15]): 3} if leaks else {}  # arrives T+3
    skipped = {("alipay", dates[n - 7])} if leaks else set()  # never arrives
    lines: list[dict[str, object]] = []
    answers: list[Answer] = []
    bank_line: dict[date, int] = {}
    for channel, day, currency, amount in net.iter_rows():
        lines.append({"recon_date": day, "settlement_date": day, "channel": channel, "currency": currency,
                      "net_minor": amount, "payout_expected_minor": amount, "payout_received_minor": None,
                      "payout_status": "in_transit", "bank_source_file": None, "bank_source_line": None})  # fmt: skip
        if (channel, day) in skipped:
            continue
        arrives = day + timedelta(days=late.get((channel, day), 1))
        if arrives > dates[-1]:
            continue
        line = bank_line[arrives] = bank_line.get(arrives, 1) + 1
        bank_file = f"bank/bank_{arrives:%Y%m%d}.xml"
        lines.append({"recon_date": arrives, "settlement_date": day, "channel": channel, "currency": currency,
                      "net_minor": amount, "payout_expected_minor": amount, "payout_received_minor": amount,
                      "payout_status": "matched", "bank_source_file": bank_file, "bank_source_line": line})  # fmt: skip
        if (channel, day) in late:
            answers.append(Answer(arrives, "PAYOUT_LATE", channel, (f"{bank_file}:{line}",), "payout arrived T+3"))
    if leaks:
        gap = dates[n - 7]
        later = next(r for r in lines if r["channel"] == "alipay" and r["settlement_date"] == gap + timedelta(days=1)
                     and r["payout_status"] == "matched")  # fmt: skip
        answers.append(Answer(later["recon_date"], "PAYOUT_SKIPPED", "alipay",  # type: ignore[arg-type,unused-ignore]
                              (f"{later['bank_source_file']}:{later['bank_source_line']}",),
                              f"no payout of {gap}, the next day's arrived"))  # fmt: skip
    return pl.DataFrame(lines, schema=RISK_PAYOUT_COLUMNS), answers


def main(argv: list[str] | None = None) -> int:
    """Write a history (``risk_rows.parquet``, ``risk_payouts.parquet``, ``risk_contract.parquet``) and ``answers.csv``."""
    parser = argparse.ArgumentParser(prog="python -m sample_data.risk_history", description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--days", type=int, default=DAYS)
    parser.add_argument("--clean", action="store_true", help="no leaks injected")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    history = generate_history(args.seed, days=args.days, leaks=not args.clean)
    args.out.mkdir(parents=True, exist_ok=True)
    history.rows.write_parquet(args.out / "risk_rows.parquet")
    history.payouts.write_parquet(args.out / "risk_payouts.parquet")
    history.contract.write_parquet(args.out / "risk_contract.parquet")
    pl.DataFrame([{**a.__dict__, "rows": ", ".join(a.rows)} for a in history.answers]).write_csv(args.out / "answers.csv")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
