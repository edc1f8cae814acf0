"""Alipay merchant trade bill (业务明细 and 业务明细(汇总), bill_type=trade) → canonical rows (FORMATS §3).

Both files are GBK (decoded strictly as GB18030), with four ``#`` preamble lines (title, ``#账号：[…]``,
``#起始日期：[…]   终止日期：[…]``, a list marker), a header, the lines, and ``#`` footer lines. Markers are
matched by substring, never by their dash counts. Every field is stripped of the TAB Alipay appends
and of surrounding spaces.

Canonical rows of the 业务明细 (``schemas.canonical.ChannelTxn``), money in fen, positive = towards the
merchant. The file already signs its amounts that way:

- 业务类型 交易 → payment, ``channel_txn_id = 支付宝交易号``;
- 业务类型 退款 → refund, ``channel_txn_id = 退款批次号/请求号``, ``original_txn_id = 支付宝交易号``;
- ``amount_minor = 商家实收`` (negative on refunds), ``order_amount_minor = 订单金额``,
  ``discount_minor = 商家优惠``, ``fee_minor = 服务费`` as written (negative on 交易, positive on 退款),
  ``fee_exact`` the same in yuan as Decimal(18,5).

The 汇总 file is a reference: it produces no rows, only control totals from its ``合计`` line, which
``cross_check_alipay_summary`` compares with the detail file.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import overload
from zoneinfo import ZoneInfo

import polars as pl

from schemas.alipay import (
    ALIPAY_AMOUNT_COLUMNS,
    ALIPAY_SUMMARY_COLUMNS,
    ALIPAY_TRADE_COLUMNS,
    AlipayTradeRaw,
)
from schemas.canonical import ChannelTxn, empty_frame
from transforms.adapters.common import (
    Findings,
    canonical_rows,
    columns_by_name,
    control_total_error,
    frame_schema,
    local_timestamp,
    mapped_column,
    parse_units,
    raw_frame,
    read_header,
    rejected_file,
    rejected_row,
    sum_units,
    truncated_last_line,
    units_to_decimal,
)
from transforms.money import AmountError, parse_decimal_text
from transforms.parsed import (
    ControlTotal,
    FileRejected,
    LineCounts,
    ParsedFile,
    empty_quarantine,
    empty_rejected,
)
from transforms.text import bad_characters, decode_text, split_lines

CHANNEL = "alipay"
DETAIL_FORMAT = "alipay_trade"
SUMMARY_FORMAT = "alipay_trade_summary"
CURRENCY = "CNY"

#: The bill's timestamps are Beijing time (FORMATS §3.2).
BILL_TIME_ZONE = ZoneInfo("Asia/Shanghai")

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
_WIDTH = len(ALIPAY_TRADE_COLUMNS)
_HEADER_MISMATCH = (
    "not the expected header: {expected!r} expected where the file has {found!r} "
    "(wrong encoding or another bill type?)"
)


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
    """Decode strictly as GB18030; a UTF-8 file is named as such (HEADER_MISMATCH)."""
    try:
        return decode_text(data, "gb18030")
    except FileRejected as exc:
        if exc.reason_code == "DECODE_ERROR":
            try:
                utf8 = data.decode("utf-8")
            except UnicodeDecodeError:
                raise exc from None
            if "支付宝" in utf8[:200]:
                raise FileRejected(
                    "HEADER_MISMATCH", "the file is UTF-8; Alipay bills are GBK (" + exc.message + ")", 1
                ) from None
        raise


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


@overload
def _yuan(units: int, scale: int = 2) -> Decimal: ...
@overload
def _yuan(units: int | None, scale: int = 2) -> Decimal | None: ...
def _yuan(units: int | None, scale: int = 2) -> Decimal | None:
    return units_to_decimal(units, scale)


def _empty_file(
    source_file: str, fmt: str, role: str, error: FileRejected, lines: LineCounts | None = None
) -> ParsedFile:
    return rejected_file(
        source_file, error, file_format=fmt, role=role, channel=CHANNEL, model=ChannelTxn, lines=lines
    )


# -- 业务明细 ---------------------------------------------------------------------------------------


def parse_alipay_trade_detail(data: bytes, source_file: str, *, business_date: date) -> ParsedFile:
    """Parse an Alipay 业务明细 file into canonical channel rows.

    Never raises on bad input: a bad line becomes quarantine entries plus one ``rejected`` row, a
    bad file sets ``file_error`` (``rows`` and ``rejected`` still hold what could be read).

    Args:
        data: the file's bytes (after unpacking), GBK.
        source_file: the path relative to the date's inbox (``alipay/x.csv.zip!x_业务明细.csv``).
        business_date: the date the run reconciles; the file's 起始日期 must be that date, else
            ``file_error`` is ``WRONG_DATE``. It becomes every row's ``settle_date``.

    Returns:
        A ``ParsedFile`` of format ``alipay_trade``, role ``channel``: one ``ChannelTxn`` row per valid
        detail line (money in fen, signed towards the merchant), the ``#交易合计`` / ``#退款合计`` footer
        lines as control totals (counts, and yuan), and physical line counts.
    """
    try:
        lines = split_lines(_decode(data))
        account, statement_date = _read_preamble(lines, _DETAIL_TITLE, _DETAIL_MARKER)
        positions = _read_header(lines[_PREAMBLE_LINES], ALIPAY_TRADE_COLUMNS, _PREAMBLE_LINES + 1)
    except FileRejected as exc:
        return _empty_file(source_file, DETAIL_FORMAT, "channel", exc)
    return _DetailParser(source_file, business_date, lines, positions, account, statement_date).run()


class _DetailParser:
    """One pass over the decoded lines of one 业务明细 file.

    A line with the right field count and no bad character is split in one go; any other line takes
    the path that says what is wrong with it.
    """

    def __init__(
        self,
        source_file: str,
        business_date: date,
        lines: list[str],
        positions: dict[str, int],
        account: str,
        statement_date: date,
    ) -> None:
        self.source_file = source_file
        self.business_date = business_date
        self.lines = lines
        self.positions = positions
        self.account = account
        self.statement_date = statement_date
        self.findings = Findings(source_file, _best_effort)
        # Lines that reached the raw model: their fields in file order, and their line numbers.
        self.good_fields: list[list[str]] = []
        self.good_lines: list[int] = []
        # Control sums per 业务类型 over every data line whose values could be read (None: not verifiable);
        # the lines that reach the raw model are added in bulk after the pass.
        self.counts: dict[str, int | None] = {"交易": 0, "退款": 0}
        self.sums: dict[tuple[str, str], int | None] = {
            (kind, column): 0 for kind in ("交易", "退款") for column in (_RECEIVED, _DISCOUNT)
        }
        self.data_lines = self.blank = self.footer_lines = 0
        self.errors: list[FileRejected] = []

    def problem(self, line_no: int, column: str | None, value: str | None, code: str, reason: str) -> None:
        self.findings.problem(line_no, column, value, code, reason)

    def reject(self, line_no: int, values: Mapping[str, object]) -> None:
        self.findings.reject(line_no, values)

    def run(self) -> ParsedFile:
        if self.statement_date != self.business_date:
            self.errors.append(
                FileRejected(
                    "WRONG_DATE",
                    f"the file's 起始日期 is {self.statement_date}, the run is for {self.business_date}",
                    3,
                )
            )
        first = _PREAMBLE_LINES + 1
        end_at = next(
            (i for i in range(first, len(self.lines))
             if self.lines[i].startswith("#") and _DETAIL_MARKER + _END in self.lines[i]),
            None,
        )  # fmt: skip
        for index in range(first, end_at if end_at is not None else len(self.lines)):
            self.read_detail(index + 1, self.lines[index])
        values = columns_by_name(self.good_fields, self.positions)
        units = {column: parse_units(values[column], 2) for column in (_RECEIVED, _DISCOUNT, _FEE, _ORDER)}
        self.add_good_lines_to_totals(values, units)
        controls: tuple[ControlTotal, ...] = ()
        if end_at is None:
            self.errors.append(self.missing_footer())
        else:
            controls = self.read_footer(end_at)
        rows = self.canonical_rows(values, units)
        mismatch = control_total_error(
            controls, line=(end_at or 0) + 2, template="{name}: footer says {footer}, rows give {parsed}"
        )
        if mismatch is not None:
            self.errors.append(mismatch)
        return ParsedFile(
            source_file=self.source_file,
            format=DETAIL_FORMAT,
            role="channel",
            channel=CHANNEL,
            rows=rows,
            rejected=self.findings.rejected_frame(),
            quarantine=self.findings.quarantine(),
            controls=controls,
            file_error=self.errors[0] if self.errors else None,
            lines=LineCounts(
                physical=len(self.lines),
                data=self.data_lines,
                header=1,
                preamble=_PREAMBLE_LINES,
                footer=self.footer_lines,
                blank=self.blank,
            ),
            statement_date=self.statement_date,
            merchant_account=self.account,
        )

    def read_detail(self, line_no: int, line: str) -> None:
        if not line.strip():
            self.blank += 1
            return
        self.data_lines += 1
        if line.count(",") == _WIDTH - 1 and bad_characters(line) is None:
            self.good_fields.append(_fields(line))
            self.good_lines.append(line_no)
            return
        fields = _fields(line)
        width = _WIDTH
        if len(fields) != width:
            values = {name: fields[i] for name, i in self.positions.items() if i < len(fields)}
            self.add_to_totals(values if len(fields) < width else {})
            self.problem(
                line_no, None, line[:200], "FIELD_COUNT", f"expected {width} fields, got {len(fields)}"
            )
            self.reject(line_no, values)
            return
        values = {name: fields[i] for name, i in self.positions.items()}
        self.add_to_totals(values)
        for name, value in values.items():
            bad = bad_characters(value)
            if bad:
                self.problem(line_no, name, value, "BAD_CHAR", f"{name}: {bad}")
        self.reject(line_no, values)

    def add_good_lines_to_totals(
        self, values: Mapping[str, Sequence[str]], units: Mapping[str, Mapping[str, int]]
    ) -> None:
        """Add the lines that reached the raw model to the control sums (as ``add_to_totals`` would)."""
        kinds = values["业务类型"]
        if any(kind not in self.counts for kind in set(kinds)):
            self.counts = dict.fromkeys(self.counts)
            self.sums = dict.fromkeys(self.sums)
            return
        for kind in self.counts:
            mine = [index for index, value in enumerate(kinds) if value == kind]
            count = self.counts[kind]
            self.counts[kind] = None if count is None else count + len(mine)
            for column in (_RECEIVED, _DISCOUNT):
                texts = values[column]
                total = sum_units((texts[index] for index in mine), units[column])
                current = self.sums[(kind, column)]
                self.sums[(kind, column)] = None if current is None or total is None else current + total

    def add_to_totals(self, values: dict[str, str]) -> None:
        """Add a line to its 业务类型's control sums; what cannot be read makes the sum unverifiable."""
        kind = values.get("业务类型")
        if kind not in self.counts:
            # Unknown type: this line could belong to either footer line, so neither can be verified.
            self.counts = dict.fromkeys(self.counts)
            self.sums = dict.fromkeys(self.sums)
            return
        if (count := self.counts[kind]) is not None:
            self.counts[kind] = count + 1
        for column in (_RECEIVED, _DISCOUNT):
            current = self.sums[(kind, column)]
            try:
                units = parse_decimal_text(values.get(column, ""), scale=2, exact_scale=True)
            except AmountError:
                self.sums[(kind, column)] = None
                continue
            if current is not None:
                self.sums[(kind, column)] = current + units

    def missing_footer(self) -> FileRejected:
        truncated = truncated_last_line(self.lines, _PREAMBLE_LINES + 1, _WIDTH, "footer")
        if truncated is not None:
            return truncated
        return FileRejected(
            "FOOTER_MISSING", f"no '{_DETAIL_MARKER}{_END}' marker after the detail lines", len(self.lines)
        )

    def read_footer(self, end_at: int) -> tuple[ControlTotal, ...]:
        found: dict[str, re.Match[str]] = {}
        for index in range(end_at, len(self.lines)):
            line = self.lines[index].rstrip(", ")  # some exports pad # lines with commas
            if not line.strip():
                self.blank += 1
                continue
            if not line.startswith("#"):
                self.errors.append(
                    FileRejected("FOOTER_INVALID", f"unexpected line {index + 1} in the footer", index + 1)
                )
                continue
            self.footer_lines += 1
            for key, pattern in (("交易", _PAYMENT_FOOTER), ("退款", _REFUND_FOOTER)):
                if line.startswith(f"#{key}合计"):
                    match = pattern.match(line)
                    if match is None:
                        self.errors.append(
                            FileRejected("FOOTER_INVALID", f"cannot read the footer line {line!r}", index + 1)
                        )
                    else:
                        found[key] = match
        missing = [f"#{key}合计" for key in ("交易", "退款") if key not in found]
        if missing:
            self.errors.append(
                FileRejected("FOOTER_MISSING", f"footer lacks {' and '.join(missing)}", len(self.lines))
            )
            return ()
        controls = []
        for key in ("交易", "退款"):
            count, received, discount = found[key].groups()
            try:
                received_units = parse_decimal_text(received, scale=2, exact_scale=True)
                discount_units = parse_decimal_text(discount, scale=2, exact_scale=True)
            except AmountError as exc:
                self.errors.append(FileRejected("FOOTER_INVALID", f"#{key}合计: {exc}", end_at + 1))
                return ()
            parsed_count = self.counts[key]
            controls += [
                ControlTotal(
                    f"{key}合计笔数", Decimal(count), None if parsed_count is None else Decimal(parsed_count)
                ),
                ControlTotal(f"{key}合计商家实收", _yuan(received_units), _yuan(self.sums[(key, _RECEIVED)])),
                ControlTotal(f"{key}合计商家优惠", _yuan(discount_units), _yuan(self.sums[(key, _DISCOUNT)])),
            ]
        return tuple(controls)

    def canonical_rows(
        self, values: Mapping[str, Sequence[str]], units: Mapping[str, Mapping[str, int]]
    ) -> pl.DataFrame:
        return canonical_rows(
            self.findings,
            raw_frame(ALIPAY_TRADE_COLUMNS, values, self.good_lines, self.source_file),
            AlipayTradeRaw,
            ChannelTxn,
            lambda good: self.to_canonical(good, units),
            reason_codes=_RAW_REASON_CODES,
            amount_scales=_AMOUNT_SCALES,
        )

    def to_canonical(self, good: pl.DataFrame, units: Mapping[str, Mapping[str, int]]) -> pl.DataFrame:
        """Map the raw-valid lines to ``ChannelTxn`` rows; quarantine the lines that break the sign table."""
        column = good.get_column
        received_units = units[_RECEIVED]
        keep: list[bool] = []
        for line_no, business_type, received_text, refund_id in zip(
            column("source_line").to_list(),
            column("业务类型").to_list(),
            column(_RECEIVED).to_list(),
            column(_REFUND_ID).to_list(),
            strict=True,
        ):
            received = received_units[received_text]
            ok = True
            if business_type == "交易" and received < 0 or business_type == "退款" and received > 0:
                ok = False
                expected = "negative" if business_type == "退款" else "positive"
                self.problem(
                    line_no, _RECEIVED, received_text, "SIGN_VIOLATION",
                    f"{_RECEIVED} {received_text} on a {business_type} line (Alipay writes it {expected})",
                )  # fmt: skip
            if business_type == "退款" and not refund_id:
                ok = False
                self.problem(line_no, _REFUND_ID, "", "REQUIRED_EMPTY", f"a 退款 line needs its {_REFUND_ID}")
            keep.append(ok)
        kept = good.filter(pl.Series(keep, dtype=pl.Boolean()))

        exact = {text: Decimal(fee).scaleb(-2).quantize(Decimal("0.00001")) for text, fee in units[_FEE].items()}
        times = {text: local_timestamp(text, BILL_TIME_ZONE) for text in set(kept.get_column("完成时间").to_list())}
        kept = kept.with_columns(
            *(mapped_column(kept, name, units[name], pl.Int64()) for name in (_RECEIVED, _DISCOUNT, _FEE, _ORDER)),
            mapped_column(kept, _FEE, exact, _CANONICAL_SCHEMA["fee_exact"]).alias("fee_exact"),
            mapped_column(kept, "完成时间", times, _CANONICAL_SCHEMA["occurred_at"]).alias("occurred_at"),
        )
        refund = pl.col("业务类型") == "退款"
        exprs = {
            "channel": pl.lit(CHANNEL),
            "merchant_account": pl.lit(self.account, pl.String()),
            "channel_txn_id": pl.when(refund).then(pl.col(_REFUND_ID)).otherwise(pl.col("支付宝交易号")),
            "order_no": pl.col("商户订单号"),
            "original_txn_id": pl.when(refund).then(pl.col("支付宝交易号")).otherwise(pl.lit(None, pl.String())),
            "kind": pl.col("业务类型").replace_strict(_KINDS, return_dtype=pl.String()),
            "amount_minor": pl.col(_RECEIVED),
            "fee_minor": pl.col(_FEE),
            "fee_exact": pl.col("fee_exact"),
            "order_amount_minor": pl.col(_ORDER),
            "discount_minor": pl.col(_DISCOUNT),
            "currency": pl.lit(CURRENCY),
            "settle_amount_minor": pl.col(_RECEIVED),
            "settle_currency": pl.lit(CURRENCY),
            "fx_rate": pl.lit(None, _CANONICAL_SCHEMA["fx_rate"]),
            "occurred_at": pl.col("occurred_at"),
            "settle_date": pl.lit(self.business_date, pl.Date()),
            "status": pl.lit("succeeded"),
            "status_detail": pl.lit(None, pl.String()),
            "source_file": pl.col("source_file"),
            "source_line": pl.col("source_line"),
        }
        return kept.select(**exprs).cast(_CANONICAL_SCHEMA)  # type: ignore[arg-type]


def _best_effort(source_file: str, line_no: int, values: Mapping[str, object]) -> dict[str, object]:
    """Whatever can be read of a quarantined line, for its ``rejected`` row (nulls elsewhere)."""
    kind = _KINDS.get(str(values.get("业务类型", "")))
    try:
        amount: int | None = parse_decimal_text(str(values.get(_RECEIVED, "")), scale=2, exact_scale=True)
    except AmountError:
        amount = None
    txn_id = values.get(_REFUND_ID) if kind == "refund" else values.get("支付宝交易号")
    return rejected_row(
        source_file,
        line_no,
        channel=CHANNEL,
        channel_txn_id=str(txn_id) if txn_id else None,
        order_no=str(values["商户订单号"]) if values.get("商户订单号") else None,
        kind=kind,
        amount_minor=amount,
        currency=CURRENCY,
    )


# -- 业务明细(汇总) ---------------------------------------------------------------------------------


def parse_alipay_trade_summary(data: bytes, source_file: str, *, business_date: date) -> ParsedFile:
    """Read an Alipay 业务明细(汇总) file: no rows, its ``合计`` line as control totals.

    Each control's ``footer`` is the ``合计`` figure and ``parsed`` the sum of the store lines above it
    (so a 合计 that disagrees with its own store lines is CONTROL_TOTAL_MISMATCH). Counts are
    ``Decimal`` integers, money ``Decimal`` yuan.

    Args:
        data: the file's bytes (after unpacking), GBK.
        source_file: the path relative to the date's inbox.
        business_date: the date the run reconciles; a different 起始日期 is ``WRONG_DATE``.

    Returns:
        A ``ParsedFile`` of format ``alipay_trade_summary``, role ``reference``, with empty ``rows``
        and the controls 交易订单总笔数, 退款订单总笔数, 订单金额, 商家实收, 商家优惠, 服务费, 实收净额.
    """
    try:
        lines = split_lines(_decode(data))
        account, statement_date = _read_preamble(lines, _SUMMARY_TITLE, _SUMMARY_MARKER)
        positions = _read_header(lines[_PREAMBLE_LINES], ALIPAY_SUMMARY_COLUMNS, _PREAMBLE_LINES + 1)
    except FileRejected as exc:
        return _empty_file(source_file, SUMMARY_FORMAT, "reference", exc)
    errors: list[FileRejected] = []
    if statement_date != business_date:
        errors.append(
            FileRejected(
                "WRONG_DATE", f"the file's 起始日期 is {statement_date}, the run is for {business_date}", 3
            )
        )
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
            ControlTotal(name, _yuan(total[name], scale), _yuan(store_sums[name], scale))
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
    as not verifiable when lines were rejected.

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
    rows, rejected = detail.rows, detail.rejected
    kinds = [*rows["kind"].to_list(), *rejected["kind"].to_list()]
    for name, kind in (("交易订单总笔数", "payment"), ("退款订单总笔数", "refund")):
        if None in kinds:
            problems.append(f"{name} not verifiable: a rejected 业务明细 line has no readable 业务类型")
            break
        if Decimal(kinds.count(kind)) != figures[name]:
            problems.append(
                f"{name}: the 汇总 says {figures[name]}, the 业务明细 has {kinds.count(kind)} lines"
            )
    amounts = [*rows["amount_minor"].to_list(), *rejected["amount_minor"].to_list()]
    received = None if None in amounts else Decimal(sum(amounts)).scaleb(-2)
    sums: dict[str, Decimal | None] = {"商家实收": received}
    if rejected.height == 0:
        fees = Decimal(rows["fee_minor"].sum()).scaleb(-2)
        sums |= {
            "订单金额": Decimal(rows["order_amount_minor"].sum()).scaleb(-2),
            "商家优惠": Decimal(rows["discount_minor"].sum()).scaleb(-2),
            "服务费": fees,
        }
        sums["实收净额"] = None if received is None else received + fees
    for name in ("订单金额", "商家实收", "商家优惠", "服务费", "实收净额"):
        parsed = sums.get(name)
        if parsed is None:
            problems.append(f"{name} not verifiable: {rejected.height} 业务明细 line(s) were rejected")
        elif parsed != figures[name]:
            problems.append(f"{name}: the 汇总 says {figures[name]}, the 业务明细 lines give {parsed}")
    return problems
