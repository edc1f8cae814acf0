"""Deterministic writers of the two fund-flow files, exactly in their documented formats.

- :func:`render_wechat_fundflow`: the WeChat Pay 资金账单 (FORMATS §2): UTF-8, an 11-column header,
  backticked detail fields, the summary header and its backticked values line.
- :func:`render_alipay_account`: the Alipay 账务明细 (FORMATS §3.4): GBK, the ``#`` preamble, a header
  (the classic 12 columns, or any order with extra columns), ids with the TAB Alipay appends, 收入
  positive and 支出 negative, the ``#`` footer with its two 合计 lines.

Both take plain rows (mappings) whose money is integer fen, ``amount`` signed (income +, expense −)
and ``balance`` the balance after the move; the same rows always give the same bytes. The summary and
footer figures are computed from the rows (a test that needs a wrong one edits the bytes).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sample_data.render_statements import _alipay_preamble, _cn_datetime, yuan

Move = Mapping[str, Any]

# Written out from FORMATS §2 and §3.4 here (sample_data imports nothing of recon): the renderers are an
# independent oracle of the adapters, not a copy of their tables.
#: The WeChat fund flow header (the v3 spelling ``(元)``).
WECHATPAY_FUNDFLOW_COLUMNS = (
    "记账时间", "微信支付业务单号", "资金流水单号", "业务名称", "业务类型", "收支类型", "收支金额(元)",
    "账户结余(元)", "资金变更提交申请人", "备注", "业务凭证号",
)  # fmt: skip
WECHATPAY_FUNDFLOW_SUMMARY_COLUMNS = ("资金流水总笔数", "收入笔数", "收入金额", "支出笔数", "支出金额")
#: The classic 12-column 账务明细 header.
ALIPAY_ACCOUNT_COLUMNS = (
    "账务流水号", "业务流水号", "商户订单号", "商品名称", "发生时间", "对方账号", "收入金额（+元）",
    "支出金额（-元）", "账户余额（元）", "交易渠道", "业务类型", "备注",
)  # fmt: skip


def _text(move: Move, key: str) -> str:
    value = move.get(key)
    return "" if value is None else str(value)


def render_wechat_fundflow(
    moves: Sequence[Move],
    *,
    full_width: bool = False,
    counts_with_decimal: bool = False,
    bom: bool = False,
    newline: str = "\r\n",
) -> bytes:
    """A WeChat Pay fund flow bill of ``moves``, in file order.

    Args:
        moves: rows with ``time`` (``yyyy-MM-dd HH:mm:ss``, Beijing), ``business_ref`` (微信支付业务单号),
            ``move_id`` (资金流水单号), ``business_name`` (业务名称), ``business_type`` (业务类型),
            ``amount`` (signed fen: the sign becomes 收支类型, the amount is written unsigned), ``balance``
            (账户结余, fen) and optional ``applicant``, ``memo``, ``voucher``.
        full_width: write the header's ``（元）`` (older documentation) instead of ``(元)``.
        counts_with_decimal: write the summary counts as ``20.0`` (the official sample's style).
        bom: start with a UTF-8 byte order mark.
        newline: the line end.

    Returns:
        The file's bytes (UTF-8).
    """
    header = ",".join(WECHATPAY_FUNDFLOW_COLUMNS)
    if full_width:
        header = header.replace("(元)", "（元）")
    out = [header]
    income = [int(m["amount"]) for m in moves if int(m["amount"]) >= 0]
    expense = [-int(m["amount"]) for m in moves if int(m["amount"]) < 0]
    for m in moves:
        amount = int(m["amount"])
        values = (
            _text(m, "time"), _text(m, "business_ref"), _text(m, "move_id"), _text(m, "business_name"),
            _text(m, "business_type"), "收入" if amount >= 0 else "支出", yuan(abs(amount)), yuan(int(m["balance"])),
            _text(m, "applicant"), _text(m, "memo"), _text(m, "voucher"),
        )  # fmt: skip
        out.append(",".join("`" + value for value in values))

    def count(n: int) -> str:
        return f"{n}.0" if counts_with_decimal else str(n)

    out.append(",".join(WECHATPAY_FUNDFLOW_SUMMARY_COLUMNS))
    summary = (count(len(moves)), count(len(income)), yuan(sum(income)), count(len(expense)), yuan(sum(expense)))
    out.append(",".join("`" + value for value in summary))
    text = newline.join(out) + newline
    return (b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8")


def render_alipay_account(
    moves: Sequence[Move],
    *,
    account: str,
    day: date,
    columns: Sequence[str] = ALIPAY_ACCOUNT_COLUMNS,
    footer_padding: int = 0,
    exported: datetime | None = None,
) -> bytes:
    """An Alipay 账务明细 of ``moves``, in file order.

    Args:
        moves: rows with ``move_id`` (账务流水号), ``business_ref`` (业务流水号), ``order_no`` (商户订单号),
            ``time`` (发生时间, ``yyyy-MM-dd HH:mm:ss`` Beijing), ``amount`` (signed fen: + in 收入金额, − in
            支出金额, the other column ``0.00``), ``balance`` (账户余额, fen), ``business_type`` (业务类型) and
            optional ``subject``, ``counterparty``, ``channel``, ``memo``; a column of ``columns`` outside
            the classic 12 takes ``extra[column]`` (empty when absent).
        account: the ``#账号：[…]`` of the preamble.
        day: the statement date (起始日期; 终止日期 is the next day 00:00:00).
        columns: the header, in its order (newer exports reorder and add columns).
        footer_padding: the commas some exports append to the footer lines.
        exported: the ``#导出时间`` (default: the day after ``day`` at 05:46:49).

    Returns:
        The file's bytes (GBK, CRLF).
    """
    tab = "\t"
    out = _alipay_preamble("支付宝账务明细查询", "账务明细列表", account, day, day + timedelta(days=1))
    out.append(",".join(columns))
    for m in moves:
        amount = int(m["amount"])
        classic = {
            "账务流水号": _text(m, "move_id") + tab,
            "业务流水号": _text(m, "business_ref") + tab,
            "商户订单号": _text(m, "order_no") + tab,
            "商品名称": _text(m, "subject"),
            "发生时间": _text(m, "time"),
            "对方账号": _text(m, "counterparty") + tab,
            "收入金额（+元）": yuan(amount) if amount > 0 else "0.00",
            "支出金额（-元）": yuan(amount) if amount < 0 else "0.00",
            "账户余额（元）": yuan(int(m["balance"])),
            "交易渠道": _text(m, "channel"),
            "业务类型": _text(m, "business_type") + tab,
            "备注": _text(m, "memo"),
        }
        extra: Mapping[str, Any] = m.get("extra") or {}
        out.append(",".join(classic[c] if c in classic else str(extra.get(c, "")) for c in columns))
    income = [int(m["amount"]) for m in moves if int(m["amount"]) > 0]
    expense = [int(m["amount"]) for m in moves if int(m["amount"]) < 0]
    stamp = exported or datetime(day.year, day.month, day.day, 5, 46, 49) + timedelta(days=1)
    pad = "," * footer_padding
    out += [
        "#" + "-" * 40 + "账务明细列表结束" + "-" * 37 + pad,
        f"#支出合计：{len(expense)}笔，共{yuan(sum(expense))}元{pad}",
        f"#收入合计：{len(income)}笔，共{yuan(sum(income))}元{pad}",
        f"#导出时间：[{_cn_datetime(stamp)}]{pad}",
    ]
    return ("\r\n".join(out) + "\r\n").encode("gbk")
