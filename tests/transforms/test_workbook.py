"""transforms/workbook.py: the finance workbook, read back as a workbook and as raw zip XML."""

from __future__ import annotations

import io
import re
import zipfile
from datetime import date, datetime
from decimal import Decimal

import polars as pl
import pytest
from openpyxl import Workbook, load_workbook

from schemas.outputs import Discrepancy, OpenItem, QuarantineEntry, SettlementLine
from transforms.carry import OPEN_ITEM_SCHEMA
from transforms.report import AGING_SCHEMA, ChannelSummary, InputFile, Report
from transforms.workbook import SHEET_NAMES, escape_unwritable, render_workbook, text_cell

BUSINESS_DATE = date(2026, 3, 2)
WECHAT_TXN = "4200000926202101281412639609"  # 28 digits: must survive as exact text
ALIPAY_TXN = "2026030222001412341234567890"

# Hostile statement text (BAD_INPUTS §2.1): each must come back as the same text, never a formula.
HYPERLINK = '=HYPERLINK("http://x","click")'
DDE = "=cmd|' /C calc'!A0"
HOSTILE = (HYPERLINK, DDE, "+1+1", "@SUM(1)", "#N/A", "abc\x00def", "\x1b[31m")

OUTCOME_SCHEMA: dict[str, pl.DataType] = {
    "source": pl.String(), "source_file": pl.String(), "source_line": pl.Int64(),
    "channel": pl.String(), "entry_id": pl.String(), "channel_txn_id": pl.String(),
    "order_no": pl.String(), "kind": pl.String(), "amount_minor": pl.Int64(),
    "fee_minor": pl.Int64(), "expected_fee_minor": pl.Int64(), "currency": pl.String(),
    "outcome": pl.String(), "reason_code": pl.String(), "detail": pl.String(),
    "match_rule": pl.String(), "counterpart_file": pl.String(), "counterpart_line": pl.Int64(),
    "counterpart_date": pl.Date(),
}
DISCREPANCY_SCHEMA = {**OUTCOME_SCHEMA, "age_days": pl.Int64()}
SETTLEMENT_SCHEMA: dict[str, pl.DataType] = {
    "settlement_date": pl.Date(), "channel": pl.String(), "merchant_account": pl.String(),
    "currency": pl.String(), "payments_count": pl.Int64(), "refunds_count": pl.Int64(),
    "gross_minor": pl.Int64(), "refunds_minor": pl.Int64(), "fees_minor": pl.Int64(),
    "net_minor": pl.Int64(), "payout_expected_minor": pl.Int64(), "payout_received_minor": pl.Int64(),
    "payout_diff_minor": pl.Int64(), "payout_status": pl.String(), "bank_source_file": pl.String(),
    "bank_source_line": pl.Int64(),
}
QUARANTINE_SCHEMA: dict[str, pl.DataType] = {
    "source_file": pl.String(), "source_line": pl.Int64(), "column": pl.String(),
    "value": pl.String(), "reason_code": pl.String(), "reason": pl.String(),
}
WECHAT_FILE = "wechatpay/微信支付账单_20260302.csv"


def outcome_row(**values: object) -> dict[str, object]:
    """One Outcome row: unnamed columns are null, the usual ones have a plain default."""
    row: dict[str, object] = dict.fromkeys(OUTCOME_SCHEMA)
    row.update(source="channel", source_file=WECHAT_FILE, outcome="amount_mismatch")
    row.update(values)
    return row


# Discrepancies, row by row (age_days last):
#  1. WeChat payment 1,234.50 CNY, fee -7.41: the 28-digit id, a HYPERLINK order_no, Chinese detail.
#  2. Alipay refund -50.00 CNY: the DDE payload as order_no, '+1+1' as detail.
#  3. ledger row 1,500 JPY (exponent 0): '#N/A' order_no, a NUL inside the detail.
#  4. bank credit 1,234.567 KWD (exponent 3): '@SUM(1)' order_no, an ANSI escape as detail.
#  5. quarantined row with no currency: its 999 minor units can't be shown in major units.
DISCREPANCY_ROWS = [
    outcome_row(source_line=5, channel="wechatpay", channel_txn_id=WECHAT_TXN, order_no=HYPERLINK,
                kind="payment", amount_minor=123450, fee_minor=-741, expected_fee_minor=-740,
                currency="CNY", detail="金额不符：商户订单 支付宝/微信", age_days=0),
    outcome_row(source_line=6, channel="alipay", channel_txn_id=ALIPAY_TXN, order_no=DDE, kind="refund",
                amount_minor=-5000, fee_minor=30, expected_fee_minor=30, currency="CNY",
                outcome="missing_in_ledger", detail="+1+1", age_days=1),
    outcome_row(source="ledger", source_file="ledger/ledger.csv", source_line=2, entry_id="L-0001",
                order_no="#N/A", kind="payment", amount_minor=1500, currency="JPY",
                outcome="missing_in_channel", detail="abc\x00def", age_days=2),
    outcome_row(source="bank", source_file="bank/camt053.xml", source_line=40, order_no="@SUM(1)",
                kind="payout", amount_minor=1234567, currency="KWD", outcome="unexplained",
                detail="\x1b[31m", age_days=0),
    outcome_row(source_line=9, channel="wechatpay", amount_minor=999, outcome="quarantined",
                reason_code="BAD_AMOUNT", detail="-12.5", age_days=0),
]


def settlement_frame() -> pl.DataFrame:
    # net = gross + refunds + fees: 10,000.00 - 50.00 - 60.00 = 9,890.00 (989000 fen).
    return pl.DataFrame(
        [
            {"settlement_date": BUSINESS_DATE, "channel": "wechatpay", "merchant_account": "1900000109",
             "currency": "CNY", "payments_count": 10, "refunds_count": 1, "gross_minor": 1_000_000,
             "refunds_minor": -5_000, "fees_minor": -6_000, "net_minor": 989_000,
             "payout_expected_minor": 989_000, "payout_received_minor": None, "payout_diff_minor": None,
             "payout_status": "in_transit", "bank_source_file": None, "bank_source_line": None},
            {"settlement_date": date(2026, 3, 1), "channel": "wechatpay", "merchant_account": "1900000109",
             "currency": "CNY", "payments_count": 3, "refunds_count": 0, "gross_minor": 30_000,
             "refunds_minor": 0, "fees_minor": -180, "net_minor": 29_820,
             "payout_expected_minor": 29_820, "payout_received_minor": 29_820, "payout_diff_minor": 0,
             "payout_status": "matched", "bank_source_file": "bank/camt053.xml", "bank_source_line": 40},
        ],
        schema=SETTLEMENT_SCHEMA,
    )


def make_report(discrepancy_rows: list[dict[str, object]] | None = None) -> Report:
    """A tiny report whose frames pass the output schemas."""
    rows = DISCREPANCY_ROWS if discrepancy_rows is None else discrepancy_rows
    discrepancies = Discrepancy.validate(pl.DataFrame(rows, schema=DISCREPANCY_SCHEMA))
    open_items = OpenItem.validate(pl.DataFrame(
        [{"opened_on": date(2026, 2, 26), "source": "ledger", "source_file": "ledger/ledger.csv", "source_line": 7,
          "channel": "wechatpay", "merchant_account": None, "entry_id": "L-0007", "channel_txn_id": None,
          "order_no": "订单-7", "kind": "payment", "amount_minor": 880, "currency": "CNY",
          "status": "missing_in_channel", "age_days": 4, "aging_bucket": "4-7", "due_on": date(2026, 3, 1),
          "detail": "booked 23:50, after the cut-off", "resolved_by": None}],
        schema=OPEN_ITEM_SCHEMA,
    ))
    aging = pl.DataFrame([("wechatpay", "CNY", "4-7", 1, 880)], schema=AGING_SCHEMA, orient="row")
    quarantine = QuarantineEntry.validate(pl.DataFrame(
        [
            {"source_file": WECHAT_FILE, "source_line": 9, "column": "应结订单金额", "value": "=1+1",
             "reason_code": "BAD_AMOUNT", "reason": "'=1+1' is not a plain decimal amount"},
            {"source_file": WECHAT_FILE, "source_line": 10, "column": "商品名称", "value": "abc\x00def",
             "reason_code": "BAD_TEXT", "reason": "control character"},
        ],
        schema=QUARANTINE_SCHEMA,
    ))
    return Report(
        business_date=BUSINESS_DATE,
        run_id="run-3f2a9c",
        code_version="0.1.0+abc1234",
        rules_hash="9" * 64,
        headline="PROVISIONAL — statement missing: alipay",
        notes=("alipay: statement missing; its ledger rows are in_transit",),
        channels=(
            ChannelSummary("wechatpay", "ok", 12, 11, 20, 3, 1, "97.5"),
            ChannelSummary("alipay", "statement missing", 0, 4, 0, 4, 0, "0.0"),
            ChannelSummary("bank", "ok", 2, 0, 1, 1, 0, "50.0"),
        ),
        inputs=(
            InputFile(WECHAT_FILE, "a" * 64, "wechatpay_tradebill", "channel", "ok", 12, 17, 1, 1, 3, 0),
            InputFile("ledger/ledger.csv", "b" * 64, "ledger_csv", "ledger", "ok", 15, 16, 1, 0, 0, 0),
        ),
        outcome_counts=(("matched", 21), ("amount_mismatch", 1), ("in_transit", 4), ("quarantined", 1)),
        discrepancies=discrepancies,
        discrepancy_count=discrepancies.height,
        settlement=SettlementLine.validate(settlement_frame()),
        open_items=open_items,
        open_item_count=open_items.height,
        aging=aging,
        quarantine=quarantine,
        exit_code=3,
    )


@pytest.fixture(scope="module")
def xlsx() -> bytes:
    return render_workbook(make_report())


@pytest.fixture(scope="module")
def book(xlsx: bytes) -> Workbook:
    return load_workbook(io.BytesIO(xlsx))


def table(ws) -> tuple[list[str], list[tuple]]:
    """Header and data rows (cells) of a table sheet, total rows excluded."""
    rows = list(ws.iter_rows())
    header = [c.value for c in rows[0]]
    data = [r for r in rows[1:] if not (isinstance(r[0].value, str) and r[0].value.startswith("Total"))]
    return header, data


def column(ws, name: str) -> list:
    header, data = table(ws)
    return [r[header.index(name)] for r in data]


def sheet_xml(xlsx: bytes) -> dict[str, str]:
    with zipfile.ZipFile(io.BytesIO(xlsx)) as z:
        return {n: z.read(n).decode("utf-8") for n in z.namelist() if n.startswith("xl/worksheets/sheet")}


# ---------------------------------------------------------------------------------------------------


def test_sheets_in_order(book: Workbook) -> None:
    assert book.sheetnames == list(SHEET_NAMES)
    assert book.sheetnames == ["Summary", "Discrepancies", "Settlement", "Open items", "Resolved", "Quarantine",
                               "Run"]


def test_money_headers_lose_minor_suffix(book: Workbook) -> None:
    header, _ = table(book["Discrepancies"])
    assert header[8:11] == ["amount", "fee", "expected_fee"]
    assert not [h for h in header if h.endswith("_minor")]
    header, _ = table(book["Settlement"])
    assert "net" in header and "payout_diff" in header


@pytest.mark.parametrize(
    ("row", "major", "number_format"),
    [
        (0, Decimal("1234.50"), "#,##0.00"),  # 123450 fen
        (1, Decimal("-50.00"), "#,##0.00"),  # -5000 fen, a refund
        (2, Decimal("1500"), "#,##0"),  # JPY has no minor unit
        (3, Decimal("1234.567"), "#,##0.000"),  # KWD has 3 decimals
    ],
)
def test_amounts_are_numbers_in_major_units(book: Workbook, row: int, major: Decimal, number_format: str) -> None:
    cell = column(book["Discrepancies"], "amount")[row]
    assert isinstance(cell.value, int | float | Decimal) and not isinstance(cell.value, bool)
    assert Decimal(str(cell.value)) == major
    assert cell.number_format == number_format


def test_amount_without_currency_is_labelled_text_not_a_wrong_number(book: Workbook) -> None:
    cell = column(book["Discrepancies"], "amount")[4]
    assert cell.data_type == "s"
    assert cell.value == "999 minor units (no currency)"


def test_ids_are_exact_text(book: Workbook) -> None:
    ids = [c.value for c in column(book["Discrepancies"], "channel_txn_id")]
    assert ids[:2] == [WECHAT_TXN, ALIPAY_TXN]
    assert all(isinstance(v, str) for v in ids[:2])
    assert column(book["Settlement"], "merchant_account")[0].value == "1900000109"


def test_hostile_text_reads_back_as_text(book: Workbook) -> None:
    ws = book["Discrepancies"]
    order_no = [c.value for c in column(ws, "order_no")]
    detail = [c.value for c in column(ws, "detail")]
    assert order_no[:4] == [HYPERLINK, DDE, "#N/A", "@SUM(1)"]
    # Characters XML cannot hold become a visible escape; the rest is kept as is.
    assert detail[:5] == ["金额不符：商户订单 支付宝/微信", "+1+1", "abc\\x00def", "\\x1b[31m", "-12.5"]
    for cell in [*column(ws, "order_no")[:4], *column(ws, "detail")[:5]]:
        assert cell.data_type == "s"
    quarantine_values = [c.value for c in column(book["Quarantine"], "value")]
    assert quarantine_values == ["=1+1", "abc\\x00def"]


def test_formula_like_text_carries_quote_prefix(book: Workbook) -> None:
    ws = book["Discrepancies"]
    by_value = {c.value: c for c in [*column(ws, "order_no"), *column(ws, "detail")] if c.value}
    for text in (HYPERLINK, DDE, "+1+1", "@SUM(1)", "-12.5"):
        assert by_value[text].quotePrefix, text
    assert not by_value["#N/A"].quotePrefix
    assert not by_value["金额不符：商户订单 支付宝/微信"].quotePrefix


def test_only_formulas_are_the_totals_we_write(xlsx: bytes) -> None:
    xml = sheet_xml(xlsx)
    formulas = [f for text in xml.values() for f in re.findall(r"<f>(.*?)</f>", text, re.S)]
    assert formulas and all(f.startswith(("SUM(", "SUMIF(")) for f in formulas), formulas
    assert not re.search(r"<f[ >]", "".join(xml.values()).replace("<f>SUM", "").replace("<f>SUMIF", ""))
    # No error cells either: '#N/A' is text.
    assert 't="e"' not in "".join(xml.values())
    # The HYPERLINK payload is in the file as inline text, not as a formula.
    assert re.search(
        r'<c r="G2" s="\d+" t="inlineStr"><is><t(?: xml:space="preserve")?>=HYPERLINK\("http://x","click"\)</t></is></c>',
        xml["xl/worksheets/sheet2.xml"],
    )


def test_totals_sum_each_currency_separately(book: Workbook) -> None:
    ws = book["Discrepancies"]
    header = [c.value for c in next(ws.iter_rows())]
    totals = {r[0].value: r for r in ws.iter_rows() if isinstance(r[0].value, str) and r[0].value.startswith("Total")}
    # Three currencies among the data rows (rows 2..6): one SUMIF row each, sorted.
    assert list(totals) == ["Total CNY", "Total JPY", "Total KWD"]
    amount = header.index("amount")
    assert totals["Total CNY"][amount].value == '=SUMIF(L2:L6,"CNY",I2:I6)'
    assert totals["Total KWD"][amount].number_format == "#,##0.000"


def test_single_currency_total_is_a_plain_sum(book: Workbook) -> None:
    ws = book["Settlement"]
    header = [c.value for c in next(ws.iter_rows())]
    last = list(ws.iter_rows())[-1]
    assert last[0].value == "Total CNY"
    assert last[header.index("net")].value == "=SUM(J2:J3)"
    assert last[header.index("net")].number_format == "#,##0.00"
    assert last[header.index("channel")].value is None


def test_dates_are_date_cells(book: Workbook) -> None:
    cell = column(book["Settlement"], "settlement_date")[0]
    assert cell.value == datetime(2026, 3, 2)
    assert cell.number_format == "yyyy-mm-dd"
    assert cell.is_date


@pytest.mark.parametrize("sheet", ["Discrepancies", "Settlement", "Open items", "Resolved", "Quarantine"])
def test_table_sheets_have_bold_frozen_header_and_filter(book: Workbook, sheet: str) -> None:
    ws = book[sheet]
    header, data = table(ws)
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref == f"A1:{ws.cell(1, len(header)).column_letter}{1 + len(data)}"
    assert all(c.font.b for c in next(ws.iter_rows()))


def test_column_widths_follow_content_and_count_cjk_double(book: Workbook) -> None:
    ws = book["Quarantine"]
    widths = {c.value: ws.column_dimensions[c.column_letter].width for c in next(ws.iter_rows())}
    # 'wechatpay/微信支付账单_20260302.csv': 23 narrow + 6 wide characters = 35 columns, + 2 margin.
    assert widths["source_file"] == 37
    assert widths["source_line"] == 13  # the header is the longest: 11 + 2
    assert all(8 <= w <= 60 for w in widths.values())


def test_summary_headline_tables_and_chart(xlsx: bytes, book: Workbook) -> None:
    ws = book["Summary"]
    assert ws["A1"].value == "PROVISIONAL — statement missing: alipay"
    assert ws["A1"].font.b and ws["A1"].font.sz == 14
    assert ws["A2"].value == "alipay: statement missing; its ledger rows are in_transit"
    rows = [[c.value for c in r] for r in ws.iter_rows()]
    header_at = rows.index(["channel", "status", "rows", "ledger rows", "matched", "discrepancies",
                            "quarantined", "match rate %"])
    assert rows[header_at + 1][0] == "wechatpay"
    assert Decimal(str(rows[header_at + 1][7])) == Decimal("97.5")  # a number, for the chart
    counts_at = next(i for i, r in enumerate(rows) if r[:2] == ["outcome", "rows"])
    assert rows[counts_at + 1][:2] == ["matched", 21]
    assert rows[counts_at + 5][:2] == ["Total", f"=SUM(B{counts_at + 2}:B{counts_at + 5})"]
    aging_at = next(i for i, r in enumerate(rows) if r[:1] == ["open items"])
    assert rows[aging_at][:5] == ["open items", "currency", "age (days)", "items", "amount"]
    assert rows[aging_at + 1][:4] == ["wechatpay", "CNY", "4-7", 1]
    assert Decimal(str(rows[aging_at + 1][4])) == Decimal("8.80")  # 880 fen, shown as yuan
    assert book["Summary"].cell(aging_at + 2, 5).number_format == "#,##0.00"
    with zipfile.ZipFile(io.BytesIO(xlsx)) as z:
        chart = z.read("xl/charts/chart1.xml").decode()
    assert "barChart" in chart and f"'Summary'!$H${header_at + 2}:$H${header_at + 4}" in chart


def test_run_sheet(book: Workbook) -> None:
    rows = [[c.value for c in r] for r in book["Run"].iter_rows()]
    assert rows[0][:2] == ["run id", "run-3f2a9c"]
    assert rows[1][:2] == ["business date", datetime(2026, 3, 2)]
    assert rows[4][:2] == ["exit code", 3]
    header = rows.index(["file", "sha256", "format", "role", "status", "data rows", "physical lines",
                         "header lines", "preamble lines", "footer lines", "blank lines",
                         "continuation lines", "unread lines"])
    assert rows[header + 1] == [WECHAT_FILE, "a" * 64, "wechatpay_tradebill", "channel", "ok", 12, 17, 1, 1, 3, 0, 0, 0]
    assert book["Run"].auto_filter.ref == f"A{header + 1}:M{header + 3}"


def test_same_report_gives_identical_bytes(xlsx: bytes) -> None:
    assert render_workbook(make_report()) == xlsx


def test_no_wall_clock_in_the_file(xlsx: bytes) -> None:
    with zipfile.ZipFile(io.BytesIO(xlsx)) as z:
        assert {i.date_time for i in z.infolist()} == {(1980, 1, 1, 0, 0, 0)}
        core = z.read("docProps/core.xml").decode()
    assert re.findall(r"<dcterms:(created|modified)[^>]*>([^<]*)<", core) == [
        ("created", "2026-03-02T00:00:00Z"), ("modified", "2026-03-02T00:00:00Z"),
    ]
    assert load_workbook(io.BytesIO(xlsx)).properties.modified == datetime(2026, 3, 2)


def test_a_table_past_the_row_limit_spills_to_parquet() -> None:
    # 10 CNY discrepancies, sheets of 5 rows: header + 3 data rows + 1 total row.
    rows = [outcome_row(source_line=n, channel_txn_id=f"{WECHAT_TXN[:-2]}{n:02d}", amount_minor=100 * n,
                        currency="CNY", age_days=0) for n in range(1, 11)]
    book = load_workbook(io.BytesIO(render_workbook(make_report(rows), max_rows=5)))
    ws = book["Discrepancies"]
    values = [[c.value for c in r] for r in ws.iter_rows()]
    assert ws.max_row == 5
    assert [r[5] for r in values[1:4]] == [f"{WECHAT_TXN[:-2]}{n:02d}" for n in (1, 2, 3)]
    note = values[0][-1]
    assert note == ("Sheet shows the first 3 of 10 rows, most important first; "
                    "7 more are in discrepancies.parquet and discrepancies.csv")
    assert values[4][0] == "Total of rows shown CNY"
    assert ws.auto_filter.ref == "A1:V4"  # the 19 Outcome columns, age_days, resolution and note
    summary = [r[0].value for r in book["Summary"].iter_rows()]
    assert f"Discrepancies: {note}" in summary
    # The other sheets fit and say nothing.
    assert sum("most important first" in str(v) for v in summary) == 1


def test_a_sheet_shows_at_most_max_sheet_rows_and_says_how_many_more_exist() -> None:
    from dataclasses import replace

    rows = [outcome_row(source_line=n, amount_minor=100 * n, currency="CNY", age_days=0) for n in range(1, 5)]
    # the report holds the first 4 rows of a table of 40,000 (the rest are in the files)
    report = replace(make_report(rows), discrepancy_count=40_000, max_sheet_rows=4)
    ws = load_workbook(io.BytesIO(render_workbook(report)))["Discrepancies"]
    values = [[c.value for c in r] for r in ws.iter_rows()]
    assert values[0][-1] == ("Sheet shows the first 4 of 40,000 rows, most important first; "
                             "39,996 more are in discrepancies.parquet and discrepancies.csv")
    assert ws.max_row == 1 + 4 + 1  # header, the 4 rows, the total


def test_empty_tables_render_with_header_only() -> None:
    report = make_report([])
    book = load_workbook(io.BytesIO(render_workbook(report)))
    ws = book["Discrepancies"]
    assert ws.max_row == 1 and ws.auto_filter.ref == "A1:V1"


# --- the one door for text --------------------------------------------------------------------------


@pytest.mark.parametrize("value", [*HOSTILE, "=1+1", "#DIV/0!", "\t=1+1", "-1", "plain", "中文", "="])
def test_text_cell_always_makes_a_string_cell(value: str) -> None:
    ws = Workbook(write_only=True).create_sheet("x")
    cell = text_cell(ws, value)
    assert cell.data_type == "s"
    assert cell.value == escape_unwritable(value)
    assert bool(cell.quotePrefix) == value.startswith(("=", "+", "-", "@", "\t"))


def test_escape_unwritable() -> None:
    assert escape_unwritable("abc\x00def\x1b\x7f\ufffe") == "abc\\x00def\\x1b\\x7f\\ufffe"
    assert escape_unwritable("tab\tnl\ncr\r中文") == "tab\tnl\ncr\r中文"


def test_text_longer_than_a_cell_is_cut_visibly() -> None:
    ws = Workbook(write_only=True).create_sheet("x")
    cell = text_cell(ws, "x" * 40_000)
    assert len(cell.value) == 32_767 and cell.value.endswith("…[truncated]")
