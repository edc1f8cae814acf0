"""Raw Pandera model of one WeChat Pay trade bill detail line (FORMATS §1.2, bill_type=ALL).

One row per detail line, every field a string exactly as written minus its one leading backtick,
plus ``source_file`` / ``source_line`` (the 1-based physical line). The checks are the format's own
rules on single fields; rules across fields (the sign table, refund ids and refund statuses that
apply only to refund lines) live in the adapter, which knows the line's kind.
"""

from __future__ import annotations

import pandera.polars as pa
import polars as pl

from schemas.bill_text import AMOUNT_2DP, TIMESTAMP, real_date
from schemas.identifiers import ID_CHECK, printable_ascii

#: The 27 detail columns, verbatim and in the documented order.
WECHATPAY_TRADE_COLUMNS: tuple[str, ...] = (
    "交易时间", "公众账号ID", "商户号", "特约商户号", "设备号", "微信订单号", "商户订单号", "用户标识",
    "交易类型", "交易状态", "付款银行", "货币种类", "应结订单金额", "代金券金额", "微信退款单号",
    "商户退款单号", "退款金额", "充值券退款金额", "退款类型", "退款状态", "商品名称", "商户数据包",
    "手续费", "费率", "订单金额", "申请退款金额", "费率备注",
)  # fmt: skip

#: The 7 summary columns (免充值券 layout).
WECHATPAY_TRADE_SUMMARY_COLUMNS: tuple[str, ...] = (
    "总交易单数", "应结订单总金额", "退款总金额", "充值券退款总金额", "手续费总金额", "订单总金额", "申请退款总金额",
)  # fmt: skip

#: The fee column: yuan with exactly 5 decimals.
AMOUNT_5DP = r"^-?(0|[1-9][0-9]{0,14})\.[0-9]{5}$"

TRADE_STATUSES = ("SUCCESS", "REFUND", "REVOKED")
#: Empty on payment lines; the adapter requires SUCCESS or PROCESSING on refund lines.
REFUND_STATUSES = ("", "SUCCESS", "PROCESSING")


def _required() -> dict[str, int]:
    return {"min_value": 1}


class WeChatPayTradeRaw(pa.DataFrameModel):
    """One detail line of a WeChat Pay trade bill, all fields as strings (grain: one physical line)."""

    trade_time: str = pa.Field(alias="交易时间", str_matches=TIMESTAMP)
    appid: str = pa.Field(alias="公众账号ID")
    mch_id: str = pa.Field(alias="商户号")
    sub_mch_id: str = pa.Field(alias="特约商户号")
    device_info: str = pa.Field(alias="设备号")
    transaction_id: str = pa.Field(alias="微信订单号", str_length=_required())
    out_trade_no: str = pa.Field(alias="商户订单号", str_length=_required())
    openid: str = pa.Field(alias="用户标识")
    trade_type: str = pa.Field(alias="交易类型")
    trade_state: str = pa.Field(alias="交易状态", isin=TRADE_STATUSES)
    bank_type: str = pa.Field(alias="付款银行")
    currency: str = pa.Field(alias="货币种类", str_matches=r"^[A-Z]{3}$")
    settlement_amount: str = pa.Field(alias="应结订单金额", str_matches=AMOUNT_2DP)
    coupon_amount: str = pa.Field(alias="代金券金额", str_matches=AMOUNT_2DP)
    refund_id: str = pa.Field(alias="微信退款单号")
    out_refund_no: str = pa.Field(alias="商户退款单号")
    refund_amount: str = pa.Field(alias="退款金额", str_matches=AMOUNT_2DP)
    recharge_coupon_refund: str = pa.Field(alias="充值券退款金额", str_matches=AMOUNT_2DP)
    refund_type: str = pa.Field(alias="退款类型")
    refund_status: str = pa.Field(alias="退款状态", isin=REFUND_STATUSES)
    body: str = pa.Field(alias="商品名称")
    attach: str = pa.Field(alias="商户数据包")
    fee: str = pa.Field(alias="手续费", str_matches=AMOUNT_5DP)
    fee_rate: str = pa.Field(alias="费率")
    order_amount: str = pa.Field(alias="订单金额", str_matches=AMOUNT_2DP)
    requested_refund: str = pa.Field(alias="申请退款金额", str_matches=AMOUNT_2DP)
    fee_remark: str = pa.Field(alias="费率备注")
    source_file: str
    source_line: pl.Int64 = pa.Field(ge=1)

    @pa.check("微信订单号", "商户订单号", "商户号", "特约商户号", "微信退款单号", "商户退款单号", name=ID_CHECK)
    def ids_are_printable_ascii(cls, data: pa.PolarsData) -> pl.LazyFrame:
        """Ids hold printable ASCII only (no invisible, bidirectional or full-width characters)."""
        return printable_ascii(data)

    @pa.check("交易时间", name="calendar_date")
    def trade_time_is_a_real_date(cls, data: pa.PolarsData) -> pl.LazyFrame:
        """``2026-02-30 10:00:00`` matches the pattern but is no date."""
        return real_date(data)

    class Config:
        """Exactly the bill's columns plus the location columns."""

        strict = True
        coerce = False


# -- fund flow bill (资金账单, FORMATS §2) ------------------------------------------------------------

#: The 11 detail columns of the fund flow bill, verbatim with ASCII ``(元)`` (the v3 spelling; older
#: pages write full-width ``（元）``, which the adapter reads as the same column).
WECHATPAY_FUNDFLOW_COLUMNS: tuple[str, ...] = (
    "记账时间", "微信支付业务单号", "资金流水单号", "业务名称", "业务类型", "收支类型", "收支金额(元)",
    "账户结余(元)", "资金变更提交申请人", "备注", "业务凭证号",
)  # fmt: skip

#: The 5 summary columns of the fund flow bill.
WECHATPAY_FUNDFLOW_SUMMARY_COLUMNS: tuple[str, ...] = ("资金流水总笔数", "收入笔数", "收入金额", "支出笔数", "支出金额")

#: 收支类型: the direction of the move (the amount itself is written unsigned).
FUNDFLOW_DIRECTIONS = ("收入", "支出")


class WeChatPayFundFlowRaw(pa.DataFrameModel):
    """One detail line of a WeChat Pay fund flow bill, fields minus their backtick (grain: one physical line).

    The sign of 收支金额 (written unsigned; a minus is the adapter's SIGN_VIOLATION) and the kind read
    from 业务名称/业务类型 are rules of the adapter.
    """

    booked_time: str = pa.Field(alias="记账时间", str_matches=TIMESTAMP)
    business_ref: str = pa.Field(alias="微信支付业务单号")
    move_id: str = pa.Field(alias="资金流水单号", str_length=_required())
    business_name: str = pa.Field(alias="业务名称")
    business_type: str = pa.Field(alias="业务类型")
    direction: str = pa.Field(alias="收支类型", isin=FUNDFLOW_DIRECTIONS)
    amount: str = pa.Field(alias="收支金额(元)", str_matches=AMOUNT_2DP)
    balance: str = pa.Field(alias="账户结余(元)", str_matches=AMOUNT_2DP)
    applicant: str = pa.Field(alias="资金变更提交申请人")
    memo: str = pa.Field(alias="备注")
    voucher: str = pa.Field(alias="业务凭证号")
    source_file: str
    source_line: pl.Int64 = pa.Field(ge=1)

    @pa.check("微信支付业务单号", "资金流水单号", name=ID_CHECK)
    def ids_are_printable_ascii(cls, data: pa.PolarsData) -> pl.LazyFrame:
        """Ids hold printable ASCII only (no invisible, bidirectional or full-width characters)."""
        return printable_ascii(data)

    @pa.check("记账时间", name="calendar_date")
    def booked_time_is_a_real_date(cls, data: pa.PolarsData) -> pl.LazyFrame:
        """``2026-02-30 10:00:00`` matches the pattern but is no date."""
        return real_date(data)

    class Config:
        """Exactly the bill's columns plus the location columns."""

        strict = True
        coerce = False
