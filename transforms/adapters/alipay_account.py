"""Alipay 账务明细 (bill_type=signcustomer) → canonical balance moves (FORMATS §3.4).

The file is shaped like the 业务明细 (``alipay.py``): GBK (decoded strictly as GB18030), four ``#``
preamble lines (``#支付宝账务明细查询``, ``#账号：[…]``, ``#起始日期：[…]   终止日期：[…]``, the
``账务明细列表`` marker), a header, the lines, and ``#`` footer lines from the ``账务明细列表结束`` marker
on: ``#支出合计：N笔，共X元``, ``#收入合计：N笔，共X元``, ``#导出时间：[…]`` (some exports pad them with
commas). Every field is stripped of the TAB Alipay appends and of surrounding spaces.

Columns are read **by header name**: newer exports reorder the classic 12 columns and add others
(``业务描述``, ``业务账单来源``, ...), which are carried unread. The columns of
``schemas.alipay.ALIPAY_ACCOUNT_REQUIRED`` must be there (``MISSING_COLUMN``); a header with none of
them is another file (``HEADER_MISMATCH``).

Read with the columnar template: chunks decoded once from GB18030, one Polars read each, checks as
expressions, only bad lines per line.

Canonical rows (``schemas.canonical.BalanceMove``), money in fen:

- exactly one of 收入金额（+元） (written positive) and 支出金额（-元） (written negative) is non-zero,
  and that one is ``amount_minor`` as written; an empty field counts as zero; a line with both or
  neither non-zero is quarantined (``FORMAT_VIOLATION``), a wrongly signed one too
  (``SIGN_VIOLATION``); ``balance_minor = 账户余额（元）``;
- ``move_id = 账务流水号``, ``business_ref = 业务流水号``, ``order_no = 商户订单号`` (null when empty),
  ``merchant_account`` the preamble's ``#账号``;
- ``kind`` from 业务类型 through ``KINDS`` (anything else is ``other``, never rejected), the words kept
  in ``business_type``; ``occurred_at = 发生时间`` (Beijing time) in UTC; ``settle_date`` the run's date.

Control totals: the two footer lines (count and sum of the 收入 lines, of the 支出 lines: the 支出 sum is
compared by its magnitude, since whether the footer writes it negative is not documented) over every
data line whose amounts can be read, and ``账户余额 continuity`` (``wechatpay_fundflow.BalanceContinuity``).
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import polars as pl

from schemas.alipay import ALIPAY_ACCOUNT_REQUIRED, AlipayAccountRaw
from schemas.canonical import BalanceMove
from schemas.currency import CURRENCY_EXPONENT
from transforms.adapters.alipay import _decode_error, _head, _read_preamble
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
    line_text,
    local_time_expr,
    may_hold_bad_characters,
    read_fields,
    rejected_file,
    tail_lines,
    utf8_chunk,
)
from transforms.adapters.wechatpay_fundflow import BalanceContinuity
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

FORMAT = "alipay_account"
ROLE = "fund_flow"
CHANNEL = "alipay"
CURRENCY = "CNY"
#: The file's timestamps are Beijing time (FORMATS §3).
BILL_TIME_ZONE = "Asia/Shanghai"

#: 业务类型 → what the line does to the balance; any other word is ``other``.
KINDS: dict[str, str] = {
    "在线支付": "payment",
    "交易": "payment",
    "交易退款": "refund",
    "退款": "refund",
    "收费": "fee",
    "服务费": "fee",
    "提现": "withdrawal",
    "转账": "transfer",
}

_TITLE, _MARKER, _END = "支付宝账务明细查询", "账务明细列表", "结束"
_PREAMBLE_LINES = 4
_INCOME, _EXPENSE, _BALANCE = "收入金额（+元）", "支出金额（-元）", "账户余额（元）"
_SCALE = CURRENCY_EXPONENT[CURRENCY]
_AMOUNT_SCALES: dict[str, int] = {_INCOME: _SCALE, _EXPENSE: _SCALE, _BALANCE: _SCALE}
_AMOUNT_TEXT = r"(-?[0-9]+(?:\.[0-9]+)?)"
_FOOTERS: dict[str, re.Pattern[str]] = {
    word: re.compile(rf"^#{word}合计：([0-9]+)笔，共{_AMOUNT_TEXT}元$") for word in ("支出", "收入")
}
_CONTROL_SCALES: dict[str, int] = {"收入笔数": 0, "收入金额": _SCALE, "支出笔数": 0, "支出金额": _SCALE}
CONTINUITY = "账户余额 continuity"
_FOOTER_BYTES = 1024 * 1024

_RAW_REASON_CODES: dict[str, str] = {
    "账务流水号": "REQUIRED_EMPTY",
    "发生时间": "BAD_DATE",
    _INCOME: "BAD_AMOUNT",
    _EXPENSE: "BAD_AMOUNT",
    _BALANCE: "BAD_AMOUNT",
}
_CANONICAL_SCHEMA: dict[str, pl.DataType] = frame_schema(BalanceMove)


def looks_like_alipay_account(data: bytes) -> bool:
    """True when the file starts with the 账务明细 title line ``#支付宝账务明细查询``."""
    try:
        first = data[:4096].split(b"\n", 1)[0].rstrip(b"\r").decode("gb18030")
    except UnicodeDecodeError:
        return False
    return first.startswith("#") and _TITLE in first


def _full_width_parentheses(name: str) -> str:
    """``收入金额(+元)`` → ``收入金额（+元）``: the documented spelling is full-width."""
    return name.replace("(", "（").replace(")", "）")


def read_account_header(line: str, line_no: int) -> dict[str, int]:
    """Map the header's column names to positions; the required columns must be there, others may.

    Raises:
        FileRejected: ``DUP_COLUMN``, ``HEADER_MISMATCH`` (none of the required columns: another file
            or a wrong encoding) or ``MISSING_COLUMN``.
    """
    names = [_full_width_parentheses(name.strip(" \t")) for name in line.split(",")]
    named = [name for name in names if name]  # some exports end the header with commas
    duplicates = sorted({name for name in named if named.count(name) > 1})
    if duplicates:
        raise FileRejected("DUP_COLUMN", f"header repeats column(s) {', '.join(duplicates)}", line_no)
    missing = [name for name in ALIPAY_ACCOUNT_REQUIRED if name not in names]
    if len(missing) == len(ALIPAY_ACCOUNT_REQUIRED):
        raise FileRejected(
            "HEADER_MISMATCH",
            f"not the 账务明细 header: {missing[0]!r} expected where the file has {line[:40]!r} "
            "(wrong encoding or another bill type?)",
            line_no,
        )
    if missing:
        raise FileRejected("MISSING_COLUMN", f"header lacks column(s) {', '.join(missing)}", line_no)
    return {name: index for index, name in enumerate(names) if name}


def parse_alipay_account(source: bytes | Source, source_file: str, context: ParseContext) -> ParsedFile:
    """Parse an Alipay 账务明细 file into canonical balance moves.

    Never raises on bad input: a bad line becomes quarantine entries plus one ``rejected`` row, a
    bad file sets ``file_error`` (an undecodable file sends no rows).

    Args:
        source: the file's bytes, or a Source over them (after unpacking), GBK.
        source_file: the path relative to the date's inbox (``alipay/x.csv.zip!x_账务明细.csv``).
        context: the date the run reconciles (the file's 起始日期 must be it, else ``WRONG_DATE``; it
            becomes every row's ``settle_date``), the sink for rows, the limits.

    Returns:
        A ``ParsedFile`` of format ``alipay_account``, role ``fund_flow``: one ``BalanceMove`` row per
        valid line (fen, income +, expense −), the footer's 合计 lines and the balance continuity as
        control totals, and physical line counts.
    """
    data = as_source(source)
    if data.size == 0:
        return _rejected_file(source_file, FileRejected("EMPTY_FILE", "the file is empty (0 bytes)"))
    try:
        lines, offset = _head(data)
        account, statement_date = _read_preamble(lines, _TITLE, _MARKER)
        positions = read_account_header(lines[_PREAMBLE_LINES], _PREAMBLE_LINES + 1)
    except FileRejected as exc:
        return _rejected_file(source_file, _decode_error(data) or exc)
    width = len(lines[_PREAMBLE_LINES].split(","))
    return _Parser(data, source_file, context, positions, width, account, statement_date).run(offset)


def _rejected_file(source_file: str, error: FileRejected) -> ParsedFile:
    return rejected_file(source_file, error, file_format=FORMAT, role=ROLE, channel=CHANNEL, model=BalanceMove)


def _is_end_marker(line: bytes) -> bool:
    """True for the ``#…账务明细列表结束…`` line (an undecodable line is none: it fails as a detail line)."""
    try:
        return _MARKER + _END in line.decode("gb18030")
    except UnicodeDecodeError:
        return False


def _amount_or_zero(text: pl.Expr) -> pl.Expr:
    """An amount column where the move went the other way: empty is 0; unreadable is null."""
    return pl.when(text == "").then(pl.lit(0, pl.Int64)).otherwise(amount_units_or_null(text, _SCALE))


def line_facts(width: int) -> dict[str, pl.Expr]:
    """What every data line says about the balance, from its stripped text.

    ``direction`` +1 (only 收入 non-zero and positive), −1 (only 支出 non-zero and negative) or null,
    ``income`` / ``expense`` fen as written, ``signed`` and ``balance`` fen; a line with more fields
    than the header has shifted values, so nothing of it is read.
    """
    readable = pl.col("fields") <= width

    def text(column: str) -> pl.Expr:
        return pl.when(readable).then(pl.col(column))

    income, expense = _amount_or_zero(text(_INCOME)), _amount_or_zero(text(_EXPENSE))
    direction = (
        pl.when((income > 0) & (expense == 0))
        .then(pl.lit(1, pl.Int64))
        .when((income == 0) & (expense < 0))
        .then(pl.lit(-1, pl.Int64))
    )
    return {
        "income": income,
        "expense": expense,
        "direction": direction,
        "signed": pl.when(direction == 1).then(income).when(direction == -1).then(expense),
        "balance": amount_units_or_null(text(_BALANCE), _SCALE),
    }


def control_units() -> dict[str, pl.Expr]:
    """Each line's share of the footer controls (over ``line_facts``); null makes a control unverifiable."""
    direction, zero = pl.col("direction"), pl.lit(0, pl.Int64)
    units: dict[str, pl.Expr] = {}
    for word, sign, amount in (("收入", 1, pl.col("income")), ("支出", -1, pl.col("expense"))):
        units[f"{word}笔数"] = pl.when(direction.is_not_null()).then((direction == sign).cast(pl.Int64))
        units[f"{word}金额"] = pl.when(direction == -sign).then(zero).when(direction == sign).then(amount)
    return units


class _Parser:
    """One pass over one 账务明细: chunk after chunk of lines, then the footer."""

    def __init__(
        self,
        source: Source,
        source_file: str,
        context: ParseContext,
        positions: dict[str, int],
        width: int,
        account: str,
        statement_date: date,
    ) -> None:
        self.source = source
        self.source_file = source_file
        self.context = context
        self.positions = positions
        self.width = width
        self.columns = {name: f"f{positions[name]}" for name in ALIPAY_ACCOUNT_REQUIRED}
        self.account = account
        self.statement_date = statement_date
        self.problems = Problems(source_file, context.limits.max_problem_lines)
        self.output = Output(context, BalanceMove, source_file)
        self.sums = ControlSums(_CONTROL_SCALES)
        self.continuity = BalanceContinuity(CONTINUITY, _SCALE)
        self.data_lines = self.blank = self.detail_physical = self.footer_lines = 0
        self.last_data_line: tuple[int, int] | None = None
        self.errors: list[FileRejected] = []
        self.position = (0, 0)  # (byte offset, line) of what is being decoded

    def run(self, offset: int) -> ParsedFile:
        if self.statement_date != self.context.business_date:
            self.errors.append(FileRejected(
                "WRONG_DATE", f"the file's 起始日期 is {self.statement_date}, the run is for {self.context.business_date}", 3
            ))  # fmt: skip
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
                self.read_chunk(chunk)
                self.position = (self.position[0] + len(chunk.data), chunk.first_line + chunk.line_count)
            if block.footer_offset is not None:
                self.position = (block.footer_offset, block.footer_line or 0)
                footer, footer_physical = tail_lines(
                    self.source, block.footer_offset, encoding="gb18030", max_bytes=_FOOTER_BYTES
                )
        except FileRejected as exc:  # undecodable text: nothing of the file is usable
            self.output.discard()
            return _rejected_file(self.source_file, _decode_error(self.source, *self.position) or exc)
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
        broken_balance = self.continuity.error(_BALANCE)
        if broken_balance is not None:
            self.errors.append(broken_balance)
        if self.problems.overflowed:
            self.errors.insert(0, FileRejected(
                "TOO_MANY_BAD_ROWS",
                f"more than {self.problems.max_lines} bad lines: a format change, not bad rows",
            ))  # fmt: skip
        return self.output.parsed_file(
            file_format=FORMAT, role=ROLE, channel=CHANNEL,
            quarantine=self.problems.frame(),
            controls=(*controls, self.continuity.control()),
            file_error=self.errors[0] if self.errors else None,
            lines=LineCounts(
                physical=physical, data=self.data_lines, header=1, preamble=_PREAMBLE_LINES,
                footer=self.footer_lines, blank=self.blank,
            ),
            statement_date=self.statement_date,
            merchant_account=self.account,
        )  # fmt: skip

    # -- the lines ------------------------------------------------------------------------------

    def read_chunk(self, chunk: Chunk) -> None:
        """One chunk of lines: decode, split, check over whole columns, convert, send on."""
        self.detail_physical += chunk.line_count
        utf8 = utf8_chunk(chunk, "gb18030")
        frame = read_fields(utf8, self.width)
        blank = frame.filter(pl.col("blank"))
        self.blank += blank.height
        lines = frame.filter(~pl.col("blank")) if blank.height else frame
        if lines.height == 0:
            return
        self.data_lines += lines.height
        last = lines.row(-1, named=True)
        self.last_data_line = (last["source_line"], last["fields"])
        named = lines.select(
            *(pl.col(self.columns[name]).str.strip_chars(" \t").alias(name) for name in ALIPAY_ACCOUNT_REQUIRED),
            "source_line", "fields",
        ).with_columns(**line_facts(self.width))  # fmt: skip
        self.sums.add_units(named, control_units())
        self.continuity.add(named.select("source_line", "signed", "balance"))
        if self.problems.overflowed:  # the file is rejected: account for its lines, read no further
            self.problems.undescribed += lines.height
            self.output.rejected(self.best_effort(named))
            return

        names = field_names(self.width)
        limits = self.context.limits
        well_formed = pl.col("fields") == self.width
        if may_hold_bad_characters(utf8):
            well_formed = well_formed & ~pl.any_horizontal(bad_character_expr(n) for n in names)
        sizes = [pl.col(n).str.len_bytes().fill_null(0) for n in names]
        within_limits = (pl.sum_horizontal(sizes) + self.width - 1 <= limits.max_line_bytes) & pl.all_horizontal(
            size <= limits.max_field_bytes for size in sizes
        )
        ok = lines.select("source_line", ok=well_formed & within_limits)
        odd = lines.filter(~ok["ok"])
        if odd.height:
            broken = self.read_odd_lines(odd)
            ok = ok.with_columns(ok=pl.col("ok") | ~pl.col("source_line").is_in(broken))
        good = named.filter(ok["ok"]) if odd.height else named

        raw = good.select(*ALIPAY_ACCOUNT_REQUIRED, "source_line")
        valid = check_raw(self.problems, raw, AlipayAccountRaw, reason_codes=_RAW_REASON_CODES,
                          amount_scales=_AMOUNT_SCALES)  # fmt: skip
        rows = check_canonical(self.problems, self.to_canonical(valid), BalanceMove)
        self.output.rows(rows)
        if rows.height < named.height:
            self.output.rejected(self.best_effort(named.join(rows.select("source_line"), on="source_line", how="anti")))

    def read_odd_lines(self, odd: pl.DataFrame) -> list[int]:
        """Lines that are not plainly well formed: record each problem, line by line (few lines)."""
        limit = self.context.limits
        broken: list[int] = []
        before = len(self.problems.entries)
        for line_no, text in odd.select("source_line", line_text(odd, self.width)).iter_rows():
            if self.problems.overflowed:
                self.problems.undescribed += 1
                broken.append(line_no)
                continue
            count = text.count(",") + 1
            size = len(text.encode("utf-8"))
            if size > limit.max_line_bytes:
                self.problems.add(line_no, None, text[:200], "LIMIT_EXCEEDED",
                                  f"line of {size} bytes, over the {limit.max_line_bytes} byte limit")  # fmt: skip
            elif count != self.width:
                self.problems.add(
                    line_no, None, text[:200], "FIELD_COUNT", f"expected {self.width} fields, got {count}"
                )
            else:
                fields = [field.strip(" \t") for field in text.split(",")]
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

    # -- the footer -----------------------------------------------------------------------------

    def missing_footer(self, physical: int) -> FileRejected:
        if self.last_data_line is not None and self.last_data_line[1] < self.width:
            line, count = self.last_data_line
            return FileRejected(
                "TRUNCATED", f"no footer; the last line {line} has {count} of {self.width} fields (file cut short?)", line
            )
        return FileRejected("FOOTER_MISSING", f"no '{_MARKER}{_END}' marker after the lines", physical)

    def read_footer(
        self, footer: list[str], footer_physical: int, marker_line: int, physical: int
    ) -> tuple[ControlTotal, ...]:
        """The ``#`` footer from the end marker on: the control totals of the two ``合计`` lines."""
        found: dict[str, tuple[int, re.Match[str]]] = {}
        for index, text in enumerate(footer):
            line_no = marker_line + index
            line = text.rstrip(", \t")  # some exports pad # lines with commas
            if not line.strip():
                self.blank += 1
                continue
            if not line.startswith("#"):
                self.errors.append(FileRejected("FOOTER_INVALID", f"unexpected line {line_no} in the footer", line_no))
                continue
            self.footer_lines += 1
            for word, pattern in _FOOTERS.items():
                if line.startswith(f"#{word}合计"):
                    match = pattern.match(line)
                    if match is None:
                        self.errors.append(FileRejected("FOOTER_INVALID", f"cannot read the footer line {line!r}", line_no))
                    else:
                        found[word] = (line_no, match)
        if footer_physical > len(footer):  # past _FOOTER_BYTES: no footer is that long
            line_no = marker_line + len(footer)
            self.errors.append(FileRejected(
                "FOOTER_INVALID", f"the footer goes on past {_FOOTER_BYTES} bytes: unexpected line {line_no}", line_no
            ))  # fmt: skip
        missing = [f"#{word}合计" for word in _FOOTERS if word not in found]
        if missing:
            self.errors.append(FileRejected("FOOTER_MISSING", f"footer lacks {' and '.join(missing)}", physical))
            return ()
        controls = []
        for word in ("收入", "支出"):
            line_no, match = found[word]
            count, amount = match.groups()
            try:
                units = parse_decimal_text(amount, scale=_SCALE, exact_scale=True)
            except AmountError as exc:
                self.errors.append(FileRejected("FOOTER_INVALID", f"#{word}合计: {exc}", line_no))
                return ()
            figure, parsed = Decimal(units).scaleb(-_SCALE), self.sums.decimal(f"{word}金额")
            if word == "支出":  # compared by magnitude: the footer's sign is not documented
                figure, parsed = abs(figure), None if parsed is None else abs(parsed)
            controls += [
                ControlTotal(f"{word}合计笔数", Decimal(count), self.sums.decimal(f"{word}笔数")),
                ControlTotal(f"{word}合计金额", figure, parsed),
            ]
        return tuple(controls)

    # -- canonical rows -------------------------------------------------------------------------

    def to_canonical(self, valid: pl.DataFrame) -> pl.DataFrame:
        """Map raw-valid lines to ``BalanceMove`` rows; quarantine those that break the two-column rule."""
        income, expense = _amount_or_zero(pl.col(_INCOME)), _amount_or_zero(pl.col(_EXPENSE))
        checked = valid.with_columns(
            income_units=income, expense_units=expense,
            wrong_income=income < 0, wrong_expense=expense > 0,
            not_one=(income != 0) == (expense != 0),
        )  # fmt: skip
        broken = pl.any_horizontal("wrong_income", "wrong_expense", "not_one")
        for row in checked.filter(broken).iter_rows(named=True):
            self.two_column_problems(row)
        kept = checked.filter(~broken) if checked.height else checked
        signed = pl.col("income_units") + pl.col("expense_units")
        none = pl.lit(None, pl.String())

        def present(column: str) -> pl.Expr:
            return pl.when(pl.col(column) != "").then(pl.col(column)).otherwise(none)

        exprs = {
            "channel": pl.lit(CHANNEL),
            "merchant_account": pl.lit(self.account, pl.String()),
            "move_id": pl.col("账务流水号"),
            "business_ref": present("业务流水号"),
            "order_no": present("商户订单号"),
            "kind": pl.col("业务类型").replace_strict(KINDS, default="other", return_dtype=pl.String()),
            "amount_minor": signed,
            "balance_minor": exact_units(_BALANCE),
            "currency": pl.lit(CURRENCY),
            "occurred_at": local_time_expr(pl.col("发生时间"), BILL_TIME_ZONE),
            "business_type": present("业务类型"),
            "settle_date": pl.lit(self.context.business_date, pl.Date()),
            "source_file": pl.lit(self.source_file),
            "source_line": pl.col("source_line"),
        }
        return kept.select(**exprs).cast(_CANONICAL_SCHEMA)  # type: ignore[arg-type]

    def two_column_problems(self, row: dict[str, object]) -> None:
        """The problems of one raw-valid line whose 收入/支出 columns break the rule."""
        line_no = int(row["source_line"])  # type: ignore[call-overload]
        if row["wrong_income"]:
            self.problems.add(line_no, _INCOME, str(row[_INCOME]), "SIGN_VIOLATION",
                              f"{_INCOME} {row[_INCOME]} is negative (Alipay writes it positive)")  # fmt: skip
        if row["wrong_expense"]:
            self.problems.add(line_no, _EXPENSE, str(row[_EXPENSE]), "SIGN_VIOLATION",
                              f"{_EXPENSE} {row[_EXPENSE]} is positive (Alipay writes it negative)")  # fmt: skip
        if row["not_one"]:
            self.problems.add(
                line_no, None, f"{row[_INCOME]}/{row[_EXPENSE]}", "FORMAT_VIOLATION",
                f"exactly one of {_INCOME} and {_EXPENSE} must be non-zero, the line has "
                f"{row[_INCOME]!r} and {row[_EXPENSE]!r}",
            )  # fmt: skip

    def best_effort(self, bad: pl.DataFrame) -> pl.DataFrame:
        """Whatever can be read of quarantined lines (named columns with ``line_facts``), for ``rejected``."""
        readable = pl.col("fields") <= self.width

        def present(column: str) -> pl.Expr:
            return pl.when(readable & (pl.col(column) != "")).then(pl.col(column))

        return bad.select(
            source_file=pl.lit(self.source_file),
            source_line="source_line",
            channel=pl.lit(CHANNEL),
            channel_txn_id=present("账务流水号"),
            order_no=present("商户订单号"),
            kind=pl.when(readable).then(
                pl.col("业务类型").replace_strict(KINDS, default="other", return_dtype=pl.String())
            ),
            amount_minor="signed",
            currency=pl.lit(CURRENCY),
        )
