"""transforms/workbook.py: the finance workbook, read back as a workbook and as raw zip XML."""

from __future__ import annotations

import io
import re
import zipfile
from datetime import date, datetime
from decimal import Decimal

import duckdb
import polars as pl
import pytest
from openpyxl import Workbook, load_workbook
from openpyxl.utils import get_column_letter

from schemas.outputs import OpenItem, QuarantineEntry, SettlementLine
from transforms.carry import OPEN_ITEM_SCHEMA
from transforms.labels import SHEETS, word
from transforms.report import InputFile, Report, build_report, register_outcomes
from transforms.workbook import (
    SHEET_KEYS,
    WORKLIST_COLUMNS,
    escape_unwritable,
    read_resolutions,
    render_workbook,
    text_cell,
)

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
SETTLEMENT_SCHEMA: dict[str, pl.DataType] = {
    "settlement_date": pl.Date(), "channel": pl.String(), "merchant_account": pl.String(),
    "currency": pl.String(), "payments_count": pl.Int64(), "refunds_count": pl.Int64(),
    "gross_minor": pl.Int64(), "refunds_minor": pl.Int64(), "fees_minor": pl.Int64(), "other_minor": pl.Int64(),
    "net_minor": pl.Int64(), "withdrawn_minor": pl.Int64(), "payout_expected_minor": pl.Int64(), "payout_received_minor": pl.Int64(),
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


# The day's rows, as cases (the worklist, most urgent and largest first):
#  1. WeChat payment 1,234.50 CNY against a ledger entry of 1,234.49: one case, difference 0.01; the 28-digit id,
#     a HYPERLINK order_no, Chinese detail.
#  2. Alipay refund -50.00 CNY nobody booked: the DDE payload as order_no, '+1+1' as detail.
#  3. ledger entry 1,500 JPY (exponent 0) the channel never showed: '#N/A' order_no, a NUL inside the detail.
#  4. bank debit 1,234.567 KWD (exponent 3) nobody explains: '@SUM(1)' order_no, an ANSI escape as detail.
#  5. a bank row with no currency: its 999 minor units can't be shown in major units.
#  6. a quarantined row: on the Quarantine sheet, never on the worklist.
DAY_ROWS = [
    outcome_row(source_line=5, channel="wechatpay", channel_txn_id=WECHAT_TXN, order_no=HYPERLINK,
                kind="payment", amount_minor=123450, fee_minor=-741, expected_fee_minor=-740,
                currency="CNY", detail="金额不符：商户订单 支付宝/微信", counterpart_file="ledger/ledger.csv",
                counterpart_line=3, match_rule="channel_txn_id"),
    outcome_row(source="ledger", source_file="ledger/ledger.csv", source_line=3, channel="wechatpay",
                channel_txn_id=WECHAT_TXN, entry_id="L-0003", kind="payment", amount_minor=123449, currency="CNY",
                counterpart_file=WECHAT_FILE, counterpart_line=5, match_rule="channel_txn_id", detail="ledger side"),
    outcome_row(source_file="alipay/a.csv", source_line=6, channel="alipay", channel_txn_id=ALIPAY_TXN, order_no=DDE,
                kind="refund", amount_minor=-5000, fee_minor=30, expected_fee_minor=30, currency="CNY",
                outcome="missing_in_ledger", detail="+1+1"),
    outcome_row(source="ledger", source_file="ledger/ledger.csv", source_line=2, entry_id="L-0001",
                order_no="#N/A", kind="payment", amount_minor=1500, currency="JPY",
                outcome="missing_in_channel", detail="abc\x00def"),
    outcome_row(source="bank", source_file="bank/camt053.xml", source_line=40, order_no="@SUM(1)",
                amount_minor=-1234567, currency="KWD", outcome="unexplained", detail="\x1b[31m", channel=None),
    outcome_row(source="bank", source_file="bank/camt053.xml", source_line=41, amount_minor=999,
                outcome="unexplained", detail="-12.5", channel=None),
    outcome_row(source_line=9, channel="wechatpay", amount_minor=0, outcome="quarantined",
                reason_code="BAD_AMOUNT", detail="=1+1"),
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


def make_report(rows: list[dict[str, object]] | None = None, *, language: str = "en", max_sheet_rows: int = 50_000,
                unavailable: dict[str, str] | None = None) -> Report:
    """A small day through build_report, so that cases, class totals and the headline are the real ones."""
    day = pl.DataFrame(DAY_ROWS if rows is None else rows, schema=OUTCOME_SCHEMA)
    open_items = OpenItem.validate(pl.DataFrame(
        [{"opened_on": date(2026, 2, 26), "source": "ledger", "source_file": "ledger/ledger.csv", "source_line": 7,
          "channel": "wechatpay", "merchant_account": None, "entry_id": "L-0007", "channel_txn_id": None,
          "order_no": "订单-7", "kind": "payment", "amount_minor": 880, "currency": "CNY",
          "status": "missing_in_channel", "age_days": 4, "aging_bucket": "4-7", "due_on": date(2026, 3, 1),
          "detail": "booked 23:50, after the cut-off", "resolved_by": None}],
        schema=OPEN_ITEM_SCHEMA,
    ))
    quarantine = QuarantineEntry.validate(pl.DataFrame(
        [
            {"source_file": WECHAT_FILE, "source_line": 9, "column": "应结订单金额", "value": "=1+1",
             "reason_code": "BAD_AMOUNT", "reason": "'=1+1' is not a plain decimal amount"},
            {"source_file": WECHAT_FILE, "source_line": 10, "column": "商品名称", "value": "abc\x00def",
             "reason_code": "BAD_TEXT", "reason": "control character"},
        ],
        schema=QUARANTINE_SCHEMA,
    ))
    with duckdb.connect() as con:
        register_outcomes(con, day, open_items=open_items)
        return build_report(
            con, business_date=BUSINESS_DATE, run_id="run-3f2a9c", code_version="0.1.0+abc1234",
            rules_hash="9" * 64, settlement=SettlementLine.validate(settlement_frame()), quarantine=quarantine,
            unavailable={"alipay": "statement missing"} if unavailable is None else unavailable,
            notes=("alipay: statement missing; its ledger rows are in_transit",),
            inputs=(
                InputFile(WECHAT_FILE, "a" * 64, "wechatpay_tradebill", "channel", "read", 12, 17, 1, 1, 3, 0),
                InputFile("ledger/ledger.csv", "b" * 64, "ledger_csv", "ledger", "read", 15, 16, 1, 0, 0, 0),
            ),
            expected=("wechatpay", "alipay", "bank"), max_sheet_rows=max_sheet_rows, language=language,
            fee_checked=("wechatpay", "alipay"),
        )  # fmt: skip


@pytest.fixture(scope="module")
def report() -> Report:
    return make_report()


@pytest.fixture(scope="module")
def xlsx(report: Report) -> bytes:
    return render_workbook(report)


@pytest.fixture(scope="module")
def book(xlsx: bytes) -> Workbook:
    return load_workbook(io.BytesIO(xlsx))


def is_total(r: tuple) -> bool:
    return isinstance(r[0].value, str) and r[0].value.startswith("Total")


def table(ws) -> tuple[list[str], list[tuple]]:
    """Header and data rows (cells) of a table sheet, total rows excluded."""
    rows = list(ws.iter_rows())
    header = [c.value for c in rows[0]]
    return header, [r for r in rows[1:] if not is_total(r)]


def totals(ws) -> list[tuple]:
    return [r for r in list(ws.iter_rows())[1:] if is_total(r)]


def column(ws, name: str) -> list:
    header, data = table(ws)
    return [r[header.index(name)] for r in data]


def case_row(ws, class_label: str) -> dict[str, object]:
    header, data = table(ws)
    return next({h: c for h, c in zip(header, r, strict=False)} for r in data if r[1].value == class_label)


def sheet_xml(xlsx: bytes) -> dict[str, str]:
    with zipfile.ZipFile(io.BytesIO(xlsx)) as z:
        return {n: z.read(n).decode("utf-8") for n in z.namelist() if n.startswith("xl/worksheets/sheet")}


# ---------------------------------------------------------------------------------------------------


def test_sheets_in_order_in_the_report_language(book: Workbook) -> None:
    assert book.sheetnames == [word(SHEETS, key, "en") for key in SHEET_KEYS]
    assert book.sheetnames == ["Summary", "Discrepancies", "Review", "Settlement", "Open items", "Resolved",
                               "Quarantine", "Risk", "Run"]
    chinese = load_workbook(io.BytesIO(render_workbook(make_report(language="zh"))))
    assert chinese.sheetnames == ["汇总", "待处理差异", "复核与在途", "结算与回款", "挂账明细", "已处理", "隔离数据", "风险信号",
                                  "运行信息"]
    header = [c.value for c in next(chinese["待处理差异"].iter_rows())]
    assert header[:6] == ["严重程度", "类别", "金额", "差额", "币种", "渠道"]
    assert "单边账（账务有、渠道无）" in [c.value for c in column(chinese["待处理差异"], "类别")]


def test_the_worklist_is_one_row_per_case_in_the_order_a_person_works(book: Workbook) -> None:
    header, data = table(book["Discrepancies"])
    assert header[:14] == ["severity", "class", "amount", "difference", "currency", "channel",
                           "channel transaction id", "order no", "ledger entry id", "business date", "age (days)",
                           "owner", "suggested action", "resolution"]
    assert header[-6:] == ["source", "source_file", "source_line", "opened_on", "other_file", "other_line"]
    # 6 outcome rows that need a person (the pair is one case), the quarantined row elsewhere.
    assert [r[1].value for r in data] == [
        "one-sided: at the channel, not in the ledger", "one-sided: in the ledger, not at the channel",
        "amounts differ", "bank entry nobody explains", "bank entry nobody explains"]
    pair = case_row(book["Discrepancies"], "amounts differ")
    assert (pair["severity"].value, pair["owner"].value) == ("high", "finance")
    assert Decimal(str(pair["difference"].value)) == Decimal("0.01")
    assert (pair["source_file"].value, pair["other_file"].value, pair["other_line"].value) == (
        WECHAT_FILE, "ledger/ledger.csv", 3)


def test_severity_is_coloured(xlsx: bytes, book: Workbook) -> None:
    cells = column(book["Discrepancies"], "severity")
    assert [c.value for c in cells] == ["high", "high", "high", "medium", "medium"]
    fills = {c.value: c.fill.fgColor.rgb for c in cells}
    assert fills["high"] != fills["medium"] and fills["high"].endswith("F4B6B6")


@pytest.mark.parametrize(
    ("class_label", "major", "number_format"),
    [
        ("amounts differ", Decimal("1234.50"), "#,##0.00"),  # 123450 fen
        ("one-sided: at the channel, not in the ledger", Decimal("-50.00"), "#,##0.00"),  # -5000 fen, a refund
        ("one-sided: in the ledger, not at the channel", Decimal("1500"), "#,##0"),  # JPY has no minor unit
    ],
)
def test_amounts_are_numbers_in_major_units(book: Workbook, class_label: str, major: Decimal, number_format: str) -> None:
    cell = case_row(book["Discrepancies"], class_label)["amount"]
    assert isinstance(cell.value, int | float | Decimal) and not isinstance(cell.value, bool)
    assert Decimal(str(cell.value)) == major
    assert cell.number_format == number_format


def test_kwd_has_three_decimals_and_no_currency_is_labelled_text_not_a_wrong_number(book: Workbook) -> None:
    cells = column(book["Discrepancies"], "amount")[-2:]
    assert Decimal(str(cells[0].value)) == Decimal("-1234.567") and cells[0].number_format == "#,##0.000"
    assert cells[1].data_type == "s" and cells[1].value == "999 minor units (no currency)"


def test_ids_are_exact_text(book: Workbook) -> None:
    ids = {c.value for c in column(book["Discrepancies"], "channel transaction id")}
    assert {WECHAT_TXN, ALIPAY_TXN} <= ids
    assert column(book["Settlement"], "merchant account")[0].value == "1900000109"


def test_hostile_text_reads_back_as_text(book: Workbook) -> None:
    ws = book["Discrepancies"]
    order_no = [c.value for c in column(ws, "order no")]
    detail = [c.value for c in column(ws, "detail")]
    assert order_no == [DDE, "#N/A", HYPERLINK, "@SUM(1)", None]
    # Characters XML cannot hold become a visible escape; the rest is kept as is.
    assert detail == ["+1+1", "abc\\x00def", "金额不符：商户订单 支付宝/微信", "\\x1b[31m", "-12.5"]
    for cell in [*column(ws, "order no")[:4], *column(ws, "detail")]:
        assert cell.data_type == "s"
    quarantine_values = [c.value for c in column(book["Quarantine"], "value")]
    assert quarantine_values == ["=1+1", "abc\\x00def"]


def test_formula_like_text_carries_quote_prefix(book: Workbook) -> None:
    ws = book["Discrepancies"]
    by_value = {c.value: c for c in [*column(ws, "order no"), *column(ws, "detail")] if c.value}
    for text in (HYPERLINK, DDE, "+1+1", "@SUM(1)", "-12.5"):
        assert by_value[text].quotePrefix, text
    assert not by_value["#N/A"].quotePrefix
    assert not by_value["金额不符：商户订单 支付宝/微信"].quotePrefix


def test_only_formulas_are_the_totals_we_write(xlsx: bytes) -> None:
    xml = sheet_xml(xlsx)
    formulas = [f for text in xml.values() for f in re.findall(r"<f>(.*?)</f>", text, re.S)]
    assert formulas and all(f.startswith(("SUM(", "SUMPRODUCT(SUBTOTAL(109,")) for f in formulas), formulas
    assert len(re.findall(r"<f[ >]", "".join(xml.values()))) == len(formulas)
    # No error cells either: '#N/A' is text.
    assert 't="e"' not in "".join(xml.values())
    # The HYPERLINK payload is in the file as inline text, not as a formula.
    assert re.search(
        r'<c r="H\d+" s="\d+" t="inlineStr"><is><t(?: xml:space="preserve")?>=HYPERLINK\("http://x","click"\)</t></is></c>',
        xml["xl/worksheets/sheet2.xml"],
    )


def test_worklist_totals_add_one_class_in_one_currency_and_follow_the_filter(book: Workbook) -> None:
    ws = book["Discrepancies"]
    header, data = table(ws)
    rows = {(r[1].value, r[4].value): r for r in totals(ws)}
    assert sorted(rows) == [("amounts differ", "CNY"), ("bank entry nobody explains", "KWD"),
                            ("one-sided: at the channel, not in the ledger", "CNY"),
                            ("one-sided: in the ledger, not at the channel", "JPY")]
    last = 1 + len(data)
    amount = rows[("amounts differ", "CNY")][header.index("difference")]
    assert amount.value == (f'=SUMPRODUCT(SUBTOTAL(109,OFFSET(D2,ROW(D2:D{last})-ROW(D2),0)),'
                            f'--(E2:E{last}="CNY"),--(B2:B{last}="amounts differ"))')
    assert rows[("bank entry nobody explains", "KWD")][header.index("amount")].number_format == "#,##0.000"
    assert rows[("amounts differ", "CNY")][0].value == "Total (follows the filter)"


def test_settlement_totals_never_mix_received_with_in_transit(book: Workbook) -> None:
    ws = book["Settlement"]
    header, data = table(ws)
    assert header[:3] == ["settlement date", "channel", "payout status"]
    assert [c.value for c in column(ws, "payout status")] == ["received", "in transit"]
    by_status = {r[2].value: r for r in totals(ws)}
    assert sorted(by_status) == ["in transit", "received"]
    net = get_column_letter(header.index("net") + 1)
    assert by_status["received"][header.index("net")].value == (
        f'=SUMPRODUCT(SUBTOTAL(109,OFFSET({net}2,ROW({net}2:{net}3)-ROW({net}2),0)),'
        f'--(E2:E3="CNY"),--(C2:C3="received"))')


def test_dates_are_date_cells(book: Workbook) -> None:
    cell = column(book["Settlement"], "settlement date")[0]
    assert cell.value == datetime(2026, 3, 1)
    assert cell.number_format == "yyyy-mm-dd"
    assert cell.is_date


@pytest.mark.parametrize(("sheet", "freeze"), [("Discrepancies", "C2"), ("Review", "C2"), ("Settlement", "D2"),
                                               ("Open items", "A2"), ("Resolved", "A2"), ("Quarantine", "A2")])
def test_table_sheets_have_bold_frozen_header_filter_and_print_setup(book: Workbook, sheet: str, freeze: str) -> None:
    ws = book[sheet]
    header, data = table(ws)
    assert ws.freeze_panes == freeze
    assert ws.auto_filter.ref == f"A1:{get_column_letter(len(header))}{1 + len(data)}"
    assert all(c.font.b for c in next(ws.iter_rows()))
    assert ws.page_setup.orientation == "landscape" and ws.page_setup.fitToWidth == 1
    assert ws.page_setup.fitToHeight == 0 and ws.sheet_properties.pageSetUpPr.fitToPage
    assert ws.print_title_rows == "$1:$1"


def test_the_worklist_prints_the_columns_a_person_works_with(book: Workbook) -> None:
    header, data = table(book["Discrepancies"])
    last = get_column_letter(header.index("explanation") + 1)
    assert book["Discrepancies"].print_area == f"'Discrepancies'!$A$1:${last}${1 + len(data) + 4}"


def test_column_widths_follow_content_and_count_cjk_double(book: Workbook) -> None:
    ws = book["Quarantine"]
    widths = {c.value: ws.column_dimensions[c.column_letter].width for c in next(ws.iter_rows())}
    # 'wechatpay/微信支付账单_20260302.csv': 23 narrow + 6 wide characters = 35 columns, + 2 margin.
    assert widths["source_file"] == 37
    assert widths["source_line"] == 13  # the header is the longest: 11 + 2
    assert all(8 <= w <= 60 for w in widths.values())


def test_summary_answers_what_is_wrong_how_much_and_who_acts(xlsx: bytes, book: Workbook, report: Report) -> None:
    ws = book["Summary"]
    rows = [[c.value for c in r] for r in ws.iter_rows()]
    assert ws["A1"].value == "PROVISIONAL 2026-03-02 (Alipay: statement missing; 1 rows quarantined)"
    assert ws["A1"].font.b and ws["A1"].font.sz == 14 and ws.page_setup.fitToHeight == 1
    assert [r[0] for r in rows[1:6]] == [
        "· 2 channels reconciled",
        "· one-sided: at the channel, not in the ledger: ¥50.00 (1)",
        "· one-sided: in the ledger, not at the channel: JPY 1,500 (1)",
        "· amounts differ: ¥0.01 (1)",
        "· bank entry nobody explains: KWD 1,234.567 + 999 minor units (no currency) (2)",
    ]
    assert report.headline == "; ".join([report.headline_parts[0] + ": " + report.headline_parts[1],
                                         *report.headline_parts[2:]])
    # What was not checked is on the first screen, in red.
    warned = [r[0] for r in rows if isinstance(r[0], str) and r[0].startswith("· Alipay")]
    assert warned == ["· Alipay: statement missing"]
    # Per channel: the statement and its footer check, money, the payouts.
    at = next(i for i, r in enumerate(rows) if r[0] == "channel" and r[2] == "statement")
    assert rows[at][:8] == ["channel", "currency", "statement", "footer totals", "transactions", "matched",
                            "to act on (cases)", "amount at stake"]
    wechat = rows[at + 1]
    assert wechat[:7] == ["WeChat Pay", "CNY", "read", "✓ agree", 1, 0, 1]
    net, received, in_transit = (Decimal(str(v)) for v in (wechat[11], wechat[12], wechat[13]))
    assert (net, received, in_transit) == (Decimal("9890"), Decimal("298.20"), Decimal("9890"))
    assert rows[at + 2][:3] == ["Alipay", "CNY", "statement missing"]
    # Per class: owner, cases, the amount at stake, per channel; the chart draws the amounts.
    at = next(i for i, r in enumerate(rows) if r[:2] == ["class", "currency"])
    assert rows[at][:8] == ["class", "currency", "severity", "owner", "cases", "amount at stake", "WeChat Pay",
                            "Alipay"]
    assert rows[at + 1][:5] == ["one-sided: at the channel, not in the ledger", "CNY", "high", "order system", 1]
    aging_at = next(i for i, r in enumerate(rows) if r[:3] == ["channel", "currency", "age bucket"])
    assert rows[aging_at + 1][:4] == ["WeChat Pay", "CNY", "4-7", 1]
    assert Decimal(str(rows[aging_at + 1][4])) == Decimal("8.80")  # 880 fen, shown as yuan
    with zipfile.ZipFile(io.BytesIO(xlsx)) as z:
        chart = z.read("xl/charts/chart1.xml").decode()
    # The chart's series are the per-channel amounts of the CNY classes (the first currency).
    assert "barChart" in chart and f"'Summary'!$G${at + 2}:$G${at + 3}" in chart


def test_a_channel_without_a_contracted_fee_is_said_not_checked() -> None:
    rows = [outcome_row(source_file="unionpay/u.txt", source_line=2, channel="unionpay", amount_minor=100,
                        currency="CNY", outcome="matched")]
    report = make_report(rows, language="zh", unavailable={})
    assert report.not_checked == ("unionpay: fee not checked (no contracted fee)",)
    summary = [r[0].value for r in load_workbook(io.BytesIO(render_workbook(report)))["汇总"].iter_rows()]
    assert "· 银联：手续费未核对（recon.toml 中没有 [channels.unionpay] 合同费率）" in summary


def test_run_sheet(book: Workbook, report: Report) -> None:
    rows = [[c.value for c in r] for r in book["Run"].iter_rows()]
    assert rows[0][:2] == ["run id", "run-3f2a9c"]
    assert rows[1][:2] == ["business date", datetime(2026, 3, 2)]
    assert rows[4][:2] == ["exit code", 3]
    assert rows[5][:2] == ["headline", report.headline]
    header = rows.index(["file", "sha256", "format", "role", "status", "data rows", "physical lines",
                         "header lines", "preamble lines", "footer lines", "blank lines",
                         "continuation lines", "unread lines"])
    assert rows[header + 1] == [WECHAT_FILE, "a" * 64, "wechatpay_tradebill", "channel", "read", 12, 17, 1, 1, 3, 0, 0, 0]
    assert book["Run"].auto_filter.ref == f"A{header + 1}:M{header + 3}"
    counts_at = rows.index(["outcome", "rows", None, None, None, None, None, None, None, None, None, None, None])
    assert rows[counts_at + 1][:2] == ["matched", 0]


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


def ten_cases() -> list[dict[str, object]]:
    return [outcome_row(source_line=n, channel_txn_id=f"{WECHAT_TXN[:-2]}{n:02d}", amount_minor=100 * (11 - n),
                        currency="CNY", outcome="missing_in_ledger") for n in range(1, 11)]  # fmt: skip


def test_a_table_past_the_row_limit_spills_to_parquet() -> None:
    # 10 cases, sheets of 5 rows: header + 3 data rows + 1 total row.
    book = load_workbook(io.BytesIO(render_workbook(make_report(ten_cases()), max_rows=5)))
    ws = book["Discrepancies"]
    values = [[c.value for c in r] for r in ws.iter_rows()]
    assert ws.max_row == 5
    assert [r[6] for r in values[1:4]] == [f"{WECHAT_TXN[:-2]}{n:02d}" for n in (1, 2, 3)]
    note = values[0][-1]
    assert note == ("Sheet shows the first 3 of 10 rows, most important first; "
                    "7 more are in cases.parquet")
    assert values[4][:2] == ["Total (follows the filter)", "one-sided: at the channel, not in the ledger"]
    assert ws.auto_filter.ref == f"A1:{get_column_letter(len(WORKLIST_COLUMNS))}4"
    summary = [r[0].value for r in book["Summary"].iter_rows()]
    assert f"· Discrepancies: {note}" in summary
    # The other sheets fit and say nothing.
    assert sum("most important first" in str(v) for v in summary) == 1


def test_a_sheet_shows_at_most_max_sheet_rows_and_says_how_many_more_exist() -> None:
    report = make_report(ten_cases(), max_sheet_rows=4)
    assert report.case_count == 10 and report.cases.height == 4
    ws = load_workbook(io.BytesIO(render_workbook(report)))["Discrepancies"]
    values = [[c.value for c in r] for r in ws.iter_rows()]
    assert values[0][-1] == ("Sheet shows the first 4 of 10 rows, most important first; "
                             "6 more are in cases.parquet")
    assert ws.max_row == 1 + 4 + 1  # header, the 4 rows, the total


def test_empty_tables_render_with_header_only() -> None:
    book = load_workbook(io.BytesIO(render_workbook(make_report([]))))
    ws = book["Discrepancies"]
    assert ws.max_row == 1 and ws.auto_filter.ref == f"A1:{get_column_letter(len(WORKLIST_COLUMNS))}1"
    assert "no discrepancy" in make_report([]).headline


def test_resolutions_written_in_the_workbook_read_back_as_decisions(xlsx: bytes) -> None:
    book = load_workbook(io.BytesIO(xlsx))
    ws = book["Discrepancies"]
    header = [c.value for c in ws[1]]
    at = {name: header.index(name) + 1 for name in ("resolution", "note", "account", "class")}
    for row in range(2, ws.max_row + 1):
        label = ws.cell(row, at["class"]).value
        if label == "amounts differ":
            ws.cell(row, at["resolution"], "accept_channel")
            ws.cell(row, at["note"], "the order system rounded")
        elif label == "one-sided: in the ledger, not at the channel":
            ws.cell(row, at["resolution"], "write_off")
            ws.cell(row, at["note"], "test order")
            ws.cell(row, at["account"], "6603")
    buffer = io.BytesIO()
    book.save(buffer)
    entries = read_resolutions(buffer.getvalue())
    keys = [(e["source_file"], e["source_line"], e["action"], e["reason"], e["account"], e["opened_on"]) for e in entries]
    # (These rows have no date of their own in this test, so opened_on is empty: the decision's date applies.)
    assert keys == [
        ("ledger/ledger.csv", "2", "write_off", "test order", "6603", ""),
        # a decision on a case of two rows is recorded for both rows
        (WECHAT_FILE, "5", "accept_channel", "the order system rounded", "", ""),
        ("ledger/ledger.csv", "3", "accept_channel", "the order system rounded", "", ""),
    ]
    with pytest.raises(ValueError, match="not a readable xlsx"):
        read_resolutions(b"not a zip")


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


def test_a_payout_received_for_a_date_not_reconciled_yet_is_received_not_in_transit() -> None:
    from dataclasses import replace

    early = settlement_frame().with_columns(
        settlement_date=pl.lit(date(2026, 3, 1)), payout_status=pl.lit("in_transit"), net_minor=pl.lit(None, pl.Int64),
        gross_minor=pl.lit(None, pl.Int64), refunds_minor=pl.lit(None, pl.Int64), fees_minor=pl.lit(None, pl.Int64),
        payout_expected_minor=pl.lit(None, pl.Int64), payout_received_minor=pl.lit(7_600_825, pl.Int64),
    ).head(1)
    report = make_report()
    with duckdb.connect() as con:  # the same day, with the early credit among the settlement lines
        register_outcomes(con, pl.DataFrame(DAY_ROWS, schema=OUTCOME_SCHEMA))
        lines = pl.concat([settlement_frame().head(1), early])
        again = build_report(con, business_date=BUSINESS_DATE, run_id="r", code_version="v", rules_hash="h",
                             settlement=lines, quarantine=report.quarantine, unavailable={}, notes=(), inputs=(),
                             expected=("wechatpay",), language="en")  # fmt: skip
    wechat = again.channel_money.row(0, named=True)
    assert (wechat["payout_received_minor"], wechat["payout_in_transit_minor"]) == (7_600_825, 989_000)
    assert again.headline.endswith("payout ¥9,890.00 in transit")
    ws = load_workbook(io.BytesIO(render_workbook(replace(again, settlement=lines))))["Settlement"]
    assert sorted(c.value for c in column(ws, "payout status")) == ["in transit", "received (its date not reconciled yet)"]


def test_open_items_say_their_status_and_channel_in_words_and_keep_the_codes(book: Workbook) -> None:
    header, _ = table(book["Open items"])
    assert header[:2] == ["opened_on", "status"]
    assert [c.value for c in column(book["Open items"], "status")] == ["one-sided: in the ledger, not at the channel"]
    assert [c.value for c in column(book["Open items"], "status code")] == ["missing_in_channel"]
    assert [c.value for c in column(book["Open items"], "channel")] == ["WeChat Pay"]


# -- the Risk sheet (transforms/risk.py) ---------------------------------------------------------------


def test_the_risk_sheet_lists_signals_most_severe_first_with_a_chart_of_the_first_series() -> None:
    from dataclasses import replace

    from transforms.risk import RISK_SCHEMA

    signal = {
        "business_date": BUSINESS_DATE, "channel": "alipay", "currency": "CNY", "window_from": date(2026, 2, 2),
        "window_to": BUSINESS_DATE, "baseline": None, "band_low": None, "band_high": None, "series": None,
    }  # fmt: skip
    risk = pl.DataFrame([
        {**signal, "severity": 1, "rule": "REFUND_RATE_AMOUNT", "subject": "alipay 2026-03-02", "unit": "ratio",
         "value": 0.25, "threshold": 0.08, "baseline": 0.03, "band_low": -0.02, "band_high": 0.08,
         "detail": "refunded per paid 25 %", "row_count": 2, "rows": "alipay/a.csv:7, alipay/a.csv:9",
         "series": "2026-02-28=0.03;2026-03-01=0.031;2026-03-02=0.25"},
        {**signal, "severity": 2, "rule": "REFUND_LATE", "subject": "订单-9", "unit": "days", "value": 25.0,
         "threshold": 21.0, "detail": "refunded 25 days later", "row_count": 2, "rows": "alipay/b.csv:2, alipay/a.csv:3"},
        {**signal, "severity": 1, "rule": "REFUND_EXCEEDS_PAYMENT", "subject": "A", "unit": "minor", "value": 12000.0,
         "threshold": 10000.0, "detail": "=HYPERLINK(1)", "row_count": 1, "rows": "alipay/c.csv:4"},
    ], schema=RISK_SCHEMA).sort("severity", maintain_order=True)  # fmt: skip
    xlsx = render_workbook(replace(make_report(language="zh"), risk=risk))
    sheet = load_workbook(io.BytesIO(xlsx))["风险信号"]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:6] == ("严重程度", "风险信号", "渠道", "对象", "实际值", "阈值")
    assert [r[0] for r in rows[1:4]] == ["高", "高", "中"]
    assert rows[1][1] == "退款金额占比异常升高" and rows[1][10] == "alipay/a.csv:7, alipay/a.csv:9"
    assert rows[2][4] == Decimal("120") and rows[2][11] == "=HYPERLINK(1)", "money in yuan; text never a formula"
    assert sheet._charts, "the first signal with a series is drawn against its band"
    assert ("2026-03-02", 0.25, -0.02, 0.08) in [r[:4] for r in rows]
    empty = load_workbook(io.BytesIO(render_workbook(make_report(language="zh"))))["风险信号"]
    assert [c.value for c in list(empty.iter_rows())[1]][1] == "无风险信号"
