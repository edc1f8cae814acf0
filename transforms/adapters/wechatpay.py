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

from collections.abc import Iterable
from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import polars as pl

from schemas.canonical import ChannelTxn, empty_frame
from schemas.wechatpay import (
    TIMESTAMP_FORMAT,
    WECHATPAY_TRADE_COLUMNS,
    WECHATPAY_TRADE_SUMMARY_COLUMNS,
    WeChatPayTradeRaw,
)
from transforms.money import CURRENCY_EXPONENT, AmountError, parse_decimal_text, round_half_up
from transforms.parsed import (
    REJECTED_SCHEMA,
    ControlTotal,
    FileRejected,
    LineCounts,
    ParsedFile,
    empty_quarantine,
    quarantine_frame,
)
from transforms.text import bad_characters, decode_text, split_lines
from transforms.validate import split_valid

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

_CANONICAL_SCHEMA: dict[str, pl.DataType] = {
    name: column.dtype.type for name, column in ChannelTxn.to_schema().columns.items()
}


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
    names = line.split(",")
    if tuple(names) == WECHATPAY_TRADE_HEADER:
        return {name: index for index, name in enumerate(names)}
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise FileRejected("DUP_COLUMN", f"header repeats column(s) {', '.join(duplicates)}", line=1)
    missing = [name for name in WECHATPAY_TRADE_HEADER if name not in names]
    extra = [name for name in names if name not in WECHATPAY_TRADE_HEADER]
    if missing and extra or len(missing) == len(WECHATPAY_TRADE_HEADER):
        raise FileRejected(
            "HEADER_MISMATCH",
            f"not the WeChat Pay trade bill header: expected {missing[0]!r} where the file has "
            f"{extra[0] if extra else line[:40]!r} (wrong encoding or another bill type?)",
            line=1,
        )
    if missing:
        raise FileRejected("MISSING_COLUMN", f"header lacks column(s) {', '.join(missing)}", line=1)
    if extra:
        raise FileRejected("UNEXPECTED_COLUMN", f"header has unknown column(s) {', '.join(extra)}", line=1)
    # Same columns in another order: read by name (BAD_INPUTS F28).
    return {name: index for index, name in enumerate(names)}


def _rejected_file(source_file: str, error: FileRejected, *, physical: int = 0) -> ParsedFile:
    return ParsedFile(
        source_file=source_file,
        format=FORMAT,
        role=ROLE,
        channel=CHANNEL,
        rows=empty_frame(ChannelTxn),
        rejected=pl.DataFrame(schema=REJECTED_SCHEMA),
        quarantine=empty_quarantine(),
        file_error=error,
        lines=LineCounts(physical=physical),
    )


def _strip_backtick(field: str) -> tuple[str, str | None]:
    """Remove the one documented leading backtick; return (value, problem or None)."""
    if not field.startswith("`"):
        return field, "missing its leading backtick"
    if field.startswith("``"):
        return field[1:], "has more than one leading backtick"
    return field[1:], None


class _Parser:
    """One pass over the decoded lines of one bill (state kept here, not in module globals)."""

    def __init__(
        self, source_file: str, business_date: date, lines: list[str], positions: dict[str, int]
    ) -> None:
        self.source_file = source_file
        self.business_date = business_date
        self.lines = lines
        self.positions = positions
        self.quarantine: list[dict[str, object]] = []
        self.rejected: dict[int, dict[str, object]] = {}
        self.raw_rows: list[dict[str, object]] = []
        self.sums: dict[str, int | None] = {column: 0 for _, column, _ in _TOTALS if column}
        self.data_lines = 0
        self.blank = 0
        self.footer_lines = 0
        self.errors: list[FileRejected] = []

    # -- problems -------------------------------------------------------------------------------

    def problem(self, line_no: int, column: str | None, value: str | None, code: str, reason: str) -> None:
        self.quarantine.append(
            {
                "source_file": self.source_file,
                "source_line": line_no,
                "column": column,
                "value": value,
                "reason_code": code,
                "reason": reason,
            }
        )

    def reject(self, line_no: int, values: dict[str, str]) -> None:
        """Record the best-effort ``rejected`` row of a quarantined line (once per line)."""
        if line_no not in self.rejected:
            self.rejected[line_no] = _best_effort(self.source_file, line_no, values)

    # -- the pass -------------------------------------------------------------------------------

    def run(self) -> ParsedFile:
        summary_at = next(
            (i for i in range(1, len(self.lines)) if self.lines[i].startswith(_SUMMARY_PREFIX)), None
        )
        detail_end = summary_at if summary_at is not None else len(self.lines)
        for index in range(1, detail_end):
            self.read_detail(index + 1, self.lines[index])
        controls: tuple[ControlTotal, ...] = ()
        if summary_at is None:
            self.errors.append(self.missing_footer())
        else:
            controls = self.read_summary(summary_at)
        rows = self.canonical_rows()
        mismatches = [c for c in controls if not c.ok]
        if mismatches:
            self.errors.append(
                FileRejected(
                    "CONTROL_TOTAL_MISMATCH",
                    "; ".join(f"{c.name}: summary says {c.footer}, rows give {c.parsed}" for c in mismatches),
                    line=(summary_at or 0) + 2,
                )
            )
        quarantine = quarantine_frame(self.quarantine).sort("source_line", maintain_order=True)
        rejected = pl.DataFrame([self.rejected[key] for key in sorted(self.rejected)], schema=REJECTED_SCHEMA)
        accounts = rows["merchant_account"].drop_nulls().unique().to_list()
        return ParsedFile(
            source_file=self.source_file,
            format=FORMAT,
            role=ROLE,
            channel=CHANNEL,
            rows=rows,
            rejected=rejected,
            quarantine=quarantine,
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
        fields = line.split(",")
        width = len(WECHATPAY_TRADE_HEADER)
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
        values: dict[str, str] = {}
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
        self.add_to_sums(values)
        if broken:
            self.reject(line_no, values)
            return
        self.raw_rows.append({**values, "source_file": self.source_file, "source_line": line_no})

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
        last = next((i for i in range(len(self.lines) - 1, 0, -1) if self.lines[i].strip()), None)
        if last is not None:
            count = len(self.lines[last].split(","))
            if count < len(WECHATPAY_TRADE_HEADER):
                return FileRejected(
                    "TRUNCATED",
                    f"no summary; the last line {last + 1} has {count} of "
                    f"{len(WECHATPAY_TRADE_HEADER)} fields (file cut short?)",
                    line=last + 1,
                )
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
                units = self.sums[column]
                parsed = None if units is None else Decimal(units).scaleb(-scale)
            controls.append(ControlTotal(name=name, footer=footer, parsed=parsed))
        return tuple(controls)

    # -- canonical rows -------------------------------------------------------------------------

    def canonical_rows(self) -> pl.DataFrame:
        raw = pl.DataFrame(
            self.raw_rows,
            schema={**dict.fromkeys(WECHATPAY_TRADE_HEADER, pl.String()), "source_file": pl.String(),
                    "source_line": pl.Int64()},
        )  # fmt: skip
        good, problems = split_valid(raw, WeChatPayTradeRaw, reason_codes=_RAW_REASON_CODES)
        for entry in problems.iter_rows(named=True):
            self.quarantine.append(_refine_amount_reason(entry))
        by_line = {row["source_line"]: row for row in raw.iter_rows(named=True)}
        for line_no in problems["source_line"].unique().to_list():
            self.reject(line_no, by_line[line_no])
        records = []
        for row in good.iter_rows(named=True):
            record = self.to_canonical(row)
            if record is None:
                self.reject(row["source_line"], row)
            else:
                records.append(record)
        frame = pl.DataFrame(records, schema=_CANONICAL_SCHEMA)
        valid, schema_problems = split_valid(frame, ChannelTxn)
        self.quarantine.extend(schema_problems.iter_rows(named=True))
        for line_no in schema_problems["source_line"].unique().to_list():
            self.reject(line_no, by_line[line_no])
        return valid

    def to_canonical(self, row: dict[str, str]) -> dict[str, object] | None:
        """Map one raw-valid line to a ``ChannelTxn`` record, or quarantine it and return None."""
        line_no = int(row["source_line"])
        state, refund_state = row["交易状态"], row["退款状态"]
        currency = row["货币种类"]
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
            if row["微信退款单号"] in ("", "0"):
                ok = False
                self.problem(
                    line_no,
                    "微信退款单号",
                    row["微信退款单号"],
                    "REQUIRED_EMPTY",
                    "a refund line needs its 微信退款单号",
                )
            sign_column = "退款金额"
        else:
            sign_column = "应结订单金额"
        if row[sign_column].startswith("-"):
            ok = False
            self.problem(
                line_no, sign_column, row[sign_column], "SIGN_VIOLATION",
                f"{sign_column} is negative on a {state} line (the bill writes it positive)",
            )  # fmt: skip
        if not ok:
            return None

        def fen(column: str) -> int:
            return parse_decimal_text(row[column], scale=2, exact_scale=True)

        fee_units = -parse_decimal_text(row[_FEE_COLUMN], scale=5, exact_scale=True)
        occurred = datetime.strptime(row["交易时间"], TIMESTAMP_FORMAT).replace(tzinfo=BILL_TIME_ZONE)
        if state == "REFUND":
            kind, txn_id, original = "refund", row["微信退款单号"], row["微信订单号"]
            amount, order_amount, discount = -fen("退款金额"), -fen("申请退款金额"), -fen("充值券退款金额")
            status = "succeeded" if refund_state == "SUCCESS" else "processing"
            detail = None if refund_state == "SUCCESS" else f"退款状态 {refund_state}"
        else:
            kind, txn_id, original = "payment", row["微信订单号"], None
            amount, order_amount, discount = fen("应结订单金额"), fen("订单金额"), fen("代金券金额")
            status = "succeeded" if state == "SUCCESS" else "revoked"
            detail = None if state == "SUCCESS" else f"交易状态 {state}"
        return {
            "channel": CHANNEL,
            "merchant_account": row["商户号"] or None,
            "channel_txn_id": txn_id,
            "order_no": row["商户订单号"],
            "original_txn_id": original,
            "kind": kind,
            "amount_minor": amount,
            "fee_minor": round_half_up(fee_units, 5, 2),
            "fee_exact": Decimal(fee_units).scaleb(-5),
            "order_amount_minor": order_amount,
            "discount_minor": discount,
            "currency": currency,
            "settle_amount_minor": amount,
            "settle_currency": currency,
            "fx_rate": None,
            "occurred_at": occurred.astimezone(UTC),
            "settle_date": self.business_date,
            "status": status,
            "status_detail": detail,
            "source_file": self.source_file,
            "source_line": line_no,
        }


def _refine_amount_reason(entry: dict[str, object]) -> dict[str, object]:
    """Give a failed amount field the money parser's own code (BAD_AMOUNT / SCALE_EXCEEDED) and words."""
    column, value = entry["column"], entry["value"]
    if column not in (*_AMOUNT_COLUMNS, _FEE_COLUMN) or not isinstance(value, str):
        return entry
    scale = 5 if column == _FEE_COLUMN else 2
    try:
        parse_decimal_text(value, scale=scale, exact_scale=True)
    except AmountError as exc:
        return {**entry, "reason_code": exc.reason_code, "reason": f"{column}: {exc}"}
    return entry


def _best_effort(source_file: str, line_no: int, values: dict[str, str]) -> dict[str, object]:
    """Whatever can be read of a quarantined line, for its ``rejected`` row (nulls elsewhere)."""
    state = values.get("交易状态")
    kind = {"SUCCESS": "payment", "REVOKED": "payment", "REFUND": "refund"}.get(state or "")
    column, sign = ("退款金额", -1) if kind == "refund" else ("应结订单金额", 1)
    try:
        amount: int | None = sign * parse_decimal_text(values.get(column, ""), scale=2, exact_scale=True)
    except AmountError:
        amount = None
    txn_id = values.get("微信退款单号") if kind == "refund" else values.get("微信订单号")
    return {
        "source_file": source_file,
        "source_line": line_no,
        "channel": CHANNEL,
        "channel_txn_id": _non_empty([txn_id]),
        "order_no": _non_empty([values.get("商户订单号")]),
        "kind": kind,
        "amount_minor": amount,
        "currency": _non_empty([values.get("货币种类")]),
    }


def _non_empty(values: Iterable[str | None]) -> str | None:
    return next((value for value in values if value and value != "0"), None)
