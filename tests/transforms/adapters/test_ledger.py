from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from decimal import Decimal

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from schemas.canonical import LedgerEntry
from transforms.adapters.ledger import LEDGER_COLUMNS, parse_ledger_csv, parse_ledger_parquet
from transforms.parsed import BytesSource, Limits, LineCounts, ParseContext

DAY = date(2026, 3, 2)
CONTEXT = ParseContext(business_date=DAY)

HEADER = ",".join(LEDGER_COLUMNS)

# Worked example: line numbers are physical lines (header = line 1).
WORKED = (
    "\n".join(
        [
            HEADER,
            "E001,ORD1,PAY1,wechatpay,4200000001,payment,129.90,CNY,succeeded,2026-03-02T23:45:10+08:00",  # 2
            "E002,ORD1,PAY1,wechatpay,5000000001,refund,1234.5,CNY,succeeded,2026-03-02T16:10:00Z",  # 3
            "E003,,,alipay,,payment,10,CNY,pending,2026-03-02T10:00:00+08:00",  # 4 empty ids → null
            "E004,ORD4,PAY4,alipay,T4,payment,12.00,CNY,succeeded",  # 5 FIELD_COUNT
            ",ORD5,PAY5,alipay,T5,payment,12.00,CNY,succeeded,2026-03-02T10:00:00+08:00",  # 6 REQUIRED_EMPTY
            "E006,ORD6,PAY6,jdpay,T6,payment,12.00,CNY,succeeded,2026-03-02T10:00:00+08:00",  # 7 UNKNOWN_ENUM
            "E007,ORD7,PAY7,alipay,T7,payment,12.00,RMB,succeeded,2026-03-02T10:00:00+08:00",  # 8 BAD_CURRENCY
            'E008,ORD8,PAY8,alipay,T8,payment,"1,234.50",CNY,succeeded,2026-03-02T10:00:00+08:00',  # 9 BAD_AMOUNT
            "E009,ORD9,PAY9,alipay,T9,payment,12.345,CNY,succeeded,2026-03-02T10:00:00+08:00",  # 10 SCALE
            "E010,ORD10,PAY10,alipay,T10,payment,12.00,CNY,succeeded,2026-03-02T10:00:00",  # 11 BAD_DATE
            "E011,ORD11,PAY11,alipay,T\x0011,payment,12.00,CNY,succeeded,2026-03-02T10:00:00+08:00",  # 12 BAD_CHAR
            "",  # 13 blank
        ]
    )
    + "\n"
)


def parse(text: str, tz: str = "Asia/Shanghai", limits: Limits | None = None):
    context = ParseContext(business_date=DAY, timezone=tz, limits=limits or Limits())
    return parse_ledger_csv(text.encode("utf-8"), "ledger/ledger_20260302.csv", context)


def problems(result) -> list[tuple[int, str | None, str]]:
    return [
        (r["source_line"], r["column"], r["reason_code"]) for r in result.quarantine.iter_rows(named=True)
    ]


def test_worked_example_rows_and_quarantine() -> None:
    result = parse(WORKED)
    assert result.format == "ledger_csv" and result.role == "ledger" and result.channel == "ledger"
    assert result.file_error is None
    assert result.controls == ()
    rows = result.rows
    LedgerEntry.validate(rows)
    assert rows["entry_id"].to_list() == ["E001", "E002", "E003"]
    assert rows["source_line"].to_list() == [2, 3, 4]
    assert rows["amount_minor"].to_list() == [12990, -123450, 1000]
    assert rows["booked_at"][0] == datetime(2026, 3, 2, 15, 45, 10, tzinfo=UTC)
    e003 = rows.row(2, named=True)
    assert e003["order_no"] is None and e003["payment_id"] is None and e003["channel_txn_id"] is None
    assert problems(result) == [
        (5, None, "FIELD_COUNT"),
        (6, "entry_id", "REQUIRED_EMPTY"),
        (7, "channel", "UNKNOWN_ENUM"),
        (8, "currency", "BAD_CURRENCY"),
        (9, "amount", "BAD_AMOUNT"),
        (10, "amount", "SCALE_EXCEEDED"),
        (11, "booked_at", "BAD_DATE"),
        (12, "channel_txn_id", "BAD_CHAR"),
    ]
    assert result.rejected["source_line"].to_list() == list(range(5, 13))
    by_line = {r["source_line"]: r for r in result.rejected.iter_rows(named=True)}
    assert by_line[11]["amount_minor"] == 1200 and by_line[11]["channel"] == "alipay"
    assert by_line[9]["amount_minor"] is None
    assert result.lines.physical == 13 and result.lines.header == 1 and result.lines.blank == 1
    assert result.lines.data == 11


def test_refund_is_negative_and_business_date_in_shanghai() -> None:
    row = parse(WORKED).rows.row(1, named=True)
    assert row["kind"] == "refund" and row["amount_minor"] == -123450  # '1234.5' exactly
    assert row["booked_at"] == datetime(2026, 3, 2, 16, 10, tzinfo=UTC)
    assert row["business_date"] == date(2026, 3, 3)
    utc_row = parse(WORKED, tz="UTC").rows.row(1, named=True)
    assert utc_row["business_date"] == date(2026, 3, 2)


@pytest.mark.parametrize(
    ("amount", "currency", "code"),
    [
        ("¥1,234.50", "CNY", "BAD_AMOUNT"),
        ("-12.00", "CNY", "BAD_AMOUNT"),
        ("1e3", "CNY", "BAD_AMOUNT"),
        ("NaN", "CNY", "BAD_AMOUNT"),
        ("0.00", "CNY", "BAD_AMOUNT"),
        ("１２.５０", "CNY", "BAD_AMOUNT"),
        ("12.300000000000001", "CNY", "SCALE_EXCEEDED"),
        ("100.5", "JPY", "SCALE_EXCEEDED"),
        ("", "CNY", "REQUIRED_EMPTY"),
    ],
)
def test_bad_amounts(amount: str, currency: str, code: str) -> None:
    line = f'E1,O1,P1,alipay,T1,payment,"{amount}",{currency},succeeded,2026-03-02T10:00:00+08:00'
    result = parse(f"{HEADER}\n{line}\n")
    assert result.rows.height == 0
    assert problems(result) == [(2, "amount", code)]


@pytest.mark.parametrize(
    ("booked_at", "ok"),
    [
        ("2026-03-02T23:45:10+08:00", True),
        ("2026-03-02T15:45:10.123456Z", True),
        ("2026-03-02T10:00:00", False),
        ("2026-02-30T10:00:00+08:00", False),
        ("2026/03/02 10:00:00+08:00", False),
        ("2026-03-02T24:00:00+08:00", False),
    ],
)
def test_booked_at(booked_at: str, ok: bool) -> None:
    result = parse(f"{HEADER}\nE1,O1,P1,alipay,T1,payment,1.00,CNY,succeeded,{booked_at}\n")
    assert result.rows.height == (1 if ok else 0)
    assert problems(result) == ([] if ok else [(2, "booked_at", "BAD_DATE")])


def test_jpy_whole_amount() -> None:
    result = parse(f"{HEADER}\nE1,O1,P1,stripe,T1,payment,1500,JPY,succeeded,2026-03-02T10:00:00+09:00\n")
    assert result.rows["amount_minor"].to_list() == [1500]


def test_quoting_commas_and_embedded_newline_count_lines() -> None:
    text = (
        f"{HEADER}\r\n"
        '"E1","ORD,1","PAY""1""",alipay,T1,payment,5.00,CNY,succeeded,2026-03-02T10:00:00+08:00\r\n'
        'E2,"ORD\r\n2",P2,alipay,T2,payment,6.00,CNY,succeeded,2026-03-02T10:00:00+08:00\r\n'
        "E3,O3,P3,alipay,T3,payment,7.00,CNY,succeeded,2026-03-02T10:00:00+08:00\r\n"
    )
    result = parse(text)
    assert problems(result) == [(3, "order_no", "BAD_CHAR")]  # read whole, then: no line break in an id
    assert result.rows["order_no"].to_list() == ["ORD,1", "O3"]
    assert result.rows["payment_id"][0] == 'PAY"1"'
    assert result.rows["source_line"].to_list() == [2, 5]
    # 3 records (one outcome each); the embedded newline makes one continuation line.
    assert (result.lines.physical, result.lines.data, result.lines.continuation) == (5, 3, 1)
    # CRLF and LF versions give identical rows
    assert parse(text.replace("\r\n", "\n")).rows.equals(result.rows)


def test_lone_cr_in_field_is_bad_char() -> None:
    result = parse(f'{HEADER}\nE1,"O\r1",P1,alipay,T1,payment,5.00,CNY,succeeded,2026-03-02T10:00:00+08:00\n')
    assert problems(result) == [(2, "order_no", "BAD_CHAR")]


def test_columns_reordered() -> None:
    names = list(reversed(LEDGER_COLUMNS))
    values = dict(
        entry_id="E1",
        order_no="O1",
        payment_id="P1",
        channel="wechatpay",
        channel_txn_id="T1",
        kind="payment",
        amount="129.90",
        currency="CNY",
        status="succeeded",
        booked_at="2026-03-02T10:00:00+08:00",
    )
    text = ",".join(names) + "\n" + ",".join(values[n] for n in names) + "\n"
    result = parse(text)
    assert result.rows["entry_id"].to_list() == ["E1"] and result.rows["amount_minor"].to_list() == [12990]


@pytest.mark.parametrize(
    ("header", "code"),
    [
        (HEADER.replace(",booked_at", ""), "MISSING_COLUMN"),
        (HEADER + ",note", "UNEXPECTED_COLUMN"),
        (HEADER + ",amount", "DUP_COLUMN"),
    ],
)
def test_header_problems_reject_file(header: str, code: str) -> None:
    result = parse(header + "\n")
    assert result.file_error is not None and result.file_error.reason_code == code
    assert result.file_error.line == 1


def test_header_only_is_valid_and_bom_stripped() -> None:
    result = parse_ledger_csv(b"\xef\xbb\xbf" + HEADER.encode() + b"\r\n", "ledger/x.csv", CONTEXT)
    assert result.file_error is None and result.rows.height == 0 and result.quarantine.height == 0
    assert result.lines.physical == 1 and result.lines.header == 1 and result.lines.data == 0


def test_unclosed_quote_is_truncated_file() -> None:
    text = f'{HEADER}\nE1,O1,P1,alipay,T1,payment,5.00,CNY,succeeded,2026-03-02T10:00:00+08:00\nE2,"O2\n'
    result = parse(text)
    assert result.file_error is not None and result.file_error.reason_code == "TRUNCATED"
    assert result.file_error.line == 3
    assert result.rows.height == 1 and result.rejected["source_line"].to_list() == [3]


def test_not_utf8_rejected() -> None:
    result = parse_ledger_csv(HEADER.encode() + b"\n" + "E1,订单".encode("gb18030"), "ledger/x.csv", CONTEXT)
    assert result.file_error is not None and result.file_error.reason_code == "DECODE_ERROR"
    assert result.file_error.line == 2


def _parquet(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


def test_parquet_round_trip_equals_csv() -> None:
    from_csv = parse(WORKED)
    records = [r for r in csv.reader(io.StringIO(WORKED)) if len(r) == len(LEDGER_COLUMNS)][1:]
    # the FIELD_COUNT row and the blank line cannot be in Parquet: all columns as text
    frame = pl.DataFrame(records, schema=list(LEDGER_COLUMNS), orient="row")
    result = parse_ledger_parquet(_parquet(frame.to_arrow()), "ledger/ledger.parquet", CONTEXT)
    assert result.format == "ledger_parquet" and result.file_error is None
    drop = ["source_file", "source_line"]
    assert result.rows.drop(drop).equals(from_csv.rows.drop(drop))
    assert result.rows["source_line"].to_list() == [1, 2, 3]
    csv_codes = [c for c in from_csv.quarantine["reason_code"].to_list() if c != "FIELD_COUNT"]
    assert result.quarantine["reason_code"].to_list() == csv_codes
    assert result.lines.physical == result.lines.data == frame.height


def test_parquet_typed_columns() -> None:
    table = pa.table(
        {
            **{name: pa.array(["x"], pa.string()) for name in LEDGER_COLUMNS},
            "channel": pa.array(["alipay"]),
            "kind": pa.array(["refund"]),
            "currency": pa.array(["CNY"]),
            "status": pa.array(["succeeded"]),
            "channel_txn_id": pa.array([None], pa.string()),
            "amount": pa.array([Decimal("1234.5000")], pa.decimal128(18, 4)),
            "booked_at": pa.array([datetime(2026, 3, 2, 16, 10, tzinfo=UTC)], pa.timestamp("us", tz="UTC")),
        }
    )
    result = parse_ledger_parquet(_parquet(table), "ledger/l.parquet", CONTEXT)
    row = result.rows.row(0, named=True)
    assert row["amount_minor"] == -123450 and row["channel_txn_id"] is None
    assert row["business_date"] == date(2026, 3, 3) and row["source_line"] == 1


def test_parquet_naive_timestamp_is_bad_date() -> None:
    table = pa.table(
        {
            **{name: pa.array(["x"]) for name in LEDGER_COLUMNS},
            "channel": pa.array(["alipay"]),
            "kind": pa.array(["payment"]),
            "currency": pa.array(["CNY"]),
            "status": pa.array(["succeeded"]),
            "amount": pa.array(["1.00"]),
            "booked_at": pa.array([datetime(2026, 3, 2, 16, 10)], pa.timestamp("us")),
        }
    )
    result = parse_ledger_parquet(_parquet(table), "ledger/l.parquet", CONTEXT)
    assert problems(result) == [(1, "booked_at", "BAD_DATE")]


def test_parquet_float_amount_rejected() -> None:
    table = pa.table({name: pa.array(["x"]) for name in LEDGER_COLUMNS}).set_column(
        LEDGER_COLUMNS.index("amount"), "amount", pa.array([12.3], pa.float64())
    )
    result = parse_ledger_parquet(_parquet(table), "ledger/l.parquet", CONTEXT)
    assert result.file_error is not None and result.file_error.reason_code == "FLOAT_AMOUNT"


def test_parquet_garbage_rejected() -> None:
    result = parse_ledger_parquet(b"PAR1 not really", "ledger/l.parquet", CONTEXT)
    assert result.file_error is not None and result.file_error.reason_code == "PARQUET_MALFORMED"


# -- the columnar reader: chunks, sinks, batches, limits ---------------------------------------------

QUOTED = (
    f"{HEADER}\r\n"
    '"E1","ORD,1","PAY""1""",alipay,T1,payment,5.00,CNY,succeeded,2026-03-02T10:00:00+08:00\r\n'
    'E2,"ORD\r\n2\r\n\r\nend",P2,alipay,T2,payment,6.00,CNY,succeeded,2026-03-02T10:00:00+08:00\r\n'
    "E3,O3,P3,alipay,T3,payment,7.00,CNY,succeeded,2026-03-02T10:00:00+08:00\r\n"
    'E4,O4,"P4",alipay,T4,refund,"1,234.50",CNY,succeeded,2026-03-02T10:00:00+08:00\r\n'
    'E5,O"5,P5,alipay,T5,payment,8.00,CNY,succeeded,2026-03-02T10:00:00+08:00\r\n'
    'E6,"O6"x,P6,alipay,T6,payment,9.00,CNY,succeeded,2026-03-02T10:00:00+08:00\r\n'
    "\r\n"
    "E7,O7,P7,alipay,T7,payment,10.00,CNY,succeeded,2026-03-02T10:00:00+08:00\r\n"
)


def assert_same_result(a, b) -> None:
    def code(result):
        return None if result.file_error is None else result.file_error.reason_code

    assert code(a) == code(b)
    assert a.rows.equals(b.rows)
    assert a.quarantine.equals(b.quarantine)
    assert a.rejected.equals(b.rejected)
    assert a.lines == b.lines
    assert (a.row_count, a.rejected_count) == (b.row_count, b.rejected_count)


@pytest.mark.parametrize("text", [WORKED, QUOTED, QUOTED.replace("\r\n", "\n")], ids=["worked", "crlf", "lf"])
def test_chunked_parsing_is_identical(text: str) -> None:
    whole = parse(text)
    assert whole.rows.height and whole.quarantine.height
    for chunk_bytes in (1, 60, 150):
        assert_same_result(parse(text, limits=Limits(chunk_bytes=chunk_bytes)), whole)


def test_quoted_records_spanning_lines() -> None:
    result = parse(QUOTED)
    assert result.rows["entry_id"].to_list() == ["E1", "E3", "E5", "E7"]
    assert result.rows["order_no"].to_list() == ["ORD,1", "O3", 'O"5', "O7"]
    assert result.rows["payment_id"][0] == 'PAY"1"'
    assert result.rows["source_line"].to_list() == [2, 7, 9, 12]
    # a record over several lines is read whole; a line break inside an id is no id (BAD_CHAR)
    assert problems(result) == [(3, "order_no", "BAD_CHAR"), (8, "amount", "BAD_AMOUNT"), (10, None, "FORMAT_VIOLATION")]
    assert result.rejected["source_line"].to_list() == [3, 8, 10]
    assert result.rejected.row(1, named=True)["kind"] == "refund"
    assert result.lines == LineCounts(physical=12, data=7, header=1, blank=1, continuation=3)


def test_unclosed_quote_with_tiny_chunks() -> None:
    text = (
        f'{HEADER}\nE1,O1,P1,alipay,T1,payment,5.00,CNY,succeeded,2026-03-02T10:00:00+08:00\nE2,"O2\nmore\n'
    )
    result = parse(text, limits=Limits(chunk_bytes=1))
    assert_same_result(result, parse(text))
    assert result.file_error is not None and result.file_error.reason_code == "TRUNCATED"
    assert result.file_error.line == 3 and result.lines.continuation == 1


def test_sink_receives_the_rows() -> None:
    received: list[pl.DataFrame] = []
    rejected: list[pl.DataFrame] = []

    class RowSink:
        def rows(self, frame: pl.DataFrame) -> None:
            received.append(frame)

        def rejected(self, frame: pl.DataFrame) -> None:
            rejected.append(frame)

        def discard(self) -> None:
            received.clear()

    context = ParseContext(business_date=DAY, sink=RowSink(), limits=Limits(chunk_bytes=200))
    result = parse_ledger_csv(WORKED.encode(), "ledger/ledger_20260302.csv", context)
    assert result.rows.height == 0 and result.rejected.height == 0
    assert result.row_count == 3 and result.rejected_count == 8
    assert len(received) > 1
    assert pl.concat(received).equals(parse(WORKED).rows)
    assert pl.concat(rejected).sort("source_line").equals(parse(WORKED).rejected)
    assert result.quarantine.height == 8


def test_decode_error_in_a_later_chunk_discards_rows() -> None:
    good = "E1,O1,P1,alipay,T1,payment,5.00,CNY,succeeded,2026-03-02T10:00:00+08:00\n"
    data = (HEADER + "\n" + good * 5).encode() + b"E9,\xff\n"
    result = parse_ledger_csv(
        data, "ledger/x.csv", ParseContext(business_date=DAY, limits=Limits(chunk_bytes=100))
    )
    assert result.file_error is not None and result.file_error.reason_code == "DECODE_ERROR"
    assert result.file_error.line == 7 and result.rows.height == 0 and result.row_count == 0


def test_source_input_equals_bytes() -> None:
    data = QUOTED.encode()
    from_source = parse_ledger_csv(BytesSource(data), "ledger/ledger_20260302.csv", CONTEXT)
    assert_same_result(from_source, parse(QUOTED))


def test_byte_limits() -> None:
    line = "E1,O1,P1,alipay,T1,payment,5.00,CNY,succeeded,2026-03-02T10:00:00+08:00"
    long_order = line.replace("O1", "O" * 60)
    result = parse(f"{HEADER}\n{line}\n{long_order}\n", limits=Limits(max_field_bytes=50))
    assert problems(result) == [(3, "order_no", "LIMIT_EXCEEDED")]
    result = parse(f"{HEADER}\n{line}\n{long_order}\n", limits=Limits(max_line_bytes=100))
    assert problems(result) == [(3, None, "LIMIT_EXCEEDED")]
    assert result.rejected.row(0, named=True)["channel"] is None


def test_too_many_bad_rows_rejects_the_file() -> None:
    bad = "E1,O1,P1,jdpay,T1,payment,5.00,CNY,succeeded,2026-03-02T10:00:00+08:00\n"
    good = "E2,O2,P2,alipay,T2,payment,5.00,CNY,succeeded,2026-03-02T10:00:00+08:00\n"
    text = HEADER + "\n" + bad * 3 + good + bad * 2 + good
    result = parse(text, limits=Limits(max_problem_lines=2))
    assert result.file_error is not None and result.file_error.reason_code == "TOO_MANY_BAD_ROWS"
    assert [line for line, _, _ in problems(result) if line is not None] == [2, 3]
    assert "3 more lines" in result.quarantine["reason"][-1]  # lines 4, 6 and 7
    assert result.row_count == 2 and result.rejected_count == 5 and result.lines.data == 7
    # once over the limit, later chunks are only accounted for: every line still has one outcome
    chunked = parse(text, limits=Limits(max_problem_lines=2, chunk_bytes=1))
    assert chunked.file_error is not None and chunked.file_error.reason_code == "TOO_MANY_BAD_ROWS"
    assert chunked.row_count + chunked.rejected_count == chunked.lines.data == 7


def test_amount_and_booked_at_edges_match_the_rules() -> None:
    rows = [
        ("0.01", "CNY", "2024-02-29T23:59:59.5+08:00"),
        ("100", "KWD", "2026-03-02T10:00:00+08:75"),  # Python reads +08:75 as +09:15
        ("1.234", "KWD", "2000-02-29T00:00:00Z"),
        ("999999999999999.99", "CNY", "1970-01-01T00:00:00-00:01"),
    ]
    lines = [f"E{i},O,P,alipay,T,payment,{a},{c},succeeded,{b}" for i, (a, c, b) in enumerate(rows)]
    result = parse("\n".join([HEADER, *lines]) + "\n")
    assert result.quarantine.height == 0
    assert result.rows["amount_minor"].to_list() == [1, 100000, 1234, 99999999999999999]
    assert result.rows["booked_at"].to_list() == [
        datetime(2024, 2, 29, 15, 59, 59, 500000, tzinfo=UTC),
        datetime(2026, 3, 2, 0, 45, tzinfo=UTC),
        datetime(2000, 2, 29, tzinfo=UTC),
        datetime(1970, 1, 1, 0, 1, tzinfo=UTC),
    ]
    bad = [("2100-02-29T10:00:00Z", "BAD_DATE"), ("9999-12-31T23:00:00-05:00", "BAD_DATE")]
    for booked_at, code in bad:
        result = parse(f"{HEADER}\nE1,O,P,alipay,T,payment,1.00,CNY,succeeded,{booked_at}\n")
        assert problems(result) == [(2, "booked_at", code)]


def test_parquet_in_several_batches_equals_one_batch() -> None:
    records = [r for r in csv.reader(io.StringIO(WORKED)) if len(r) == len(LEDGER_COLUMNS)][1:]
    frame = pl.DataFrame(records * 7, schema=list(LEDGER_COLUMNS), orient="row")
    sink = io.BytesIO()
    pq.write_table(frame.to_arrow(), sink, row_group_size=10)
    data = sink.getvalue()
    one = parse_ledger_parquet(data, "ledger/l.parquet", CONTEXT)
    assert one.rows.height == 21 and one.quarantine.height == 49
    for chunk_bytes in (1, 128 * 3, 128 * 8):
        several = parse_ledger_parquet(
            data, "ledger/l.parquet", ParseContext(business_date=DAY, limits=Limits(chunk_bytes=chunk_bytes))
        )
        assert_same_result(several, one)


def test_parquet_from_a_source() -> None:

    records = [r for r in csv.reader(io.StringIO(WORKED)) if len(r) == len(LEDGER_COLUMNS)][1:]
    data = _parquet(pl.DataFrame(records, schema=list(LEDGER_COLUMNS), orient="row").to_arrow())
    assert_same_result(
        parse_ledger_parquet(BytesSource(data), "ledger/l.parquet", CONTEXT),
        parse_ledger_parquet(data, "ledger/l.parquet", CONTEXT),
    )


def test_extra_and_missing_fields_in_one_chunk_do_not_shift_values() -> None:
    # 11 empty fields and 9 fields: the separators add up to 2 x 9, yet neither line has 10 fields
    text = f"{HEADER}\n,,,,,,,,,,\nE1,O1,P1,alipay,T1,payment,12.00,CNY,pending\n"
    result = parse(text)
    assert problems(result) == [(2, None, "FIELD_COUNT"), (3, None, "FIELD_COUNT")]
    assert result.quarantine["reason"].to_list() == [
        "expected 10 fields, got 11",
        "expected 10 fields, got 9",
    ]


def test_per_record_path_agrees_with_the_expressions(monkeypatch: pytest.MonkeyPatch) -> None:
    # Every record through the per-record rules (as if every expression had found it at fault): the
    # rules find the same problems and, for the records they pass, the same values.
    from transforms.adapters import ledger

    text = WORKED + QUOTED.split("\r\n", 1)[1].replace("\r\n", "\n")
    expected = parse(text)
    monkeypatch.setattr(ledger, "_ok_expr", lambda limits, *, screen_characters: pl.lit(False))
    assert_same_result(parse(text), expected)


def test_lone_cr_before_a_separator_is_an_unreadable_record() -> None:
    # Polars would drop this CR; Python's csv module refuses the record, as the adapter always did
    text = f"{HEADER}\nE1,O1\r,P1,alipay,T1,payment,5.00,CNY,succeeded,2026-03-02T10:00:00+08:00\n"
    result = parse(text)
    assert problems(result) == [(2, None, "BAD_CHAR")]
    assert (
        result.quarantine["value"][0]
        == "E1,O1\r,P1,alipay,T1,payment,5.00,CNY,succeeded,2026-03-02T10:00:00+08:00"
    )
