"""WeChat Pay merchant trade bill (交易账单, bill_type=ALL) → canonical channel rows (FORMATS §1).

The file: UTF-8 (one BOM stripped), CRLF or LF; a 27-column header line without backticks; detail
lines whose every field carries exactly one leading backtick; then the summary header
``总交易单数,...`` and one backticked summary values line (7 columns), which gives the control totals.

Canonical rows (``schemas.canonical.ChannelTxn``), money in fen, positive = towards the merchant:

- payment line (交易状态 SUCCESS): ``amount_minor = +应结订单金额``, ``order_amount_minor = +订单金额``,
  ``discount_minor = +代金券金额``; REVOKED is a payment with status ``revoked``;
- refund line (交易状态 REFUND): ``channel_txn_id = 微信退款单号``, ``original_txn_id = 微信订单号``,
  ``amount_minor = −退款金额``, ``order_amount_minor = −申请退款金额``, ``discount_minor = −充值券退款金额``;
  status ``succeeded`` (退款状态 SUCCESS) or ``processing`` (PROCESSING);
- the fee: 手续费 is written positive when charged (5 decimals, yuan), so ``fee_exact = −手续费`` as
  Decimal(18,5) yuan and ``fee_minor`` is that rounded half-up to the fen: payments get a negative fee,
  refunds a positive one (the fee returned).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from decimal import Decimal
from zoneinfo import ZoneInfo

import polars as pl

from schemas.canonical import ChannelTxn
from schemas.wechatpay import (
    WECHATPAY_TRADE_COLUMNS,
    WECHATPAY_TRADE_SUMMARY_COLUMNS,
    WeChatPayTradeRaw,
)
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
from transforms.money import CURRENCY_EXPONENT, AmountError, parse_decimal_text, round_half_up
from transforms.parsed import ControlTotal, FileRejected, LineCounts, ParsedFile
from transforms.text import bad_characters, decode_text, split_lines

FORMAT = "wechatpay_trade"
ROLE = "channel"
CHANNEL = "wechatpay"

#: The 27 detail columns of the ALL bill, verbatim (FORMATS §1.2).
WECHATPAY_TRADE_HEADER: tuple[str, ...] = WECHATPAY_TRADE_COLUMNS

#: The bill's timestamps are Beijing time (FORMATS §1.2).
BILL_TIME_ZONE = ZoneInfo("Asia/Shanghai")

_BOM = "\ufeff"
_SUMMARY_PREFIX = WECHATPAY_TRADE_SUMMARY_COLUMNS[0]
_AMOUNT_COLUMNS = ("应结订单金额", "代金券金额", "退款金额", "充值券退款金额", "订单金额", "申请退款金额")
_FEE_COLUMN = "手续费"
#: Exact decimals of every money column (the refinement of BAD_AMOUNT and the unit tables).
_AMOUNT_SCALES: dict[str, int] = {**dict.fromkeys(_AMOUNT_COLUMNS, 2), _FEE_COLUMN: 5}
_WIDTH = len(WECHATPAY_TRADE_HEADER)

#: (summary column, detail column it sums, scale); 总交易单数 counts the detail lines.
_TOTALS: tuple[tuple[str, str | None, int], ...] = (
    ("总交易单数", None, 0),
    ("应结订单总金额", "应结订单金额", 2),
    ("退款总金额", "退款金额", 2),
    ("充值券退款总金额", "充值券退款金额", 2),
    ("手续费总金额", "手续费", 5),
    ("订单总金额", "订单金额", 2),
    ("申请退款总金额", "申请退款金额", 2),
)

#: Reason codes of the raw model's per-column checks (amount columns are refined per value).
_RAW_REASON_CODES: dict[str, str] = {
    "交易时间": "BAD_DATE",
    "微信订单号": "REQUIRED_EMPTY",
    "商户订单号": "REQUIRED_EMPTY",
    "交易状态": "UNKNOWN_ENUM",
    "退款状态": "UNKNOWN_ENUM",
    "货币种类": "BAD_CURRENCY",
    **{column: "BAD_AMOUNT" for column in (*_AMOUNT_COLUMNS, _FEE_COLUMN)},
}

_CANONICAL_SCHEMA: dict[str, pl.DataType] = frame_schema(ChannelTxn)
_HEADER_MISMATCH = (
    "not the WeChat Pay trade bill header: expected {expected!r} where the file has {found!r} "
    "(wrong encoding or another bill type?)"
)


def looks_like_wechatpay_trade(data: bytes) -> bool:
    """True when the first line is the WeChat Pay trade bill header (in any column order).

    Args:
        data: the file's bytes (after unpacking).
    """
    first = data[:8192].split(b"\n", 1)[0].removeprefix(b"\xef\xbb\xbf").rstrip(b"\r")
    try:
        header = first.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return sorted(header.split(",")) == sorted(WECHATPAY_TRADE_HEADER)


def parse_wechatpay_trade_bill(data: bytes, source_file: str, *, business_date: date) -> ParsedFile:
    """Parse a WeChat Pay trade bill (bill_type=ALL) into canonical channel rows.

    Never raises on bad input: a bad line becomes quarantine entries plus one ``rejected`` row, a
    bad file sets ``file_error`` (``rows`` and ``rejected`` still hold what could be read).

    Args:
        data: the file's bytes (after unpacking).
        source_file: the path relative to the date's inbox (``wechatpay/x.csv`` or ``x.zip!y.csv``).
        business_date: the bill date the file was delivered for; it becomes every row's
            ``settle_date`` (the file itself does not state it).

    Returns:
        A ``ParsedFile`` of format ``wechatpay_trade``, role ``channel``: one ``ChannelTxn`` row per
        valid detail line (money in fen, signed towards the merchant), the summary line as control
        totals in yuan (``总交易单数`` as a count), and physical line counts.
    """
    try:
        text = decode_text(data, "utf-8")
    except FileRejected as exc:
        return _rejected_file(source_file, _explain_decode_error(data, exc))
    lines = split_lines(text)
    if not lines or not lines[0].strip():
        return _rejected_file(
            source_file, FileRejected("EMPTY_FILE", "no header line", line=1), physical=len(lines)
        )
    try:
        positions = _read_header(lines[0])
    except FileRejected as exc:
        return _rejected_file(source_file, exc, physical=len(lines))
    return _Parser(source_file, business_date, lines, positions).run()


def _explain_decode_error(data: bytes, error: FileRejected) -> FileRejected:
    """A GBK file is not valid UTF-8: say so as HEADER_MISMATCH instead of a bare DECODE_ERROR."""
    if error.reason_code != "DECODE_ERROR":
        return error
    try:
        first = data.decode("gb18030").split("\n", 1)[0].rstrip("\r")
    except UnicodeDecodeError:
        return error
    if looks_like_header(first):
        return FileRejected(
            "HEADER_MISMATCH",
            "the header is GBK-encoded; a WeChat Pay trade bill is UTF-8 (" + error.message + ")",
            line=1,
        )
    return error


def looks_like_header(line: str) -> bool:
    """True when ``line`` holds the trade bill's detail columns (any order)."""
    return sorted(line.split(",")) == sorted(WECHATPAY_TRADE_HEADER)


def _read_header(line: str) -> dict[str, int]:
    return read_header(
        line.split(","), WECHATPAY_TRADE_HEADER, line_no=1, line=line, mismatch=_HEADER_MISMATCH
    )


def _rejected_file(source_file: str, error: FileRejected, *, physical: int = 0) -> ParsedFile:
    return rejected_file(
        source_file, error, file_format=FORMAT, role=ROLE, channel=CHANNEL, model=ChannelTxn,
        lines=LineCounts(physical=physical),
    )  # fmt: skip


def _strip_backtick(field: str) -> tuple[str, str | None]:
    """Remove the one documented leading backtick; return (value, problem or None)."""
    if not field.startswith("`"):
        return field, "missing its leading backtick"
    if field.startswith("``"):
        return field[1:], "has more than one leading backtick"
    return field[1:], None


class _Parser:
    """One pass over the decoded lines of one bill (state kept here, not in module globals).

    A detail line with exactly one backtick before each field, the right field count and no bad
    character is split in one go; any other line takes the field-by-field path that says what is wrong.
    """

    def __init__(
        self, source_file: str, business_date: date, lines: list[str], positions: dict[str, int]
    ) -> None:
        self.source_file = source_file
        self.business_date = business_date
        self.lines = lines
        self.positions = positions
        self.findings = Findings(source_file, _best_effort)
        # Lines that reached the raw model: their fields in file order, and their line numbers.
        self.good_fields: list[list[str]] = []
        self.good_lines: list[int] = []
        # Control sums of the lines that did not reach it (None: not verifiable).
        self.sums: dict[str, int | None] = {column: 0 for _, column, _ in _TOTALS if column}
        self.data_lines = 0
        self.blank = 0
        self.footer_lines = 0
        self.errors: list[FileRejected] = []

    def problem(self, line_no: int, column: str | None, value: str | None, code: str, reason: str) -> None:
        self.findings.problem(line_no, column, value, code, reason)

    def reject(self, line_no: int, values: Mapping[str, object]) -> None:
        """Record the best-effort ``rejected`` row of a quarantined line (once per line)."""
        self.findings.reject(line_no, values)

    # -- the pass -------------------------------------------------------------------------------

    def run(self) -> ParsedFile:
        summary_at = next(
            (i for i in range(1, len(self.lines)) if self.lines[i].startswith(_SUMMARY_PREFIX)), None
        )
        detail_end = summary_at if summary_at is not None else len(self.lines)
        for index in range(1, detail_end):
            self.read_detail(index + 1, self.lines[index])
        values = columns_by_name(self.good_fields, self.positions)
        units = {column: parse_units(values[column], scale) for column, scale in _AMOUNT_SCALES.items()}
        for column in self.sums:
            good_sum = sum_units(values[column], units[column])
            current = self.sums[column]
            self.sums[column] = None if current is None or good_sum is None else current + good_sum
        controls: tuple[ControlTotal, ...] = ()
        if summary_at is None:
            self.errors.append(self.missing_footer())
        else:
            controls = self.read_summary(summary_at)
        rows = self.canonical_rows(values, units)
        mismatch = control_total_error(
            controls, line=(summary_at or 0) + 2, template="{name}: summary says {footer}, rows give {parsed}"
        )
        if mismatch is not None:
            self.errors.append(mismatch)
        accounts = rows["merchant_account"].drop_nulls().unique().to_list()
        return ParsedFile(
            source_file=self.source_file,
            format=FORMAT,
            role=ROLE,
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
                footer=self.footer_lines,
                blank=self.blank,
            ),
            merchant_account=accounts[0] if len(accounts) == 1 else None,
        )

    def read_detail(self, line_no: int, line: str) -> None:
        if not line.strip():
            self.blank += 1
            return
        self.data_lines += 1
        if (
            line.startswith("`")
            and line.count(",") == _WIDTH - 1
            and line.count(",`") == _WIDTH - 1
            and "``" not in line
            and bad_characters(line) is None
        ):
            self.good_fields.append(line[1:].split(",`"))
            self.good_lines.append(line_no)
            return
        self.read_odd_line(line_no, line)

    def read_odd_line(self, line_no: int, line: str) -> None:
        """A detail line that is not plainly well formed: find and record each problem."""
        fields = line.split(",")
        width = _WIDTH
        if len(fields) != width:
            values = {
                name: _strip_backtick(fields[i])[0] for name, i in self.positions.items() if i < len(fields)
            }
            self.add_to_sums(values if len(fields) < width else {})
            self.problem(
                line_no, None, line[:200], "FIELD_COUNT", f"expected {width} fields, got {len(fields)}"
            )
            self.reject(line_no, values)
            return
        values = {}
        broken = False
        for name, i in self.positions.items():
            value, problem = _strip_backtick(fields[i])
            values[name] = value
            if problem:
                broken = True
                self.problem(line_no, name, fields[i], "FORMAT_VIOLATION", f"{name} {problem}")
            bad = bad_characters(value)
            if bad:
                broken = True
                self.problem(line_no, name, value, "BAD_CHAR", f"{name}: {bad}")
        if broken:
            self.add_to_sums(values)
            self.reject(line_no, values)
            return
        # Well formed after all (a backtick inside a value): its sums are taken with the good lines.
        self.good_fields.append([_strip_backtick(field)[0] for field in fields])
        self.good_lines.append(line_no)

    def add_to_sums(self, values: dict[str, str]) -> None:
        """Add a line's amounts to the control sums; an unreadable amount makes its sum unverifiable."""
        for _, column, scale in _TOTALS:
            if column is None:
                continue
            current = self.sums[column]
            try:
                units = parse_decimal_text(values[column], scale=scale, exact_scale=True)
            except (AmountError, KeyError):
                self.sums[column] = None
                continue
            if current is not None:
                self.sums[column] = current + units

    def missing_footer(self) -> FileRejected:
        truncated = truncated_last_line(self.lines, 1, _WIDTH, "summary")
        if truncated is not None:
            return truncated
        return FileRejected(
            "FOOTER_MISSING", f"no summary line starting with {_SUMMARY_PREFIX!r}", line=len(self.lines)
        )

    def read_summary(self, at: int) -> tuple[ControlTotal, ...]:
        header_no = at + 1
        self.footer_lines = 1
        if tuple(self.lines[at].split(",")) != WECHATPAY_TRADE_SUMMARY_COLUMNS:
            self.errors.append(
                FileRejected(
                    "FOOTER_INVALID", f"summary header is not {WECHATPAY_TRADE_SUMMARY_COLUMNS}", header_no
                )
            )
            return ()
        if at + 1 >= len(self.lines) or not self.lines[at + 1].strip():
            self.errors.append(
                FileRejected(
                    "TRUNCATED", f"the summary header on line {header_no} has no values line", header_no
                )
            )
            return ()
        self.footer_lines = 2
        values_no = at + 2
        for index in range(at + 2, len(self.lines)):
            if self.lines[index].strip():
                self.errors.append(
                    FileRejected(
                        "FOOTER_INVALID", f"unexpected text after the summary on line {index + 1}", index + 1
                    )
                )
                break
            self.blank += 1
        fields = self.lines[at + 1].split(",")
        if len(fields) != len(WECHATPAY_TRADE_SUMMARY_COLUMNS):
            self.errors.append(
                FileRejected(
                    "FOOTER_INVALID",
                    f"summary values line has {len(fields)} of {len(WECHATPAY_TRADE_SUMMARY_COLUMNS)} fields",
                    values_no,
                )
            )
            return ()
        controls = []
        for (name, column, scale), field in zip(_TOTALS, fields, strict=True):
            value, problem = _strip_backtick(field)
            try:
                if problem:
                    raise AmountError("FORMAT_VIOLATION", f"{field!r} {problem}")
                footer = Decimal(parse_decimal_text(value, scale=scale, exact_scale=True)).scaleb(-scale)
            except AmountError as exc:
                self.errors.append(FileRejected("FOOTER_INVALID", f"summary {name}: {exc}", values_no))
                return ()
            if column is None:
                parsed: Decimal | None = Decimal(self.data_lines)
            else:
                parsed = units_to_decimal(self.sums[column], scale)
            controls.append(ControlTotal(name=name, footer=footer, parsed=parsed))
        return tuple(controls)

    # -- canonical rows -------------------------------------------------------------------------

    def canonical_rows(
        self, values: Mapping[str, Sequence[str]], units: Mapping[str, Mapping[str, int]]
    ) -> pl.DataFrame:
        return canonical_rows(
            self.findings,
            raw_frame(WECHATPAY_TRADE_HEADER, values, self.good_lines, self.source_file),
            WeChatPayTradeRaw,
            ChannelTxn,
            lambda good: self.to_canonical(good, units),
            reason_codes=_RAW_REASON_CODES,
            amount_scales=_AMOUNT_SCALES,
        )

    def to_canonical(self, good: pl.DataFrame, units: Mapping[str, Mapping[str, int]]) -> pl.DataFrame:
        """Map the raw-valid lines to ``ChannelTxn`` rows; quarantine the lines that break the sign table."""
        column = good.get_column
        keep: list[bool] = []
        for line_no, state, refund_state, currency, refund_id, received, refunded in zip(
            column("source_line").to_list(),
            column("交易状态").to_list(),
            column("退款状态").to_list(),
            column("货币种类").to_list(),
            column("微信退款单号").to_list(),
            column("应结订单金额").to_list(),
            column("退款金额").to_list(),
            strict=True,
        ):
            ok = True
            if CURRENCY_EXPONENT.get(currency) != 2:
                ok = False
                self.problem(
                    line_no, "货币种类", currency, "BAD_CURRENCY",
                    f"货币种类 {currency!r} is not a known currency with 2 decimals (amounts are written in yuan)",
                )  # fmt: skip
            if state == "REFUND":
                if refund_state not in ("SUCCESS", "PROCESSING"):
                    ok = False
                    self.problem(
                        line_no, "退款状态", refund_state, "UNKNOWN_ENUM",
                        f"退款状态 {refund_state!r} on a refund line (SUCCESS or PROCESSING expected)",
                    )  # fmt: skip
                if refund_id in ("", "0"):
                    ok = False
                    self.problem(
                        line_no, "微信退款单号", refund_id, "REQUIRED_EMPTY", "a refund line needs its 微信退款单号"
                    )
                sign_column, sign_value = "退款金额", refunded
            else:
                sign_column, sign_value = "应结订单金额", received
            if sign_value.startswith("-"):
                ok = False
                self.problem(
                    line_no, sign_column, sign_value, "SIGN_VIOLATION",
                    f"{sign_column} is negative on a {state} line (the bill writes it positive)",
                )  # fmt: skip
            keep.append(ok)
        kept = good.filter(pl.Series(keep, dtype=pl.Boolean()))

        fees = {text: -units for text, units in units[_FEE_COLUMN].items()}
        times = {text: local_timestamp(text, BILL_TIME_ZONE) for text in set(kept.get_column("交易时间").to_list())}
        kept = kept.with_columns(
            *(mapped_column(kept, name, units[name], pl.Int64()) for name in _AMOUNT_COLUMNS),
            mapped_column(kept, _FEE_COLUMN, {t: round_half_up(u, 5, 2) for t, u in fees.items()}, pl.Int64()).alias("fee_minor"),
            mapped_column(kept, _FEE_COLUMN, {t: Decimal(u).scaleb(-5) for t, u in fees.items()}, _CANONICAL_SCHEMA["fee_exact"]
                   ).alias("fee_exact"),
            mapped_column(kept, "交易时间", times, _CANONICAL_SCHEMA["occurred_at"]).alias("occurred_at"),
        )  # fmt: skip
        refund = pl.col("交易状态") == "REFUND"
        amount = pl.when(refund).then(-pl.col("退款金额")).otherwise(pl.col("应结订单金额"))
        refund_state, state = pl.col("退款状态"), pl.col("交易状态")
        succeeded, none = pl.lit("succeeded"), pl.lit(None, pl.String())
        exprs = {
            "channel": pl.lit(CHANNEL),
            "merchant_account": pl.when(pl.col("商户号") != "").then(pl.col("商户号")).otherwise(none),
            "channel_txn_id": pl.when(refund).then(pl.col("微信退款单号")).otherwise(pl.col("微信订单号")),
            "order_no": pl.col("商户订单号"),
            "original_txn_id": pl.when(refund).then(pl.col("微信订单号")).otherwise(none),
            "kind": pl.when(refund).then(pl.lit("refund")).otherwise(pl.lit("payment")),
            "amount_minor": amount,
            "fee_minor": pl.col("fee_minor"),
            "fee_exact": pl.col("fee_exact"),
            "order_amount_minor": pl.when(refund).then(-pl.col("申请退款金额")).otherwise(pl.col("订单金额")),
            "discount_minor": pl.when(refund).then(-pl.col("充值券退款金额")).otherwise(pl.col("代金券金额")),
            "currency": pl.col("货币种类"),
            "settle_amount_minor": amount,
            "settle_currency": pl.col("货币种类"),
            "fx_rate": pl.lit(None, _CANONICAL_SCHEMA["fx_rate"]),
            "occurred_at": pl.col("occurred_at"),
            "settle_date": pl.lit(self.business_date, pl.Date()),
            "status": pl.when(refund)
            .then(pl.when(refund_state == "SUCCESS").then(succeeded).otherwise(pl.lit("processing")))
            .otherwise(pl.when(state == "SUCCESS").then(succeeded).otherwise(pl.lit("revoked"))),
            "status_detail": pl.when(refund)
            .then(pl.when(refund_state == "SUCCESS").then(none).otherwise("退款状态 " + refund_state))
            .otherwise(pl.when(state == "SUCCESS").then(none).otherwise("交易状态 " + state)),
            "source_file": pl.col("source_file"),
            "source_line": pl.col("source_line"),
        }
        frame = kept.select(**exprs)
        return frame.cast(_CANONICAL_SCHEMA)  # type: ignore[arg-type]


def _best_effort(source_file: str, line_no: int, values: Mapping[str, object]) -> dict[str, object]:
    """Whatever can be read of a quarantined line, for its ``rejected`` row (nulls elsewhere)."""
    text = {name: value for name, value in values.items() if isinstance(value, str)}
    state = text.get("交易状态")
    kind = {"SUCCESS": "payment", "REVOKED": "payment", "REFUND": "refund"}.get(state or "")
    column, sign = ("退款金额", -1) if kind == "refund" else ("应结订单金额", 1)
    try:
        amount: int | None = sign * parse_decimal_text(text.get(column, ""), scale=2, exact_scale=True)
    except AmountError:
        amount = None
    txn_id = text.get("微信退款单号") if kind == "refund" else text.get("微信订单号")
    return rejected_row(
        source_file,
        line_no,
        channel=CHANNEL,
        channel_txn_id=_non_empty([txn_id]),
        order_no=_non_empty([text.get("商户订单号")]),
        kind=kind,
        amount_minor=amount,
        currency=_non_empty([text.get("货币种类")]),
    )


def _non_empty(values: Iterable[str | None]) -> str | None:
    return next((value for value in values if value and value != "0"), None)
