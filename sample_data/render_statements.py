"""Byte-exact renderers for the generated sample files.

Every renderer takes plain planned rows (see :mod:`sample_data.generate`) and returns the file bytes
together with the 1-based physical line (or Parquet row) of every data row it wrote, so the answer key
points at exactly what a text editor shows. Money is integer fen throughout; nothing here uses float.

Layouts follow ``formats/FORMATS.md`` and the public sample files:

* WeChat Pay trade bill (ALL): UTF-8 with BOM, CRLF, a backtick before every field of every detail
  line and of the summary values line, header lines without backticks.
* Alipay 业务明细 / 业务明细(汇总): GBK, CRLF, ``#`` preamble and footer lines, a TAB appended to the
  text fields; the download zip stores member names as GBK bytes without the UTF-8 flag.
* camt.053.001.02: UTF-8, LF, one ``Stmt`` per account (CNY, then USD when the USD channels are
  generated) with OPBD/CLBD/CLAV balances and ``TxsSummry``.
* Ledger export: UTF-8 CSV with LF and a header row, or Parquet with every column a string.
* Stripe ``balance_change_from_activity.itemized``: UTF-8 without BOM, CRLF, lowercase currency, major
  units with the currency's decimals, net = gross − fee, RFC 4180 quoting only where a field needs it.
* PayPal Settlement Report (STL) v009: UTF-8 without BOM, CRLF, RH FH SH CH SB… SF (one per currency)
  SC RF (one per currency) RC FF; amounts unsigned minor units with CR/DR; US Pacific time stamps.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from xml.sax.saxutils import escape

import pyarrow as pa
import pyarrow.parquet as pq

WECHAT_HEADER = (
    "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,"
    "货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,"
    "商户数据包,手续费,费率,订单金额,申请退款金额,费率备注"
)
WECHAT_SUMMARY_HEADER = (
    "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额"
)

ALIPAY_HEADER = (
    "支付宝交易号,商户订单号,业务类型,商品名称,创建时间,完成时间,门店编号,门店名称,操作员,终端号,对方账户,"
    "订单金额（元）,商家实收（元）,支付宝红包（元）,集分宝（元）,支付宝优惠（元）,商家优惠（元）,券核销金额（元）,"
    "券名称,商家红包消费金额（元）,卡消费金额（元）,退款批次号/请求号,服务费（元）,分润（元）,备注"
)
ALIPAY_SUMMARY_HEADER = (
    "门店编号,门店名称,交易订单总笔数,退款订单总笔数,订单金额（元）,商家实收（元）,支付宝优惠（元）,商家优惠（元）,"
    "卡消费金额（元）,服务费（元）,分润（元）,实收净额（元）"
)

LEDGER_COLUMNS = (
    "entry_id",
    "order_no",
    "payment_id",
    "channel",
    "channel_txn_id",
    "kind",
    "amount",
    "currency",
    "status",
    "booked_at",
)


def yuan(fen: int) -> str:
    """Format integer fen as a yuan string with exactly 2 decimals (``-1.50``, ``0.00``).

    Args:
        fen: Signed amount in fen.

    Returns:
        The decimal text, with a minus sign only when the amount is negative.
    """
    sign = "-" if fen < 0 else ""
    a = -fen if fen < 0 else fen
    return f"{sign}{a // 100}.{a % 100:02d}"


def yuan5(fen: int) -> str:
    """Format integer fen with 5 decimals, the WeChat 手续费 style (``0.64000``, ``-0.36000``).

    Args:
        fen: Signed amount in fen.

    Returns:
        The decimal text with three trailing zeros after the fen digits.
    """
    return yuan(fen) + "000"


def net_of(rows: Sequence[Any]) -> int:
    """Net settlement in fen of written channel rows: payments less refunds less fees (signed sum).

    Args:
        rows: Channel rows as written (duplicated lines included).

    Returns:
        Σ(payment amount − fee) − Σ(refund amount − returned fee).
    """
    total = 0
    for r in rows:
        if r.kind == "payment":
            total += r.amount - r.fee
        else:
            total -= r.amount - r.fee
    return total


# --------------------------------------------------------------------------------------------- WeChat


def render_wechat(
    rows: Sequence[Any], *, appid: str, mchid: str, count_offset: int = 0
) -> tuple[bytes, list[int]]:
    """Render a WeChat Pay trade bill (bill_type=ALL).

    Args:
        rows: Planned channel rows in file order.
        appid: 公众账号ID written on every line.
        mchid: 商户号 written on every line.
        count_offset: Added to 总交易单数 (non-zero only for a deliberately rejected file).

    Returns:
        The file bytes and, per row, its 1-based physical line.
    """
    out = [WECHAT_HEADER]
    lines: list[int] = []
    s_settle = s_refund = s_fee = s_order = 0
    for r in rows:
        if r.kind == "payment":
            settle, order_total, refund, fee = r.amount, r.amount + r.discount, 0, r.fee
            fields = (
                r.time_text,
                appid,
                mchid,
                "0",
                "",
                r.pay_txn_id,
                r.order_no,
                r.buyer,
                r.trade_type,
                "SUCCESS",
                r.bank,
                "CNY",
                yuan(settle),
                yuan(r.discount),
                "0",
                "0",
                "0.00",
                "0.00",
                "",
                "",
                r.product,
                "",
                yuan5(fee),
                r.rate_text,
                yuan(order_total),
                "0.00",
                "",
            )
        else:
            settle, order_total, refund, fee = 0, 0, r.amount, -r.fee
            fields = (
                r.time_text,
                appid,
                mchid,
                "0",
                "",
                r.pay_txn_id,
                r.order_no,
                r.buyer,
                r.trade_type,
                "REFUND",
                r.bank,
                "CNY",
                "0.00",
                "0.00",
                r.refund_id,
                r.merchant_refund_no,
                yuan(refund),
                "0.00",
                "ORIGINAL",
                r.refund_status,
                r.product,
                "",
                yuan5(fee),
                r.rate_text,
                "0.00",
                yuan(refund),
                "",
            )
        s_settle += settle
        s_refund += refund
        s_fee += fee
        s_order += order_total
        out.append("`" + ",`".join(fields))
        lines.append(len(out))
    out.append(WECHAT_SUMMARY_HEADER)
    summary = (
        str(len(rows) + count_offset),
        yuan(s_settle),
        yuan(s_refund),
        "0.00",
        yuan5(s_fee),
        yuan(s_order),
        yuan(s_refund),
    )
    out.append("`" + ",`".join(summary))
    text = "\ufeff" + "\r\n".join(out) + "\r\n"
    return text.encode("utf-8"), lines


# --------------------------------------------------------------------------------------------- Alipay


def _cn_datetime(dt: datetime) -> str:
    return f"{dt.year}年{dt.month:02d}月{dt.day:02d}日 {dt.hour:02d}:{dt.minute:02d}:{dt.second:02d}"


def _alipay_preamble(title: str, marker: str, account: str, day: date, next_day: date) -> list[str]:
    start = datetime(day.year, day.month, day.day)
    end = datetime(next_day.year, next_day.month, next_day.day)
    return [
        f"#{title}",
        f"#账号：[{account}]",
        f"#起始日期：[{_cn_datetime(start)}]   终止日期：[{_cn_datetime(end)}]",
        "#" + "-" * 41 + marker + "-" * 40,
    ]


@dataclass(frozen=True, slots=True)
class AlipayTotals:
    """Totals of an Alipay detail file, computed from the rows written."""

    n_pay: int
    n_ref: int
    pay_received: int
    pay_discount: int
    ref_received: int
    order_total: int
    fee_total: int

    @property
    def net(self) -> int:
        """实收净额: 商家实收 (signed) + 服务费 (signed)."""
        return self.pay_received + self.ref_received + self.fee_total


def render_alipay_detail(
    rows: Sequence[Any],
    *,
    account: str,
    day: date,
    next_day: date,
    export: datetime,
    pay_count_offset: int = 0,
) -> tuple[bytes, list[int], AlipayTotals]:
    """Render an Alipay 业务明细 (trade detail) CSV in GBK.

    Args:
        rows: Planned channel rows in file order.
        account: The Alipay account (PID + ``0156``).
        day: Business date of the bill.
        next_day: The day after (end of the query window).
        export: Export time written in the footer.
        pay_count_offset: Added to the 交易合计 count (non-zero only for a deliberately rejected file).

    Returns:
        The file bytes, per row its 1-based physical line, and the totals of the rows written.
    """
    out = _alipay_preamble("支付宝业务明细查询", "业务明细列表", account, day, next_day)
    out.append(ALIPAY_HEADER)
    lines: list[int] = []
    n_pay = n_ref = pay_recv = pay_disc = ref_recv = order_total = fee_total = 0
    for r in rows:
        if r.kind == "payment":
            n_pay += 1
            pay_recv += r.amount
            pay_disc += r.discount
            order = r.amount + r.discount
            order_total += order
            fee_total -= r.fee
            coupon = f"满{order // 100}减{r.discount // 100}" if r.discount else ""
            line = (
                f"{r.pay_txn_id}\t,{r.order_no}\t,交易\t,{r.product},{r.created_text},{r.time_text},"
                f"\t,\t,\t,\t,{r.buyer}\t,{yuan(order)},{yuan(r.amount)},0.00,0.00,0.00,{yuan(r.discount)},"
                f"0.00,{coupon},0.00\t,0.00,\t,{yuan(-r.fee)},0.00,"
            )
        else:
            n_ref += 1
            ref_recv -= r.amount
            order_total -= r.amount
            fee_total += r.fee
            line = (
                f"{r.pay_txn_id}\t,{r.order_no}\t,退款\t,{r.product},{r.created_text},{r.time_text},"
                f"\t,\t,\t,\t,{r.buyer}\t,{yuan(-r.amount)},{yuan(-r.amount)},0.00,0.00,0.00,0.00,"
                f"0.00,,0.00\t,0.00,{r.refund_id}\t,{yuan(r.fee)},0.00,"
            )
        out.append(line)
        lines.append(len(out))
    out.append("#" + "-" * 41 + "业务明细列表结束" + "-" * 36)
    out.append(
        f"#交易合计：{n_pay + pay_count_offset}笔，商家实收共{yuan(pay_recv)}元，商家优惠共{yuan(pay_disc)}元"
    )
    out.append(f"#退款合计：{n_ref}笔，商家实收退款共{yuan(ref_recv)}元，商家优惠退款共0.00元")
    out.append(f"#导出时间：[{_cn_datetime(export)}]")
    text = "\r\n".join(out) + "\r\n"
    totals = AlipayTotals(n_pay, n_ref, pay_recv, pay_disc, ref_recv, order_total, fee_total)
    return text.encode("gbk"), lines, totals


def render_alipay_summary(
    totals: AlipayTotals, *, account: str, day: date, next_day: date, export: datetime
) -> bytes:
    """Render the Alipay 业务明细(汇总) CSV in GBK (one store line and the 合计 line).

    Args:
        totals: Totals of the detail file's rows.
        account: The Alipay account.
        day: Business date.
        next_day: The day after.
        export: Export time written in the footer.

    Returns:
        The file bytes.
    """
    out = _alipay_preamble("支付宝业务汇总查询", "业务汇总列表", account, day, next_day)
    out.append(ALIPAY_SUMMARY_HEADER)
    values = (
        f"{totals.n_pay},{totals.n_ref},{yuan(totals.order_total)},"
        f"{yuan(totals.pay_received + totals.ref_received)},0.00,{yuan(totals.pay_discount)},0.00,"
        f"{yuan(totals.fee_total)},0.00,{yuan(totals.net)}"
    )
    out.append(",," + values)
    out.append("合计,," + values)
    out.append("#" + "-" * 40 + "业务汇总列表结束" + "-" * 37)
    out.append(f"#导出时间：[{_cn_datetime(export)}]")
    return ("\r\n".join(out) + "\r\n").encode("gbk")


class _GbkZipInfo(zipfile.ZipInfo):
    """A ZipInfo whose name is stored as GBK bytes without the UTF-8 flag (bit 11)."""

    __slots__ = ("gbk_name",)
    gbk_name: bytes

    def _encodeFilenameFlags(self) -> tuple[bytes, int]:  # zipfile's own hook: name bytes and flags
        return self.gbk_name, self.flag_bits & ~0x800


def render_zip(members: Sequence[tuple[str, bytes]], *, stamp: datetime) -> bytes:
    """Pack members into a deterministic zip, names in GBK bytes, no UTF-8 flag, fixed timestamps.

    Args:
        members: (name, content) in archive order.
        stamp: The modification time stored for every member.

    Returns:
        The archive bytes.
    """
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in members:
            info = _GbkZipInfo(name, date_time=stamp.timetuple()[:6])
            info.gbk_name = name.encode("gbk")
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 0
            info.create_version = 20
            info.extract_version = 20
            info.external_attr = 0x20
            zf.writestr(info, data)
    return buf.getvalue()


# --------------------------------------------------------------------------------------------- ledger


def _csv_field(v: str) -> str:
    if "," in v or '"' in v or "\n" in v:
        return '"' + v.replace('"', '""') + '"'
    return v


def ledger_values(r: Any) -> tuple[str, ...]:
    """The ten ledger export values of a planned ledger row, as strings in column order.

    Args:
        r: A planned ledger row.

    Returns:
        The values in :data:`LEDGER_COLUMNS` order.
    """
    return (
        r.entry_id,
        r.order_no,
        r.payment_id,
        r.channel,
        r.channel_txn_id,
        r.kind,
        r.amount,
        r.currency,
        r.status,
        r.booked_at,
    )


def render_ledger_csv(rows: Sequence[Any]) -> tuple[bytes, list[int]]:
    """Render the ledger export CSV (UTF-8, LF, header row).

    Args:
        rows: Planned ledger rows in file order (a duplicated entry appears twice).

    Returns:
        The file bytes and, per row, its 1-based physical line.
    """
    out = [",".join(LEDGER_COLUMNS)]
    lines = []
    for r in rows:
        out.append(",".join(_csv_field(v) for v in ledger_values(r)))
        lines.append(len(out))
    return ("\n".join(out) + "\n").encode("utf-8"), lines


def render_ledger_parquet(rows: Sequence[Any]) -> tuple[bytes, list[int]]:
    """Render the ledger export as Parquet, every column a string.

    Args:
        rows: Planned ledger rows in file order.

    Returns:
        The file bytes and, per row, its 1-based row number.
    """
    cols: list[list[str]] = [[] for _ in LEDGER_COLUMNS]
    for r in rows:
        for i, v in enumerate(ledger_values(r)):
            cols[i].append(v)
    table = pa.table({name: pa.array(cols[i], type=pa.string()) for i, name in enumerate(LEDGER_COLUMNS)})
    buf = io.BytesIO()
    pq.write_table(table, buf, compression="snappy")
    return buf.getvalue(), list(range(1, len(rows) + 1))


# --------------------------------------------------------------------------------------------- camt.053


@dataclass(frozen=True, slots=True)
class BankEntry:
    """One planned camt.053 entry (amount in fen, always positive; direction in ``credit``)."""

    ref: str
    amount: int
    credit: bool
    value_date: date
    domain: str
    family: str
    sub_family: str
    end_to_end: str
    party: str  # debtor name of a credit / creditor name of a debit; empty for none
    text: str
    scenario: str
    outcome: str


def _bal(code: str, fen: int, day: date, ccy: str) -> list[str]:
    ind = "CRDT" if fen >= 0 else "DBIT"
    return [
        "      <Bal>",
        f"        <Tp><CdOrPrtry><Cd>{code}</Cd></CdOrPrtry></Tp>",
        f'        <Amt Ccy="{ccy}">{major(abs(fen), ccy)}</Amt>',
        f"        <CdtDbtInd>{ind}</CdtDbtInd>",
        f"        <Dt><Dt>{day.isoformat()}</Dt></Dt>",
        "      </Bal>",
    ]


@dataclass(frozen=True, slots=True)
class CamtStatement:
    """One ``Stmt`` of a camt.053 file: an account, its entries and its opening balance."""

    entries: Sequence[BankEntry]
    account: str
    ccy: str
    seq_nb: int
    opening: int  # opening booked balance in minor units (signed)


def render_camt053(
    entries: Sequence[BankEntry],
    *,
    day: date,
    prev_day: date,
    account: str,
    owner: str,
    bic: str,
    seq_nb: int,
    opening: int,
    count_offset: int = 0,
    ccy: str = "CNY",
) -> tuple[bytes, list[int], int]:
    """Render a camt.053.001.02 statement booked on ``day`` for one account.

    Args:
        entries: The entries in statement order.
        day: Booking date of the statement.
        prev_day: Date of the opening balance.
        account: Account number (``Acct/Id/Othr/Id``).
        owner: Account owner name.
        bic: Servicer BIC.
        seq_nb: ElctrncSeqNb.
        opening: Opening booked balance in fen (signed).
        count_offset: Added to TtlNtries/NbOfNtries (non-zero only for a deliberately rejected file).
        ccy: Account currency.

    Returns:
        The file bytes, per entry the physical line of its ``<Ntry>`` start tag, and the closing
        booked balance in fen.
    """
    data, lines, closings = render_camt053_multi(
        [CamtStatement(entries, account, ccy, seq_nb, opening)],
        day=day,
        prev_day=prev_day,
        owner=owner,
        bic=bic,
        count_offset=count_offset,
    )
    return data, lines[0], closings[0]


def render_camt053_multi(
    statements: Sequence[CamtStatement],
    *,
    day: date,
    prev_day: date,
    owner: str,
    bic: str,
    count_offset: int = 0,
) -> tuple[bytes, list[list[int]], list[int]]:
    """Render a camt.053.001.02 file booked on ``day`` holding one ``Stmt`` per account, in order.

    A file with one statement is byte-identical to what :func:`render_camt053` always wrote; the
    message id carries the first statement's sequence number.

    Args:
        statements: The statements in file order (at least one).
        day: Booking date of the statements.
        prev_day: Date of the opening balances.
        owner: Account owner name.
        bic: Servicer BIC.
        count_offset: Added to every TtlNtries/NbOfNtries (non-zero only for a rejected file).

    Returns:
        The file bytes, per statement the physical line of each ``<Ntry>`` start tag, and per
        statement the closing booked balance.
    """
    ymd = day.strftime("%Y%m%d")
    created = f"{day.isoformat()}T22:15:40+08:00"
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">',
        "  <BkToCstmrStmt>",
        "    <GrpHdr>",
        f"      <MsgId>SMPLBK-053-{ymd}-{statements[0].seq_nb:04d}</MsgId>",
        f"      <CreDtTm>{created}</CreDtTm>",
        "      <MsgPgntn><PgNb>1</PgNb><LastPgInd>true</LastPgInd></MsgPgntn>",
        "    </GrpHdr>",
    ]
    all_lines: list[list[int]] = []
    closings: list[int] = []
    for st in statements:
        lines, closing = _camt_stmt(out, st, day, prev_day, owner, bic, created, count_offset)
        all_lines.append(lines)
        closings.append(closing)
    out += ["  </BkToCstmrStmt>", "</Document>"]
    return ("\n".join(out) + "\n").encode("utf-8"), all_lines, closings


def _camt_stmt(
    out: list[str],
    st: CamtStatement,
    day: date,
    prev_day: date,
    owner: str,
    bic: str,
    created: str,
    count_offset: int,
) -> tuple[list[int], int]:
    entries, account, ccy, opening = st.entries, st.account, st.ccy, st.opening
    ymd = day.strftime("%Y%m%d")
    credits = [e.amount for e in entries if e.credit]
    debits = [e.amount for e in entries if not e.credit]
    net = sum(credits) - sum(debits)
    closing = opening + net
    closing_avail = closing - sum(e.amount for e in entries if e.credit and e.value_date > day)
    out += [
        "    <Stmt>",
        f"      <Id>STMT-{account}-{ymd}</Id>",
        f"      <ElctrncSeqNb>{st.seq_nb}</ElctrncSeqNb>",
        f"      <CreDtTm>{created}</CreDtTm>",
        f"      <FrToDt><FrDtTm>{day.isoformat()}T00:00:00+08:00</FrDtTm>"
        f"<ToDtTm>{day.isoformat()}T23:59:59+08:00</ToDtTm></FrToDt>",
        "      <Acct>",
        f"        <Id><Othr><Id>{account}</Id></Othr></Id>",
        f"        <Ccy>{ccy}</Ccy>",
        f"        <Ownr><Nm>{escape(owner)}</Nm></Ownr>",
        f"        <Svcr><FinInstnId><BIC>{bic}</BIC></FinInstnId></Svcr>",
        "      </Acct>",
    ]
    out += _bal("OPBD", opening, prev_day, ccy)
    out += _bal("CLBD", closing, day, ccy)
    out += _bal("CLAV", closing_avail, day, ccy)
    n = len(entries) + count_offset
    out += [
        "      <TxsSummry>",
        f"        <TtlNtries><NbOfNtries>{n}</NbOfNtries><Sum>{major(sum(credits) + sum(debits), ccy)}</Sum>"
        f"<TtlNetNtryAmt>{major(abs(net), ccy)}</TtlNetNtryAmt>"
        f"<CdtDbtInd>{'CRDT' if net >= 0 else 'DBIT'}</CdtDbtInd></TtlNtries>",
        f"        <TtlCdtNtries><NbOfNtries>{len(credits)}</NbOfNtries><Sum>{major(sum(credits), ccy)}</Sum></TtlCdtNtries>",
        f"        <TtlDbtNtries><NbOfNtries>{len(debits)}</NbOfNtries><Sum>{major(sum(debits), ccy)}</Sum></TtlDbtNtries>",
        "      </TxsSummry>",
    ]
    lines: list[int] = []
    for i, e in enumerate(entries, start=1):
        amt = f'<Amt Ccy="{ccy}">{major(e.amount, ccy)}</Amt>'
        out.append("      <Ntry>")
        lines.append(len(out))
        out += [
            f"        <NtryRef>{i}</NtryRef>",
            f"        {amt}",
            f"        <CdtDbtInd>{'CRDT' if e.credit else 'DBIT'}</CdtDbtInd>",
            "        <RvslInd>false</RvslInd>",
            "        <Sts>BOOK</Sts>",
            f"        <BookgDt><Dt>{day.isoformat()}</Dt></BookgDt>",
            f"        <ValDt><Dt>{e.value_date.isoformat()}</Dt></ValDt>",
            f"        <AcctSvcrRef>{e.ref}</AcctSvcrRef>",
            f"        <BkTxCd><Domn><Cd>{e.domain}</Cd><Fmly><Cd>{e.family}</Cd>"
            f"<SubFmlyCd>{e.sub_family}</SubFmlyCd></Fmly></Domn></BkTxCd>",
            "        <NtryDtls>",
            "          <TxDtls>",
            f"            <Refs><AcctSvcrRef>{e.ref}</AcctSvcrRef><EndToEndId>{escape(e.end_to_end)}</EndToEndId></Refs>",
            f"            <AmtDtls><TxAmt>{amt}</TxAmt></AmtDtls>",
        ]
        if e.party:
            role = "Dbtr" if e.credit else "Cdtr"
            out.append(f"            <RltdPties><{role}><Nm>{escape(e.party)}</Nm></{role}></RltdPties>")
        out += [
            f"            <RmtInf><Ustrd>{escape(e.text)}</Ustrd></RmtInf>",
            "          </TxDtls>",
            "        </NtryDtls>",
            f"        <AddtlNtryInf>{escape(e.text)}</AddtlNtryInf>",
            "      </Ntry>",
        ]
    out.append("    </Stmt>")
    return lines, closing


# --------------------------------------------------------------------------------------------- Stripe / PayPal

# Minor-unit exponents of the currencies the USD channels use (the generator must not import schemas/).
EXPONENT = {"CNY": 2, "USD": 2, "EUR": 2, "GBP": 2, "HKD": 2, "JPY": 0, "KRW": 0, "KWD": 3, "BHD": 3}

STRIPE_HEADER = (
    "balance_transaction_id",
    "created_utc",
    "available_on_utc",
    "currency",
    "gross",
    "fee",
    "net",
    "reporting_category",
    "description",
    "customer_facing_amount",
    "customer_facing_currency",
)

PAYPAL_CH = (
    "Transaction ID",
    "Invoice ID",
    "PayPal Reference ID",
    "PayPal Reference ID Type",
    "Transaction Event Code",
    "Transaction Initiation Date",
    "Transaction Completion Date",
    "Transaction Debit or Credit",
    "Gross Transaction Amount",
    "Gross Transaction Currency",
    "Fee Debit or Credit",
    "Fee Amount",
    "Fee Currency",
    "Custom Field",
    "Consumer ID",
    "Payment Tracking ID",
    "Store ID",
    "Bank Reference ID",
    "Credit Transactional Fee",
    "Credit Promotional Fee",
    "Credit Term",
)


def major(minor: int, ccy: str) -> str:
    """Format signed minor units as major units with the currency's decimals (``-118.50``, ``0.00``).

    Args:
        minor: Signed amount in minor units.
        ccy: ISO currency code (upper or lower case).

    Returns:
        The decimal text, with a minus sign only when the amount is negative.
    """
    exp = EXPONENT[ccy.upper()]
    sign = "-" if minor < 0 else ""
    a = -minor if minor < 0 else minor
    if exp == 0:
        return f"{sign}{a}"
    return f"{sign}{a // 10**exp}.{a % 10**exp:0{exp}d}"


def _stripe_time(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%d %H:%M:%S")


def render_stripe_balance(rows: Sequence[Any]) -> tuple[bytes, list[int]]:
    """Render a Stripe ``balance_change_from_activity.itemized`` report (with the customer-facing columns).

    Each row needs ``txn_id``, ``at`` and ``available`` (naive UTC datetimes), ``currency``,
    ``gross`` and ``fee`` (signed minor units as Stripe shows them: fee positive when charged),
    ``category``, ``description``, ``cust_amount`` (signed minor units or None) and ``cust_ccy``.

    Args:
        rows: Planned rows in file order.

    Returns:
        The file bytes (UTF-8, no BOM, CRLF) and, per row, its 1-based physical line.
    """
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(STRIPE_HEADER)
    lines: list[int] = []
    n = 1
    for r in rows:
        ccy = r.currency.lower()
        cust = "" if r.cust_amount is None else major(r.cust_amount, r.cust_ccy)
        w.writerow(
            (
                r.txn_id,
                _stripe_time(r.at),
                _stripe_time(r.available),
                ccy,
                major(r.gross, ccy),
                major(r.fee, ccy),
                major(r.gross - r.fee, ccy),
                r.category,
                r.description,
                cust,
                r.cust_ccy.lower() if r.cust_amount is not None else "",
            )
        )
        n += 1
        lines.append(n)
    return buf.getvalue().encode("utf-8"), lines


def _nth_sunday(year: int, month: int, n: int) -> date:
    first = date(year, month, 1)
    return first + timedelta(days=(6 - first.weekday()) % 7 + 7 * (n - 1))


def pacific_offset(utc: datetime) -> int:
    """UTC offset in hours of US Pacific time at a naive UTC instant (US rules since 2007).

    Daylight time (-7) runs from the second Sunday of March 02:00 PST (10:00 UTC) to the first Sunday
    of November 02:00 PDT (09:00 UTC); standard time (-8) otherwise.

    Args:
        utc: A naive datetime in UTC.

    Returns:
        -7 or -8.
    """
    start = datetime.combine(_nth_sunday(utc.year, 3, 2), datetime.min.time()) + timedelta(hours=10)
    end = datetime.combine(_nth_sunday(utc.year, 11, 1), datetime.min.time()) + timedelta(hours=9)
    return -7 if start <= utc < end else -8


def pacific_text(utc: datetime) -> str:
    """A PayPal report time stamp ``yyyy/mm/dd hh:mm:ss -0800`` (or ``-0700``) of a naive UTC instant.

    Args:
        utc: A naive datetime in UTC.

    Returns:
        The local Pacific time with its offset.
    """
    off = pacific_offset(utc)
    local = utc + timedelta(hours=off)
    return local.strftime("%Y/%m/%d %H:%M:%S") + f" -{-off:02d}00"


def pacific_local_to_utc(local: datetime) -> datetime:
    """The UTC instant of a Pacific wall-clock time (standard time where the wall clock is ambiguous).

    Args:
        local: A naive Pacific wall-clock datetime.

    Returns:
        The naive UTC datetime.
    """
    std = local + timedelta(hours=8)
    return std if pacific_offset(std) == -8 else local + timedelta(hours=7)


def _q(v: str) -> str:
    return '"' + v.replace('"', '""') + '"'


def _num(v: int | None) -> str:
    return "" if v is None else str(v)


@dataclass(frozen=True, slots=True)
class PaypalBalance:
    """Per-currency totals of a PayPal STL section (minor units; ``fee_*`` as CR/DR magnitudes)."""

    currency: str
    gross_cr: int
    gross_dr: int
    fee_cr: int
    fee_dr: int
    beginning: int
    ending: int


def _dc(v: int) -> str:
    return "CR" if v >= 0 else "DR"


def render_paypal_stl(
    rows: Sequence[Any],
    *,
    account: str,
    day: date,
    generated: datetime,
    beginning: dict[str, int],
    count_offset: int = 0,
) -> tuple[bytes, list[int], dict[str, PaypalBalance]]:
    """Render a PayPal Settlement Report (STL) version 009 for one business day (Pacific time).

    Each row needs ``txn_id``, ``order_no`` (Invoice ID), ``ref_id`` (PayPal Reference ID, type TXN
    when set), ``event`` (T0006, T1107, T0200, T0400), ``at`` (naive UTC), ``currency``, ``gross``
    (signed minor units towards the merchant: CR when ≥ 0), ``fee`` (None for no fee columns, else
    signed as charged: DR when > 0, CR when < 0), ``custom``, ``consumer`` and ``bank_ref``.

    Args:
        rows: Planned rows in file order.
        account: The PayPal account id written in RH and SH.
        day: The business date (a Pacific calendar day).
        generated: Report generation time (naive UTC) written in RH.
        beginning: Beginning balance per currency (minor units); every currency of ``rows`` or of
            ``beginning`` gets an SF and an RF line, in alphabetical order.
        count_offset: Added to the SC count (non-zero only for a deliberately rejected file).

    Returns:
        The file bytes (UTF-8, no BOM, CRLF), per row its 1-based physical line, and per currency the
        section totals written (ending balance included).
    """
    start_utc = pacific_local_to_utc(datetime(day.year, day.month, day.day))
    end_utc = pacific_local_to_utc(datetime(day.year, day.month, day.day, 23, 59, 59))
    out = [
        f'"RH",{pacific_text(generated)},"A",{_q(account)},009,',
        '"FH",01',
        f'"SH",{pacific_text(start_utc)},{pacific_text(end_utc)},{_q(account)},""',
        '"CH",' + ",".join(_q(c) for c in PAYPAL_CH),
    ]
    lines: list[int] = []
    tot: dict[str, list[int]] = {c: [0, 0, 0, 0] for c in beginning}
    for r in rows:
        t = tot.setdefault(r.currency, [0, 0, 0, 0])
        if r.gross >= 0:
            t[0] += r.gross
        else:
            t[1] -= r.gross
        if r.fee is None:
            fee_fields = '"",,""'
        else:
            if r.fee > 0:
                t[3] += r.fee
            else:
                t[2] -= r.fee
            fee_fields = f"{_q('DR' if r.fee > 0 else 'CR')},{abs(r.fee)},{_q(r.currency)}"
        stamp = pacific_text(r.at)
        out.append(
            f'"SB",{_q(r.txn_id)},{_q(r.order_no)},{_q(r.ref_id)},{_q("TXN" if r.ref_id else "")},'
            f"{_q(r.event)},{stamp},{stamp},{_q(_dc(r.gross))},{abs(r.gross)},{_q(r.currency)},"
            f"{fee_fields},{_q(r.custom)},{_q(r.consumer)},{_q('')},{_q('')},{_q(r.bank_ref)},,,"
        )
        lines.append(len(out))
    balances: dict[str, PaypalBalance] = {}
    for ccy in sorted(tot):
        gcr, gdr, fcr, fdr = tot[ccy]
        begin = beginning.get(ccy, 0)
        balances[ccy] = PaypalBalance(ccy, gcr, gdr, fcr, fdr, begin, begin + gcr - gdr + fcr - fdr)
    n = len(rows)

    def totals(code: str) -> list[str]:
        return [
            f'"{code}",{_q(b.currency)},"CR",{b.gross_cr},"DR",{b.gross_dr},"CR",{b.fee_cr},"DR",{b.fee_dr},'
            f"{_q(_dc(b.beginning))},{abs(b.beginning)},{_q(_dc(b.ending))},{abs(b.ending)}"
            for b in balances.values()
        ]

    out += totals("SF")
    out.append(f'"SC",{n + count_offset}')
    out += totals("RF")
    out.append(f'"RC",{n}')
    out.append(f'"FF",{len(out) + 1}')
    return ("\r\n".join(out) + "\r\n").encode("utf-8"), lines, balances
