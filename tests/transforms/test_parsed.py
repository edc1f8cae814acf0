"""Worked examples of transforms/parsed.py: control totals and the quarantine / rejected frame shapes."""

from __future__ import annotations

from decimal import Decimal

import polars as pl
import pytest

from transforms.parsed import (
    QUARANTINE_SCHEMA,
    REJECTED_SCHEMA,
    ControlTotal,
    FileRejected,
    ParsedFile,
    empty_quarantine,
    empty_rejected,
    quarantine_frame,
)

# name          | footer   | parsed   | verifiable | ok
CONTROLS = [
    ("total_amount", "1234.50", "1234.50", True, True),  # equal: verified
    ("total_amount", "1234.50", "1234.5", True, True),  # Decimal equality ignores the trailing zero
    ("total_amount", "1234.50", "1234.49", True, False),  # off by one fen: a mismatch
    ("row_count", "3", "4", True, False),
    ("total_amount", "1234.50", None, False, True),  # a row's amount unreadable: not verifiable, NOT a mismatch
]


@pytest.mark.parametrize(("name", "footer", "parsed", "verifiable", "ok"), CONTROLS)
def test_control_total(name: str, footer: str, parsed: str | None, verifiable: bool, ok: bool) -> None:
    control = ControlTotal(name, Decimal(footer), None if parsed is None else Decimal(parsed))
    assert control.verifiable is verifiable
    assert control.ok is ok


def test_control_total_is_frozen() -> None:
    control = ControlTotal("row_count", Decimal(3), Decimal(3))
    with pytest.raises(AttributeError):
        control.parsed = Decimal(4)  # type: ignore[misc]


def test_empty_frames_have_the_contract_schemas() -> None:
    assert empty_quarantine().schema == QUARANTINE_SCHEMA
    assert empty_quarantine().height == 0
    assert empty_rejected().schema == REJECTED_SCHEMA
    assert empty_rejected().height == 0
    # Money is int64 minor units (STYLE point 7); line numbers are integers too.
    assert empty_rejected().schema["amount_minor"] == pl.Int64
    assert empty_rejected().schema["source_line"] == pl.Int64
    assert empty_quarantine().schema["source_line"] == pl.Int64


def test_quarantine_frame_from_entries() -> None:
    entries: list[dict[str, object]] = [
        {"source_file": "alipay/20240301.csv", "source_line": 17, "column": "amount", "value": "1,2x4.50",
         "reason_code": "BAD_AMOUNT", "reason": "amount: '1,2x4.50' is not a decimal amount"},
        # A file-level entry has no line.
        {"source_file": "ledger/l.csv", "source_line": None, "column": None, "value": None,
         "reason_code": "EMPTY_FILE", "reason": "the file is empty (0 bytes)"},
    ]
    frame = quarantine_frame(entries)
    assert frame.schema == QUARANTINE_SCHEMA
    assert frame.rows() == [
        ("alipay/20240301.csv", 17, "amount", "1,2x4.50", "BAD_AMOUNT", "amount: '1,2x4.50' is not a decimal amount"),
        ("ledger/l.csv", None, None, None, "EMPTY_FILE", "the file is empty (0 bytes)"),
    ]


def test_quarantine_frame_of_no_entries_is_typed_and_empty() -> None:
    # pl.DataFrame([]) would have no columns; the empty case must still carry the schema.
    assert quarantine_frame([]).schema == QUARANTINE_SCHEMA
    assert quarantine_frame([]).height == 0


def test_file_rejected_carries_code_message_and_line() -> None:
    error = FileRejected("TRUNCATED", "no footer after line 40", line=40)
    assert (error.reason_code, error.message, error.line, str(error)) == (
        "TRUNCATED", "no footer after line 40", 40, "no footer after line 40"
    )
    assert FileRejected("HEADER_MISMATCH", "x").line is None


def test_parsed_file_defaults() -> None:
    parsed = ParsedFile(
        source_file="wechatpay/bill.csv", format="wechatpay_trade", role="channel", channel="wechatpay",
        rows=pl.DataFrame(), rejected=empty_rejected(), quarantine=empty_quarantine(),
    )
    assert parsed.controls == ()
    assert parsed.file_error is None
    assert parsed.lines.physical == 0
    assert parsed.statement_date is None
