"""WeChat Pay merchant fund flow bill (资金账单) → canonical balance moves (FORMATS §2).

The file: UTF-8 (one BOM stripped), CRLF or LF; an 11-column header line without backticks whose
money columns are spelled ``(元)`` (API v3 pages) or ``（元）`` (older pages: the same column); detail
lines whose every field carries exactly one leading backtick; then the summary header
``资金流水总笔数,收入笔数,收入金额,支出笔数,支出金额`` and one backticked values line, whose counts may be
written ``20.0`` (the official sample) and are read as decimals.

Read with the columnar template (``template.py``) like the trade bill (``wechatpay.py``): the detail
block streams in chunks, each split into fields by one Polars read; the structural rules, the raw
model (``schemas.wechatpay.WeChatPayFundFlowRaw``) and the canonical model are checked over whole
columns, and only the lines that break them take the per-line path that names the problem.

Canonical rows (``schemas.canonical.BalanceMove``), money in fen:

- ``amount_minor = ±收支金额``: 收支类型 收入 is +, 支出 is − (the file writes the amount unsigned; a
  written minus is ``SIGN_VIOLATION``); ``balance_minor = 账户结余`` (the balance after the move);
- ``move_id = 资金流水单号``, ``business_ref = 微信支付业务单号`` (null when empty), ``order_no`` null
  (the file has no merchant order number), ``merchant_account`` null (the file does not state it);
- ``kind`` from the file's words through ``KIND_TABLE`` (unknown words are ``other``, never
  rejected); ``business_type`` keeps both words as ``业务名称|业务类型``;
- ``occurred_at = 记账时间`` (Beijing time) in UTC, ``settle_date`` the run's business date.

Control totals: the summary's five figures against the data lines (every line whose values can be
read, rejected ones too), and ``账户结余 continuity``: the number of lines whose 账户结余 is not the
previous line's plus their own signed amount, in file order (expected 0; not verifiable once a line's
amount, direction or balance cannot be read). A control that disagrees is ``CONTROL_TOTAL_MISMATCH``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from decimal import Decimal

import polars as pl

from schemas.canonical import BalanceMove
from schemas.currency import CURRENCY_EXPONENT
from schemas.wechatpay import (
    WECHATPAY_FUNDFLOW_COLUMNS,
    WECHATPAY_FUNDFLOW_SUMMARY_COLUMNS,
    WeChatPayFundFlowRaw,
)
from transforms.adapters.template import (
    BOM,
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
)
from transforms.text import bad_characters

FORMAT = "wechatpay_fundflow"
ROLE = "fund_flow"
CHANNEL = "wechatpay"
CURRENCY = "CNY"
#: The bill's timestamps are Beijing time (FORMATS §2).
BILL_TIME_ZONE = "Asia/Shanghai"

#: What a line does to the balance, from the file's words: (kind, 业务名称, 业务类型, 收支类型), None
#: meaning any; the first row whose words all match wins, and a line no row matches is ``other``.
KIND_TABLE: tuple[tuple[str, str | None, str | None, str | None], ...] = (
    ("fee", None, "扣除交易手续费", None),
    ("fee_refund", None, "退还交易手续费", None),
    ("withdrawal", "充值/提现", None, "支出"),
    ("withdrawal", "提现", None, "支出"),
    ("withdrawal", None, "提现", "支出"),
    ("transfer", "企业付款", None, None),
    ("transfer", "分账", None, None),
    ("other", None, "退款关闭", None),  # a refund that did not happen: the money comes back
    ("refund", "退款", None, None),
    ("refund", None, "退款", None),
    ("payment", "交易", None, None),
    ("payment", None, "交易", None),
)

_AMOUNT, _BALANCE = "收支金额(元)", "账户结余(元)"
_DIRECTION = "收支类型"
_SCALE = CURRENCY_EXPONENT[CURRENCY]
_AMOUNT_SCALES: dict[str, int] = {_AMOUNT: _SCALE, _BALANCE: _SCALE}
_WIDTH = len(WECHATPAY_FUNDFLOW_COLUMNS)
_SUMMARY_PREFIX = WECHATPAY_FUNDFLOW_SUMMARY_COLUMNS[0]
_SIGNS = {"收入": 1, "支出": -1}
#: Summary control sums over the data lines, in the summary's own names (counts scale 0, yuan).
_CONTROL_SCALES: dict[str, int] = {"收入笔数": 0, "收入金额": _SCALE, "支出笔数": 0, "支出金额": _SCALE}
_COUNT_TEXT = re.compile(r"(0|[1-9][0-9]{0,14})(\.0+)?")
CONTINUITY = "账户结余 continuity"

_RAW_REASON_CODES: dict[str, str] = {
    "记账时间": "BAD_DATE",
    "资金流水单号": "REQUIRED_EMPTY",
    _DIRECTION: "UNKNOWN_ENUM",
    _AMOUNT: "BAD_AMOUNT",
    _BALANCE: "BAD_AMOUNT",
}
_CANONICAL_SCHEMA: dict[str, pl.DataType] = frame_schema(BalanceMove)
_HEADER_MISMATCH = (
    "not the WeChat Pay fund flow bill header: expected {expected!r} where the file has {found!r} "
    "(wrong encoding or another bill type?)"
)


def _ascii_parentheses(name: str) -> str:
    """``收支金额（元）`` → ``收支金额(元)``: both spellings name the same column."""
    return name.replace("（", "(").replace("）", ")")


def looks_like_wechatpay_fundflow(data: bytes) -> bool:
    """True when the first line is the fund flow bill header (either spelling, any column order)."""
    first = data[:8192].split(b"\n", 1)[0].removeprefix(BOM).rstrip(b"\r")
    try:
        header = first.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return _looks_like_header(header)


def _looks_like_header(line: str) -> bool:
    return sorted(_ascii_parentheses(name) for name in line.split(",")) == sorted(WECHATPAY_FUNDFLOW_COLUMNS)


def kind_expr(name: pl.Expr, business_type: pl.Expr, direction: pl.Expr) -> pl.Expr:
    """``KIND_TABLE`` as one expression over the 业务名称, 业务类型 and 收支类型 columns."""
    result: pl.Expr = pl.lit("other")
    for kind, name_word, type_word, direction_word in reversed(KIND_TABLE):
        conditions = [
            column == word
            for column, word in ((name, name_word), (business_type, type_word), (direction, direction_word))
            if word is not None
        ]
        result = pl.when(pl.all_horizontal(conditions).fill_null(False)).then(pl.lit(kind)).otherwise(result)
    return result


class BalanceContinuity:
    """``balance[i] = balance[i−1] + amount[i]`` over a file's data lines in file order, chunk by chunk.

    A file-level control: ``footer`` is the number of breaks expected (0), ``parsed`` the number found,
    or None (not verifiable) once a line's signed amount or balance could not be read.

    Args:
        name: the control's name (``账户结余 continuity``).
        unit_scale: the decimals of the amounts (for the words of the error).
    """

    def __init__(self, name: str, unit_scale: int) -> None:
        self.name = name
        self.scale = unit_scale
        self.previous: int | None = None
        self.started = False
        self.unreadable = False
        self.breaks = 0
        self.first_break: tuple[int, int, int] | None = None  # (line, expected, found)

    def add(self, frame: pl.DataFrame) -> None:
        """Add data lines in file order: columns ``source_line``, ``signed`` and ``balance`` (Int64, null: unread)."""
        if frame.height == 0:
            return
        if frame.select(pl.col("signed").null_count() + pl.col("balance").null_count()).item():
            self.unreadable = True
        previous = pl.col("balance").shift(1)
        if self.previous is not None:
            previous = pl.when(pl.int_range(pl.len()) == 0).then(pl.lit(self.previous, pl.Int64)).otherwise(previous)
        elif self.started:  # the line before this chunk had no readable balance
            self.unreadable = True
        expected = previous.cast(pl.Int128) + pl.col("signed")
        broken = frame.select("source_line", expected.alias("expected"), "balance").filter(
            pl.col("expected").is_not_null() & pl.col("balance").is_not_null() & (pl.col("expected") != pl.col("balance"))
        )
        self.breaks += broken.height
        if broken.height and self.first_break is None:
            line, want, found = broken.row(0)
            self.first_break = (int(line), int(want), int(found))
        self.previous = frame["balance"][-1]
        self.started = True

    def control(self) -> ControlTotal:
        """The control total: breaks expected (0) and found (None: not verifiable)."""
        return ControlTotal(self.name, Decimal(0), None if self.unreadable else Decimal(self.breaks))

    def error(self, column: str) -> FileRejected | None:
        """``CONTROL_TOTAL_MISMATCH`` naming the first break, or None when the balances follow."""
        if self.unreadable or self.first_break is None:
            return None
        line, want, found = self.first_break
        return FileRejected(
            "CONTROL_TOTAL_MISMATCH",
            f"{self.name}: {self.breaks} line(s) break balance = previous balance + amount; first at line "
            f"{line}: {column} {Decimal(found).scaleb(-self.scale)}, expected {Decimal(want).scaleb(-self.scale)}",
            line,
        )


def parse_wechatpay_fundflow(source: bytes | Source, source_file: str, context: ParseContext) -> ParsedFile:
    """Parse a WeChat Pay fund flow bill (资金账单) into canonical balance moves.

    Never raises on bad input: a bad line becomes quarantine entries plus one ``rejected`` row, a
    bad file sets ``file_error`` (the rows sent so far still hold what could be read).

    Args:
        source: the file's bytes, or a Source over them (after unpacking).
        source_file: the path relative to the date's inbox (``wechatpay/fundflow.csv``).
        context: the bill date the file was delivered for (every row's ``settle_date``; a bill none
            of whose lines is on it is ``WRONG_DATE``), the sink for rows, the limits.

    Returns:
        A ``ParsedFile`` of format ``wechatpay_fundflow``, role ``fund_flow``: one ``BalanceMove`` row
        per valid detail line (fen, income +, expense −), the summary's figures and the balance
        continuity as control totals, and physical line counts.
    """
    data = as_source(source)
    if data.size == 0:
        return _rejected_file(source_file, FileRejected("EMPTY_FILE", "the file is empty (0 bytes)"))
    (header_bytes, *_), offset = head_lines(data, 1)
    header_bytes = header_bytes.removeprefix(BOM)
    try:
        header = header_bytes.decode("utf-8")
    except UnicodeDecodeError as exc:
        return _rejected_file(source_file, _explain_decode_error(header_bytes, exc))
    if not header.strip():
        return _rejected_file(source_file, FileRejected("EMPTY_FILE", "no header line", line=1))
    try:
        positions = read_header(
            [_ascii_parentheses(name) for name in header.split(",")], WECHATPAY_FUNDFLOW_COLUMNS,
            line_no=1, line=header, mismatch=_HEADER_MISMATCH,
        )  # fmt: skip
    except FileRejected as exc:
        return _rejected_file(source_file, exc)
    return _Parser(data, source_file, context, positions).run(offset)


def _explain_decode_error(header: bytes, error: UnicodeDecodeError) -> FileRejected:
    """A GBK file is not valid UTF-8: say so as HEADER_MISMATCH instead of a bare DECODE_ERROR."""
    message = f"not valid utf-8 at byte {error.start} (line 1): {error.reason}"
    try:
        first = header.decode("gb18030")
    except UnicodeDecodeError:
        return FileRejected("DECODE_ERROR", message, line=1)
    if _looks_like_header(first):
        return FileRejected(
            "HEADER_MISMATCH", f"the header is GBK-encoded; a WeChat Pay fund flow bill is UTF-8 ({message})", line=1
        )
    return FileRejected("DECODE_ERROR", message, line=1)


def _rejected_file(source_file: str, error: FileRejected) -> ParsedFile:
    return rejected_file(source_file, error, file_format=FORMAT, role=ROLE, channel=CHANNEL, model=BalanceMove)


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


def line_facts() -> dict[str, pl.Expr]:
    """What every data line says about the balance, from its text (named, backtick-stripped columns).

    ``direction`` +1/−1 (null: 收支类型 unknown), ``amount`` unsigned fen (null: unreadable or written
    negative), ``signed`` and ``balance`` fen; a line with more fields than the header has shifted
    values, so nothing of it is read (``fields`` > width).
    """
    readable = pl.col("fields") <= _WIDTH

    def text(column: str) -> pl.Expr:
        return pl.when(readable).then(pl.col(column))

    direction = text(_DIRECTION).replace_strict(_SIGNS, default=None, return_dtype=pl.Int64)
    amount = pl.when(~text(_AMOUNT).str.starts_with("-")).then(amount_units_or_null(text(_AMOUNT), _SCALE))
    return {
        "direction": direction,
        "amount": amount,
        "signed": direction * amount,
        "balance": amount_units_or_null(text(_BALANCE), _SCALE),
    }


def control_units() -> dict[str, pl.Expr]:
    """Each line's share of the summary controls (over ``line_facts``); null makes a control unverifiable."""
    direction, amount = pl.col("direction"), pl.col("amount")
    zero = pl.lit(0, pl.Int64)
    units: dict[str, pl.Expr] = {}
    for word, sign in _SIGNS.items():
        units[f"{word}笔数"] = pl.when(direction.is_not_null()).then((direction == sign).cast(pl.Int64))
        units[f"{word}金额"] = pl.when(direction == -sign).then(zero).when(direction == sign).then(amount)
    return units


class _Parser:
    """One pass over one bill: chunk after chunk of detail lines, then the summary."""

    def __init__(self, source: Source, source_file: str, context: ParseContext, positions: dict[str, int]) -> None:
        self.source = source
        self.source_file = source_file
        self.context = context
        self.positions = positions
        self.columns = {name: f"f{index}" for name, index in positions.items()}
        self.problems = Problems(source_file, context.limits.max_problem_lines)
        self.output = Output(context, BalanceMove, source_file)
        self.sums = ControlSums(_CONTROL_SCALES)
        self.continuity = BalanceContinuity(CONTINUITY, _SCALE)
        self.dates: dict[date, int] = {}  # the bill's booking dates (Beijing time): rows per date
        self.data_lines = self.blank = self.detail_physical = 0
        self.last_data_line: tuple[int, int] | None = None  # (line, fields) of the last non-blank line
        self.errors: list[FileRejected] = []

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
        broken_balance = self.continuity.error(_BALANCE)
        if broken_balance is not None:
            self.errors.append(broken_balance)
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
            controls=(*controls, self.continuity.control()),
            file_error=self.errors[0] if self.errors else None,
            lines=LineCounts(
                physical=physical, data=self.data_lines, header=1, footer=footer_lines,
                blank=self.blank + (footer_physical - footer_lines),
            ),
            statement_date=self.statement_date(),
        )  # fmt: skip

    def statement_date(self) -> date | None:
        """The bill's date: the run's date when its moves are booked on it, else their first date."""
        if not self.dates:
            return None
        return self.context.business_date if self.context.business_date in self.dates else min(self.dates)

    def wrong_date(self) -> FileRejected | None:
        """WRONG_DATE when none of the bill's moves is booked on the run's date (another day's bill)."""
        if not self.dates or self.context.business_date in self.dates:
            return None
        first, last = min(self.dates), max(self.dates)
        dated = f"{first}" if first == last else f"{first} to {last}"
        return FileRejected(
            "WRONG_DATE", f"the bill's moves are booked {dated}; the run is for {self.context.business_date}", 2
        )

    # -- the detail block -----------------------------------------------------------------------

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
        named = lines.select(
            *(_strip_backtick_expr(pl.col(self.columns[name])).alias(name) for name in WECHATPAY_FUNDFLOW_COLUMNS),
            "source_line", "fields",
        ).with_columns(**line_facts())  # fmt: skip
        self.sums.add_units(named, control_units())
        self.continuity.add(named.select("source_line", "signed", "balance"))
        if self.problems.overflowed:  # the file is rejected: account for its lines, read no further
            self.problems.undescribed += lines.height
            self.output.rejected(self.best_effort(named))
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
        ok = lines.select("source_line", ok=well_formed & within_limits)
        odd = lines.filter(~ok["ok"])
        if odd.height:
            broken = self.read_odd_lines(odd)
            ok = ok.with_columns(ok=pl.col("ok") | ~pl.col("source_line").is_in(broken))
        good = named.filter(ok["ok"]) if odd.height else named

        raw = good.select(*WECHATPAY_FUNDFLOW_COLUMNS, "source_line")
        valid = check_raw(self.problems, raw, WeChatPayFundFlowRaw, reason_codes=_RAW_REASON_CODES,
                          amount_scales=_AMOUNT_SCALES)  # fmt: skip
        rows = check_canonical(self.problems, self.to_canonical(valid), BalanceMove)
        local = rows.group_by(pl.col("occurred_at").dt.convert_time_zone(BILL_TIME_ZONE).dt.date().alias("d")).len()
        for day, count in local.iter_rows():
            self.dates[day] = self.dates.get(day, 0) + count
        self.output.rows(rows)
        if rows.height < named.height:
            self.output.rejected(self.best_effort(named.join(rows.select("source_line"), on="source_line", how="anti")))

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
        return broken

    # -- the summary ----------------------------------------------------------------------------

    def missing_footer(self) -> FileRejected:
        if self.last_data_line is not None and self.last_data_line[1] < _WIDTH:
            line, count = self.last_data_line
            return FileRejected(
                "TRUNCATED", f"no summary; the last line {line} has {count} of {_WIDTH} fields (file cut short?)", line
            )
        return FileRejected(
            "FOOTER_MISSING", f"no summary line starting with {_SUMMARY_PREFIX!r}", line=1 + self.detail_physical
        )

    def read_summary(self, footer: list[str], header_no: int) -> tuple[tuple[ControlTotal, ...], int]:
        """The summary header and values lines: control totals, and how many footer lines there are."""
        if tuple(footer[0].split(",")) != WECHATPAY_FUNDFLOW_SUMMARY_COLUMNS:
            self.errors.append(FileRejected(
                "FOOTER_INVALID", f"summary header is not {','.join(WECHATPAY_FUNDFLOW_SUMMARY_COLUMNS)}", header_no
            ))  # fmt: skip
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
        width = len(WECHATPAY_FUNDFLOW_SUMMARY_COLUMNS)
        if len(fields) != width:
            self.errors.append(
                FileRejected("FOOTER_INVALID", f"summary values line has {len(fields)} of {width} fields", values_no)
            )
            return (), 2
        figures: dict[str, Decimal] = {}
        for name, field in zip(WECHATPAY_FUNDFLOW_SUMMARY_COLUMNS, fields, strict=True):
            value, problem = _strip_backtick(field)
            try:
                if problem:
                    raise AmountError("FORMAT_VIOLATION", f"{field!r} {problem}")
                figures[name] = _summary_figure(name, value)
            except AmountError as exc:
                self.errors.append(FileRejected("FOOTER_INVALID", f"summary {name}: {exc}", values_no))
                return (), 2
        parsed: Mapping[str, Decimal | None] = {
            "资金流水总笔数": Decimal(self.data_lines),
            **{name: self.sums.decimal(name) for name in _CONTROL_SCALES},
        }
        controls = tuple(ControlTotal(name, figures[name], parsed[name]) for name in WECHATPAY_FUNDFLOW_SUMMARY_COLUMNS)
        return controls, 2

    # -- canonical rows -------------------------------------------------------------------------

    def to_canonical(self, valid: pl.DataFrame) -> pl.DataFrame:
        """Map raw-valid lines to ``BalanceMove`` rows; quarantine those whose amount is written signed."""
        negative = valid.filter(pl.col(_AMOUNT).str.starts_with("-"))
        for line_no, text in negative.select("source_line", _AMOUNT).iter_rows():
            self.problems.add(
                line_no, _AMOUNT, text, "SIGN_VIOLATION", f"{_AMOUNT} {text} is signed; the bill writes it unsigned "
                f"and {_DIRECTION} gives the direction",
            )  # fmt: skip
        kept = valid.filter(~pl.col(_AMOUNT).str.starts_with("-")) if negative.height else valid
        sign = pl.col(_DIRECTION).replace_strict(_SIGNS, return_dtype=pl.Int64)
        business_ref = pl.col("微信支付业务单号")
        none = pl.lit(None, pl.String())
        exprs = {
            "channel": pl.lit(CHANNEL),
            "merchant_account": none,
            "move_id": pl.col("资金流水单号"),
            "business_ref": pl.when(business_ref != "").then(business_ref).otherwise(none),
            "order_no": none,
            "kind": kind_expr(pl.col("业务名称"), pl.col("业务类型"), pl.col(_DIRECTION)),
            "amount_minor": sign * exact_units(_AMOUNT),
            "balance_minor": exact_units(_BALANCE),
            "currency": pl.lit(CURRENCY),
            "occurred_at": local_time_expr(pl.col("记账时间"), BILL_TIME_ZONE),
            "business_type": pl.col("业务名称") + "|" + pl.col("业务类型"),
            "settle_date": pl.lit(self.context.business_date, pl.Date()),
            "source_file": pl.lit(self.source_file),
            "source_line": pl.col("source_line"),
        }
        return kept.select(**exprs).cast(_CANONICAL_SCHEMA)  # type: ignore[arg-type]

    def best_effort(self, bad: pl.DataFrame) -> pl.DataFrame:
        """Whatever can be read of quarantined lines (named columns with ``line_facts``), for ``rejected``."""
        readable = pl.col("fields") <= _WIDTH
        move_id = pl.when(readable & (pl.col("资金流水单号") != "")).then(pl.col("资金流水单号"))
        kind = pl.when(readable).then(kind_expr(pl.col("业务名称"), pl.col("业务类型"), pl.col(_DIRECTION)))
        return bad.select(
            source_file=pl.lit(self.source_file),
            source_line="source_line",
            channel=pl.lit(CHANNEL),
            channel_txn_id=move_id,
            order_no=pl.lit(None, pl.String()),
            kind=kind,
            amount_minor="signed",
            currency=pl.lit(CURRENCY),
        )


def _summary_figure(name: str, value: str) -> Decimal:
    """A summary value: a count (``20`` or ``20.0``) or yuan (at most 2 decimals, unsigned).

    Raises:
        AmountError: the value is neither.
    """
    if name.endswith("笔数"):
        match = _COUNT_TEXT.fullmatch(value)
        if match is None:
            raise AmountError("BAD_AMOUNT", f"{value!r} is not a whole count")
        return Decimal(match.group(1))
    units = parse_decimal_text(value, scale=_SCALE, exact_scale=False, allow_negative=False)
    return Decimal(units).scaleb(-_SCALE)
