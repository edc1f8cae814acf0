"""Builders of bad inputs: each edits one file of a valid generated day, the way a broken exporter would.

The base day is ``sample_data.generate`` with nothing quarantined (a clean inbox, exit 0). A builder
changes the bytes of one statement and, where the case is about one row and not about the totals,
rewrites the statement's own control totals so that only the intended problem is left. Test code:
plain loops over a few dozen lines are fine here.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from sample_data.render_statements import render_zip

D = "2026-03-02"
WECHAT = f"wechatpay/wechatpay_tradebill_ALL_{D.replace('-', '')}.csv"
ALIPAY = f"alipay/20886413579246800156_{D.replace('-', '')}_业务明细.csv"
ALIPAY_SUMMARY = f"alipay/20886413579246800156_{D.replace('-', '')}_业务明细(汇总).csv"
LEDGER = f"ledger/ledger_{D.replace('-', '')}.csv"
BANK = f"bank/camt053_{D.replace('-', '')}.xml"

#: WeChat Pay trade bill columns (0-based) used by the cases.
W_TIME, W_MCHID, W_TXN, W_ORDER, W_OPENID, W_STATUS, W_CURRENCY, W_AMOUNT = 0, 2, 5, 6, 7, 9, 11, 12
W_REFUND_AMOUNT, W_PRODUCT, W_FEE, W_ORDER_AMOUNT = 16, 20, 22, 24
W_REFUND_ID, W_REFUND_APPLIED = 14, 25
#: Ledger export columns.
L_ENTRY, L_ORDER, L_CHANNEL, L_TXN, L_KIND, L_AMOUNT, L_CURRENCY, L_STATUS, L_BOOKED = 0, 1, 3, 4, 5, 6, 7, 8, 9


@dataclass
class Inbox:
    """The inbox folder of the base date, edited in place by a case."""

    root: Path

    def path(self, name: str) -> Path:
        return self.root / name

    def read(self, name: str) -> bytes:
        return self.path(name).read_bytes()

    def write(self, name: str, data: bytes) -> None:
        target = self.path(name)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)

    def remove(self, name: str) -> None:
        self.path(name).unlink()


# -- text files as lines ---------------------------------------------------------------------------


@dataclass
class TextFile:
    """A text statement as decoded lines (without their ends), with its encoding, BOM and line end."""

    lines: list[str]
    encoding: str
    bom: bool
    newline: str
    final_newline: bool

    @classmethod
    def load(cls, data: bytes, encoding: str) -> TextFile:
        bom = data.startswith(b"\xef\xbb\xbf")
        text = data[3:].decode(encoding) if bom else data.decode(encoding)
        newline = "\r\n" if "\r\n" in text else "\n"
        final = text.endswith(newline)
        body = text[: -len(newline)] if final else text
        return cls(body.split(newline), encoding, bom, newline, final)

    def dump(self) -> bytes:
        text = self.newline.join(self.lines) + (self.newline if self.final_newline else "")
        return (b"\xef\xbb\xbf" if self.bom else b"") + text.encode(self.encoding)


def edit_text(inbox: Inbox, name: str, encoding: str, change: Callable[[TextFile], None]) -> None:
    """Load ``name``, let ``change`` edit its lines, write it back in the same encoding and line ends."""
    text = TextFile.load(inbox.read(name), encoding)
    change(text)
    inbox.write(name, text.dump())


# -- WeChat Pay trade bill ---------------------------------------------------------------------------


def wechat_rows(text: TextFile) -> range:
    """Indexes of the detail lines: after the header, before the blank-free summary (2 lines)."""
    return range(1, len(text.lines) - 2)


def wechat_fields(line: str) -> list[str]:
    """A detail line's values without their backtick."""
    return [field.removeprefix("`") for field in line.split(",")]


def wechat_line(values: list[str]) -> str:
    return ",".join("`" + value for value in values)


def wechat_refoot(text: TextFile) -> None:
    """Rewrite the summary so that it adds up the detail lines again (count and every total)."""
    rows = [wechat_fields(text.lines[i]) for i in wechat_rows(text)]

    def total(column: int, places: str = "0.01") -> str:
        return str(sum((Decimal(row[column]) for row in rows), Decimal(0)).quantize(Decimal(places)))

    text.lines[-1] = wechat_line([str(len(rows)), total(12), total(16), total(17), total(22, "0.00001"), total(24),
                                  total(25)])  # fmt: skip


def wechat_set(column: int, value: str, *, row: int = 0, refoot: bool = False) -> Callable[[Inbox], None]:
    """A case: set one field of one WeChat detail row (``row``-th payment) to ``value`` (raw, backtick added)."""

    def change(text: TextFile) -> None:
        index = nth_payment(text, row)
        values = wechat_fields(text.lines[index])
        values[column] = value
        text.lines[index] = wechat_line(values)
        if refoot:
            wechat_refoot(text)

    return lambda inbox: edit_text(inbox, WECHAT, "utf-8", change)


def wechat_raw_line(edit: Callable[[str], str], *, row: int = 0) -> Callable[[Inbox], None]:
    """A case: rewrite the raw text of one WeChat payment line."""

    def change(text: TextFile) -> None:
        index = nth_payment(text, row)
        text.lines[index] = edit(text.lines[index])

    return lambda inbox: edit_text(inbox, WECHAT, "utf-8", change)


def nth_payment(text: TextFile, n: int) -> int:
    payments = [i for i in wechat_rows(text) if wechat_fields(text.lines[i])[W_STATUS] == "SUCCESS"]
    return payments[n]


def first_refund(text: TextFile) -> int:
    return next(i for i in wechat_rows(text) if wechat_fields(text.lines[i])[W_STATUS] == "REFUND")


# -- ledger export -----------------------------------------------------------------------------------


def ledger_set(column: int, value: str, *, row: int = 0) -> Callable[[Inbox], None]:
    """A case: set one field of the ``row``-th ledger data line (a comma or quote in it is quoted)."""

    def change(text: TextFile) -> None:
        index = 1 + row
        values = text.lines[index].split(",")
        values[column] = '"' + value.replace('"', '""') + '"' if re.search(r'[,"\r\n]', value) else value
        text.lines[index] = ",".join(values)

    return lambda inbox: edit_text(inbox, LEDGER, "utf-8", change)


def ledger_lines(text: TextFile) -> list[list[str]]:
    return [line.split(",") for line in text.lines[1:]]


# -- Alipay 业务明细 ----------------------------------------------------------------------------------


def alipay_rows(text: TextFile) -> list[int]:
    """Indexes of the Alipay detail data lines (between the column header and the 结束 line)."""
    header = next(i for i, line in enumerate(text.lines) if not line.startswith("#"))
    end = next(i for i in range(header + 1, len(text.lines)) if text.lines[i].startswith("#"))
    return list(range(header + 1, end))


# -- archives ----------------------------------------------------------------------------------------


def zip_bytes(members: list[tuple[zipfile.ZipInfo | str, bytes]]) -> bytes:
    """A zip of ``members``, written by Python (UTF-8 names)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for info, data in members:
            archive.writestr(info, data)
    return buffer.getvalue()


def gbk_name_zip(members: list[tuple[str, bytes]]) -> bytes:
    """A zip as Chinese Windows tools write it: GBK member names, no UTF-8 flag (bit 11)."""
    return render_zip(members, stamp=datetime(2026, 3, 3, 7, 0, 0))
