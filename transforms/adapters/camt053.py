"""ISO 20022 camt.053 bank statements (FORMATS.md §8.1) → ``BankTxn`` rows and control totals.

The document is read with defusedxml's SAX parser (DOCTYPE, entities and external references
forbidden), so every element keeps the physical line of its start tag: an entry's ``source_line``
is the line of its ``<Ntry>`` start tag (DESIGN §9). Each ``Stmt`` gives control totals named after
its account: entry count and sums from ``TxsSummry``, and opening booked + net entries = closing booked.
"""

from __future__ import annotations

import io
import re
import xml.sax
import xml.sax.handler
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import polars as pl
from defusedxml import DefusedXmlException
from defusedxml.expatreader import DefusedExpatParser

from schemas.bank import CAMT_AMOUNT, ISO_DATE, RawCamtEntry
from schemas.canonical import BankTxn
from transforms.adapters.template import (
    Output,
    control_total_error,
    quarantine_entry,
    rejected_file,
    rejected_frame,
    rejected_row,
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
    quarantine_frame,
)
from transforms.text import MAX_FILE_BYTES, bad_characters
from transforms.validate import split_valid

#: Every camt.053 version (.001.02 … .001.08) has a namespace starting with this.
CAMT053_NAMESPACE_PREFIX = "urn:iso:std:iso:20022:tech:xsd:camt.053."
#: Hard limit on a statement's size; larger files are refused before parsing.
MAX_XML_BYTES = min(MAX_FILE_BYTES, 256 * 1024 * 1024)

_AMOUNT = re.compile(CAMT_AMOUNT, re.ASCII)
_DATE = re.compile(ISO_DATE, re.ASCII)
_BOOKED_STATUS = "BOOK"

_CANONICAL_SCHEMA: dict[str, pl.DataType] = {
    "account": pl.String(),
    "booking_date": pl.Date(),
    "value_date": pl.Date(),
    "amount_minor": pl.Int64(),
    "currency": pl.String(),
    "counterparty": pl.String(),
    "reference": pl.String(),
    "bank_ref": pl.String(),
    "source_file": pl.String(),
    "source_line": pl.Int64(),
}
_RAW_COLUMNS = (
    "account",
    "currency",
    "amount",
    "credit_debit",
    "status",
    "reversal",
    "booking_date",
    "value_date",
    "bank_ref",
    "reference",
    "counterparty",
)
_RAW_SCHEMA: dict[str, pl.DataType] = {
    **{name: pl.String() for name in _RAW_COLUMNS},
    "source_file": pl.String(),
    "source_line": pl.Int64(),
}


@dataclass
class _Node:
    """A minimal element: local name, namespace, attributes, text, children and start/end lines."""

    name: str
    namespace: str
    attrs: dict[str, str]
    line: int
    end_line: int = 0
    text_parts: list[str] = field(default_factory=list)
    children: list[_Node] = field(default_factory=list)

    @property
    def text(self) -> str:
        """The element's own character data, stripped."""
        return "".join(self.text_parts).strip()

    def all(self, *path: str) -> list[_Node]:
        """Every descendant reached by ``path`` (local names in the document's namespace)."""
        nodes = [self]
        for name in path:
            nodes = [c for n in nodes for c in n.children if c.name == name and c.namespace == self.namespace]
        return nodes

    def first(self, *path: str) -> _Node | None:
        """The first descendant reached by ``path``, or None."""
        found = self.all(*path)
        return found[0] if found else None

    def text_at(self, *path: str) -> str | None:
        """The text of the first descendant reached by ``path``, or None when absent."""
        node = self.first(*path)
        return None if node is None else node.text


class _TreeBuilder(xml.sax.handler.ContentHandler):
    """Builds ``_Node`` trees with the line of every start and end tag."""

    def __init__(self) -> None:
        super().__init__()
        self.root: _Node | None = None
        self.stack: list[_Node] = []
        self._locator: xml.sax.xmlreader.Locator | None = None

    def setDocumentLocator(self, locator: xml.sax.xmlreader.Locator) -> None:  # noqa: N802 - SAX API
        """Keep the locator that gives line numbers."""
        self._locator = locator

    def _line(self) -> int:
        # expat's locator always knows the line; the base ``Locator`` API allows None.
        line = self._locator.getLineNumber() if self._locator is not None else None
        return line if line is not None else 0

    def startElementNS(  # noqa: N802
        self, name: tuple[str | None, str], qname: str | None, attrs: xml.sax.xmlreader.AttributesNSImpl
    ) -> None:
        """Open a node at the current line."""
        namespace, local = name
        values = {key[1]: value for key, value in attrs.items()}
        node = _Node(local, namespace or "", values, self._line())
        if self.stack:
            self.stack[-1].children.append(node)
        else:
            self.root = node
        self.stack.append(node)

    def endElementNS(self, name: tuple[str | None, str], qname: str | None) -> None:  # noqa: N802
        """Close the current node."""
        node = self.stack.pop()
        node.end_line = self._line()

    def characters(self, content: str) -> None:
        """Collect character data of the current node."""
        if self.stack:
            self.stack[-1].text_parts.append(content)


@dataclass
class _Entry:
    """What was read of one ``Ntry`` (text as written) and the results of its checks."""

    line: int
    raw: dict[str, str | None]
    amount_minor: int | None = None
    exact: Decimal | None = None
    sign: int = 0
    problems: list[tuple[str | None, str, str, str]] = field(default_factory=list)


def parse_camt053(source: bytes | Source, source_file: str, context: ParseContext) -> ParsedFile:
    """Parse a camt.053 (BankToCustomerStatement) document, any version .001.02 to .001.08.

    A bank statement holds a few hundred entries a day, so the document is read whole (within
    ``MAX_XML_BYTES``) and walked entry by entry; its rows still leave through the context's sink.

    Args:
        source: the XML document's bytes, or a Source over them.
        source_file: the path relative to the date's inbox folder, carried on every row.
        context: the sink for rows (rows are collected into the ParsedFile without one).

    Returns:
        A ParsedFile (format ``camt053``, role and channel ``bank``): one ``BankTxn`` per booked entry,
        control totals per statement, and ``file_error`` for an unsafe (``XML_UNSAFE``), malformed
        (``XML_MALFORMED``), foreign (``HEADER_MISMATCH``) or inconsistent
        (``CONTROL_TOTAL_MISMATCH``) document.
    """
    reader = as_source(source)
    if reader.size > MAX_XML_BYTES:
        error = FileRejected("LIMIT_EXCEEDED", f"{reader.size} bytes is over the {MAX_XML_BYTES} limit")
        return _rejected_file(source_file, error, LineCounts())
    data = reader.read(0, reader.size)
    try:
        root = _parse_tree(data)
    except FileRejected as exc:
        return _rejected_file(source_file, exc, LineCounts(physical=_count_lines(data)))
    if not root.namespace.startswith(CAMT053_NAMESPACE_PREFIX) or root.name != "Document":
        error = FileRejected(
            "HEADER_MISMATCH",
            f"root element {{{root.namespace}}}{root.name} is not a camt.053 Document",
            line=root.line,
        )
        return _rejected_file(source_file, error, LineCounts(physical=_count_lines(data)))

    entries: list[_Entry] = []
    controls: list[ControlTotal] = []
    mismatch_lines: list[tuple[ControlTotal, int]] = []
    statement_dates: set[str] = set()
    for stmt in root.all("BkToCstmrStmt", "Stmt"):
        account = stmt.text_at("Acct", "Id", "IBAN") or stmt.text_at("Acct", "Id", "Othr", "Id") or ""
        account_ccy = stmt.text_at("Acct", "Ccy")
        from_date = stmt.text_at("FrToDt", "FrDtTm")
        if from_date:
            statement_dates.add(from_date[:10])
        stmt_entries = [_read_entry(node, account, account_ccy) for node in stmt.all("Ntry")]
        entries.extend(stmt_entries)
        for control, line in _statement_controls(stmt, account, stmt_entries):
            controls.append(control)
            if not control.ok:
                mismatch_lines.append((control, line))

    file_error = control_total_error(
        (control for control, _ in mismatch_lines),
        line=mismatch_lines[0][1] if mismatch_lines else None,
        template="{name}: footer {footer}, parsed {parsed}",
    )

    statement_date = None
    if len(statement_dates) == 1 and _DATE.match(next(iter(statement_dates))):
        try:
            statement_date = date.fromisoformat(next(iter(statement_dates)))
        except ValueError:
            statement_date = None
    return _finish(source_file, data, root, entries, tuple(controls), file_error, statement_date, context)


def _parse_tree(data: bytes) -> _Node:
    """Parse ``data`` safely into a ``_Node`` tree, or raise FileRejected."""
    if len(data) == 0:
        raise FileRejected("EMPTY_FILE", "the file is empty (0 bytes)")
    if len(data) > MAX_XML_BYTES:
        raise FileRejected("LIMIT_EXCEEDED", f"{len(data)} bytes is over the {MAX_XML_BYTES} limit")
    builder = _TreeBuilder()
    parser = DefusedExpatParser(forbid_dtd=True, forbid_entities=True, forbid_external=True)
    parser.setFeature(xml.sax.handler.feature_namespaces, True)
    parser.setFeature(xml.sax.handler.feature_external_ges, False)
    parser.setContentHandler(builder)
    try:
        parser.parse(io.BytesIO(data))
    except DefusedXmlException as exc:
        raise FileRejected(
            "XML_UNSAFE",
            f"DTDs and entities are not allowed: {type(exc).__name__} {exc}",
            line=builder._line() or None,
        ) from None
    except xml.sax.SAXParseException as exc:
        raise FileRejected(
            "XML_MALFORMED", f"line {exc.getLineNumber()}: {exc.getMessage()}", line=exc.getLineNumber()
        ) from None
    if builder.root is None:
        raise FileRejected("XML_MALFORMED", "no root element")
    return builder.root


def _read_entry(node: _Node, account: str, account_ccy: str | None) -> _Entry:
    """Read one ``Ntry`` and run its row checks."""
    amount_node = node.first("Amt")
    currency = amount_node.attrs.get("Ccy") if amount_node is not None else None
    details = node.first("NtryDtls", "TxDtls")
    credit_debit = node.text_at("CdtDbtInd")
    counterparty = None
    if details is not None:
        party = "Dbtr" if credit_debit == "CRDT" else "Cdtr"
        counterparty = details.text_at("RltdPties", party, "Nm") or details.text_at(
            "RltdPties", party, "Pty", "Nm"
        )
    reference = node.text_at("AddtlNtryInf") or None
    if reference is None:
        texts = [u.text for u in node.all("NtryDtls", "TxDtls", "RmtInf", "Ustrd") if u.text]
        reference = " ".join(texts) or None
    status = node.text_at("Sts", "Cd") or node.text_at("Sts")
    raw: dict[str, str | None] = {
        "account": account,
        "currency": currency or account_ccy,
        "amount": amount_node.text if amount_node is not None else None,
        "credit_debit": credit_debit,
        "status": status,
        "reversal": node.text_at("RvslInd"),
        "booking_date": _date_text(node, "BookgDt"),
        "value_date": _date_text(node, "ValDt"),
        "bank_ref": node.text_at("AcctSvcrRef") or None,
        "reference": reference,
        "counterparty": counterparty or None,
    }
    entry = _Entry(line=node.line, raw=raw)
    _check_entry(entry)
    return entry


def _date_text(node: _Node, name: str) -> str | None:
    """``name/Dt``, or the date part of ``name/DtTm``; None when absent."""
    day = node.text_at(name, "Dt")
    if day is not None:
        return day
    moment = node.text_at(name, "DtTm")
    return moment[:10] if moment else None


def _check_entry(entry: _Entry) -> None:
    """Row checks of one entry: problems are ``(column, value, reason_code, reason)``."""
    raw = entry.raw

    def problem(column: str | None, code: str, reason: str) -> None:
        entry.problems.append((column, (raw.get(column) if column else None) or "", code, reason))

    for column in ("account", "bank_ref", "reference", "counterparty"):
        found = bad_characters(raw[column] or "")
        if found:
            problem(column, "BAD_CHAR", f"{column}: {found}")
    if not raw["account"]:
        problem("account", "REQUIRED_EMPTY", "the statement has no Acct/Id")
    currency = raw["currency"]
    if not currency:
        problem("currency", "REQUIRED_EMPTY", "no Amt@Ccy and no Acct/Ccy")
    elif currency not in CURRENCY_EXPONENT:
        problem("currency", "BAD_CURRENCY", f"currency {currency!r} is not a known ISO 4217 code")
    if raw["credit_debit"] not in ("CRDT", "DBIT"):
        problem("credit_debit", "UNKNOWN_ENUM", f"CdtDbtInd {raw['credit_debit']!r} is not CRDT or DBIT")
    else:
        entry.sign = 1 if raw["credit_debit"] == "CRDT" else -1
    amount = raw["amount"]
    if not amount:
        problem("amount", "REQUIRED_EMPTY", "Ntry has no Amt")
    elif not _AMOUNT.match(amount):
        problem("amount", "BAD_AMOUNT", f"Amt {amount!r} is not a plain positive decimal")
    else:
        entry.exact = Decimal(amount)
        if currency in CURRENCY_EXPONENT:
            try:
                entry.amount_minor = parse_decimal_text(
                    amount, scale=CURRENCY_EXPONENT[currency], exact_scale=False, allow_negative=False
                )
            except AmountError as exc:
                problem("amount", exc.reason_code, f"Amt {exc} ({currency})")
    for column, required in (("booking_date", True), ("value_date", False)):
        value = raw[column]
        if not value:
            if required:
                problem(column, "REQUIRED_EMPTY", f"{column} missing")
            continue
        try:
            if not _DATE.match(value):
                raise ValueError("not YYYY-MM-DD")
            date.fromisoformat(value)
        except ValueError as exc:
            problem(column, "BAD_DATE", f"{column} {value!r}: {exc}")
    reversal = (raw["reversal"] or "").lower() in ("true", "1")
    if reversal or raw["status"] != _BOOKED_STATUS:
        why = "a reversal (RvslInd true)" if reversal else f"status {raw['status']!r}, not BOOK"
        problem("status", "NOT_BOOKED", f"entry is {why}")


def _statement_controls(stmt: _Node, account: str, entries: list[_Entry]) -> list[tuple[ControlTotal, int]]:
    """Control totals of one statement, each with the line of the element holding the footer figure."""
    signs_known = all(e.sign != 0 for e in entries)
    readable = signs_known and all(e.exact is not None for e in entries)

    def total(selected: list[_Entry]) -> Decimal | None:
        return sum((e.exact or Decimal(0) for e in selected), Decimal(0)) if readable else None

    credits = [e for e in entries if e.sign > 0]
    debits = [e for e in entries if e.sign < 0]
    found: list[tuple[ControlTotal, int]] = []
    summary = stmt.first("TxsSummry")
    if summary is not None:
        for name, selected in (("TtlNtries", entries), ("TtlCdtNtries", credits), ("TtlDbtNtries", debits)):
            block = summary.first(name)
            if block is None:
                continue
            count = block.text_at("NbOfNtries")
            if count is not None and count.isascii() and count.isdigit():
                counted = Decimal(len(selected)) if name == "TtlNtries" or signs_known else None
                found.append(
                    (ControlTotal(f"{account} {name}/NbOfNtries", Decimal(count), counted), block.line)
                )
            footer_sum = block.text_at("Sum")
            if footer_sum is not None and _AMOUNT.match(footer_sum):
                found.append(
                    (ControlTotal(f"{account} {name}/Sum", Decimal(footer_sum), total(selected)), block.line)
                )
    balances = _balances(stmt)
    if "OPBD" in balances and "CLBD" in balances:
        opening, _ = balances["OPBD"]
        closing, line = balances["CLBD"]
        booked = [e for e in entries if e.raw["status"] == _BOOKED_STATUS]
        net = (
            sum((e.sign * (e.exact or Decimal(0)) for e in booked), Decimal(0))
            if all(e.exact is not None and e.sign != 0 for e in booked)
            else None
        )
        parsed = None if net is None or opening is None else opening + net
        if closing is not None:
            found.append((ControlTotal(f"{account} OPBD+entries=CLBD", closing, parsed), line))
    return found


def _balances(stmt: _Node) -> dict[str, tuple[Decimal | None, int]]:
    """Signed balances by type code (OPBD, CLBD, ...), each with its ``Bal`` line."""
    found: dict[str, tuple[Decimal | None, int]] = {}
    for bal in stmt.all("Bal"):
        code = bal.text_at("Tp", "CdOrPrtry", "Cd")
        amount = bal.text_at("Amt")
        if code is None or code in found:
            continue
        value = None
        if amount is not None and _AMOUNT.match(amount):
            value = Decimal(amount) * (-1 if bal.text_at("CdtDbtInd") == "DBIT" else 1)
        found[code] = (value, bal.line)
    return found


def _finish(
    source_file: str,
    data: bytes,
    root: _Node,
    entries: list[_Entry],
    controls: tuple[ControlTotal, ...],
    file_error: FileRejected | None,
    statement_date: date | None,
    context: ParseContext,
) -> ParsedFile:
    """Validate the good entries, send the rows on and assemble the ParsedFile."""
    problems: list[dict[str, object]] = []
    good: list[dict[str, object]] = []
    raw_rows: list[dict[str, object]] = []
    rejected_by_line: dict[int, dict[str, object]] = {}
    for entry in entries:
        signed = None if entry.amount_minor is None or entry.sign == 0 else entry.sign * entry.amount_minor
        rejected_by_line[entry.line] = rejected_row(
            source_file,
            entry.line,
            channel="bank",
            channel_txn_id=entry.raw["bank_ref"],
            amount_minor=signed,
            currency=entry.raw["currency"] or None,
        )
        for column, value, code, reason in entry.problems:
            problems.append(quarantine_entry(source_file, entry.line, column, value, code, reason))
        if entry.problems:
            continue
        raw = entry.raw
        good.append(
            {
                "account": raw["account"],
                "booking_date": date.fromisoformat(raw["booking_date"] or ""),
                "value_date": date.fromisoformat(raw["value_date"]) if raw["value_date"] else None,
                "amount_minor": signed,
                "currency": raw["currency"],
                "counterparty": raw["counterparty"],
                "reference": raw["reference"],
                "bank_ref": raw["bank_ref"],
                "source_file": source_file,
                "source_line": entry.line,
            }
        )
        raw_rows.append({**raw, "source_file": source_file, "source_line": entry.line})
    quarantines = [quarantine_frame(problems)]
    rows = pl.DataFrame(good, schema=_CANONICAL_SCHEMA)
    if rows.height:
        _, raw_problems = split_valid(
            pl.DataFrame(raw_rows, schema=_RAW_SCHEMA), RawCamtEntry, default_reason_code="FORMAT_VIOLATION"
        )
        quarantines.append(raw_problems)
        rows = rows.filter(~pl.col("source_line").is_in(raw_problems["source_line"].implode()))
        rows, schema_problems = split_valid(rows, BankTxn)
        quarantines.append(schema_problems)
    quarantine = pl.concat(quarantines, how="vertical").sort("source_line", maintain_order=True)
    output = Output(context, BankTxn, source_file)
    output.rows(rows)
    output.rejected(rejected_frame(rejected_by_line, quarantine["source_line"].to_list()))
    return output.parsed_file(
        file_format="camt053",
        role="bank",
        channel="bank",
        quarantine=quarantine,
        controls=controls,
        file_error=file_error,
        lines=_line_counts(data, root),
        statement_date=statement_date,
    )


def _count_lines(data: bytes) -> int:
    """Physical lines of the document (a final newline does not start a new line)."""
    if not data:
        return 0
    return data.count(b"\n") + (0 if data.endswith(b"\n") else 1)


def _line_counts(data: bytes, root: _Node) -> LineCounts:
    """One data line per entry (its ``<Ntry>`` line); whitespace-only lines blank; the rest is XML structure.

    An entry's record is its ``<Ntry>`` start-tag line (DESIGN §9), so data lines = entries and
    ``physical = data + header + blank`` holds with the other lines of every element counted as header.
    """
    physical = _count_lines(data)
    entry_lines: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if node.name == "Ntry":
            entry_lines.add(node.line)
            continue
        stack.extend(node.children)
    lines = data.split(b"\n")
    blank = sum(1 for number in range(1, physical + 1) if lines[number - 1].strip() == b"")
    return LineCounts(
        physical=physical, data=len(entry_lines), header=physical - len(entry_lines) - blank, blank=blank
    )


def _rejected_file(source_file: str, error: FileRejected, counts: LineCounts) -> ParsedFile:
    """A ParsedFile for a document that could not be read at all."""
    return rejected_file(
        source_file, error, file_format="camt053", role="bank", channel="bank", model=BankTxn, lines=counts
    )
