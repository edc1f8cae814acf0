r"""Stripe itemized balance report (``balance_change_from_activity.itemized.*``) → canonical rows (FORMATS §5).

The file: UTF-8 (one leading BOM stripped), CRLF or LF, a header line, then one record per balance
transaction; no preamble, no footer. Columns are read **by header name**, in any order, and columns
recon does not read are ignored (a report run chooses its own ``columns``). Required:
``balance_transaction_id, created_utc, currency, gross, fee, net, reporting_category``; read when
present: ``available_on_utc, description, customer_facing_amount, customer_facing_currency,
charge_id, source_id, payment_metadata[order_no], payment_metadata[order_id]``. A required column
missing is ``MISSING_COLUMN``, a repeated one ``DUP_COLUMN``.

Quoting is RFC 4180: a field holding a comma, a quote or a line break is quoted, ``""`` is a quote.
Read with the columnar template (``template.py``) in chunks of ``limits.chunk_bytes``:

- a chunk without a ``"`` takes the template's fast path: one Polars read, one row per physical line;
- a chunk with quotes is split into physical lines by the same read, then into records by the parity
  of the quotes seen so far (a line ends a record when the quotes up to its end are even: one
  ``cum_sum``), the records' lines joined by ``\n``, and every well-formed record unquoted by one
  Polars read with ``quote_char='"'``. ``source_line`` is the physical line where the record starts;
  its other lines count as ``LineCounts.continuation``. A chunk never ends inside a record: it is cut
  before the open record (or grown, up to ``limits.max_line_bytes`` for one record). Only malformed
  records take a per-record path: a quote that closes no field, a CR, a record too long (its first
  line is quarantined and reading resumes on the next line), a quote still open at the end of the
  file (``TRUNCATED``).

Checks are expressions over whole columns; the raw model is ``schemas.stripe.StripeBalanceRaw``.

Money. ``gross``, ``fee`` and ``net`` are decimals in **major units of the row's balance currency**
(``currency``, lowercase ``usd``). They are converted exactly with that currency's exponent from
``schemas.currency.CURRENCY_EXPONENT`` (JPY 0, USD 2, KWD 3): *at most* the exponent's decimals are
accepted (``10.5`` USD is 1050 cents) and more are ``SCALE_EXCEEDED`` (``1.234`` USD, ``1500.00`` JPY),
never rounded. A currency recon does not know is ``BAD_CURRENCY``. Every row must satisfy
``net = gross − fee`` exactly, else it is quarantined as ``NET_MISMATCH`` (no BAD_INPUTS §3 code
fits: ``CONTROL_TOTAL_MISMATCH`` is a file's footer, ``AMOUNT_MISMATCH`` a finding between two files).
The file has no footer, so there are no control totals; ``facts`` holds the day's gross, fee and net per
settlement currency (None once a data line was rejected), the net being what the payouts sweep.

Canonical rows (``schemas.canonical.ChannelTxn``), positive = towards the merchant:

- ``kind`` from ``reporting_category`` by ``schemas.stripe.STRIPE_REPORTING_CATEGORIES`` (charge →
  payment, refund → refund, dispute → adjustment, fee → fee, payout → payout, …); an unknown
  category is ``UNKNOWN_ENUM``.
- ``channel_txn_id = balance_transaction_id``; ``original_txn_id`` = ``source_id`` on payout rows (the
  ``po_…`` id the bank shows), ``charge_id`` on the other non-payment rows (the refunded or disputed
  charge), when the file has the column.
- Currencies: ``currency`` (upper-cased) is the **settlement** currency. When
  ``customer_facing_currency`` is present, not empty and another currency, the row is cross-border:
  ``currency``/``amount_minor`` = ``customer_facing_currency``/``customer_facing_amount`` (in that
  currency's exponent; its sign must be gross's), ``settle_currency``/``settle_amount_minor`` = the
  balance currency/``gross``. Otherwise ``amount_minor = gross`` and ``settle_*`` are null
  (``customer_facing_amount`` in the balance currency is not compared with ``gross``).
- ``fee_minor = −fee`` and ``fee_exact = −fee`` (Decimal(18,5)), both in the balance currency: a fee
  charged is negative (the dispute fee 15.00 is −1500).
- ``fx_rate`` is null: Stripe's report column lists (report types reference, FORMATS §5) have no
  exchange-rate column; the rate exists only on the API's BalanceTransaction object.
- ``order_no``: ``payment_metadata[order_no]``, else ``payment_metadata[order_id]``, when the report
  has them. Else an **assumption about our shop, not a Stripe rule**: our checkout writes the charge
  description ``Order <order no>``, and Stripe describes its refund ``REFUND FOR CHARGE (Order <order
  no>)``; one regex over the column (``_ORDER_IN_DESCRIPTION``) takes the order number (printable
  ASCII) from either; no match → null.
- ``occurred_at = created_utc`` (``YYYY-MM-DD HH:MM:SS``, UTC); ``merchant_account`` null (the file
  names no account); ``settle_date`` = the run's business date; ``status`` succeeded (the report
  lists balance transactions, which have happened).

The statement date is the run's date when rows were created on it (UTC dates of ``created_utc``),
else the first date; a file none of whose rows is on the run's date is ``WRONG_DATE``. A file with a
header and no records is a day without activity (zero rows, accepted): Stripe has no footer to
tell it from a cut file, and a record cut short is ``TRUNCATED``.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import polars as pl

from schemas.canonical import ChannelTxn
from schemas.stripe import (
    STRIPE_COLUMNS,
    STRIPE_REPORTING_CATEGORIES,
    STRIPE_REQUIRED_COLUMNS,
    StripeBalanceRaw,
)
from transforms.adapters.template import (
    BOM,
    Chunk,
    Output,
    Problems,
    bad_character_expr,
    check_canonical,
    check_raw,
    field_names,
    frame_schema,
    head_lines,
    line_text,
    may_hold_bad_characters,
    read_fields,
    rejected_file,
)
from transforms.money import CURRENCY_EXPONENT
from transforms.parsed import FileRejected, LineCounts, ParseContext, ParsedFile, Source, as_source
from transforms.text import bad_characters

FORMAT = "stripe_balance"
ROLE = "channel"
CHANNEL = "stripe"

#: Our shop's descriptions (see the module docstring): ``Order SHOP-50101`` on a charge,
#: ``REFUND FOR CHARGE (Order SHOP-50077)`` on its refund. Group 1 is the order number: printable ASCII
#: up to a space, a parenthesis or a comma.
_ORDER_IN_DESCRIPTION = r"^(?:REFUND FOR CHARGE \()?Order ([!-'*+\--~]+)"
#: A record whose every field is plain or properly quoted (RFC 4180), no CR; line breaks only inside quotes.
_SIMPLE_RECORD = r'^(?:"(?:[^"\r]|"")*"|[^",\r\n]*)(?:,(?:"(?:[^"\r]|"")*"|[^",\r\n]*))*$'
_QUOTED_FIELD = r'"(?:[^"]|"")*"'
_DECIMALS = r"\.([0-9]+)$"
_MAX_VALUE_CHARS = 200
_MIN_CHUNK = 1024
#: The reason codes of the raw model's checks, by column (the id check is BAD_CHAR by default).
_RAW_REASON_CODES: dict[str, str] = {
    "balance_transaction_id": "REQUIRED_EMPTY",
    "created_utc": "BAD_DATE",
    "available_on_utc": "BAD_DATE",
    "currency": "BAD_CURRENCY",
    "customer_facing_currency": "BAD_CURRENCY",
    "gross": "BAD_AMOUNT",
    "fee": "BAD_AMOUNT",
    "net": "BAD_AMOUNT",
    "customer_facing_amount": "BAD_AMOUNT",
    "reporting_category": "UNKNOWN_ENUM",
}
_CANONICAL_SCHEMA: dict[str, pl.DataType] = frame_schema(ChannelTxn)

#: One problem of a record: ``(column, value, reason_code, reason)``.
_Entry = tuple[str | None, str | None, str, str]


def parse_stripe_balance(source: bytes | Source, source_file: str, context: ParseContext) -> ParsedFile:
    """Parse a Stripe itemized balance-change report into canonical channel rows.

    Never raises on bad input: a bad record becomes quarantine entries plus one ``rejected`` row, a
    bad file sets ``file_error`` (an undecodable file sends no rows).

    Args:
        source: the file's bytes, or a Source over them (after unpacking).
        source_file: the path relative to the date's inbox (``stripe/balance.csv``).
        context: the run's business date (every row's ``settle_date``; a file with no row created on
            it is ``WRONG_DATE``), the sink for rows, the limits.

    Returns:
        A ``ParsedFile`` of format ``stripe_balance``, role ``channel``, channel ``stripe``: one
        ``ChannelTxn`` row per valid record (money in minor units, signed towards the merchant), no
        control totals, ``facts`` with the gross, fee and net per settlement currency, and the line
        accounting (``continuation`` for the extra lines of quoted multi-line fields).
    """
    data = as_source(source)
    if data.size == 0:
        return _rejected_file(source_file, FileRejected("EMPTY_FILE", "the file is empty (0 bytes)"))
    (header_bytes, *_), offset = head_lines(data, 1)
    if offset < data.size and data.read(offset - 1, offset) != b"\n":
        error = FileRejected("HEADER_MISMATCH", f"the header line is longer than {offset} bytes", 1)
        return _rejected_file(source_file, error)
    bom = header_bytes.startswith(BOM)
    header_bytes = header_bytes.removeprefix(BOM)
    try:
        header = header_bytes.decode("utf-8")
    except UnicodeDecodeError as exc:
        at = exc.start + (len(BOM) if bom else 0)
        return _rejected_file(
            source_file,
            FileRejected("DECODE_ERROR", f"not valid utf-8 at byte {at} (line 1): {exc.reason}", 1),
        )
    if not header.strip():
        return _rejected_file(source_file, FileRejected("EMPTY_FILE", "no header line", line=1))
    try:
        names = _header_names(header)
    except FileRejected as exc:
        return _rejected_file(source_file, exc)
    return _Parser(data, source_file, context, names).run(offset)


def _header_names(header: str) -> list[str]:
    """The header's column names (RFC 4180), checked: no bad character, no repeat, every required one.

    Raises:
        FileRejected: ``HEADER_MISMATCH`` (unreadable quoting), ``BAD_CHAR``, ``DUP_COLUMN`` or
            ``MISSING_COLUMN`` naming the columns.
    """
    try:
        names = next(csv.reader([header], strict=True))
    except csv.Error as exc:
        raise FileRejected("HEADER_MISMATCH", f"header line: {exc}", 1) from None
    for name in names:
        problem = bad_characters(name)
        if problem:
            raise FileRejected("BAD_CHAR", f"header column {name[:40]!r}: {problem}", 1)
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise FileRejected("DUP_COLUMN", f"header repeats column(s) {', '.join(repeated)}", 1)
    missing = [name for name in STRIPE_REQUIRED_COLUMNS if name not in names]
    if missing:
        raise FileRejected("MISSING_COLUMN", f"header lacks column(s) {', '.join(missing)}", 1)
    return names


def _rejected_file(source_file: str, error: FileRejected) -> ParsedFile:
    return rejected_file(source_file, error, file_format=FORMAT, role=ROLE, channel=CHANNEL, model=ChannelTxn)


# -- chunks into records --------------------------------------------------------------------------


@dataclass
class _Batch:
    """One chunk's records: the readable ones as a frame, the malformed ones described.

    ``records`` has ``source_line``, ``fields`` (the record's field count), ``size`` (bytes),
    ``text`` (the record's text, null where it is the fields joined) and ``f0 … f{width-1}``.
    """

    records: pl.DataFrame
    odd: dict[int, list[_Entry]] = field(default_factory=dict)
    physical: int = 0
    blank: int = 0
    continuation: int = 0
    truncated: FileRejected | None = None
    screen: bool = True


def _read_whole_lines(source: Source, position: int, want: int, at_least: int = 0) -> bytes:
    """About ``want`` bytes from ``position`` cut after the last line end (or up to the end of the file).

    The cut is at or after ``at_least`` bytes (a chunk that grows takes at least one more line); a line
    longer than ``want`` is read on to its end.
    """
    size = source.size
    data = source.read(position, min(position + max(want, at_least + 1), size))
    if position + len(data) >= size:
        return data
    cut = data.rfind(b"\n", at_least)
    if cut != -1:
        return data[: cut + 1]
    parts, end = [data], position + len(data)  # one line longer than ``want``: read on to its end
    while end < size:
        more = source.read(end, min(end + max(want, _MIN_CHUNK), size))
        newline = more.find(b"\n")
        if newline != -1:
            parts.append(more[: newline + 1])
            break
        parts.append(more)
        end += len(more)
    return b"".join(parts)


def _line_start(data: bytes, lines: int, index: int) -> int:
    """The offset in ``data`` (``lines`` whole lines) of line ``index``: searched from the end (a cut is near it)."""
    position = len(data) - 1 if data.endswith(b"\n") else len(data)
    for _ in range(lines - index):
        position = data.rfind(b"\n", 0, position)
    return position + 1


def _group_records(texts: pl.DataFrame) -> pl.DataFrame:
    r"""Lines (``source_line``, ``text``) → records, by the parity of the quotes.

    A line ends a record when the quotes from the first line to its end are even (RFC 4180 quotes,
    ``""`` included, come in pairs).

    Returns:
        One row per record: ``source_line`` (its first line), ``lines``, ``text`` (its lines joined by
        ``\n``) and ``open`` (its quotes never close: only the last record can be open).
    """
    open_after = (pl.col("text").str.count_matches('"', literal=True).cum_sum() % 2) == 1
    return (
        texts.with_columns(open=open_after)
        .with_columns(record=(~pl.col("open").shift(1, fill_value=False)).cum_sum())
        .group_by("record", maintain_order=True)
        .agg(
            pl.col("source_line").first(),
            pl.len().cast(pl.Int64).alias("lines"),
            pl.col("text").str.join("\n"),
            pl.col("open").last(),
        )
        .drop("record")
    )


class _Parser:
    """One pass over one report: chunk after chunk of records, each judged over whole columns."""

    def __init__(self, source: Source, source_file: str, context: ParseContext, names: list[str]) -> None:
        self.source = source
        self.source_file = source_file
        self.context = context
        self.limits = context.limits
        self.width = len(names)
        self.names = names
        self.positions = {name: index for index, name in enumerate(names) if name in STRIPE_COLUMNS}
        self.problems = Problems(source_file, context.limits.max_problem_lines)
        self.output = Output(context, ChannelTxn, source_file)
        self.dates: dict[date, int] = {}
        self.sums: dict[str, list[int]] = {}  # settlement currency → [gross, fee, net] in minor units
        self.physical = self.data = self.blank = self.continuation = 0
        self.last_record: tuple[int, int] | None = None  # (line, fields) of the last non-blank record
        self.truncated: FileRejected | None = None

    # -- the pass -------------------------------------------------------------------------------

    def run(self, offset: int) -> ParsedFile:
        """Read every chunk after the header; assemble the ParsedFile."""
        try:
            for batch in self.batches(offset, 2):
                self.judge(batch)
        except FileRejected as exc:  # undecodable text: nothing of the file is usable
            self.output.discard()
            return _rejected_file(self.source_file, exc)
        errors = [
            error for error in (self.overflow(), self.wrong_date(), self.truncation()) if error is not None
        ]
        return self.output.parsed_file(
            file_format=FORMAT, role=ROLE, channel=CHANNEL,
            quarantine=self.problems.frame(),
            file_error=errors[0] if errors else None,
            lines=LineCounts(
                physical=1 + self.physical, data=self.data, header=1, blank=self.blank,
                continuation=self.continuation,
            ),
            statement_date=self.statement_date(),
            facts=self.facts(),
        )  # fmt: skip

    def batches(self, position: int, line: int) -> Iterator[_Batch]:
        """Chunks of whole records from ``position`` (physical line ``line``) to the end of the file."""
        size = self.source.size
        want, at_least = max(self.limits.chunk_bytes, _MIN_CHUNK), 0
        while position < size:
            data = _read_whole_lines(self.source, position, want, at_least)
            at_eof = position + len(data) >= size
            chunk = Chunk(data, line)
            frame = read_fields(chunk, self.width)
            if b'"' not in data:
                batch = self.plain_batch(frame)
            else:
                split = self.quoted_batch(frame, at_eof)
                if isinstance(split, int):  # a record is still open at the chunk's end
                    if split == 0 and len(data) <= self.limits.max_line_bytes:
                        want, at_least = 2 * len(data), len(data)  # the chunk's only record: read on
                        continue
                    if split == 0:  # longer than a record may be: its first line alone, then resync
                        split, batch = 1, self.too_long(frame, len(data))
                        frame = frame.head(1)
                    else:
                        frame = frame.head(split)
                        quoted = self.quoted_batch(frame, at_eof=False)
                        assert not isinstance(quoted, int)  # the cut is at a record boundary
                        batch = quoted
                    data = data[: _line_start(data, chunk.line_count, split)]
                    chunk = Chunk(data, line)
                else:
                    batch = split
            batch.physical = frame.height
            batch.screen = may_hold_bad_characters(chunk)
            yield batch
            position += len(data)
            line += frame.height
            want, at_least = max(self.limits.chunk_bytes, _MIN_CHUNK), 0

    def plain_batch(self, frame: pl.DataFrame) -> _Batch:
        """A chunk without quotes: every physical line is a record, split as ``read_fields`` split it."""
        blank = frame.filter(pl.col("blank"))
        lines = frame.filter(~pl.col("blank")) if blank.height else frame
        sizes = pl.sum_horizontal(
            pl.col(name).str.len_bytes().fill_null(0) for name in field_names(self.width)
        )
        size = pl.coalesce(pl.col("line").str.len_bytes(), sizes + (self.width - 1)).cast(pl.Int64)
        records = lines.select(
            "source_line", "fields", *field_names(self.width), size=size, text=pl.col("line")
        )
        return _Batch(records, blank=blank.height)

    def quoted_batch(self, frame: pl.DataFrame, at_eof: bool) -> _Batch | int:
        """A chunk with quotes: its lines grouped into records, the well-formed ones unquoted by one read.

        Returns:
            The batch; or the index (in the chunk) of the line where a record starts that is still
            open at the chunk's end (not the file's): the chunk must end before it.
        """
        first = int(frame["source_line"][0])
        rest = frame.select("source_line", text=line_text(frame, self.width).fill_null(""))
        parts: list[pl.DataFrame] = []
        odd: dict[int, list[_Entry]] = {}
        while rest.height:
            records = _group_records(rest).with_columns(simple=pl.col("text").str.contains(_SIMPLE_RECORD))
            opened: _Entry | None = None
            if records["open"][-1]:
                text = str(records["text"][-1])
                size = len(text.encode("utf-8"))
                if size > self.limits.max_line_bytes:
                    opened = (None, text[:_MAX_VALUE_CHARS], "LIMIT_EXCEEDED",
                              f"a quote opened on this line is not closed within {size} bytes, over the "
                              f"{self.limits.max_line_bytes} byte limit of a record")  # fmt: skip
                elif not at_eof:
                    return int(records["source_line"][-1]) - first
                elif records["lines"][-1] > 1:  # a stray quote, or a file cut inside a quoted field
                    opened = (None, text.split("\n", 1)[0][:_MAX_VALUE_CHARS], "FORMAT_VIOLATION",
                              "a quote opened on this line is never closed")  # fmt: skip
            broken = records.filter((pl.col("lines") > 1) & ~pl.col("simple") & ~pl.col("open"))
            if broken.height == 0 and opened is None:
                parts.append(records)
                break
            # A malformed record or one never closed: quarantine its first line alone, resync after it.
            line = int(broken["source_line"][0]) if broken.height else int(records["source_line"][-1])
            parts.append(records.filter(pl.col("source_line") < line))
            if broken.height:
                text = str(rest.filter(pl.col("source_line") == line)["text"][0])
                opened = (None, text[:_MAX_VALUE_CHARS], "FORMAT_VIOLATION",
                          "a quote on this line opens a field that no well-formed RFC 4180 record closes")  # fmt: skip
            assert opened is not None
            odd[line] = [opened]
            rest = rest.filter(pl.col("source_line") > line)
        records = pl.concat(parts)
        batch = _Batch(records.head(0), odd=odd)
        batch.continuation = int(records["lines"].sum()) - records.height
        is_blank = (pl.col("lines") == 1) & pl.col("text").str.contains(r"^[ \t]*$")
        batch.blank = records.filter(is_blank).height
        records = records.filter(~is_blank)
        for line, lines, text in (
            records.filter(pl.col("open")).select("source_line", "lines", "text").iter_rows()
        ):
            batch.truncated = FileRejected(
                "TRUNCATED", f"line {line}: a quoted field is never closed (file cut short?)", line
            )
            odd[line] = [(None, text[:_MAX_VALUE_CHARS], "TRUNCATED", f"a quoted field opened on line {line} "
                          f"is never closed ({lines} lines to the end of the file)")]  # fmt: skip
        for line, text in (
            records.filter(~pl.col("simple") & ~pl.col("open")).select("source_line", "text").iter_rows()
        ):
            size = len(text.encode("utf-8"))
            if size > self.limits.max_line_bytes:
                odd[line] = [_too_long(text, size, self.limits.max_line_bytes)]
            elif "\r" in text:
                odd[line] = [(None, text[:_MAX_VALUE_CHARS], "BAD_CHAR", "carriage return inside a record")]
            else:
                odd[line] = [(None, text[:_MAX_VALUE_CHARS], "FORMAT_VIOLATION",
                              "malformed quoting (RFC 4180: a quote may only open, close or double inside a field)")]  # fmt: skip
        batch.records = self.unquote(records.filter(pl.col("simple") & ~pl.col("open")))
        return batch

    def unquote(self, records: pl.DataFrame) -> pl.DataFrame:
        """Well-formed records (``source_line``, ``text``): their fields by one Polars read with quotes."""
        names = field_names(self.width)
        if records.height == 0:
            return pl.DataFrame(
                schema={
                    "source_line": pl.Int64(),
                    "fields": pl.Int64(),
                    "size": pl.Int64(),
                    "text": pl.String(),
                    **dict.fromkeys(names, pl.String()),
                }  # fmt: skip
            )
        joined = records.select(pl.col("text").str.join("\n")).item()
        fields = pl.read_csv(
            ("\n" + joined + "\n").encode("utf-8"),  # the leading "\n" keeps a record's leading BOM (BAD_CHAR)
            has_header=False, quote_char='"', schema=dict.fromkeys([*names, "_extra"], pl.String()),
            missing_columns="insert", extra_columns="ignore", truncate_ragged_lines=True,
            raise_if_empty=False, empty_string_is_null=False,
        ).slice(1)  # fmt: skip
        if fields.height != records.height:  # pragma: no cover - Polars would have changed its quoting rules
            raise AssertionError(f"read {fields.height} records from {records.height} well-formed records")
        count = pl.col("text").str.replace_all(_QUOTED_FIELD, "").str.count_matches(",", literal=True) + 1
        located = records.select(
            "source_line", fields=count.cast(pl.Int64), size=pl.col("text").str.len_bytes().cast(pl.Int64), text="text"
        )  # fmt: skip
        return pl.concat([located, fields.drop("_extra")], how="horizontal")

    def too_long(self, frame: pl.DataFrame, size: int) -> _Batch:
        """The first line of a chunk whose one open record passes ``max_line_bytes``: quarantined alone."""
        line = int(frame["source_line"][0])
        text = str(frame.head(1).select(line_text(frame, self.width).fill_null("")).item())
        entry: _Entry = (None, text[:_MAX_VALUE_CHARS], "LIMIT_EXCEEDED",
                         f"a quoted field opened on line {line} is not closed within {size} bytes, over the "
                         f"{self.limits.max_line_bytes} byte limit of a record")  # fmt: skip
        return _Batch(self.unquote(pl.DataFrame(schema={"source_line": pl.Int64(), "text": pl.String()})),
                      odd={line: [entry]})  # fmt: skip

    # -- judging records over whole columns -----------------------------------------------------

    def judge(self, batch: _Batch) -> None:
        """Check a batch's records, convert the good ones, send rows and rejected rows on."""
        self.physical += batch.physical
        self.blank += batch.blank
        self.continuation += batch.continuation
        self.truncated = batch.truncated or self.truncated
        records = batch.records
        self.data += records.height + len(batch.odd)
        self.note_last_record(records, batch.odd)
        if self.problems.overflowed:  # the file is rejected: account for its lines, read no further
            self.problems.undescribed += records.height + len(batch.odd)
            self.send_rejected(records, set(batch.odd))
            return
        for line in sorted(batch.odd):
            for column, value, code, reason in batch.odd[line]:
                self.problems.add(line, column, value, code, reason)
        used = [f"f{index}" for index in self.positions.values()]
        limits = self.limits
        ok = (
            (pl.col("fields") == self.width)
            & (pl.col("size") <= limits.max_line_bytes)
            & pl.all_horizontal(
                pl.col(name).str.len_bytes().fill_null(0) <= limits.max_field_bytes for name in used
            )
        )
        if batch.screen:
            ok = ok & ~pl.any_horizontal(bad_character_expr(name).fill_null(False) for name in used)
        records = records.with_columns(ok=ok)
        broken = records.filter(~pl.col("ok"))
        for row in broken.iter_rows(named=True):
            self.structure_problems(row)
        good = records.filter(pl.col("ok")) if broken.height else records
        raw = good.select(
            *(pl.col(f"f{self.positions[name]}").alias(name) if name in self.positions else pl.lit("").alias(name)
              for name in STRIPE_COLUMNS),
            "source_line",
        )  # fmt: skip
        valid = check_raw(
            self.problems, raw, StripeBalanceRaw, reason_codes=_RAW_REASON_CODES, amount_scales={}
        )
        checked = valid.with_columns(**_amount_columns())
        crossed = checked.filter(pl.col("broken"))
        for row in crossed.iter_rows(named=True):
            self.cross_field_problems(row)
        kept = checked.filter(~pl.col("broken")) if crossed.height else checked
        rows = check_canonical(
            self.problems, self.to_canonical(kept), ChannelTxn, reason_codes={"payments_in_refunds_out": "SIGN_VIOLATION"}
        )  # fmt: skip
        self.count(rows)
        self.output.rows(rows)
        if rows.height < records.height or batch.odd:
            bad = records.join(rows.select("source_line"), on="source_line", how="anti")
            self.send_rejected(bad, set(batch.odd))

    def note_last_record(self, records: pl.DataFrame, odd: Mapping[int, list[_Entry]]) -> None:
        last = int(records["source_line"][-1]) if records.height else 0
        if odd and max(odd) > last:
            self.last_record = (max(odd), self.width)  # a malformed record: not a short one
        elif records.height:
            self.last_record = (last, int(records["fields"][-1]))

    def structure_problems(self, row: dict[str, object]) -> None:
        """The problems of a record that is not plainly well formed (few records: one by one)."""
        line, count, size = int(row["source_line"]), int(row["fields"]), int(row["size"])  # type: ignore[call-overload]
        text = (
            row["text"]
            if isinstance(row["text"], str)
            else ",".join(str(row[name] or "") for name in field_names(self.width))
        )
        limit = self.limits
        if size > limit.max_line_bytes:
            self.problems.add(line, *_too_long(text, size, limit.max_line_bytes))
            return
        if count != self.width:
            self.problems.add(line, None, text[:_MAX_VALUE_CHARS], "FIELD_COUNT",
                              f"expected {self.width} fields, got {count}")  # fmt: skip
            return
        for name, index in self.positions.items():
            value = str(row[f"f{index}"] or "")
            size = len(value.encode("utf-8"))
            if size > limit.max_field_bytes:
                self.problems.add(line, name, value[:_MAX_VALUE_CHARS], "LIMIT_EXCEEDED",
                                  f"{name}: {size} bytes, over the {limit.max_field_bytes} byte limit")  # fmt: skip
                continue
            bad = bad_characters(value)
            if bad:
                self.problems.add(line, name, value[:_MAX_VALUE_CHARS], "BAD_CHAR", f"{name}: {bad}")

    def cross_field_problems(self, row: dict[str, object]) -> None:
        """The problems of a raw-valid record that breaks a rule across fields (few records)."""
        line = int(row["source_line"])  # type: ignore[call-overload]
        balance = str(row["currency"]).upper()
        add = self.problems.add
        if row["bad_currency"]:
            add(line, "currency", str(row["currency"]), "BAD_CURRENCY", f"currency {row['currency']!r} is not a "
                "currency recon knows (schemas.currency)")  # fmt: skip
        for column in ("gross", "fee", "net"):
            if row[f"{column}_scale"]:
                add(line, column, str(row[column]), "SCALE_EXCEEDED",
                    f"{column} {row[column]!r} has more decimals than {balance} has ({CURRENCY_EXPONENT[balance]})")  # fmt: skip
        presented = str(row["customer_facing_currency"])
        if row["cf_bad_currency"]:
            add(line, "customer_facing_currency", presented, "BAD_CURRENCY",
                f"customer_facing_currency {presented!r} is not a currency recon knows")  # fmt: skip
        if row["cf_empty"]:
            add(line, "customer_facing_amount", "", "REQUIRED_EMPTY",
                f"a row presented in {presented.upper()} needs its customer_facing_amount")  # fmt: skip
        if row["cf_scale"]:
            add(line, "customer_facing_amount", str(row["customer_facing_amount"]), "SCALE_EXCEEDED",
                f"customer_facing_amount has more decimals than {presented.upper()} has")  # fmt: skip
        if row["cf_sign"]:
            add(line, "customer_facing_amount", str(row["customer_facing_amount"]), "SIGN_VIOLATION",
                f"customer_facing_amount {row['customer_facing_amount']} and gross {row['gross']} have opposite signs")  # fmt: skip
        if row["net_mismatch"]:
            add(line, "net", str(row["net"]), "NET_MISMATCH",
                f"net {row['net']} is not gross {row['gross']} − fee {row['fee']}")  # fmt: skip

    # -- canonical rows -------------------------------------------------------------------------

    def to_canonical(self, kept: pl.DataFrame) -> pl.DataFrame:
        """Map checked records (with their ``*_units`` columns) to ``ChannelTxn`` rows."""
        kind = pl.col("reporting_category").replace_strict(
            STRIPE_REPORTING_CATEGORIES, return_dtype=pl.String()
        )
        cross = pl.col("cross")
        balance = pl.col("currency").str.to_uppercase()
        none = pl.lit(None, pl.String())
        exprs = {
            "channel": pl.lit(CHANNEL),
            "merchant_account": none,
            "channel_txn_id": pl.col("balance_transaction_id"),
            "order_no": _order_no(),
            "original_txn_id": pl.when(kind == "payout")
            .then(_present("source_id"))
            .when(kind != "payment")
            .then(_present("charge_id"))
            .otherwise(none),
            "kind": kind,
            "amount_minor": pl.when(cross).then(pl.col("cf_units")).otherwise(pl.col("gross_units")),
            "fee_minor": -pl.col("fee_units"),
            # exact: at most 3 decimals (the largest exponent) into 5
            "fee_exact": -pl.col("fee").cast(_CANONICAL_SCHEMA["fee_exact"], strict=False),
            "order_amount_minor": pl.lit(None, pl.Int64()),
            "discount_minor": pl.lit(None, pl.Int64()),
            "currency": pl.when(cross)
            .then(pl.col("customer_facing_currency").str.to_uppercase())
            .otherwise(balance),
            "settle_amount_minor": pl.when(cross)
            .then(pl.col("gross_units"))
            .otherwise(pl.lit(None, pl.Int64())),
            "settle_currency": pl.when(cross).then(balance).otherwise(none),
            "fx_rate": pl.lit(None, _CANONICAL_SCHEMA["fx_rate"]),
            "occurred_at": pl.col("created_utc").str.to_datetime(
                "%Y-%m-%d %H:%M:%S", time_unit="us", time_zone="UTC", strict=False
            ),
            "settle_date": pl.lit(self.context.business_date, pl.Date()),
            "status": pl.lit("succeeded"),
            "status_detail": none,
            "buyer_id": _present("customer_id"),
            "source_file": pl.lit(self.source_file),
            "source_line": pl.col("source_line"),
        }
        return kept.select(**exprs).cast(_CANONICAL_SCHEMA)  # type: ignore[arg-type]

    def send_rejected(self, bad: pl.DataFrame, odd: set[int]) -> None:
        """One ``rejected`` row per quarantined record: what can be read of it, nulls elsewhere."""
        readable = bad.filter(pl.col("fields") == self.width)
        named = readable.select(
            *(pl.col(f"f{self.positions[name]}").fill_null("").alias(name) if name in self.positions
              else pl.lit("").alias(name) for name in STRIPE_COLUMNS),
            "source_line",
        )  # fmt: skip
        balance = pl.col("currency").str.to_uppercase()
        known = balance.is_in(list(CURRENCY_EXPONENT))
        rows = named.select(
            source_file=pl.lit(self.source_file),
            source_line="source_line",
            channel=pl.lit(CHANNEL),
            channel_txn_id=_present("balance_transaction_id"),
            order_no=_order_no(),
            kind=pl.col("reporting_category").replace_strict(
                STRIPE_REPORTING_CATEGORIES, default=None, return_dtype=pl.String()
            ),  # fmt: skip
            amount_minor=pl.when(known).then(_units(pl.col("gross"), _exponent(balance))),
            currency=pl.when(known).then(balance),
        )
        others = sorted(odd | set(bad.filter(pl.col("fields") != self.width)["source_line"].to_list()))
        if others:
            rows = pl.concat([rows, pl.DataFrame({"source_line": others}, schema={"source_line": pl.Int64()}).select(
                source_file=pl.lit(self.source_file), source_line="source_line", channel=pl.lit(CHANNEL),
                channel_txn_id=pl.lit(None, pl.String()), order_no=pl.lit(None, pl.String()),
                kind=pl.lit(None, pl.String()), amount_minor=pl.lit(None, pl.Int64()),
                currency=pl.lit(None, pl.String()),
            )], how="vertical_relaxed")  # fmt: skip
        self.output.rejected(rows.sort("source_line"))

    # -- the file's figures ---------------------------------------------------------------------

    def count(self, rows: pl.DataFrame) -> None:
        """Remember the rows' UTC dates and add their settlement gross, fee and net per currency."""
        for day, number in rows.group_by(pl.col("occurred_at").dt.date().alias("d")).len().iter_rows():
            self.dates[day] = self.dates.get(day, 0) + number
        gross = pl.coalesce("settle_amount_minor", "amount_minor")
        sums = rows.group_by(pl.coalesce("settle_currency", "currency").alias("c")).agg(
            gross.cast(pl.Int128).sum().alias("g"), (-pl.col("fee_minor")).cast(pl.Int128).sum().alias("f")
        )
        for currency, gross_sum, fee_sum in sums.iter_rows():
            total = self.sums.setdefault(currency, [0, 0, 0])
            total[0] += int(gross_sum)
            total[1] += int(fee_sum)
            total[2] += int(gross_sum) - int(fee_sum)

    def facts(self) -> dict[str, Decimal | None]:
        """``gross USD``, ``fee USD``, ``net USD`` … in major units; None once a data line was rejected."""
        whole = self.output.rejected_count == 0
        facts: dict[str, Decimal | None] = {}
        for currency in sorted(self.sums):
            exponent = CURRENCY_EXPONENT[currency]
            for name, units in zip(("gross", "fee", "net"), self.sums[currency], strict=True):
                facts[f"{name} {currency}"] = Decimal(units).scaleb(-exponent) if whole else None
        return facts

    def statement_date(self) -> date | None:
        """The run's date when rows were created on it (UTC), else their first date (None: no rows)."""
        if not self.dates:
            return None
        return self.context.business_date if self.context.business_date in self.dates else min(self.dates)

    def wrong_date(self) -> FileRejected | None:
        """WRONG_DATE when no row of the report was created on the run's date (another day's report)."""
        if not self.dates or self.context.business_date in self.dates:
            return None
        first, last = min(self.dates), max(self.dates)
        dated = f"{first}" if first == last else f"{first} to {last}"
        return FileRejected(
            "WRONG_DATE",
            f"the report's rows were created {dated} (UTC); the run is for {self.context.business_date}",
            2,
        )

    def truncation(self) -> FileRejected | None:
        """TRUNCATED: a quoted field open at the end of the file, or a last record with too few fields."""
        if self.truncated is not None:
            return self.truncated
        if self.last_record is not None and self.last_record[1] < self.width:
            line, count = self.last_record
            return FileRejected(
                "TRUNCATED",
                f"the last record, line {line}, has {count} of {self.width} fields (file cut short?)",
                line,
            )
        return None

    def overflow(self) -> FileRejected | None:
        if not self.problems.overflowed:
            return None
        return FileRejected(
            "TOO_MANY_BAD_ROWS",
            f"more than {self.problems.max_lines} bad lines: a format change, not bad rows",
        )


# -- expressions ------------------------------------------------------------------------------------


def _present(column: str) -> pl.Expr:
    """The column's text, null when empty."""
    return pl.when(pl.col(column) != "").then(pl.col(column)).otherwise(pl.lit(None, pl.String()))


def _order_no() -> pl.Expr:
    """``payment_metadata[order_no]``, else ``[order_id]``, else our description convention (see the docstring)."""
    return pl.coalesce(
        _present("payment_metadata[order_no]"),
        _present("payment_metadata[order_id]"),
        pl.col("description").str.extract(_ORDER_IN_DESCRIPTION, 1),
    )


def _exponent(currency: pl.Expr) -> pl.Expr:
    """The currency's minor-unit exponent (null for a currency recon does not know)."""
    return currency.replace_strict(CURRENCY_EXPONENT, default=None, return_dtype=pl.Int64())


def _decimals(text: pl.Expr) -> pl.Expr:
    """How many decimals a raw-valid amount text has (0 without a point)."""
    return text.str.extract(_DECIMALS, 1).str.len_chars().fill_null(0).cast(pl.Int64)


def _units(text: pl.Expr, exponent: pl.Expr) -> pl.Expr:
    """A plain decimal text in major units → integer minor units of ``10**-exponent``, exactly.

    Null when the text is no plain decimal (STRIPE_AMOUNT) or has more decimals than ``exponent``;
    ``-12.3`` with exponent 2 is ``-1230``. Integer arithmetic only.
    """
    shape = text.str.contains(r"^-?(0|[1-9][0-9]{0,14})(\.[0-9]+)?$")
    decimals = _decimals(text)
    whole = text.str.extract(r"^-?([0-9]+)", 1).cast(pl.Int64, strict=False)
    fraction = text.str.extract(_DECIMALS, 1).cast(pl.Int64, strict=False).fill_null(0)
    ten = pl.lit(10, pl.Int64())
    magnitude = whole * ten.pow(exponent) + fraction * ten.pow(exponent - decimals)
    signed = pl.when(text.str.starts_with("-")).then(-magnitude).otherwise(magnitude)
    return pl.when(shape & (decimals <= exponent)).then(signed).otherwise(pl.lit(None, pl.Int64()))


def _amount_columns() -> dict[str, pl.Expr]:
    """The cross-field checks and the amounts in minor units, over raw-valid records (one select).

    ``broken`` is true for a record that breaks a rule across fields; its reasons are the boolean
    columns ``bad_currency``, ``*_scale``, ``cf_*`` and ``net_mismatch``.
    """
    balance = pl.col("currency").str.to_uppercase()
    exponent = _exponent(balance)
    presented = pl.col("customer_facing_currency").str.to_uppercase()
    presented_exponent = _exponent(presented)
    cross = (presented != "") & (presented != balance)
    cf_text = pl.col("customer_facing_amount")
    units = {column: _units(pl.col(column), exponent) for column in ("gross", "fee", "net")}
    cf_units = _units(cf_text, presented_exponent)
    scale = {f"{column}_scale": (_decimals(pl.col(column)) > exponent).fill_null(False) for column in units}
    cf_sign = cross & (
        ((units["gross"] > 0) & (cf_units < 0)) | ((units["gross"] < 0) & (cf_units > 0))
    ).fill_null(False)
    checks = {
        "bad_currency": exponent.is_null(),
        **scale,
        "cf_bad_currency": cross & presented_exponent.is_null(),
        "cf_empty": cross & (cf_text == ""),
        "cf_scale": (cross & (cf_text != "") & (_decimals(cf_text) > presented_exponent)).fill_null(False),
        "cf_sign": cf_sign,
        "net_mismatch": (units["net"] != units["gross"] - units["fee"]).fill_null(False),
    }
    return {
        **{f"{column}_units": expr for column, expr in units.items()},
        "cf_units": cf_units,
        "cross": cross,
        **checks,
        "broken": pl.any_horizontal(*checks.values()),
    }


def _too_long(text: str, size: int, limit: int) -> _Entry:
    return (
        None,
        text[:_MAX_VALUE_CHARS],
        "LIMIT_EXCEEDED",
        f"record of {size} bytes, over the {limit} byte limit",
    )
