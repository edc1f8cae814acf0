r"""The typed report as the Excel workbook the finance team opens: bytes in, bytes out.

Sheets, in order: Summary, Discrepancies, Settlement, Open items, Resolved, Quarantine, Run.
Nothing here recomputes a number (STYLE point 11): every value comes from the ``Report``; the only
formulas are the totals written under money columns and under the outcome counts.

Safety rules (BAD_INPUTS §2.1), all enforced by :func:`text_cell`, the one door for every ``str``:
statement text is always a string cell (never a formula, never an error literal such as ``#N/A``),
values starting with ``= + - @ \t \r \n`` also carry OOXML's ``quotePrefix`` marker, and control
characters that XML cannot hold are shown as a visible escape (``\x1b``) instead of crashing the run.

Money (STYLE point 7): ``*_minor`` columns are signed integer minor units; they are shown in major
units as exact ``Decimal`` numbers with the currency's number format, under a header without
``_minor``. No float is ever built here (openpyxl itself serialises numbers as IEEE doubles, which is
what an xlsx file holds; the Parquet files keep the exact integers).

Determinism (BAD_INPUTS §2.1.4): the same ``Report`` gives byte-identical bytes. The workbook's
created/modified stamps are the business date at midnight and the zip is rewritten with fixed member
timestamps and attributes. Note that openpyxl's write-only mode streams each sheet through a private
temporary file that it deletes on save; that is the library's buffer, not an output of ours.
"""

from __future__ import annotations

import io
import re
import unicodedata
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from functools import partial

import polars as pl
from openpyxl import Workbook
from openpyxl.cell import Cell, WriteOnlyCell
from openpyxl.chart import BarChart, Reference
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from transforms.money import CURRENCY_EXPONENT
from transforms.report import Report

#: Excel's hard limit on rows per sheet (header included).
EXCEL_MAX_ROWS = 1_048_576
#: Excel's limit on characters per cell; longer text is cut and marked.
MAX_CELL_CHARS = 32_767
#: Number format per currency exponent (CURRENCY_EXPONENT); the one place money meets its format.
MONEY_FORMATS: dict[int, str] = {0: "#,##0", 2: "#,##0.00", 3: "#,##0.000"}
DATE_FORMAT = "yyyy-mm-dd"
RATE_FORMAT = "0.0"
SHEET_NAMES = ("Summary", "Discrepancies", "Settlement", "Open items", "Resolved", "Quarantine", "Run")

_TRUNCATED_MARK = "…[truncated]"
#: Characters that XML 1.0 cannot hold (openpyxl raises IllegalCharacterError on the C0 ones), plus
#: DEL, lone surrogates and the non-characters U+FFFE/U+FFFF: shown as a visible escape instead.
_UNWRITABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")
#: First characters that make a spreadsheet (or a CSV re-save) treat text as a formula (OWASP).
_FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n")
_RATE_TEXT = re.compile(r"^-?[0-9]{1,3}(?:\.[0-9]+)?$", re.ASCII)

_BOLD = Font(bold=True)
_HEADLINE = Font(bold=True, size=14)
_WARNING = Font(bold=True, color="C00000")

_WIDTH_MIN = 8
_WIDTH_MAX = 60
_WIDTH_SAMPLE_ROWS = 1000
_FIXED_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def escape_unwritable(value: str) -> str:
    r"""Replace characters an xlsx cell cannot hold with a visible escape: ESC becomes ``\x1b``."""

    def _visible(match: re.Match[str]) -> str:
        code = ord(match.group(0))
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"

    return _UNWRITABLE.sub(_visible, value)


def text_cell(ws: WriteOnlyWorksheet, value: str, *, font: Font | None = None) -> Cell:
    r"""Return a write-only cell that holds ``value`` as text, whatever the text says.

    This is the only way a ``str`` reaches the workbook. openpyxl would otherwise turn ``'=…'`` into
    a live formula and ``'#N/A'`` into an error cell, and would raise on a control character.

    Args:
        ws: the write-only worksheet the cell belongs to.
        value: any text: ids, statement text, file names, headers.
        font: optional font (bold headers, the headline).

    Returns:
        A cell with ``data_type == 's'`` (written as an inline string), ``quotePrefix`` set when the
        text starts with ``= + - @ \t \r \n``, unwritable characters escaped, and text longer than
        Excel's 32,767 characters cut with a visible ``…[truncated]`` mark.
    """
    text = escape_unwritable(value)
    if len(text) > MAX_CELL_CHARS:
        text = text[: MAX_CELL_CHARS - len(_TRUNCATED_MARK)] + _TRUNCATED_MARK
    cell = WriteOnlyCell(ws)
    cell.value = text
    cell.data_type = "s"  # after the value: assigning the value re-infers 'f' or 'e'
    if text.startswith(_FORMULA_TRIGGERS):
        cell.quotePrefix = True
    if font is not None:
        cell.font = font
    return cell


def money_format(currency: str) -> str:
    """The number format of an amount in ``currency`` (e.g. ``'#,##0.00'`` for CNY, ``'#,##0'`` for JPY)."""
    return MONEY_FORMATS[CURRENCY_EXPONENT[currency]]


def _money_cell(ws: WriteOnlyWorksheet, amount_minor: int | None, currency: str | None) -> object:
    """An amount in major units as an exact number cell (Decimal, never a float) in its currency's format."""
    if amount_minor is None or currency not in CURRENCY_EXPONENT:
        return None if amount_minor is None else amount_minor
    cell = WriteOnlyCell(ws, value=Decimal(amount_minor).scaleb(-CURRENCY_EXPONENT[currency]))
    cell.number_format = money_format(currency)
    return cell


def _date_cell(ws: WriteOnlyWorksheet, value: date) -> Cell:
    cell = WriteOnlyCell(ws, value=value)
    cell.number_format = DATE_FORMAT
    return cell


def _display_width(text: str) -> int:
    """Columns a text takes on screen: East Asian wide and full-width characters count double."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def _width(texts: Iterable[str]) -> float:
    widest = max((_display_width(t) for t in texts), default=0)
    return float(min(max(widest + 2, _WIDTH_MIN), _WIDTH_MAX))


def _header_text(column: str) -> str:
    return column.removesuffix("_minor")


# --------------------------------------------------------------------------------------------------
# Table sheets
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Table:
    """A frame to be shown on one sheet, and where its full version lives."""

    sheet: str
    frame: pl.DataFrame
    parquet: str
    totals: bool
    total_rows: int | None = None
    currency_column: str = "currency"

    @property
    def rows(self) -> int:
        """Rows of the whole table (the frame may hold only its first rows)."""
        return self.frame.height if self.total_rows is None else self.total_rows

    def money_columns(self) -> list[str]:
        return [
            c for c, t in self.frame.schema.items()
            if c.endswith("_minor") and t.is_integer() and self.currency_column in self.frame.columns
        ]

    def total_currencies(self) -> list[str]:
        """Currencies that get a total row: known ones present in the frame, sorted."""
        if not self.totals or self.frame.height == 0 or not self.money_columns():
            return []
        present = self.frame.get_column(self.currency_column).drop_nulls().unique().to_list()
        return sorted(c for c in present if c in CURRENCY_EXPONENT)

    def rows_shown(self, max_rows: int, max_data_rows: int | None = None) -> int:
        """Data rows that fit under ``max_rows`` sheet rows with the header and the total rows."""
        capacity = max(max_rows - 1 - len(self.total_currencies()), 0)
        if max_data_rows is not None:
            capacity = min(capacity, max_data_rows)
        return min(self.frame.height, capacity)


def _column_widths(frame: pl.DataFrame, money: set[str]) -> list[float]:
    """Widths from the header and the first rows' text (money: its formatted length, roughly)."""
    sample = frame.head(_WIDTH_SAMPLE_ROWS)
    widths = []
    for name in frame.columns:
        values = [v for v in sample.get_column(name).to_list() if v is not None]
        if name in money:
            # Integer arithmetic only: the grouped minor units are about as wide as the major ones.
            texts = [f"-{abs(v):,}." for v in values]
        elif frame.schema[name] == pl.Date:
            texts = ["yyyy-mm-dd"]
        else:
            texts = [str(v) for v in values]
        widths.append(_width([_header_text(name), *texts]))
    return widths


def _column_kind(name: str, dtype: pl.DataType, money: set[str]) -> str:
    if name in money:
        return "money"
    if dtype == pl.Date:
        return "date"
    if dtype.is_integer():
        return "int"
    # Strings, and anything unexpected (a datetime with a zone Excel cannot hold, a float that
    # should not exist), are written as text rather than guessed at.
    return "text"


def _write_table(ws: WriteOnlyWorksheet, table: _Table, max_rows: int, max_data_rows: int) -> _Rows:
    """Header, data rows up to the sheet limit, then one total row per currency.

    The data rows are not written cell by cell here: openpyxl writes one *sampler* row that holds
    one cell of every style a data cell may need, and :func:`_fill_sheet` later puts the data rows,
    built as XML over whole columns, in its place (after the save). Returns what it needs.
    """
    frame = table.frame
    money = set(table.money_columns())
    names = frame.columns
    kinds = [_column_kind(n, frame.schema[n], money) for n in names]
    currency_index = names.index(table.currency_column) if table.currency_column in names else None
    shown = table.rows_shown(max_rows, max_data_rows)
    truncated = shown < table.rows
    last_col = get_column_letter(len(names))

    # Write-only mode: dimensions, panes and filters must be set before the first row.
    for index, width in enumerate(_column_widths(frame, money), start=1):
        ws.column_dimensions[get_column_letter(index)].width = width
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:{last_col}{1 + shown}"

    header = [text_cell(ws, _header_text(n), font=_BOLD) for n in names]
    if truncated:
        ws.column_dimensions[get_column_letter(len(names) + 1)].width = _WIDTH_MAX
        header.append(text_cell(ws, _spill_note(table, shown), font=_WARNING))
    ws.append(header)

    ws.append(_sampler_cells(ws))
    rows = _Rows(frame.head(shown), kinds, currency_index)

    if currency_index is None:
        return rows  # money columns need the currency column, so there are no total rows without it
    cur = get_column_letter(currency_index + 1)
    first, last = 2, 1 + shown
    currencies = table.total_currencies()
    for currency in currencies:
        label = "Total of rows shown" if truncated else "Total"
        cells: list[object] = [text_cell(ws, f"{label} {currency}", font=_BOLD)]
        for index, name in enumerate(names[1:], start=2):
            if name in money:
                col = get_column_letter(index)
                if len(currencies) == 1:
                    # Rows without a known currency hold text, which SUM skips.
                    formula = f"=SUM({col}{first}:{col}{last})"
                else:
                    # Amounts in different currencies never add up: one SUMIF row per currency.
                    # The currency comes from CURRENCY_EXPONENT's keys, never from statement text.
                    formula = f'=SUMIF({cur}{first}:{cur}{last},"{currency}",{col}{first}:{col}{last})'
                cell = WriteOnlyCell(ws, value=formula)
                cell.number_format = money_format(currency)
                cell.font = _BOLD
                cells.append(cell)
            else:
                cells.append(None)
        ws.append(cells)
    return rows


@dataclass(frozen=True)
class _Rows:
    """The data rows of one table sheet, to be written as XML over whole columns after the save."""

    frame: pl.DataFrame
    kinds: list[str]
    currency_index: int | None


#: The sampler row's cells, in order: which style each data cell takes from it.
_SAMPLER = ("quote", *(f"money{exponent}" for exponent in MONEY_FORMATS), "date")


def _sampler_cells(ws: WriteOnlyWorksheet) -> list[object]:
    """One cell of each style a data cell may need (registered in styles.xml by openpyxl)."""
    cells: list[object] = [text_cell(ws, "=sample")]
    for number_format in MONEY_FORMATS.values():
        cell = WriteOnlyCell(ws, value=0)
        cell.number_format = number_format
        cells.append(cell)
    cells.append(_date_cell(ws, date(2000, 1, 1)))
    return cells


_SAMPLER_ROW = re.compile(r'<row r="2"[^>]*>(.*?)</row>', re.DOTALL)
_CELL_STYLE = re.compile(r'<c r="[A-Z]+2"(?: s="([0-9]+)")?')
_ROW_OR_CELL_REF = re.compile(r'(<row r="|<c r="[A-Z]+)([0-9]+)"')
_EXCEL_EPOCH = date(1899, 12, 30)
#: Characters an xlsx cell cannot hold, each with its visible escape (as ``escape_unwritable``).
_UNWRITABLE_CHARS = [chr(c) for c in (*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F, 0xFFFE, 0xFFFF)]
_UNWRITABLE_ESCAPES = [f"\\x{ord(c):02x}" if ord(c) < 0x100 else f"\\u{ord(c):04x}" for c in _UNWRITABLE_CHARS]


def _fill_sheet(xml: str, rows: _Rows) -> str:
    """Put the data rows in the sampler row's place; move the total rows below them."""
    sampler = _SAMPLER_ROW.search(xml)
    if sampler is None:  # pragma: no cover - every table sheet has one
        raise ValueError("no sampler row in a table sheet")
    styles = dict(zip(_SAMPLER, (m.group(1) or "0" for m in _CELL_STYLE.finditer(sampler.group(0))), strict=True))
    shown = rows.frame.height
    tail = _ROW_OR_CELL_REF.sub(lambda m: f'{m.group(1)}{int(m.group(2)) + shown - 1}"', xml[sampler.end() :])
    return xml[: sampler.start()] + _rows_xml(rows, styles) + tail


def _rows_xml(rows: _Rows, styles: dict[str, str]) -> str:
    """The ``<row>`` elements of the data rows, from row 2, built with expressions over whole columns.

    Same cells as :func:`text_cell` and the money, date and number cells would make one by one: text
    is always an inline string (never a formula or an error), text starting with ``= + - @ TAB CR LF``
    takes the quote-prefix style, characters a cell cannot hold are escaped visibly, over-long text
    is cut with a mark; money is the exact major-unit number with its currency's format.
    """
    frame = rows.frame
    if frame.height == 0:
        return ""
    currency = pl.col(frame.columns[rows.currency_index]) if rows.currency_index is not None else None
    row = pl.col("__row").cast(pl.String)
    cells = []
    for index, (name, kind) in enumerate(zip(frame.columns, rows.kinds, strict=True)):
        ref = pl.concat_str([pl.lit(f'<c r="{get_column_letter(index + 1)}'), row, pl.lit('"')])
        value = pl.col(name)
        if kind == "money" and currency is not None:
            cell = _money_xml(ref, value, currency, styles)
        elif kind == "date":
            serial = (value - pl.lit(_EXCEL_EPOCH)).dt.total_days().cast(pl.String)
            cell = pl.concat_str([ref, pl.lit(f' s="{styles["date"]}" t="n"><v>'), serial, pl.lit("</v></c>")])
        elif kind == "int":
            cell = pl.concat_str([ref, pl.lit(' t="n"><v>'), value.cast(pl.String), pl.lit("</v></c>")])
        else:
            cell = _text_xml(ref, value.cast(pl.String), styles)
        cells.append(pl.when(value.is_null()).then(pl.lit("")).otherwise(cell))
    xml = frame.with_row_index("__row", offset=2).select(
        pl.concat_str([pl.lit('<row r="'), row, pl.lit('">'), *cells, pl.lit("</row>")]).alias("xml")
    )
    return str(xml["xml"].str.join("")[0])


def _text_xml(ref: pl.Expr, text: pl.Expr, styles: dict[str, str]) -> pl.Expr:
    escaped = text.str.replace_many(_UNWRITABLE_CHARS, _UNWRITABLE_ESCAPES)
    cut = (
        pl.when(escaped.str.len_chars() > MAX_CELL_CHARS)
        .then(pl.concat_str([escaped.str.slice(0, MAX_CELL_CHARS - len(_TRUNCATED_MARK)), pl.lit(_TRUNCATED_MARK)]))
        .otherwise(escaped)
    )
    safe = cut.str.replace_many(["&", "<", ">"], ["&amp;", "&lt;", "&gt;"])
    quote = pl.when(text.str.contains(r"^[=+\-@\t\r\n]")).then(pl.lit(f' s="{styles["quote"]}"')).otherwise(pl.lit(""))
    return pl.concat_str([ref, quote, pl.lit(' t="inlineStr"><is><t xml:space="preserve">'), safe, pl.lit("</t></is></c>")])


def _money_xml(ref: pl.Expr, amount: pl.Expr, currency: pl.Expr, styles: dict[str, str]) -> pl.Expr:
    """A number cell in major units with its currency's format, or text when the currency is unknown."""
    exponent = currency.replace_strict(CURRENCY_EXPONENT, default=None, return_dtype=pl.Int64)
    number = pl.lit(None, pl.String)
    style = pl.lit(None, pl.String)
    for e in MONEY_FORMATS:
        unit = 10**e
        magnitude = amount.abs()
        text = (magnitude // unit).cast(pl.String)
        if e:  # the shortest exact decimal, as openpyxl writes a Decimal ("1234.5", "5871")
            fraction = (magnitude % unit).cast(pl.String).str.zfill(e).str.strip_chars_end("0")
            text = pl.when(fraction == "").then(text).otherwise(pl.concat_str([text, pl.lit("."), fraction]))
        signed = pl.concat_str([pl.when(amount < 0).then(pl.lit("-")).otherwise(pl.lit("")), text])
        number = pl.when(exponent == e).then(signed).otherwise(number)
        style = pl.when(exponent == e).then(pl.lit(styles[f"money{e}"])).otherwise(style)
    as_number = pl.concat_str([ref, pl.lit(' s="'), style, pl.lit('" t="n"><v>'), number, pl.lit("</v></c>")])
    label = pl.concat_str([amount.cast(pl.String), pl.lit(" minor units ("), currency.fill_null("no currency"), pl.lit(")")])
    return pl.when(number.is_not_null()).then(as_number).otherwise(_text_xml(ref, label, styles))


def _spill_note(table: _Table, shown: int) -> str:
    return (
        f"Sheet shows the first {shown:,} of {table.rows:,} rows, most important first; "
        f"{table.rows - shown:,} more are in {table.parquet}"
    )


# --------------------------------------------------------------------------------------------------
# Summary and Run
# --------------------------------------------------------------------------------------------------

_CHANNEL_HEADER = (
    "channel", "status", "rows", "ledger rows", "matched", "discrepancies", "quarantined", "match rate %",
)


def _rate_cell(ws: WriteOnlyWorksheet, rate_text: str) -> object:
    """The match rate as an exact number (for the chart); text that is not a number stays text."""
    if _RATE_TEXT.match(rate_text):
        try:
            cell = WriteOnlyCell(ws, value=Decimal(rate_text))
        except InvalidOperation:  # pragma: no cover - the regex admits only plain decimals
            return text_cell(ws, rate_text)
        cell.number_format = RATE_FORMAT
        return cell
    return text_cell(ws, rate_text)


def _write_summary(ws: WriteOnlyWorksheet, report: Report, spill_notes: Sequence[str]) -> None:
    widths = [_width([c.channel for c in report.channels] + [o for o, _ in report.outcome_counts]
                     + ["channel", "outcome"]),
              _width([c.status for c in report.channels] + ["status"])]
    widths += [_width([h]) for h in _CHANNEL_HEADER[2:]]
    for index, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(index)].width = width

    row = 1
    ws.append([text_cell(ws, report.headline, font=_HEADLINE)])
    for note in (*report.notes, *spill_notes):
        ws.append([text_cell(ws, note, font=_WARNING if note in spill_notes else None)])
        row += 1
    ws.append([])
    row += 1

    ws.append([text_cell(ws, h, font=_BOLD) for h in _CHANNEL_HEADER])
    row += 1
    channel_header_row = row
    for channel in report.channels:
        ws.append([
            text_cell(ws, channel.channel), text_cell(ws, channel.status), channel.rows,
            channel.ledger_rows, channel.matched, channel.discrepancies, channel.quarantined,
            _rate_cell(ws, channel.match_rate_pct),
        ])
        row += 1
    channel_last_row = row

    ws.append([])
    row += 1
    ws.append([text_cell(ws, "outcome", font=_BOLD), text_cell(ws, "rows", font=_BOLD)])
    row += 1
    first_count_row = row + 1
    for outcome, count in report.outcome_counts:
        ws.append([text_cell(ws, outcome), count])
        row += 1
    if report.outcome_counts:
        total = WriteOnlyCell(ws, value=f"=SUM(B{first_count_row}:B{row})")
        total.font = _BOLD
        ws.append([text_cell(ws, "Total", font=_BOLD), total])
        row += 1

    # Open items at the end of the day, by age: what is carried to tomorrow (the Open items sheet lists them).
    ws.append([])
    ws.append([text_cell(ws, h, font=_BOLD) for h in ("open items", "currency", "age (days)", "items", "amount")])
    for channel, currency, bucket, items, amount in report.aging.iter_rows():
        ws.append([text_cell(ws, channel or ""), text_cell(ws, currency or ""), text_cell(ws, bucket), items,
                   _money_cell(ws, amount, currency)])  # fmt: skip
    if report.aging.height == 0:
        ws.append([text_cell(ws, "none")])

    if report.channels:
        chart = BarChart()
        chart.type = "col"
        chart.title = "Match rate per channel (%)"
        chart.y_axis.title = "match rate %"
        chart.y_axis.scaling.min = 0
        chart.y_axis.scaling.max = 100
        chart.x_axis.delete = False
        chart.y_axis.delete = False
        chart.legend = None
        rate_col = len(_CHANNEL_HEADER)
        data = Reference(ws, min_col=rate_col, min_row=channel_header_row, max_row=channel_last_row)
        categories = Reference(ws, min_col=1, min_row=channel_header_row + 1, max_row=channel_last_row)
        chart.add_data(data, titles_from_data=True)
        chart.set_categories(categories)
        ws.add_chart(chart, f"{get_column_letter(len(_CHANNEL_HEADER) + 2)}{channel_header_row}")


_INPUT_HEADER = (
    "file", "sha256", "format", "role", "status", "data rows", "physical lines", "header lines",
    "preamble lines", "footer lines", "blank lines", "continuation lines", "unread lines",
)


def _write_run(ws: WriteOnlyWorksheet, report: Report) -> None:
    inputs = report.inputs
    widths = [
        _width([f.source_file for f in inputs] + ["file", "business date", "code version"]),
        _width([f.sha256 for f in inputs] + [report.run_id, report.rules_hash, report.code_version]),
        *(_width([h, *(str(getattr(f, a)) for f in inputs)]) for h, a in (
            ("format", "format"), ("role", "role"), ("status", "status"))),
        *(_width([h]) for h in _INPUT_HEADER[5:]),
    ]
    for index, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(index)].width = width

    facts: list[tuple[str, object]] = [
        ("run id", text_cell(ws, report.run_id)),
        ("business date", _date_cell(ws, report.business_date)),
        ("code version", text_cell(ws, report.code_version)),
        ("rules hash", text_cell(ws, report.rules_hash)),
        ("exit code", report.exit_code),
    ]
    header_row = len(facts) + 2
    last_row = header_row + len(inputs)
    ws.auto_filter.ref = f"A{header_row}:{get_column_letter(len(_INPUT_HEADER))}{last_row}"
    for label, cell in facts:
        ws.append([text_cell(ws, label, font=_BOLD), cell])
    ws.append([])
    ws.append([text_cell(ws, h, font=_BOLD) for h in _INPUT_HEADER])
    for f in inputs:
        ws.append([
            text_cell(ws, f.source_file), text_cell(ws, f.sha256), text_cell(ws, f.format),
            text_cell(ws, f.role), text_cell(ws, f.status), f.data_rows, f.physical_lines,
            f.header_lines, f.preamble_lines, f.footer_lines, f.blank_lines, f.continuation_lines, f.unread_lines,
        ])


# --------------------------------------------------------------------------------------------------
# Workbook
# --------------------------------------------------------------------------------------------------


def _tables(report: Report) -> list[_Table]:
    return [
        # Empty resolution and note columns, for a person to fill in: `recon resolve --file` reads them back.
        _Table("Discrepancies", report.discrepancies.with_columns(resolution=pl.lit(None, pl.String),
                                                                  note=pl.lit(None, pl.String)),
               "discrepancies.parquet and discrepancies.csv", totals=True, total_rows=report.discrepancy_count),
        _Table("Settlement", report.settlement, "settlement.parquet", totals=True),
        _Table("Open items", report.open_items, "open_items.parquet", totals=True, total_rows=report.open_item_count),
        _Table("Resolved", report.resolved, "resolved.parquet", totals=False),
        _Table("Quarantine", report.quarantine, "quarantine.parquet", totals=False),
    ]  # fmt: skip


def render_workbook(report: Report, *, max_rows: int = EXCEL_MAX_ROWS) -> bytes:
    """Render the report as the finance team's xlsx workbook, deterministically.

    Args:
        report: the run's typed report; its frames follow schemas/outputs.py.
        max_rows: rows per sheet, header and total rows included (Excel: 1,048,576; smaller values
            exist for tests). A sheet also shows at most ``report.max_sheet_rows`` data rows. A table
            that does not fit shows its first (most important) rows, says how many are left out in
            its first line and on Summary, and names the files that hold all of them.

    Returns:
        The xlsx bytes: identical for identical reports (no wall-clock time inside).
    """
    if max_rows < 2:
        raise ValueError(f"max_rows must leave room for a header and a row, got {max_rows}")
    tables = _tables(report)
    cap = report.max_sheet_rows
    spill_notes = [
        f"{t.sheet}: {_spill_note(t, t.rows_shown(max_rows, cap))}"
        for t in tables if t.rows_shown(max_rows, cap) < t.rows
    ]

    midnight = datetime.combine(report.business_date, time())
    wb = Workbook(write_only=True)
    wb.properties.creator = "recon"
    wb.properties.title = f"recon {report.business_date.isoformat()}"
    wb.properties.created = midnight
    wb.properties.modified = midnight  # openpyxl overwrites this on save; _normalize_xlsx fixes it

    _write_summary(wb.create_sheet("Summary"), report, spill_notes)
    fills = {}
    for number, table in enumerate(tables, start=2):  # sheet1 is the Summary
        rows = _write_table(wb.create_sheet(table.sheet), table, max_rows, cap)
        fills[f"xl/worksheets/sheet{number}.xml"] = rows
    _write_run(wb.create_sheet("Run"), report)

    buffer = io.BytesIO()
    wb.save(buffer)
    rewrite: dict[str, Callable[[str], str]] = {name: partial(_fill_sheet, rows=rows) for name, rows in fills.items()}
    return normalize_xlsx(buffer.getvalue(), stamp=f"{report.business_date.isoformat()}T00:00:00Z", rewrite=rewrite)


_CORE_STAMP = re.compile(rb"(<dcterms:(created|modified)\b[^>]*>)[^<]*(</dcterms:\2>)")


def normalize_xlsx(
    data: bytes, *, stamp: str, rewrite: dict[str, Callable[[str], str]] | None = None
) -> bytes:
    """Rewrite a saved xlsx so that the same content always gives the same bytes (STACK_NOTES §5).

    Members keep their order and content, except ``docProps/core.xml`` whose created and modified
    stamps become ``stamp``, and the members ``rewrite`` names, whose XML text it transforms; every
    member gets the same date, attributes and compression.
    """
    with zipfile.ZipFile(io.BytesIO(data)) as zin:
        entries = [(info.filename, zin.read(info.filename)) for info in zin.infolist()]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for name, content in entries:
            if name == "docProps/core.xml":
                content = _CORE_STAMP.sub(rb"\g<1>" + stamp.encode("ascii") + rb"\g<3>", content)
            if rewrite and name in rewrite:
                content = rewrite[name](content.decode("utf-8")).encode("utf-8")
            info = zipfile.ZipInfo(name, date_time=_FIXED_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o600 << 16
            info.create_system = 3
            zout.writestr(info, content, compresslevel=6)
    return out.getvalue()
