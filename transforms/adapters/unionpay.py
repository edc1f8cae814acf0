"""UnionPay 全渠道 ZM reconciliation file (交易流水文件) → canonical channel rows (FORMATS §4).

The file: GBK, one 607-byte record per line (``schemas.unionpay``: 40 fields recon reads, then
reserved bytes; the newer 42-field and older 41-field SDK layouts are byte-compatible), CRLF or LF,
no header and no footer, so no control totals. Everything FORMATS marks unverified is a named
assumption (``schemas.unionpay.ZM_ASSUMPTIONS``): a file that breaks A1 (交易代码), A2 (C/D marker),
A5 (line ends) or A6 (no header) is rejected with ``ASSUMPTION_BROKEN`` and a message naming it.

Read with the columnar template: the file streams in chunks of ``limits.chunk_bytes`` cut at line
ends; each chunk is read once as latin-1 (one character per byte, so Polars' character slices are
byte slices) and cut into fields by one ``select`` of slices; the text fields alone are decoded from
GBK, one decode call per field and chunk. Checks are expressions over whole columns; only the bad
lines take the per-line path that names their problem.

Canonical rows (``schemas.canonical.ChannelTxn``), fen, positive = towards the merchant:

- 交易代码 S22 (消费): ``kind=payment``, ``amount_minor = +交易金额``;
- S30 (退货): ``kind=refund``, ``amount_minor = −交易金额``, ``original_txn_id = 原交易查询流水号``;
- S31 (消费撤销, a void): also ``kind=refund`` with ``−交易金额`` and the original id, ``status_detail``
  saying it is a void. A void is a line of its own (its own 查询流水号) beside the purchase it
  cancels, which stays a payment: money moves back, so it is a refund-like row. A positive
  "revoked payment" would count the money twice and a negative payment breaks the sign table;
- ``fee_minor`` = 商户手续费 signed by its marker (D: charged, negative; C: returned, positive);
  ``fee_exact`` is the same in yuan (the file has no finer precision);
- ``channel_txn_id`` = 查询流水号, ``order_no`` = 商户订单号, ``merchant_account`` = 商户代码 (trimmed
  of padding; empty → null); ``currency`` CNY (A7); ``occurred_at`` from 交易传输时间 (A4);
  ``settle_date`` = ``context.business_date``; ``status`` succeeded.

结算金额 and 清算净额 are checked (A2 marker, 12 digits) but not mapped: ChannelTxn has no column for
them and their arithmetic with 交易金额 and the fee is not documented.
"""

from __future__ import annotations

import polars as pl

from schemas.canonical import ChannelTxn
from schemas.unionpay import (
    SIGN_MARKERS,
    TXN_CODES,
    VOID_CODES,
    ZM_ASSUMPTIONS,
    ZM_CURRENCY,
    ZM_FIELDS_COMMON,
    ZM_LINE_BYTES,
    ZM_SEPARATOR,
    ZM_TIME_ZONE,
    UnionPayZmRaw,
    field_offsets,
)
from transforms.adapters.template import (
    BAD_CHARACTER,
    Chunk,
    DetailBlock,
    Output,
    Problems,
    check_canonical,
    check_raw,
    frame_schema,
    local_time_expr,
    rejected_file,
)
from transforms.parsed import FileRejected, LineCounts, ParseContext, ParsedFile, Source, as_source

FORMAT = "unionpay_zm"
ROLE = "channel"
CHANNEL = "unionpay"
#: The reason code of a file that breaks one of the named assumptions.
ASSUMPTION_BROKEN = "ASSUMPTION_BROKEN"
#: GBK text is decoded as GB18030 (its superset), as for the Alipay files.
ENCODING = "gb18030"

_OFFSETS = field_offsets(ZM_FIELDS_COMMON)
_KIND = {field.name: field.kind for field in ZM_FIELDS_COMMON}
_NAMES = tuple(field.name for field in ZM_FIELDS_COMMON)
_TEXT = tuple(name for name in _NAMES if _KIND[name] == "text")
_ASCII = tuple(name for name in _NAMES if _KIND[name] in ("code", "digits", "time", "amount", "signed", "money"))
_DIGITS = tuple(name for name in _NAMES if _KIND[name] == "digits")
_SIGNED = tuple(name for name in _NAMES if _KIND[name] == "signed")
#: Fields read by the raw model: padded ids are trimmed, fixed-width numbers are taken as written.
_RAW_IDS = ("查询流水号", "商户订单号", "原交易查询流水号", "商户代码", "账号")
_RAW_EXACT = ("交易代码", "交易传输时间", "交易金额", *_SIGNED)
#: The byte after each field read (40 separators, the same in both layouts).
_SEPARATORS = tuple((name, offset + width) for name, (offset, width) in _OFFSETS.items())

_RAW_REASON_CODES: dict[str, str] = {
    "交易传输时间": "BAD_DATE",
    "交易金额": "BAD_AMOUNT",
    **dict.fromkeys(_SIGNED, "BAD_AMOUNT"),
    "查询流水号": "REQUIRED_EMPTY",
}
_CANONICAL_SCHEMA: dict[str, pl.DataType] = frame_schema(ChannelTxn)
_CODE_WORDS = ", ".join(f"{code} {words}" for code, (_, words) in TXN_CODES.items())
_LOOKS_TIME = (_OFFSETS["交易传输时间"], _OFFSETS["交易金额"])


def _field(name: str, column: str = "line") -> pl.Expr:
    offset, width = _OFFSETS[name]
    return pl.col(column).str.slice(offset, width)


def _assumption(key: str, detail: str, line: int | None = None) -> FileRejected:
    """``ASSUMPTION_BROKEN`` naming the assumption: ``assumption A1 (交易代码 values) broken: ...``."""
    return FileRejected(ASSUMPTION_BROKEN, f"assumption {key} ({ZM_ASSUMPTIONS[key].title}) broken: {detail}", line)


# -- recognising the file --------------------------------------------------------------------------


def looks_like_unionpay_zm(prefix: bytes) -> bool:
    """True when every complete line of ``prefix`` is a ZM record (a cheap, strict signature test).

    A record is exactly ``ZM_LINE_BYTES`` bytes before its line end (CRLF or LF), has a space after
    each of the 40 fields recon reads, ten ASCII digits in 交易传输时间, twelve in 交易金额 and three
    ASCII letters or digits in 交易代码. Blank lines are skipped; at least one complete record is
    needed; the last line of the prefix counts when it ends with a line end or is a whole record
    (a one-record file without a final line end). The value conventions (A1, A2) are *not* tested
    here, so a ZM file that breaks them still reaches the adapter and is rejected loudly instead of
    going unrecognised.
    """
    lines = prefix.split(b"\n")
    tail = lines.pop()  # the part after the last line end: incomplete, unless a whole record
    if len(tail.removesuffix(b"\r")) == ZM_LINE_BYTES:
        lines.append(tail)
    records = 0
    (time_at, time_width), (amount_at, amount_width) = _LOOKS_TIME
    for raw in lines:
        line = raw.removesuffix(b"\r")
        if not line.strip(b" \t"):
            continue
        if len(line) != ZM_LINE_BYTES:
            return False
        if any(line[at : at + 1] != b" " for _, at in _SEPARATORS):
            return False
        code = line[0:3]
        if not (code.isascii() and code.isalnum()):
            return False
        if not (_digits(line[time_at : time_at + time_width]) and _digits(line[amount_at : amount_at + amount_width])):
            return False
        records += 1
    return records > 0


def _digits(value: bytes) -> bool:
    return value.isascii() and value.isdigit()


# -- parsing ---------------------------------------------------------------------------------------


def parse_unionpay_zm(source: bytes | Source, source_file: str, context: ParseContext) -> ParsedFile:
    """Parse a UnionPay 全渠道 ZM file into canonical channel rows.

    Never raises on bad input: a bad line becomes quarantine entries plus one ``rejected`` row; a bad
    file sets ``file_error`` (the rows sent still hold what could be read).

    Args:
        source: the file's bytes, or a Source over them (after unpacking the download zip).
        source_file: the path relative to the date's inbox (``unionpay/x.zip!INN...ZM_...``).
        context: the settle date the file was downloaded for (every row's ``settle_date``, and the
            year of 交易传输时间), the sink for rows, the limits.

    Returns:
        A ``ParsedFile`` of format ``unionpay_zm``, role ``channel``: one ``ChannelTxn`` row per valid
        record, no control totals (the file has none: A6), physical line counts.
    """
    data = as_source(source)
    if data.size == 0:
        return _rejected(source_file, FileRejected("EMPTY_FILE", "the file is empty (0 bytes)"))
    head = data.read(0, min(data.size, 64 * 1024))
    if b"\n" not in head and b"\r" in head.rstrip(b"\r"):
        error = _assumption("A5", "the file's lines end with CR alone, not CRLF or LF", 1)
        return _rejected(source_file, error, _unread(data, context.limits.chunk_bytes))
    first = _first_record(head, data.size)
    if first is not None:
        line_no, length = first
        error = _assumption(
            "A6", f"line {line_no} is {length} bytes, not a {ZM_LINE_BYTES}-byte record (a header?)", line_no
        )
        return _rejected(source_file, error, _unread(data, context.limits.chunk_bytes))
    return _Parser(data, source_file, context).run()


def _first_record(head: bytes, size: int) -> tuple[int, int] | None:
    """(line, length) when the first non-blank line of the file is not a record, else None.

    A last line shorter than a record with no line end is left to the parser (``TRUNCATED``).
    """
    lines = head.split(b"\n")
    for index, raw in enumerate(lines):
        line = raw.removesuffix(b"\r")
        if not line.strip(b" \t"):
            continue
        cut_short = index == len(lines) - 1 and len(head) == size and len(line) < ZM_LINE_BYTES
        if len(line) == ZM_LINE_BYTES or cut_short:
            return None
        return index + 1, len(line)
    return None


def _unread(source: Source, chunk_bytes: int) -> LineCounts:
    """The lines of a file rejected before any was read: LF-terminated runs of bytes, counted in chunks."""
    lines, position, last = 0, 0, b""
    while position < source.size:
        last = source.read(position, min(source.size, position + max(chunk_bytes, 1024)))
        lines += last.count(b"\n")
        position += len(last)
    lines += 1 if last and not last.endswith(b"\n") else 0
    return LineCounts(physical=lines, unread=lines)


def _rejected(source_file: str, error: FileRejected, lines: LineCounts | None = None) -> ParsedFile:
    return rejected_file(
        source_file, error, file_format=FORMAT, role=ROLE, channel=CHANNEL, model=ChannelTxn, lines=lines
    )


class _Parser:
    """One pass over one ZM file, chunk after chunk."""

    def __init__(self, source: Source, source_file: str, context: ParseContext) -> None:
        self.source = source
        self.source_file = source_file
        self.context = context
        self.problems = Problems(source_file, context.limits.max_problem_lines)
        self.output = Output(context, ChannelTxn, source_file)
        self.accounts: set[str] = set()
        self.physical = self.data_lines = self.blank = 0
        self.errors: dict[str, FileRejected] = {}  # first error per assumption / kind, in order found
        self.last_line: tuple[int, int] | None = None  # (line, length) of the last non-blank line

    def run(self) -> ParsedFile:
        block = DetailBlock(self.source, 0, 1, chunk_bytes=self.context.limits.chunk_bytes, footer_prefix=None)
        for chunk in block.chunks():
            self.read_chunk(chunk)
        truncated = self.truncated()
        if truncated is not None:
            self.errors.setdefault("TRUNCATED", truncated)
        if self.problems.overflowed:
            self.errors["TOO_MANY"] = FileRejected(
                "TOO_MANY_BAD_ROWS", f"more than {self.problems.max_lines} bad lines: a format change, not bad rows"
            )
        errors = list(self.errors.values())
        return self.output.parsed_file(
            file_format=FORMAT, role=ROLE, channel=CHANNEL,
            quarantine=self.problems.frame(),
            file_error=errors[0] if errors else None,
            lines=LineCounts(physical=self.physical, data=self.data_lines, blank=self.blank),
            merchant_account=next(iter(self.accounts)) if len(self.accounts) == 1 else None,
        )  # fmt: skip

    def truncated(self) -> FileRejected | None:
        """TRUNCATED when the file's last record is short and has no line end (cut short)."""
        if self.last_line is None or self.source.size == 0:
            return None
        line, length = self.last_line
        ends = self.source.read(self.source.size - 1, self.source.size) == b"\n"
        if ends or length >= ZM_LINE_BYTES:
            return None
        return FileRejected(
            "TRUNCATED", f"the last line {line} is {length} of {ZM_LINE_BYTES} bytes and has no line end (file cut short?)",
            line,
        )  # fmt: skip

    # -- one chunk ------------------------------------------------------------------------------

    def read_chunk(self, chunk: Chunk) -> None:
        """Cut a chunk into lines and fields with expressions, check them, convert, send on."""
        self.physical += chunk.line_count
        text = chunk.data.decode("latin-1")  # one character per byte: slices below are byte slices
        lines = (
            pl.Series("line", [text]).str.split("\n").explode().head(chunk.line_count).str.strip_suffix("\r")
        )
        frame = pl.DataFrame([lines]).with_columns(
            source_line=pl.int_range(chunk.first_line, chunk.first_line + chunk.line_count, dtype=pl.Int64),
            length=pl.col("line").str.len_chars(),
        )
        blank = frame["line"].str.strip_chars(" \t").str.len_chars() == 0
        self.blank += int(blank.sum())
        frame = frame.filter(~blank)
        if frame.height == 0:
            return
        self.data_lines += frame.height
        self.last_line = (frame["source_line"][-1], frame["length"][-1])
        if self.problems.overflowed:  # the file is rejected: account for its lines, read no further
            self.problems.undescribed += frame.height
            self.output.rejected(self.best_effort(frame))
            return

        records = self.records(frame)
        records = self.check_structure(records)
        records = self.check_conventions(records)
        records = self.decode_text(records)
        raw = records.select(
            *(_field(name).alias(name) for name in _RAW_EXACT),
            *(_field(name).str.strip_chars(" ").alias(name) for name in _RAW_IDS),
            "source_line",
        )
        valid = check_raw(self.problems, raw, UnionPayZmRaw, reason_codes=_RAW_REASON_CODES, amount_scales={})
        valid = valid.join(records.select("source_line", *_TEXT), on="source_line")
        rows = check_canonical(self.problems, self.to_canonical(valid), ChannelTxn)
        self.accounts.update(rows["merchant_account"].drop_nulls().unique().to_list())
        self.output.rows(rows)
        if rows.height < frame.height:
            self.output.rejected(self.best_effort(frame.join(rows.select("source_line"), on="source_line", how="anti")))

    def records(self, frame: pl.DataFrame) -> pl.DataFrame:
        """The lines of the record length; every other line is quarantined (FIELD_COUNT / LIMIT_EXCEEDED)."""
        right = pl.col("length") == ZM_LINE_BYTES
        wrong = frame.filter(~right)
        limit = self.context.limits.max_line_bytes
        for line_no, line, length in wrong.select("source_line", "line", "length").iter_rows():
            shown = _shown(line[:200])
            if length > limit:
                self.problems.add(line_no, None, shown, "LIMIT_EXCEEDED",
                                  f"line of {length} bytes, over the {limit} byte limit")  # fmt: skip
            else:
                self.problems.add(line_no, None, shown, "FIELD_COUNT",
                                  f"line {line_no} is {length} bytes; a ZM record is {ZM_LINE_BYTES}")  # fmt: skip
        return frame.filter(right) if wrong.height else frame

    def check_structure(self, records: pl.DataFrame) -> pl.DataFrame:
        """Separators (A8), ASCII in the code and number fields, digits in the digit fields."""
        separators_ok = pl.concat_str([pl.col("line").str.slice(at, 1) for _, at in _SEPARATORS]) == ZM_SEPARATOR * len(
            _SEPARATORS
        )
        ascii_ok = pl.all_horizontal(~_field(name).str.contains(r"[^\x20-\x7e]") for name in _ASCII)
        digits_ok = pl.all_horizontal(_field(name).str.contains(r"^[0-9]* *$") for name in _DIGITS)
        flagged = records.with_columns(ok=separators_ok & ascii_ok & digits_ok)
        bad = flagged.filter(~pl.col("ok"))
        for row in bad.iter_rows(named=True):
            line_no, line = row["source_line"], row["line"]
            for name, at in _SEPARATORS:
                if line[at] != ZM_SEPARATOR:
                    self.problems.add(
                        line_no, name, _shown(line[at]), "FORMAT_VIOLATION",
                        f"byte {at + 1} after {name} is not a space (assumption A8: fields are separated by one space)",
                    )  # fmt: skip
                    break
            for name in _ASCII:
                offset, width = _OFFSETS[name]
                value = line[offset : offset + width]
                if any(not 0x20 <= ord(char) <= 0x7E for char in value):
                    self.problems.add(line_no, name, _shown(value), "BAD_CHAR",
                                      f"{name}: a byte that is not printable ASCII")  # fmt: skip
                elif name in _DIGITS and not value.rstrip(" ").isdigit() and value.strip(" "):
                    self.problems.add(line_no, name, value, "FORMAT_VIOLATION", f"{name}: not ASCII digits")
        return flagged.filter(pl.col("ok")).drop("ok") if bad.height else flagged.drop("ok")

    def check_conventions(self, records: pl.DataFrame) -> pl.DataFrame:
        """A1 (known 交易代码) and A2 (C/D markers): a line that breaks one is quarantined, the file rejected."""
        code = _field("交易代码")
        marker_ok = pl.all_horizontal(_field(name).str.slice(0, 1).is_in(list(SIGN_MARKERS)) for name in _SIGNED)
        flagged = records.with_columns(code_ok=code.is_in(list(TXN_CODES)), marker_ok=marker_ok)
        bad = flagged.filter(~(pl.col("code_ok") & pl.col("marker_ok")))
        for row in bad.iter_rows(named=True):
            line_no, line = row["source_line"], row["line"]
            if not row["code_ok"]:
                value = line[0:3]
                self.problems.add(line_no, "交易代码", _shown(value), "UNKNOWN_ENUM",
                                  f"交易代码 {_shown(value)!r} is none of {_CODE_WORDS} (assumption A1)")  # fmt: skip
                self.errors.setdefault("A1", _assumption(
                    "A1", f"line {line_no} has 交易代码 {_shown(value)!r}; known: {_CODE_WORDS}", line_no
                ))  # fmt: skip
            for name in _SIGNED:
                offset, width = _OFFSETS[name]
                value = line[offset : offset + width]
                if value[:1] not in SIGN_MARKERS:
                    self.problems.add(line_no, name, _shown(value), "BAD_AMOUNT",
                                      f"{name}: marker {_shown(value[:1])!r} is not C or D (assumption A2)")  # fmt: skip
                    self.errors.setdefault("A2", _assumption(
                        "A2", f"line {line_no} {name} is {_shown(value)!r}; its first byte must be C or D", line_no
                    ))  # fmt: skip
        return flagged.filter(pl.col("code_ok") & pl.col("marker_ok")).drop("code_ok", "marker_ok")

    def decode_text(self, records: pl.DataFrame) -> pl.DataFrame:
        """The GBK text fields, decoded: one decode call per field and chunk; bad lines quarantined."""
        decoded = records.with_columns(_field(name).alias(name) for name in _TEXT)
        bad: set[int] = set()
        for name in _TEXT:
            column = decoded[name]
            if not column.str.contains(r"[^\x00-\x7f]").any():
                continue
            # 0x0A is never part of a GB18030 character, and no record holds one: a safe joint
            joined = column.str.join("\n")[0].encode("latin-1").decode(ENCODING, errors="replace").split("\n")
            if len(joined) != decoded.height:  # pragma: no cover - a replacement swallowed a joint
                joined = [value.encode("latin-1").decode(ENCODING, errors="replace") for value in column]
            texts = pl.Series(name, joined, pl.String)
            undecodable = texts.str.contains("\ufffd", literal=True) & ~column.str.contains("\ufffd", literal=True)
            for line_no, value in decoded.select("source_line", name).filter(undecodable).iter_rows():
                self.problems.add(
                    line_no, name, value.encode("latin-1").decode(ENCODING, errors="backslashreplace"), "DECODE_ERROR",
                    f"{name}: bytes that are not valid GBK",
                )  # fmt: skip
                bad.add(line_no)
            decoded = decoded.with_columns(texts.alias(name))
        decoded = decoded.with_columns(pl.col(name).str.strip_chars(" ") for name in _TEXT)
        odd = decoded.filter(pl.any_horizontal(pl.col(name).str.contains(BAD_CHARACTER) for name in _TEXT))
        for row in odd.iter_rows(named=True):
            for name in _TEXT:
                if row["source_line"] not in bad and pl.Series([row[name]]).str.contains(BAD_CHARACTER)[0]:
                    self.problems.add(row["source_line"], name, row[name], "BAD_CHAR",
                                      f"{name}: a control, private-use or invisible layout character")  # fmt: skip
                    bad.add(row["source_line"])
        return decoded.filter(~pl.col("source_line").is_in(list(bad))) if bad else decoded

    # -- canonical rows -------------------------------------------------------------------------

    def to_canonical(self, valid: pl.DataFrame) -> pl.DataFrame:
        """Map raw-valid records to ``ChannelTxn`` rows; quarantine bad dates and refunds without an original."""
        code = pl.col("交易代码")
        refund = code.replace_strict({c: kind == "refund" for c, (kind, _) in TXN_CODES.items()}, return_dtype=pl.Boolean)
        void = code.is_in(list(VOID_CODES))
        occurred = local_time_expr(self.year_expr() + pl.col("交易传输时间"), ZM_TIME_ZONE, "%Y%m%d%H%M%S")
        checks = valid.with_columns(
            refund=refund, occurred_at=occurred, no_original=refund & (pl.col("原交易查询流水号") == "")
        )
        broken = pl.col("occurred_at").is_null() | pl.col("no_original")
        for row in checks.filter(broken).iter_rows(named=True):
            line_no = row["source_line"]
            if row["occurred_at"] is None:
                self.problems.add(line_no, "交易传输时间", row["交易传输时间"], "BAD_DATE",
                                  "交易传输时间 is no real date and time (MMDDhhmmss, assumption A4)")  # fmt: skip
            if row["no_original"]:
                self.problems.add(line_no, "原交易查询流水号", "", "REQUIRED_EMPTY",
                                  f"a {TXN_CODES[row['交易代码']][1]} line needs its 原交易查询流水号")  # fmt: skip
        kept = checks.filter(~broken) if checks.height else checks

        sign = pl.when(pl.col("refund")).then(-1).otherwise(1)
        fee = _signed_units("商户手续费")
        none = pl.lit(None, pl.String())

        def present(name: str) -> pl.Expr:
            return pl.when(pl.col(name) != "").then(pl.col(name)).otherwise(none)

        exprs = {
            "channel": pl.lit(CHANNEL),
            "merchant_account": present("商户代码"),
            "channel_txn_id": pl.col("查询流水号"),
            "order_no": present("商户订单号"),
            "original_txn_id": pl.when(pl.col("refund")).then(present("原交易查询流水号")).otherwise(none),
            "kind": pl.when(pl.col("refund")).then(pl.lit("refund")).otherwise(pl.lit("payment")),
            "amount_minor": sign * pl.col("交易金额").cast(pl.Int64),
            "fee_minor": fee,
            "fee_exact": fee.cast(_CANONICAL_SCHEMA["fee_exact"]) / 100,
            "order_amount_minor": pl.lit(None, pl.Int64),
            "discount_minor": pl.lit(None, pl.Int64),
            "currency": pl.lit(ZM_CURRENCY),
            "settle_amount_minor": pl.lit(None, pl.Int64),
            "settle_currency": none,
            "fx_rate": pl.lit(None, _CANONICAL_SCHEMA["fx_rate"]),
            "occurred_at": pl.col("occurred_at"),
            "settle_date": pl.lit(self.context.business_date, pl.Date()),
            "status": pl.lit("succeeded"),
            "status_detail": pl.when(void).then(pl.lit("void: 交易代码 ") + code + " 消费撤销").otherwise(none),
            "buyer_id": present("账号"),
            "source_file": pl.lit(self.source_file),
            "source_line": pl.col("source_line"),
        }
        return kept.select(**exprs).cast(_CANONICAL_SCHEMA)  # type: ignore[arg-type]

    def year_expr(self) -> pl.Expr:
        """Assumption A4: the settle date's year, or the one before / after across a year end."""
        settle = self.context.business_date
        month = pl.col("交易传输时间").str.slice(0, 2).cast(pl.Int32, strict=False)
        year = (
            pl.lit(settle.year, pl.Int32)
            - (month - settle.month > 6).cast(pl.Int32)
            + (settle.month - month > 6).cast(pl.Int32)
        )
        return year.cast(pl.String)

    def best_effort(self, bad: pl.DataFrame) -> pl.DataFrame:
        """Whatever can be read of quarantined lines, for their ``rejected`` rows (nulls elsewhere)."""
        whole = pl.col("length") == ZM_LINE_BYTES

        def ident(name: str) -> pl.Expr:
            value = _field(name).str.strip_chars(" ")
            return pl.when(whole & (value != "") & value.str.contains(r"^[\x21-\x7e]+$")).then(value)

        code = _field("交易代码")
        kind = code.replace_strict({c: k for c, (k, _) in TXN_CODES.items()}, default=None, return_dtype=pl.String)
        amount_text = _field("交易金额")
        units = pl.when(amount_text.str.contains(r"^[0-9]{12}$")).then(amount_text.cast(pl.Int64, strict=False))
        return bad.select(
            source_file=pl.lit(self.source_file),
            source_line="source_line",
            channel=pl.lit(CHANNEL),
            channel_txn_id=ident("查询流水号"),
            order_no=ident("商户订单号"),
            kind=pl.when(whole).then(kind),
            amount_minor=pl.when(whole & (kind == "refund")).then(-units).when(whole & kind.is_not_null()).then(units),
            currency=pl.lit(ZM_CURRENCY),
        )


def _signed_units(name: str) -> pl.Expr:
    """Assumption A2: ``C000000000123`` → +123, ``D000000000123`` → −123 (fen, towards the merchant)."""
    text = pl.col(name)
    sign = text.str.slice(0, 1).replace_strict(SIGN_MARKERS, return_dtype=pl.Int64)
    return sign * text.str.slice(1).cast(pl.Int64)


def _shown(value: str) -> str:
    """A latin-1 slice of the file shown as text: GBK where it decodes, escapes where it does not."""
    return value.encode("latin-1").decode(ENCODING, errors="backslashreplace")
