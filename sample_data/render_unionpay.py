"""A byte-exact renderer of UnionPay 全渠道 ZM reconciliation files (FORMATS §4), for tests and samples.

Plain Python rows in, file bytes out; money is integer fen. Deliberately independent of
``schemas/unionpay.py`` (like the other renderers here, it imports nothing of the pipeline), so a
layout mistake in the adapter is not repeated by its oracle; a test checks the two tables agree.

The conventions written are the adapter's named assumptions (``schemas.unionpay.ZM_ASSUMPTIONS``):
GBK, fields padded with spaces to their byte width (text left-aligned, digits zero-filled), one
space between fields, ``C``/``D`` + 12 digits in 商户手续费 / 结算金额 / 清算净额, CRLF, no header
or footer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

#: (name, byte width) of the newer SDK's 42 fields.
ZM42: tuple[tuple[str, int], ...] = (
    ("交易代码", 3), ("代理机构标识码", 11), ("发送机构标识码", 11), ("系统跟踪号", 6), ("交易传输时间", 10),
    ("账号", 19), ("交易金额", 12), ("商户类别", 4), ("终端类型", 2), ("查询流水号", 21),
    ("支付方式（旧）", 2), ("商户订单号", 32), ("支付卡类型", 2), ("原始交易的系统跟踪号", 6),
    ("原始交易日期时间", 10), ("商户手续费", 13), ("结算金额", 13), ("支付方式", 4), ("集团商户代码", 15),
    ("交易类型", 2), ("交易子类", 2), ("业务类型", 6), ("账号类型", 2), ("账单类型", 4), ("账单号码", 32),
    ("交互方式", 1), ("原交易查询流水号", 21), ("商户代码", 15), ("分账入账方式", 1), ("二级商户代码", 15),
    ("二级商户简称", 32), ("二级商户分账入账金额", 13), ("清算净额", 13), ("终端号", 8), ("商户自定义域", 32),
    ("优惠金额", 13), ("发票金额", 13), ("分期付款附加手续费", 12), ("分期付款期数", 2), ("交易介质", 1),
    ("保留字段1", 32), ("保留字段2", 98),
)  # fmt: skip
#: The older SDK's 41 fields: the same 40, then one reserved field of 131 bytes.
ZM41: tuple[tuple[str, int], ...] = (*ZM42[:40], ("保留字段", 131))

#: Row keys (English, plain Python values) → the ZM field they fill.
_KEYS = {
    "code": "交易代码",
    "trace_no": "系统跟踪号",
    "time": "交易传输时间",
    "card": "账号",
    "amount_fen": "交易金额",
    "query_id": "查询流水号",
    "order_no": "商户订单号",
    "fee_fen": "商户手续费",
    "settle_fen": "结算金额",
    "txn_type": "交易类型",
    "txn_sub_type": "交易子类",
    "biz_type": "业务类型",
    "orig_query_id": "原交易查询流水号",
    "merchant_id": "商户代码",
    "sub_merchant_id": "二级商户代码",
    "sub_merchant_name": "二级商户简称",
    "net_fen": "清算净额",
    "terminal": "终端号",
    "reserved": "商户自定义域",
}
_SIGNED = frozenset({"商户手续费", "结算金额", "清算净额"})
_ZERO_FILLED = frozenset({"交易金额", "系统跟踪号", "交易传输时间"})


def render_unionpay_zm(
    rows: Sequence[Mapping[str, object]],
    *,
    layout: str = "zm42",
    line_end: bytes = b"\r\n",
    final_line_end: bool = True,
) -> bytes:
    """Render ZM records.

    Args:
        rows: one mapping per record: the keys of ``_KEYS`` (``amount_fen`` an unsigned int;
            ``fee_fen`` / ``settle_fen`` / ``net_fen`` ints signed towards the merchant, written
            ``C``/``D`` + 12 digits; ``time`` the ``MMDDhhmmss`` text), plus ``raw``: a mapping of
            ZM field name → bytes written as they are (padded with spaces), to plant bad values.
        layout: ``zm42`` (newer SDK) or ``zm41`` (older SDK).
        line_end: between records.
        final_line_end: whether the last record ends with ``line_end`` too.

    Returns:
        The file's bytes (GBK).

    Raises:
        ValueError: a value does not fit its field (the renderer never cuts a value).
    """
    fields = ZM42 if layout == "zm42" else ZM41
    lines = [_record(row, fields) for row in rows]
    body = line_end.join(lines)
    return body + line_end if lines and final_line_end else body


def _record(row: Mapping[str, object], fields: Sequence[tuple[str, int]]) -> bytes:
    values: dict[str, bytes] = {}
    for key, name in _KEYS.items():
        if key in row and row[key] is not None:
            values[name] = _value(name, row[key])
    raw = row.get("raw") or {}
    assert isinstance(raw, Mapping)
    values.update(raw)
    parts = []
    for name, width in fields:
        value = values.get(name, b"")
        if len(value) > width:
            raise ValueError(f"{name}: {value!r} is longer than {width} bytes")
        parts.append(value.ljust(width, b" "))
    return b" ".join(parts)


def _value(name: str, value: object) -> bytes:
    if name in _SIGNED:
        assert isinstance(value, int)
        return (b"C" if value >= 0 else b"D") + str(abs(value)).zfill(12).encode()
    if name == "交易金额":
        assert isinstance(value, int) and value >= 0
        return str(value).zfill(12).encode()
    text = str(value)
    return text.zfill(6).encode() if name == "系统跟踪号" else text.encode("gbk")
