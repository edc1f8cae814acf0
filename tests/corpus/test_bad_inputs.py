"""The bad-input corpus (docs/safety.md): every case is built from a valid day and run through the flow.

Each case edits one file of a clean generated day (nothing quarantined, exit 0) and says which outcome
class the contract gives it:

- ``ACCEPT``: read as if nothing were wrong (exit 0), or with the value the case names;
- ``QUARANTINE_ROW``: that row is quarantined with the reason code, column and line; the statement is
  still used (its other rows reconcile), exit 3;
- ``FAIL_FILE``: the whole file is rejected with the reason code; its channel is "statement
  rejected" (the ledger: "LEDGER NOT READ", and no channel row is called missing from it); every
  other statement reconciles; exit 3;
- ``EXCEPTION``: the row is read and carries the reason code as a finding;
- ``MISSING``: the statement is missing, exit 3.

Whatever the class, nothing is lost: every physical line of every input is accounted for (an
independent count of the bytes here, against the report's line accounting) and every data row has
exactly one outcome (the flow fails closed otherwise).
"""

from __future__ import annotations

import io
import re
import shutil
import stat
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path

import openpyxl
import polars as pl
import pytest

from flows.config import load_rules
from flows.reconcile import RunResult
from sample_data.generate import generate
from tests.conftest import REPO
from tests.corpus.inputs import (
    ALIPAY,
    ALIPAY_SUMMARY,
    BANK,
    L_AMOUNT,
    L_BOOKED,
    L_CURRENCY,
    L_ORDER,
    L_TXN,
    LEDGER,
    W_AMOUNT,
    W_CURRENCY,
    W_FEE,
    W_ORDER,
    W_ORDER_AMOUNT,
    W_PRODUCT,
    W_REFUND_AMOUNT,
    W_REFUND_APPLIED,
    W_REFUND_ID,
    W_STATUS,
    W_TIME,
    W_TXN,
    WECHAT,
    Inbox,
    TextFile,
    alipay_rows,
    edit_text,
    first_refund,
    gbk_name_zip,
    ledger_set,
    nth_payment,
    wechat_fields,
    wechat_line,
    wechat_raw_line,
    wechat_refoot,
    wechat_rows,
    wechat_set,
    zip_bytes,
)
from tests.helpers import run_day

pytestmark = pytest.mark.usefixtures("prefect_harness")
DAY = date(2026, 3, 2)


@dataclass(frozen=True)
class Case:
    """One corpus case: how to break the day, and what the contract says must happen."""

    id: str
    mutate: Callable[[Inbox], None]
    expect: str
    reason: str | None = None
    file: str | None = None
    column: str | None = None
    rules: str = ""
    check: Callable[[RunResult, RunResult, Path], None] | None = None
    marks: tuple[pytest.MarkDecorator, ...] = field(default=())


# -- the base day ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def base_inbox(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A clean generated day D (D−1 generated too, for the cases that borrow its files)."""
    root = tmp_path_factory.mktemp("corpus-base")
    # The hostile cases are WeChat, Alipay, ledger and bank files: the other channels only cost time.
    generate(root, start=date(2026, 3, 1), days=2, seed=11, rows_per_channel=24, quarantined_rows=False,
             channels=("wechatpay", "alipay"))
    return root


#: The packaged rules, expecting only the base day's statements.
CORPUS_RULES = (REPO / "flows" / "recon.default.toml").read_text(encoding="utf-8").replace(
    'expected = ["wechatpay", "alipay", "unionpay", "stripe", "paypal", "bank"]', 'expected = ["wechatpay", "alipay", "bank"]'
)


@pytest.fixture(scope="module")
def base_run(base_inbox: Path, tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    data_dir = tmp_path_factory.mktemp("corpus-base-run")
    shutil.copytree(base_inbox / "inbox" / DAY.isoformat(), data_dir / "inbox" / DAY.isoformat())
    (data_dir / "recon.toml").write_text(CORPUS_RULES, encoding="utf-8")
    return run_day(DAY, data_dir, load_rules(data_dir, None)[0])


def run_case(case: Case, base_inbox: Path, data_dir: Path) -> RunResult:
    inbox = data_dir / "inbox" / DAY.isoformat()
    shutil.copytree(base_inbox / "inbox" / DAY.isoformat(), inbox)
    (data_dir / "previous").mkdir()
    shutil.copytree(base_inbox / "inbox" / "2026-03-01", data_dir / "previous" / "2026-03-01")
    (data_dir / "recon.toml").write_text(case.rules or CORPUS_RULES, encoding="utf-8")
    case.mutate(Inbox(inbox))
    shutil.rmtree(data_dir / "previous")
    return run_day(DAY, data_dir, load_rules(data_dir, None)[0])


# -- builders that need the other day or several files ---------------------------------------------


def previous_day_wechat(inbox: Inbox) -> None:
    """D−1's bill in D's inbox, in place of D's."""
    previous = inbox.root.parent.parent / "previous" / "2026-03-01" / "wechatpay"
    inbox.remove(WECHAT)
    src = next(previous.glob("wechatpay_tradebill_*"))
    inbox.write(f"wechatpay/{src.name}", src.read_bytes())


def alipay_zip(members: Callable[[bytes, bytes], list[tuple[zipfile.ZipInfo | str, bytes]]]) -> Callable[[Inbox], None]:
    """Replace the two Alipay CSVs by one zip whose members ``members(detail, summary)`` gives."""

    def change(inbox: Inbox) -> None:
        detail, summary = inbox.read(ALIPAY), inbox.read(ALIPAY_SUMMARY)
        inbox.remove(ALIPAY)
        inbox.remove(ALIPAY_SUMMARY)
        inbox.write("alipay/20886413579246800156_20260302.csv.zip", zip_bytes(members(detail, summary)))

    return change


def symlink_member(_: bytes, __: bytes) -> list[tuple[zipfile.ZipInfo | str, bytes]]:
    info = zipfile.ZipInfo("20886413579246800156_20260302_业务明细.csv")
    info.create_system = 3
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return [(info, b"/etc/passwd")]


def encrypted(inbox: Inbox) -> None:
    """The Alipay zip with the 'encrypted' flag set on its member (zipfile never writes one itself)."""
    alipay_zip(lambda d, s: [("20886413579246800156_20260302_业务明细.csv", d)])(inbox)
    name = "alipay/20886413579246800156_20260302.csv.zip"
    data = bytearray(inbox.read(name))
    data[6] |= 0x1  # local header general purpose flags
    central = data.rindex(b"PK\x01\x02")
    data[central + 8] |= 0x1  # central directory general purpose flags
    inbox.write(name, bytes(data))


def ledger_text(change: Callable[[TextFile], None]) -> Callable[[Inbox], None]:
    return lambda inbox: edit_text(inbox, LEDGER, "utf-8", change)


def wechat_text(change: Callable[[TextFile], None]) -> Callable[[Inbox], None]:
    return lambda inbox: edit_text(inbox, WECHAT, "utf-8", change)


def alipay_text(change: Callable[[TextFile], None]) -> Callable[[Inbox], None]:
    return lambda inbox: edit_text(inbox, ALIPAY, "gb18030", change)


def drop_column(name: str) -> Callable[[TextFile], None]:
    """Remove a column from the WeChat header and every detail line (the summary is left alone)."""

    def change(text: TextFile) -> None:
        at = text.lines[0].split(",").index(name)
        for i in [0, *wechat_rows(text)]:
            values = text.lines[i].split(",")
            del values[at]
            text.lines[i] = ",".join(values)

    return change


def wechat_header(edit: Callable[[list[str]], list[str]], row_edit: Callable[[list[str]], list[str]] | None = None):
    def change(text: TextFile) -> None:
        text.lines[0] = ",".join(edit(text.lines[0].split(",")))
        if row_edit is not None:
            for i in wechat_rows(text):
                text.lines[i] = ",".join(row_edit(text.lines[i].split(",")))

    return wechat_text(change)


def truncate_wechat(inbox: Inbox) -> None:
    data = inbox.read(WECHAT)
    cut = data.index(b"\r\n", data.index(b"\r\n", data.index(b"\r\n") + 2) + 2) + 40  # 40 bytes into line 4
    inbox.write(WECHAT, data[:cut])


def truncate_alipay_mid_character(inbox: Inbox) -> None:
    data = inbox.read(ALIPAY)
    lines = data.split(b"\r\n")
    row = alipay_rows(TextFile.load(data, "gb18030"))[3]
    start = sum(len(line) + 2 for line in lines[:row])
    chinese = re.search(rb"[\x81-\xfe][\x40-\xfe]", data[start + 40 :])
    assert chinese is not None
    inbox.write(ALIPAY, data[: start + 40 + chinese.start() + 1])  # the first byte of a GBK pair


def wechat_refund_fee_not_flipped(text: TextFile) -> None:
    index = first_refund(text)
    values = wechat_fields(text.lines[index])
    values[W_FEE] = values[W_FEE].removeprefix("-")
    text.lines[index] = wechat_line(values)
    wechat_refoot(text)


def wechat_refund_negative(text: TextFile) -> None:
    index = first_refund(text)
    values = wechat_fields(text.lines[index])
    values[W_REFUND_AMOUNT] = "-" + values[W_REFUND_AMOUNT]
    text.lines[index] = wechat_line(values)
    wechat_refoot(text)


def duplicate_wechat_payment(text: TextFile) -> None:
    index = wechat_rows(text)[0]
    text.lines.insert(index + 1, text.lines[index])
    wechat_refoot(text)


def wechat_paid_twice(text: TextFile) -> None:
    """L01: the first payment again, under another WeChat id (the buyer paid the same order twice)."""
    index = nth_payment(text, 0)
    values = wechat_fields(text.lines[index])
    values[W_TXN] = values[W_TXN][:-4] + "9999"
    text.lines.insert(index + 1, wechat_line(values))
    wechat_refoot(text)


def wechat_refund_above_its_payment(text: TextFile) -> None:
    """L02: a refund of an order paid the same day, for 1.00 more than the payment."""
    paid = {wechat_fields(text.lines[i])[W_ORDER]: wechat_fields(text.lines[i])[W_AMOUNT]
            for i in wechat_rows(text) if wechat_fields(text.lines[i])[W_STATUS] == "SUCCESS"}  # fmt: skip
    index = next(i for i in wechat_rows(text) if wechat_fields(text.lines[i])[W_STATUS] == "REFUND"
                 and wechat_fields(text.lines[i])[W_ORDER] in paid)  # fmt: skip
    values = wechat_fields(text.lines[index])
    more = str(Decimal(paid[values[W_ORDER]]) + 1)
    values[W_REFUND_AMOUNT] = values[W_REFUND_APPLIED] = more
    text.lines[index] = wechat_line(values)
    wechat_refoot(text)


def wechat_orphan_refund(text: TextFile) -> None:
    """L04: a refund of an order no statement of the look-back window paid."""
    index = first_refund(text)
    values = wechat_fields(text.lines[index])
    values[W_ORDER] = "ZZW20250101999999"
    values[W_REFUND_ID] = values[W_REFUND_ID][:-4] + "9999"
    values[W_TXN] = values[W_TXN][:-4] + "9999"
    text.lines.insert(index + 1, wechat_line(values))
    wechat_refoot(text)


def split_tender(inbox: Inbox) -> None:
    """L12: one order paid through WeChat Pay and Alipay, booked in the ledger as one entry of the sum.

    An Alipay payment is given the order number of a matched WeChat payment; the ledger drops its own
    entry and books the WeChat one, without the channel id, for the two amounts together.
    """
    txn = matched_wechat_txn(inbox)
    bill = TextFile.load(inbox.read(WECHAT), "utf-8")
    paid = next(wechat_fields(bill.lines[i]) for i in wechat_rows(bill) if wechat_fields(bill.lines[i])[W_TXN] == txn)
    alipay: dict[str, str] = {}

    def give_the_order(text: TextFile) -> None:
        at = next(i for i in alipay_rows(text) if text.lines[i].split(",")[2].strip() == "交易")
        values = text.lines[at].split(",")
        alipay.update(txn=values[0].strip(), amount=values[12].strip())
        values[1] = paid[W_ORDER] + "\t"
        text.lines[at] = ",".join(values)

    edit_text(inbox, ALIPAY, "gb18030", give_the_order)

    def book_once(text: TextFile) -> None:
        kept = []
        for line in text.lines:
            values = line.split(",")
            if len(values) > L_TXN and values[L_TXN] == alipay["txn"]:
                continue  # the Alipay part has no entry of its own
            if len(values) > L_TXN and values[L_TXN] == txn:
                values[L_TXN] = ""
                values[L_AMOUNT] = str(Decimal(paid[W_AMOUNT]) + Decimal(alipay["amount"]))
            kept.append(",".join(values))
        text.lines[:] = kept

    edit_text(inbox, LEDGER, "utf-8", book_once)


def ledger_duplicate_entry(inbox: Inbox) -> None:
    """The export books the entry of a matched WeChat payment twice (a second entry id, same payment)."""
    txn = matched_wechat_txn(inbox)

    def change(text: TextFile) -> None:
        at = next(i for i, line in enumerate(text.lines) if f",{txn}," in line)
        values = text.lines[at].split(",")
        values[0] += "9"
        text.lines.insert(at + 1, ",".join(values))

    edit_text(inbox, LEDGER, "utf-8", change)


def matched_wechat_txn(inbox: Inbox) -> str:
    """The id of the first WeChat payment that the ledger books under the same id."""
    bill = TextFile.load(inbox.read(WECHAT), "utf-8")
    ledger = inbox.read(LEDGER).decode("utf-8")
    for i in wechat_rows(bill):
        values = wechat_fields(bill.lines[i])
        if values[W_STATUS] == "SUCCESS" and f",{values[W_TXN]},payment," in ledger:
            return values[W_TXN]
    raise AssertionError("no WeChat payment booked under its id")


def remove_ledger_entry_of_first_wechat_payment(inbox: Inbox) -> None:
    txn = matched_wechat_txn(inbox)

    def change(text: TextFile) -> None:
        text.lines[:] = [line for line in text.lines if f",{txn}," not in line]

    edit_text(inbox, LEDGER, "utf-8", change)


def ledger_entry_of_first_wechat_payment(edit: Callable[[list[str]], None]) -> Callable[[Inbox], None]:
    def change_inbox(inbox: Inbox) -> None:
        txn = matched_wechat_txn(inbox)

        def change(text: TextFile) -> None:
            for i, line in enumerate(text.lines):
                values = line.split(",")
                if len(values) > L_TXN and values[L_TXN] == txn:
                    edit(values)
                    text.lines[i] = ",".join(values)

        edit_text(inbox, LEDGER, "utf-8", change)

    return change_inbox


def add_ledger_only_entry(text: TextFile) -> None:
    values = text.lines[1].split(",")
    values[0], values[L_ORDER], values[L_TXN] = "LE20260302999999", "ZZW20260302999999", "4200999999202603029999999999"
    values[3] = "wechatpay"
    text.lines.append(",".join(values))


def add_xlsx_ledger(formula: bool) -> Callable[[Inbox], None]:
    def change(inbox: Inbox) -> None:
        if formula:
            book = openpyxl.Workbook()
            sheet = book.active
            assert sheet is not None
            sheet.append(["entry_id", "amount"])
            sheet.append(["LE1", "=A1*2"])
            buffer = io.BytesIO()
            book.save(buffer)
            data = buffer.getvalue()
        else:
            bomb = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
                    + "".join(f'<!ENTITY lol{i} "{"&lol;" * 10 if i == 1 else f"&lol{i - 1};" * 10}">' for i in range(1, 10))
                    + ']><worksheet>&lol9;</worksheet>')  # fmt: skip
            data = zip_bytes([("[Content_Types].xml", b"<Types/>"), ("xl/worksheets/sheet1.xml", bomb.encode())])
        inbox.write("ledger/ledger_extra.xlsx", data)

    return change


# -- checks ------------------------------------------------------------------------------------------


def same_outcomes(result: RunResult, base: RunResult, _: Path) -> None:
    assert result.outcomes().drop("source_file").equals(base.outcomes().drop("source_file"))


def same_outcome_bytes(result: RunResult, base: RunResult, _: Path) -> None:
    assert result.outputs["outcomes.parquet"] == base.outputs["outcomes.parquet"]


def counted_blank(expected: int) -> Callable[[RunResult, RunResult, Path], None]:
    def check(result: RunResult, base: RunResult, _: Path) -> None:
        bill = next(f for f in result.report.inputs if f.source_file == WECHAT)
        assert bill.blank_lines == expected
        same_outcomes(result, base, _)

    return check


def note_says(text: str) -> Callable[[RunResult, RunResult, Path], None]:
    def check(result: RunResult, base: RunResult, _: Path) -> None:
        assert any(text in note for note in result.report.notes), result.report.notes

    return check


def message_names(*texts: str) -> Callable[[RunResult, RunResult, Path], None]:
    def check(result: RunResult, base: RunResult, _: Path) -> None:
        entries = result.report.quarantine.filter(pl.col("reason").str.starts_with("file rejected"))
        reasons = " ".join(entries["reason"].to_list())
        for text in texts:
            assert text in reasons, reasons

    return check


def split_on_three_rows(result: RunResult, base: RunResult, _: Path) -> None:
    """The ledger entry and both channel parts carry SPLIT_PAYMENT, and the sentence names the parts."""
    rows = result.outcomes().filter(pl.col("reason_code") == "SPLIT_PAYMENT")
    assert sorted(rows["source"]) == ["channel", "channel", "ledger"], rows
    assert set(rows.filter(pl.col("source") == "channel")["channel"]) == {"alipay", "wechatpay"}
    assert all("paid through alipay " in d and " + wechatpay " in d for d in rows["detail"])


def _own_formula() -> str:
    from transforms.labels import PAYOUT_STATUSES
    from transforms.worklist import CASE_CLASSES

    labels = [*(c.zh for c in CASE_CLASSES.values()), *(c.en for c in CASE_CLASSES.values()),
              *(w for words in PAYOUT_STATUSES.values() for w in words)]  # fmt: skip
    cell = r"[A-Z]+[0-9]+"
    cells = rf"{cell}:{cell}"
    visible = rf"SUBTOTAL\(109,OFFSET\({cell},ROW\({cells}\)-ROW\({cell}\),0\)\)"
    currency = rf'--\({cells}="[A-Z]{{3}}"\)'
    label = rf'--\({cells}="(?:{"|".join(re.escape(w) for w in labels)})"\)'
    return rf"SUM\({cells}\)|SUMPRODUCT\({visible},{currency}(?:,{label})?\)"


OWN_FORMULA = _own_formula()


def no_live_formula(result: RunResult, base: RunResult, _: Path) -> None:
    workbook = next(result.reports_dir.glob("recon_*.xlsx"))
    with zipfile.ZipFile(workbook) as archive:
        for name in archive.namelist():
            if name.startswith("xl/worksheets/"):
                xml = archive.read(name).decode("utf-8")
                # the report's own totals are formulas over its cells (per ISO currency code and one of our
                # own labels: a class of case or a payout status); nothing else is
                formulas = re.findall(r"<f>(.*?)</f>", xml)
                assert all(re.fullmatch(OWN_FORMULA, f) for f in formulas), formulas
                assert "<f " not in xml and 't="e"' not in xml
    csv = (result.reports_dir / "discrepancies.csv").read_text(encoding="utf-8-sig")
    risky = re.findall(r'(?:^|,)"([=+\-@][^"]*)"', csv, re.M)
    assert all(re.fullmatch(r"-[0-9]+(\.[0-9]+)?", value) for value in risky), risky  # negative amounts only


def nothing_unmasked(*raw: str) -> Callable[[RunResult, RunResult, Path], None]:
    def check(result: RunResult, base: RunResult, data_dir: Path) -> None:
        for path in result.reports_dir.iterdir():
            blobs = [path.read_bytes()]
            if path.suffix == ".xlsx":
                with zipfile.ZipFile(path) as archive:
                    blobs = [archive.read(name) for name in archive.namelist()]
            for blob in blobs:
                for value in raw:
                    assert value.encode() not in blob, f"{value} in {path.name}"
        assert all(value.encode() not in (data_dir / "warehouse.duckdb").read_bytes() for value in raw)

    return check


def outcome_of_ledger_order(order: str, outcome: str) -> Callable[[RunResult, RunResult, Path], None]:
    def check(result: RunResult, base: RunResult, _: Path) -> None:
        rows = result.outcomes().filter((pl.col("source") == "ledger") & (pl.col("order_no") == order))
        assert rows["outcome"].to_list() == [outcome], rows

    return check


def wechat_ledger_rows_in_transit(result: RunResult, base: RunResult, _: Path) -> None:
    outcomes = result.outcomes()
    rows = outcomes.filter((pl.col("source") == "ledger") & (pl.col("channel") == "wechatpay"))
    assert rows.height > 0 and set(rows["outcome"]) <= {"in_transit", "duplicate"}


def midnight_rows_match(result: RunResult, base: RunResult, _: Path) -> None:
    outcomes = result.outcomes().filter(pl.col("source") == "channel")
    assert outcomes.filter(pl.col("order_no") == "ZZWMIDNIGHT0001")["outcome"].to_list() == ["missing_in_ledger"]


# -- the cases ---------------------------------------------------------------------------------------


def _set_first_wechat_time(value: str) -> Callable[[Inbox], None]:
    return wechat_set(W_TIME, value)


def _wechat_zero_rows(text: TextFile) -> None:
    text.lines[:] = [text.lines[0], text.lines[-2], "`0,`0.00,`0.00,`0.00,`0.00000,`0.00,`0.00"]


def _blank_tail(text: TextFile) -> None:
    text.lines += ["", "   "]
    text.final_newline = False


def _mixed_line_ends(inbox: Inbox) -> None:
    data = inbox.read(WECHAT)
    lines = data.split(b"\r\n")
    inbox.write(WECHAT, b"\r\n".join(lines[:5]) + b"\n" + b"\n".join(lines[5:10]) + b"\r\n" + b"\r\n".join(lines[10:]))


def _reissued(inbox: Inbox) -> None:
    text = TextFile.load(inbox.read(WECHAT), "utf-8")
    values = wechat_fields(text.lines[1])
    values[W_TIME] = values[W_TIME][:-1] + ("1" if values[W_TIME][-1] != "1" else "2")
    text.lines[1] = wechat_line(values)
    inbox.write("wechatpay/reissued.csv", text.dump())


def _alipay_other_date(text: TextFile) -> None:
    for i, line in enumerate(text.lines):
        if line.startswith("#起始日期"):
            text.lines[i] = line.replace("2026年03月02日", "2026年03月01日").replace("2026年03月03日", "2026年03月02日")


def _footer_count_off(text: TextFile) -> None:
    values = wechat_fields(text.lines[-1])
    values[0] = str(int(values[0]) + 1)
    text.lines[-1] = wechat_line(values)


def _fee_total_off(text: TextFile) -> None:
    values = wechat_fields(text.lines[-1])
    values[4] = "999.99000"
    text.lines[-1] = wechat_line(values)


def _nul_in_header(text: TextFile) -> None:
    text.lines[0] = text.lines[0].replace("商户号", "商户\x00号", 1)


def _long_name(length: int) -> Callable[[Inbox], None]:
    return wechat_set(W_PRODUCT, "长" * length)


def _reorder_ledger(text: TextFile) -> None:
    for i, line in enumerate(text.lines):
        values = line.split(",")
        values[1], values[2] = values[2], values[1]
        text.lines[i] = ",".join(values)


def _ledger_fewer_fields(text: TextFile) -> None:
    text.lines[3] = ",".join(text.lines[3].split(",")[:-2])


def _ledger_extra_column(text: TextFile) -> None:
    text.lines[0] += ",memo"
    for i in range(1, len(text.lines)):
        text.lines[i] += ",x"


def _ledger_utf16(inbox: Inbox) -> None:
    inbox.write(LEDGER, inbox.read(LEDGER).decode("utf-8").encode("utf-16"))


def _camt_doctype(inbox: Inbox) -> None:
    data = inbox.read(BANK)
    inbox.write(BANK, data.replace(b"?>\n", b'?>\n<!DOCTYPE Document [<!ENTITY x "y">]>\n', 1))


def _camt_cut(inbox: Inbox) -> None:
    data = inbox.read(BANK)
    inbox.write(BANK, data[: len(data) // 2])


def _gbk_names(inbox: Inbox) -> None:
    detail, summary = inbox.read(ALIPAY), inbox.read(ALIPAY_SUMMARY)
    inbox.remove(ALIPAY)
    inbox.remove(ALIPAY_SUMMARY)
    names = (ALIPAY.removeprefix("alipay/"), ALIPAY_SUMMARY.removeprefix("alipay/"))
    inbox.write("alipay/20886413579246800156_20260302.csv.zip", gbk_name_zip([(names[0], detail), (names[1], summary)]))


def _midnight(inbox: Inbox) -> None:
    wechat_set(W_TIME, "2026-03-02 00:00:00", row=0)(inbox)
    wechat_set(W_ORDER, "ZZWMIDNIGHT0001", row=0)(inbox)
    remove_ledger_entry_of_first_wechat_payment(inbox)


def _zero_width_id(text: TextFile) -> None:
    index = wechat_rows(text)[0]
    values = wechat_fields(text.lines[index])
    values[W_TXN] = values[W_TXN][:10] + "\u200b" + values[W_TXN][10:]
    text.lines[index] = wechat_line(values)


def _bidi_order(text: TextFile) -> None:
    index = wechat_rows(text)[1]
    values = wechat_fields(text.lines[index])
    values[W_ORDER] = "\u202e" + values[W_ORDER]
    text.lines[index] = wechat_line(values)


def _most_rows_bad(text: TextFile) -> None:
    for i in list(wechat_rows(text))[:21]:
        values = wechat_fields(text.lines[i])
        values[W_AMOUNT] = "12,00"
        text.lines[i] = wechat_line(values)


def _huge_amounts(text: TextFile) -> None:
    row = wechat_fields(text.lines[wechat_rows(text)[0]])
    row[W_STATUS], row[W_FEE], row[W_ORDER_AMOUNT] = "SUCCESS", "0.00000", "999999999999999.99"
    lines = []
    for n in range(100):  # 100 × 10^17 fen: past the int64 range, each one a valid amount
        values = list(row)
        values[W_AMOUNT] = "999999999999999.99"
        values[W_TXN] = f"420000000020260302000000{n:04d}"
        values[W_ORDER] = f"ZZWHUGE{n:04d}"
        lines.append(wechat_line(values))
    text.lines[1:-2] = lines
    wechat_refoot(text)


CASES: list[Case] = [
    # 3.1 file level
    Case("F01-empty", lambda i: i.write(WECHAT, b""), "FAIL_FILE", "EMPTY_FILE", WECHAT),
    Case("F02-header-only", wechat_text(lambda t: t.lines.__delitem__(slice(1, None))), "FAIL_FILE", "FOOTER_MISSING", WECHAT),
    Case("F03-zero-rows", wechat_text(_wechat_zero_rows), "ACCEPT", check=note_says("no transactions")),
    Case("F04-truncated", truncate_wechat, "FAIL_FILE", "TRUNCATED", WECHAT, check=message_names("line 4")),
    Case("F05-truncated-in-gbk-character", truncate_alipay_mid_character, "FAIL_FILE", "DECODE_ERROR", ALIPAY),
    Case("F06-wechat-in-gbk", lambda i: i.write(WECHAT, i.read(WECHAT)[3:].decode().encode("gb18030")),
         "FAIL_FILE", "HEADER_MISMATCH", WECHAT),
    Case("F06-alipay-in-utf8", lambda i: i.write(ALIPAY, i.read(ALIPAY).decode("gb18030").encode("utf-8")),
         "FAIL_FILE", "HEADER_MISMATCH", ALIPAY),
    Case("F07-no-bom", lambda i: i.write(WECHAT, i.read(WECHAT)[3:]), "ACCEPT", check=same_outcomes),
    Case("F07-bom-inside-a-row", wechat_set(W_PRODUCT, "竹\ufeff杯垫"), "QUARANTINE_ROW", "BAD_CHAR", WECHAT),
    Case("F08-lf", lambda i: i.write(WECHAT, i.read(WECHAT).replace(b"\r\n", b"\n")), "ACCEPT", check=same_outcome_bytes),
    Case("F08-mixed-line-ends", _mixed_line_ends, "ACCEPT", check=same_outcome_bytes),
    Case("F08-lone-cr-in-a-field", wechat_set(W_PRODUCT, "竹\r杯垫"), "QUARANTINE_ROW", "BAD_CHAR", WECHAT),
    Case("F09-blank-tail-no-final-newline", wechat_text(_blank_tail), "ACCEPT", check=counted_blank(2)),
    *[
        Case(f"F10-zip-slip-{n}", alipay_zip(lambda d, s, name=name: [(name, d)]), "FAIL_FILE", "ARCHIVE_BAD_NAME",
             "alipay/20886413579246800156_20260302.csv.zip")  # fmt: skip
        for n, name in enumerate(["../x.csv", "/abs/x.csv", "..\\x.csv", "C:\\x.csv", "a/../../x.csv"])
    ],
    Case("F11-zip-bomb", alipay_zip(lambda d, s: [("20886413579246800156_20260302_业务明细.csv", b"0" * (20 << 20))]),
         "FAIL_FILE", "ARCHIVE_TOO_LARGE", "alipay/20886413579246800156_20260302.csv.zip"),
    Case("F14-nested-archive", alipay_zip(lambda d, s: [("inner.zip", zip_bytes([("x.csv", d)]))]),
         "FAIL_FILE", "NESTED_ARCHIVE", "alipay/20886413579246800156_20260302.csv.zip"),
    Case("F15-duplicate-member", alipay_zip(lambda d, s: [("a_业务明细.csv", d), ("a_业务明细.csv", s)]),
         "FAIL_FILE", "ARCHIVE_DUP_MEMBER", "alipay/20886413579246800156_20260302.csv.zip"),
    Case("F16-symlink", alipay_zip(symlink_member), "FAIL_FILE", "ARCHIVE_SYMLINK",
         "alipay/20886413579246800156_20260302.csv.zip"),
    Case("F16-directory-only", alipay_zip(lambda d, s: [("folder/", b"")]), "FAIL_FILE", "ARCHIVE_EMPTY",
         "alipay/20886413579246800156_20260302.csv.zip"),
    Case("F16-encrypted", encrypted, "FAIL_FILE", "ARCHIVE_ENCRYPTED",
         "alipay/20886413579246800156_20260302.csv.zip"),
    Case("F16-too-many-members", alipay_zip(lambda d, s: [(f"m{n}.csv", d) for n in range(40)]), "FAIL_FILE",
         "ARCHIVE_TOO_MANY_MEMBERS", "alipay/20886413579246800156_20260302.csv.zip"),
    Case("F17-extra-member", alipay_zip(lambda d, s: [("20886413579246800156_20260302_业务明细.csv", d),
                                                     ("20886413579246800156_20260302_业务明细(汇总).csv", s),
                                                     ("readme.exe", b"MZ\x90\x00")]),
         "FAIL_FILE", "UNEXPECTED_MEMBER", "alipay/20886413579246800156_20260302.csv.zip"),  # fmt: skip
    Case("F18-gbk-member-names", _gbk_names, "ACCEPT"),
    Case("F19-same-file-twice", lambda i: i.write("wechatpay/again.csv", i.read(WECHAT)), "ACCEPT",
         check=note_says("duplicate delivery")),
    Case("F20-conflicting-delivery", _reissued, "FAIL_FILE", "CONFLICTING_DELIVERY", WECHAT),
    Case("F21-wechat-another-date", previous_day_wechat, "FAIL_FILE", "WRONG_DATE",
         "wechatpay/wechatpay_tradebill_ALL_20260301.csv", check=message_names("2026-03-01", "2026-03-02")),
    Case("F21-alipay-another-date", alipay_text(_alipay_other_date), "FAIL_FILE", "WRONG_DATE", ALIPAY),
    Case("F22-footer-count-off", wechat_text(_footer_count_off), "FAIL_FILE", "CONTROL_TOTAL_MISMATCH", WECHAT),
    Case("F25-nul-in-a-row", wechat_set(W_PRODUCT, "竹\x00杯垫"), "QUARANTINE_ROW", "BAD_CHAR", WECHAT),
    Case("F25-escape-in-a-row", wechat_set(W_PRODUCT, "竹\x1b[31m杯垫"), "QUARANTINE_ROW", "BAD_CHAR", WECHAT),
    Case("F25-nul-in-the-header", wechat_text(_nul_in_header), "FAIL_FILE", "UNKNOWN_FORMAT", WECHAT),
    Case("F26-file-too-big", _long_name(5000), "FAIL_FILE", "LIMIT_EXCEEDED", WECHAT,
         rules="[limits]\nmax_file_bytes = 20000\nmax_field_bytes = 20000\n"),  # every other input is smaller
    Case("F27-statement-missing", lambda i: i.remove(WECHAT), "MISSING", check=wechat_ledger_rows_in_transit),
    Case("F28-ledger-columns-reordered", ledger_text(_reorder_ledger), "ACCEPT", check=same_outcomes),
    Case("F28-duplicate-column", wechat_header(lambda h: [*h[:3], h[9], *h[4:]]), "FAIL_FILE", "DUP_COLUMN", WECHAT),
    Case("F29-xlsx-ledger-with-entities", add_xlsx_ledger(formula=False), "FAIL_FILE", "UNKNOWN_FORMAT",
         "ledger/ledger_extra.xlsx"),
    Case("F30-xlsx-ledger-with-formulas", add_xlsx_ledger(formula=True), "FAIL_FILE", "UNKNOWN_FORMAT",
         "ledger/ledger_extra.xlsx"),
    # the issue's own list
    Case("extra-header-column", wechat_header(lambda h: [*h, "新列"], lambda r: [*r, "`x"]), "FAIL_FILE",
         "UNEXPECTED_COLUMN", WECHAT),
    Case("camt-doctype", _camt_doctype, "FAIL_FILE", "XML_UNSAFE", BANK),
    Case("camt-cut-in-half", _camt_cut, "FAIL_FILE", "XML_MALFORMED", BANK),
    Case("ledger-utf16", _ledger_utf16, "FAIL_FILE", "DECODE_ERROR", LEDGER),
    Case("ledger-extra-column", ledger_text(_ledger_extra_column), "FAIL_FILE", "UNEXPECTED_COLUMN", LEDGER),
    Case("line-too-long", _long_name(3000), "QUARANTINE_ROW", "LIMIT_EXCEEDED", WECHAT,
         rules="[limits]\nmax_line_bytes = 4096\nmax_field_bytes = 20000\n"),
    Case("field-too-long", _long_name(2000), "QUARANTINE_ROW", "LIMIT_EXCEEDED", WECHAT, "商品名称"),
    Case("zero-width-in-an-id", wechat_text(_zero_width_id), "QUARANTINE_ROW", "BAD_CHAR", WECHAT, "微信订单号"),
    Case("bidi-in-an-id", wechat_text(_bidi_order), "QUARANTINE_ROW", "BAD_CHAR", WECHAT, "商户订单号"),
    Case("most-rows-bad", wechat_text(_most_rows_bad), "FAIL_FILE", "TOO_MANY_BAD_ROWS", WECHAT,
         check=message_names("21 of")),
    Case("sums-past-int64", wechat_text(_huge_amounts), "FAIL_FILE", "FOOTER_INVALID", WECHAT),
    # 3.2 row level
    Case("R01-missing-column", wechat_text(drop_column("商户订单号")), "FAIL_FILE", "MISSING_COLUMN", WECHAT,
         check=message_names("商户订单号")),
    Case("R02-unexpected-column", wechat_header(lambda h: [*h[:21], "备注", *h[21:]], lambda r: [*r[:21], "`x", *r[21:]]),
         "FAIL_FILE", "UNEXPECTED_COLUMN", WECHAT),
    Case("R03-fewer-fields", wechat_raw_line(lambda line: line.rsplit(",", 2)[0]), "QUARANTINE_ROW", "FIELD_COUNT",
         WECHAT),
    Case("R03-more-fields", wechat_raw_line(lambda line: line + ",`x"), "QUARANTINE_ROW", "FIELD_COUNT", WECHAT),
    Case("R03-ledger-fewer-fields", ledger_text(_ledger_fewer_fields), "QUARANTINE_ROW", "FIELD_COUNT", LEDGER),
    Case("R04-required-empty", wechat_set(W_TXN, ""), "QUARANTINE_ROW", "REQUIRED_EMPTY", WECHAT, "微信订单号"),
    Case("R05-thousands-separator", ledger_set(L_AMOUNT, "1,234.50"), "QUARANTINE_ROW", "BAD_AMOUNT", LEDGER, "amount"),
    *[
        Case(f"R06-currency-text-{n}", ledger_set(L_AMOUNT, value), "QUARANTINE_ROW", "BAD_AMOUNT", LEDGER, "amount")
        for n, value in enumerate(["¥88.00", "88.00元", "RMB 12"])
    ],
    Case("R06-wechat-yen-sign", wechat_set(W_AMOUNT, "¥88.00"), "QUARANTINE_ROW", "BAD_AMOUNT", WECHAT, "应结订单金额"),
    Case("R07-scale-exceeded", ledger_set(L_AMOUNT, "12.345"), "QUARANTINE_ROW", "SCALE_EXCEEDED", LEDGER, "amount"),
    Case("R07-wechat-scale-exceeded", wechat_set(W_AMOUNT, "12.345"), "QUARANTINE_ROW", "SCALE_EXCEEDED", WECHAT,
         "应结订单金额"),
    *[
        Case(f"R09-not-an-amount-{n}", wechat_set(W_AMOUNT, value), "QUARANTINE_ROW", "BAD_AMOUNT", WECHAT, "应结订单金额")
        for n, value in enumerate(["", "NaN", "Infinity", "null", "-"])
    ],
    Case("R10-negative-payment", wechat_set(W_AMOUNT, "-423.00", refoot=True), "QUARANTINE_ROW", "SIGN_VIOLATION",
         WECHAT, "应结订单金额"),
    Case("R11-refund-wrong-sign", wechat_text(wechat_refund_negative), "QUARANTINE_ROW", "SIGN_VIOLATION", WECHAT),
    Case("R12-non-iso-date", _set_first_wechat_time("2026/3/2 9:03"), "QUARANTINE_ROW", "BAD_DATE", WECHAT, "交易时间"),
    Case("R12-ledger-compact-date", ledger_set(L_BOOKED, "20260302"), "QUARANTINE_ROW", "BAD_DATE", LEDGER, "booked_at"),
    *[
        Case(f"R13-impossible-date-{n}", _set_first_wechat_time(value), "QUARANTINE_ROW", "BAD_DATE", WECHAT, "交易时间")
        for n, value in enumerate(["2026-02-30 10:00:00", "2026-03-02 24:00:00", "2026-13-01 10:00:00"])
    ],
    Case("R14-midnight", _midnight, "ACCEPT", check=midnight_rows_match),
    Case("R15-booked-the-day-before",
         ledger_entry_of_first_wechat_payment(lambda v: v.__setitem__(L_BOOKED, "2026-03-01T23:59:50+08:00")),
         "EXCEPTION", "CROSS_DATE"),
    Case("R16-duplicate-id-in-file", wechat_text(duplicate_wechat_payment), "EXCEPTION", "DUPLICATE_ID"),
    # R17 (the same transaction in two days' statements) needs an earlier date in the warehouse, and a case
    # here runs one date: tests/flows/test_findings_across_days.py runs it over two.
    *[
        Case(f"R18-unknown-currency-{value}", wechat_set(W_CURRENCY, value), "QUARANTINE_ROW", "BAD_CURRENCY", WECHAT,
             "货币种类")
        for value in ["RMB", "XYZ"]
    ],
    Case("R19-leading-zeros-kept", ledger_entry_of_first_wechat_payment(lambda v: v.__setitem__(L_ORDER, "00123")),
         "ACCEPT", check=outcome_of_ledger_order("00123", "matched")),
    Case("R20-formula-text", wechat_set(W_AMOUNT, "=cmd|' /C calc'!A0"), "QUARANTINE_ROW",
         "BAD_AMOUNT", WECHAT, "应结订单金额", check=no_live_formula),
    Case("R21-missing-backtick", wechat_raw_line(lambda line: line.replace(",`JSAPI", ",JSAPI").replace(",`APP", ",APP")
         .replace(",`NATIVE", ",NATIVE").replace(",`MWEB", ",MWEB")), "QUARANTINE_ROW", "FORMAT_VIOLATION", WECHAT),
    Case("R21-doubled-backtick", wechat_raw_line(lambda line: line.replace(",`CNY", ",``CNY")), "QUARANTINE_ROW",
         "FORMAT_VIOLATION", WECHAT),
    Case("R21-ledger-quote-kept", ledger_entry_of_first_wechat_payment(lambda v: v.__setitem__(L_ORDER, "'ZZW1")),
         "ACCEPT", check=outcome_of_ledger_order("'ZZW1", "matched")),
    Case("R23-error-literal", wechat_set(W_AMOUNT, "#N/A"), "QUARANTINE_ROW", "BAD_AMOUNT", WECHAT, check=no_live_formula),
    Case("R25-long-free-text", _long_name(1000), "ACCEPT"),
    Case("R26-unknown-status", wechat_set(W_STATUS, "FROZEN"), "QUARANTINE_ROW", "UNKNOWN_ENUM", WECHAT, "交易状态"),
    Case("R27-personal-data", wechat_set(W_AMOUNT, "13812345678"), "QUARANTINE_ROW", "BAD_AMOUNT", WECHAT,
         check=nothing_unmasked("13812345678")),
    Case("R27-card-number", ledger_set(L_AMOUNT, "4111111111111111"), "QUARANTINE_ROW", "BAD_AMOUNT", LEDGER,
         check=nothing_unmasked("4111111111111111")),
    # 3.3 business rules across rows
    Case("L01-paid-twice", wechat_text(wechat_paid_twice), "EXCEPTION", "DUPLICATE_PAYMENT"),
    Case("L02-refund-exceeds-payment", wechat_text(wechat_refund_above_its_payment), "EXCEPTION",
         "REFUND_EXCEEDS_CAPTURE"),
    Case("L04-orphan-refund", wechat_text(wechat_orphan_refund), "EXCEPTION", "ORPHAN_REFUND"),
    Case("L05-one-fen-off", ledger_entry_of_first_wechat_payment(
        lambda v: v.__setitem__(L_AMOUNT, str(Decimal(v[L_AMOUNT]) + Decimal("0.01")))), "EXCEPTION", "AMOUNT_MISMATCH"),
    Case("L06-channel-only", remove_ledger_entry_of_first_wechat_payment, "EXCEPTION", "MISSING_IN_LEDGER"),
    Case("L07-ledger-only", ledger_text(add_ledger_only_entry), "EXCEPTION", "MISSING_IN_CHANNEL"),
    Case("L08-currency-differs", ledger_entry_of_first_wechat_payment(lambda v: v.__setitem__(L_CURRENCY, "USD")),
         "EXCEPTION", "CURRENCY_MISMATCH"),
    Case("L09-fee-total-off", wechat_text(_fee_total_off), "FAIL_FILE", "CONTROL_TOTAL_MISMATCH", WECHAT,
         check=message_names("999.99")),
    Case("L09-refund-fee-sign", wechat_text(wechat_refund_fee_not_flipped), "EXCEPTION", "FEE_SIGN"),
    Case("L11-ledger-order-twice", ledger_duplicate_entry, "EXCEPTION", "DUPLICATE_ID"),
    Case("L12-split-tender", split_tender, "EXCEPTION", "SPLIT_PAYMENT", check=split_on_three_rows),
    Case("L13-float-in-the-ledger", ledger_set(L_AMOUNT, "12.300000000000001"), "QUARANTINE_ROW", "SCALE_EXCEEDED",
         LEDGER, "amount"),
]


# -- the test ----------------------------------------------------------------------------------------


def physical_lines(data: bytes) -> int:
    """Lines as the contract counts them: LF-terminated, plus an unterminated last one."""
    return data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)


def assert_nothing_lost(result: RunResult, inbox: Path) -> None:
    """Every input's physical lines are accounted for, and every data row has one outcome."""
    per_file = result.outcomes().group_by("source_file").len()
    outcomes = dict(zip(per_file["source_file"], per_file["len"], strict=True))
    for f in result.report.inputs:
        if f.status.startswith("duplicate delivery"):
            continue
        assert outcomes.get(f.source_file, 0) == f.data_rows, f
        if "!" in f.source_file or f.source_file.endswith((".zip", ".parquet", ".xlsx")):
            continue
        assert f.physical_lines == physical_lines((inbox / f.source_file).read_bytes()), f
        accounted = (f.data_rows + f.continuation_lines + f.header_lines + f.preamble_lines + f.footer_lines
                     + f.blank_lines + f.unread_lines)  # fmt: skip
        assert accounted == f.physical_lines, f


def assert_class(case: Case, result: RunResult, base: RunResult) -> None:  # noqa: C901 - one branch per class
    report, outcomes = result.report, result.outcomes()
    statuses = {f.source_file: f.status for f in report.inputs}
    channel_status = {c.channel: c.status for c in report.channels}
    if case.expect == "ACCEPT":
        assert report.exit_code == 0, report.headline
        assert report.quarantine.height == 0, report.quarantine
    elif case.expect == "QUARANTINE_ROW":
        assert report.exit_code == 3
        entries = report.quarantine.filter((pl.col("source_file") == case.file) & (pl.col("reason_code") == case.reason))
        assert entries.height >= 1, report.quarantine
        assert entries["source_line"].null_count() == 0
        if case.column is not None:
            assert case.column in entries["column"].to_list(), entries
        assert statuses[case.file] == "read"
        rows = outcomes.filter(pl.col("source_file") == case.file)
        assert set(rows.filter(pl.col("source_line").is_in(entries["source_line"].implode()))["outcome"]) == {"quarantined"}
        assert (rows["outcome"] != "quarantined").sum() > 0  # the rest of the statement reconciles
    elif case.expect == "FAIL_FILE":
        assert report.exit_code == 3
        assert statuses[case.file] == f"rejected: {case.reason}", statuses
        rows = outcomes.filter(pl.col("source_file") == case.file)
        assert set(rows["outcome"]) <= {"quarantined"} and set(rows["reason_code"]) <= {case.reason}
        role = next(f.role for f in report.inputs if f.source_file == case.file)
        if role == "ledger":  # a ledger that cannot be read is not an empty ledger
            assert report.problems[0].startswith("LEDGER NOT READ"), report.problems
            assert "missing_in_ledger" not in set(outcomes["outcome"])
            channel_rows = outcomes.filter(pl.col("source") == "channel")
            assert channel_rows.height > 0 and "in_transit" in set(channel_rows["outcome"])
            assert all(s == "read" for f, s in statuses.items() if f.startswith(("wechatpay/", "alipay/")) and "汇总" not in f)
            return
        if role in ("channel", "bank"):
            rejected = [c for c, s in channel_status.items() if s.startswith("statement rejected")]
            assert len(rejected) == 1 and case.reason in channel_status[rejected[0]], channel_status
            assert any(case.reason in problem for problem in report.problems), report.problems
        others = [c for c, s in channel_status.items() if s == "ok" and c != "bank"]
        assert others, channel_status  # the other channels reconcile
        for channel in others:
            reconciled = outcomes.filter((pl.col("channel") == channel) & pl.col("outcome").is_in(["matched", "matched_fallback"]))
            assert reconciled.height > 0, channel
    elif case.expect == "EXCEPTION":  # one more row carries the finding than on the clean day
        found = (outcomes["reason_code"] == case.reason).sum()
        assert found > (base.outcomes()["reason_code"] == case.reason).sum(), set(outcomes["reason_code"].drop_nulls())
    elif case.expect == "MISSING":
        assert report.exit_code == 3
        assert channel_status["wechatpay"] == "statement missing"
    else:
        raise AssertionError(case.expect)


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id, marks=c.marks) for c in CASES])
def test_bad_input(case: Case, base_inbox: Path, base_run: RunResult, tmp_path: Path) -> None:
    result = run_case(case, base_inbox, tmp_path)
    assert_class(case, result, base_run)
    assert_nothing_lost(result, tmp_path / "inbox" / DAY.isoformat())
    if case.check is not None:
        case.check(result, base_run, tmp_path)


def test_the_base_day_is_clean(base_run: RunResult) -> None:
    assert base_run.report.exit_code == 0, base_run.report.headline
    assert base_run.report.quarantine.height == 0
    assert {c.status for c in base_run.report.channels} == {"ok"}
