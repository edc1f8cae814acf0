"""Canonical frames (DESIGN §3): what every adapter produces and every later stage consumes.

Money columns are ``*_minor`` signed int64 in the currency's minor unit, positive = towards the
merchant (payments positive; refunds, fees and payouts negative). ``fee_exact`` keeps a channel's
fee at the channel's own precision (WeChat: 5 decimals) as Decimal(18,5) in major units.
Timestamps ``*_at`` are UTC; ``*_date`` are business dates in the merchant's time zone.
Duplicates are *not* rejected here: a duplicate is an outcome, not an invalid row (DESIGN §9 Keys).
"""

from __future__ import annotations

import pandera.polars as pa
import polars as pl
from pandera.engines import polars_engine as pe

from schemas.identifiers import ID_CHECK, printable_ascii

CHANNELS = ("wechatpay", "alipay", "unionpay", "stripe", "paypal")
CHANNEL_KINDS = ("payment", "refund", "fee", "adjustment", "payout", "conversion")
#: What a fund-flow line (WeChat 资金账单, Alipay 账务明细) does to the channel balance.
BALANCE_MOVE_KINDS = ("payment", "refund", "fee", "fee_refund", "withdrawal", "transfer", "other")
LEDGER_KINDS = ("payment", "refund")
CHANNEL_STATUSES = ("succeeded", "processing", "revoked")
LEDGER_STATUSES = ("succeeded", "pending", "failed")
CURRENCY = r"^[A-Z]{3}$"


class ChannelTxn(pa.DataFrameModel):
    """One row per transaction line of a channel statement (payment, refund, fee, ...).

    ``channel_txn_id`` is the channel's id of *this* line: the payment's id on a payment, the
    refund's own id (WeChat 微信退款单号, Alipay 退款批次号/请求号) on a refund, whose payment id is in
    ``original_txn_id``. ``amount_minor`` is what the channel settles before its fee (WeChat
    应结订单金额 / −退款金额, Alipay 商家实收); ``order_amount_minor`` the order total and
    ``discount_minor`` the merchant-funded discount, both signed like ``amount_minor``.
    ``settle_date`` is the business date of the statement the row is on.

    ``buyer_id`` is the buyer's account, card or device id as the statement writes it (WeChat 用户标识
    = openid, Alipay 对方账户, UnionPay 账号, Stripe ``customer_id``, PayPal ``Consumer ID``), null where
    the format has none. It is personal data: it stays in the run's work folder, and what leaves it is
    only its keyed hash (``flows/reconcile.py`` ``risk``; docs/safety.md). It is *not* an id recon
    matches on, and a statement may write it masked and in Chinese (Alipay: ``*津水(602***@qq.com)``):
    it is not held to the printable-ASCII id check, only to the character checks every field passes.
    """

    channel: str = pa.Field(isin=CHANNELS)
    merchant_account: str = pa.Field(nullable=True)
    channel_txn_id: str = pa.Field(str_length={"min_value": 1})
    order_no: str = pa.Field(nullable=True)
    original_txn_id: str = pa.Field(nullable=True)
    kind: str = pa.Field(isin=CHANNEL_KINDS)
    amount_minor: pl.Int64
    fee_minor: pl.Int64
    fee_exact: pe.Decimal = pa.Field(dtype_kwargs={"precision": 18, "scale": 5})
    order_amount_minor: pl.Int64 = pa.Field(nullable=True)
    discount_minor: pl.Int64 = pa.Field(nullable=True)
    currency: str = pa.Field(str_matches=CURRENCY)
    settle_amount_minor: pl.Int64 = pa.Field(nullable=True)
    settle_currency: str = pa.Field(nullable=True)
    fx_rate: pe.Decimal = pa.Field(nullable=True, dtype_kwargs={"precision": 18, "scale": 8})
    occurred_at: pe.DateTime = pa.Field(dtype_kwargs={"time_unit": "us", "time_zone": "UTC"})
    settle_date: pl.Date
    status: str = pa.Field(isin=CHANNEL_STATUSES)
    status_detail: str = pa.Field(nullable=True)
    buyer_id: str = pa.Field(nullable=True)
    source_file: str
    source_line: pl.Int64 = pa.Field(ge=1)

    @pa.check("merchant_account", "channel_txn_id", "order_no", "original_txn_id", name=ID_CHECK)
    def ids_are_printable_ascii(cls, data: pa.PolarsData) -> pl.LazyFrame:
        """Ids hold printable ASCII only, whatever the adapter (schemas.identifiers)."""
        return printable_ascii(data)

    @pa.dataframe_check()
    def payments_in_refunds_out(cls, data: pa.PolarsData) -> pl.LazyFrame:
        """Sign table: a payment is never negative, a refund never positive."""
        return data.lazyframe.select(
            pl.when(pl.col("kind") == "payment")
            .then(pl.col("amount_minor") >= 0)
            .when(pl.col("kind") == "refund")
            .then(pl.col("amount_minor") <= 0)
            .otherwise(True)
        )

    class Config:
        """Extra columns are a bug in the adapter."""

        strict = True
        coerce = False


class LedgerEntry(pa.DataFrameModel):
    """One row per payment or refund the order system booked (DESIGN §2 ledger export).

    ``amount_minor`` is signed by ``kind`` (refunds negative). ``channel_txn_id`` is null when the
    channel's callback never arrived; for a refund it is the refund's own id and ``payment_id`` names
    the refunded payment. ``business_date`` is ``booked_at`` in the merchant's time zone.
    """

    entry_id: str = pa.Field(str_length={"min_value": 1})
    order_no: str = pa.Field(nullable=True)
    payment_id: str = pa.Field(nullable=True)
    channel: str = pa.Field(isin=CHANNELS)
    channel_txn_id: str = pa.Field(nullable=True)
    kind: str = pa.Field(isin=LEDGER_KINDS)
    amount_minor: pl.Int64
    currency: str = pa.Field(str_matches=CURRENCY)
    status: str = pa.Field(isin=LEDGER_STATUSES)
    booked_at: pe.DateTime = pa.Field(dtype_kwargs={"time_unit": "us", "time_zone": "UTC"})
    business_date: pl.Date
    source_file: str
    source_line: pl.Int64 = pa.Field(ge=1)

    @pa.check("entry_id", "order_no", "payment_id", "channel_txn_id", name=ID_CHECK)
    def ids_are_printable_ascii(cls, data: pa.PolarsData) -> pl.LazyFrame:
        """Ids hold printable ASCII only, whatever the adapter (schemas.identifiers)."""
        return printable_ascii(data)

    @pa.dataframe_check()
    def sign_follows_kind(cls, data: pa.PolarsData) -> pl.LazyFrame:
        """Payments are positive, refunds negative (the export's positive amount signed by kind)."""
        return data.lazyframe.select(
            pl.when(pl.col("kind") == "payment")
            .then(pl.col("amount_minor") > 0)
            .otherwise(pl.col("amount_minor") < 0)
        )

    class Config:
        """Extra columns are a bug in the adapter."""

        strict = True
        coerce = False


class BankTxn(pa.DataFrameModel):
    """One row per booked entry (``Ntry``) of a bank statement.

    ``amount_minor`` is signed: credits (money in) positive, debits negative. ``reference`` is the
    remittance text the payout patterns of recon.toml are matched against; ``bank_ref`` the bank's own
    reference (AcctSvcrRef).
    """

    account: str
    booking_date: pl.Date
    value_date: pl.Date = pa.Field(nullable=True)
    amount_minor: pl.Int64
    currency: str = pa.Field(str_matches=CURRENCY)
    counterparty: str = pa.Field(nullable=True)
    reference: str = pa.Field(nullable=True)
    bank_ref: str = pa.Field(nullable=True)
    source_file: str
    source_line: pl.Int64 = pa.Field(ge=1)

    class Config:
        """Extra columns are a bug in the adapter."""

        strict = True
        coerce = False


class BalanceMove(pa.DataFrameModel):
    """One row per line of a channel's fund-flow file (WeChat 资金账单, Alipay 账务明细).

    The channel's own balance moves: the day's payments and refunds again, its fees, and the
    withdrawals (提现) to the bank. ``amount_minor`` is signed (income +, expense −);
    ``balance_minor`` is the balance after the move when the file states it; ``business_type`` keeps
    the file's own words (业务名称/业务类型) beside the ``kind`` recon reads from them.
    """

    channel: str = pa.Field(isin=CHANNELS)
    merchant_account: str = pa.Field(nullable=True)
    move_id: str = pa.Field(str_length={"min_value": 1})
    business_ref: str = pa.Field(nullable=True)
    order_no: str = pa.Field(nullable=True)
    kind: str = pa.Field(isin=BALANCE_MOVE_KINDS)
    amount_minor: pl.Int64
    balance_minor: pl.Int64 = pa.Field(nullable=True)
    currency: str = pa.Field(str_matches=CURRENCY)
    occurred_at: pe.DateTime = pa.Field(dtype_kwargs={"time_unit": "us", "time_zone": "UTC"})
    business_type: str = pa.Field(nullable=True)
    settle_date: pl.Date
    source_file: str
    source_line: pl.Int64 = pa.Field(ge=1)

    @pa.check("merchant_account", "move_id", "business_ref", "order_no", name=ID_CHECK)
    def ids_are_printable_ascii(cls, data: pa.PolarsData) -> pl.LazyFrame:
        """Ids hold printable ASCII only, whatever the adapter (schemas.identifiers)."""
        return printable_ascii(data)

    class Config:
        """Extra columns are a bug in the adapter."""

        strict = True
        coerce = False


def empty_frame(model: type[pa.DataFrameModel]) -> pl.DataFrame:
    """An empty frame with exactly the columns and dtypes of ``model``."""
    schema = model.to_schema()
    return pl.DataFrame(schema={name: col.dtype.type for name, col in schema.columns.items()})
