"""UnionPay 全渠道 ZM reconciliation file (交易流水文件): the byte layout and the value conventions.

FORMATS §4: a fixed-width text file, GBK, one record per line, fields cut by **byte** length with one
separator byte between fields (the SDK helper advances ``leftIndex = rightIndex + 1``). The layout
below is the SDK's, seen in several repositories [P]; the value conventions are not documented in
anything we could read, so each one the adapter relies on is a named assumption
(:data:`ZM_ASSUMPTIONS`) and a file that breaks one is rejected whole (``ASSUMPTION_BROKEN``), never
guessed at.

Both SDK layouts have the same line length (607 bytes): the older one ends with one 131-byte
reserved field where the newer one has a 32-byte field, a separator and a 98-byte reserved field
(32 + 1 + 98 = 131). The line length cannot tell them apart, and nothing recon reads lies in those
last 131 bytes, so both are read alike with :data:`ZM_FIELDS_COMMON` (the first 40 fields).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pandera.polars as pa
import polars as pl

from schemas.identifiers import ID_CHECK, printable_ascii

#: What a field holds, which decides how it is read and checked:
#:
#: - ``code``: ASCII, padded with spaces (ids, codes, masked card numbers); trimmed of spaces;
#: - ``digits``: ASCII digits, or all spaces when the line has no such value;
#: - ``time``: ``MMDDhhmmss`` (assumption A4);
#: - ``amount``: 12 ASCII digits, fen, unsigned (assumption A3);
#: - ``signed``: a debit/credit marker and 12 digits of fen (assumption A2);
#: - ``money``: another money field recon does not read (its sign convention is not even assumed);
#: - ``text``: GBK text, padded with spaces, decoded per field;
#: - ``reserved``: not read.
FieldKind = Literal["code", "digits", "time", "amount", "signed", "money", "text", "reserved"]


@dataclass(frozen=True)
class ZmField:
    """One fixed-width field: its name as the SDK documents it, its width in bytes, what it holds."""

    name: str
    width: int
    kind: FieldKind


def _fields(*spec: tuple[str, int, FieldKind]) -> tuple[ZmField, ...]:
    return tuple(ZmField(name, width, kind) for name, width, kind in spec)


#: The first 40 fields, the same in both SDK layouts (widths FORMATS §4).
_COMMON = (
    ("交易代码", 3, "code"),
    ("代理机构标识码", 11, "code"),
    ("发送机构标识码", 11, "code"),
    ("系统跟踪号", 6, "digits"),
    ("交易传输时间", 10, "time"),
    ("账号", 19, "code"),
    ("交易金额", 12, "amount"),
    ("商户类别", 4, "code"),
    ("终端类型", 2, "code"),
    ("查询流水号", 21, "code"),
    ("支付方式（旧）", 2, "code"),
    ("商户订单号", 32, "code"),
    ("支付卡类型", 2, "code"),
    ("原始交易的系统跟踪号", 6, "digits"),
    ("原始交易日期时间", 10, "digits"),
    ("商户手续费", 13, "signed"),
    ("结算金额", 13, "signed"),
    ("支付方式", 4, "code"),
    ("集团商户代码", 15, "code"),
    ("交易类型", 2, "code"),
    ("交易子类", 2, "code"),
    ("业务类型", 6, "code"),
    ("账号类型", 2, "code"),
    ("账单类型", 4, "code"),
    ("账单号码", 32, "code"),
    ("交互方式", 1, "code"),
    ("原交易查询流水号", 21, "code"),
    ("商户代码", 15, "code"),
    ("分账入账方式", 1, "code"),
    ("二级商户代码", 15, "code"),
    ("二级商户简称", 32, "text"),
    ("二级商户分账入账金额", 13, "money"),
    ("清算净额", 13, "signed"),
    ("终端号", 8, "code"),
    ("商户自定义域", 32, "text"),
    ("优惠金额", 13, "money"),
    ("发票金额", 13, "money"),
    ("分期付款附加手续费", 12, "money"),
    ("分期付款期数", 2, "digits"),
    ("交易介质", 1, "code"),
)

#: The newer SDK's 42 fields (widths ``3,11,…,1,32,98``); the last two are not named by the SDK.
ZM_FIELDS: tuple[ZmField, ...] = _fields(*_COMMON, ("保留字段1", 32, "reserved"), ("保留字段2", 98, "reserved"))  # type: ignore[arg-type]
#: The older SDK's 41 fields (widths ``3,11,…,1,131``).
ZM_FIELDS_OLD: tuple[ZmField, ...] = _fields(*_COMMON, ("保留字段", 131, "reserved"))  # type: ignore[arg-type]
#: What recon reads: the fields both layouts share, at the same byte offsets.
ZM_FIELDS_COMMON: tuple[ZmField, ...] = ZM_FIELDS[: len(_COMMON)]
#: The byte between two fields (assumption A8: a space).
ZM_SEPARATOR = " "


def line_length(fields: tuple[ZmField, ...]) -> int:
    """The bytes of one record without its line end: the widths plus one separator between fields."""
    return sum(field.width for field in fields) + len(fields) - 1


def field_offsets(fields: tuple[ZmField, ...]) -> dict[str, tuple[int, int]]:
    """``{name: (byte offset, width)}`` of each field in a record."""
    offsets, at = {}, 0
    for field in fields:
        offsets[field.name] = (at, field.width)
        at += field.width + 1
    return offsets


#: 607 bytes for both layouts (checked at import: the layouts must stay byte-compatible).
ZM_LINE_BYTES = line_length(ZM_FIELDS)
assert line_length(ZM_FIELDS_OLD) == ZM_LINE_BYTES


# -- the value conventions: named assumptions ------------------------------------------------------


@dataclass(frozen=True)
class Assumption:
    """A value convention FORMATS §4 marks unverified, which the adapter relies on and enforces."""

    key: str
    title: str
    statement: str


#: Every unverified convention the ZM adapter relies on. A file that breaks A1, A2, A5 or A6 is
#: rejected with ``ASSUMPTION_BROKEN`` and a message naming the assumption; A3, A4 and A8 are
#: checked per line (a line that breaks them is quarantined, the usual bad-row rule); A7 cannot be
#: checked (the file has no currency field).
ZM_ASSUMPTIONS: dict[str, Assumption] = {
    a.key: a
    for a in (
        Assumption(
            "A1", "交易代码 values",
            "交易代码 S22 is a purchase (消费), S31 a void (消费撤销), S30 a refund (退货); no other code "
            "occurs in a merchant's ZM file. Only S22 is seen in a public parser; S30/S31 are recalled, "
            "not verified. An unknown code rejects the file: its money has no known sign.",
        ),
        Assumption(
            "A2", "debit/credit marker of the 13-byte amounts",
            "商户手续费, 结算金额 and 清算净额 are a marker and 12 digits of fen: C = a credit to the "
            "merchant (+), D = a debit to the merchant (−). Any other marker (a space, a minus, a "
            "digit) rejects the file.",
        ),
        Assumption("A3", "交易金额", "12 ASCII digits, fen, unsigned; the line's code gives the sign."),
        Assumption(
            "A4", "交易传输时间",
            "MMDDhhmmss, Asia/Shanghai wall-clock time; the year is the settle date's, or the one "
            "before / after when the month is more than six months away (year-end wrap).",
        ),
        Assumption("A5", "line ends", "CRLF or LF (a file of CR-only line ends is rejected)."),
        Assumption(
            "A6", "no header or footer",
            "every non-blank line is a record, so there are no control totals; a first line that is "
            "not a record (a header) rejects the file.",
        ),
        Assumption("A7", "currency", "every amount is CNY (the ZM record has no currency field)."),
        Assumption("A8", "separator", "the byte between two fields is a space (0x20)."),
    )
}  # fmt: skip

#: Assumption A1: 交易代码 → canonical kind; the tuple also says whether the line is a void.
TXN_CODES: dict[str, tuple[str, str]] = {
    "S22": ("payment", "消费"),
    "S30": ("refund", "退货"),
    "S31": ("refund", "消费撤销"),
}
#: The codes that reverse a payment of the same settle date (a void): a refund-kind row.
VOID_CODES: frozenset[str] = frozenset({"S31"})
#: Assumption A2: marker → sign towards the merchant.
SIGN_MARKERS: dict[str, int] = {"C": 1, "D": -1}
#: Assumption A4.
ZM_TIME_ZONE = "Asia/Shanghai"
#: Assumption A7.
ZM_CURRENCY = "CNY"

#: The 12 digits of fen after the A2 marker.
SIGNED_AMOUNT = r"^[CD][0-9]{12}$"
AMOUNT_12 = r"^[0-9]{12}$"
TIME_10 = r"^(0[1-9]|1[0-2])(0[1-9]|[12][0-9]|3[01])([01][0-9]|2[0-3])[0-5][0-9][0-5][0-9]$"


class UnionPayZmRaw(pa.DataFrameModel):
    """The fields recon reads from one ZM record, as text trimmed of padding (grain: one line).

    Only lines of the right length and known 交易代码 reach this model (the adapter checks those
    first); rules across fields (the original id a refund needs) live in the adapter.
    """

    txn_code: str = pa.Field(alias="交易代码", isin=tuple(TXN_CODES))
    txn_time: str = pa.Field(alias="交易传输时间", str_matches=TIME_10)
    txn_amount: str = pa.Field(alias="交易金额", str_matches=AMOUNT_12)
    query_id: str = pa.Field(alias="查询流水号", str_length={"min_value": 1})
    order_id: str = pa.Field(alias="商户订单号")
    merchant_fee: str = pa.Field(alias="商户手续费", str_matches=SIGNED_AMOUNT)
    settle_amount: str = pa.Field(alias="结算金额", str_matches=SIGNED_AMOUNT)
    orig_query_id: str = pa.Field(alias="原交易查询流水号")
    merchant_id: str = pa.Field(alias="商户代码")
    net_amount: str = pa.Field(alias="清算净额", str_matches=SIGNED_AMOUNT)
    #: the card (masked or not, as the file writes it): ``ChannelTxn.buyer_id``, personal data
    card_no: str = pa.Field(alias="账号")
    source_file: str
    source_line: pl.Int64 = pa.Field(ge=1)

    @pa.check("查询流水号", "商户订单号", "原交易查询流水号", "商户代码", name=ID_CHECK)
    def ids_are_printable_ascii(cls, data: pa.PolarsData) -> pl.LazyFrame:
        """Ids hold printable ASCII only."""
        return printable_ascii(data)

    class Config:
        """Exactly these fields plus the location columns."""

        strict = True
        coerce = False
