"""WeChat Pay merchant trade bill (交易账单, bill_type=ALL) → canonical channel rows (FORMATS §1).

The file: UTF-8 (one BOM stripped), CRLF or LF; a 27-column header line without backticks; detail
lines whose every field carries exactly one leading backtick; then the summary header
``总交易单数,...`` and one backticked summary values line (7 columns), which gives the control totals.

Read with the columnar template (``template.py``): the detail block streams in chunks, each split
into fields by one Polars read; the structural rules (27 fields, one backtick each, no bad
character) and the raw model are checked over whole columns, and only lines that break them take
the per-line path that names the problem.

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

from datetime import date
from decimal import Decimal

import polars as pl

from schemas.canonical import ChannelTxn
from schemas.wechatpay import (
    WECHATPAY_TRADE_COLUMNS,
    WECHATPAY_TRADE_SUMMARY_COLUMNS,
    WeChatPayTradeRaw,
)
from transforms.adapters.template import (
    BOM,
    Chunk,
    ControlSums,
    DetailBlock,
    Output,
    Problems,
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
)
from transforms.money import CURRENCY_EXPONENT, AmountError, parse_decimal_text
from transforms.parsed import (
    ControlTotal,
    FileRejected,
    LineCounts,
    ParseContext,
    ParsedFile,
    Source,
    as_source,
)
from transforms.text import bad_characters

FORMAT = "wechatpay_trade"
ROLE = "channel"
CHANNEL = "wechatpay"

#: The 27 detail columns of the ALL bill, verbatim (FORMATS §1.2).
WECHATPAY_TRADE_HEADER: tuple[str, ...] = WECHATPAY_TRADE_COLUMNS

#: The bill's timestamps are Beijing time (FORMATS §1.2).
BILL_TIME_ZONE = "Asia/Shanghai"

_SUMMARY_PREFIX = WECHATPAY_TRADE_SUMMARY_COLUMNS[0]
_AMOUNT_COLUMNS = ("应结订单金额", "代金券金额", "退款金额", "充值券退款金额", "订单金额", "申请退款金额")
_FEE_COLUMN = "手续费"
#: Exact decimals of every money column (the refinement of BAD_AMOUNT and the control sums).
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
_SUMMED: dict[str, int] = {column: scale for _, column, scale in _TOTALS if column is not None}

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
_TWO_DECIMAL_CURRENCIES = sorted(code for code, exponent in CURRENCY_EXPONENT.items() if exponent == 2)


def looks_like_wechatpay_trade(data: bytes) -> bool:
    """True when the first line is the WeChat Pay trade bill header (in any column order).

    Args:
        data: the file's first bytes (after unpacking).
    """
    first = data[:8192].split(b"\n", 1)[0].removeprefix(BOM).rstrip(b"\r")
    try:
        header = first.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return looks_like_header(header)


def looks_like_header(line: str) -> bool:
    """True when ``line`` holds the trade bill's detail columns (any order)."""
    return sorted(line.split(",")) == sorted(WECHATPAY_TRADE_HEADER)


def parse_wechatpay_trade_bill(data: bytes | Source, source_file: str, context: ParseContext) -> ParsedFile:
    """Parse a WeChat Pay trade bill (bill_type=ALL) into canonical channel rows.

    Never raises on bad input: a bad line becomes quarantine entries plus one ``rejected`` row, a
    bad file sets ``file_error`` (the rows sent so far still hold what could be read).

    Args:
        data: the file's bytes, or a Source over them (after unpacking).
        source_file: the path relative to the date's inbox (``wechatpay/x.csv`` or ``x.zip!y.csv``).
        context: the bill date the file was delivered for (it becomes every row's ``settle_date``:
            the file itself does not state it), the sink for rows, the limits.

    Returns:
        A ``ParsedFile`` of format ``wechatpay_trade``, role ``channel``: one ``ChannelTxn`` row per
        valid detail line (money in fen, signed towards the merchant), the summary line as control
        totals in yuan (``总交易单数`` as a count), and physical line counts.
    """
    source = as_source(data)
    if source.size == 0:
        return _rejected_file(source_file, FileRejected("EMPTY_FILE", "the file is empty (0 bytes)"))
    (header_bytes, *_), offset = head_lines(source, 1)
    header_bytes = header_bytes.removeprefix(BOM)
    try:
        header = header_bytes.decode("utf-8")
    except UnicodeDecodeError as exc:
        return _rejected_file(source_file, _explain_decode_error(header_bytes, exc))
    if not header.strip():
        return _rejected_file(source_file, FileRejected("EMPTY_FILE", "no header line", line=1))
    try:
        positions = read_header(
            header.split(","), WECHATPAY_TRADE_HEADER, line_no=1, line=header, mismatch=_HEADER_MISMATCH
        )
    except FileRejected as exc:
        return _rejected_file(source_file, exc)
    return _Parser(source, source_file, context, positions).run(offset)


def _explain_decode_error(header: bytes, error: UnicodeDecodeError) -> FileRejected:
    """A GBK file is not valid UTF-8: say so as HEADER_MISMATCH instead of a bare DECODE_ERROR."""
    message = f"not valid utf-8 at byte {error.start} (line 1): {error.reason}"
    try:
        first = header.decode("gb18030")
    except UnicodeDecodeError:
        return FileRejected("DECODE_ERROR", message, line=1)
    if looks_like_header(first):
        return FileRejected(
            "HEADER_MISMATCH", f"the header is GBK-encoded; a WeChat Pay trade bill is UTF-8 ({message})", line=1
        )
    return FileRejected("DECODE_ERROR", message, line=1)


def _rejected_file(source_file: str, error: FileRejected) -> ParsedFile:
    return rejected_file(source_file, error, file_format=FORMAT, role=ROLE, channel=CHANNEL, model=ChannelTxn)


def _strip_backtick(field: str) -> tuple[str, str | None]:
    """Remove the one documented leading backtick; return (value, problem or None)."""
    if not field.startswith("`"):
        return field, "missing its leading backtick"
    if field.startswith("``"):
        return field[1:], "has more than one leading backtick"
    return field[1:], None


def _strip_backtick_expr(field: pl.Expr) -> pl.Expr:
    """Column form of ``_strip_backtick``'s value: one leading backtick removed when there is one."""
    return pl.when(field.str.starts_with("`")).then(field.str.slice(1)).otherwise(field)


class _Parser:
    """One pass over one bill: chunk after chunk of detail lines, then the summary."""

    def __init__(self, source: Source, source_file: str, context: ParseContext, positions: dict[str, int]) -> None:
        self.source = source
        self.source_file = source_file
        self.context = context
        self.positions = positions
        self.columns = {name: f"f{index}" for name, index in positions.items()}
        self.problems = Problems(source_file, context.limits.max_problem_lines)
        self.output = Output(context, ChannelTxn, source_file)
        self.sums = ControlSums(_SUMMED)
        self.accounts: set[str] = set()
        self.dates: dict[date, int] = {}  # the bill's transaction dates (Beijing time): rows per date
        self.data_lines = self.blank = self.detail_physical = 0
        self.last_data_line: tuple[int, int] | None = None  # (line, fields) of the last non-blank line
        self.errors: list[FileRejected] = []

    # -- the pass -------------------------------------------------------------------------------

    def run(self, offset: int) -> ParsedFile:
        block = DetailBlock(
            self.source, offset, 2, chunk_bytes=self.context.limits.chunk_bytes,
            footer_prefix=_SUMMARY_PREFIX.encode(),
        )  # fmt: skip
        try:
            for chunk in block.chunks():
                self.read_chunk(chunk)
            footer, footer_physical = (
                tail_lines(self.source, block.footer_offset, encoding="utf-8")
                if block.footer_offset is not None
                else ([], 0)
            )
        except FileRejected as exc:  # undecodable text: nothing of the file is usable
            self.output.discard()
            return _rejected_file(self.source_file, exc)
        controls: tuple[ControlTotal, ...] = ()
        footer_lines = 0
        if block.footer_line is None:
            self.errors.append(self.missing_footer())
        else:
            controls, footer_lines = self.read_summary(footer, block.footer_line)
        mismatch = control_total_error(
            controls, line=(block.footer_line or 0) + 1, template="{name}: summary says {footer}, rows give {parsed}"
        )
        if mismatch is not None:
            self.errors.append(mismatch)
        wrong_date = self.wrong_date()
        if wrong_date is not None:
            self.errors.insert(0, wrong_date)
        if self.problems.overflowed:
            self.errors.insert(0, FileRejected(
                "TOO_MANY_BAD_ROWS",
                f"more than {self.problems.max_lines} bad lines: a format change, not bad rows",
            ))  # fmt: skip
        physical = 1 + self.detail_physical + footer_physical
        return self.output.parsed_file(
            file_format=FORMAT, role=ROLE, channel=CHANNEL,
            quarantine=self.problems.frame(),
            controls=controls,
            file_error=self.errors[0] if self.errors else None,
            lines=LineCounts(
                physical=physical, data=self.data_lines, header=1, footer=footer_lines,
                blank=self.blank + (footer_physical - footer_lines),
            ),
            merchant_account=next(iter(self.accounts)) if len(self.accounts) == 1 else None,
            statement_date=self.statement_date(),
        )  # fmt: skip

    def statement_date(self) -> date | None:
        """The bill's date: the run's date when its transactions are on it, else their first date.

        The bill does not state its date; its 交易时间 (payment or refund initiation, Beijing time) do.
        """
        if not self.dates:
            return None
        return self.context.business_date if self.context.business_date in self.dates else min(self.dates)

    def wrong_date(self) -> FileRejected | None:
        """WRONG_DATE when none of the bill's transactions is on the run's date (another day's bill)."""
        if not self.dates or self.context.business_date in self.dates:
            return None
        first, last = min(self.dates), max(self.dates)
        dated = f"{first}" if first == last else f"{first} to {last}"
        return FileRejected(
            "WRONG_DATE", f"the bill's transactions are dated {dated}; the run is for {self.context.business_date}", 2
        )

    def read_chunk(self, chunk: Chunk) -> None:
        """One chunk of detail lines: split, check over whole columns, convert, send on."""
        self.detail_physical += chunk.line_count
        frame = read_fields(chunk, _WIDTH)
        blank = frame.filter(pl.col("blank"))
        self.blank += blank.height
        lines = frame.filter(~pl.col("blank")) if blank.height else frame
        if lines.height == 0:
            return
        self.data_lines += lines.height
        last = lines.row(-1, named=True)
        self.last_data_line = (last["source_line"], last["fields"])
        if self.problems.overflowed:  # the file is rejected: account for its lines, read no further
            self.problems.undescribed += lines.height
            self.output.rejected(self.best_effort(lines))
            return

        names = field_names(_WIDTH)
        limits = self.context.limits
        well_formed = (pl.col("fields") == _WIDTH) & pl.all_horizontal(
            pl.col(n).str.starts_with("`") & ~pl.col(n).str.starts_with("``") for n in names
        )
        if may_hold_bad_characters(chunk):
            well_formed = well_formed & ~pl.any_horizontal(bad_character_expr(n) for n in names)
        sizes = [pl.col(n).str.len_bytes().fill_null(0) for n in names]
        within_limits = (pl.sum_horizontal(sizes) + _WIDTH - 1 <= limits.max_line_bytes) & pl.all_horizontal(
            size <= limits.max_field_bytes + 1 for size in sizes  # + the backtick
        )
        lines = lines.with_columns(well_formed=well_formed & within_limits)
        odd = lines.filter(~pl.col("well_formed"))
        if odd.height:
            broken = self.read_odd_lines(odd)
            lines = lines.with_columns(well_formed=pl.col("well_formed") | ~pl.col("source_line").is_in(broken))
        good = lines.filter(pl.col("well_formed")) if odd.height else lines

        raw = good.select(*(pl.col(self.columns[name]).str.slice(1).alias(name) for name in WECHATPAY_TRADE_HEADER),
                          "source_line")  # fmt: skip
        valid = check_raw(self.problems, raw, WeChatPayTradeRaw, reason_codes=_RAW_REASON_CODES,
                          amount_scales=_AMOUNT_SCALES)  # fmt: skip
        if valid.height < raw.height:
            self.add_text_sums(raw.join(valid, on="source_line", how="anti"))
        valid = valid.with_columns(exact_units(column).alias(_units_of(column)) for column in _AMOUNT_SCALES)
        self.sums.add_units(valid, {column: pl.col(_units_of(column)) for column in _SUMMED})
        rows = check_canonical(self.problems, self.to_canonical(valid), ChannelTxn)
        self.accounts.update(rows["merchant_account"].drop_nulls().unique().to_list())
        local = rows.group_by(pl.col("occurred_at").dt.convert_time_zone(BILL_TIME_ZONE).dt.date().alias("d")).len()
        for day, count in local.iter_rows():
            self.dates[day] = self.dates.get(day, 0) + count
        self.output.rows(rows)
        if rows.height < lines.height:
            self.output.rejected(self.best_effort(lines.join(rows.select("source_line"), on="source_line", how="anti")))

    # -- the few odd lines ----------------------------------------------------------------------

    def read_odd_lines(self, odd: pl.DataFrame) -> list[int]:
        """Lines that are not plainly well formed: record each problem, line by line (few lines).

        Returns:
            The lines found broken; any other was well formed after all (a backtick inside a value).
        """
        texts = odd.select("source_line", "fields", text=line_text(odd, _WIDTH))
        limit = self.context.limits
        broken: list[int] = []
        before = len(self.problems.entries)
        for line_no, count, text in texts.iter_rows():
            if self.problems.overflowed:  # past the limit: counted, no longer described
                self.problems.undescribed += 1
                broken.append(line_no)
                continue
            size = len(text.encode("utf-8"))
            if size > limit.max_line_bytes:
                self.problems.add(line_no, None, text[:200], "LIMIT_EXCEEDED",
                                  f"line of {size} bytes, over the {limit.max_line_bytes} byte limit")  # fmt: skip
            elif count != _WIDTH:
                self.problems.add(line_no, None, text[:200], "FIELD_COUNT", f"expected {_WIDTH} fields, got {count}")
            else:
                fields = text.split(",")
                for name, index in self.positions.items():
                    value, problem = _strip_backtick(fields[index])
                    if problem:
                        self.problems.add(line_no, name, fields[index], "FORMAT_VIOLATION", f"{name} {problem}")
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
        # Their amounts still count towards the controls where they can be read; a line with more
        # fields than the header has shifted values, so its amounts cannot be read at all.
        stripped = odd.filter(pl.col("source_line").is_in(broken)).select(
            *(pl.when(pl.col("fields") <= _WIDTH).then(_strip_backtick_expr(pl.col(self.columns[c]))).alias(c)
              for c in _SUMMED),
        )  # fmt: skip
        self.add_text_sums(stripped)
        return broken

    def add_text_sums(self, frame: pl.DataFrame) -> None:
        self.sums.add_texts(frame, {column: pl.col(column) for column in _SUMMED})

    def missing_footer(self) -> FileRejected:
        if self.last_data_line is not None and self.last_data_line[1] < _WIDTH:
            line, count = self.last_data_line
            return FileRejected(
                "TRUNCATED",
                f"no summary; the last line {line} has {count} of {_WIDTH} fields (file cut short?)",
                line,
            )
        return FileRejected(
            "FOOTER_MISSING", f"no summary line starting with {_SUMMARY_PREFIX!r}", line=1 + self.detail_physical
        )

    def read_summary(self, footer: list[str], header_no: int) -> tuple[tuple[ControlTotal, ...], int]:
        """The summary header and values lines: control totals, and how many footer lines there are."""
        if tuple(footer[0].split(",")) != WECHATPAY_TRADE_SUMMARY_COLUMNS:
            self.errors.append(
                FileRejected("FOOTER_INVALID", f"summary header is not {WECHATPAY_TRADE_SUMMARY_COLUMNS}", header_no)
            )
            return (), 1
        if len(footer) < 2 or not footer[1].strip():
            self.errors.append(
                FileRejected("TRUNCATED", f"the summary header on line {header_no} has no values line", header_no)
            )
            return (), 1
        values_no = header_no + 1
        for index in range(2, len(footer)):
            if footer[index].strip():
                line_no = header_no + index
                self.errors.append(
                    FileRejected("FOOTER_INVALID", f"unexpected text after the summary on line {line_no}", line_no)
                )
                break
        fields = footer[1].split(",")
        if len(fields) != len(WECHATPAY_TRADE_SUMMARY_COLUMNS):
            self.errors.append(
                FileRejected(
                    "FOOTER_INVALID",
                    f"summary values line has {len(fields)} of {len(WECHATPAY_TRADE_SUMMARY_COLUMNS)} fields",
                    values_no,
                )
            )
            return (), 2
        controls = []
        for (name, column, scale), field in zip(_TOTALS, fields, strict=True):
            value, problem = _strip_backtick(field)
            try:
                if problem:
                    raise AmountError("FORMAT_VIOLATION", f"{field!r} {problem}")
                footer_figure = Decimal(parse_decimal_text(value, scale=scale, exact_scale=True)).scaleb(-scale)
            except AmountError as exc:
                self.errors.append(FileRejected("FOOTER_INVALID", f"summary {name}: {exc}", values_no))
                return (), 2
            parsed = Decimal(self.data_lines) if column is None else self.sums.decimal(column)
            controls.append(ControlTotal(name=name, footer=footer_figure, parsed=parsed))
        return tuple(controls), 2

    # -- canonical rows -------------------------------------------------------------------------

    def to_canonical(self, good: pl.DataFrame) -> pl.DataFrame:
        """Map raw-valid lines to ``ChannelTxn`` rows; quarantine the lines that break the sign table."""
        refund = pl.col("交易状态") == "REFUND"
        sign_text = pl.when(refund).then(pl.col("退款金额")).otherwise(pl.col("应结订单金额"))
        checks = good.with_columns(
            bad_currency=~pl.col("货币种类").is_in(_TWO_DECIMAL_CURRENCIES),
            bad_refund_state=refund & ~pl.col("退款状态").is_in(["SUCCESS", "PROCESSING"]),
            no_refund_id=refund & pl.col("微信退款单号").is_in(["", "0"]),
            negative=sign_text.str.starts_with("-"),
        )
        broken = pl.any_horizontal("bad_currency", "bad_refund_state", "no_refund_id", "negative")
        for row in checks.filter(broken).iter_rows(named=True):
            self.sign_table_problems(row)
        kept = checks.filter(~broken) if checks.height else checks

        fee = -_units(_FEE_COLUMN)
        amount = pl.when(refund).then(-_units("退款金额")).otherwise(_units("应结订单金额"))
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
            # 5 decimals to the fen, half away from zero, on the magnitude (integer arithmetic)
            "fee_minor": fee.sign() * ((fee.abs() * 2 + 1000) // 2000),
            "fee_exact": -pl.col(_FEE_COLUMN).cast(_CANONICAL_SCHEMA["fee_exact"]),
            "order_amount_minor": pl.when(refund).then(-_units("申请退款金额")).otherwise(_units("订单金额")),
            "discount_minor": pl.when(refund).then(-_units("充值券退款金额")).otherwise(_units("代金券金额")),
            "currency": pl.col("货币种类"),
            "settle_amount_minor": amount,
            "settle_currency": pl.col("货币种类"),
            "fx_rate": pl.lit(None, _CANONICAL_SCHEMA["fx_rate"]),
            "occurred_at": local_time_expr(pl.col("交易时间"), BILL_TIME_ZONE),
            "settle_date": pl.lit(self.context.business_date, pl.Date()),
            "status": pl.when(refund)
            .then(pl.when(refund_state == "SUCCESS").then(succeeded).otherwise(pl.lit("processing")))
            .otherwise(pl.when(state == "SUCCESS").then(succeeded).otherwise(pl.lit("revoked"))),
            "status_detail": pl.when(refund)
            .then(pl.when(refund_state == "SUCCESS").then(none).otherwise("退款状态 " + refund_state))
            .otherwise(pl.when(state == "SUCCESS").then(none).otherwise("交易状态 " + state)),
            "buyer_id": pl.when(pl.col("用户标识") != "").then(pl.col("用户标识")).otherwise(none),
            "source_file": pl.lit(self.source_file),
            "source_line": pl.col("source_line"),
        }
        return kept.select(**exprs).cast(_CANONICAL_SCHEMA)  # type: ignore[arg-type]

    def sign_table_problems(self, row: dict[str, object]) -> None:
        """The problems of one raw-valid line that breaks the rules across fields."""
        line_no = row["source_line"]
        assert isinstance(line_no, int)
        currency, refund_state, refund_id = row["货币种类"], row["退款状态"], row["微信退款单号"]
        if row["bad_currency"]:
            self.problems.add(
                line_no, "货币种类", str(currency), "BAD_CURRENCY",
                f"货币种类 {currency!r} is not a known currency with 2 decimals (amounts are written in yuan)",
            )  # fmt: skip
        if row["bad_refund_state"]:
            self.problems.add(
                line_no, "退款状态", str(refund_state), "UNKNOWN_ENUM",
                f"退款状态 {refund_state!r} on a refund line (SUCCESS or PROCESSING expected)",
            )  # fmt: skip
        if row["no_refund_id"]:
            self.problems.add(line_no, "微信退款单号", str(refund_id), "REQUIRED_EMPTY", "a refund line needs its 微信退款单号")
        if row["negative"]:
            state = row["交易状态"]
            column = "退款金额" if state == "REFUND" else "应结订单金额"
            self.problems.add(
                line_no, column, str(row[column]), "SIGN_VIOLATION",
                f"{column} is negative on a {state} line (the bill writes it positive)",
            )  # fmt: skip

    def best_effort(self, bad: pl.DataFrame) -> pl.DataFrame:
        """Whatever can be read of quarantined lines, for their ``rejected`` rows (nulls elsewhere)."""

        def text(name: str) -> pl.Expr:
            return _strip_backtick_expr(pl.col(self.columns[name]))

        def present(expr: pl.Expr) -> pl.Expr:
            return pl.when((expr != "") & (expr != "0")).then(expr)

        kind = text("交易状态").replace_strict(
            {"SUCCESS": "payment", "REVOKED": "payment", "REFUND": "refund"}, default=None, return_dtype=pl.String
        )
        refund = kind == "refund"
        amount_text = pl.when(refund).then(text("退款金额")).otherwise(text("应结订单金额"))
        units = pl.when(amount_text.str.contains(r"^-?(0|[1-9][0-9]{0,14})\.[0-9]{2}$")).then(
            amount_text.str.replace(".", "", literal=True).cast(pl.Int64, strict=False)
        )
        return bad.select(
            source_file=pl.lit(self.source_file),
            source_line="source_line",
            channel=pl.lit(CHANNEL),
            channel_txn_id=present(pl.when(refund).then(text("微信退款单号")).otherwise(text("微信订单号"))),
            order_no=present(text("商户订单号")),
            kind=kind,
            amount_minor=pl.when(refund).then(-units).otherwise(units),
            currency=present(text("货币种类")),
        )


def _units_of(column: str) -> str:
    """The name of the integer-units column computed next to a raw-valid amount column."""
    return f"{column}__units"


def _units(column: str) -> pl.Expr:
    return pl.col(_units_of(column))
