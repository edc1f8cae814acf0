"""Raw Pandera model of one Alipay 业务明细 detail line (FORMATS §3.2, bill_type=trade).

One row per detail line, every field a string with its appended TAB and surrounding spaces stripped,
plus ``source_file`` / ``source_line`` (the 1-based physical line). Rules across fields (the sign
table, the refund id that only refunds need) live in the adapter.
"""

from __future__ import annotations

import pandera.polars as pa
import polars as pl

from schemas.bill_text import AMOUNT_2DP, TIMESTAMP, real_date
from schemas.identifiers import ID_CHECK, printable_ascii

#: The 25 detail columns, verbatim (full-width parentheses) and in the documented order.
ALIPAY_TRADE_COLUMNS: tuple[str, ...] = (
    "支付宝交易号", "商户订单号", "业务类型", "商品名称", "创建时间", "完成时间", "门店编号", "门店名称",
    "操作员", "终端号", "对方账户", "订单金额（元）", "商家实收（元）", "支付宝红包（元）", "集分宝（元）",
    "支付宝优惠（元）", "商家优惠（元）", "券核销金额（元）", "券名称", "商家红包消费金额（元）",
    "卡消费金额（元）", "退款批次号/请求号", "服务费（元）", "分润（元）", "备注",
)  # fmt: skip

#: The 12 columns of the 业务明细(汇总) file (FORMATS §3.3).
ALIPAY_SUMMARY_COLUMNS: tuple[str, ...] = (
    "门店编号", "门店名称", "交易订单总笔数", "退款订单总笔数", "订单金额（元）", "商家实收（元）",
    "支付宝优惠（元）", "商家优惠（元）", "卡消费金额（元）", "服务费（元）", "分润（元）", "实收净额（元）",
)  # fmt: skip

#: Money columns of the detail file: yuan, exactly 2 decimals, signed.
ALIPAY_AMOUNT_COLUMNS: tuple[str, ...] = tuple(
    name for name in ALIPAY_TRADE_COLUMNS if name.endswith("（元）")
)

BUSINESS_TYPES = ("交易", "退款")


class AlipayTradeRaw(pa.DataFrameModel):
    """One detail line of an Alipay 业务明细 file, all fields as strings (grain: one physical line)."""

    trade_no: str = pa.Field(alias="支付宝交易号", str_length={"min_value": 1})
    out_trade_no: str = pa.Field(alias="商户订单号", str_length={"min_value": 1})
    business_type: str = pa.Field(alias="业务类型", isin=BUSINESS_TYPES)
    subject: str = pa.Field(alias="商品名称")
    created_time: str = pa.Field(alias="创建时间", str_matches=TIMESTAMP)
    finished_time: str = pa.Field(alias="完成时间", str_matches=TIMESTAMP)
    store_id: str = pa.Field(alias="门店编号")
    store_name: str = pa.Field(alias="门店名称")
    operator: str = pa.Field(alias="操作员")
    terminal: str = pa.Field(alias="终端号")
    counterparty: str = pa.Field(alias="对方账户")
    order_amount: str = pa.Field(alias="订单金额（元）", str_matches=AMOUNT_2DP)
    merchant_received: str = pa.Field(alias="商家实收（元）", str_matches=AMOUNT_2DP)
    alipay_red_packet: str = pa.Field(alias="支付宝红包（元）", str_matches=AMOUNT_2DP)
    jifenbao: str = pa.Field(alias="集分宝（元）", str_matches=AMOUNT_2DP)
    alipay_discount: str = pa.Field(alias="支付宝优惠（元）", str_matches=AMOUNT_2DP)
    merchant_discount: str = pa.Field(alias="商家优惠（元）", str_matches=AMOUNT_2DP)
    coupon_redeemed: str = pa.Field(alias="券核销金额（元）", str_matches=AMOUNT_2DP)
    coupon_name: str = pa.Field(alias="券名称")
    merchant_red_packet: str = pa.Field(alias="商家红包消费金额（元）", str_matches=AMOUNT_2DP)
    card_amount: str = pa.Field(alias="卡消费金额（元）", str_matches=AMOUNT_2DP)
    refund_request_no: str = pa.Field(alias="退款批次号/请求号")
    service_fee: str = pa.Field(alias="服务费（元）", str_matches=AMOUNT_2DP)
    profit_share: str = pa.Field(alias="分润（元）", str_matches=AMOUNT_2DP)
    memo: str = pa.Field(alias="备注")
    source_file: str
    source_line: pl.Int64 = pa.Field(ge=1)

    @pa.check("支付宝交易号", "商户订单号", "退款批次号/请求号", name=ID_CHECK)
    def ids_are_printable_ascii(cls, data: pa.PolarsData) -> pl.LazyFrame:
        """Ids hold printable ASCII only (no invisible, bidirectional or full-width characters)."""
        return printable_ascii(data)

    @pa.check("创建时间", name="calendar_date")
    def created_is_a_real_date(cls, data: pa.PolarsData) -> pl.LazyFrame:
        """``2026-02-30 10:00:00`` matches the pattern but is no date."""
        return real_date(data)

    @pa.check("完成时间", name="calendar_date")
    def finished_is_a_real_date(cls, data: pa.PolarsData) -> pl.LazyFrame:
        """``2026-02-30 10:00:00`` matches the pattern but is no date."""
        return real_date(data)

    class Config:
        """Exactly the bill's columns plus the location columns."""

        strict = True
        coerce = False


# -- 账务明细 (bill_type=signcustomer, FORMATS §3.4) ----------------------------------------------------

#: The classic 12 columns of the 账务明细, verbatim (full-width parentheses) and in the documented order.
#: Newer exports add and reorder columns: the adapter reads by header name.
ALIPAY_ACCOUNT_COLUMNS: tuple[str, ...] = (
    "账务流水号", "业务流水号", "商户订单号", "商品名称", "发生时间", "对方账号", "收入金额（+元）",
    "支出金额（-元）", "账户余额（元）", "交易渠道", "业务类型", "备注",
)  # fmt: skip

#: The columns the adapter reads (each must be in the header; any other column is carried unread).
ALIPAY_ACCOUNT_REQUIRED: tuple[str, ...] = (
    "账务流水号", "业务流水号", "商户订单号", "发生时间", "收入金额（+元）", "支出金额（-元）", "账户余额（元）", "业务类型",
)  # fmt: skip

#: An amount column where the move went the other way: empty, or written with 2 decimals.
AMOUNT_2DP_OR_EMPTY = r"^$|" + AMOUNT_2DP


class AlipayAccountRaw(pa.DataFrameModel):
    """The read columns of one 账务明细 line, stripped of TABs and spaces (grain: one physical line).

    Rules across fields (exactly one of 收入/支出 non-zero, their signs) live in the adapter.
    """

    move_id: str = pa.Field(alias="账务流水号", str_length={"min_value": 1})
    business_ref: str = pa.Field(alias="业务流水号")
    out_trade_no: str = pa.Field(alias="商户订单号")
    occurred_time: str = pa.Field(alias="发生时间", str_matches=TIMESTAMP)
    income: str = pa.Field(alias="收入金额（+元）", str_matches=AMOUNT_2DP_OR_EMPTY)
    expense: str = pa.Field(alias="支出金额（-元）", str_matches=AMOUNT_2DP_OR_EMPTY)
    balance: str = pa.Field(alias="账户余额（元）", str_matches=AMOUNT_2DP)
    business_type: str = pa.Field(alias="业务类型")
    source_file: str
    source_line: pl.Int64 = pa.Field(ge=1)

    @pa.check("账务流水号", "业务流水号", "商户订单号", name=ID_CHECK)
    def ids_are_printable_ascii(cls, data: pa.PolarsData) -> pl.LazyFrame:
        """Ids hold printable ASCII only (no invisible, bidirectional or full-width characters)."""
        return printable_ascii(data)

    @pa.check("发生时间", name="calendar_date")
    def occurred_is_a_real_date(cls, data: pa.PolarsData) -> pl.LazyFrame:
        """``2026-02-30 10:00:00`` matches the pattern but is no date."""
        return real_date(data)

    class Config:
        """Exactly the read columns plus the location columns."""

        strict = True
        coerce = False
