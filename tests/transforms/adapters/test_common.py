from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import polars as pl
import pytest

from schemas.canonical import ChannelTxn
from transforms.adapters.common import (
    Findings,
    columns_by_name,
    control_total_error,
    frame_schema,
    local_timestamp,
    mapped_column,
    parse_units,
    raw_frame,
    read_header,
    refine_amount_reason,
    rejected_file,
    rejected_frame,
    rejected_row,
    sum_units,
    truncated_last_line,
    units_to_decimal,
)
from transforms.parsed import QUARANTINE_SCHEMA, REJECTED_SCHEMA, ControlTotal, FileRejected, LineCounts

MISMATCH = "expected {expected!r}, found {found!r}"


def header(names: list[str]) -> dict[str, int]:
    return read_header(names, ("a", "b", "c"), line_no=1, line=",".join(names), mismatch=MISMATCH)


def test_read_header_maps_names_to_positions_in_any_order() -> None:
    assert header(["a", "b", "c"]) == {"a": 0, "b": 1, "c": 2}
    assert header(["c", "a", "b"]) == {"c": 0, "a": 1, "b": 2}


@pytest.mark.parametrize(
    ("names", "code", "message"),
    [
        (["a", "a", "b"], "DUP_COLUMN", "header repeats column(s) a"),
        (["a", "b"], "MISSING_COLUMN", "header lacks column(s) c"),
        (["a", "b", "c", "d"], "UNEXPECTED_COLUMN", "header has unknown column(s) d"),
        (["a", "b", "x"], "HEADER_MISMATCH", "expected 'c', found 'x'"),
        ([""], "HEADER_MISMATCH", "expected 'a', found ''"),
    ],
)
def test_read_header_rejects(names: list[str], code: str, message: str) -> None:
    with pytest.raises(FileRejected) as info:
        header(names)
    assert (info.value.reason_code, info.value.message, info.value.line) == (code, message, 1)


def test_findings_rejects_a_line_once_and_sorts_by_line() -> None:
    findings = Findings("f.csv", lambda source, line, values: rejected_row(source, line, channel="x", order_no=str(values["o"])))
    findings.problem(5, "amount", "1,0", "BAD_AMOUNT", "first")
    findings.problem(3, None, None, "FIELD_COUNT", "second")
    findings.problem(5, "date", "x", "BAD_DATE", "third")
    findings.reject(5, {"o": "A"})
    findings.reject(5, {"o": "B"})
    findings.reject(3, {"o": "C"})
    quarantine = findings.quarantine()
    assert quarantine.schema == pl.Schema(QUARANTINE_SCHEMA)
    assert quarantine["reason"].to_list() == ["second", "first", "third"]
    rejected = findings.rejected_frame()
    assert rejected.schema == pl.Schema(REJECTED_SCHEMA)
    assert rejected.select("source_line", "order_no").rows() == [(3, "C"), (5, "A")]


def test_rejected_frame_keeps_only_the_lines_asked_for() -> None:
    rows = {line: rejected_row("f", line, channel="bank", amount_minor=line * 10) for line in (4, 2, 9)}
    assert rejected_frame(rows, [9, 2, 7, 2])["amount_minor"].to_list() == [20, 90]
    assert rejected_frame({}).schema == pl.Schema(REJECTED_SCHEMA)


def test_rejected_file_is_empty_with_the_error() -> None:
    error = FileRejected("EMPTY_FILE", "no header")
    parsed = rejected_file(
        "w/x.csv", error, file_format="f", role="channel", channel="wechatpay", model=ChannelTxn,
        lines=LineCounts(physical=3),
    )  # fmt: skip
    assert (parsed.format, parsed.role, parsed.channel, parsed.file_error) == ("f", "channel", "wechatpay", error)
    assert parsed.rows.height == parsed.rejected.height == parsed.quarantine.height == 0
    assert parsed.rows.schema == pl.Schema(frame_schema(ChannelTxn))
    assert parsed.lines == LineCounts(physical=3)


def test_raw_frame_reads_columns_by_position() -> None:
    values = columns_by_name([["1", "x"], ["2", "y"]], {"s": 1, "n": 0})
    assert values == {"s": ("x", "y"), "n": ("1", "2")}
    frame = raw_frame(("n", "s"), values, [7, 9], "f.csv")
    assert frame.rows() == [("1", "x", "f.csv", 7), ("2", "y", "f.csv", 9)]
    assert raw_frame(("n", "s"), columns_by_name([], {"s": 1, "n": 0}), [], "f.csv").height == 0


def test_refine_amount_reason_uses_the_money_parsers_code() -> None:
    entry = {"column": "fee", "value": "0.123456", "reason_code": "BAD_AMOUNT", "reason": "pattern"}
    refined = refine_amount_reason(entry, {"fee": 5})
    assert refined["reason_code"] == "SCALE_EXCEEDED"
    assert str(refined["reason"]).startswith("fee: ")
    assert refine_amount_reason(entry, {"other": 2}) is entry
    assert refine_amount_reason({**entry, "value": "0.12345"}, {"fee": 5})["reason_code"] == "BAD_AMOUNT"


def test_parse_units_and_sum_units() -> None:
    table = parse_units(["1.50", "x", "-0.25", "1.50", "1.5"], 2)
    assert table == {"1.50": 150, "-0.25": -25}
    assert sum_units(["1.50", "-0.25", "1.50"], table) == 275
    assert sum_units(["1.50", "1.5"], table) is None
    assert sum_units([], table) == 0
    assert units_to_decimal(-25) == Decimal("-0.25")
    assert units_to_decimal(4500, 5) == Decimal("0.04500")
    assert units_to_decimal(None) is None


def test_control_total_error_names_every_mismatch() -> None:
    controls = [
        ControlTotal("n", Decimal(2), Decimal(2)),
        ControlTotal("sum", Decimal("1.00"), Decimal("0.99")),
        ControlTotal("fee", Decimal("1.00"), None),
    ]
    error = control_total_error(controls, line=8, template="{name}: {footer} vs {parsed}")
    assert error is not None
    assert (error.reason_code, error.message, error.line) == ("CONTROL_TOTAL_MISMATCH", "sum: 1.00 vs 0.99", 8)
    assert control_total_error(controls[:1], line=8, template="{name}") is None


def test_truncated_last_line() -> None:
    lines = ["h", "a,b,c", "a,b", "", ""]
    error = truncated_last_line(lines, 1, 3, "footer")
    assert error is not None
    assert (error.reason_code, error.line) == ("TRUNCATED", 3)
    assert error.message == "no footer; the last line 3 has 2 of 3 fields (file cut short?)"
    assert truncated_last_line(["h", "a,b,c"], 1, 3, "footer") is None
    assert truncated_last_line(["h", ""], 1, 3, "footer") is None


def test_local_timestamp_is_utc() -> None:
    shanghai = ZoneInfo("Asia/Shanghai")
    assert local_timestamp("2026-03-02 08:00:00", shanghai) == datetime(2026, 3, 2, 0, 0, tzinfo=UTC)
    with pytest.raises(ValueError):
        local_timestamp("2026-02-30 10:00:00", shanghai)
    with pytest.raises(ValueError):
        local_timestamp("2026-03-02T08:00:00", shanghai)


def test_mapped_column_looks_texts_up() -> None:
    frame = pl.DataFrame({"fee": ["0.60", "0.00", "0.60"]})
    assert mapped_column(frame, "fee", {"0.60": 60, "0.00": 0}, pl.Int64()).to_list() == [60, 0, 60]
    with pytest.raises(KeyError):
        mapped_column(frame, "fee", {"0.60": 60}, pl.Int64())
