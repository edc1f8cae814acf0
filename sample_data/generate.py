"""Seeded sample-data generator for ``recon``, with the answer key of every row it writes.

The generator plans each business date first (which channel rows, ledger rows and bank entries exist,
and which outcome each must get), then renders the files from that plan. The answer key is written
from the plan alone: nothing here imports ``transforms/``, ``flows/`` or ``schemas/``, so a pipeline
run on the generated inbox can be checked against it. Money is integer minor units everywhere (fen,
cents; no float).
Same arguments give byte-identical files (``random.Random(seed)`` only, no wall clock, fixed zip
timestamps).

Configuration the pipeline is expected to run with (the packaged default):

* time zone ``Asia/Shanghai``; channels expected every day: ``wechatpay``, ``alipay``, ``bank`` (and
  ``stripe``, ``paypal``, ``unionpay`` when generated, the default);
* WeChat Pay and Alipay contracted fee 60 bps, rounded half-up to the fen on the magnitude: a
  payment pays ``round_half_up(amount × 0.006)``, a refund gets the same on the refund amount back;
* amount tolerance 0; in-transit cutoff 30 minutes (a ledger row booked at or after 23:30:00 local
  time with no channel row is ``in_transit``);
* bank credit references: WeChat ``WECHAT PAY SETTLEMENT <mchid> <yyyymmdd>`` (T+1 settlement of that
  date), Alipay ``ALIPAY WITHDRAWAL <alipay account> <yyyymmdd>`` (withdrawal of that date's 实收净额).

Stripe and PayPal (``--channels``; default all four; ``wechatpay,alipay`` alone writes exactly the
files of the generator before these two existed, and adding them never changes the WeChat Pay and
Alipay files nor the CNY bank statement: they draw from their own random streams). Each gets
``max(4, rows // 8)`` payments a day or a few more; its rows are timed so that the channel's day
(UTC for Stripe, US Pacific for PayPal) and the ledger's Asia/Shanghai day are the same date, except
the cross-midnight pairs below.

* Stripe ``balance_change_from_activity.itemized`` (USD balance): channel_txn_id = balance_transaction_id
  ``txn_…`` (the ledger's channel_txn_id of the payment or refund), order_no ``SHOP-…``. Fee 290 bps
  + 30 cents on USD charges, 540 bps + 30 cents on a charge presented in EUR, on the USD gross (rate
  part rounded half-up, then + fixed); refunds return no fee. The EUR-presented charge (most days):
  customer_facing EUR amount, gross USD = round_half_up(EUR × rate), booked in the ledger in EUR. A
  ``fee`` row (Radar) on even day indexes and one ``dispute`` row (gross negative, fee 15.00) on day
  index 1 (0 in a one-day run). Payout of D = Σ net of D's rows, credited on the USD account on D+1:
  ``STRIPE PAYOUT po_…``.
* PayPal STL v009: channel_txn_id = Transaction ID (17 upper-case alphanumerics), order_no = Invoice ID
  ``INV-…``. T0006 fee USD 299 bps + 49 cents, EUR 449 bps + 39 cents; an EUR payment is followed by
  a T0200 pair converting its net into USD (round_half_up(net × rate)); a T1107 refund returns
  round_half_up(refund × 299 bps) of the fee. One T0400 withdrawal of a round 100.00 multiple ≤ the USD
  balance on most days (always the first), Bank Reference ID ``BNK<yyyymmdd><4>``, credited on the
  USD account on D+1: ``PAYPAL TRANSFER <Bank Reference ID>``.
* Outcomes: payments and refunds as for WeChat/Alipay (``matched``, ``amount_mismatch``,
  ``fee_mismatch``, ``missing_in_ledger``, ``missing_in_channel``, ``in_transit``, ``duplicate``,
  ``resolved_late``); Stripe ``fee`` rows and PayPal T0200/T0400 rows ``settlement_item`` (a channel
  line no ledger entry books; it counts in the settlement); the Stripe ``dispute`` row
  ``missing_in_ledger``. USD bank: the Stripe payout and the PayPal transfer ``matched`` (``in_transit``
  on the first date and when the paid date's statement is missing or rejected); charges and supplier
  payments ``unexplained``. A Stripe report has no control totals, so it can be missing, not rejected.

UnionPay 全渠道 ZM (``--channels``, default on; its own random stream, so it changes neither the other
channels' files nor the existing entries of the CNY statement, into which its credit is inserted). One
ZM file a day, ``max(4, rows // 8)`` purchases or a few more, all timed 00:30-23:29 (no cross-midnight
pairs for UnionPay). channel_txn_id = 查询流水号 (the record's own on a refund or void too), order_no =
商户订单号 ``ZZU…``, 商户代码 ``898310148160529``. Fee ``min(round_half_up(amount × 50 bps), 2000)``
charged (``D``) on an S22 purchase; an S30 refund gets the same on the refund back (``C``), an S31 void
the purchase's whole fee. Planned: a capped-fee purchase refunded in part, a partial refund, a same-day
void, a refund of an earlier payment (all ``matched``), ``amount_mismatch`` (ledger off by one fen),
``fee_mismatch`` (one fen), ``missing_in_ledger``, ``missing_in_channel``. Payout of D = Σ(±交易金额 +
signed fee) of D's records, credited on the CNY account on D+1: ``UNIONPAY SETTLEMENT <商户代码> <yyyymmdd>``
(``matched``; ``in_transit`` on the first date or when D's file is missing). A ZM file has no control
totals: it can be missing, not rejected.

Fund flows (every date whose channel folder is delivered; their own stream): the WeChat Pay 资金账单 and
the Alipay 账务明细. Each payment of the trade bill is an income move and its fee an expense, each refund
an expense and its returned fee an income (a duplicated trade-bill line moved money once; a WeChat refund
still PROCESSING moved nothing); the Alipay file also has the day's 提现 of the amount its bank credit of
that day carries (the previous date's net). WeChat settles T+1 by itself: no 提现 line. 账户结余 / 账户余额
chain from line to line and from date to date. Every line is ``settlement_item``; key = 资金流水单号 /
账务流水号.

Bank statement format (``--bank-format``): ``mixed`` (default) writes MT940 on day index 2 and 5 of each
week and camt.053 on the others; the entries, outcomes and keys are the same either way (key = the bank
reference; source_line = the line of ``:61:`` in MT940); several accounts are statements one after the
other in one MT940 file.

Connected days (more than one date generated): on every date but the last, each channel gets two
payments that cross midnight, planned with their own random stream so that the rest of the day is
unchanged: one booked in the ledger at 23:59:4x on D and paid at the channel at 00:00:xx on D+1
(``in_transit`` on D, its channel row ``resolved_late`` on D+1), and one paid at the channel at
23:59:4x on D and booked at 00:00:xx on D+1 (``missing_in_ledger`` on D, its ledger row
``resolved_late`` on D+1). For Stripe and PayPal the channel's midnight is its own (UTC, US Pacific):
the ledger-first row is booked at 23:59:4x Shanghai time and its channel row is in D+1's file in the
first seconds of the channel's day; the channel-first row is paid at 23:59:4x of the channel's day D
and booked 20-30 s later, already D+1 in Shanghai (08:00 for Stripe, 15:00/16:00 for PayPal). A missing or rejected statement on either date changes them as the
pipeline must (a ledger row whose channel row never arrived is ``missing_in_channel``).

Output layout under ``out``::

    inbox/<YYYY-MM-DD>/wechatpay/wechatpay_tradebill_ALL_<yyyymmdd>.csv
    inbox/<YYYY-MM-DD>/alipay/<acct>_<yyyymmdd>.csv.zip        (even day index: the download zip)
    inbox/<YYYY-MM-DD>/alipay/<acct>_<yyyymmdd>_业务明细.csv     (odd day index: the two bare CSVs)
    inbox/<YYYY-MM-DD>/alipay/<acct>_<yyyymmdd>_业务明细(汇总).csv
    inbox/<YYYY-MM-DD>/ledger/ledger_<yyyymmdd>.csv             (.parquet on day index 3 of each week;
                                                                 on the last day of a 3-day run)
    inbox/<YYYY-MM-DD>/stripe/stripe_balance_change_from_activity_itemized_<yyyymmdd>.csv
    inbox/<YYYY-MM-DD>/paypal/STL-<yyyymmdd>.01.009.CSV
    inbox/<YYYY-MM-DD>/wechatpay/wechatpay_fundflow_<yyyymmdd>.csv
    inbox/<YYYY-MM-DD>/alipay/<acct>_<yyyymmdd>_账务明细.csv
    inbox/<YYYY-MM-DD>/unionpay/INN<yymmdd>88ZM_<商户代码>
    inbox/<YYYY-MM-DD>/bank/camt053_<yyyymmdd>.xml              (booked on D, payouts of D-1; a second
                                                                 Stmt for USD account 6200885678)
    inbox/<YYYY-MM-DD>/bank/mt940_<yyyymmdd>.sta                (instead, on MT940 days)
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
from sample_data.render_fundflow import render_alipay_account, render_wechat_fundflow
from sample_data.render_mt940 import render_mt940
from sample_data.render_unionpay import render_unionpay_zm

WECHAT_MCHID = "1734502688"
WECHAT_APPID = "wx3b9e0c5d7a2f4618"
ALIPAY_ACCOUNT = "20886413579246800156"
BANK_ACCOUNT = "6200881234"
BANK_BIC = "SMPLHKHHXXX"
BANK_OWNER = "ZHIZHU HOME LIVING CO LTD"
FEE_BPS = 60
CHANNELS = ("wechatpay", "alipay")
INTL_CHANNELS = ("stripe", "paypal")
OPTIONAL_CHANNELS = (*INTL_CHANNELS, "unionpay")
ALL_CHANNELS = CHANNELS + OPTIONAL_CHANNELS
STATEMENT_CHANNELS = ("wechatpay", "alipay", "stripe", "paypal", "unionpay", "bank")
DAY_START = 30 * 60  # 00:30:00: rows outside the in-transit window avoid 00:00-00:30 ...
DAY_LAST = 23 * 3600 + 29 * 60  # ... and 23:30-24:00 (channel rows come up to 12 s after booking)
CUTOFF = 23 * 3600 + 30 * 60  # 23:30:00 local, the in-transit cutoff
ANSWER_HEADER = ("source", "source_file", "source_line", "outcome", "key", "scenario")
KeyRow = tuple[str, str, int, str, str, str]

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
    intl: dict[str, _IntlDay] = field(default_factory=dict)  # the Stripe / PayPal days planned
    unionpay: list[ZmRow] | None = None  # the UnionPay ZM records planned (None: not generated)


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
                "cross_midnight_ledger_first",
                amount=self.open_amount(),
                t=t,
                outcome="in_transit",
                with_channel=False,
            )
            led.booked_at = self.booked(t, utc=False)
            ch.t = t + self.r.randint(25, 40) - 24 * 3600
            ch.scenario, ch.outcome = "cross_midnight_ledger_first", "resolved_late"
            going.append(("channel", ch))
            # Paid at the channel at 23:59:4x today, booked at 00:00:xx tomorrow.
            ch, led = self.payment(
                "cross_midnight_channel_first",
                amount=self.open_amount(),
                t=t,
                outcome="missing_in_ledger",
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
            ch2, _ = self.refund(
                pay, name, amount=r2, t=self.when(t1 + 600, DAY_LAST), outcome="matched_fallback"
            )
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


# ------------------------------------------------------------------------------------------ Stripe / PayPal
#
# The USD channels have their own random streams (one per channel, one for the USD bank account), so
# the WeChat Pay and Alipay files and the CNY bank statement are the same bytes with or without them.

STRIPE_ACCOUNT_NAME = "STRIPE"
PAYPAL_ACCOUNT = "SMPLSHOPK28QZ"
USD_BANK_ACCOUNT = "6200885678"
STRIPE_BPS, STRIPE_FIXED = 290, 30  # USD-presented charges
STRIPE_XB_BPS = 540  # charges presented in another currency (+ the same fixed part)
STRIPE_DISPUTE_FEE = 1500
PAYPAL_USD_BPS, PAYPAL_USD_FIXED = 299, 49
PAYPAL_EUR_BPS, PAYPAL_EUR_FIXED = 449, 39
ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
UPPER_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
# Shanghai-local windows (seconds after midnight) of the ordinary rows, so that a row's channel day
# (UTC for Stripe, US Pacific for PayPal) and its ledger day (Asia/Shanghai) are the same date.
INTL_WINDOW = {"stripe": (8 * 3600 + 30 * 60, DAY_LAST), "paypal": (16 * 3600 + 30 * 60, DAY_LAST)}
SHANGHAI = timedelta(hours=8)


def stripe_fee(gross_usd: int, *, presented_usd: bool = True) -> int:
    """Stripe contracted fee in cents on the USD gross: rate part rounded half-up, then + 30 cents.

    Args:
        gross_usd: Positive gross in USD cents.
        presented_usd: False for a charge presented to the customer in another currency (540 bps).

    Returns:
        The fee in cents.
    """
    return contracted_fee(gross_usd, STRIPE_BPS if presented_usd else STRIPE_XB_BPS) + STRIPE_FIXED


def paypal_fee(gross: int, currency: str) -> int:
    """PayPal contracted fee in minor units of the payment currency (USD 299 bps + 49, EUR 449 bps + 39).

    Args:
        gross: Positive payment amount in minor units.
        currency: ``USD`` or ``EUR``.

    Returns:
        The fee in minor units.
    """
    if currency == "EUR":
        return contracted_fee(gross, PAYPAL_EUR_BPS) + PAYPAL_EUR_FIXED
    return contracted_fee(gross, PAYPAL_USD_BPS) + PAYPAL_USD_FIXED


def paypal_refund_fee(refund: int) -> int:
    """Fee PayPal returns on a USD refund: the percentage part, round_half_up(refund × 299 bps).

    Args:
        refund: Positive refund amount in cents.

    Returns:
        The returned fee magnitude in cents (the fixed 49 cents are kept).
    """
    return contracted_fee(refund, PAYPAL_USD_BPS)


def convert(amount: int, rate_e4: int) -> int:
    """``round_half_up(amount × rate)`` with the rate given in units of 0.0001.

    Args:
        amount: Non-negative amount in minor units.
        rate_e4: Rate × 10000 (10840 for 1.0840).

    Returns:
        The converted amount in minor units.
    """
    return (amount * rate_e4 + 5000) // 10000


@dataclass(slots=True)
class IntlRow:
    """One planned Stripe or PayPal statement line (signed minor units, as the file shows them).

    ``gross`` is signed towards the merchant; ``fee`` is positive when charged, negative when returned
    (None: no fee columns, PayPal T0200/T0400).
    """

    channel: str
    kind: str  # payment | refund | fee | dispute | conversion | withdrawal
    txn_id: str
    order_no: str
    at: datetime  # naive UTC
    currency: str
    gross: int
    fee: int | None
    scenario: str
    outcome: str
    ref_id: str = ""  # PayPal Reference ID (the original payment)
    available: datetime = datetime(1970, 1, 1)
    category: str = ""
    description: str = ""
    cust_amount: int | None = None
    cust_ccy: str = ""
    event: str = ""
    custom: str = ""
    consumer: str = ""
    bank_ref: str = ""

    @property
    def key(self) -> str:
        """The channel_txn_id of this line."""
        return self.txn_id

    @property
    def net(self) -> int:
        """Balance effect in the row's currency: gross − fee."""
        return self.gross - (self.fee or 0)


class _IntlChannel:
    """State of one USD channel across the generated dates (its stream, sequences, balances)."""

    def __init__(self, channel: str, seed: int, salt: int) -> None:
        self.channel = channel
        self.r = random.Random(seed * 7919 + salt)
        self.used: set[str] = set()
        self.order_seq = 50100 if channel == "stripe" else 71000
        self.earlier_seq = 40000 if channel == "stripe" else 60000
        self.pay_seq: dict[str, int] = {}
        self.carry: list[tuple[str, IntlRow | LedRow]] = []
        self.usd_balance = self.r.randint(80_000, 200_000)  # PayPal USD balance before the first day

    def uid(self, make: Callable[[], str]) -> str:
        while True:
            v = make()
            if v not in self.used:
                self.used.add(v)
                return v

    def txn_id(self) -> str:
        r = self.r
        if self.channel == "stripe":
            return self.uid(lambda: "txn_" + "".join(r.choices(ALNUM, k=24)))
        return self.uid(lambda: "".join(r.choices(UPPER_ALNUM, k=17)))

    def payment_id(self, ymd: str) -> str:
        n = self.pay_seq.get(ymd, 0) + 1
        self.pay_seq[ymd] = n
        base = 5000000 if self.channel == "stripe" else 6000000
        return f"PAY{ymd}{base + n:07d}"


class _IntlDay:
    """Builds the planned rows of one USD channel (Stripe or PayPal) on one date."""

    def __init__(self, state: _IntlChannel, day: date, index: int, days: int) -> None:
        self.s = state
        self.r = state.r
        self.channel = state.channel
        self.stripe = state.channel == "stripe"
        self.day = day
        self.index = index
        self.days = days
        self.ymd = day.strftime("%Y%m%d")
        self.midnight = datetime(day.year, day.month, day.day)  # Shanghai wall clock of D 00:00
        self.lo, self.hi = INTL_WINDOW[self.channel]
        self.ch: list[IntlRow] = []
        self.led: list[LedRow] = []
        self.open_amounts: set[int] = set()
        self.rate_e4 = self.r.randint(10780, 10920) if self.stripe else self.r.randint(10450, 10590)
        self.withdrawal: IntlRow | None = None
        nxt = day + timedelta(days=1)
        self.generated = rs.pacific_local_to_utc(datetime(nxt.year, nxt.month, nxt.day, 3)) + timedelta(
            seconds=self.r.randint(0, 3599)
        )
        self.beginning = {"EUR": 0, "USD": state.usd_balance} if not self.stripe else {}

    # ---------------------------------------------------------------- helpers
    def utc(self, t: int) -> datetime:
        """The UTC instant of ``t`` seconds after Shanghai midnight of D."""
        return self.midnight - SHANGHAI + timedelta(seconds=t)

    def booked(self, t: int, *, utc: bool | None = None) -> str:
        if utc is None:
            utc = self.r.random() < 0.05
        if utc:
            return self.utc(t).strftime("%Y-%m-%dT%H:%M:%SZ")
        local = self.midnight + timedelta(seconds=t)
        return local.strftime("%Y-%m-%dT%H:%M:%S") + "+08:00"

    def led_amount(self, minor: int) -> str:
        s = rs.major(minor, "USD")
        if minor % 10 == 0 and self.r.random() < 0.15:
            s = s[:-1]
        return s

    def price(self) -> int:
        r = self.r
        x = r.random()
        if x < 0.6:
            y = r.randint(8, 120)
        elif x < 0.92:
            y = r.randint(120, 600)
        else:
            y = r.randint(600, 2500)
        return y * 100 + r.choice((0, 0, 0, 50, 99, 95, 49, r.randint(1, 99)))

    def open_amount(self) -> int:
        while True:
            a = self.price()
            if a not in self.open_amounts:
                self.open_amounts.add(a)
                return a

    def when(self, lo: int | None = None, hi: int | None = None) -> int:
        return self.r.randint(self.lo if lo is None else lo, self.hi if hi is None else hi)

    def order_no(self) -> str:
        self.s.order_seq += 1
        return f"SHOP-{self.s.order_seq}" if self.stripe else f"INV-{self.s.order_seq}"

    def ledger(
        self,
        order_no: str,
        payment_id: str,
        txn: str,
        kind: str,
        amount: int,
        ccy: str,
        t: int,
        scenario: str,
        outcome: str,
        *,
        utc: bool | None = None,
    ) -> LedRow:
        return LedRow(
            self.channel,
            order_no,
            payment_id,
            self.channel,
            txn,
            kind,
            self.led_amount(amount),
            ccy,
            "succeeded",
            self.booked(t, utc=utc),
            t,
            scenario,
            outcome,
        )

    # ---------------------------------------------------------------- row factories
    def payment(
        self,
        scenario: str,
        *,
        amount: int | None = None,
        currency: str = "USD",
        t: int | None = None,
        outcome: str = "matched",
        fee_delta: int = 0,
        with_ledger: bool = True,
        with_channel: bool = True,
    ) -> tuple[IntlRow, LedRow]:
        r = self.r
        amount = self.price() if amount is None else amount
        t = self.when() if t is None else t
        at = self.utc(t + r.randint(2, 9))
        order_no = self.order_no()
        txn = self.s.txn_id()
        num = order_no.split("-")[1]
        if self.stripe:
            gross = amount if currency == "USD" else convert(amount, self.rate_e4)
            ch = IntlRow(
                "stripe",
                "payment",
                txn,
                order_no,
                at,
                "USD",
                gross,
                stripe_fee(gross, presented_usd=currency == "USD") + fee_delta,
                scenario,
                outcome,
                available=datetime(at.year, at.month, at.day) + timedelta(days=1),
                category="charge",
                description=f"Order {order_no}",
                cust_amount=amount,
                cust_ccy=currency,
            )
        else:
            ch = IntlRow(
                "paypal",
                "payment",
                txn,
                order_no,
                at,
                currency,
                amount,
                paypal_fee(amount, currency) + fee_delta,
                scenario,
                outcome,
                event="T0006",
                custom=f"order-{num}" + (";coupon=WELCOME10" if r.random() < 0.08 else ""),
                consumer=f"buyer{num}@example.net",
            )
        led = self.ledger(
            order_no, self.s.payment_id(self.ymd), txn, "payment", amount, currency, t, scenario, outcome
        )
        if with_channel:
            self.ch.append(ch)
            if not self.stripe and currency != "USD":
                self.conversion(ch)
        if with_ledger:
            self.led.append(led)
        return ch, led

    def conversion(self, pay: IntlRow) -> None:
        """PayPal T0200 pair converting the EUR payment's net into USD at the day's rate."""
        eur = pay.gross - (pay.fee or 0)
        for ccy, gross in (("EUR", -eur), ("USD", convert(eur, self.rate_e4))):
            self.ch.append(
                IntlRow(
                    "paypal",
                    "conversion",
                    self.s.txn_id(),
                    "",
                    pay.at,
                    ccy,
                    gross,
                    None,
                    "currency_conversion",
                    "settlement_item",
                    ref_id=pay.txn_id,
                    event="T0200",
                )
            )

    def earlier(self) -> tuple[str, str, str]:
        """(order_no, original payment id, payment_id) of a USD payment of an earlier date (no file has it)."""
        self.s.earlier_seq += 1
        back = (self.day - timedelta(days=self.r.randint(3, 20))).strftime("%Y%m%d")
        order_no = f"SHOP-{self.s.earlier_seq}" if self.stripe else f"INV-{self.s.earlier_seq}"
        return order_no, self.s.txn_id(), self.s.payment_id(back + "E")

    def refund(
        self,
        order_no: str,
        orig_txn: str,
        payment_id: str,
        scenario: str,
        *,
        amount: int,
        t: int | None = None,
        outcome: str = "matched",
    ) -> tuple[IntlRow, LedRow]:
        t = self.when() if t is None else t
        at = self.utc(t + self.r.randint(2, 9))
        txn = self.s.txn_id()
        if self.stripe:
            ch = IntlRow(
                "stripe",
                "refund",
                txn,
                order_no,
                at,
                "USD",
                -amount,
                0,
                scenario,
                outcome,
                available=at,
                category="refund",
                description=f"REFUND FOR CHARGE (Order {order_no})",
                cust_amount=-amount,
                cust_ccy="USD",
            )
        else:
            num = order_no.split("-")[1]
            ch = IntlRow(
                "paypal",
                "refund",
                txn,
                order_no,
                at,
                "USD",
                -amount,
                -paypal_refund_fee(amount),
                scenario,
                outcome,
                ref_id=orig_txn,
                event="T1107",
                custom=f"order-{num}",
            )
        led = self.ledger(order_no, payment_id, txn, "refund", amount, "USD", t, scenario, outcome)
        self.ch.append(ch)
        self.led.append(led)
        return ch, led

    def ledger_only(self, scenario: str, outcome: str, *, t: int, with_id: bool) -> None:
        amount = self.open_amount()
        self.led.append(
            self.ledger(
                self.order_no(),
                self.s.payment_id(self.ymd),
                self.s.txn_id() if with_id else "",
                "payment",
                amount,
                "USD",
                t,
                scenario,
                outcome,
            )
        )

    # ---------------------------------------------------------------- the day
    def plan(self, target: int, *, plan_next: bool) -> None:
        r = self.r
        eur_day = self.index == 0 or r.random() < 0.7
        if eur_day:
            self.payment(
                "eur_payment", amount=r.randint(15, 400) * 100 + r.choice((0, 0, 50, 90)), currency="EUR"
            )
        # partial refunds (two) and a full refund of payments of the day
        t0 = self.when(self.lo, self.lo + 3 * 3600)
        pay, led = self.payment(
            "partial_refunds", amount=r.randint(100, 900) * 100 + r.choice((0, 50, 99)), t=t0
        )
        r1 = pay.cust_amount if self.stripe else pay.gross
        assert r1 is not None
        t1 = self.when(t0 + 600, t0 + 2 * 3600)
        self.refund(
            pay.order_no,
            pay.txn_id,
            led.payment_id,
            "partial_refunds",
            amount=r1 * r.randint(10, 40) // 100,
            t=t1,
        )
        self.refund(
            pay.order_no,
            pay.txn_id,
            led.payment_id,
            "partial_refunds",
            amount=r1 * r.randint(10, 40) // 100,
            t=self.when(t1 + 600, self.hi),
        )
        t0 = self.when(self.lo, self.lo + 3 * 3600)
        pay, led = self.payment("full_refund", t=t0)
        self.refund(
            pay.order_no,
            pay.txn_id,
            led.payment_id,
            "full_refund",
            amount=pay.gross,
            t=self.when(t0 + 600, self.hi),
        )
        order_no, orig, pid = self.earlier()
        self.refund(order_no, orig, pid, "refund_of_earlier_payment", amount=r.randint(10, 60) * 100)
        # discrepancies
        ch, led = self.payment("amount_mismatch", outcome="amount_mismatch")
        led.amount = rs.major(ch.gross + r.choice((1, -1)), "USD")
        self.payment("fee_mismatch_one_cent", fee_delta=1, outcome="fee_mismatch")
        self.payment(
            "missing_in_ledger", amount=self.open_amount(), outcome="missing_in_ledger", with_ledger=False
        )
        self.ledger_only("missing_in_channel", "missing_in_channel", t=self.when(), with_id=True)
        self.ledger_only(
            "in_transit_late_booking", "in_transit", t=self.when(CUTOFF, 24 * 3600 - 1), with_id=False
        )
        if self.stripe:
            _, led = self.payment("duplicate_ledger_entry", outcome="duplicate")
            led.twice = True
        else:
            ch, _ = self.payment("duplicate_channel_line", outcome="duplicate")
            self.ch.append(ch)
        if self.stripe:
            self.stripe_extras()
        fillers = max(1, target - sum(c.kind == "payment" for c in self.ch))
        for _ in range(fillers):
            self.payment("payment")
        self.cross_midnight(plan_next=plan_next)
        self.ch.sort(key=lambda c: c.at)
        if not self.stripe:
            self.plan_withdrawal()

    def stripe_extras(self) -> None:
        r = self.r
        if self.index % 2 == 0:  # Radar fee row on every other day
            at = self.utc(self.when())
            self.ch.append(
                IntlRow(
                    "stripe",
                    "fee",
                    self.s.txn_id(),
                    "",
                    at,
                    "USD",
                    -r.randint(5, 180),
                    0,
                    "stripe_fee_row",
                    "settlement_item",
                    available=at,
                    category="fee",
                    description=f"Radar ({self.day.isoformat()}): Radar for Fraud Teams",
                )
            )
        if self.index == min(1, self.days - 1):  # one dispute (chargeback) in the run
            at = self.utc(self.when())
            ch_id = "ch_3" + "".join(r.choices(ALNUM, k=24))
            self.ch.append(
                IntlRow(
                    "stripe",
                    "dispute",
                    self.s.txn_id(),
                    "",
                    at,
                    "USD",
                    -(r.randint(20, 90) * 100 + 50),
                    STRIPE_DISPUTE_FEE,
                    "dispute",
                    "missing_in_ledger",
                    available=at,
                    category="dispute",
                    description=f"Chargeback withdrawal for {ch_id}",
                )
            )

    def plan_withdrawal(self) -> None:
        """One T0400 of a round amount ≤ the USD balance at that time, on most days (always the first)."""
        r = self.r
        if self.index > 0 and r.random() < 0.2:
            return
        at = self.utc(self.when())
        balance = self.beginning["USD"] + sum(c.net for c in self.ch if c.currency == "USD" and c.at <= at)
        amount = balance // 10000 * 10000
        if amount <= 0:
            return
        bank_ref = f"BNK{self.ymd}" + "".join(r.choices(UPPER_ALNUM, k=4))
        row = IntlRow(
            "paypal",
            "withdrawal",
            self.s.txn_id(),
            "",
            at,
            "USD",
            -amount,
            None,
            "withdrawal",
            "settlement_item",
            event="T0400",
            bank_ref=bank_ref,
        )
        pos = next((i for i, c in enumerate(self.ch) if c.at > at), len(self.ch))
        self.ch.insert(pos, row)
        self.withdrawal = row

    def cross_midnight(self, *, plan_next: bool) -> None:
        """Place yesterday's halves of the cross-midnight pairs; plan today's for tomorrow.

        Channel first: paid in the last seconds of the channel's day D (23:59:4x UTC for Stripe, US
        Pacific for PayPal), booked 20-30 s later, which is already D+1 in Asia/Shanghai. Ledger first:
        booked at 23:59:4x Shanghai on D (after the cutoff), the channel row in D+1's file in the first
        seconds of the channel's day.
        """
        for kind, row in self.s.carry:
            if kind == "channel":
                assert isinstance(row, IntlRow)
                self.ch.append(row)
                if not self.stripe and row.currency != "USD":  # pragma: no cover - the pairs are USD
                    self.conversion(row)
            else:
                assert isinstance(row, LedRow)
                self.led.append(row)
        self.s.carry = []
        if not plan_next:
            return
        r = self.r
        nxt = self.day + timedelta(days=1)
        nxt_midnight = datetime(nxt.year, nxt.month, nxt.day)
        # Ledger first: booked 23:59:4x today (in_transit), on the channel at the start of its next day.
        t = r.randint(24 * 3600 - 20, 24 * 3600 - 12)
        ch, led = self.payment(
            "cross_midnight_ledger_first",
            amount=self.open_amount(),
            t=t,
            outcome="in_transit",
            with_channel=False,
        )
        led.booked_at = self.booked(t, utc=False)
        start = nxt_midnight if self.stripe else rs.pacific_local_to_utc(nxt_midnight)
        ch.at = start + timedelta(seconds=r.randint(3, 40))
        if self.stripe:
            ch.available = datetime(ch.at.year, ch.at.month, ch.at.day) + timedelta(days=1)
        ch.outcome = "resolved_late"
        self.s.carry.append(("channel", ch))
        # Channel first: paid at 23:59:4x of the channel's day, booked at D+1 in Shanghai.
        end = (nxt_midnight if self.stripe else rs.pacific_local_to_utc(nxt_midnight)) - timedelta(
            seconds=r.randint(12, 20)
        )
        ch, led = self.payment(
            "cross_midnight_channel_first",
            amount=self.open_amount(),
            outcome="missing_in_ledger",
            with_ledger=False,
        )
        ch.at = end
        if self.stripe:
            ch.available = datetime(end.year, end.month, end.day) + timedelta(days=1)
        booked = end + timedelta(seconds=r.randint(20, 30)) + SHANGHAI  # Shanghai wall clock, on D+1
        led.t = int((booked - nxt_midnight).total_seconds())
        led.booked_at = booked.strftime("%Y-%m-%dT%H:%M:%S") + "+08:00"
        led.outcome = "resolved_late"
        self.s.carry.append(("ledger", led))


# ------------------------------------------------------------------------------------------ UnionPay
#
# UnionPay has its own random stream (like Stripe/PayPal), so adding it changes neither the other
# channels' files nor the existing entries of the CNY bank statement (its payout is inserted into it).

UNIONPAY_MERCHANT = "898310148160529"
UNIONPAY_BPS, UNIONPAY_FEE_MAX = 50, 2000
UNIONPAY_PARTY = "CHINA UNIONPAY MERCHANT SERVICES CO LTD"
#: 交易代码 → (交易类型, 交易子类) written on the record.
UNIONPAY_CODES = {"S22": ("01", "01"), "S30": ("04", "00"), "S31": ("31", "00")}


def unionpay_fee(amount: int) -> int:
    """UnionPay contracted fee magnitude in fen: round_half_up(amount × 0.5 %), at most ¥20.00.

    The same on a refund or a void: what the channel gives back of the fee.

    Args:
        amount: Positive amount in fen.

    Returns:
        The fee magnitude in fen.
    """
    return min(contracted_fee(amount, UNIONPAY_BPS), UNIONPAY_FEE_MAX)


@dataclass(slots=True)
class ZmRow:
    """One planned UnionPay ZM record (amount unsigned in fen; fee signed towards the merchant)."""

    code: str  # S22 purchase | S30 refund | S31 void
    query_id: str  # 查询流水号: the channel_txn_id
    orig_query_id: str  # 原交易查询流水号 ("" on a purchase)
    order_no: str
    amount: int
    fee: int  # D (charged) negative, C (returned) positive
    t: int  # seconds after local midnight of D
    trace_no: str
    card: str
    scenario: str
    outcome: str

    @property
    def kind(self) -> str:
        """``payment`` for S22, ``refund`` for S30 and S31 (a void reads as a refund of its purchase)."""
        return "payment" if self.code == "S22" else "refund"

    @property
    def key(self) -> str:
        """The channel_txn_id of this record (its own 查询流水号, on refunds and voids too)."""
        return self.query_id

    @property
    def net(self) -> int:
        """Signed settlement effect: ±交易金额 plus the signed fee."""
        return (self.amount if self.code == "S22" else -self.amount) + self.fee

    def record(self, day: date) -> dict[str, object]:
        """The mapping :func:`render_unionpay_zm` takes."""
        txn_type, sub_type = UNIONPAY_CODES[self.code]
        clock = f"{day:%m%d}{self.t // 3600:02d}{self.t // 60 % 60:02d}{self.t % 60:02d}"
        return {
            "code": self.code,
            "trace_no": self.trace_no,
            "time": clock,
            "card": self.card,
            "amount_fen": self.amount,
            "query_id": self.query_id,
            "order_no": self.order_no,
            "fee_fen": self.fee,
            "settle_fen": self.net,
            "txn_type": txn_type,
            "txn_sub_type": sub_type,
            "biz_type": "000201",
            "orig_query_id": self.orig_query_id or None,
            "merchant_id": UNIONPAY_MERCHANT,
            "net_fen": self.net,
            "terminal": "00000001",
        }


class _UnionPayState:
    """UnionPay's own stream and sequences across the generated dates."""

    def __init__(self, seed: int) -> None:
        self.r = random.Random(seed * 7919 + 19)
        self.used: set[str] = set()
        self.earlier_seq = 0


class _UnionPayDay:
    """Builds the planned ZM records and ledger rows of one date.

    Rows are timed inside 00:30-23:29 (no cross-midnight pairs for UnionPay: its halves would need
    the carry machinery of the other channels; kept simple and away from midnight).
    """

    def __init__(self, state: _UnionPayState, day: date) -> None:
        self.s = state
        self.r = state.r
        self.day = day
        self.ymd = day.strftime("%Y%m%d")
        self.iso = day.isoformat()
        self.ch: list[ZmRow] = []
        self.led: list[LedRow] = []
        self.open_amounts: set[int] = set()
        self.order_seq = 0
        self.pay_seq = 0
        self.trace: set[str] = set()

    def _uid(self, make: Callable[[], str]) -> str:
        while True:
            v = make()
            if v not in self.s.used:
                self.s.used.add(v)
                return v

    def query_id(self, ymd: str) -> str:
        r = self.r
        return self._uid(lambda: f"6{ymd[2:]}{r.randrange(10**14):014d}")

    def trace_no(self) -> str:
        while True:
            v = f"{self.r.randrange(1, 10**6):06d}"
            if v not in self.trace:
                self.trace.add(v)
                return v

    def card(self) -> str:
        r = self.r
        return f"{r.choice(('622202', '621700', '622848', '625807', '628888'))}******{r.randrange(10**4):04d}"

    def price(self) -> int:
        r = self.r
        x = r.random()
        y = r.randint(10, 400) if x < 0.6 else r.randint(400, 3000) if x < 0.92 else r.randint(4000, 12000)
        return y * 100 + r.choice((0, 0, 0, 50, 90, 99, r.randint(1, 99)))

    def open_amount(self) -> int:
        while True:
            a = self.price()
            if a not in self.open_amounts:
                self.open_amounts.add(a)
                return a

    def when(self, lo: int = DAY_START, hi: int = DAY_LAST) -> int:
        return self.r.randint(lo, hi)

    def order_no(self) -> str:
        self.order_seq += 1
        return f"ZZU{self.ymd}{self.order_seq:06d}"

    def payment_id(self) -> str:
        self.pay_seq += 1
        return f"PAY{self.ymd}{7000000 + self.pay_seq:07d}"

    def booked(self, t: int) -> str:
        if self.r.random() < 0.05:
            dt = datetime(self.day.year, self.day.month, self.day.day) + timedelta(seconds=t - 8 * 3600)
            return dt.strftime("%Y-%m-%dT%H:%M:%SZ")
        return f"{self.iso}T{t // 3600:02d}:{t // 60 % 60:02d}:{t % 60:02d}+08:00"

    def ledger(
        self,
        order_no: str,
        payment_id: str,
        txn: str,
        kind: str,
        amount: int,
        t: int,
        scenario: str,
        outcome: str,
    ) -> LedRow:
        return LedRow(
            "unionpay",
            order_no,
            payment_id,
            "unionpay",
            txn,
            kind,
            rs.yuan(amount),
            "CNY",
            "succeeded",
            self.booked(t),
            t,
            scenario,
            outcome,
        )

    def payment(
        self,
        scenario: str,
        *,
        amount: int | None = None,
        t: int | None = None,
        outcome: str = "matched",
        fee_delta: int = 0,
        with_ledger: bool = True,
    ) -> tuple[ZmRow, LedRow]:
        amount = self.price() if amount is None else amount
        t = self.when() if t is None else t
        order_no = self.order_no()
        ch = ZmRow(
            "S22",
            self.query_id(self.ymd),
            "",
            order_no,
            amount,
            -(unionpay_fee(amount) + fee_delta),
            t + self.r.randint(2, 9),
            self.trace_no(),
            self.card(),
            scenario,
            outcome,
        )
        led = self.ledger(order_no, self.payment_id(), ch.query_id, "payment", amount, t, scenario, outcome)
        self.ch.append(ch)
        if with_ledger:
            self.led.append(led)
        return ch, led

    def refund(
        self,
        orig_query_id: str,
        order_no: str,
        payment_id: str,
        scenario: str,
        *,
        amount: int,
        t: int,
        void: bool = False,
        returned_fee: int | None = None,
    ) -> None:
        ch = ZmRow(
            "S31" if void else "S30",
            self.query_id(self.ymd),
            orig_query_id,
            order_no,
            amount,
            unionpay_fee(amount) if returned_fee is None else returned_fee,
            t + self.r.randint(2, 9),
            self.trace_no(),
            self.card(),
            scenario,
            "matched",
        )
        self.ch.append(ch)
        self.led.append(
            self.ledger(order_no, payment_id, ch.query_id, "refund", amount, t, scenario, "matched")
        )

    def plan(self, target: int) -> None:
        r = self.r
        # a payment above ¥4,000: its fee is the ¥20.00 cap; refunded in part (the refund's fee capped too)
        t0 = self.when(DAY_START, 12 * 3600)
        pay, led = self.payment("capped_fee_partial_refund", amount=r.randint(4500, 15000) * 100, t=t0)
        self.refund(
            pay.query_id,
            pay.order_no,
            led.payment_id,
            "capped_fee_partial_refund",
            amount=pay.amount * r.randint(10, 60) // 100,
            t=self.when(t0 + 600, DAY_LAST),
        )
        # a partial refund (S30) of a payment of the day
        t0 = self.when(DAY_START, 12 * 3600)
        pay, led = self.payment(
            "partial_refund", amount=r.randint(100, 2000) * 100 + r.choice((0, 50, 90)), t=t0
        )
        self.refund(
            pay.query_id,
            pay.order_no,
            led.payment_id,
            "partial_refund",
            amount=pay.amount * r.randint(10, 40) // 100,
            t=self.when(t0 + 600, DAY_LAST),
        )
        # a void (S31, 消费撤销) of a payment of the day: the whole amount and the whole fee come back
        t0 = self.when(DAY_START, 16 * 3600)
        pay, led = self.payment("void_same_day", t=t0)
        self.refund(
            pay.query_id,
            pay.order_no,
            led.payment_id,
            "void_same_day",
            amount=pay.amount,
            t=self.when(t0 + 300, DAY_LAST),
            void=True,
            returned_fee=-pay.fee,
        )
        # a refund of a payment of an earlier date (no generated file has it)
        self.s.earlier_seq += 1
        back = (self.day - timedelta(days=r.randint(3, 20))).strftime("%Y%m%d")
        self.refund(
            self.query_id(back),
            f"ZZU{back}{900000 + self.s.earlier_seq:06d}",
            f"PAY{back}{9700000 + self.s.earlier_seq:07d}",
            "refund_of_earlier_payment",
            amount=r.randint(10, 200) * 100,
            t=self.when(),
        )
        # discrepancies
        ch, led = self.payment("amount_mismatch", outcome="amount_mismatch")
        led.amount = rs.yuan(ch.amount + r.choice((1, -1)))
        self.payment(
            "fee_mismatch_one_fen", amount=r.randint(20, 2000) * 100 + 37, fee_delta=1, outcome="fee_mismatch"
        )
        self.payment(
            "missing_in_ledger", amount=self.open_amount(), outcome="missing_in_ledger", with_ledger=False
        )
        order_no = self.order_no()
        self.led.append(
            self.ledger(
                order_no,
                self.payment_id(),
                self.query_id(self.ymd),
                "payment",
                self.open_amount(),
                self.when(),
                "missing_in_channel",
                "missing_in_channel",
            )
        )
        for _ in range(max(1, target - sum(c.code == "S22" for c in self.ch))):
            self.payment("payment")
        self.ch.sort(key=lambda c: c.t)


def _plan_unionpay(plan: DayPlan, state: _UnionPayState, rows: int) -> None:
    """Plan UnionPay's day and merge its ledger rows into the day's export by booking time."""
    d = _UnionPayDay(state, plan.day)
    d.plan(max(4, rows // 8))
    plan.unionpay = d.ch
    plan.net["unionpay"] = sum(c.net for c in d.ch)
    _merge_ledger(plan, d.led)


def _merge_ledger(plan: DayPlan, new: list[LedRow]) -> None:
    """Insert ``new`` rows into the day's ledger by booking time (old rows keep their order) and renumber."""
    new_sorted = sorted(new, key=lambda x: x.t)
    out: list[LedRow] = []
    seen: set[int] = set()
    j = 0
    for row in plan.led_rows:
        if id(row) not in seen:
            seen.add(id(row))
            while j < len(new_sorted) and new_sorted[j].t < row.t:
                out.append(new_sorted[j])
                j += 1
        out.append(row)
    out.extend(new_sorted[j:])
    ymd = plan.day.strftime("%Y%m%d")
    numbered: set[int] = set()
    for row in out:
        if id(row) not in numbered:
            numbered.add(id(row))
            row.entry_id = f"LE{ymd}{len(numbered):06d}"
    plan.led_rows = out


def _write_unionpay(
    plan: DayPlan, day_dir: Path, missing_set: set[tuple[str, date]], key_rows: list[KeyRow]
) -> None:
    if ("unionpay", plan.day) in missing_set or plan.unionpay is None:
        return
    data = render_unionpay_zm([c.record(plan.day) for c in plan.unionpay])
    rel = f"unionpay/INN{plan.day:%y%m%d}88ZM_{UNIONPAY_MERCHANT}"
    _write(day_dir / rel, data)
    key_rows.extend(
        ("channel", rel, n, c.outcome, c.key, c.scenario) for n, c in enumerate(plan.unionpay, start=1)
    )


def _add_unionpay_payouts(
    r: random.Random, plans: list[DayPlan], bank: list[tuple[list[rs.BankEntry], int, int]]
) -> list[tuple[list[rs.BankEntry], int, int]]:
    """Put UnionPay's T+1 credit into each day's CNY statement (its own stream); openings follow."""
    out = []
    extra = 0
    for i, (plan, (entries, seq_nb, opening)) in enumerate(zip(plans, bank, strict=True)):
        day = plan.day
        prev = day - timedelta(days=1)
        if i == 0:
            amount = r.randint(5_000, 30_000) * 100 + r.randint(0, 99)
            outcome, scenario = "in_transit", "payout_of_day_before_run"
        else:
            amount = plans[i - 1].net["unionpay"]
            if plans[i - 1].present["unionpay"]:
                outcome, scenario = "matched", "payout"
            else:
                outcome, scenario = "in_transit", "payout_statement_not_reconciled"
        if amount <= 0:
            raise ValueError(f"net payout of unionpay for {prev} is not positive; use more rows")
        entry = rs.BankEntry(
            f"UP{day:%m%d}STL{r.randint(1, 9999):04d}",
            amount,
            True,
            day,
            "PMNT",
            "RCDT",
            "DMCT",
            "NOTPROVIDED",
            UNIONPAY_PARTY,
            f"UNIONPAY SETTLEMENT {UNIONPAY_MERCHANT} {prev:%Y%m%d}",
            scenario,
            outcome,
        )
        new = list(entries)
        new.insert(r.randint(0, len(new)), entry)
        out.append((new, seq_nb, opening + extra))
        extra += amount
    return out


# ------------------------------------------------------------------------------------------ fund flows
#
# The WeChat Pay 资金账单 and the Alipay 账务明细 of each date: the balance moves the trade bill's
# money makes (one income per payment, one expense per refund, the fee moves; Alipay's 提现 of the
# previous date's net, the credit on the bank). Every line is a ``settlement_item``. Own stream.


def _wechat_moves(plan: DayPlan, balance: int, r: random.Random) -> tuple[list[dict[str, object]], int]:
    moves: list[dict[str, object]] = []
    ymd = plan.day.strftime("%Y%m%d")

    def move(c: ChRow, name: str, word: str, amount: int, ref: str, scenario: str, **extra: object) -> None:
        nonlocal balance
        balance += amount
        moves.append(
            {
                "time": c.time_text,
                "business_ref": ref,
                "move_id": f"1900{WECHAT_MCHID[-4:]}{ymd}{len(moves) + 1:06d}{r.randrange(10**4):04d}",
                "business_name": name,
                "business_type": word,
                "amount": amount,
                "balance": balance,
                "applicant": "system",
                "scenario": scenario,
                **extra,
            }
        )

    for c in {id(c): c for c in plan.ch_rows["wechatpay"]}.values():  # a duplicated line moved money once
        if c.kind == "payment":
            move(c, "交易", "交易", c.amount, c.pay_txn_id, "fund_flow_payment")
            if c.fee:
                move(c, "交易", "扣除交易手续费", -c.fee, c.pay_txn_id, "fund_flow_fee")
        elif c.refund_status == "SUCCESS":
            move(
                c,
                "退款",
                "退款",
                -c.amount,
                c.refund_id,
                "fund_flow_refund",
                applicant=f"{WECHAT_MCHID}API",
                memo=f"退款总金额{rs.yuan(c.amount)}元;含手续费0.00元",
                voucher=c.merchant_refund_no,
            )
            if c.fee:
                move(c, "退款", "退还交易手续费", c.fee, c.refund_id, "fund_flow_fee_refund")
    return moves, balance


def _alipay_moves(
    plan: DayPlan, balance: int, withdrawal: int, r: random.Random
) -> tuple[list[dict[str, object]], int]:
    ymd = plan.day.strftime("%Y%m%d")
    # (time, 业务类型, 业务流水号, 商户订单号, 商品名称, 对方账号, signed amount, scenario)
    items: list[tuple[str, str, str, str, str, str, int, str]] = []
    for c in {id(c): c for c in plan.ch_rows["alipay"]}.values():
        if c.kind == "payment":
            items.append(
                (
                    c.time_text,
                    "在线支付",
                    c.pay_txn_id,
                    c.order_no,
                    c.product,
                    c.buyer,
                    c.amount,
                    "fund_flow_payment",
                )
            )
            if c.fee:
                items.append((c.time_text, "收费", c.pay_txn_id, c.order_no, "", "", -c.fee, "fund_flow_fee"))
        else:
            items.append(
                (
                    c.time_text,
                    "交易退款",
                    c.pay_txn_id,
                    c.order_no,
                    c.product,
                    c.buyer,
                    -c.amount,
                    "fund_flow_refund",
                )
            )
            if c.fee:
                items.append(
                    (c.time_text, "收费", c.pay_txn_id, c.order_no, "", "", c.fee, "fund_flow_fee_refund")
                )
    t = r.randint(3600, 2 * 3600)
    when = f"{plan.day.isoformat()} {t // 3600:02d}:{t // 60 % 60:02d}:{t % 60:02d}"
    ref = f"{ymd}200040011100{r.randrange(10**12):012d}"
    items.append((when, "提现", ref, "", "", "", -withdrawal, "fund_flow_withdrawal"))
    items.sort(key=lambda x: x[0])  # stable: a payment's 收费 stays right after it
    moves: list[dict[str, object]] = []
    for when, word, ref, order, subject, party, amount, scenario in items:
        balance += amount
        moves.append(
            {
                "move_id": f"{ymd}110010040{len(moves) + 1:07d}{r.randrange(10**3):03d}",
                "business_ref": ref,
                "order_no": order,
                "subject": subject,
                "time": when,
                "counterparty": party,
                "amount": amount,
                "balance": balance,
                "channel": "支付宝" if word != "提现" else "",
                "business_type": word,
                "memo": "提现到银行卡" if word == "提现" else "",
                "scenario": scenario,
            }
        )
    return moves, balance


def _write_fund_flows(
    plans: list[DayPlan],
    bank: list[tuple[list[rs.BankEntry], int, int]],
    missing_set: set[tuple[str, date]],
    seed: int,
) -> dict[date, list[tuple[str, bytes, list[KeyRow]]]]:
    """Per date the fund-flow files (relative path, bytes, answer rows); balances chain across dates."""
    r = random.Random(seed * 7919 + 23)
    wx_balance = r.randint(200_000, 900_000) * 100 + r.randint(0, 99)
    first_withdrawal = next(e.amount for e in bank[0][0] if e.text.startswith("ALIPAY WITHDRAWAL"))
    ali_balance = first_withdrawal + r.randint(50_000, 300_000) * 100 + r.randint(0, 99)
    out: dict[date, list[tuple[str, bytes, list[KeyRow]]]] = {}
    for plan, (entries, _, _) in zip(plans, bank, strict=True):
        day = plan.day
        ymd = day.strftime("%Y%m%d")
        files: list[tuple[str, bytes, list[KeyRow]]] = []
        moves, wx_balance = _wechat_moves(plan, wx_balance, r)
        if ("wechatpay", day) not in missing_set:
            rel = f"wechatpay/wechatpay_fundflow_{ymd}.csv"
            keys = [
                ("channel", rel, n, "settlement_item", str(m["move_id"]), str(m["scenario"]))
                for n, m in enumerate(moves, start=2)
            ]
            files.append((rel, render_wechat_fundflow(moves), keys))
        withdrawal = next(e.amount for e in entries if e.text.startswith("ALIPAY WITHDRAWAL"))
        moves, ali_balance = _alipay_moves(plan, ali_balance, withdrawal, r)
        if ("alipay", day) not in missing_set:
            rel = f"alipay/{ALIPAY_ACCOUNT}_{ymd}_账务明细.csv"
            keys = [
                ("channel", rel, n, "settlement_item", str(m["move_id"]), str(m["scenario"]))
                for n, m in enumerate(moves, start=6)
            ]
            files.append((rel, render_alipay_account(moves, account=ALIPAY_ACCOUNT, day=day), keys))
        out[day] = files
    return out


# ------------------------------------------------------------------------------------------ MT940

#: Day indexes of each week whose bank statement is MT940 instead of camt.053.
MT940_DAYS = (2, 5)
BANK_FORMATS = ("mixed", "camt053", "mt940")


def _render_mt940_multi(
    stmts: Sequence[rs.CamtStatement], *, day: date, count_offset: int
) -> tuple[bytes, list[list[int]]]:
    """The statements one after the other in one MT940 file (as the bank sends several accounts)."""
    data = b""
    lines_per: list[list[int]] = []
    for st in stmts:
        part, lines, _ = render_mt940(
            st.entries,
            day=day,
            prev_day=day - timedelta(days=1),
            account=st.account,
            owner=BANK_OWNER,
            bic=BANK_BIC,
            seq_nb=st.seq_nb,
            opening=st.opening,
            count_offset=count_offset,
            ccy=st.ccy,
        )
        before = data.count(b"\n")
        lines_per.append([before + n for n in lines])
        data += part
    return data, lines_per


# ------------------------------------------------------------------------------------------ generation


def _parse_channel_days(
    items: Iterable[tuple[str, date]], what: str, dates: Sequence[date], statements: Sequence[str]
) -> set[tuple[str, date]]:
    out = set()
    for channel, d in items:
        if channel not in statements:
            raise ValueError(f"{what}: unknown channel {channel!r} (expected one of {tuple(statements)})")
        if what == "rejected" and channel in ("stripe", "unionpay"):
            raise ValueError(
                f"rejected: a {channel} statement has no control totals to put off (use missing)"
            )
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
    channels: Sequence[str] = ALL_CHANNELS,
    bank_format: str = "mixed",
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
        channels: The channels to generate: ``wechatpay`` and ``alipay`` always, plus any of ``stripe``
            and ``paypal`` (default all four). ``("wechatpay", "alipay")`` writes exactly what the
            generator wrote before the USD channels existed; adding them never changes the WeChat Pay
            and Alipay files nor the CNY bank statement (they have their own random streams).
            ``unionpay`` adds the ZM file and one credit to the CNY statement (its own stream too).
        bank_format: ``mixed`` (MT940 on day index 2 and 5 of each week, camt.053 on the others),
            ``camt053`` or ``mt940`` (every day): the same entries, the same answers, another rendering.

    Returns:
        The generated dates, in order.

    Raises:
        ValueError: On a bad argument (no days, unknown channel, date outside the run, net payout ≤ 0).
    """
    if days < 1:
        raise ValueError("days must be >= 1")
    if bank_format not in BANK_FORMATS:
        raise ValueError(f"bank_format must be one of {BANK_FORMATS}; got {bank_format!r}")
    if rows_per_channel < 1:
        raise ValueError("rows_per_channel must be >= 1")
    unknown = [c for c in channels if c not in ALL_CHANNELS]
    if unknown or not set(CHANNELS) <= set(channels):
        raise ValueError(
            f"channels must be wechatpay, alipay and any of {OPTIONAL_CHANNELS}; got {tuple(channels)}"
        )
    intl = [c for c in INTL_CHANNELS if c in channels]
    with_unionpay = "unionpay" in channels
    active = list(CHANNELS) + intl + (["unionpay"] if with_unionpay else [])
    statements = [*active, "bank"]
    dates = [start + timedelta(days=i) for i in range(days)]
    missing_set = _parse_channel_days(missing, "missing", dates, statements)
    rejected_set = _parse_channel_days(rejected, "rejected", dates, statements)
    if missing_set & rejected_set:
        raise ValueError("a channel-day cannot be both missing and rejected")

    gen = _Generator(seed, rows_per_channel, quarantined_rows)
    states = {c: _IntlChannel(c, seed, salt) for c, salt in (("stripe", 11), ("paypal", 13)) if c in intl}
    union_state = _UnionPayState(seed)
    plans = []
    for i, d in enumerate(dates):
        plan = gen.plan_day(d, i, connected=days > 1, last=i == days - 1)
        if intl:
            _plan_intl(plan, states, rows_per_channel, days)
        if with_unionpay:
            _plan_unionpay(plan, union_state, rows_per_channel)
        plans.append(plan)
    _unlink_cross_midnight(plans, missing_set | rejected_set)
    for plan in plans:
        for channel in statements:
            plan.present[channel] = (channel, plan.day) not in missing_set and (
                channel,
                plan.day,
            ) not in rejected_set
        for channel in active:
            if plan.present[channel]:
                continue
            tag = "/statement_missing" if (channel, plan.day) in missing_set else "/statement_rejected"
            rows: list[ChRow] | list[IntlRow] | list[ZmRow]
            if channel in CHANNELS:
                rows = plan.ch_rows[channel]
            elif channel == "unionpay":
                rows = plan.unionpay or []
            else:
                rows = plan.intl[channel].ch
            for c in {id(c): c for c in rows}.values():
                c.outcome = "quarantined"
                c.scenario = c.scenario + tag
            for led in plan.led_rows:
                if led.plan_channel != channel or led.outcome == "quarantined" or led.twice:
                    continue
                led.outcome = "in_transit"
                led.scenario = led.scenario + tag
    bank = _plan_bank(gen.r, plans)
    if with_unionpay:
        bank = _add_unionpay_payouts(random.Random(seed * 7919 + 29), plans, bank)
    fund_flows = _write_fund_flows(plans, bank, missing_set, seed)
    usd_bank = _plan_usd_bank(random.Random(seed * 7919 + 17), plans, intl) if intl else None

    inbox = out_dir / "inbox"
    answers = out_dir / "answers"
    for n, (plan, (entries, seq_nb, opening)) in enumerate(zip(plans, bank, strict=True)):
        day = plan.day
        day_dir = inbox / day.isoformat()
        if day_dir.exists():
            shutil.rmtree(day_dir)
        key_rows: list[KeyRow] = []
        _write_channels(plan, day_dir, missing_set, rejected_set, gen.r, key_rows)
        for rel, data, flow_keys in fund_flows[day]:
            _write(day_dir / rel, data)
            key_rows.extend(flow_keys)
        _write_intl(plan, day_dir, missing_set, rejected_set, key_rows)
        _write_unionpay(plan, day_dir, missing_set, key_rows)
        _write_ledger(plan, day_dir, days, key_rows)
        if ("bank", day) not in missing_set:
            offset = 1 if ("bank", day) in rejected_set else 0
            stmts = [rs.CamtStatement(entries, BANK_ACCOUNT, "CNY", seq_nb, opening)]
            if usd_bank is not None:
                stmts.append(rs.CamtStatement(*usd_bank[n]))
            if bank_format == "mt940" or (bank_format == "mixed" and plan.index % 7 in MT940_DAYS):
                data, lines_per = _render_mt940_multi(stmts, day=day, count_offset=offset)
                rel = f"bank/mt940_{day.strftime('%Y%m%d')}.sta"
            else:
                data, lines_per, _ = rs.render_camt053_multi(
                    stmts,
                    day=day,
                    prev_day=day - timedelta(days=1),
                    owner=BANK_OWNER,
                    bic=BANK_BIC,
                    count_offset=offset,
                )
                rel = f"bank/camt053_{day.strftime('%Y%m%d')}.xml"
            _write(day_dir / rel, data)
            for st, lines in zip(stmts, lines_per, strict=True):
                for e, line in zip(st.entries, lines, strict=True):
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
    plan: DayPlan,
    day_dir: Path,
    missing_set: set[tuple[str, date]],
    rejected_set: set[tuple[str, date]],
    r: random.Random,
    key_rows: list[KeyRow],
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


def _write_ledger(plan: DayPlan, day_dir: Path, days: int, key_rows: list[KeyRow]) -> None:
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


def _plan_intl(plan: DayPlan, states: dict[str, _IntlChannel], rows: int, days: int) -> None:
    """Plan the USD channels of ``plan``'s date and merge their ledger rows into the day's export."""
    target = max(4, rows // 8)
    new: list[LedRow] = []
    for channel, state in states.items():
        d = _IntlDay(state, plan.day, plan.index, days)
        d.plan(target, plan_next=days > 1 and plan.index < days - 1)
        plan.intl[channel] = d
        new.extend(d.led)
        if channel == "paypal":
            state.usd_balance = d.beginning["USD"] + sum(c.net for c in d.ch if c.currency == "USD")
        else:
            plan.net[channel] = sum(c.net for c in d.ch)
    r = next(iter(states.values())).r
    # The old rows keep their relative order and duplicate copies; the new ones go in by booking time.
    new_sorted = sorted(new, key=lambda x: x.t)
    out: list[LedRow] = []
    seen: set[int] = set()
    j = 0
    for row in plan.led_rows:
        if id(row) not in seen:
            seen.add(id(row))
            while j < len(new_sorted) and new_sorted[j].t < row.t:
                out.append(new_sorted[j])
                j += 1
        out.append(row)
    out.extend(new_sorted[j:])
    ymd = plan.day.strftime("%Y%m%d")
    numbered: set[int] = set()
    for row in out:
        if id(row) not in numbered:
            numbered.add(id(row))
            row.entry_id = f"LE{ymd}{len(numbered):06d}"
    for row in new_sorted:
        if row.twice:
            at = next(i for i, x in enumerate(out) if x is row)
            out.insert(r.randint(at + 1, len(out)), row)
    plan.led_rows = out


def _write_intl(
    plan: DayPlan,
    day_dir: Path,
    missing_set: set[tuple[str, date]],
    rejected_set: set[tuple[str, date]],
    key_rows: list[KeyRow],
) -> None:
    day = plan.day
    ymd = day.strftime("%Y%m%d")
    for channel, d in plan.intl.items():
        if (channel, day) in missing_set:
            continue
        if channel == "stripe":
            data, lines = rs.render_stripe_balance(d.ch)
            rel = f"stripe/stripe_balance_change_from_activity_itemized_{ymd}.csv"
        else:
            offset = 1 if (channel, day) in rejected_set else 0
            data, lines, _ = rs.render_paypal_stl(
                d.ch,
                account=PAYPAL_ACCOUNT,
                day=day,
                generated=d.generated,
                beginning=d.beginning,
                count_offset=offset,
            )
            rel = f"paypal/STL-{ymd}.01.009.CSV"
        _write(day_dir / rel, data)
        key_rows.extend(
            ("channel", rel, ln, c.outcome, c.key, c.scenario) for c, ln in zip(d.ch, lines, strict=True)
        )


def _plan_usd_bank(
    r: random.Random, plans: list[DayPlan], intl: Sequence[str]
) -> list[tuple[list[rs.BankEntry], str, str, int, int]]:
    """Per date the USD account's statement: (entries, account, currency, ElctrncSeqNb, opening)."""
    balance = r.randint(8_000, 20_000) * 100 + r.randint(0, 99)
    seq_nb = r.randint(30, 80)
    out = []
    for i, plan in enumerate(plans):
        day = plan.day
        mmdd = day.strftime("%m%d")
        prev = day - timedelta(days=1)
        entries: list[rs.BankEntry] = []
        for channel in intl:
            if i == 0:
                outcome, scenario = "in_transit", "payout_of_day_before_run"
                amount = r.randint(300, 3000) * 100 + r.randint(0, 99)
                if channel == "paypal":
                    amount = r.randint(5, 30) * 10000
                    bank_ref = f"BNK{prev:%Y%m%d}" + "".join(r.choices(UPPER_ALNUM, k=4))
            else:
                before = plans[i - 1]
                if channel == "stripe":
                    amount = before.net["stripe"]
                else:
                    w = before.intl["paypal"].withdrawal
                    if w is None:
                        continue
                    amount, bank_ref = -w.gross, w.bank_ref
                if before.present[channel]:
                    outcome, scenario = "matched", "payout"
                else:
                    outcome, scenario = "in_transit", "payout_statement_not_reconciled"
            if amount <= 0:
                raise ValueError(f"net payout of {channel} for {prev} is not positive; use more rows")
            if channel == "stripe":
                po = "po_1" + "".join(r.choices(ALNUM, k=23))
                entry = rs.BankEntry(
                    f"ST{mmdd}PO{r.randint(1, 99999):05d}",
                    amount,
                    True,
                    day,
                    "PMNT",
                    "RCDT",
                    "XBCT",
                    "NOTPROVIDED",
                    "STRIPE",
                    f"STRIPE PAYOUT {po}",
                    scenario,
                    outcome,
                )
            else:
                entry = rs.BankEntry(
                    f"PP{mmdd}WDR{r.randint(1, 9999):04d}",
                    amount,
                    True,
                    day,
                    "PMNT",
                    "RCDT",
                    "XBCT",
                    "NOTPROVIDED",
                    "PAYPAL PTE LTD",
                    f"PAYPAL TRANSFER {bank_ref}",
                    scenario,
                    outcome,
                )
            entries.append(entry)
        n = r.randint(1, 3)
        entries.append(
            rs.BankEntry(
                f"CH{mmdd}INW{r.randint(1, 9999):04d}",
                n * r.choice((450, 675, 800)),
                False,
                day,
                "ACMT",
                "MDOP",
                "CHRG",
                "NOTPROVIDED",
                "",
                f"INWARD REMITTANCE CHARGES {n} ITEMS",
                "bank_noise_usd_charge_debit",
                "unexplained",
            )
        )
        if r.random() < 0.6:
            po = f"PO-US-{r.randint(10000, 99999)}"
            entries.append(
                rs.BankEntry(
                    f"DB{mmdd}WIR{r.randint(1, 9999):04d}",
                    r.randint(200, 3000) * 100,
                    False,
                    day,
                    "PMNT",
                    "ICDT",
                    "XBCT",
                    po,
                    r.choice(
                        ("PACIFIC LINEN SUPPLY INC", "OAKRIDGE CANDLE WORKS LLC", "BLUE HARBOR DESIGN CO")
                    ),
                    f"SUPPLIER PAYMENT {po}",
                    "bank_noise_usd_supplier_debit",
                    "unexplained",
                )
            )
        r.shuffle(entries)
        out.append((entries, USD_BANK_ACCOUNT, "USD", seq_nb, balance))
        balance += sum(e.amount if e.credit else -e.amount for e in entries)
        seq_nb += 1
    return out


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
            "Generate a seeded sample inbox for recon (WeChat Pay trade bills and 资金账单, Alipay 业务明细 bills "
            "as zip or bare GBK CSVs and 账务明细, Stripe, PayPal STL, UnionPay ZM, the ledger export as CSV or "
            "Parquet, camt.053 and MT940 bank statements) together with an "
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
        help="leave out a statement (channel wechatpay, alipay, stripe, paypal or bank); repeatable",
    )
    p.add_argument(
        "--rejected",
        type=_channel_day,
        action="append",
        default=[],
        metavar="CHANNEL@DATE",
        help="deliver a statement whose control totals are off by one (not stripe: no totals); repeatable",
    )
    p.add_argument(
        "--channels",
        type=lambda text: tuple(c.strip() for c in text.split(",") if c.strip()),
        default=ALL_CHANNELS,
        metavar="LIST",
        help="comma-separated channels to generate: wechatpay,alipay and any of stripe,paypal,unionpay "
        "(default all five; the optional ones never change the WeChat Pay and Alipay files)",
    )
    p.add_argument(
        "--bank-format",
        choices=BANK_FORMATS,
        default="mixed",
        help="bank statement rendering: mixed (MT940 on day index 2 and 5 of each week, camt.053 otherwise; "
        "the default), camt053 or mt940 every day",
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
            channels=args.channels,
            bank_format=args.bank_format,
        )
    except ValueError as exc:
        p.error(str(exc))
    print(f"generated {len(dates)} day(s) {dates[0]}..{dates[-1]} under {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
