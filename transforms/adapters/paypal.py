"""PayPal Settlement Report (STL, version 009 column set) → canonical channel rows (FORMATS §6.1).

The file: UTF-8 (one BOM at the start stripped), CRLF or LF, comma-separated (a tab-separated
variant is read the same way). Every line starts with a quoted row-type code, in this order::

    RH  report header   "RH",<generated>,"A","<account id>",009,
    FH  file header     "FH",01
    then one or more sections:
    SH  section header  "SH",<window start>,<window end>,"<account id>",...
    CH  column header   "CH","Transaction ID","Invoice ID",...   (names the SB columns)
    SB  section body    one per balance-affecting transaction (the bulk of the file)
    SF  section footer  per currency (0..n)
    SC  section count   "SC",<SB lines of the section>
    RF  report footer   per currency (0..n)
    RC  report count    "RC",<SB lines of the report>
    FF  file footer     "FF",<physical lines of the file>

Varchar fields are double-quoted (``""`` inside one is a ``"``), numbers and dates are not. Quotes
never span lines, so a line whose quotes do not pair up is quarantined (``FORMAT_VIOLATION``), never
joined to the next. A file that ends before its ``SC``/``RC``/``FF`` lines is ``TRUNCATED``.

Read with the columnar template: the SB lines stream in chunks of ``limits.chunk_bytes``; each chunk is
one Polars read (one text column per physical line), split into fields by one regular expression over
the whole column (quoted fields honoured), checked and converted with expressions; only lines that
break the structure take the per-line path that names the problem. SB fields are read by their ``CH``
name, matched with whitespace collapsed (Magento's parser spells ``Transaction  Debit or Credit`` with
two spaces); the columns of ``schemas.paypal.PAYPAL_STL_REQUIRED_COLUMNS`` are required
(``MISSING_COLUMN``), other columns are allowed (PayPal adds columns between report versions).

Money is written as unsigned integers in the currency's minor unit, its direction in the CR/DR column
beside it (CR = towards the merchant); ``12.50``, ``-100`` or ``1,000`` are ``BAD_AMOUNT``, never
guessed. The currency must be in ``schemas.currency.CURRENCY_EXPONENT`` (else ``BAD_CURRENCY``) and
the fee currency must equal the gross currency (else ``BAD_CURRENCY``). Times
``yyyy/mm/dd hh:mm:ss ±hhmm`` are local time of the account with its offset, which follows daylight
saving time (``-0800`` in winter, ``-0700`` in summer): converted to UTC with the offset as written.

Canonical rows (``schemas.canonical.ChannelTxn``), signed towards the merchant:

- ``amount_minor`` = +gross for CR, −gross for DR, in ``currency`` = Gross Transaction Currency;
  ``fee_minor`` = −fee for DR (charged), +fee for CR (returned), 0 for an empty fee (allowed on the
  T02 conversion and T04 withdrawal groups only); ``fee_exact`` the same in major units;
- ``kind`` from the T-code's event group (:data:`KIND_BY_T_GROUP`, PayPal's T-code reference:
  "the event group portion of the T-code is sufficient for reconciliation and report parsing");
  an unknown group is quarantined ``UNKNOWN_ENUM`` naming the code;
- ``channel_txn_id`` = Transaction ID; ``order_no`` = Invoice ID (null when empty);
  ``original_txn_id`` = PayPal Reference ID when its type is ``TXN`` (refunds, conversions,
  chargebacks: the payment they refer to), and the Bank Reference ID on a payout (the id the bank
  statement shows);
- ``merchant_account`` = the account id of the RH line; ``settle_date`` = the run's business date;
  ``settle_currency``/``settle_amount_minor``/``fx_rate`` null (each row settles in its own currency;
  a conversion is its own pair of T0200 rows); ``status`` succeeded (the STL lists only completed,
  balance-affecting events).

A payment that is a debit (a T00 payment the account sent) and a refund that is a credit break the sign
table and are quarantined ``SIGN_VIOLATION``.

Control totals (``ControlTotal``, ``CONTROL_TOTAL_MISMATCH`` when one disagrees), in minor units:
per currency of each ``SF`` (the section's SB lines) and ``RF`` (all SB lines): gross credits, gross
debits, fee credits, fee debits, and ending balance = beginning + gross credits − gross debits + fee
credits − fee debits; ``SC`` and ``RC`` = the SB lines of the section / report; ``FF`` = the file's
physical lines. A sum over lines of which one amount (or its currency or direction) cannot be read is
not verifiable (``parsed`` None), never a guess.

Named assumptions:

- **SF layout reconstructed, FORMATS.md §6.1 [I].** The field order of ``SF``/``RF`` was not retrieved
  from PayPal's specification; this adapter reads the sample's layout
  ``"SF","<CCY>","CR",<gross credits>,"DR",<gross debits>,"CR",<fee credits>,"DR",<fee debits>,
  "CR"|"DR",<beginning>,"CR"|"DR",<ending>`` (one line per currency) and the counts of ``SC``/``RC``/
  ``FF`` as described above. A footer line of any other shape is not guessed at: it is recorded as
  not verifiable in ``ParsedFile.facts`` (key ``"<row type> line <n> not verifiable: <why>"``, value
  None) and checks nothing.
- **Minor units per ISO 4217.** The integer is taken in the minor unit of ``CURRENCY_EXPONENT`` (JPY 0,
  KWD 3); FORMATS.md's JPY example (``100,00 JPY`` → ``10000``) is ambiguous on zero-decimal
  currencies and no sample holds one.
- **T11 is refunds.** The whole T11 group (reversals) maps to ``refund``, as the group is meant to be
  enough for parsing. A T11 credit (a reversal in the merchant's favour) is quarantined
  ``SIGN_VIOLATION`` rather than booked as a positive refund; a T11 debit that is not a payment refund
  (a hold, if the report lists one) would be booked as a refund. Splitting the group needs PayPal's
  code list per T11 code, which was not verified here.
- **Statement date.** The report's window is the union of its SH windows (local dates of the
  account); the run's business date must fall in it (else ``WRONG_DATE``). Without a readable window
  the rows' local dates decide, as for the WeChat bill.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

import polars as pl

from schemas.canonical import ChannelTxn
from schemas.identifiers import ID_TEXT
from schemas.paypal import (
    MINOR_UNITS,
    PAYPAL_STL_OPTIONAL_COLUMNS,
    PAYPAL_STL_REQUIRED_COLUMNS,
    STL_TIMESTAMP_FORMAT,
    PayPalSettlementRaw,
)
from transforms.adapters.template import (
    BAD_CHARACTER,
    BOM,
    Chunk,
    DetailBlock,
    Output,
    Problems,
    check_canonical,
    check_raw,
    control_total_error,
    frame_schema,
    may_hold_bad_characters,
    rejected_file,
)
from transforms.money import CURRENCY_EXPONENT
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

FORMAT = "paypal_stl"
ROLE = "channel"
CHANNEL = "paypal"

#: T-code event group (``T`` + 2 digits) → canonical kind. PayPal's T-code reference
#: (developer.paypal.com/docs/reports/reference/tcodes/, and /docs/transaction-search/transaction-event-codes)
#: lists the codes by group, T00nn being account-to-account payments (T0006 PayPal Checkout); FORMATS §6.1
#: names T0200 currency conversion, T0400 withdrawal to bank, T1107 payment refund and T1201 chargeback; T01nn
#: are PayPal's non-payment-related fees. Any other group is quarantined ``UNKNOWN_ENUM``.
KIND_BY_T_GROUP: dict[str, str] = {
    "T00": "payment",
    "T01": "fee",
    "T02": "conversion",
    "T04": "payout",
    "T11": "refund",
    "T12": "adjustment",
}
#: Groups whose lines carry no fee (the fee columns empty): the fee is 0.
EMPTY_FEE_GROUPS: tuple[str, ...] = ("T02", "T04")

_LINE_LIMIT = 64 * 1024  # a header or footer line longer than this is no header or footer line
_CANONICAL_SCHEMA: dict[str, pl.DataType] = frame_schema(ChannelTxn)
_RAW_REASON_CODES: dict[str, str] = {
    "Transaction ID": "REQUIRED_EMPTY",
    "Transaction Event Code": "UNKNOWN_ENUM",
    "Transaction Initiation Date": "BAD_DATE",
    "Transaction Debit or Credit": "UNKNOWN_ENUM",
    "Gross Transaction Amount": "BAD_AMOUNT",
    "Gross Transaction Currency": "BAD_CURRENCY",
    "Fee Debit or Credit": "UNKNOWN_ENUM",
    "Fee Amount": "BAD_AMOUNT",
    "Fee Currency": "BAD_CURRENCY",
}
_MEASURES = ("gross credits", "gross debits", "fee credits", "fee debits")
#: Bytes tried, in order, as the separator of a one-column read (a chunk never holds all of them).
_ONE_COLUMN = (0x1F, 0x1E, 0x1D, 0x1C, *range(0x01, 0x09), 0x0B, 0x0C, *range(0x0E, 0x1C), 0x7F)
#: A line that ends a section body: it starts with a double quote but is not an SB line.
_NOT_SB = re.compile(rb'(?m)^"(?!SB")')


def _field_patterns(separator: str) -> tuple[str, str]:
    """(a whole well-quoted line, one field with the separator before it) for ``separator``."""
    sep = re.escape(separator)
    one = rf'(?:"(?:[^"]|"")*"|[^{sep}"]*)'
    return rf"^{one}(?:{sep}{one})*$", rf"(?:^|{sep}){one}"


def split_stl_line(text: str, separator: str = ",") -> list[str] | None:
    """The fields of one STL line, quotes removed (``""`` → ``"``); None when its quotes do not pair up.

    >>> split_stl_line('"SB","a,b",12,,"say ""hi"" now"')
    ['SB', 'a,b', '12', '', 'say "hi" now']
    """
    whole, one = _field_patterns(separator)
    if re.fullmatch(whole, text) is None:
        return None
    return [_unquote(part.removeprefix(separator) if index else part)
            for index, part in enumerate(re.findall(one, text))]  # fmt: skip


def _unquote(text: str) -> str:
    return text[1:-1].replace('""', '"') if text.startswith('"') else text


def _unquote_expr(text: pl.Expr) -> pl.Expr:
    inner = text.str.slice(1, text.str.len_chars() - 2).str.replace_all('""', '"', literal=True)
    return pl.when(text.str.starts_with('"')).then(inner).otherwise(text)


def _column_key(name: str) -> str:
    """A CH column name compared whitespace-insensitively: runs of whitespace are one space."""
    return " ".join(name.split())


def looks_like_paypal_stl(data: bytes) -> bool:
    """True when the first line starts with the STL report header ``"RH"`` (BOM allowed)."""
    first = data[:64].removeprefix(BOM)
    return first.startswith((b'"RH",', b'"RH"\t'))


def parse_paypal_stl(source: bytes | Source, source_file: str, context: ParseContext) -> ParsedFile:
    """Parse a PayPal Settlement Report (STL) into canonical channel rows.

    Never raises on bad input: a bad SB line becomes quarantine entries plus one ``rejected`` row, a
    bad file sets ``file_error`` (the rows sent so far still hold what could be read).

    Args:
        source: the file's bytes, or a Source over them (after unpacking).
        source_file: the path relative to the date's inbox (``paypal/STL-20260302.01.009.CSV``).
        context: the business date of the run (every row's ``settle_date``; it must lie in the
            report's SH window), the sink for rows, the limits.

    Returns:
        A ``ParsedFile`` of format ``paypal_stl``, role ``channel``: one ``ChannelTxn`` row per valid SB
        line (minor units, signed towards the merchant), the SF/SC/RF/RC/FF figures as control totals
        in minor units and line counts, and the RH account as ``merchant_account``.
    """
    data = as_source(source)
    if data.size == 0:
        return _rejected(source_file, FileRejected("EMPTY_FILE", "the file is empty (0 bytes)"))
    try:
        return _Parser(data, source_file, context).run()
    except FileRejected as exc:  # the structure could not be read at all: nothing of the file is usable
        return _rejected(source_file, exc, lines=_unread_lines(data))


def _rejected(source_file: str, error: FileRejected, lines: LineCounts | None = None) -> ParsedFile:
    return rejected_file(
        source_file, error, file_format=FORMAT, role=ROLE, channel=CHANNEL, model=ChannelTxn, lines=lines
    )


def _unread_lines(source: Source) -> LineCounts:
    """Every physical line of a file rejected before its lines had a role (LF-terminated runs)."""
    count, position, last = 0, 0, b""
    while position < source.size:
        block = source.read(position, min(source.size, position + 1024 * 1024))
        count += block.count(b"\n")
        position += len(block)
        last = block
    count += 1 if last and not last.endswith(b"\n") else 0
    return LineCounts(physical=count, unread=count)


# -- the lines around the SB blocks ------------------------------------------------------------------


@dataclass
class _Line:
    """One header or footer line: its number, text, fields (None: quotes do not pair up)."""

    number: int
    text: str
    fields: list[str] | None

    @property
    def row_type(self) -> str | None:
        return self.fields[0] if self.fields else None


class _LineReader:
    """Reads the few lines around the SB blocks one at a time, from a byte offset."""

    def __init__(self, source: Source, separator: str) -> None:
        self.source = source
        self.separator = separator
        self.offset = 0
        self.line_no = 0  # physical lines consumed so far

    def next(self) -> _Line | None:
        """The next physical line, or None at the end of the file."""
        size = self.source.size
        if self.offset >= size:
            return None
        data = self.source.read(self.offset, min(size, self.offset + _LINE_LIMIT + 2))
        end = data.find(b"\n")
        if end == -1 and self.offset + len(data) < size:
            raise FileRejected(
                "HEADER_MISMATCH" if self.line_no < 4 else "FOOTER_INVALID",
                f"line {self.line_no + 1} is longer than {_LINE_LIMIT} bytes: not an STL header or footer line",
                self.line_no + 1,
            )
        raw = data if end == -1 else data[:end]
        self.offset += len(raw) + (0 if end == -1 else 1)
        self.line_no += 1
        raw = raw.removesuffix(b"\r")
        if self.line_no == 1:
            raw = raw.removeprefix(BOM)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise FileRejected(
                "DECODE_ERROR", f"not valid utf-8 at line {self.line_no}: {exc.reason}", self.line_no
            ) from None
        return _Line(self.line_no, text, split_stl_line(text, self.separator))


class _SectionBody(DetailBlock):
    """The SB lines of one section, in chunks, up to the first line that starts with ``"`` but not ``"SB"``."""

    def _footer_in(self, data: bytes, position: int) -> int | None:
        found = _NOT_SB.search(data)  # one C-speed scan per chunk, no Python per line
        return found.start() if found else None


# -- running sums per currency -----------------------------------------------------------------------


@dataclass
class _CurrencySums:
    """Gross and fee credits and debits per currency over SB lines, in minor units (None: unverifiable)."""

    sums: dict[tuple[str, str], int] = field(default_factory=dict)
    unreadable: set[tuple[str, str]] = field(default_factory=set)  # (currency, "gross"/"fee")
    unreadable_everywhere: set[str] = field(default_factory=set)  # "gross"/"fee": currency unknown
    lines: int = 0

    def add(self, moves: pl.DataFrame) -> None:
        """Add moves: columns ``currency``, ``part`` (gross/fee), ``direction``, ``units`` (null: unreadable)."""
        readable = (
            pl.col("units").is_not_null()
            & pl.col("currency").is_not_null()
            & pl.col("direction").fill_null("").is_in(["CR", "DR"])
        )
        unread = moves.filter(~readable)
        for currency, part in unread.select("currency", "part").unique().iter_rows():
            if currency is None:
                self.unreadable_everywhere.add(part)
            else:
                self.unreadable.add((currency, part))
        totals = (
            moves.filter(readable)
            .group_by("currency", "part", "direction")
            .agg(pl.col("units").cast(pl.Int128).sum())
        )
        for currency, part, direction, units in totals.iter_rows():
            key = (currency, f"{part} {'credits' if direction == 'CR' else 'debits'}")
            self.sums[key] = self.sums.get(key, 0) + int(units)

    def currencies(self) -> set[str]:
        return {currency for currency, _ in self.sums} | {currency for currency, _ in self.unreadable}

    def get(self, currency: str, measure: str) -> int | None:
        part = measure.split()[0]
        if part in self.unreadable_everywhere or (currency, part) in self.unreadable:
            return None
        return self.sums.get((currency, measure), 0)


# -- the parser --------------------------------------------------------------------------------------


class _Parser:
    """One pass over one report: header lines, then per section its SB chunks and footer, then the end."""

    def __init__(self, source: Source, source_file: str, context: ParseContext) -> None:
        self.source = source
        self.source_file = source_file
        self.context = context
        self.problems = Problems(source_file, context.limits.max_problem_lines)
        self.output = Output(context, ChannelTxn, source_file)
        self.separator = ","
        self.reader = _LineReader(source, self.separator)
        self.errors: list[FileRejected] = []
        self.controls: list[ControlTotal] = []
        self.facts: dict[str, Decimal | None] = {}
        self.account: str | None = None
        self.windows: list[tuple[date, date]] = []
        self.dates: set[date] = set()
        self.report = _CurrencySums()
        self.section = _CurrencySums()
        self.header_lines = self.footer_lines = self.blank = self.data_lines = self.body_physical = 0
        self.unread = 0
        self.positions: dict[str, int] = {}
        self.column_names: list[str] = []  # every CH name by position (position 0: the row type)
        self.width = 0
        self.pushed_back: _Line | None = None

    # -- the pass -------------------------------------------------------------------------------

    def run(self) -> ParsedFile:
        self.read_report_header()
        section = 1
        try:
            while True:
                self.read_section_header(section)
                if not self.read_body(section):
                    break
                after = self.read_section_footer(section)
                if after is None:
                    break
                if after.row_type == "SH":
                    self.pushed_back = after
                    section += 1
                    continue
                self.read_report_footer(after)
                break
        except FileRejected as exc:  # undecodable text or a line too long: the rows read are unusable
            self.output.discard()
            return _rejected(self.source_file, exc, lines=_unread_lines(self.source))
        return self.result()

    def result(self) -> ParsedFile:
        errors = list(self.errors)
        mismatch = control_total_error(
            self.controls, line=None, template="{name}: footer says {footer}, rows give {parsed}"
        )
        if mismatch is not None:
            errors.append(mismatch)
        wrong_date = self.wrong_date()
        if wrong_date is not None:
            errors.insert(0, wrong_date)
        if self.problems.overflowed:
            errors.insert(0, FileRejected(
                "TOO_MANY_BAD_ROWS",
                f"more than {self.problems.max_lines} bad lines: a format change, not bad rows",
            ))  # fmt: skip
        physical = self.reader.line_no  # the reader has gone to the end of the file by now
        return self.output.parsed_file(
            file_format=FORMAT, role=ROLE, channel=CHANNEL,
            quarantine=self.problems.frame(),
            controls=tuple(self.controls),
            file_error=errors[0] if errors else None,
            lines=LineCounts(
                physical=physical, data=self.data_lines, header=self.header_lines, footer=self.footer_lines,
                blank=self.blank, unread=self.unread,
            ),
            statement_date=self.statement_date(),
            merchant_account=self.account,
            facts=self.facts,
        )  # fmt: skip

    # -- header lines ---------------------------------------------------------------------------

    def next_line(self) -> _Line | None:
        """The next non-blank line outside the SB blocks (blank lines are counted)."""
        if self.pushed_back is not None:
            pushed, self.pushed_back = self.pushed_back, None
            return pushed
        while True:
            line = self.reader.next()
            if line is None or line.text.strip(" \t"):
                return line
            self.blank += 1

    def read_report_header(self) -> None:
        first = self.source.read(0, min(self.source.size, 8)).removeprefix(BOM)
        if first.startswith((b"\xff\xfe", b"\xfe\xff")):
            raise FileRejected(
                "HEADER_MISMATCH", "the file is UTF-16; a PayPal STL report is read as UTF-8", 1
            )
        if first.startswith(b'"RH"\t'):
            self.separator = self.reader.separator = "\t"
        elif not first.startswith(b'"RH",'):
            raise FileRejected(
                "HEADER_MISMATCH",
                f"not a PayPal STL report: line 1 does not start with '\"RH\",' ({first!r})",
                1,
            )
        rh = self.expect("RH", "the report header")
        if len(rh.fields or ()) < 4:
            raise FileRejected("HEADER_MISMATCH", "the RH line has no account id (4th field)", rh.number)
        account = (rh.fields or [])[3]
        if account and re.fullmatch(ID_TEXT, account) is None:
            raise FileRejected("BAD_CHAR", f"the RH account id {account!r} is not printable ASCII", rh.number)
        self.account = account or None
        self.expect("FH", "the file header")

    def expect(self, row_type: str, what: str) -> _Line:
        """The next line, which must be of ``row_type`` (else HEADER_MISMATCH, TRUNCATED at the end)."""
        line = self.next_line()
        if line is None:
            raise FileRejected(
                "TRUNCATED", f"the file ends before {what} ({row_type}) on line {self.reader.line_no + 1}",
                self.reader.line_no,
            )  # fmt: skip
        if line.row_type != row_type:
            found = line.row_type if line.fields is not None else line.text[:20]
            raise FileRejected(
                "HEADER_MISMATCH",
                f"line {line.number} should be {what} ({row_type}), found {found!r}",
                line.number,
            )
        self.header_lines += 1
        return line

    def read_section_header(self, section: int) -> None:
        sh = self.expect("SH", f"the header of section {section}")
        self.read_window(sh)
        ch = self.expect("CH", f"the column header of section {section}")
        names = [_column_key(name) for name in (ch.fields or [])[1:]]
        duplicates = sorted(
            {name for name in names if names.count(name) > 1 and name in PAYPAL_STL_REQUIRED_COLUMNS}
        )
        if duplicates:
            raise FileRejected(
                "DUP_COLUMN", f"the CH line repeats column(s) {', '.join(duplicates)}", ch.number
            )
        missing = [name for name in PAYPAL_STL_REQUIRED_COLUMNS if name not in names]
        if len(missing) == len(PAYPAL_STL_REQUIRED_COLUMNS):
            raise FileRejected(
                "HEADER_MISMATCH", f"the CH line on line {ch.number} names none of the STL columns", ch.number
            )
        if missing:
            raise FileRejected(
                "MISSING_COLUMN", f"the CH line lacks column(s) {', '.join(missing)}", ch.number
            )
        self.positions = {name: names.index(name) + 1 for name in PAYPAL_STL_REQUIRED_COLUMNS}
        self.positions.update(
            {name: names.index(name) + 1 for name in PAYPAL_STL_OPTIONAL_COLUMNS if names.count(name) == 1}
        )
        self.column_names = ["row type", *names]
        self.width = len(names) + 1

    def read_window(self, sh: _Line) -> None:
        """The SH window's first and last local dates (none when it cannot be read: noted in facts)."""
        fields = sh.fields or []
        try:
            start, end = (datetime.strptime(text, STL_TIMESTAMP_FORMAT) for text in fields[1:3])
        except ValueError:  # too few fields, or not the documented timestamp
            self.facts[f"SH line {sh.number} not verifiable: no readable report window"] = None
            return
        if end < start:
            self.facts[f"SH line {sh.number} not verifiable: the window ends before it starts"] = None
            return
        self.windows.append((start.date(), end.date()))

    # -- the SB lines ---------------------------------------------------------------------------

    def read_body(self, section: int) -> bool:
        """Read the section's SB lines in chunks; False when the file ends inside them (TRUNCATED)."""
        self.section = _CurrencySums()
        start_line = self.reader.line_no + 1
        before = self.body_physical
        body = _SectionBody(
            self.source, self.reader.offset, start_line, chunk_bytes=self.context.limits.chunk_bytes,
            footer_prefix=b'"',
        )  # fmt: skip
        for chunk in body.chunks():
            self.body_physical += chunk.line_count
            self.read_chunk(chunk)
        if body.footer_offset is None or body.footer_line is None:
            self.reader.offset = self.source.size
            self.reader.line_no = start_line - 1 + self.body_physical - before
            self.errors.append(FileRejected(
                "TRUNCATED",
                f"the file ends after the SB lines of section {section} (line {self.reader.line_no}) "
                "without its SC, RC and FF lines (file cut short?)",
                self.reader.line_no,
            ))  # fmt: skip
            return False
        self.reader.offset = body.footer_offset
        self.reader.line_no = body.footer_line - 1  # the reader counts every physical line, SB lines too
        return True

    def one_column(self, chunk: Chunk) -> pl.DataFrame:
        """The chunk's lines as one text column (one Polars read), with their physical line numbers."""
        data = chunk.data
        separator = next((chr(byte) for byte in _ONE_COLUMN if bytes([byte]) not in data), None)
        if separator is None:  # pragma: no cover - a chunk holding every control character
            raise FileRejected("BAD_CHAR", f"the lines from {chunk.first_line} hold every control character")
        try:
            frame = pl.read_csv(
                b"\n" + data, has_header=False, quote_char=None, separator=separator,
                schema={"line": pl.String()}, raise_if_empty=False,
            ).slice(1)  # fmt: skip
        except pl.exceptions.ComputeError as exc:
            raise self.decode_error(chunk, exc) from None
        if frame.height != chunk.line_count:  # pragma: no cover - the reader changed its line rules
            raise AssertionError(f"read {frame.height} rows from {chunk.line_count} lines")
        return frame.select(
            pl.col("line").fill_null(""),
            pl.int_range(chunk.first_line, chunk.first_line + frame.height, dtype=pl.Int64).alias(
                "source_line"
            ),
        )

    @staticmethod
    def decode_error(chunk: Chunk, exc: Exception) -> FileRejected:
        try:
            chunk.data.decode("utf-8")
        except UnicodeDecodeError as error:
            line = chunk.first_line + chunk.data.count(b"\n", 0, error.start)
            return FileRejected("DECODE_ERROR", f"not valid utf-8 at line {line}: {error.reason}", line=line)
        return FileRejected(
            "DECODE_ERROR", f"unreadable text from line {chunk.first_line}: {exc}", chunk.first_line
        )

    def read_chunk(self, chunk: Chunk) -> None:
        """One chunk of SB lines: split, check over whole columns, convert, send on."""
        frame = self.one_column(chunk)
        blank = pl.col("line").str.strip_chars(" \t").str.len_bytes() == 0
        blanks = frame.filter(blank).height
        self.blank += blanks
        lines = frame.filter(~blank) if blanks else frame
        if lines.height == 0:
            return
        self.data_lines += lines.height
        self.report.lines += lines.height
        self.section.lines += lines.height

        whole, one = _field_patterns(self.separator)
        limits = self.context.limits
        split = lines.with_columns(
            fields=pl.col("line").str.extract_all(one),
            quoted=pl.col("line").str.contains(whole),
            is_sb=pl.col("line").str.starts_with('"SB"' + self.separator),
        ).with_columns(
            readable=pl.col("is_sb") & pl.col("quoted") & (pl.col("fields").list.len() == self.width)
        )
        named = split.select(
            "source_line", "line", "readable",
            *(pl.when(pl.col("readable")).then(_unquote_expr(self.field(position))).alias(name)
              for name, position in self.positions.items()),
            longest=pl.col("fields").list.eval(pl.element().str.len_bytes()).list.max(),  # with quotes, separator
        )  # fmt: skip
        self.add_sums(named)
        if self.problems.overflowed:  # the file is rejected: account for its lines, read no further
            self.problems.undescribed += named.height
            self.output.rejected(self.best_effort(named))
            return

        well_formed = (
            pl.col("readable")
            & (pl.col("line").str.len_bytes() <= limits.max_line_bytes)
            & (pl.col("longest").fill_null(0) <= limits.max_field_bytes + 3)  # + two quotes and a separator
        )
        if may_hold_bad_characters(chunk):
            well_formed = well_formed & ~pl.col("line").str.contains(BAD_CHARACTER)
        named = named.with_columns(well_formed=well_formed)
        odd = named.filter(~pl.col("well_formed"))
        if odd.height:
            broken = self.read_odd_lines(odd)
            named = named.with_columns(
                well_formed=pl.col("well_formed") | ~pl.col("source_line").is_in(broken)
            )
        good = named.filter(pl.col("well_formed")) if odd.height else named
        raw = good.select(
            *PAYPAL_STL_REQUIRED_COLUMNS,
            *(pl.col(name).fill_null("") if name in self.positions else pl.lit("").alias(name)
              for name in PAYPAL_STL_OPTIONAL_COLUMNS),
            "source_line",
        )  # fmt: skip
        valid = check_raw(
            self.problems, raw, PayPalSettlementRaw, reason_codes=_RAW_REASON_CODES, amount_scales={}
        )
        rows = check_canonical(self.problems, self.to_canonical(valid), ChannelTxn)
        local = rows.select(pl.col("source_line")).join(
            valid.select("source_line", day=pl.col("Transaction Initiation Date").str.slice(0, 10)),
            on="source_line",
        )
        self.dates.update(
            datetime.strptime(day, "%Y/%m/%d").date() for day in local["day"].unique().to_list()
        )
        self.output.rows(rows)
        if rows.height < named.height:
            self.output.rejected(
                self.best_effort(named.join(rows.select("source_line"), on="source_line", how="anti"))
            )

    def field(self, position: int) -> pl.Expr:
        """Field ``position`` of the split line, its separator removed (quotes still on)."""
        return pl.col("fields").list.get(position, null_on_oob=True).str.strip_prefix(self.separator)

    def add_sums(self, named: pl.DataFrame) -> None:
        """Add every line's gross and fee to the section's and the report's sums (unreadable: null)."""
        currency = pl.col("Gross Transaction Currency")
        known = pl.when(currency.str.contains(r"^[A-Z]{3}$")).then(currency)
        fee_currency = pl.col("Fee Currency")
        fee_known = (
            pl.when(fee_currency == "")
            .then(known)
            .when(fee_currency.str.contains(r"^[A-Z]{3}$"))
            .then(fee_currency)
        )
        fee_text = pl.col("Fee Amount")
        gross = named.select(
            currency=known, part=pl.lit("gross"), direction=pl.col("Transaction Debit or Credit"),
            units=_minor_units(pl.col("Gross Transaction Amount")),
        )  # fmt: skip
        fee = named.select(
            currency=fee_known, part=pl.lit("fee"),
            direction=pl.when(fee_text.is_in(["", "0"]) & (pl.col("Fee Debit or Credit") == ""))
            .then(pl.lit("CR")).otherwise(pl.col("Fee Debit or Credit")),
            units=pl.when(fee_text == "").then(pl.lit(0, pl.Int64)).otherwise(_minor_units(fee_text)),
        )  # fmt: skip
        moves = pl.concat([gross, fee])
        self.section.add(moves)
        self.report.add(moves)

    def read_odd_lines(self, odd: pl.DataFrame) -> list[int]:
        """Lines that are not plainly well formed: record each problem, line by line (few lines).

        Returns:
            The lines found broken; any other was well formed after all.
        """
        limit = self.context.limits
        broken: list[int] = []
        for line_no, text in odd.select("source_line", "line").iter_rows():
            if self.problems.overflowed:  # past the limit: counted, no longer described
                self.problems.undescribed += 1
                broken.append(line_no)
                continue
            before = len(self.problems.entries)
            size = len(text.encode("utf-8"))
            fields = split_stl_line(text, self.separator)
            if size > limit.max_line_bytes:
                self.problems.add(line_no, None, text[:200], "LIMIT_EXCEEDED",
                                  f"line of {size} bytes, over the {limit.max_line_bytes} byte limit")  # fmt: skip
            elif not text.startswith('"SB"'):
                self.problems.add(line_no, None, text[:200], "FORMAT_VIOLATION",
                                  'a line between CH and the section footer must start with "SB"')  # fmt: skip
            elif fields is None:
                self.problems.add(line_no, None, text[:200], "FORMAT_VIOLATION",
                                  "its double quotes do not pair up (a quote never spans lines in STL)")  # fmt: skip
            elif len(fields) != self.width:
                self.problems.add(line_no, None, text[:200], "FIELD_COUNT",
                                  f"expected {self.width} fields (as the CH line), got {len(fields)}")  # fmt: skip
            else:
                for index, value in enumerate(fields):
                    name = self.column_names[index]
                    bad = bad_characters(value)
                    if bad:
                        self.problems.add(line_no, name, value, "BAD_CHAR", f"{name}: {bad}")
                    value_size = len(value.encode("utf-8"))
                    if value_size > limit.max_field_bytes:
                        self.problems.add(line_no, name, value[:200], "LIMIT_EXCEEDED",
                                          f"{name}: {value_size} bytes, over the {limit.max_field_bytes} byte limit")  # fmt: skip
            if len(self.problems.entries) > before or self.problems.overflowed:
                broken.append(line_no)
        return broken

    # -- canonical rows -------------------------------------------------------------------------

    def to_canonical(self, good: pl.DataFrame) -> pl.DataFrame:
        """Map raw-valid SB lines to ``ChannelTxn`` rows; quarantine the lines that break rules across fields."""
        group = pl.col("Transaction Event Code").str.slice(0, 3)
        kind = group.replace_strict(KIND_BY_T_GROUP, default=None, return_dtype=pl.String)
        gross_ccy, fee_ccy, fee_text = (
            pl.col("Gross Transaction Currency"), pl.col("Fee Currency"), pl.col("Fee Amount"),
        )  # fmt: skip
        direction, fee_direction = pl.col("Transaction Debit or Credit"), pl.col("Fee Debit or Credit")
        checks = good.with_columns(
            kind=kind,
            unknown_code=kind.is_null(),
            unknown_currency=~gross_ccy.is_in(list(CURRENCY_EXPONENT)),
            fee_currency_differs=(fee_text != "") & (fee_ccy != gross_ccy),
            fee_missing=(fee_text == "") & ~group.is_in(list(EMPTY_FEE_GROUPS)),
            fee_no_direction=~fee_text.is_in(["", "0"]) & (fee_direction == ""),
            sign=((kind == "refund") & (direction == "CR")) | ((kind == "payment") & (direction == "DR")),
        )
        flags = [
            "unknown_code",
            "unknown_currency",
            "fee_currency_differs",
            "fee_missing",
            "fee_no_direction",
            "sign",
        ]
        broken = pl.any_horizontal(flags)
        for row in checks.filter(broken).iter_rows(named=True):
            self.cross_field_problems(row)
        kept = checks.filter(~broken) if checks.height else checks

        gross = pl.col("Gross Transaction Amount").cast(pl.Int64)
        fee = (
            pl.when(fee_text == "").then(pl.lit(0, pl.Int64)).otherwise(fee_text.cast(pl.Int64, strict=False))
        )
        amount = pl.when(direction == "CR").then(gross).otherwise(-gross)
        fee_minor = pl.when(fee_direction == "CR").then(fee).otherwise(-fee)
        exponent = gross_ccy.replace_strict(CURRENCY_EXPONENT, default=None, return_dtype=pl.Int64)
        none = pl.lit(None, pl.String())
        reference = pl.when(
            (pl.col("PayPal Reference ID Type") == "TXN") & (pl.col("PayPal Reference ID") != "")
        )
        bank_reference = pl.col("Bank Reference ID")
        exprs = {
            "channel": pl.lit(CHANNEL),
            "merchant_account": pl.lit(self.account, pl.String()),
            "channel_txn_id": pl.col("Transaction ID"),
            "order_no": pl.when(pl.col("Invoice ID") != "").then(pl.col("Invoice ID")).otherwise(none),
            "original_txn_id": pl.when(pl.col("kind") == "payout")
            .then(pl.when(bank_reference != "").then(bank_reference).otherwise(none))
            .when(pl.col("kind") == "payment")
            .then(none)
            .otherwise(reference.then(pl.col("PayPal Reference ID")).otherwise(none)),
            "kind": pl.col("kind"),
            "amount_minor": amount,
            "fee_minor": fee_minor,
            "fee_exact": (
                fee_minor.cast(_CANONICAL_SCHEMA["fee_exact"]) / pl.lit(10, pl.Int64).pow(exponent)
            ),
            "order_amount_minor": pl.lit(None, pl.Int64()),
            "discount_minor": pl.lit(None, pl.Int64()),
            "currency": gross_ccy,
            "settle_amount_minor": pl.lit(None, pl.Int64()),
            "settle_currency": none,
            "fx_rate": pl.lit(None, _CANONICAL_SCHEMA["fx_rate"]),
            "occurred_at": pl.col("Transaction Initiation Date")
            .str.to_datetime(STL_TIMESTAMP_FORMAT, time_unit="us", strict=False)
            .dt.convert_time_zone("UTC"),
            "settle_date": pl.lit(self.context.business_date, pl.Date()),
            "status": pl.lit("succeeded"),
            "status_detail": none,
            "buyer_id": pl.when(pl.col("Consumer ID") != "").then(pl.col("Consumer ID")).otherwise(none),
            "source_file": pl.lit(self.source_file),
            "source_line": pl.col("source_line"),
        }
        return kept.select(**exprs).cast(_CANONICAL_SCHEMA)  # type: ignore[arg-type]

    def cross_field_problems(self, row: dict[str, object]) -> None:
        """The problems of one raw-valid SB line that breaks a rule across fields."""
        line_no = row["source_line"]
        assert isinstance(line_no, int)
        code, gross_ccy, fee_ccy = (
            row["Transaction Event Code"],
            row["Gross Transaction Currency"],
            row["Fee Currency"],
        )
        if row["unknown_code"]:
            self.problems.add(
                line_no, "Transaction Event Code", str(code), "UNKNOWN_ENUM",
                f"T-code {code}: event group {str(code)[:3]} is not one recon maps "
                f"({', '.join(sorted(KIND_BY_T_GROUP))})",
            )  # fmt: skip
        if row["unknown_currency"]:
            self.problems.add(line_no, "Gross Transaction Currency", str(gross_ccy), "BAD_CURRENCY",
                              f"currency {gross_ccy!r} is not a known ISO 4217 currency")  # fmt: skip
        if row["fee_currency_differs"]:
            self.problems.add(line_no, "Fee Currency", str(fee_ccy), "BAD_CURRENCY",
                              f"fee currency {fee_ccy!r} differs from the gross currency {gross_ccy!r}")  # fmt: skip
        if row["fee_missing"]:
            self.problems.add(line_no, "Fee Amount", "", "BAD_AMOUNT",
                              f"empty fee on a {code} line (only conversions T02xx and withdrawals T04xx have none)")  # fmt: skip
        if row["fee_no_direction"]:
            self.problems.add(line_no, "Fee Debit or Credit", "", "UNKNOWN_ENUM",
                              f"fee {row['Fee Amount']} without CR/DR")  # fmt: skip
        if row["sign"]:
            direction = row["Transaction Debit or Credit"]
            self.problems.add(
                line_no, "Transaction Debit or Credit", str(direction), "SIGN_VIOLATION",
                f"a {row['kind']} ({code}) that is a {'credit' if direction == 'CR' else 'debit'}: "
                f"a {row['kind']} must {'not be positive' if row['kind'] == 'refund' else 'not be negative'}",
            )  # fmt: skip

    def best_effort(self, bad: pl.DataFrame) -> pl.DataFrame:
        """Whatever can be read of quarantined lines, for their ``rejected`` rows (nulls elsewhere)."""

        def present(name: str) -> pl.Expr:
            return pl.when(pl.col(name) != "").then(pl.col(name))

        kind = (
            pl.col("Transaction Event Code")
            .str.slice(0, 3)
            .replace_strict(KIND_BY_T_GROUP, default=None, return_dtype=pl.String)
        )
        units = _minor_units(pl.col("Gross Transaction Amount"))
        direction = pl.col("Transaction Debit or Credit")
        return bad.select(
            source_file=pl.lit(self.source_file),
            source_line="source_line",
            channel=pl.lit(CHANNEL),
            channel_txn_id=present("Transaction ID"),
            order_no=present("Invoice ID"),
            kind=kind,
            amount_minor=pl.when(direction == "CR").then(units).when(direction == "DR").then(-units),
            currency=present("Gross Transaction Currency"),
        )

    # -- footer lines ---------------------------------------------------------------------------

    def read_section_footer(self, section: int) -> _Line | None:
        """SF lines, then SC; returns the line after SC (None: the file ended, TRUNCATED recorded)."""
        line = self.next_line()
        footers: list[_Line] = []
        while line is not None and line.row_type == "SF":
            self.footer_lines += 1
            footers.append(line)
            line = self.next_line()
        self.check_currency_lines("SF", footers, self.section, f"section {section}")
        if line is None:
            self.truncated(f"the file ends after the footer of section {section} without SC, RC and FF")
            return None
        if line.row_type != "SC":
            self.out_of_order(line, f"SF or SC after the SB lines of section {section}")
            return None
        self.footer_lines += 1
        self.check_count(line, f"SC section {section} SB lines", self.section.lines)
        after = self.next_line()
        if after is None:
            self.truncated(f"the file ends after SC on line {line.number} without RC and FF")
            return None
        if after.row_type not in ("SH", "RF", "RC"):
            self.out_of_order(after, "SH (another section), RF or RC after SC")
            return None
        return after

    def read_report_footer(self, line: _Line | None) -> None:
        footers: list[_Line] = []
        while line is not None and line.row_type == "RF":
            self.footer_lines += 1
            footers.append(line)
            line = self.next_line()
        self.check_currency_lines("RF", footers, self.report, "report")
        if line is None:
            self.truncated("the file ends without RC and FF")
            return
        if line.row_type != "RC":
            self.out_of_order(line, "RF or RC")
            return
        self.footer_lines += 1
        self.check_count(line, "RC report SB lines", self.report.lines)
        ff = self.next_line()
        if ff is None:
            self.truncated("the file ends without FF")
            return
        if ff.row_type != "FF":
            self.out_of_order(ff, "FF after RC")
            return
        self.footer_lines += 1
        extra = self.next_line()
        if extra is not None:
            self.errors.append(
                FileRejected("FOOTER_INVALID", f"unexpected line {extra.number} after FF", extra.number)
            )
            self.unread += 1
            while self.reader.next() is not None:
                self.unread += 1
        # FF counts the physical lines of the whole file, which are all known only now
        self.check_count(ff, "FF file lines", self.reader.line_no)

    def truncated(self, why: str) -> None:
        self.errors.append(FileRejected("TRUNCATED", f"{why} (file cut short?)", self.reader.line_no))

    def out_of_order(self, line: _Line, expected: str) -> None:
        """A line whose row type breaks the order: the file is rejected; the rest is counted unread."""
        found = line.row_type if line.fields is not None else line.text[:20]
        number = line.number
        self.errors.append(
            FileRejected("FOOTER_INVALID", f"line {number}: expected {expected}, found {found!r}", number)
        )
        self.unread += 1
        while self.reader.next() is not None:
            self.unread += 1

    def check_count(self, line: _Line, name: str, parsed: int) -> None:
        fields = line.fields or []
        if len(fields) != 2 or not re.fullmatch(r"0|[1-9][0-9]{0,17}", fields[1]):
            number = line.number
            self.facts[
                f"{fields[0] if fields else '?'} line {number} not verifiable: not '<row type>,<count>'"
            ] = None
            return
        self.controls.append(ControlTotal(name=name, footer=Decimal(fields[1]), parsed=Decimal(parsed)))

    def check_currency_lines(
        self, row_type: str, lines: list[_Line], sums: _CurrencySums, scope: str
    ) -> None:
        """Per-currency SF/RF lines against the sums of the SB lines (layout reconstructed, see module doc)."""
        seen: set[str] = set()
        all_read = True
        for line in lines:
            figures = _currency_footer(line.fields)
            if figures is None:
                self.facts[
                    f"{row_type} line {line.number} not verifiable: not the reconstructed SF layout"
                ] = None
                all_read = False
                continue
            currency, values = figures
            seen.add(currency)
            parsed: dict[str, int | None] = {measure: sums.get(currency, measure) for measure in _MEASURES}
            for measure in _MEASURES:
                value = parsed[measure]
                self.controls.append(ControlTotal(
                    name=f"{row_type} {currency} {measure}", footer=Decimal(values[measure]),
                    parsed=None if value is None else Decimal(value),
                ))  # fmt: skip
            activity = [parsed[m] for m in _MEASURES]
            ending: Decimal | None = None
            if all(value is not None for value in activity):
                credits_, debits, fee_credits, fee_debits = (int(v or 0) for v in activity)
                ending = Decimal(values["beginning"] + credits_ - debits + fee_credits - fee_debits)
            self.controls.append(ControlTotal(
                name=f"{row_type} {currency} ending balance (beginning + activity)",
                footer=Decimal(values["ending"]), parsed=ending,
            ))  # fmt: skip
        if all_read:  # every footer line read: a currency with SB lines must have one
            for currency in sorted(sums.currencies() - seen):
                value = sums.get(currency, "gross credits")
                self.controls.append(ControlTotal(
                    name=f"{row_type} {currency} gross credits (no {row_type} line for {currency} in the {scope})",
                    footer=Decimal(0), parsed=None if value is None else Decimal(value),
                ))  # fmt: skip

    # -- the statement date ---------------------------------------------------------------------

    def window(self) -> tuple[date, date] | None:
        if not self.windows:
            return None
        return min(start for start, _ in self.windows), max(end for _, end in self.windows)

    def statement_date(self) -> date | None:
        """The run's date when the report covers it, else the first date it covers."""
        window = self.window()
        day = self.context.business_date
        if window is not None:
            return day if window[0] <= day <= window[1] else window[0]
        if not self.dates:
            return None
        return day if day in self.dates else min(self.dates)

    def wrong_date(self) -> FileRejected | None:
        """WRONG_DATE when the report's window (or, without one, its rows) does not cover the run's date."""
        day, window = self.context.business_date, self.window()
        if window is not None:
            if window[0] <= day <= window[1]:
                return None
            covered = f"{window[0]}" if window[0] == window[1] else f"{window[0]} to {window[1]}"
            return FileRejected("WRONG_DATE", f"the report covers {covered} (SH); the run is for {day}", 3)
        if not self.dates or day in self.dates:
            return None
        first, last = min(self.dates), max(self.dates)
        covered = f"{first}" if first == last else f"{first} to {last}"
        return FileRejected(
            "WRONG_DATE", f"the report's transactions are dated {covered}; the run is for {day}", 5
        )


def _minor_units(text: pl.Expr) -> pl.Expr:
    """Unsigned minor-unit text → Int64; null for anything else (never guessed)."""
    return pl.when(text.str.contains(MINOR_UNITS)).then(text.cast(pl.Int64, strict=False))


def _currency_footer(fields: list[str] | None) -> tuple[str, dict[str, int]] | None:
    """The figures of an SF/RF line of the reconstructed layout, or None when it has another shape."""
    if fields is None or len(fields) != 14 or not re.fullmatch(r"[A-Z]{3}", fields[1]):
        return None
    directions, numbers = fields[2::2], fields[3::2]
    if directions[:4] != ["CR", "DR", "CR", "DR"] or any(d not in ("CR", "DR") for d in directions[4:]):
        return None
    if not all(re.fullmatch(r"0|[1-9][0-9]{0,17}", number) for number in numbers):
        return None
    values = [int(number) for number in numbers]
    beginning = values[4] if directions[4] == "CR" else -values[4]
    ending = values[5] if directions[5] == "CR" else -values[5]
    measures = dict(zip(_MEASURES, values[:4], strict=True))
    return fields[1], {**measures, "beginning": beginning, "ending": ending}
