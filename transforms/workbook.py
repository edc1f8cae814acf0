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
from decimal import Decimal
from functools import partial

import polars as pl
from openpyxl import Workbook
from openpyxl.cell import Cell, WriteOnlyCell
from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from transforms.labels import (
    CHANNEL_NAMES,
    COLUMNS,
    LANGUAGES,
    OWNERS,
    PAYOUT_STATUSES,
    PHRASES,
    RISK_COLUMNS,
    RISK_SIGNALS,
    RISK_UNITS,
    SEVERITIES,
    SHEETS,
    STATEMENT_STATUSES,
    column_code,
    word,
)
from transforms.money import CURRENCY_EXPONENT
from transforms.report import Report
from transforms.risk import parse_series
from transforms.worklist import CASE_CLASSES

#: Excel's hard limit on rows per sheet (header included).
EXCEL_MAX_ROWS = 1_048_576
#: Excel's limit on characters per cell; longer text is cut and marked.
MAX_CELL_CHARS = 32_767
#: Number format per currency exponent (CURRENCY_EXPONENT); the one place money meets its format.
MONEY_FORMATS: dict[int, str] = {0: "#,##0", 2: "#,##0.00", 3: "#,##0.000"}
DATE_FORMAT = "yyyy-mm-dd"
RATE_FORMAT = "0.0"
#: The sheets, in order (their names in each language are in transforms/labels.py SHEETS).
SHEET_KEYS = ("summary", "worklist", "review", "settlement", "open_items", "resolved", "quarantine", "risk", "run")

_TRUNCATED_MARK = "…[truncated]"
#: Characters that XML 1.0 cannot hold (openpyxl raises IllegalCharacterError on the C0 ones), plus
#: DEL, lone surrogates and the non-characters U+FFFE/U+FFFF: shown as a visible escape instead.
_UNWRITABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")
#: First characters that make a spreadsheet (or a CSV re-save) treat text as a formula (OWASP).
_FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n")
_RATE_TEXT = re.compile(r"^-?[0-9]{1,3}(?:\.[0-9]+)?$", re.ASCII)

#: Severity colours of the worklist (1 high: red, 2 medium: amber, 3 low: grey).
_SEVERITY_FILLS = {
    1: PatternFill("solid", fgColor="F4B6B6"),
    2: PatternFill("solid", fgColor="FCE4B6"),
    3: PatternFill("solid", fgColor="E7E6E6"),
}
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


# --------------------------------------------------------------------------------------------------
# Table sheets
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Table:
    """A frame to be shown on one sheet, and where its full version lives.

    ``totals``: None (no total rows), ``"currency"`` (one total per currency), or the name of a
    column holding our own labels (a class, a payout status): one total per label and currency, so
    that nothing is added across classes or currencies. Totals follow the sheet's filter (SUBTOTAL).
    ``total_columns`` limits the money columns totalled (default: all).
    """

    key: str
    frame: pl.DataFrame
    parquet: str
    totals: str | None
    total_rows: int | None = None
    currency_column: str = "currency"
    total_columns: tuple[str, ...] | None = None
    freeze: str = "A2"
    print_through: str | None = None

    @property
    def rows(self) -> int:
        """Rows of the whole table (the frame may hold only its first rows)."""
        return self.frame.height if self.total_rows is None else self.total_rows

    def money_columns(self) -> list[str]:
        return [
            c for c, t in self.frame.schema.items()
            if c.endswith("_minor") and t.is_integer() and self.currency_column in self.frame.columns
        ]

    def totalled_columns(self) -> list[str]:
        money = self.money_columns()
        return money if self.total_columns is None else [c for c in money if c in self.total_columns]

    def total_groups(self, shown: int | None = None) -> list[tuple[str | None, str]]:
        """``(label, currency)`` of every total row, sorted: labels are ours, never statement text."""
        frame = self.frame if shown is None else self.frame.head(shown)
        if self.totals is None or frame.height == 0 or not self.totalled_columns():
            return []
        if self.totals == "currency":
            present = frame.get_column(self.currency_column).drop_nulls().unique().to_list()
            return [(None, c) for c in sorted(c for c in present if c in CURRENCY_EXPONENT)]
        pairs = frame.select(self.totals, self.currency_column).drop_nulls().unique().rows()
        return sorted((str(g), str(c)) for g, c in pairs if c in CURRENCY_EXPONENT)

    def rows_shown(self, max_rows: int, max_data_rows: int | None = None) -> int:
        """Data rows that fit under ``max_rows`` sheet rows with the header and the total rows."""
        capacity = max(max_rows - 1 - len(self.total_groups()), 0)
        if max_data_rows is not None:
            capacity = min(capacity, max_data_rows)
        return min(self.frame.height, capacity)


def _header_text(column: str, language: str) -> str:
    return word(COLUMNS, column, language) if column in COLUMNS else column.removesuffix("_minor")


def _column_widths(frame: pl.DataFrame, money: set[str], headers: list[str]) -> list[float]:
    """Widths from the header and the first rows' text (money: its formatted length, roughly)."""
    sample = frame.head(_WIDTH_SAMPLE_ROWS)
    widths = []
    for name, header in zip(frame.columns, headers, strict=True):
        values = [v for v in sample.get_column(name).to_list() if v is not None]
        if name in money:
            # Integer arithmetic only: the grouped minor units are about as wide as the major ones.
            texts = [f"-{abs(v):,}." for v in values]
        elif frame.schema[name] == pl.Date:
            texts = ["yyyy-mm-dd"]
        else:
            texts = [str(v) for v in values]
        widths.append(_width([header, *texts]))
    return widths


def _column_kind(name: str, dtype: pl.DataType, money: set[str]) -> str:
    if name in money:
        return "money"
    if name == "severity" and dtype.is_integer():
        return "severity"
    if dtype == pl.Date:
        return "date"
    if dtype.is_integer():
        return "int"
    # Strings, and anything unexpected (a datetime with a zone Excel cannot hold, a float that
    # should not exist), are written as text rather than guessed at.
    return "text"


def _print_setup(ws: WriteOnlyWorksheet, *, one_page: bool = False, title_rows: str | None = "1:1") -> None:
    """Landscape A4, fit to the page width (the Summary: to one page), the header on every page."""
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = 9  # A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 1 if one_page else 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_options.gridLines = not one_page
    ws.page_margins.left = ws.page_margins.right = 0.4
    ws.page_margins.top = ws.page_margins.bottom = 0.5
    if title_rows:
        ws.print_title_rows = title_rows


def _write_table(
    ws: WriteOnlyWorksheet, table: _Table, max_rows: int, max_data_rows: int, language: str
) -> _Rows:
    """Header, data rows up to the sheet limit, then the total rows.

    The data rows are not written cell by cell here: openpyxl writes one *sampler* row that holds
    one cell of every style a data cell may need, and :func:`_fill_sheet` later puts the data rows,
    built as XML over whole columns, in its place (after the save). Returns what it needs.
    """
    frame = table.frame
    money = set(table.money_columns())
    names = frame.columns
    headers = [_header_text(n, language) for n in names]
    kinds = [_column_kind(n, frame.schema[n], money) for n in names]
    currency_index = names.index(table.currency_column) if table.currency_column in names else None
    shown = table.rows_shown(max_rows, max_data_rows)
    truncated = shown < table.rows
    last_col = get_column_letter(len(names))

    # Write-only mode: dimensions, panes, filters and print settings must be set before the first row.
    for index, width in enumerate(_column_widths(frame, money, headers), start=1):
        ws.column_dimensions[get_column_letter(index)].width = width
    ws.freeze_panes = table.freeze
    ws.auto_filter.ref = f"A1:{last_col}{1 + shown}"
    _print_setup(ws)
    if table.print_through in names:
        # Paper holds the columns a person works with; the tools' columns stay on screen only.
        ws.print_area = f"A1:{get_column_letter(names.index(table.print_through) + 1)}{1 + shown + len(table.total_groups(shown))}"

    header = [text_cell(ws, h, font=_BOLD) for h in headers]
    if truncated:
        ws.column_dimensions[get_column_letter(len(names) + 1)].width = _WIDTH_MAX
        header.append(text_cell(ws, _spill_note(table, shown, language), font=_WARNING))
    ws.append(header)

    ws.append(_sampler_cells(ws))
    severities = {level: word(SEVERITIES, level, language) for level in SEVERITIES}
    rows = _Rows(frame.head(shown), kinds, currency_index, severities)

    if currency_index is None:
        return rows  # money columns need the currency column, so there are no total rows without it
    cur = get_column_letter(currency_index + 1)
    first, last = 2, max(1 + shown, 2)
    group_col = get_column_letter(names.index(table.totals) + 1) if table.totals in names else None
    totalled = set(table.totalled_columns())
    caption = word(PHRASES, "filtered_total", language)
    for group, currency in table.total_groups(shown):
        # The caption first; the label and the currency in their own columns, under their data.
        cells: list[object] = []
        for index, name in enumerate(names, start=1):
            if name in totalled:
                cells.append(_total_cell(ws, get_column_letter(index), first, last, cur, currency, group_col, group))
            elif name == table.totals and group is not None:
                cells.append(text_cell(ws, group, font=_BOLD))
            elif name == table.currency_column:
                cells.append(text_cell(ws, currency, font=_BOLD))
            else:
                cells.append(text_cell(ws, caption, font=_BOLD) if index == 1 else None)
        ws.append(cells)
    return rows


def _total_cell(
    ws: WriteOnlyWorksheet, col: str, first: int, last: int, cur: str, currency: str, group_col: str | None,
    group: str | None,
) -> Cell:
    """The total of a money column over the visible rows of one currency (and one label).

    SUBTOTAL(109, …) of one cell at a time leaves out the rows a filter hides, so the total follows
    the filter. The currency comes from CURRENCY_EXPONENT's keys and the label from our registries:
    no statement text reaches a formula.
    """
    visible = f"SUBTOTAL(109,OFFSET({col}{first},ROW({col}{first}:{col}{last})-ROW({col}{first}),0))"
    conditions = [f'--({cur}{first}:{cur}{last}="{currency}")']
    if group is not None and group_col is not None:
        conditions.append(f'--({group_col}{first}:{group_col}{last}="{_formula_text(group)}")')
    cell = WriteOnlyCell(ws, value=f"=SUMPRODUCT({visible},{','.join(conditions)})")
    cell.number_format = money_format(currency)
    cell.font = _BOLD
    return cell


def _formula_text(text: str) -> str:
    """Our own label inside a formula's string literal (a double quote doubled)."""
    return text.replace('"', '""')


@dataclass(frozen=True)
class _Rows:
    """The data rows of one table sheet, to be written as XML over whole columns after the save."""

    frame: pl.DataFrame
    kinds: list[str]
    currency_index: int | None
    severities: dict[int, str]


#: The sampler row's cells, in order: which style each data cell takes from it.
_SAMPLER = ("quote", *(f"money{exponent}" for exponent in MONEY_FORMATS), "date", *(f"severity{s}" for s in _SEVERITY_FILLS))


def _sampler_cells(ws: WriteOnlyWorksheet) -> list[object]:
    """One cell of each style a data cell may need (registered in styles.xml by openpyxl)."""
    cells: list[object] = [text_cell(ws, "=sample")]
    for number_format in MONEY_FORMATS.values():
        cell = WriteOnlyCell(ws, value=0)
        cell.number_format = number_format
        cells.append(cell)
    cells.append(_date_cell(ws, date(2000, 1, 1)))
    for fill in _SEVERITY_FILLS.values():
        cell = text_cell(ws, "severity", font=_BOLD)
        cell.fill = fill
        cells.append(cell)
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
        elif kind == "severity":
            label = value.replace_strict(rows.severities, default=None, return_dtype=pl.String)
            style = value.replace_strict({k: styles[f"severity{k}"] for k in rows.severities}, default="0",
                                         return_dtype=pl.String)
            text = pl.coalesce(label, value.cast(pl.String)).str.replace_many(["&", "<", ">"], ["&amp;", "&lt;", "&gt;"])
            cell = pl.concat_str([ref, pl.lit(' s="'), style, pl.lit('" t="inlineStr"><is><t>'), text,
                                  pl.lit("</t></is></c>")])
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


def _spill_note(table: _Table, shown: int, language: str) -> str:
    return word(PHRASES, "sheet_spill", language).format(
        shown=shown, total=table.rows, rest=table.rows - shown, where=table.parquet)


# --------------------------------------------------------------------------------------------------
# Summary and Run
# --------------------------------------------------------------------------------------------------

#: The Summary's columns: wide enough for a class label in A, amounts in the rest.
_SUMMARY_WIDTHS = (30, 10, 14, 14, 11, 10, 12, 14, 15, 13, 12, 15, 15, 15, 13)
_CHANNEL_COLUMNS = (
    ("channel", "channel"), ("currency", "currency"), ("statement", "statement"), ("footer", "footer_check"),
    ("transactions", "transactions"), ("matched", "matched"), ("cases", "cases"), ("stake_minor", "cases_amount"),
    ("gross_minor", "gross_minor"), ("refunds_minor", "refunds_minor"), ("fees_minor", "fees_minor"),
    ("net_minor", "net_minor"), ("payout_received_minor", "payout_received"),
    ("payout_in_transit_minor", "payout_in_transit_column"), ("payout_missing_minor", "payout_missing_column"),
)  # fmt: skip


def _caption(key: str, language: str) -> str:
    """A Summary caption: a phrase, a column header or a payout status, whichever knows the key."""
    for table in (PHRASES, PAYOUT_STATUSES, COLUMNS):
        if key in table:
            return word(table, key, language)
    return key


def _statement_text(status: str, language: str) -> str:
    known = next((k for k in STATEMENT_STATUSES if status.startswith(k)), None)
    return status if known is None else word(STATEMENT_STATUSES, known, language) + status[len(known):]


def _write_summary(ws: WriteOnlyWorksheet, report: Report, spill_notes: Sequence[str]) -> None:
    """What is wrong, how much, who acts: the headline, what was not checked, per channel, per class."""
    language = report.language
    for index, width in enumerate(_SUMMARY_WIDTHS, start=1):
        ws.column_dimensions[get_column_letter(index)].width = width
    _print_setup(ws, one_page=True, title_rows=None)
    rows: list[list[object]] = []

    def line(*cells: object) -> None:
        rows.append(list(cells))

    parts = report.headline_parts or (report.headline,)
    line(text_cell(ws, parts[0], font=_HEADLINE))
    for part in parts[1:]:
        line(text_cell(ws, "· " + part, font=_BOLD))
    warnings = [*_not_checked(report), *spill_notes]
    if warnings:
        line()
        line(text_cell(ws, _caption("not_checked", language), font=_WARNING))
        for warning in warnings:
            line(text_cell(ws, "· " + warning, font=_WARNING))
    for note in report.notes:
        line(text_cell(ws, note))

    # Per channel: the statement, what matched, what is at stake, the day's settlement, the payouts.
    line()
    line(text_cell(ws, _caption("per_channel", language), font=_BOLD))
    line(*(text_cell(ws, _caption(caption, language), font=_BOLD) for _, caption in _CHANNEL_COLUMNS))
    footer_words = {"ok": "footer_ok", "absent": "footer_absent"}
    for channel in report.channel_money.iter_rows(named=True):
        currency = channel["currency"]
        cells: list[object] = [
            text_cell(ws, word(CHANNEL_NAMES, channel["channel"], language)), text_cell(ws, currency or ""),
            text_cell(ws, _statement_text(channel["statement"], language)),
            text_cell(ws, _caption(footer_words[channel["footer"]], language) if channel["footer"] in footer_words
                      else "—"),
            channel["transactions"], channel["matched"], channel["cases"],
        ]  # fmt: skip
        cells += [_money_cell(ws, channel[name], currency) for name, _ in _CHANNEL_COLUMNS[7:]]
        line(*cells)

    # Per class of case: count, amount at stake, owner, and the amount per channel (the chart's data).
    totals = report.class_totals.filter(pl.col("sheet") == "worklist")
    channels = [c for c in report.channel_money["channel"].unique(maintain_order=True).to_list()]
    channels += sorted(c for c in totals["channel"].unique().to_list() if c not in channels)
    line()
    line(text_cell(ws, _caption("at_stake", language), font=_BOLD))
    header_row = len(rows) + 1
    line(*(text_cell(ws, h, font=_BOLD) for h in (
        _caption("class_label", language), _caption("currency", language), _caption("severity", language),
        _caption("owner", language), _caption("cases_count", language), _caption("stake", language),
        *(word(CHANNEL_NAMES, c, language) for c in channels))))  # fmt: skip
    by_class = (
        totals.group_by("class_code", "currency")
        .agg(pl.col("severity").min(), pl.col("cases").sum(), pl.col("stake_minor").sum())
        .sort("currency", "severity", pl.col("stake_minor"), "class_code", descending=[False, False, True, False],
              nulls_last=True)
    )
    main_currency = by_class["currency"][0] if by_class.height else None
    for code, currency, severity, cases, stake in by_class.iter_rows():
        case_class = CASE_CLASSES[code]
        per_channel = totals.filter((pl.col("class_code") == code) & pl.col("currency").eq_missing(currency))
        amounts = dict(zip(per_channel["channel"], per_channel["stake_minor"], strict=True))
        line(
            text_cell(ws, case_class.zh if language == "zh" else case_class.en), text_cell(ws, currency or ""),
            text_cell(ws, word(SEVERITIES, severity, language)), text_cell(ws, word(OWNERS, case_class.owner, language)),
            cases, _money_cell(ws, stake, currency),
            *(_money_cell(ws, amounts.get(c), currency) for c in channels),
        )  # fmt: skip
    chart_rows = by_class.filter(pl.col("currency").eq_missing(main_currency)).height if main_currency else 0
    if by_class.height == 0:
        line(text_cell(ws, _caption("none", language)))

    # Open items at the end of the day, by age: what is carried to tomorrow.
    line()
    line(text_cell(ws, _caption("aging", language), font=_BOLD))
    line(*(text_cell(ws, _caption(h, language), font=_BOLD) for h in (
        "channel", "currency", "aging_bucket", "items", "amount_minor")))  # fmt: skip
    for channel, currency, bucket, items, amount in report.aging.iter_rows():
        line(text_cell(ws, word(CHANNEL_NAMES, channel, language) if channel else ""), text_cell(ws, currency or ""),
             text_cell(ws, bucket), items, _money_cell(ws, amount, currency))  # fmt: skip
    if report.aging.height == 0:
        line(text_cell(ws, _caption("none", language)))

    for cells in rows:
        ws.append(cells)

    if chart_rows and channels:
        chart = BarChart()
        chart.type = "bar"
        chart.grouping = "stacked"
        chart.overlap = 100
        chart.title = f"{_caption('chart_title', language)} ({main_currency})"
        chart.x_axis.delete = False
        chart.y_axis.delete = False
        chart.y_axis.majorGridlines = None
        chart.x_axis.scaling.orientation = "maxMin"  # the first class on top, as in the table
        data = Reference(ws, min_col=7, max_col=6 + len(channels), min_row=header_row, max_row=header_row + chart_rows)
        categories = Reference(ws, min_col=1, min_row=header_row + 1, max_row=header_row + chart_rows)
        chart.add_data(data, titles_from_data=True)
        chart.set_categories(categories)
        chart.width = 24
        chart.height = max(6, 1.1 * chart_rows + 3)
        ws.add_chart(chart, f"A{len(rows) + 2}")


def _not_checked(report: Report) -> list[str]:
    """What the run could not check, in the report's language, for the first screen."""
    language = report.language
    lines = []
    for channel in report.channel_money.iter_rows(named=True):
        if channel["statement"] != "ok":
            lines.append(word(PHRASES, "statement_problem", language).format(
                channel=word(CHANNEL_NAMES, channel["channel"], language),
                status=_statement_text(channel["statement"], language)))
    for problem in report.not_checked:
        if problem.startswith("LEDGER NOT READ"):
            lines.insert(0, problem if language == "en" else word(PHRASES, "ledger_not_read", language).format(
                why=problem.split(", ", 1)[1].split(":", 1)[0]))
        elif problem.endswith("fee not checked (no contracted fee)"):
            code = problem.split(":", 1)[0]
            lines.append(word(PHRASES, "fee_not_checked", language).format(
                channel=word(CHANNEL_NAMES, code, language), code=code))
    quarantined = report.quarantine.height
    if quarantined:
        lines.append(word(PHRASES, "quarantined_rows", language).format(n=quarantined)
                     + f" → {word(SHEETS, 'quarantine', language)}")
    return lines


_INPUT_HEADER = (
    "file", "sha256", "format", "role", "status", "data rows", "physical lines", "header lines",
    "preamble lines", "footer lines", "blank lines", "continuation lines", "unread lines",
)


def _write_run(ws: WriteOnlyWorksheet, report: Report) -> None:
    """The run's identity, its input files, and the rows per outcome (both sides counted), for auditors."""
    inputs = report.inputs
    widths = [
        _width([f.source_file for f in inputs] + ["file", "business date", "code version", "missing_in_channel"]),
        _width([f.sha256 for f in inputs] + [report.run_id, report.rules_hash, report.code_version]),
        *(_width([h, *(str(getattr(f, a)) for f in inputs)]) for h, a in (
            ("format", "format"), ("role", "role"), ("status", "status"))),
        *(_width([h]) for h in _INPUT_HEADER[5:]),
    ]
    for index, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(index)].width = width
    _print_setup(ws, title_rows=None)

    facts: list[tuple[str, object]] = [
        ("run id", text_cell(ws, report.run_id)),
        ("business date", _date_cell(ws, report.business_date)),
        ("code version", text_cell(ws, report.code_version)),
        ("rules hash", text_cell(ws, report.rules_hash)),
        ("exit code", report.exit_code),
        ("headline", text_cell(ws, report.headline)),
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
    ws.append([])
    ws.append([text_cell(ws, "outcome", font=_BOLD), text_cell(ws, "rows", font=_BOLD)])
    first = last_row + 3
    for outcome, count in report.outcome_counts:
        ws.append([text_cell(ws, outcome), count])
    if report.outcome_counts:
        total = WriteOnlyCell(ws, value=f"=SUM(B{first}:B{first + len(report.outcome_counts) - 1})")
        total.font = _BOLD
        ws.append([text_cell(ws, "total", font=_BOLD), total])


# --------------------------------------------------------------------------------------------------
# Risk (transforms/risk.py; docs/risk.md)
# --------------------------------------------------------------------------------------------------

#: The Risk sheet's columns: the signal in words first, the rows behind it, the codes at the right.
RISK_SHEET_COLUMNS = ("severity", "rule_label", "channel", "subject", "value", "threshold", "baseline", "unit_label",
                      "window", "row_count", "rows", "detail", "rule", "currency")  # fmt: skip
_RISK_WIDTHS = (10, 30, 18, 30, 14, 14, 14, 14, 24, 10, 60, 60, 24, 8)
#: Places (file:line) a cell of the Risk sheet lists; risk.parquet holds all of them.
RISK_ROWS_SHOWN = 50
_UNIT_FORMATS = {"ratio": "0.00%", "bps": "0.00", "days": "0", "count": "0"}


def _risk_number(ws: WriteOnlyWorksheet, value: float | None, unit: str, currency: str | None) -> object:
    """A signal's value, threshold or baseline as a number cell in its unit (money in its currency)."""
    if value is None:
        return None
    if unit == "minor":
        return _money_cell(ws, round(value), currency)
    cell = WriteOnlyCell(ws, value=value)
    cell.number_format = _UNIT_FORMATS.get(unit, "General")
    return cell


def _places(rows: str | None, count: int, language: str) -> str:
    places = (rows or "").split(", ")
    if count <= RISK_ROWS_SHOWN:
        return rows or ""
    more = word(PHRASES, "risk_more_rows", language).format(n=count - RISK_ROWS_SHOWN)
    return ", ".join(places[:RISK_ROWS_SHOWN]) + " " + more


def _write_risk(ws: WriteOnlyWorksheet, report: Report) -> None:
    """The Risk sheet: one row per signal, most severe first, then a chart of the first signal's series and band."""
    language = report.language
    for index, width in enumerate(_RISK_WIDTHS, start=1):
        ws.column_dimensions[get_column_letter(index)].width = width
    signals = report.risk
    shown = signals.head(report.max_sheet_rows)
    ws.freeze_panes = "C2"
    ws.auto_filter.ref = f"A1:{get_column_letter(len(RISK_SHEET_COLUMNS))}{1 + max(shown.height, 1)}"
    _print_setup(ws)
    header = [text_cell(ws, word(RISK_COLUMNS, c, language), font=_BOLD) for c in RISK_SHEET_COLUMNS]
    if shown.height < signals.height:
        header.append(text_cell(ws, word(PHRASES, "sheet_spill", language).format(
            shown=shown.height, total=signals.height, rest=signals.height - shown.height, where="risk.parquet"),
            font=_WARNING))  # fmt: skip
    ws.append(header)
    if signals.height == 0:
        ws.append([None, text_cell(ws, word(PHRASES, "risk_none", language))])
        return
    for row in shown.iter_rows(named=True):  # a day's signals are few: one cell at a time is fine here
        severity = text_cell(ws, word(SEVERITIES, row["severity"], language))
        severity.fill = _SEVERITY_FILLS[row["severity"]]
        channel = row["channel"] or ""
        ws.append([
            severity, text_cell(ws, word(RISK_SIGNALS, row["rule"], language)),
            text_cell(ws, ", ".join(word(CHANNEL_NAMES, c, language) for c in channel.split(", ")) if channel else ""),
            text_cell(ws, row["subject"]),
            *(_risk_number(ws, row[c], row["unit"], row["currency"]) for c in ("value", "threshold", "baseline")),
            text_cell(ws, word(RISK_UNITS, row["unit"], language)),
            text_cell(ws, f"{row['window_from']:%Y-%m-%d} … {row['window_to']:%Y-%m-%d}"),
            row["row_count"], text_cell(ws, _places(row["rows"], row["row_count"], language)),
            text_cell(ws, row["detail"]), text_cell(ws, row["rule"]), text_cell(ws, row["currency"] or ""),
        ])  # fmt: skip
    charted = shown.filter(pl.col("series").is_not_null())
    if charted.height:
        _risk_chart(ws, charted.row(0, named=True), first_row=shown.height + 3, language=language)


def _risk_chart(ws: WriteOnlyWorksheet, signal: dict[str, object], *, first_row: int, language: str) -> None:
    """The series of one signal (its daily values over the window) against its band, as a line chart."""
    series = parse_series(str(signal["series"]))
    low, high = signal["band_low"], signal["band_high"]
    ws.append([])
    ws.append([text_cell(ws, word(COLUMNS, "business_date", language), font=_BOLD),
               text_cell(ws, word(RISK_COLUMNS, "value", language), font=_BOLD),
               text_cell(ws, word(PHRASES, "risk_band_low", language), font=_BOLD),
               text_cell(ws, word(PHRASES, "risk_band_high", language), font=_BOLD)])  # fmt: skip
    for day, value in series:
        ws.append([text_cell(ws, day), value, low, high])
    chart = LineChart()
    chart.title = word(PHRASES, "risk_chart", language).format(
        label=word(RISK_SIGNALS, str(signal["rule"]), language), subject=signal["subject"])
    chart.x_axis.delete = False
    chart.y_axis.delete = False
    header_row = first_row + 1
    data = Reference(ws, min_col=2, max_col=4, min_row=header_row, max_row=header_row + len(series))
    chart.add_data(data, titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=1, min_row=header_row + 1, max_row=header_row + len(series)))
    chart.width = 24
    chart.height = 8
    ws.add_chart(chart, f"F{header_row}")


# --------------------------------------------------------------------------------------------------
# Workbook
# --------------------------------------------------------------------------------------------------

#: The worklist's columns, in the order a person works; the tools' columns at the far right.
WORKLIST_COLUMNS = (
    "severity", "class_label", "amount_minor", "difference_minor", "currency", "channel", "channel_txn_id",
    "order_no", "entry_id", "business_date", "age_days", "owner", "action", "resolution", "note", "account",
    "explanation",
    "class_code", "outcome", "reason_code", "detail", "source", "source_file", "source_line", "opened_on",
    "other_file", "other_line",
)  # fmt: skip


def _case_sheet(cases: pl.DataFrame, language: str) -> pl.DataFrame:
    """Cases as the worklist shows them: codes turned into words, empty resolution and note columns."""
    classes = CASE_CLASSES.values()
    zh = language == "zh"
    return cases.with_columns(
        class_label=pl.col("class_code").replace_strict({c.code: c.zh if zh else c.en for c in classes}, default=None),
        owner=pl.col("class_code").replace_strict(
            {c.code: word(OWNERS, c.owner, language) for c in classes}, default=None),
        action=pl.col("class_code").replace_strict({c.code: c.action_zh if zh else c.action_en for c in classes},
                                                   default=None),
        channel=pl.col("channel").replace_strict(
            {code: word(CHANNEL_NAMES, code, language) for code in CHANNEL_NAMES}, default=pl.col("channel")),
        resolution=pl.lit(None, pl.String),
        note=pl.lit(None, pl.String),
        account=pl.lit(None, pl.String),
    ).select(WORKLIST_COLUMNS)


def _settlement_sheet(settlement: pl.DataFrame, language: str) -> pl.DataFrame:
    # A credit whose settlement date is not reconciled yet is "in_transit" in the data, but its money arrived.
    status = pl.when((pl.col("payout_status") == "in_transit") & pl.col("payout_received_minor").is_not_null()).then(
        pl.lit("received_unchecked")).otherwise(pl.col("payout_status"))
    frame = settlement.with_columns(
        payout_status_label=status.replace_strict(
            {code: word(PAYOUT_STATUSES, code, language) for code in PAYOUT_STATUSES}, default=status),
        channel=pl.col("channel").replace_strict(
            {code: word(CHANNEL_NAMES, code, language) for code in CHANNEL_NAMES}, default=pl.col("channel")),
    )
    # What the channel keeps: the net less what it pays out (PayPal withdraws round amounts).
    frame = frame.with_columns(remainder_minor=(pl.col("net_minor") - pl.col("payout_expected_minor")))
    first = ["settlement_date", "channel", "payout_status_label"]
    order = [c for c in frame.columns if c not in first and c != "remainder_minor"]
    at = order.index("payout_diff_minor") + 1
    return frame.select(*first, *order[:at], "remainder_minor", *order[at:])


def _open_items_sheet(items: pl.DataFrame, language: str) -> pl.DataFrame:
    """Open items with their status and channel in words first; the codes stay in their own columns."""
    zh = language == "zh"
    words = {c.code: c.zh if zh else c.en for c in CASE_CLASSES.values()}
    words["payout_overdue"] = word(PAYOUT_STATUSES, "missing", language)
    payout = {code: word(PAYOUT_STATUSES, code, language) for code in ("in_transit",)}
    payout["payout_overdue"] = words["payout_overdue"]
    frame = items.with_columns(
        status_label=pl.when(pl.col("source") == "payout")
        .then(pl.col("status").replace_strict(payout, default=pl.col("status")))
        .otherwise(pl.col("status").replace_strict(words, default=pl.col("status"))),
        channel=pl.col("channel").replace_strict(
            {code: word(CHANNEL_NAMES, code, language) for code in CHANNEL_NAMES}, default=pl.col("channel")),
    )
    first = ["opened_on", "status_label"]
    return frame.select(*first, *(c for c in frame.columns if c not in first))


def _tables(report: Report) -> list[_Table]:
    language = report.language
    worklist_parquet = "cases.parquet"
    return [
        # Empty resolution and note columns, for a person to fill in: `recon resolve --file` reads them back.
        _Table("worklist", _case_sheet(report.cases, language), worklist_parquet, totals="class_label",
               total_rows=report.case_count, freeze="C2", print_through="explanation"),
        _Table("review", _case_sheet(report.review, language), worklist_parquet, totals=None,
               total_rows=report.review_count, freeze="C2", print_through="explanation"),
        # Totals per payout status: what was received is never added to what is in transit.
        _Table("settlement", _settlement_sheet(report.settlement, language), "settlement.parquet",
               totals="payout_status_label", freeze="D2"),
        _Table("open_items", _open_items_sheet(report.open_items, language), "open_items.parquet", totals="currency",
               total_rows=report.open_item_count, print_through="due_on"),
        _Table("resolved", report.resolved, "resolved.parquet", totals=None),
        _Table("quarantine", report.quarantine, "quarantine.parquet", totals=None),
    ]  # fmt: skip


def sheet_name(key: str, language: str) -> str:
    """The name of a sheet (``worklist`` → ``待处理差异`` in Chinese)."""
    return word(SHEETS, key, language)


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
    language = report.language
    tables = _tables(report)
    cap = report.max_sheet_rows
    spill_notes = [
        f"{sheet_name(t.key, language)}: {_spill_note(t, t.rows_shown(max_rows, cap), language)}"
        for t in tables if t.rows_shown(max_rows, cap) < t.rows
    ]

    midnight = datetime.combine(report.business_date, time())
    wb = Workbook(write_only=True)
    wb.properties.creator = "recon"
    wb.properties.title = f"recon {report.business_date.isoformat()}"
    wb.properties.created = midnight
    wb.properties.modified = midnight  # openpyxl overwrites this on save; _normalize_xlsx fixes it

    _write_summary(wb.create_sheet(sheet_name("summary", language)), report, spill_notes)
    fills = {}
    for number, table in enumerate(tables, start=2):  # sheet1 is the Summary
        rows = _write_table(wb.create_sheet(sheet_name(table.key, language)), table, max_rows, cap, language)
        fills[f"xl/worksheets/sheet{number}.xml"] = rows
    _write_risk(wb.create_sheet(sheet_name("risk", language)), report)
    _write_run(wb.create_sheet(sheet_name("run", language)), report)

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


#: Decisions that settle a whole case: on a case of two rows (a channel row and its ledger entry) the
#: decision is recorded for both. A match by hand or a rejected match is about the pair itself.
_WHOLE_CASE_ACTIONS = ("accept_channel", "accept_ledger", "write_off")


def read_resolutions(data: bytes) -> list[dict[str, str]]:
    """The filled-in resolutions of a workbook this module wrote, as decision entries.

    Reads the worklist and the review sheet (in either language; headers are mapped back to their
    codes), cells as values, never formulas. Each row with a ``resolution`` gives one entry for its
    row (``source_file``, ``source_line``, ``opened_on``, ``source``) with ``action`` = the resolution,
    ``reason`` = the note, and ``account``; a decision that settles a whole case is also entered for
    the case's other row (``other_file``/``other_line``); a ``reject_match`` names the other row as the
    match it rejects. Total rows and empty rows are skipped.

    Raises:
        ValueError: the bytes are not a workbook with a worklist sheet.
    """
    import openpyxl

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - any unreadable workbook is one message
        raise ValueError(f"not a readable xlsx workbook ({type(exc).__name__})") from None
    try:
        wanted = {word(SHEETS, key, language) for key in ("worklist", "review") for language in LANGUAGES}
        sheets = [name for name in book.sheetnames if name in wanted]
        if not sheets:
            raise ValueError(f"no worklist sheet (sheets: {', '.join(book.sheetnames)})")
        entries = []
        for name in sheets:
            rows = book[name].iter_rows(values_only=True)
            header = [column_code(str(cell or "").strip()) for cell in next(rows, ())]
            for values in rows:
                row = {code: "" if value is None else str(value).strip()
                       for code, value in zip(header, values, strict=False) if code}  # fmt: skip
                action = row.get("resolution", "")
                if not action or not row.get("source_file"):
                    continue
                entries += _decision_entries(row, action)
        return entries
    finally:
        book.close()


def _decision_entries(row: dict[str, str], action: str) -> list[dict[str, str]]:
    base = {"action": action, "resolution": action, "reason": row.get("note", ""), "note": row.get("note", ""),
            "account": row.get("account", ""), "opened_on": row.get("opened_on", "")[:10]}  # fmt: skip
    first = {**base, "source": row.get("source", ""), "source_file": row["source_file"],
             "source_line": row.get("source_line", "")}  # fmt: skip
    other = f"{row['other_file']}:{row.get('other_line', '')}" if row.get("other_file") else ""
    if action in ("reject_match", "match_by_hand"):
        first["counterpart"] = row.get("counterpart") or other
        return [first]
    if action in _WHOLE_CASE_ACTIONS and other:
        return [first, {**base, "source": "", "source_file": row["other_file"], "source_line": row.get("other_line", "")}]
    return [first]
