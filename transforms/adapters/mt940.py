"""SWIFT MT940 customer statements (FORMATS §8.2) → ``BankTxn`` rows and control totals.

The file: one or more statements, each a run of fields ``:tag:value`` ended by a ``-`` line (``-}``
inside a ``{4:`` block; ``{1:…}{2:…}{3:…}{4:`` envelope lines and ``{5:…}`` trailers are allowed).
A line that starts with no tag continues the field before it. Text is UTF-8 when it decodes as
UTF-8 (one BOM stripped), else ISO-8859-1 (every byte is a character there); the SWIFT ``x`` set is
ASCII, so only free text can differ, and every field this adapter reads as a number, date or id is
checked against an ASCII pattern.

Fields read per statement: ``:20:`` (reference), ``:21:``, ``:25:`` (account, kept as written),
``:28C:`` (statement/sequence number), ``:60F:``/``:60M:`` opening balance ``C|D YYMMDD CCY amount``,
``:61:`` statement lines, each followed by its optional ``:86:`` (information to account owner, up to
6 lines of text), ``:62F:``/``:62M:`` closing balance, ``:64:`` closing available, ``:65:`` forward
available. Any other tag rejects the file (FORMAT_VIOLATION: an MT942 or another message).

``:61:`` = value date ``YYMMDD`` (year 20YY), optional entry date ``MMDD`` (its year is the value
date's, or the one before or after when the months are more than six apart: a booking on 12-31 with
value date 01-02), ``C``/``D``/``RC``/``RD``, an optional funds-code letter, the amount with a decimal
comma (``800,`` allowed, at most the currency's decimals), the type ``N``/``S``/``F`` + 3 characters,
the customer reference (16x, ``NONREF`` when there is none), an optional ``//`` bank reference (16x)
and an optional second line of supplementary details (34x, kept in the raw model only). Spaces after
the last subfield are padding and dropped.

One ``BankTxn`` per ``:61:`` (money in the currency's minor unit, from ``schemas.currency``):

- ``amount_minor`` signed: ``C`` +, ``D`` −, ``RC`` (reversal of a credit) −, ``RD`` +;
- ``currency`` is the statement's opening balance currency; ``account`` its ``:25:``;
- ``booking_date`` = the entry date (else the value date), ``value_date`` = the value date;
- ``bank_ref`` = the ``//`` reference; ``reference`` = the ``:86:`` text, its lines joined by one
  space (as written otherwise: camt's AddtlNtryInf and MT940's ``:86:`` both feed the payout
  patterns); ``counterparty`` null (MT940 has no separate name field);
- ``source_line`` = the line of the ``:61:`` tag.

Control totals, one per statement, named after its account like camt.053's:
``<account> :60F:+entries=:62F:`` (opening + the signed entries = closing, exact ``Decimal`` in the
currency unit; not verifiable when an entry's amount cannot be read); a mismatch rejects the file
(CONTROL_TOTAL_MISMATCH, the line of ``:62F:``). Each statement's number of ``:61:`` lines is the
fact ``<account> entries``. An account that has several statements in the file gets its ``:28C:`` in
brackets after the account in these names (and ``line N`` of its first field if that is not enough).

Line roles (``physical = data + continuation + header + footer + blank``): data = ``:61:`` lines;
continuation = the ``:61:`` supplementary lines and every line of an entry's ``:86:`` (the first
too: it is the entry's text, not a record); header = envelope lines, ``:20:`` ``:21:`` ``:25:``
``:28C:`` ``:60F:``/``:60M:``, a statement-level ``:86:`` before the closing balance and any line
the file is rejected for; footer = ``:62F:``/``:62M:`` ``:64:`` ``:65:``, a statement-level ``:86:``
after the closing balance, and the ``-`` / ``-}`` lines.

A statement is a few hundred lines, so the file is read whole (within ``context.limits.max_file_bytes``
and ``MAX_MT940_BYTES``) and walked line by line for its structure; the entries are then split into
subfields, checked and converted as Polars columns, and only the few bad entries take a per-line
path that names each problem (file, line, subfield, value, reason code).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import polars as pl

from schemas.bank import MT940_AMOUNT, MT940_BALANCE, MT940_REFERENCE, RawMt940Entry
from schemas.canonical import BankTxn
from transforms.adapters.template import (
    BAD_CHARACTER,
    Output,
    Problems,
    control_total_error,
    frame_schema,
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
from transforms.text import bad_characters, split_lines
from transforms.validate import split_valid

FORMAT = "mt940"
ROLE = "bank"
CHANNEL = "bank"
#: Hard limit on a statement file's size (it is read whole, about 20 Python objects per entry; a busy
#: account's day is well under 1 MiB, 16 MiB is some 200,000 entries); ``limits.max_file_bytes`` may lower it.
MAX_MT940_BYTES = 16 * 1024 * 1024

_TAG = re.compile(r":([0-9]{2}[A-Z]?):", re.ASCII)
#: Envelope blocks at the start of a line: ``{1:…}``, ``{2:…}``, ``{3:{108:…}}``, ``{5:{CHK:…}}``.
_BLOCK = re.compile(r"\{[0-9A-Za-z]:(?:[^{}]|\{[^{}]*\})*\}", re.ASCII)
_BALANCE = re.compile(MT940_BALANCE, re.ASCII)
_AMOUNT = re.compile(MT940_AMOUNT, re.ASCII)
#: ``:61:`` split into its subfields, loosely (an amount is anything up to the type), so that a bad
#: subfield is named by the checks rather than failing the whole line; the strict rules are the raw
#: model's patterns. A line this does not match is a FORMAT_VIOLATION of the whole field.
STATEMENT_LINE = (
    r"^(?P<value_date>[0-9]{6})(?P<entry_date>[0-9]{4})?(?P<mark>RC|RD|C|D)(?P<funds_code>[A-Z])?"
    r"(?P<amount>[^A-Za-z]*)(?P<type_code>[SNF][A-Z0-9]{3})(?P<customer_ref>.*?)(?://(?P<bank_ref>.*))?$"
)
_SIGN = {"C": 1, "D": -1, "RC": -1, "RD": 1}
_HEADER_TAGS = frozenset({"20", "21", "25", "28", "28C", "60F", "60M"})
_FOOTER_TAGS = frozenset({"62F", "62M", "64", "65"})
_ONE_PER_STATEMENT = ("20", "21", "25", "28C", "60F", "60M", "62F", "62M", "64")
_MANDATORY = (
    ("20", "the transaction reference :20:"),
    ("25", "the account :25:"),
    ("28C", "the statement number :28C:"),
)

_CANONICAL_SCHEMA = frame_schema(BankTxn)
_ENTRY_SCHEMA: dict[str, pl.DataType] = {
    "statement": pl.Int64(),
    "source_line": pl.Int64(),
    "field": pl.String(),
    "supplementary": pl.String(),
    "reference": pl.String(),
    "account": pl.String(),
    "currency": pl.String(),
    "long_line": pl.Int64(),
}


@dataclass(slots=True)
class _Field:
    """One field as written: its tag, its text after the tag, its line, and its continuation lines."""

    tag: str
    text: str
    line: int
    more: list[str] = field(default_factory=list)


@dataclass(slots=True)
class _Entry:
    """One ``:61:`` with its supplementary line(s) and ``:86:`` lines."""

    line: int
    text: str
    supplementary: list[str] = field(default_factory=list)
    info: list[str] | None = None
    long_line: int | None = None  # the size of a line of the entry over ``max_line_bytes``


@dataclass
class _Statement:
    """The fields of one statement, from its ``:20:`` (or first field) to its ``-`` line."""

    start: int
    fields: dict[str, _Field] = field(default_factory=dict)
    entries: list[_Entry] = field(default_factory=list)
    end: int | None = None  # the line of its ``-``; None while open

    @property
    def opening(self) -> _Field | None:
        return self.fields.get("60F") or self.fields.get("60M")

    @property
    def closing(self) -> _Field | None:
        return self.fields.get("62F") or self.fields.get("62M")

    def text(self, tag: str) -> str:
        found = self.fields.get(tag)
        return found.text if found is not None else ""


@dataclass
class _Layout:
    """What the line walk found: statements, line roles and the file's structural errors."""

    statements: list[_Statement] = field(default_factory=list)
    errors: list[FileRejected] = field(default_factory=list)
    header: int = 0
    data: int = 0
    continuation: int = 0
    footer: int = 0
    blank: int = 0
    last_line: int = 0

    def error(self, code: str, message: str, line: int | None) -> None:
        self.errors.append(FileRejected(code, message, line))


def parse_mt940(source: bytes | Source, source_file: str, context: ParseContext) -> ParsedFile:
    """Parse an MT940 file (one or more statements) into ``BankTxn`` rows.

    Never raises on bad input: a bad ``:61:`` becomes quarantine entries plus one ``rejected`` row,
    a bad file sets ``file_error`` (the rows sent still hold what could be read).

    Args:
        source: the file's bytes, or a Source over them (after unpacking).
        source_file: the path relative to the date's inbox folder, carried on every row.
        context: the sink for rows (collected into the ParsedFile without one) and the limits.

    Returns:
        A ParsedFile (format ``mt940``, role and channel ``bank``): one ``BankTxn`` per ``:61:``,
        a control total per statement, the entries' count per statement as a fact, the closing
        balance date as ``statement_date`` when all statements share it, and ``file_error`` for an
        empty (``EMPTY_FILE``), oversized (``LIMIT_EXCEEDED``), foreign (``HEADER_MISMATCH``),
        malformed (``FORMAT_VIOLATION``), cut (``TRUNCATED``) or inconsistent
        (``CONTROL_TOTAL_MISMATCH``) file.
    """
    reader = as_source(source)
    limit = min(MAX_MT940_BYTES, context.limits.max_file_bytes)
    if reader.size > limit:
        return _rejected_file(
            source_file, FileRejected("LIMIT_EXCEEDED", f"{reader.size} bytes is over the {limit} limit")
        )
    if reader.size == 0:
        return _rejected_file(source_file, FileRejected("EMPTY_FILE", "the file is empty (0 bytes)"))
    data = reader.read(0, reader.size)
    lines = split_lines(_decode(data))
    layout = _walk(lines, context.limits.max_line_bytes)
    counts = LineCounts(
        physical=len(lines), data=layout.data, header=layout.header, footer=layout.footer,
        blank=layout.blank, continuation=layout.continuation,
    )  # fmt: skip
    if not layout.statements:
        error = FileRejected("HEADER_MISMATCH", "no MT940 statement in the file (no :20: field)", 1)
        return _rejected_file(source_file, error, counts)
    return _Parser(source_file, context, layout).run(counts)


def _decode(data: bytes) -> str:
    """UTF-8 (one BOM stripped) when the bytes are UTF-8, else ISO-8859-1 (which decodes any byte)."""
    data = data.removeprefix(b"\xef\xbb\xbf")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("iso-8859-1")


def _walk(lines: list[str], max_line_bytes: int) -> _Layout:
    """Give every physical line its role and gather the statements' fields (one pass)."""
    layout = _Layout()
    statement: _Statement | None = None
    current: str | None = None  # the field a continuation line would belong to
    entry: _Entry | None = None
    for number, line in enumerate(lines, start=1):
        if not line.strip(" \t"):
            layout.blank += 1
            continue
        layout.last_line = number
        too_long = len(line) > max_line_bytes // 4 and len(line.encode("utf-8")) > max_line_bytes
        body = line
        if body.startswith("{"):
            body = _strip_envelope(body)
            if not body.strip(" \t"):
                layout.header += 1
                current = None
                continue
        if body.rstrip(" \t") == "-" or body.startswith("-}"):
            layout.footer += 1
            if statement is None or statement.end is not None:
                layout.error("FORMAT_VIOLATION", f"line {number}: a '-' line with no statement open", number)
            else:
                statement.end = number
            current, entry = None, None
            continue
        tag_match = _TAG.match(body)
        if tag_match is None:
            if entry is not None and current in ("61", "86"):
                layout.continuation += 1
                if current == "61":
                    entry.supplementary.append(line)
                elif entry.info is not None:
                    entry.info.append(line)
                if too_long:
                    entry.long_line = len(line.encode("utf-8"))
            elif current is not None:
                layout.continuation += 1
                if current != "86s":
                    layout.error(
                        "FORMAT_VIOLATION", f"line {number} continues :{current}:, a one-line field", number
                    )
            else:
                layout.header += 1
                layout.error(
                    "FORMAT_VIOLATION", f"line {number} is not an MT940 field: {line[:40]!r}", number
                )
            continue
        tag, value = tag_match.group(1), body[tag_match.end() :]
        if tag == "20" or statement is None or statement.end is not None:
            if statement is not None and statement.end is None:
                layout.error(
                    "FORMAT_VIOLATION",
                    f"line {number}: a new statement starts before the statement of line {statement.start} "
                    "was closed by a '-' line",
                    number,
                )
                statement.end = number - 1
            statement = _Statement(start=number)
            layout.statements.append(statement)
        if too_long and tag not in ("61", "86"):
            layout.error(
                "LIMIT_EXCEEDED",
                f"line {number} of {len(line.encode())} bytes, over the {max_line_bytes} byte limit",
                number,
            )
        current, entry = _place(layout, statement, tag, value, number, entry)
        if too_long and entry is not None and tag in ("61", "86"):
            entry.long_line = len(line.encode("utf-8"))
    if layout.statements and layout.statements[-1].end is None:
        last = layout.statements[-1]
        what = "no '-' line" if last.closing is not None else "no closing balance :62F: and no '-' line"
        layout.errors.insert(0, FileRejected(
            "TRUNCATED",
            f"the file ends on line {layout.last_line} inside the statement of line {last.start}: {what} (file cut short?)",
            layout.last_line,
        ))  # fmt: skip
    return layout


def _strip_envelope(line: str) -> str:
    """``line`` without its leading envelope blocks (``{1:…}{2:…}``) and the ``{4:`` that opens block 4."""
    position = 0
    while True:
        block = _BLOCK.match(line, position)
        if block is None:
            break
        position = block.end()
    rest = line[position:]
    return rest[3:] if rest.startswith("{4:") else rest


def _place(
    layout: _Layout, statement: _Statement, tag: str, value: str, number: int, entry: _Entry | None
) -> tuple[str, _Entry | None]:
    """File one field of ``statement``; return the field continuation lines go to, and the open entry."""
    if tag == "61":
        layout.data += 1
        if statement.closing is not None:
            layout.error("FORMAT_VIOLATION", f"line {number}: a :61: after the closing balance", number)
        new = _Entry(line=number, text=value)
        statement.entries.append(new)
        return "61", new
    if tag == "86":
        if entry is not None and entry.info is None:
            layout.continuation += 1
            entry.info = [value]
            return "86", entry
        if statement.closing is None:
            layout.header += 1
        else:
            layout.footer += 1
        return "86s", None
    if tag in _FOOTER_TAGS:
        layout.footer += 1
    else:
        layout.header += 1
        if tag not in _HEADER_TAGS:
            layout.error(
                "FORMAT_VIOLATION",
                f"line {number}: unexpected field :{tag}: (not an MT940 statement?)",
                number,
            )
    if tag in _ONE_PER_STATEMENT:
        pair = {"60F": "60M", "60M": "60F", "62F": "62M", "62M": "62F"}.get(tag)
        if tag in statement.fields or pair in statement.fields:
            layout.error(
                "FORMAT_VIOLATION",
                f"line {number}: a second :{tag}: in the statement of line {statement.start}",
                number,
            )
        else:
            statement.fields[tag] = _Field(tag, value, number)
    return tag, None


@dataclass
class _Balance:
    """A balance field read: signed amount (None when unreadable), currency, date text and line."""

    amount: Decimal | None
    currency: str
    day: date | None
    line: int


def _balance(found: _Field | None) -> _Balance | None:
    if found is None:
        return None
    match = _BALANCE.fullmatch(found.text)
    if match is None:
        return _Balance(None, "", None, found.line)
    amount = Decimal(match["amount"].replace(",", ".").rstrip(".") or "0")
    try:
        day: date | None = date(
            2000 + int(match["date"][:2]), int(match["date"][2:4]), int(match["date"][4:])
        )
    except ValueError:
        day = None
    return _Balance(-amount if match["mark"] == "D" else amount, match["currency"], day, found.line)


class _Parser:
    """The statements of one file: check them, turn their entries into rows, controls and facts."""

    def __init__(self, source_file: str, context: ParseContext, layout: _Layout) -> None:
        self.source_file = source_file
        self.context = context
        self.layout = layout
        self.errors = list(layout.errors)
        self.problems = Problems(source_file, context.limits.max_problem_lines)
        self.output = Output(context, BankTxn, source_file)

    def run(self, counts: LineCounts) -> ParsedFile:
        statements = self.layout.statements
        openings = [self.check_statement(s) for s in statements]
        entries = self.entries_frame(statements, openings)
        units = self.convert(entries)
        controls, facts = self.controls(statements, openings, units)
        mismatch = control_total_error(
            (c for c, _ in controls), line=next((line for c, line in controls if not c.ok), None),
            template="{name}: closing balance {footer}, opening + entries {parsed}",
        )  # fmt: skip
        if mismatch is not None:
            self.errors.append(mismatch)
        if self.problems.overflowed:
            self.errors.insert(0, FileRejected(
                "TOO_MANY_BAD_ROWS", f"more than {self.problems.max_lines} bad lines: a format change, not bad rows"
            ))  # fmt: skip
        closing_days = {b.day for s in statements if (b := _balance(s.closing)) is not None}
        return self.output.parsed_file(
            file_format=FORMAT, role=ROLE, channel=CHANNEL,
            quarantine=self.problems.frame(),
            controls=tuple(c for c, _ in controls),
            file_error=self.errors[0] if self.errors else None,
            lines=counts,
            statement_date=next(iter(closing_days)) if len(closing_days) == 1 else None,
            facts=facts,
        )  # fmt: skip

    # -- statements -----------------------------------------------------------------------------

    def check_statement(self, statement: _Statement) -> _Balance | None:
        """The mandatory fields and the balances of one statement; returns its opening balance."""
        for tag, words in _MANDATORY:
            if tag not in statement.fields:
                self.error(
                    "FORMAT_VIOLATION",
                    f"the statement of line {statement.start} has no {words}",
                    statement.start,
                )
        opening, closing = _balance(statement.opening), _balance(statement.closing)
        if opening is None:
            self.error(
                "FORMAT_VIOLATION",
                f"the statement of line {statement.start} has no opening balance :60F:",
                statement.start,
            )
        if closing is None and statement.end is not None:
            self.error(
                "FORMAT_VIOLATION",
                f"the statement of line {statement.start} has no closing balance :62F:",
                statement.end,
            )
        for balance, found in ((opening, statement.opening), (closing, statement.closing)):
            if balance is not None and found is not None and (balance.amount is None or balance.day is None):
                self.error(
                    "FORMAT_VIOLATION", f"line {found.line}: :{found.tag}:{found.text!r} is not C|D YYMMDD CCY amount",
                    found.line,
                )  # fmt: skip
        if opening is not None and closing is not None and opening.currency and closing.currency:
            if opening.currency != closing.currency:
                self.error(
                    "FORMAT_VIOLATION",
                    f"line {closing.line}: closing balance in {closing.currency}, opening in {opening.currency}",
                    closing.line,
                )
        return opening

    def error(self, code: str, message: str, line: int | None) -> None:
        self.errors.append(FileRejected(code, message, line))

    def control_names(self) -> list[str]:
        """Each statement's name in controls and facts, in file order.

        Its account, with ``(:28C:)`` when the account has several statements in the file, and
        ``line N`` when even that does not tell them apart.
        """
        statements = self.layout.statements
        accounts = [s.text("25").strip() or f"statement of line {s.start}" for s in statements]
        names: list[str] = []
        for statement, account in zip(statements, accounts, strict=True):
            name = f"{account} ({statement.text('28C')})" if accounts.count(account) > 1 else account
            names.append(name if name not in names else f"{name} line {statement.start}")
        return names

    def controls(
        self, statements: list[_Statement], openings: list[_Balance | None], units: pl.DataFrame
    ) -> tuple[list[tuple[ControlTotal, int]], dict[str, Decimal | None]]:
        """Opening + entries = closing per statement (a column sum), and the entries' count as a fact."""
        sums = {
            row["statement"]: row
            for row in units.group_by("statement")
            .agg(
                net=pl.col("amount_minor").cast(pl.Int128).sum(),
                unread=pl.col("amount_minor").null_count(),
                n=pl.len(),
            )
            .iter_rows(named=True)
        }
        controls: list[tuple[ControlTotal, int]] = []
        facts: dict[str, Decimal | None] = {}
        names = self.control_names()
        for index, (statement, opening) in enumerate(zip(statements, openings, strict=True)):
            name = names[index]
            facts[f"{name} entries"] = Decimal(len(statement.entries))
            closing = _balance(statement.closing)
            if closing is None or closing.amount is None or statement.closing is None:
                continue
            total = sums.get(index)
            exponent = CURRENCY_EXPONENT.get(opening.currency) if opening is not None else None
            parsed = None
            if opening is not None and opening.amount is not None and exponent is not None:
                if total is None:
                    parsed = opening.amount
                elif not total["unread"]:
                    parsed = opening.amount + Decimal(int(total["net"])).scaleb(-exponent)
            tags = (
                f":{statement.opening.tag if statement.opening else '60F'}:+entries=:{statement.closing.tag}:"
            )
            controls.append((ControlTotal(f"{name} {tags}", closing.amount, parsed), closing.line))
        return controls, facts

    # -- entries --------------------------------------------------------------------------------

    def entries_frame(self, statements: list[_Statement], openings: list[_Balance | None]) -> pl.DataFrame:
        """One row per ``:61:``: its text, its ``:86:`` text joined by one space, account and currency."""
        rows = [
            {
                "statement": index,
                "source_line": entry.line,
                "field": entry.text.rstrip(" "),  # padding after the last subfield is not data
                "supplementary": " ".join(entry.supplementary) if entry.supplementary else None,
                "reference": " ".join(entry.info) if entry.info is not None else None,
                "account": statement.text("25").strip(),
                "currency": opening.currency if opening is not None and opening.currency else None,
                "long_line": entry.long_line,
            }
            for index, (statement, opening) in enumerate(zip(statements, openings, strict=True))
            for entry in statement.entries
        ]
        return pl.DataFrame(rows, schema=_ENTRY_SCHEMA)

    def convert(self, entries: pl.DataFrame) -> pl.DataFrame:
        """Split, check and convert every entry as columns; send rows on; return the signed amounts.

        Returns:
            ``statement, source_line, amount_minor`` for every entry (null where the amount cannot
            be read), for the control totals.
        """
        limits = self.context.limits
        split = entries.with_columns(
            pl.col("field").str.extract_groups(STATEMENT_LINE).alias("parts")
        ).unnest("parts")
        exponent = pl.col("currency").replace_strict(CURRENCY_EXPONENT, default=None, return_dtype=pl.Int64)
        decimals = pl.col("amount").str.extract(r",([0-9]*)$", 1).str.len_chars().cast(pl.Int64)
        amount_shape = pl.col("amount").str.contains(MT940_AMOUNT).fill_null(False)
        whole = pl.col("amount").str.extract(r"^([0-9]+),", 1).cast(pl.Int64, strict=False)
        fraction = pl.col("amount").str.extract(r",([0-9]+)$", 1).cast(pl.Int64, strict=False).fill_null(0)
        ten = pl.lit(10, pl.Int64)
        units = (
            pl.when(amount_shape & (decimals <= exponent))
            .then(whole * ten.pow(exponent) + fraction * ten.pow((exponent - decimals).clip(lower_bound=0)))
            .otherwise(pl.lit(None, pl.Int64))
        )
        sign = pl.col("mark").replace_strict(_SIGN, default=None, return_dtype=pl.Int64)
        value_day = pl.concat_str(pl.lit("20"), pl.col("value_date")).str.to_date("%Y%m%d", strict=False)
        entry_month = pl.col("entry_date").str.slice(0, 2).cast(pl.Int32, strict=False)
        value_month = pl.col("value_date").str.slice(2, 2).cast(pl.Int32, strict=False)
        entry_year = (
            2000 + pl.col("value_date").str.slice(0, 2).cast(pl.Int32, strict=False)
            + pl.when(entry_month - value_month > 6).then(-1).when(value_month - entry_month > 6).then(1).otherwise(0)
        )  # fmt: skip
        entry_day = pl.concat_str(entry_year.cast(pl.String).str.zfill(4), pl.col("entry_date")).str.to_date(
            "%Y%m%d", strict=False
        )
        converted = split.with_columns(
            amount_minor=sign * units,
            value_day=value_day,
            booking_day=pl.when(pl.col("entry_date").is_null()).then(value_day).otherwise(entry_day),
        )
        checks = {
            "bad_field": pl.col("value_date").is_null(),
            "bad_amount": pl.col("amount_minor").is_null(),
            "bad_value_date": pl.col("value_day").is_null(),
            "bad_entry_date": pl.col("booking_day").is_null(),
            "bad_refs": ~pl.col("customer_ref").str.contains(MT940_REFERENCE)
            | ~pl.col("bank_ref").fill_null("x").str.contains(MT940_REFERENCE),
            "bad_text": pl.col("reference").fill_null("").str.contains(BAD_CHARACTER)
            | (pl.col("reference").fill_null("").str.len_bytes() > limits.max_field_bytes)
            | pl.col("supplementary").fill_null("").str.contains(BAD_CHARACTER)
            | pl.col("long_line").is_not_null(),
            "bad_statement": (pl.col("account") == "")
            | pl.col("account").str.contains(BAD_CHARACTER)
            | pl.col("currency").is_null()
            | exponent.is_null(),
        }
        flagged = converted.with_columns(
            bad=pl.any_horizontal(expr.fill_null(True) for expr in checks.values())
        )
        for row in flagged.filter(pl.col("bad")).iter_rows(named=True):
            self.describe(row)
        # A flagged entry is out once described; past ``max_problem_lines`` (the file is rejected)
        # every flagged entry is out, described or not.
        described = pl.col("source_line").is_in(list(self.problems.lines))
        good = flagged.filter(~pl.col("bad") if self.problems.overflowed else ~described)
        good = self.check_raw(good)
        rows = good.select(
            account="account",
            booking_date="booking_day",
            value_date="value_day",
            amount_minor="amount_minor",
            currency="currency",
            counterparty=pl.lit(None, pl.String()),
            reference="reference",
            bank_ref="bank_ref",
            source_file=pl.lit(self.source_file),
            source_line="source_line",
        ).cast(_CANONICAL_SCHEMA)  # type: ignore[arg-type]
        rows, failures = split_valid(rows, BankTxn)
        self.problems.add_entries(failures.iter_rows(named=True))
        self.output.rows(rows)
        rejected = flagged.join(rows.select("source_line"), on="source_line", how="anti").select(
            source_file=pl.lit(self.source_file),
            source_line="source_line",
            channel=pl.lit(CHANNEL),
            channel_txn_id=pl.when(pl.col("bank_ref").str.contains(MT940_REFERENCE)).then(pl.col("bank_ref")),
            order_no=pl.lit(None, pl.String()),
            kind=pl.lit(None, pl.String()),
            amount_minor="amount_minor",
            currency="currency",
        )
        self.output.rejected(rejected)  # (Output casts to REJECTED_SCHEMA)
        return flagged.select("statement", "source_line", "amount_minor")

    def check_raw(self, good: pl.DataFrame) -> pl.DataFrame:
        """The raw model over the entries that passed the checks above (a safety net: none should fail)."""
        raw = good.select(
            "account", "currency", "value_date", "entry_date", "mark", "funds_code", "amount", "type_code",
            "customer_ref", "bank_ref", "supplementary", "reference",
            source_file=pl.lit(self.source_file), source_line="source_line",
        )  # fmt: skip
        valid, failures = split_valid(raw, RawMt940Entry, default_reason_code="FORMAT_VIOLATION")
        self.problems.add_entries(failures.iter_rows(named=True))
        return good.join(valid.select("source_line"), on="source_line", how="semi")

    def describe(self, row: dict[str, object]) -> None:
        """Name every problem of one bad entry (the per-line path; few lines)."""
        line = row["source_line"]
        assert isinstance(line, int)

        def add(column: str, value: object, code: str, reason: str) -> None:
            text = "" if value is None else str(value)
            self.problems.add(line, column, text[:200], code, reason)

        limit = self.context.limits
        if row["long_line"] is not None:
            add(
                ":61:",
                row["field"],
                "LIMIT_EXCEEDED",
                f"a line of {row['long_line']} bytes, over the {limit.max_line_bytes} byte limit",
            )
        account, currency = row["account"], row["currency"]
        if not account:
            add("account", account, "REQUIRED_EMPTY", "the statement has no account :25:")
        elif bad_characters(str(account)):
            add("account", account, "BAD_CHAR", f"account: {bad_characters(str(account))}")
        if currency is None:
            add(
                "currency",
                currency,
                "REQUIRED_EMPTY",
                "the statement has no readable opening balance :60F: to take the currency from",
            )
        elif currency not in CURRENCY_EXPONENT:
            add("currency", currency, "BAD_CURRENCY", f"currency {currency!r} is not a known ISO 4217 code")
        for column in ("reference", "supplementary"):
            text = row[column]
            if isinstance(text, str):
                found = bad_characters(text)
                if found:
                    add(column, text, "BAD_CHAR", f"{column}: {found}")
                size = len(text.encode("utf-8"))
                if size > limit.max_field_bytes:
                    add(
                        column,
                        text,
                        "LIMIT_EXCEEDED",
                        f"{column}: {size} bytes, over the {limit.max_field_bytes} byte limit",
                    )
        if row["value_date"] is None:
            add(
                ":61:",
                row["field"],
                "FORMAT_VIOLATION",
                "not value date YYMMDD, [entry date MMDD], C/D/RC/RD, amount, type N+3, reference",
            )
            return
        if row["value_day"] is None:
            add(
                "value_date",
                row["value_date"],
                "BAD_DATE",
                f"value date {row['value_date']!r} is not a real YYMMDD date",
            )
        elif row["booking_day"] is None:
            add(
                "entry_date",
                row["entry_date"],
                "BAD_DATE",
                f"entry date {row['entry_date']!r} is not a real MMDD date",
            )
        self.describe_amount(add, row)
        for column in ("customer_ref", "bank_ref"):
            text = row[column]
            if column == "bank_ref" and text is None:
                continue
            value = str(text)
            found = bad_characters(value)
            if found or not value.isascii():
                add(
                    column,
                    value,
                    "BAD_CHAR",
                    f"{column}: {found or 'not ASCII'} (a reference is printable ASCII)",
                )
            elif not re.fullmatch(MT940_REFERENCE, value):
                add(column, value, "FORMAT_VIOLATION", f"{column} {value!r}: 1 to 16 characters expected")

    def describe_amount(self, add: Callable[[str, object, str, str], None], row: dict[str, object]) -> None:
        """BAD_AMOUNT / SCALE_EXCEEDED for an amount that cannot be read."""
        amount, currency = str(row["amount"] or ""), row["currency"]
        if not _AMOUNT.fullmatch(amount):
            why = (
                "a point is not the MT940 decimal mark (decimal comma, no thousands separator)"
                if "." in amount
                else "digits and one decimal comma expected"
            )
            add("amount", amount, "BAD_AMOUNT", f"amount {amount!r}: {why}")
        elif isinstance(currency, str) and currency in CURRENCY_EXPONENT:
            decimals = len(amount.split(",", 1)[1])
            if decimals > CURRENCY_EXPONENT[currency]:
                add(
                    "amount", amount, "SCALE_EXCEEDED",
                    f"amount {amount!r} has {decimals} decimals, {currency} at most {CURRENCY_EXPONENT[currency]}",
                )  # fmt: skip
        if row["mark"] not in _SIGN:  # pragma: no cover - the split only matches C, D, RC, RD
            add("mark", row["mark"], "UNKNOWN_ENUM", "C, D, RC or RD expected")


def _rejected_file(source_file: str, error: FileRejected, counts: LineCounts | None = None) -> ParsedFile:
    return rejected_file(
        source_file, error, file_format=FORMAT, role=ROLE, channel=CHANNEL, model=BankTxn, lines=counts
    )
