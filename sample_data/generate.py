"""Seeded sample-data generator for ``recon``, with the answer key of every row it writes.

The generator plans each business date first (which channel rows, ledger rows and bank entries exist,
and which outcome each must get), then renders the files from that plan. The answer key is written
from the plan alone: nothing here imports ``transforms/``, ``flows/`` or ``schemas/``, so a pipeline
run on the generated inbox can be checked against it. Money is integer fen everywhere (no float).
Same arguments give byte-identical files (``random.Random(seed)`` only, no wall clock, fixed zip
timestamps).

Configuration the pipeline is expected to run with (the packaged default):

* time zone ``Asia/Shanghai``; channels expected every day: ``wechatpay``, ``alipay``, ``bank``;
* WeChat Pay and Alipay contracted fee 60 bps, rounded half-up to the fen on the magnitude: a
  payment pays ``round_half_up(amount × 0.006)``, a refund gets the same on the refund amount back;
* amount tolerance 0; in-transit cutoff 30 minutes (a ledger row booked at or after 23:30:00 local
  time with no channel row is ``in_transit``);
* bank credit references: WeChat ``WECHAT PAY SETTLEMENT <mchid> <yyyymmdd>`` (T+1 settlement of that
  date), Alipay ``ALIPAY WITHDRAWAL <alipay account> <yyyymmdd>`` (withdrawal of that date's 实收净额).

Connected days (more than one date generated): on every date but the last, each channel gets two
payments that cross midnight, planned with their own random stream so that the rest of the day is
unchanged: one booked in the ledger at 23:59:4x on D and paid at the channel at 00:00:xx on D+1
(``in_transit`` on D, its channel row ``resolved_late`` on D+1), and one paid at the channel at
23:59:4x on D and booked at 00:00:xx on D+1 (``missing_in_ledger`` on D, its ledger row
``resolved_late`` on D+1). A missing or rejected statement on either date changes them as the
pipeline must (a ledger row whose channel row never arrived is ``missing_in_channel``).

Output layout under ``out``::

    inbox/<YYYY-MM-DD>/wechatpay/wechatpay_tradebill_ALL_<yyyymmdd>.csv
    inbox/<YYYY-MM-DD>/alipay/<acct>_<yyyymmdd>.csv.zip        (even day index: the download zip)
    inbox/<YYYY-MM-DD>/alipay/<acct>_<yyyymmdd>_业务明细.csv     (odd day index: the two bare CSVs)
    inbox/<YYYY-MM-DD>/alipay/<acct>_<yyyymmdd>_业务明细(汇总).csv
    inbox/<YYYY-MM-DD>/ledger/ledger_<yyyymmdd>.csv             (.parquet on day index 3 of each week;
                                                                 on the last day of a 3-day run)
    inbox/<YYYY-MM-DD>/bank/camt053_<yyyymmdd>.xml              (booked on D, payouts of D-1)
    answers/<YYYY-MM-DD>.csv

Answer key (UTF-8, LF): ``source,source_file,source_line,outcome,key,scenario``, one line per data row
of that date's inbox (channel statement rows, ledger rows, bank entries). ``source_file`` is relative to
``inbox/<date>/`` (``alipay/x.csv.zip!x_业务明细.csv`` for an archive member); ``source_line`` is the
1-based physical line in the decoded file (a Parquet row number; for camt.053 the line of ``<Ntry>``);
``key`` is the channel_txn_id (refund id on refund rows), the entry_id or the AcctSvcrRef. Rows whose
outcome changed because their channel's statement was missing or rejected carry the scenario suffix
``/statement_missing`` or ``/statement_rejected``.
"""

from __future__ import annotations

import argparse
import csv
import io
import random
import shutil
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

from sample_data import render_statements as rs

WECHAT_MCHID = "1734502688"
WECHAT_APPID = "wx3b9e0c5d7a2f4618"
ALIPAY_ACCOUNT = "20886413579246800156"
BANK_ACCOUNT = "6200881234"
BANK_BIC = "SMPLHKHHXXX"
BANK_OWNER = "ZHIZHU HOME LIVING CO LTD"
FEE_BPS = 60
CHANNELS = ("wechatpay", "alipay")
STATEMENT_CHANNELS = ("wechatpay", "alipay", "bank")
DAY_START = 30 * 60  # 00:30:00: rows outside the in-transit window avoid 00:00-00:30 ...
DAY_LAST = 23 * 3600 + 29 * 60  # ... and 23:30-24:00 (channel rows come up to 12 s after booking)
CUTOFF = 23 * 3600 + 30 * 60  # 23:30:00 local, the in-transit cutoff
ANSWER_HEADER = ("source", "source_file", "source_line", "outcome", "key", "scenario")

PRODUCTS = (
    "香薰蜡烛",
    "竹制杯垫",
    "亚麻窗帘",
    "会员体验卡",
    "桌面收纳架",
    "陶瓷花瓶",
    "收纳盒",
    "实木边几",
    "棉麻抱枕",
    "床头灯",
    "晾衣夹",
    "羊毛地毯",
    "浴室防滑垫",
    "玻璃储物罐",
    "折叠餐桌",
    "杯刷",
    "竹编果篮",
    "藤编坐垫",
    "手工皂",
    "全棉毛巾",
    "铸铁锅",
    "木质衣架",
    "香薰扩香石",
    "桌布",
)
SURNAMES = "婷峰楠军琳宇慧丽伟芳磊静敏强洁涛霞明超秀娟杰"
MAIL_HOSTS = ("qq.com", "126.com", "163.com", "sina.com", "foxmail.com")
TRADE_TYPES = ("JSAPI", "JSAPI", "JSAPI", "NATIVE", "APP", "MWEB", "MICROPAY")
BANKS = (
    "OTHERS",
    "OTHERS",
    "OTHERS",
    "CMB_DEBIT",
    "ICBC_DEBIT",
    "CCB_CREDIT",
    "BOC_CREDIT",
    "ABC_DEBIT",
    "CMB_CREDIT",
    "SPDB_CREDIT",
)
OPENID_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

# Scenarios planned on every channel-day (rows_per_channel >= 50); below that each goes to one channel.
SPECIAL_SCENARIOS = (
    "coupon_payment",
    "partial_refunds",
    "refund_of_earlier_payment",
    "refund_processing",  # WeChat only (Alipay refund lines have no status)
    "fallback_payment",
    "fallback_refund",
    "amount_mismatch",
    "currency_mismatch",
    "status_mismatch_failed",
    "status_mismatch_pending",
    "fee_mismatch_rate",
    "fee_mismatch_one_fen",
    "missing_in_ledger",
    "missing_in_channel",
    "in_transit_late_booking",
    "void_failed",
    "void_pending",
    "duplicate_channel_line",
    "duplicate_ledger_entry",
    "refunds_booked_as_one",
    "quarantined_amount_thousands_sep",
    "quarantined_amount_three_decimals",
    "quarantined_amount_currency_symbol",
    "quarantined_currency_rmb",
    "quarantined_booked_at_no_offset",
    "quarantined_channel_unknown",
)


def contracted_fee(amount: int, bps: int = FEE_BPS) -> int:
    """Contracted fee magnitude in fen: amount × bps / 10000, rounded half-up (integer arithmetic).

    Args:
        amount: Positive amount in fen.
        bps: Rate in basis points.

    Returns:
        The fee magnitude in fen.
    """
    return (amount * bps + 5000) // 10000


# ------------------------------------------------------------------------------------------ plan model


@dataclass(slots=True)
class ChRow:
    """One planned channel statement line (amount and fee are magnitudes in fen)."""

    channel: str
    kind: str  # payment | refund
    order_no: str
    pay_txn_id: str  # 微信订单号 / 支付宝交易号 (the original payment's on refund lines)
    refund_id: str  # 微信退款单号 / 退款批次号 ("" on payments)
    merchant_refund_no: str  # WeChat 商户退款单号
    payment_id: str  # our payment id (not written)
    amount: int
    discount: int
    fee: int
    rate_text: str
    t: int  # seconds after local midnight of D (交易时间 / 完成时间)
    time_text: str
    created_text: str  # Alipay 创建时间
    refund_status: str
    product: str
    buyer: str
    trade_type: str
    bank: str
    scenario: str
    outcome: str

    @property
    def key(self) -> str:
        """The channel_txn_id of this line: the refund id on refunds, the payment id otherwise."""
        return self.refund_id if self.kind == "refund" else self.pay_txn_id


@dataclass(slots=True)
class LedRow:
    """One planned ledger export row (all values as written)."""

    plan_channel: str  # the channel whose plan produced it (``channel`` may be a bad value)
    order_no: str
    payment_id: str
    channel: str
    channel_txn_id: str
    kind: str
    amount: str
    currency: str
    status: str
    booked_at: str
    t: int
    scenario: str
    outcome: str
    entry_id: str = ""
    twice: bool = False  # written twice (same entry_id): a ledger-side duplicate


@dataclass(slots=True)
class DayPlan:
    """Everything planned for one business date."""

    day: date
    index: int
    ch_rows: dict[str, list[ChRow]]
    led_rows: list[LedRow]
    net: dict[str, int] = field(default_factory=dict)
    present: dict[str, bool] = field(default_factory=dict)  # channel statement delivered and readable


class _Ids:
    """Id factories, unique across the whole generation."""

    def __init__(self, rng: random.Random) -> None:
        self.r = rng
        self.used: set[str] = set()

    def _unique(self, make: Callable[[], str]) -> str:
        while True:
            v = make()
            if v not in self.used:
                self.used.add(v)
                return v

    def wechat_txn(self, ymd: str) -> str:
        r = self.r
        return self._unique(lambda: f"4200{r.randrange(10**6):06d}{ymd}{r.randrange(10**10):010d}")

    def wechat_refund(self, ymd: str) -> str:
        r = self.r
        return self._unique(lambda: f"5030{r.randrange(10**6):06d}{ymd}{r.randrange(10**11):011d}")

    def alipay_txn(self, ymd: str) -> str:
        r = self.r
        return self._unique(lambda: f"{ymd}2200{r.randrange(10**16):016d}")


class _ChannelDay:
    """Builds the planned rows of one channel on one date."""

    def __init__(self, gen: _Generator, day: date, channel: str) -> None:
        self.g = gen
        self.r = gen.r
        self.day = day
        self.ymd = day.strftime("%Y%m%d")
        self.iso = day.isoformat()
        self.channel = channel
        self.wechat = channel == "wechatpay"
        self.ch: list[ChRow] = []
        self.led: list[LedRow] = []
        self.open_amounts: set[int] = set()
        self.order_seq = 0
        self.refund_seq = 0
        self.day_start = datetime(day.year, day.month, day.day)

    # ---------------------------------------------------------------- small helpers
    def clock(self, t: int) -> str:
        return f"{self.iso} {t // 3600:02d}:{t // 60 % 60:02d}:{t % 60:02d}"

    def booked(self, t: int, *, utc: bool | None = None) -> str:
        if utc is None:
            utc = self.r.random() < 0.05
        if utc:
            dt = self.day_start + timedelta(seconds=t - 8 * 3600)
            return dt.strftime("%Y-%m-%dT%H:%M:%SZ")
        return f"{self.iso}T{t // 3600:02d}:{t // 60 % 60:02d}:{t % 60:02d}+08:00"

    def led_amount(self, fen: int) -> str:
        s = rs.yuan(fen)
        if fen % 10 == 0 and self.r.random() < 0.15:
            s = s[:-1]  # '1234.5' style
        return s

    def price(self) -> int:
        r = self.r
        x = r.random()
        if x < 0.55:
            y = r.randint(5, 300)
        elif x < 0.9:
            y = r.randint(300, 1500)
        else:
            y = r.randint(1500, 6000)
        return y * 100 + r.choice((0, 0, 0, 0, 50, 90, 90, 80, 99, 60, r.randint(1, 99)))

    def open_amount(self, fixed: int | None = None) -> int:
        """An amount no other unmatched row of this channel-day has (no accidental fallback pairs)."""
        if fixed is not None:
            self.open_amounts.add(fixed)
            return fixed
        while True:
            a = self.price()
            if a not in self.open_amounts:
                self.open_amounts.add(a)
                return a

    def when(self, lo: int = DAY_START, hi: int = DAY_LAST) -> int:
        return self.r.randint(lo, hi)

    def order_no(self) -> str:
        self.order_seq += 1
        return f"{'ZZW' if self.wechat else 'ZZA'}{self.ymd}{self.order_seq:06d}"

    def buyer(self) -> str:
        return self.r.choice(self.g.openids if self.wechat else self.g.alipay_buyers)

    def pay_txn(self, ymd: str) -> str:
        return self.g.ids.wechat_txn(ymd) if self.wechat else self.g.ids.alipay_txn(ymd)

    # ---------------------------------------------------------------- row factories
    def payment(
        self,
        scenario: str,
        *,
        amount: int | None = None,
        discount: int = 0,
        t: int | None = None,
        outcome: str = "matched",
        fee: int | None = None,
        rate_text: str = "0.60%",
        with_ledger: bool = True,
        with_channel: bool = True,
    ) -> tuple[ChRow, LedRow]:
        r = self.r
        amount = self.price() if amount is None else amount
        t = self.when() if t is None else t
        tc = t + r.randint(2, 9)
        created = self.clock(tc - 3)
        order_no = self.order_no()
        txn = self.pay_txn(self.ymd)
        payment_id = self.g.payment_id(self.ymd)
        ch = ChRow(
            self.channel,
            "payment",
            order_no,
            txn,
            "",
            "",
            payment_id,
            amount,
            discount,
            contracted_fee(amount) if fee is None else fee,
            rate_text,
            tc,
            self.clock(tc),
            created,
            "",
            ("知竹家居-" if self.wechat else "知竹家居订单-") + r.choice(PRODUCTS),
            self.buyer(),
            r.choice(TRADE_TYPES),
            r.choice(BANKS),
            scenario,
            outcome,
        )
        led = LedRow(
            self.channel,
            order_no,
            payment_id,
            self.channel,
            txn,
            "payment",
            self.led_amount(amount),
            "CNY",
            "succeeded",
            self.booked(t),
            t,
            scenario,
            outcome,
        )
        if with_channel:
            self.ch.append(ch)
        if with_ledger:
            self.led.append(led)
        return ch, led

    def earlier_payment(self) -> ChRow:
        """A payment of an earlier date, not in any generated file, to be refunded today."""
        r = self.r
        back = self.day - timedelta(days=r.randint(3, 20))
        ymd = back.strftime("%Y%m%d")
        amount = self.price() + 20000
        tc = r.randint(8 * 3600, 22 * 3600)
        created = f"{back.isoformat()} {tc // 3600:02d}:{tc // 60 % 60:02d}:{tc % 60:02d}"
        self.g.earlier_seq += 1
        order_no = f"{'ZZW' if self.wechat else 'ZZA'}{ymd}{900000 + self.g.earlier_seq:06d}"
        return ChRow(
            self.channel,
            "payment",
            order_no,
            self.pay_txn(ymd),
            "",
            "",
            self.g.payment_id(ymd, earlier=True),
            amount,
            0,
            contracted_fee(amount),
            "0.60%",
            tc,
            created,
            created,
            "",
            ("知竹家居-" if self.wechat else "知竹家居订单-") + r.choice(PRODUCTS),
            self.buyer(),
            r.choice(TRADE_TYPES),
            r.choice(BANKS),
            "",
            "",
        )

    def refund(
        self,
        orig: ChRow,
        scenario: str,
        *,
        amount: int,
        t: int | None = None,
        status: str = "SUCCESS",
        outcome: str = "matched",
        ledger_txn_id: str | None = None,
    ) -> tuple[ChRow, LedRow]:
        r = self.r
        t = self.when() if t is None else t
        tc = t + r.randint(2, 9)
        self.refund_seq += 1
        if self.wechat:
            refund_id = self.g.ids.wechat_refund(self.ymd)
            merchant_refund_no = f"ZZR{self.ymd}W{self.refund_seq:05d}"
        else:
            refund_id = f"ZZR{self.ymd}A{self.refund_seq:05d}"
            merchant_refund_no = ""
        ch = ChRow(
            self.channel,
            "refund",
            orig.order_no,
            orig.pay_txn_id,
            refund_id,
            merchant_refund_no,
            orig.payment_id,
            amount,
            0,
            contracted_fee(amount),
            "0.60%",
            tc,
            self.clock(tc),
            orig.created_text,
            status,
            orig.product,
            orig.buyer,
            orig.trade_type,
            orig.bank,
            scenario,
            outcome,
        )
        led = LedRow(
            self.channel,
            orig.order_no,
            orig.payment_id,
            self.channel,
            refund_id if ledger_txn_id is None else ledger_txn_id,
            "refund",
            self.led_amount(amount),
            "CNY",
            "succeeded",
            self.booked(t),
            t,
            scenario,
            outcome,
        )
        self.ch.append(ch)
        self.led.append(led)
        return ch, led

    def ledger_only(
        self, scenario: str, outcome: str, *, t: int, status: str, with_id: bool, utc: bool | None = None
    ) -> LedRow:
        amount = self.open_amount()
        order_no = self.order_no()
        led = LedRow(
            self.channel,
            order_no,
            self.g.payment_id(self.ymd),
            self.channel,
            self.pay_txn(self.ymd) if with_id else "",
            "payment",
            self.led_amount(amount),
            "CNY",
            status,
            self.booked(t, utc=utc),
            t,
            scenario,
            outcome,
        )
        self.led.append(led)
        return led

    # ---------------------------------------------------------------- connected days
    def cross_midnight(
        self, arriving: list[tuple[str, ChRow | LedRow]], *, plan_next: bool
    ) -> list[tuple[str, ChRow | LedRow]]:
        """Place yesterday's halves of cross-midnight payments; plan today's (returned for tomorrow).

        Uses the generator's own stream for these rows (``carry_r``) and restores the day's stream.
        """
        saved, saved_ids = self.r, self.g.ids.r
        self.r = self.g.ids.r = self.g.carry_r
        try:
            for kind, row in arriving:
                if kind == "channel":
                    assert isinstance(row, ChRow)
                    row.time_text, row.created_text = self.clock(row.t), self.clock(row.t - 3)
                    self.ch.append(row)
                else:
                    assert isinstance(row, LedRow)
                    row.booked_at = self.booked(row.t, utc=False)
                    self.led.append(row)
            if not plan_next:
                return []
            going: list[tuple[str, ChRow | LedRow]] = []
            # Booked at 23:59:4x today, paid at the channel at 00:00:xx tomorrow.
            t = self.r.randint(24 * 3600 - 20, 24 * 3600 - 12)
            ch, led = self.payment(
                "cross_midnight_ledger_first", amount=self.open_amount(), t=t, outcome="in_transit",
                with_channel=False,
            )
            led.booked_at = self.booked(t, utc=False)
            ch.t = t + self.r.randint(25, 40) - 24 * 3600
            ch.scenario, ch.outcome = "cross_midnight_ledger_first", "resolved_late"
            going.append(("channel", ch))
            # Paid at the channel at 23:59:4x today, booked at 00:00:xx tomorrow.
            ch, led = self.payment(
                "cross_midnight_channel_first", amount=self.open_amount(), t=t, outcome="missing_in_ledger",
                with_ledger=False,
            )
            led.t = ch.t + self.r.randint(20, 30) - 24 * 3600
            led.outcome = "resolved_late"
            going.append(("ledger", led))
            return going
        finally:
            self.r, self.g.ids.r = saved, saved_ids

    # ---------------------------------------------------------------- scenarios
    def scenario(self, name: str, rows_target: int) -> None:
        r = self.r
        if name == "coupon_payment":
            for _ in range(max(1, rows_target // 25)):
                total = r.randint(100, 900) * 100
                disc = r.choice((500, 1000, 2000, 3000, 5000))
                self.payment(name, amount=total - disc, discount=disc)
        elif name == "partial_refunds":
            for _ in range(max(1, rows_target // 200)):
                amount = r.randint(300, 2000) * 100 + r.choice((0, 50, 90))
                t0 = self.when(DAY_START, 12 * 3600)
                pay, _ = self.payment(name, amount=amount, t=t0)
                r1 = amount * r.randint(10, 40) // 100
                r2 = amount * r.randint(10, 40) // 100
                t1 = self.when(t0 + 600, 18 * 3600)
                self.refund(pay, name, amount=r1, t=t1)
                self.refund(pay, name, amount=r2, t=self.when(t1 + 600, DAY_LAST))
        elif name == "refund_of_earlier_payment":
            for _ in range(max(1, rows_target // 200)):
                orig = self.earlier_payment()
                self.refund(orig, name, amount=min(orig.amount, r.randint(10, 300) * 100))
        elif name == "refund_processing":
            t0 = self.when(DAY_START, 16 * 3600)
            pay, _ = self.payment(name, t=t0)
            self.refund(pay, name, amount=pay.amount, t=self.when(t0 + 600, DAY_LAST), status="PROCESSING")
        elif name == "fallback_payment":
            _, led = self.payment(name, outcome="matched_fallback")
            led.channel_txn_id = ""
        elif name == "fallback_refund":
            orig = self.earlier_payment()
            self.refund(
                orig,
                name,
                amount=min(orig.amount, r.randint(10, 200) * 100),
                outcome="matched_fallback",
                ledger_txn_id="",
            )
        elif name == "amount_mismatch":
            ch, led = self.payment(name, outcome="amount_mismatch")
            led.amount = rs.yuan(ch.amount + r.choice((1, -1)))  # off by one fen
        elif name == "currency_mismatch":
            _, led = self.payment(name, outcome="currency_mismatch")
            led.currency = "USD"
        elif name in ("status_mismatch_failed", "status_mismatch_pending"):
            _, led = self.payment(name, outcome="status_mismatch")
            led.status = "failed" if name.endswith("failed") else "pending"
        elif name == "fee_mismatch_rate":
            amount = r.randint(50, 3000) * 100 + r.choice((0, 50, 90))
            assert contracted_fee(amount, 38) != contracted_fee(amount)
            self.payment(
                name, amount=amount, fee=contracted_fee(amount, 38), rate_text="0.38%", outcome="fee_mismatch"
            )
        elif name == "fee_mismatch_one_fen":
            amount = self.price()
            self.payment(name, amount=amount, fee=contracted_fee(amount) + 1, outcome="fee_mismatch")
        elif name == "missing_in_ledger":
            self.payment(name, amount=self.open_amount(), outcome="missing_in_ledger", with_ledger=False)
        elif name == "missing_in_channel":
            self.ledger_only(name, "missing_in_channel", t=self.when(), status="succeeded", with_id=True)
        elif name == "in_transit_late_booking":
            # WeChat: exactly at the cutoff, +08:00; Alipay: inside the window, written in UTC ('Z').
            t = CUTOFF if self.wechat else self.when(CUTOFF + 1, 24 * 3600 - 1)
            self.ledger_only(name, "in_transit", t=t, status="succeeded", with_id=False, utc=not self.wechat)
        elif name in ("void_failed", "void_pending"):
            self.ledger_only(name, "void", t=self.when(), status=name.removeprefix("void_"), with_id=False)
        elif name == "duplicate_channel_line":
            ch, _ = self.payment(name, outcome="duplicate")
            self.ch.append(ch)  # the same line twice (adjacent: same timestamp, stable sort)
        elif name == "duplicate_ledger_entry":
            _, led = self.payment(name, outcome="duplicate")
            led.twice = True
        elif name == "refunds_booked_as_one":
            # Two partial refunds of a payment of the day, booked in the ledger as one refund entry
            # without a channel id: matched as a group (order_group), every row matched_fallback.
            amount = r.randint(300, 2000) * 100
            t0 = self.when(DAY_START, 12 * 3600)
            pay, _ = self.payment(name, amount=amount, t=t0)
            r1, r2 = amount * r.randint(10, 30) // 100, amount * r.randint(10, 30) // 100
            t1 = self.when(t0 + 600, 18 * 3600)
            ch1, led = self.refund(pay, name, amount=r1, t=t1, outcome="matched_fallback", ledger_txn_id="")
            ch2, _ = self.refund(pay, name, amount=r2, t=self.when(t1 + 600, DAY_LAST), outcome="matched_fallback")
            self.led.pop()  # the second refund has no ledger entry of its own
            led.amount = self.led_amount(r1 + r2)
        elif name.startswith("quarantined_"):
            self.quarantined(name)
        else:  # pragma: no cover - guarded by SPECIAL_SCENARIOS
            raise ValueError(name)

    def quarantined(self, name: str) -> None:
        fixed = {
            "quarantined_amount_thousands_sep": 123450,
            "quarantined_amount_three_decimals": 1235,
            "quarantined_amount_currency_symbol": 8800,
        }.get(name)
        amount = self.open_amount(fixed)
        _, led = self.payment(name, amount=amount, outcome="missing_in_ledger")
        led.outcome = "quarantined"
        if name == "quarantined_amount_thousands_sep":
            led.amount = f"{amount // 100 // 1000},{amount // 100 % 1000:03d}.{amount % 100:02d}"
        elif name == "quarantined_amount_three_decimals":
            led.amount = rs.yuan(amount - 1) + "5"  # 12.345 for a 12.35 payment: a third decimal
        elif name == "quarantined_amount_currency_symbol":
            led.amount = "¥" + rs.yuan(amount)
        elif name == "quarantined_currency_rmb":
            led.currency = "RMB"
        elif name == "quarantined_booked_at_no_offset":
            led.booked_at = self.clock(led.t)
        elif name == "quarantined_channel_unknown":
            led.channel = "applepay"


class _Generator:
    def __init__(self, seed: int, rows: int, quarantined_rows: bool = True) -> None:
        self.r = random.Random(seed)
        self.rows = rows
        self.quarantined_rows = quarantined_rows
        self.ids = _Ids(self.r)
        # Cross-midnight items use their own stream: the rest of every day is the same with or without them.
        self.carry_r = random.Random(seed * 7919 + 1)
        self.carry: dict[str, list[tuple[str, ChRow | LedRow]]] = {}
        self.pay_seq: dict[str, int] = {}
        self.earlier_seq = 0
        r = self.r
        self.openids = ["o" + "".join(r.choices(OPENID_CHARS, k=27)) for _ in range(3000)]
        self.alipay_buyers = []
        for _ in range(1000):
            name = "*" * r.randint(1, 2) + r.choice(SURNAMES)
            if r.random() < 0.5:
                acct = f"1{r.randint(30, 99)}****{r.randrange(10**4):04d}"
            else:
                user = "".join(r.choices("abcdefghijklmnopqrstuvwxyz", k=r.randint(3, 4)))
                acct = f"{user}***@{r.choice(MAIL_HOSTS)}"
            self.alipay_buyers.append(f"{name}({acct})")

    def payment_id(self, ymd: str, *, earlier: bool = False) -> str:
        key = ymd + ("E" if earlier else "")
        n = self.pay_seq.get(key, 0) + 1
        self.pay_seq[key] = n
        return f"PAY{ymd}{(9000000 if earlier else 0) + n:07d}"

    def plan_day(self, day: date, index: int, *, connected: bool = False, last: bool = True) -> DayPlan:
        r = self.r
        small = self.rows < 50
        ch_rows: dict[str, list[ChRow]] = {}
        led_rows: list[LedRow] = []
        for ci, channel in enumerate(CHANNELS):
            cd = _ChannelDay(self, day, channel)
            # The special scenarios first (their unmatched rows reserve distinct amounts), then fillers.
            for si, name in enumerate(SPECIAL_SCENARIOS):
                if name == "refund_processing":
                    if channel != "wechatpay":
                        continue
                elif small and si % 2 != ci:
                    continue
                if name.startswith("quarantined_") and not self.quarantined_rows:
                    continue
                cd.scenario(name, self.rows)
            for _ in range(max(1, self.rows - len(cd.ch))):
                cd.payment("payment")
            if connected:
                self.carry[channel] = cd.cross_midnight(self.carry.get(channel, []), plan_next=not last)
            ch = sorted(cd.ch, key=lambda c: c.t)
            ch_rows[channel] = ch
            led_rows.extend(cd.led)
        # Ledger export: by booking time; entry ids in that order; a duplicated entry re-exported later.
        led_rows.sort(key=lambda x: x.t)
        ymd = day.strftime("%Y%m%d")
        final: list[LedRow] = []
        copies: list[LedRow] = []
        for i, row in enumerate(led_rows, start=1):
            row.entry_id = f"LE{ymd}{i:06d}"
            final.append(row)
            if row.twice:
                copies.append(row)
        for row in copies:
            at = next(i for i, x in enumerate(final) if x is row)
            final.insert(r.randint(at + 1, len(final)), row)
        plan = DayPlan(day, index, ch_rows, final)
        for channel in CHANNELS:
            plan.net[channel] = rs.net_of(ch_rows[channel])
        return plan


# ------------------------------------------------------------------------------------------ generation


def _parse_channel_days(
    items: Iterable[tuple[str, date]], what: str, dates: Sequence[date]
) -> set[tuple[str, date]]:
    out = set()
    for channel, d in items:
        if channel not in STATEMENT_CHANNELS:
            raise ValueError(f"{what}: unknown channel {channel!r} (expected one of {STATEMENT_CHANNELS})")
        if d not in dates:
            raise ValueError(f"{what}: {d} is not one of the generated dates")
        out.add((channel, d))
    return out


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def generate(
    out_dir: Path,
    *,
    start: date,
    days: int,
    seed: int,
    rows_per_channel: int = 200,
    missing: Iterable[tuple[str, date]] = (),
    rejected: Iterable[tuple[str, date]] = (),
    quarantined_rows: bool = True,
) -> list[date]:
    """Generate ``days`` business dates of inbox files and their answer key under ``out_dir``.

    Args:
        out_dir: Data directory; ``inbox/<date>/`` and ``answers/<date>.csv`` are (re)written for every
            generated date (those date folders are replaced, nothing else is touched).
        start: First business date.
        days: Number of consecutive dates.
        seed: Seed of the single ``random.Random`` that drives everything.
        rows_per_channel: Target number of statement data rows per channel and date (the special
            scenarios are always planned, so very small values give a few rows more).
        missing: (channel, date) pairs whose statement is not delivered (no folder): ``wechatpay``,
            ``alipay`` or ``bank``.
        rejected: (channel, date) pairs whose statement is delivered with control totals off by one, so
            the whole file is rejected.
        quarantined_rows: Plan the six bad ledger rows (quarantined) on every channel-day. False gives
            an inbox with nothing quarantined (DESIGN §9: quarantined rows make a run exit 3).

    Returns:
        The generated dates, in order.

    Raises:
        ValueError: On a bad argument (no days, unknown channel, date outside the run, net payout ≤ 0).
    """
    if days < 1:
        raise ValueError("days must be >= 1")
    if rows_per_channel < 1:
        raise ValueError("rows_per_channel must be >= 1")
    dates = [start + timedelta(days=i) for i in range(days)]
    missing_set = _parse_channel_days(missing, "missing", dates)
    rejected_set = _parse_channel_days(rejected, "rejected", dates)
    if missing_set & rejected_set:
        raise ValueError("a channel-day cannot be both missing and rejected")

    gen = _Generator(seed, rows_per_channel, quarantined_rows)
    plans = [
        gen.plan_day(d, i, connected=days > 1, last=i == days - 1) for i, d in enumerate(dates)
    ]
    _unlink_cross_midnight(plans, missing_set | rejected_set)
    for plan in plans:
        for channel in STATEMENT_CHANNELS:
            plan.present[channel] = (channel, plan.day) not in missing_set and (
                channel,
                plan.day,
            ) not in rejected_set
        for channel in CHANNELS:
            if plan.present[channel]:
                continue
            tag = "/statement_missing" if (channel, plan.day) in missing_set else "/statement_rejected"
            for c in {id(c): c for c in plan.ch_rows[channel]}.values():
                c.outcome = "quarantined"
                c.scenario = c.scenario + tag
            for led in plan.led_rows:
                if led.plan_channel != channel or led.outcome == "quarantined" or led.twice:
                    continue
                led.outcome = "in_transit"
                led.scenario = led.scenario + tag
    bank = _plan_bank(gen.r, plans)

    inbox = out_dir / "inbox"
    answers = out_dir / "answers"
    for plan, (entries, seq_nb, opening) in zip(plans, bank, strict=True):
        day = plan.day
        day_dir = inbox / day.isoformat()
        if day_dir.exists():
            shutil.rmtree(day_dir)
        key_rows: list[tuple[str, str, int, str, str, str]] = []
        _write_channels(plan, day_dir, missing_set, rejected_set, gen.r, key_rows)
        _write_ledger(plan, day_dir, days, key_rows)
        if ("bank", day) not in missing_set:
            offset = 1 if ("bank", day) in rejected_set else 0
            data, lines, _ = rs.render_camt053(
                entries,
                day=day,
                prev_day=day - timedelta(days=1),
                account=BANK_ACCOUNT,
                owner=BANK_OWNER,
                bic=BANK_BIC,
                seq_nb=seq_nb,
                opening=opening,
                count_offset=offset,
            )
            rel = f"bank/camt053_{day.strftime('%Y%m%d')}.xml"
            _write(day_dir / rel, data)
            for e, line in zip(entries, lines, strict=True):
                outcome = "quarantined" if offset else e.outcome
                scenario = e.scenario + ("/statement_rejected" if offset else "")
                key_rows.append(("bank", rel, line, outcome, e.ref, scenario))
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(ANSWER_HEADER)
        w.writerows(key_rows)
        _write(answers / f"{day.isoformat()}.csv", buf.getvalue().encode("utf-8"))
    return dates


def _unlink_cross_midnight(plans: list[DayPlan], absent: set[tuple[str, date]]) -> None:
    """A cross-midnight ledger row whose channel row was on a statement never read is ``missing_in_channel``.

    (When its own date's statement is absent too, the tagging of that date makes it ``in_transit``.)
    """
    for plan in plans:
        yesterday = plan.day - timedelta(days=1)
        for led in plan.led_rows:
            if led.scenario == "cross_midnight_channel_first" and (led.plan_channel, yesterday) in absent:
                led.outcome = "missing_in_channel"


def _write_channels(
    plan: DayPlan, day_dir: Path, missing_set: set, rejected_set: set, r: random.Random, key_rows: list
) -> None:
    day = plan.day
    ymd = day.strftime("%Y%m%d")
    next_day = day + timedelta(days=1)
    export = datetime(next_day.year, next_day.month, next_day.day, 6, 0, 0) + timedelta(
        seconds=r.randint(0, 3599)
    )
    # WeChat Pay
    if ("wechatpay", day) not in missing_set:
        rows = plan.ch_rows["wechatpay"]
        offset = 1 if ("wechatpay", day) in rejected_set else 0
        data, lines = rs.render_wechat(rows, appid=WECHAT_APPID, mchid=WECHAT_MCHID, count_offset=offset)
        rel = f"wechatpay/wechatpay_tradebill_ALL_{ymd}.csv"
        _write(day_dir / rel, data)
        key_rows.extend(
            ("channel", rel, ln, c.outcome, c.key, c.scenario) for c, ln in zip(rows, lines, strict=True)
        )
    # Alipay
    if ("alipay", day) not in missing_set:
        rows = plan.ch_rows["alipay"]
        offset = 1 if ("alipay", day) in rejected_set else 0
        detail, lines, totals = rs.render_alipay_detail(
            rows, account=ALIPAY_ACCOUNT, day=day, next_day=next_day, export=export, pay_count_offset=offset
        )
        summary = rs.render_alipay_summary(
            totals, account=ALIPAY_ACCOUNT, day=day, next_day=next_day, export=export
        )
        detail_name = f"{ALIPAY_ACCOUNT}_{ymd}_业务明细.csv"
        summary_name = f"{ALIPAY_ACCOUNT}_{ymd}_业务明细(汇总).csv"
        if plan.index % 2 == 0:
            zip_name = f"{ALIPAY_ACCOUNT}_{ymd}.csv.zip"
            data = rs.render_zip(
                [(detail_name, detail), (summary_name, summary)], stamp=export - timedelta(seconds=1)
            )
            _write(day_dir / "alipay" / zip_name, data)
            rel = f"alipay/{zip_name}!{detail_name}"
        else:
            _write(day_dir / "alipay" / detail_name, detail)
            _write(day_dir / "alipay" / summary_name, summary)
            rel = f"alipay/{detail_name}"
        key_rows.extend(
            ("channel", rel, ln, c.outcome, c.key, c.scenario) for c, ln in zip(rows, lines, strict=True)
        )


def _parquet_day(days: int) -> int | None:
    if days >= 4:
        return 3
    if days == 3:
        return 2
    return None


def _write_ledger(plan: DayPlan, day_dir: Path, days: int, key_rows: list) -> None:
    ymd = plan.day.strftime("%Y%m%d")
    pq_day = _parquet_day(days)
    if pq_day is not None and plan.index % 7 == pq_day:
        data, lines = rs.render_ledger_parquet(plan.led_rows)
        rel = f"ledger/ledger_{ymd}.parquet"
    else:
        data, lines = rs.render_ledger_csv(plan.led_rows)
        rel = f"ledger/ledger_{ymd}.csv"
    _write(day_dir / rel, data)
    key_rows.extend(
        ("ledger", rel, ln, led.outcome, led.entry_id, led.scenario)
        for led, ln in zip(plan.led_rows, lines, strict=True)
    )


# ------------------------------------------------------------------------------------------ bank


def _plan_bank(r: random.Random, plans: list[DayPlan]) -> list[tuple[list[rs.BankEntry], int, int]]:
    """Per date: (entries, ElctrncSeqNb, opening balance in fen); balances chain from day to day."""
    # The one planned payout amount_mismatch: a WeChat credit whose D-1 bill is present.
    candidates = [
        i for i in range(1, len(plans)) if plans[i - 1].present["wechatpay"] and plans[i].present["bank"]
    ]
    mismatch_day = candidates[len(candidates) // 2] if candidates else None
    balance = r.randint(500_000, 900_000) * 100 + r.randint(0, 99)
    seq_nb = r.randint(40, 90)
    out = []
    for i, plan in enumerate(plans):
        day = plan.day
        mmdd = day.strftime("%m%d")
        prev = day - timedelta(days=1)
        prev_ymd = prev.strftime("%Y%m%d")
        entries: list[rs.BankEntry] = []
        for channel in CHANNELS:
            if i == 0:
                amount = r.randint(20_000, 80_000) * 100 + r.randint(0, 99)
                outcome, scenario = "in_transit", "payout_of_day_before_run"
            else:
                amount = plans[i - 1].net[channel]
                if plans[i - 1].present[channel]:
                    outcome, scenario = "matched", "payout"
                else:
                    outcome, scenario = "in_transit", "payout_statement_not_reconciled"
                if channel == "wechatpay" and i == mismatch_day:
                    amount -= 100
                    outcome, scenario = "amount_mismatch", "payout_amount_mismatch"
            if amount <= 0:
                raise ValueError(f"net payout of {channel} for {prev} is not positive; use more rows")
            if channel == "wechatpay":
                text = f"WECHAT PAY SETTLEMENT {WECHAT_MCHID} {prev_ymd}"
                party = "TENPAY PAYMENT TECHNOLOGY CO LTD"
                ref = f"WX{mmdd}STL{r.randint(1, 9999):04d}"
            else:
                text = f"ALIPAY WITHDRAWAL {ALIPAY_ACCOUNT} {prev_ymd}"
                party = "ALIPAY (CHINA) NETWORK TECHNOLOGY CO LTD"
                ref = f"AP{mmdd}WDR{r.randint(1, 9999):04d}"
            entries.append(
                rs.BankEntry(
                    ref,
                    amount,
                    True,
                    day,
                    "PMNT",
                    "RCDT",
                    "DMCT",
                    "NOTPROVIDED",
                    party,
                    text,
                    scenario,
                    outcome,
                )
            )
        po = f"PO-{day.year}-{r.randint(1000, 9999)}"
        entries.append(
            rs.BankEntry(
                f"DB{mmdd}SUP{r.randint(1, 9999):04d}",
                r.randint(1_000, 15_000) * 100,
                False,
                day,
                "PMNT",
                "ICDT",
                "DMCT",
                po,
                r.choice(
                    ("JINGDEZHEN CERAMICS TRADING CO", "ANJI BAMBOO CRAFT CO LTD", "YIWU HOME TEXTILE CO")
                ),
                f"SUPPLIER PAYMENT {po}",
                "bank_noise_supplier_debit",
                "unexplained",
            )
        )
        entries.append(
            rs.BankEntry(
                f"CH{mmdd}FEE{r.randint(1, 9999):04d}",
                r.choice((500, 1000, 1500, 2800)),
                False,
                day,
                "ACMT",
                "MDOP",
                "CHRG",
                "NOTPROVIDED",
                "",
                f"TRANSFER CHARGES {r.randint(1, 9)} ITEMS",
                "bank_noise_charge_debit",
                "unexplained",
            )
        )
        if r.random() < 0.6:
            inv = f"INV-ZZ-{day.year}-{r.randint(100, 999)}"
            entries.append(
                rs.BankEntry(
                    f"CR{mmdd}B2B{r.randint(1, 9999):04d}",
                    r.randint(500, 9_000) * 100,
                    True,
                    day + timedelta(days=r.choice((0, 0, 1))),
                    "PMNT",
                    "RCDT",
                    "DMCT",
                    inv,
                    r.choice(
                        ("HANGZHOU GREEN LEAF HOTEL CO LTD", "SUZHOU LAKESIDE CAFE CO", "NINGBO HARBOUR INN")
                    ),
                    f"INVOICE {inv} HOME DECOR ORDER",
                    "bank_noise_customer_credit",
                    "unexplained",
                )
            )
        r.shuffle(entries)
        out.append((entries, seq_nb, balance))
        balance += sum(e.amount if e.credit else -e.amount for e in entries)
        seq_nb += 1
    return out


# ------------------------------------------------------------------------------------------ CLI


def _channel_day(text: str) -> tuple[str, date]:
    try:
        channel, d = text.split("@", 1)
        return channel, date.fromisoformat(d)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected CHANNEL@YYYY-MM-DD, got {text!r}") from exc


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point (``python -m sample_data.generate --help``).

    Args:
        argv: Arguments (default: ``sys.argv[1:]``).

    Returns:
        The process exit code.
    """
    p = argparse.ArgumentParser(
        prog="python -m sample_data.generate",
        description=(
            "Generate a seeded sample inbox for recon (WeChat Pay trade bills, Alipay 业务明细 bills as zip or "
            "bare GBK CSVs, the ledger export as CSV or Parquet, camt.053 bank statements) together with an "
            "answer key: answers/<date>.csv lists the expected outcome of every data row. Same arguments "
            "give byte-identical files."
        ),
        epilog=(__doc__ or "")
        + "\nExample:\n    python -m sample_data.generate --out sample_data --start 2026-03-02 --days 7 "
        "--seed 20260302 --rows 200\n",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--out", type=Path, required=True, help="data directory to write inbox/ and answers/ into")
    p.add_argument("--start", type=date.fromisoformat, required=True, help="first business date, YYYY-MM-DD")
    p.add_argument("--days", type=int, default=7, help="number of consecutive business dates (default 7)")
    p.add_argument("--seed", type=int, required=True, help="random seed; same seed and arguments, same bytes")
    p.add_argument(
        "--rows", type=int, default=200, help="statement data rows per channel and date (default 200)"
    )
    p.add_argument(
        "--missing",
        type=_channel_day,
        action="append",
        default=[],
        metavar="CHANNEL@DATE",
        help="leave out a statement (channel wechatpay, alipay or bank); repeatable",
    )
    p.add_argument(
        "--rejected",
        type=_channel_day,
        action="append",
        default=[],
        metavar="CHANNEL@DATE",
        help="deliver a statement whose control totals are off by one; repeatable",
    )
    p.add_argument(
        "--no-quarantined",
        action="store_true",
        help="leave out the bad ledger rows that are expected to be quarantined (a clean inbox)",
    )
    args = p.parse_args(argv)
    try:
        dates = generate(
            args.out,
            start=args.start,
            days=args.days,
            seed=args.seed,
            rows_per_channel=args.rows,
            missing=args.missing,
            rejected=args.rejected,
            quarantined_rows=not args.no_quarantined,
        )
    except ValueError as exc:
        p.error(str(exc))
    print(f"generated {len(dates)} day(s) {dates[0]}..{dates[-1]} under {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
