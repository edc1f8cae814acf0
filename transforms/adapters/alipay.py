"""Alipay merchant trade bill (业务明细 and 业务明细(汇总), bill_type=trade) → canonical rows (FORMATS §3).

Both files are GBK (decoded strictly as GB18030), with four ``#`` preamble lines (title, ``#账号：[…]``,
``#起始日期：[…]   终止日期：[…]``, a list marker), a header, the lines, and ``#`` footer lines. Markers are
matched by substring, never by their dash counts. Every field is stripped of the TAB Alipay appends
and of surrounding spaces.

The 业务明细 is read with the columnar template (``template.py``): the preamble and header are the first
five lines; the detail block streams in chunks up to the ``#…业务明细列表结束…`` marker, each decoded once
from GB18030 and handed on as UTF-8, split into fields by one Polars read and checked over whole
columns (25 fields, no bad character, the byte limits, the raw model, the sign table); only lines that
break a rule take the per-line path that names the problem. The footer gives the control totals per
业务类型 (交易 / 退款: line count, 商家实收, 商家优惠).

Canonical rows of the 业务明细 (``schemas.canonical.ChannelTxn``), money in fen, positive = towards the
merchant. The file already signs its amounts that way:

- 业务类型 交易 → payment, ``channel_txn_id = 支付宝交易号``;
- 业务类型 退款 → refund, ``channel_txn_id = 退款批次号/请求号``, ``original_txn_id = 支付宝交易号``;
- ``amount_minor = 商家实收`` (negative on refunds), ``order_amount_minor = 订单金额``,
  ``discount_minor = 商家优惠``, ``fee_minor = 服务费`` as written (negative on 交易, positive on 退款),
  ``fee_exact`` the same in yuan as Decimal(18,5).

The 汇总 file is a reference: it produces no rows, only control totals from its ``合计`` line, which
``cross_check_alipay_summary`` compares with the detail file's ``facts`` (``DETAIL_FACTS``): the rows
may have left through a sink, so the figures are summed while the detail file streams past.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal

import polars as pl

from schemas.alipay import (
    ALIPAY_AMOUNT_COLUMNS,
    ALIPAY_SUMMARY_COLUMNS,
    ALIPAY_TRADE_COLUMNS,
    AlipayTradeRaw,
)
from schemas.canonical import ChannelTxn, empty_frame
from transforms.adapters.template import (
    Chunk,
    ControlSums,
    DetailBlock,
    Output,
    Problems,
    amount_units_or_null,
    bad_character_expr,
    check_canonical,
    check_raw,
    control_total_error,
    exact_units,
    field_names,
    frame_schema,
    head_lines,
    line_text,
    local_time_expr,
    may_hold_bad_characters,
    read_fields,
    read_header,
    rejected_file,
    tail_lines,
    units_to_decimal,
    utf8_chunk,
)
from transforms.money import AmountError, parse_decimal_text
from transforms.parsed import (
    ControlTotal,
    FileRejected,
    LineCounts,
    ParseContext,
    ParsedFile,
    Source,
    as_source,
    empty_quarantine,
    empty_rejected,
)
from transforms.text import bad_characters, decode_text, split_lines

CHANNEL = "alipay"
DETAIL_FORMAT = "alipay_trade"
SUMMARY_FORMAT = "alipay_trade_summary"
CURRENCY = "CNY"

#: The bill's timestamps are Beijing time (FORMATS §3.2).
BILL_TIME_ZONE = "Asia/Shanghai"

#: A 汇总 is a few store lines; one bigger than this is refused before it is decoded.
MAX_SUMMARY_BYTES = 4 * 1024 * 1024

#: The figures ``parse_alipay_trade_detail`` leaves in ``ParsedFile.facts`` for the 汇总 cross-check,
#: named like the 汇总's controls: line counts per 业务类型 and net sums in yuan (None: not verifiable).
#: The counts cover every data line (valid and rejected) and are None when a rejected line has no
#: readable 业务类型; 商家实收 covers every data line and is None when a rejected line's amount cannot be
#: read; 订单金额, 商家优惠, 服务费 and 实收净额 (= 商家实收 + 服务费) need the valid rows, so they are None
#: as soon as one line was rejected.
DETAIL_FACTS: tuple[str, ...] = ("交易订单总笔数", "退款订单总笔数", "订单金额", "商家实收", "商家优惠", "服务费", "实收净额")

_DETAIL_TITLE, _DETAIL_MARKER = "支付宝业务明细查询", "业务明细列表"
_SUMMARY_TITLE, _SUMMARY_MARKER = "支付宝业务汇总查询", "业务汇总列表"
_END = "结束"
_PREAMBLE_LINES = 4
_ACCOUNT = re.compile(r"^#账号：\[(\d+)\]")
_START_DATE = re.compile(r"^#起始日期：\[(\d{4})年(\d{2})月(\d{2})日 \d{2}:\d{2}:\d{2}\]")
_AMOUNT_TEXT = r"(-?[0-9]+\.[0-9]+)"
_PAYMENT_FOOTER = re.compile(
    rf"^#交易合计：([0-9]+)笔，商家实收共{_AMOUNT_TEXT}元，商家优惠共{_AMOUNT_TEXT}元$"
)
_REFUND_FOOTER = re.compile(
    rf"^#退款合计：([0-9]+)笔，商家实收退款共{_AMOUNT_TEXT}元，商家优惠退款共{_AMOUNT_TEXT}元$"
)
_RECEIVED, _DISCOUNT, _FEE, _ORDER = "商家实收（元）", "商家优惠（元）", "服务费（元）", "订单金额（元）"
_REFUND_ID = "退款批次号/请求号"
_KINDS = {"交易": "payment", "退款": "refund"}

_RAW_REASON_CODES: dict[str, str] = {
    "支付宝交易号": "REQUIRED_EMPTY",
    "商户订单号": "REQUIRED_EMPTY",
    "业务类型": "UNKNOWN_ENUM",
    "创建时间": "BAD_DATE",
    "完成时间": "BAD_DATE",
    **dict.fromkeys(ALIPAY_AMOUNT_COLUMNS, "BAD_AMOUNT"),
}

#: Summary control totals: (control name, column of the 汇总 file, scale).
_SUMMARY_TOTALS: tuple[tuple[str, str, int], ...] = (
    ("交易订单总笔数", "交易订单总笔数", 0),
    ("退款订单总笔数", "退款订单总笔数", 0),
    ("订单金额", "订单金额（元）", 2),
    ("商家实收", "商家实收（元）", 2),
    ("商家优惠", "商家优惠（元）", 2),
    ("服务费", "服务费（元）", 2),
    ("实收净额", "实收净额（元）", 2),
)

_CANONICAL_SCHEMA: dict[str, pl.DataType] = frame_schema(ChannelTxn)
_AMOUNT_SCALES: dict[str, int] = dict.fromkeys(ALIPAY_AMOUNT_COLUMNS, 2)
#: The amount columns the canonical rows are made of, converted once to integer fen.
_UNIT_COLUMNS = (_RECEIVED, _DISCOUNT, _FEE, _ORDER)
_WIDTH = len(ALIPAY_TRADE_COLUMNS)
_HEADER_MISMATCH = (
    "not the expected header: {expected!r} expected where the file has {found!r} "
    "(wrong encoding or another bill type?)"
)

#: Footer control sums per 业务类型, in the footer's own names: (交易|退款)(笔数|商家实收|商家优惠).
_CONTROL_SCALES: dict[str, int] = {
    f"{kind}{what}": scale for kind in _KINDS for what, scale in (("笔数", 0), ("商家实收", 2), ("商家优惠", 2))
}
#: A line that is only whitespace as Python's ``str.strip()`` sees it (the old reader's blank line);
#: Rust's ``\s`` lacks the separators U+001C–U+001F, so the class is spelled out.
_BLANK_LINE = (
    r"^[\t\n\x0b\x0c\r\x1c-\x1f \x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}]*$"
)
#: Decode-error scans and the footer read at most this much at a time.
_SCAN_BYTES = 4 * 1024 * 1024
_FOOTER_BYTES = 1024 * 1024


# -- recognition ----------------------------------------------------------------------------------


def _first_line(data: bytes) -> str | None:
    try:
        return data[:4096].split(b"\n", 1)[0].rstrip(b"\r").decode("gb18030")
    except UnicodeDecodeError:
        return None


def looks_like_alipay_trade_detail(data: bytes) -> bool:
    """True when the file starts with the 业务明细 title line ``#支付宝业务明细查询``."""
    first = _first_line(data)
    return first is not None and first.startswith("#") and _DETAIL_TITLE in first


def looks_like_alipay_trade_summary(data: bytes) -> bool:
    """True when the file starts with the 业务明细(汇总) title line ``#支付宝业务汇总查询``."""
    first = _first_line(data)
    return first is not None and first.startswith("#") and _SUMMARY_TITLE in first


# -- shared steps ---------------------------------------------------------------------------------


def _decode(data: bytes) -> str:
    """Decode a small file strictly as GB18030; a UTF-8 file is named as such (HEADER_MISMATCH)."""
    try:
        return decode_text(data, "gb18030")
    except FileRejected as exc:
        if exc.reason_code == "DECODE_ERROR":
            try:
                utf8 = data.decode("utf-8")
            except UnicodeDecodeError:
                raise exc from None
            if "支付宝" in utf8[:200]:
                raise _utf8_file(exc.message) from None
        raise


def _utf8_file(message: str) -> FileRejected:
    return FileRejected("HEADER_MISMATCH", "the file is UTF-8; Alipay bills are GBK (" + message + ")", 1)


def _pieces(source: Source, start: int, first_line: int) -> DetailBlock:
    """The file from ``start`` on, in pieces cut at line ends (0x0A is inside no GB18030/UTF-8 character)."""
    return DetailBlock(source, start, first_line, chunk_bytes=_SCAN_BYTES, footer_prefix=None)


def _decode_error(source: Source, start: int = 0, first_line: int = 1) -> FileRejected | None:
    """The first GB18030 decode error at or after ``start``, worded as a whole-file decode words it.

    Reads in pieces (bounded memory), only when something already went wrong: a decode error always
    wins over what the rest of the reading found, as when the whole file was decoded first.

    Args:
        source: the file.
        start: a byte offset where a line starts; everything before it decoded cleanly.
        first_line: the physical line at ``start``.

    Returns:
        ``DECODE_ERROR`` ``not valid gb18030 at byte N (line L): …``, or ``HEADER_MISMATCH`` when the
        whole file is valid UTF-8 naming 支付宝 near its start (a bill re-saved as UTF-8); None when
        the rest of the file decodes.
    """
    position = start
    for piece in _pieces(source, start, first_line).chunks():
        try:
            piece.data.decode("gb18030")
        except UnicodeDecodeError as exc:
            line = piece.first_line + piece.data.count(b"\n", 0, exc.start)
            message = f"not valid gb18030 at byte {position + exc.start} (line {line}): {exc.reason}"
            if _is_utf8_alipay_file(source):
                return _utf8_file(message)
            return FileRejected("DECODE_ERROR", message, line=line)
        position += len(piece.data)
    return None


def _is_utf8_alipay_file(source: Source) -> bool:
    """True when the whole file is valid UTF-8 and its first 200 characters name 支付宝."""
    head = source.read(0, min(source.size, 1024))
    try:
        text = codecs.getincrementaldecoder("utf-8")().decode(head, final=source.size <= len(head))
    except UnicodeDecodeError:
        return False
    if "支付宝" not in text[:200]:
        return False
    for piece in _pieces(source, 0, 1).chunks():
        try:
            piece.data.decode("utf-8")
        except UnicodeDecodeError:
            return False
    return True


def _read_preamble(lines: list[str], title: str, marker: str) -> tuple[str, date]:
    """Check the four ``#`` lines; return (account, 起始日期). Mojibake lands here as HEADER_MISMATCH."""
    if len(lines) <= _PREAMBLE_LINES:
        raise FileRejected(
            "TRUNCATED", f"{len(lines)} lines: no room for the preamble and header", len(lines)
        )
    checks = (
        (title in lines[0], f"title {title!r}"),
        (_ACCOUNT.match(lines[1]) is not None, "#账号：[…]"),
        (_START_DATE.match(lines[2]) is not None, "#起始日期：[yyyy年MM月dd日 HH:mm:ss]"),
        (marker in lines[3] and _END not in lines[3], f"the {marker!r} marker"),
    )
    for number, (ok, expected) in enumerate(checks, start=1):
        if not ok or not lines[number - 1].startswith("#"):
            raise FileRejected(
                "HEADER_MISMATCH",
                f"line {number} should be {expected}, found {lines[number - 1][:60]!r} (wrong encoding or file?)",
                number,
            )
    account = _ACCOUNT.match(lines[1])
    start = _START_DATE.match(lines[2])
    assert account is not None and start is not None  # checked just above
    year, month, day = (int(part) for part in start.groups())
    try:
        return account.group(1), date(year, month, day)
    except ValueError:
        raise FileRejected("BAD_DATE", f"起始日期 {lines[2]!r} is no calendar date", 3) from None


def _read_header(line: str, expected: tuple[str, ...], line_no: int) -> dict[str, int]:
    """Map column name → position; same columns in another order are read by name (F28)."""
    names = [name.strip(" \t") for name in line.split(",")]
    return read_header(names, expected, line_no=line_no, line=line, mismatch=_HEADER_MISMATCH)


def _fields(line: str) -> list[str]:
    return [field.strip(" \t") for field in line.split(",")]


def _wrong_date(statement_date: date, business_date: date) -> FileRejected:
    return FileRejected(
        "WRONG_DATE", f"the file's 起始日期 is {statement_date}, the run is for {business_date}", 3
    )


def _empty_file(
    source_file: str, fmt: str, role: str, error: FileRejected, lines: LineCounts | None = None
) -> ParsedFile:
    return rejected_file(
        source_file, error, file_format=fmt, role=role, channel=CHANNEL, model=ChannelTxn, lines=lines
    )


# -- 业务明细 ---------------------------------------------------------------------------------------


def parse_alipay_trade_detail(data: bytes | Source, source_file: str, context: ParseContext) -> ParsedFile:
    """Parse an Alipay 业务明细 file into canonical channel rows.

    Never raises on bad input: a bad line becomes quarantine entries plus one ``rejected`` row, a
    bad file sets ``file_error`` (the rows sent so far still hold what could be read; an undecodable
    file sends none).

    Args:
        data: the file's bytes, or a Source over them (after unpacking), GBK.
        source_file: the path relative to the date's inbox (``alipay/x.csv.zip!x_业务明细.csv``).
        context: the date the run reconciles (the file's 起始日期 must be that date, else
            ``file_error`` is ``WRONG_DATE``; it becomes every row's ``settle_date``), the sink for
            rows, the limits.

    Returns:
        A ``ParsedFile`` of format ``alipay_trade``, role ``channel``: one ``ChannelTxn`` row per valid
        detail line (money in fen, signed towards the merchant), the ``#交易合计`` / ``#退款合计`` footer
        lines as control totals (counts, and yuan), physical line counts, and the ``DETAIL_FACTS``
        the 汇总 is cross-checked against.
    """
    source = as_source(data)
    if source.size == 0:
        return _rejected_detail(source_file, FileRejected("EMPTY_FILE", "the file is empty (0 bytes)"))
    try:
        lines, offset = _head(source)
        account, statement_date = _read_preamble(lines, _DETAIL_TITLE, _DETAIL_MARKER)
        positions = _read_header(lines[_PREAMBLE_LINES], ALIPAY_TRADE_COLUMNS, _PREAMBLE_LINES + 1)
    except FileRejected as exc:
        return _rejected_detail(source_file, _decode_error(source) or exc)
    parser = _DetailParser(source, source_file, context, positions, account, statement_date)
    return parser.run(offset)


def _head(source: Source) -> tuple[list[str], int]:
    """The preamble and header lines, decoded, and the offset of the first detail line.

    Raises:
        FileRejected: ``DECODE_ERROR`` (the caller words it as ``_decode_error`` does), or
            ``LIMIT_EXCEEDED`` when the first five lines do not fit in the head looked at (64 KiB).
    """
    _, offset = head_lines(source, _PREAMBLE_LINES + 1)
    raw = source.read(0, offset)
    cut = offset < source.size and not raw.endswith(b"\n")
    try:
        text = codecs.getincrementaldecoder("gb18030")().decode(raw, final=not cut)
    except UnicodeDecodeError as exc:
        raise FileRejected("DECODE_ERROR", f"not valid gb18030: {exc.reason}") from None
    lines = split_lines(text)
    if cut:
        raise FileRejected(
            "LIMIT_EXCEEDED", f"line {len(lines)} goes on past byte {offset}: no preamble and header", len(lines)
        )
    return lines, offset


def _is_end_marker(line: bytes) -> bool:
    """True for the ``#…业务明细列表结束…`` line (an undecodable line is none: it fails as a detail line)."""
    try:
        return _DETAIL_MARKER + _END in line.decode("gb18030")
    except UnicodeDecodeError:
        return False


def _rejected_detail(source_file: str, error: FileRejected) -> ParsedFile:
    """A 业务明细 rejected before its lines were read: no rows, and the facts of a file without lines."""
    parsed = _empty_file(source_file, DETAIL_FORMAT, "channel", error)
    return replace(parsed, facts=_DetailFacts().facts(rejected_count=0))


@dataclass
class _DetailFacts:
    """Running integer sums behind ``DETAIL_FACTS``, over the rows and rejected rows sent."""

    payments: int = 0
    refunds: int = 0
    unknown_kind: bool = False
    received: int = 0
    unreadable_received: bool = False
    order: int = 0
    discount: int = 0
    fee: int = 0

    def add_rows(self, rows: pl.DataFrame) -> None:
        if rows.height == 0:
            return
        payments, refunds, received, order, discount, fee = rows.select(
            (pl.col("kind") == "payment").sum().alias("payments"),
            (pl.col("kind") == "refund").sum().alias("refunds"),
            pl.col("amount_minor").sum(),
            pl.col("order_amount_minor").sum(),
            pl.col("discount_minor").sum(),
            pl.col("fee_minor").sum(),
        ).row(0)
        self.payments += payments
        self.refunds += refunds
        self.received += received
        self.order += order
        self.discount += discount
        self.fee += fee

    def add_rejected(self, rejected: pl.DataFrame) -> None:
        if rejected.height == 0:
            return
        payments, refunds, no_kind, received, unreadable = rejected.select(
            (pl.col("kind") == "payment").sum().alias("payments"),
            (pl.col("kind") == "refund").sum().alias("refunds"),
            pl.col("kind").null_count(),
            pl.col("amount_minor").sum(),
            pl.col("amount_minor").null_count().alias("unreadable"),
        ).row(0)
        self.payments += payments
        self.refunds += refunds
        self.unknown_kind = self.unknown_kind or no_kind > 0
        self.received += received
        self.unreadable_received = self.unreadable_received or unreadable > 0

    def facts(self, rejected_count: int) -> dict[str, Decimal | None]:
        """The ``DETAIL_FACTS`` figures (exact Decimals in yuan, counts as integers)."""
        received = None if self.unreadable_received else units_to_decimal(self.received)
        facts: dict[str, Decimal | None] = {
            "交易订单总笔数": None if self.unknown_kind else Decimal(self.payments),
            "退款订单总笔数": None if self.unknown_kind else Decimal(self.refunds),
            "商家实收": received,
            "订单金额": None,
            "商家优惠": None,
            "服务费": None,
            "实收净额": None,
        }
        if rejected_count == 0:
            fee = units_to_decimal(self.fee)
            facts |= {
                "订单金额": units_to_decimal(self.order),
                "商家优惠": units_to_decimal(self.discount),
                "服务费": fee,
                "实收净额": None if received is None else received + fee,
            }
        return facts


class _DetailParser:
    """One pass over one 业务明细: chunk after chunk of detail lines, then the footer."""

    def __init__(
        self,
        source: Source,
        source_file: str,
        context: ParseContext,
        positions: dict[str, int],
        account: str,
        statement_date: date,
    ) -> None:
        self.source = source
        self.source_file = source_file
        self.context = context
        self.positions = positions
        self.columns = {name: f"f{index}" for name, index in positions.items()}
        self.account = account
        self.statement_date = statement_date
        self.problems = Problems(source_file, context.limits.max_problem_lines)
        self.output = Output(context, ChannelTxn, source_file)
        # Footer control sums per 业务类型 over every data line whose values can be read (None: not verifiable).
        self.sums = ControlSums(_CONTROL_SCALES)
        self.facts = _DetailFacts()
        self.data_lines = self.blank = self.detail_physical = self.footer_lines = 0
        self.last_data_line: tuple[int, int] | None = None  # (line, fields) of the last non-blank line
        self.errors: list[FileRejected] = []
        self.position = (0, 0)  # (byte offset, line) of what is being decoded

    # -- the pass -------------------------------------------------------------------------------

    def run(self, offset: int) -> ParsedFile:
        if self.statement_date != self.context.business_date:
            self.errors.append(_wrong_date(self.statement_date, self.context.business_date))
        first_line = _PREAMBLE_LINES + 2
        block = DetailBlock(
            self.source, offset, first_line, chunk_bytes=self.context.limits.chunk_bytes,
            footer_prefix=b"#", is_footer=_is_end_marker,
        )  # fmt: skip
        self.position = (offset, first_line)
        footer: list[str] = []
        footer_physical = 0
        try:
            for chunk in block.chunks():
                physical = chunk.line_count
                self.read_chunk(chunk, physical)
                self.position = (self.position[0] + len(chunk.data), chunk.first_line + physical)
            if block.footer_offset is not None and block.footer_line is not None:
                self.position = (block.footer_offset, block.footer_line)
                footer, footer_physical = self.footer_text(block.footer_offset)
        except FileRejected as exc:  # undecodable text: nothing of the file is usable
            self.output.discard()
            return _rejected_detail(self.source_file, _decode_error(self.source, *self.position) or exc)
        physical = _PREAMBLE_LINES + 1 + self.detail_physical + footer_physical
        controls: tuple[ControlTotal, ...] = ()
        if block.footer_line is None:
            self.errors.append(self.missing_footer(physical))
        else:
            controls = self.read_footer(footer, footer_physical, block.footer_line, physical)
        mismatch = control_total_error(
            controls, line=(block.footer_line or 0) + 1, template="{name}: footer says {footer}, rows give {parsed}"
        )
        if mismatch is not None:
            self.errors.append(mismatch)
        if self.problems.overflowed:
            self.errors.insert(0, FileRejected(
                "TOO_MANY_BAD_ROWS",
                f"more than {self.problems.max_lines} bad lines: a format change, not bad rows",
            ))  # fmt: skip
        return self.output.parsed_file(
            file_format=DETAIL_FORMAT, role="channel", channel=CHANNEL,
            quarantine=self.problems.frame(),
            controls=controls,
            file_error=self.errors[0] if self.errors else None,
            lines=LineCounts(
                physical=physical, data=self.data_lines, header=1, preamble=_PREAMBLE_LINES,
                footer=self.footer_lines, blank=self.blank,
            ),
            statement_date=self.statement_date,
            merchant_account=self.account,
            facts=self.facts.facts(self.output.rejected_count),
        )  # fmt: skip

    def read_chunk(self, chunk: Chunk, physical: int) -> None:
        """One chunk of detail lines (``physical`` of them): decode, split, check over whole columns, convert, send on.

        Each step drops what it no longer needs (the UTF-8 copy, the unstripped fields), so a chunk
        holds few copies of itself at a time.
        """
        self.detail_physical += physical
        lines, suspect = self.split(chunk)
        if lines.height == 0:
            return
        self.data_lines += lines.height
        self.last_data_line = (int(lines["source_line"][-1]), int(lines["fields"][-1]))
        if self.problems.overflowed:  # the file is rejected: account for its lines, read no further
            self.problems.undescribed += lines.height
            rest = self.stripped(lines)
            self.add_text_sums(rest)
            self.reject(rest)
            return
        work = self.check_structure(lines, suspect)
        del lines
        good = work.filter(pl.col("ok")) if not work["ok"].all() else work
        raw = good.select(*ALIPAY_TRADE_COLUMNS, "source_line")
        del good
        valid = check_raw(self.problems, raw, AlipayTradeRaw, reason_codes=_RAW_REASON_CODES,
                          amount_scales=_AMOUNT_SCALES)  # fmt: skip
        del raw
        if valid.height < work.height:  # the lines that failed are added to the controls as text
            self.add_text_sums(work.filter(~pl.col("source_line").is_in(valid["source_line"].implode())))
        kind, received = pl.col("业务类型"), _units(_RECEIVED)
        valid = valid.with_columns(
            exact_units(column).alias(_units_of(column)) for column in _UNIT_COLUMNS
        ).with_columns(  # the sign table (rules across fields): these lines are quarantined
            broken=(kind == "交易") & (received < 0) | (kind == "退款") & ((received > 0) | (pl.col(_REFUND_ID) == ""))
        )
        # every 业务类型 here is 交易 or 退款 (the raw model) and every amount readable: no null share
        self.sums.add_units(valid, {
            f"{key}{what}": (kind == key).cast(pl.Int64) * units
            for key in _KINDS for what, units in (("笔数", pl.lit(1, pl.Int64)), ("商家实收", received),
                                                 ("商家优惠", _units(_DISCOUNT)))
        })  # fmt: skip
        rows = check_canonical(self.problems, self.to_canonical(valid), ChannelTxn)
        del valid
        self.output.rows(rows)
        self.facts.add_rows(rows)
        if rows.height < work.height:
            self.reject(work.filter(~pl.col("source_line").is_in(rows["source_line"].implode())))

    def split(self, chunk: Chunk) -> tuple[pl.DataFrame, bool]:
        """The chunk's non-blank lines as ``read_fields`` rows, and whether it may hold a bad character.

        Decoded once from GB18030 and handed to Polars as UTF-8; a line that is only whitespace (as
        ``str.strip`` sees it) is blank.
        """
        utf8 = utf8_chunk(chunk, "gb18030")
        frame = read_fields(utf8, _WIDTH)
        suspect = may_hold_bad_characters(utf8)
        del utf8
        if frame["line"].null_count() < frame.height:  # the texts of lines of other widths are kept
            frame = frame.with_columns(blank=pl.col("line").str.contains(_BLANK_LINE).fill_null(pl.col("blank")))
        blank = int(frame["blank"].sum())
        self.blank += blank
        return (frame.filter(~pl.col("blank")) if blank else frame), suspect

    def check_structure(self, lines: pl.DataFrame, suspect: bool) -> pl.DataFrame:
        """The lines' stripped fields by name, with ``ok``: false for a line that breaks the structure.

        The rules (25 fields, no bad character, the byte limits) are whole-column expressions; the
        few lines that fail one take the per-line path that names each problem.

        Args:
            lines: non-blank ``read_fields`` rows.
            suspect: the chunk may hold a bad character (``may_hold_bad_characters``).
        """
        names = field_names(_WIDTH)
        limits = self.context.limits
        well_formed = pl.col("fields") == _WIDTH
        if suspect:
            well_formed = well_formed & ~pl.any_horizontal(bad_character_expr(n) for n in names)
        sizes = [pl.col(n).str.len_bytes().fill_null(0) for n in names]
        within_limits = (pl.sum_horizontal(sizes) + _WIDTH - 1 <= limits.max_line_bytes) & pl.all_horizontal(
            size <= limits.max_field_bytes for size in sizes
        )
        work = lines.select(
            *(pl.col(self.columns[name]).str.strip_chars(" \t").alias(name) for name in ALIPAY_TRADE_COLUMNS),
            "source_line", "fields", ok=well_formed & within_limits,
        )  # fmt: skip
        odd = work.filter(~pl.col("ok"))["source_line"]
        if odd.len():
            broken = self.read_odd_lines(lines.filter(pl.col("source_line").is_in(odd.implode())))
            work = work.with_columns(ok=pl.col("ok") | ~pl.col("source_line").is_in(broken))
        return work

    # -- the few odd lines ----------------------------------------------------------------------

    def read_odd_lines(self, odd: pl.DataFrame) -> list[int]:
        """Lines that are not plainly well formed: record each problem, line by line (few lines).

        Args:
            odd: their ``read_fields`` rows.

        Returns:
            The lines found broken; any other was well formed after all (a field over the byte limit
            only with its TAB padding).
        """
        limit = self.context.limits
        broken: list[int] = []
        before = len(self.problems.entries)
        for line_no, text in odd.select("source_line", line_text(odd, _WIDTH)).iter_rows():
            if self.problems.overflowed:  # past the limit: counted, no longer described
                self.problems.undescribed += 1
                broken.append(line_no)
                continue
            count = text.count(",") + 1
            size = len(text.encode("utf-8"))
            if size > limit.max_line_bytes:
                self.problems.add(line_no, None, text[:200], "LIMIT_EXCEEDED",
                                  f"line of {size} bytes, over the {limit.max_line_bytes} byte limit")  # fmt: skip
            elif count != _WIDTH:
                self.problems.add(line_no, None, text[:200], "FIELD_COUNT", f"expected {_WIDTH} fields, got {count}")
            else:
                fields = _fields(text)
                for name, index in self.positions.items():
                    value = fields[index]
                    bad = bad_characters(value)
                    if bad:
                        self.problems.add(line_no, name, value, "BAD_CHAR", f"{name}: {bad}")
                    size = len(value.encode("utf-8"))
                    if size > limit.max_field_bytes:
                        self.problems.add(line_no, name, value[:200], "LIMIT_EXCEEDED",
                                          f"{name}: {size} bytes, over the {limit.max_field_bytes} byte limit")  # fmt: skip
            if len(self.problems.entries) > before or self.problems.overflowed:
                broken.append(line_no)
                before = len(self.problems.entries)
        return broken

    def stripped(self, lines: pl.DataFrame) -> pl.DataFrame:
        """The named, stripped columns the controls and the rejected rows read, of ``read_fields`` rows."""
        needed = ("业务类型", _RECEIVED, _DISCOUNT, "支付宝交易号", _REFUND_ID, "商户订单号")
        return lines.select(
            *(pl.col(self.columns[name]).str.strip_chars(" \t").alias(name) for name in needed), "source_line", "fields"
        )

    def add_text_sums(self, lines: pl.DataFrame) -> None:
        """Add lines that did not pass the raw model to the controls, from their text.

        A line with more fields than the header has shifted values: its 业务类型 is unknown, which
        makes every control unverifiable; a missing or unreadable amount makes its own sum so.
        """
        readable = pl.col("fields") <= _WIDTH

        def text(column: str) -> pl.Expr:
            return pl.when(readable).then(pl.col(column))

        units = {
            column: amount_units_or_null(text(column), _AMOUNT_SCALES[column]) for column in (_RECEIVED, _DISCOUNT)
        }
        self.sums.add_units(lines, _control_units(text("业务类型"), units[_RECEIVED], units[_DISCOUNT]))

    def reject(self, lines: pl.DataFrame) -> None:
        """Send the best-effort rows of quarantined lines (stripped named columns), and count their facts."""
        rejected = lines.select(
            source_file=pl.lit(self.source_file),
            source_line="source_line",
            **_best_effort(),
        )
        self.output.rejected(rejected)
        self.facts.add_rejected(rejected)

    # -- the footer -----------------------------------------------------------------------------

    def footer_text(self, offset: int) -> tuple[list[str], int]:
        """The footer's lines (the first ``_FOOTER_BYTES``, decoded) and its physical line count."""
        footer, physical = tail_lines(self.source, offset, encoding="gb18030", max_bytes=_FOOTER_BYTES)
        if footer and len(footer) == physical and self.source.read(self.source.size - 1, self.source.size) == b"\r":
            footer[-1] += "\r"  # a lone CR at the very end stays in its line (split_lines)
        return footer, physical

    def missing_footer(self, physical: int) -> FileRejected:
        if self.last_data_line is not None and self.last_data_line[1] < _WIDTH:
            line, count = self.last_data_line
            return FileRejected(
                "TRUNCATED", f"no footer; the last line {line} has {count} of {_WIDTH} fields (file cut short?)", line
            )
        return FileRejected(
            "FOOTER_MISSING", f"no '{_DETAIL_MARKER}{_END}' marker after the detail lines", physical
        )

    def read_footer(
        self, footer: list[str], footer_physical: int, marker_line: int, physical: int
    ) -> tuple[ControlTotal, ...]:
        """The ``#`` footer from the end marker on: the control totals of the two ``合计`` lines."""
        found: dict[str, re.Match[str]] = {}
        for index, text in enumerate(footer):
            line_no = marker_line + index
            line = text.rstrip(", ")  # some exports pad # lines with commas
            if not line.strip():
                self.blank += 1
                continue
            if not line.startswith("#"):
                self.errors.append(FileRejected("FOOTER_INVALID", f"unexpected line {line_no} in the footer", line_no))
                continue
            self.footer_lines += 1
            for key, pattern in (("交易", _PAYMENT_FOOTER), ("退款", _REFUND_FOOTER)):
                if line.startswith(f"#{key}合计"):
                    match = pattern.match(line)
                    if match is None:
                        self.errors.append(
                            FileRejected("FOOTER_INVALID", f"cannot read the footer line {line!r}", line_no)
                        )
                    else:
                        found[key] = match
        if footer_physical > len(footer):  # past _FOOTER_BYTES: no footer is that long
            line_no = marker_line + len(footer)
            self.errors.append(FileRejected(
                "FOOTER_INVALID", f"the footer goes on past {_FOOTER_BYTES} bytes: unexpected line {line_no}", line_no
            ))  # fmt: skip
        missing = [f"#{key}合计" for key in _KINDS if key not in found]
        if missing:
            self.errors.append(FileRejected("FOOTER_MISSING", f"footer lacks {' and '.join(missing)}", physical))
            return ()
        controls = []
        for key in _KINDS:
            count, received, discount = found[key].groups()
            try:
                received_units = parse_decimal_text(received, scale=2, exact_scale=True)
                discount_units = parse_decimal_text(discount, scale=2, exact_scale=True)
            except AmountError as exc:
                self.errors.append(FileRejected("FOOTER_INVALID", f"#{key}合计: {exc}", marker_line))
                return ()
            controls += [
                ControlTotal(f"{key}合计笔数", Decimal(count), self.sums.decimal(f"{key}笔数")),
                ControlTotal(f"{key}合计商家实收", units_to_decimal(received_units), self.sums.decimal(f"{key}商家实收")),
                ControlTotal(f"{key}合计商家优惠", units_to_decimal(discount_units), self.sums.decimal(f"{key}商家优惠")),
            ]
        return tuple(controls)

    # -- canonical rows -------------------------------------------------------------------------

    def to_canonical(self, good: pl.DataFrame) -> pl.DataFrame:
        """Map raw-valid lines to ``ChannelTxn`` rows; quarantine the lines that break the sign table.

        Args:
            good: raw-valid lines with their amounts in fen (``_units_of``) and ``broken``, true for a
                line that breaks the sign table.
        """
        kind, received = pl.col("业务类型"), _units(_RECEIVED)
        refund = kind == "退款"
        kept = good
        if good["broken"].any():
            for row in good.filter(pl.col("broken")).iter_rows(named=True):
                self.sign_table_problems(row)
            kept = good.filter(~pl.col("broken"))
        exprs = {
            "channel": pl.lit(CHANNEL),
            "merchant_account": pl.lit(self.account, pl.String()),
            "channel_txn_id": pl.when(refund).then(pl.col(_REFUND_ID)).otherwise(pl.col("支付宝交易号")),
            "order_no": pl.col("商户订单号"),
            "original_txn_id": pl.when(refund).then(pl.col("支付宝交易号")).otherwise(pl.lit(None, pl.String())),
            "kind": kind.replace_strict(_KINDS, return_dtype=pl.String()),
            "amount_minor": received,
            "fee_minor": _units(_FEE),
            # exact: the text has 2 decimals; one beyond Decimal(18,5) is null, which the model rejects
            "fee_exact": pl.col(_FEE).cast(_CANONICAL_SCHEMA["fee_exact"], strict=False),
            "order_amount_minor": _units(_ORDER),
            "discount_minor": _units(_DISCOUNT),
            "currency": pl.lit(CURRENCY),
            "settle_amount_minor": received,
            "settle_currency": pl.lit(CURRENCY),
            "fx_rate": pl.lit(None, _CANONICAL_SCHEMA["fx_rate"]),
            "occurred_at": local_time_expr(pl.col("完成时间"), BILL_TIME_ZONE),
            "settle_date": pl.lit(self.context.business_date, pl.Date()),
            "status": pl.lit("succeeded"),
            "status_detail": pl.lit(None, pl.String()),
            "buyer_id": pl.when(pl.col("对方账户") != "").then(pl.col("对方账户")).otherwise(pl.lit(None, pl.String())),
            "source_file": pl.lit(self.source_file),
            "source_line": pl.col("source_line"),
        }
        return kept.select(**exprs).cast(_CANONICAL_SCHEMA)  # type: ignore[arg-type]

    def sign_table_problems(self, row: dict[str, object]) -> None:
        """The problems of one raw-valid line that breaks the rules across fields."""
        line_no = int(row["source_line"])  # type: ignore[call-overload]
        business_type, received_text = row["业务类型"], row[_RECEIVED]
        received = int(row[_units_of(_RECEIVED)])  # type: ignore[call-overload]
        if business_type == "交易" and received < 0 or business_type == "退款" and received > 0:
            expected = "negative" if business_type == "退款" else "positive"
            self.problems.add(
                line_no, _RECEIVED, str(received_text), "SIGN_VIOLATION",
                f"{_RECEIVED} {received_text} on a {business_type} line (Alipay writes it {expected})",
            )  # fmt: skip
        if business_type == "退款" and not row[_REFUND_ID]:
            self.problems.add(line_no, _REFUND_ID, "", "REQUIRED_EMPTY", f"a 退款 line needs its {_REFUND_ID}")


def _control_units(kind: pl.Expr, received: pl.Expr, discount: pl.Expr) -> dict[str, pl.Expr]:
    """Each line's share of the footer controls; null where it makes a control unverifiable.

    A 业务类型 that is neither 交易 nor 退款 could belong to either footer line, so it makes every
    control null; an unreadable amount makes its own 业务类型's sum null.
    """
    known = kind.is_in(list(_KINDS)).fill_null(False)
    units: dict[str, pl.Expr] = {}
    for key in _KINDS:
        mine = kind == key
        units[f"{key}笔数"] = pl.when(known).then(mine.cast(pl.Int64))
        for what, amount in (("商家实收", received), ("商家优惠", discount)):
            units[f"{key}{what}"] = pl.when(known).then(pl.when(mine).then(amount).otherwise(pl.lit(0, pl.Int64)))
    return units


def _best_effort() -> dict[str, pl.Expr]:
    """Whatever can be read of a quarantined line (stripped named columns) for its ``rejected`` row."""
    kind = pl.col("业务类型").replace_strict(_KINDS, default=None, return_dtype=pl.String())
    txn_id = pl.when(kind == "refund").then(pl.col(_REFUND_ID)).otherwise(pl.col("支付宝交易号"))
    order_no = pl.col("商户订单号")
    return {
        "channel": pl.lit(CHANNEL),
        "channel_txn_id": pl.when(txn_id != "").then(txn_id),
        "order_no": pl.when(order_no != "").then(order_no),
        "kind": kind,
        "amount_minor": amount_units_or_null(pl.col(_RECEIVED), _AMOUNT_SCALES[_RECEIVED]),
        "currency": pl.lit(CURRENCY),
    }


def _units_of(column: str) -> str:
    """The name of the integer-units column computed next to a raw-valid amount column."""
    return f"{column}__units"


def _units(column: str) -> pl.Expr:
    return pl.col(_units_of(column))


# -- 业务明细(汇总) ---------------------------------------------------------------------------------


def parse_alipay_trade_summary(data: bytes | Source, source_file: str, context: ParseContext) -> ParsedFile:
    """Read an Alipay 业务明细(汇总) file: no rows, its ``合计`` line as control totals.

    Each control's ``footer`` is the ``合计`` figure and ``parsed`` the sum of the store lines above it
    (so a 合计 that disagrees with its own store lines is CONTROL_TOTAL_MISMATCH). Counts are
    ``Decimal`` integers, money ``Decimal`` yuan. The file is a few lines: it is read whole, and one
    bigger than ``MAX_SUMMARY_BYTES`` is refused (``LIMIT_EXCEEDED``) without being decoded.

    Args:
        data: the file's bytes, or a Source over them (after unpacking), GBK.
        source_file: the path relative to the date's inbox.
        context: the date the run reconciles (a different 起始日期 is ``WRONG_DATE``); the 汇总 sends
            no rows, so the sink is not used.

    Returns:
        A ``ParsedFile`` of format ``alipay_trade_summary``, role ``reference``, with empty ``rows``
        and the controls 交易订单总笔数, 退款订单总笔数, 订单金额, 商家实收, 商家优惠, 服务费, 实收净额.
    """
    source = as_source(data)
    if source.size > MAX_SUMMARY_BYTES:
        error = FileRejected(
            "LIMIT_EXCEEDED", f"{source.size} bytes is over the {MAX_SUMMARY_BYTES} byte limit of a 汇总 file"
        )
        return _empty_file(source_file, SUMMARY_FORMAT, "reference", error)
    try:
        lines = split_lines(_decode(source.read(0, source.size)))
        account, statement_date = _read_preamble(lines, _SUMMARY_TITLE, _SUMMARY_MARKER)
        positions = _read_header(lines[_PREAMBLE_LINES], ALIPAY_SUMMARY_COLUMNS, _PREAMBLE_LINES + 1)
    except FileRejected as exc:
        return _empty_file(source_file, SUMMARY_FORMAT, "reference", exc)
    errors: list[FileRejected] = []
    if statement_date != context.business_date:
        errors.append(_wrong_date(statement_date, context.business_date))
    store_sums: dict[str, int | None] = {name: 0 for name, _, _ in _SUMMARY_TOTALS}
    total: dict[str, int] | None = None
    total_line = 0
    blank = footer = 0
    end_seen = False
    for index in range(_PREAMBLE_LINES + 1, len(lines)):
        line, line_no = lines[index], index + 1
        if not line.strip():
            blank += 1
            continue
        if line.startswith("#"):
            footer += 1
            end_seen = end_seen or _SUMMARY_MARKER + _END in line
            continue
        if end_seen:
            errors.append(
                FileRejected("FOOTER_INVALID", f"unexpected line {line_no} after the list", line_no)
            )
            continue
        footer += 1  # a reference file has no data rows: its figures are all summary
        fields = _fields(line)
        values = _summary_values(fields, positions, line_no, errors)
        if fields and fields[0] == "合计":
            total, total_line = values, line_no
        else:
            for name, _, _ in _SUMMARY_TOTALS:
                current = store_sums[name]
                store_sums[name] = None if values is None or current is None else current + values[name]
    controls: tuple[ControlTotal, ...] = ()
    if not end_seen:
        errors.append(FileRejected("TRUNCATED", f"no '{_SUMMARY_MARKER}{_END}' marker", len(lines)))
    if total is None:
        errors.append(FileRejected("FOOTER_MISSING", "no 合计 line", len(lines)))
    else:
        controls = tuple(
            ControlTotal(name, units_to_decimal(total[name], scale), units_to_decimal(store_sums[name], scale))
            for name, _, scale in _SUMMARY_TOTALS
        )
        mismatch = control_total_error(
            controls, line=total_line, template="{name}: 合计 says {footer}, store lines give {parsed}"
        )
        if mismatch is not None:
            errors.append(mismatch)
    return ParsedFile(
        source_file=source_file,
        format=SUMMARY_FORMAT,
        role="reference",
        channel=CHANNEL,
        rows=empty_frame(ChannelTxn),
        rejected=empty_rejected(),
        quarantine=empty_quarantine(),
        controls=controls,
        file_error=errors[0] if errors else None,
        lines=LineCounts(
            physical=len(lines), data=0, header=1, preamble=_PREAMBLE_LINES, footer=footer, blank=blank
        ),
        statement_date=statement_date,
        merchant_account=account,
    )


def _summary_values(
    fields: list[str], positions: dict[str, int], line_no: int, errors: list[FileRejected]
) -> dict[str, int] | None:
    """The figures of one 汇总 line in units of their scale, or None (and an error) if unreadable."""
    if len(fields) != len(ALIPAY_SUMMARY_COLUMNS):
        errors.append(
            FileRejected(
                "FOOTER_INVALID",
                f"line {line_no} has {len(fields)} of {len(ALIPAY_SUMMARY_COLUMNS)} fields",
                line_no,
            )
        )
        return None
    values = {}
    for name, column, scale in _SUMMARY_TOTALS:
        text = fields[positions[column]]
        try:
            values[name] = parse_decimal_text(text, scale=scale, exact_scale=True)
        except AmountError as exc:
            errors.append(FileRejected("FOOTER_INVALID", f"line {line_no}: {column}: {exc}", line_no))
            return None
    return values


def cross_check_alipay_summary(detail: ParsedFile, summary: ParsedFile) -> list[str]:
    """Compare an Alipay 业务明细 file with its 汇总; return the disagreements as sentences.

    Checked: 交易 and 退款 counts, 订单金额, 商家实收, 商家优惠 and 服务费 (all netted over 交易 and 退款), and
    实收净额 = 商家实收 + 服务费 both inside the 汇总 and against the detail. Counts and 商家实收 cover every
    data line of the detail (valid and rejected); the other sums need the valid rows, so they are reported
    as not verifiable when lines were rejected. The detail's figures are its ``facts`` (``DETAIL_FACTS``),
    since its rows may have left through a sink; a detail without them counts as one without lines.

    Args:
        detail: the parsed 业务明细 (``parse_alipay_trade_detail``).
        summary: the parsed 汇总 (``parse_alipay_trade_summary``).

    Returns:
        Readable sentences, one per problem; an empty list when everything agrees.
    """
    problems: list[str] = []
    if summary.file_error is not None:
        problems.append(f"the 汇总 {summary.source_file} was rejected: {summary.file_error.message}")
    figures = {control.name: control.footer for control in summary.controls}
    if not figures:
        return problems or [f"the 汇总 {summary.source_file} has no 合计 figures"]
    if summary.statement_date != detail.statement_date:
        problems.append(f"the 汇总 is for {summary.statement_date}, the 业务明细 for {detail.statement_date}")
    if summary.merchant_account != detail.merchant_account:
        problems.append(
            f"the 汇总 is for account {summary.merchant_account}, the 业务明细 for {detail.merchant_account}"
        )
    if figures["商家实收"] + figures["服务费"] != figures["实收净额"]:
        problems.append(
            f"in the 汇总, 商家实收 {figures['商家实收']} + 服务费 {figures['服务费']} ≠ 实收净额 {figures['实收净额']}"
        )
    facts = {**_DetailFacts().facts(rejected_count=0), **detail.facts}
    for name in ("交易订单总笔数", "退款订单总笔数"):
        count = facts[name]
        if count is None:
            problems.append(f"{name} not verifiable: a rejected 业务明细 line has no readable 业务类型")
            break
        if count != figures[name]:
            problems.append(f"{name}: the 汇总 says {figures[name]}, the 业务明细 has {count} lines")
    for name in ("订单金额", "商家实收", "商家优惠", "服务费", "实收净额"):
        parsed = facts[name]
        if parsed is None:
            problems.append(f"{name} not verifiable: {detail.rejected_count} 业务明细 line(s) were rejected")
        elif parsed != figures[name]:
            problems.append(f"{name}: the 汇总 says {figures[name]}, the 业务明细 lines give {parsed}")
    return problems
