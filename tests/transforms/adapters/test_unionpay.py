from __future__ import annotations

import random
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from sample_data.render_unionpay import ZM41, ZM42, render_unionpay_zm
from schemas.canonical import ChannelTxn
from schemas.unionpay import (
    TXN_CODES,
    ZM_ASSUMPTIONS,
    ZM_FIELDS,
    ZM_FIELDS_OLD,
    ZM_LINE_BYTES,
)
from transforms.adapters.unionpay import looks_like_unionpay_zm, parse_unionpay_zm
from transforms.parsed import Limits, LineCounts, ParseContext

FIXTURES = Path(__file__).parents[2] / "fixtures" / "formats"
DAY = date(2026, 3, 2)
MERCHANT = "898110257320001"


def purchase(i: int, amount: int, fee: int, **extra: object) -> dict[str, object]:
    hour, minute = 8 + i // 6, (i * 7) % 60
    return {
        "code": "S22",
        "trace_no": f"{100000 + i}",
        "time": f"0302{hour:02d}{minute:02d}{i % 60:02d}",
        "card": "6225881234****5678",
        "amount_fen": amount,
        "query_id": f"6026030{i:014d}",
        "order_no": f"ZZU20260302{i:04d}",
        "fee_fen": -fee,
        "settle_fen": amount - fee,
        "net_fen": amount - fee,
        "txn_type": "01",
        "txn_sub_type": "01",
        "biz_type": "000201",
        "merchant_id": MERCHANT,
        "sub_merchant_id": "898110257320099",
        "sub_merchant_name": "知竹家居旗舰店",
        "terminal": "00000001",
        **extra,
    }


def day_rows() -> list[dict[str, object]]:
    """52 records: 50 purchases, a partial refund of purchase 3, a void of purchase 7."""
    rows = [purchase(i, 1000 + 137 * i, (1000 + 137 * i) * 6 // 1000) for i in range(50)]
    rows.append({
        **purchase(50, 50000, 0), "code": "S30", "amount_fen": 500, "fee_fen": 3, "settle_fen": -497,
        "net_fen": -497, "orig_query_id": rows[3]["query_id"], "order_no": rows[3]["order_no"],
        "txn_type": "04", "txn_sub_type": "00", "time": "0302221501",
    })  # fmt: skip
    rows.append({
        **purchase(51, 0, 0), "code": "S31", "amount_fen": rows[7]["amount_fen"], "fee_fen": -rows[7]["fee_fen"],  # type: ignore[operator]
        "settle_fen": -rows[7]["settle_fen"], "net_fen": -rows[7]["net_fen"],  # type: ignore[operator]
        "orig_query_id": rows[7]["query_id"], "order_no": rows[7]["order_no"],
        "txn_type": "31", "txn_sub_type": "00", "time": "0302230000",
    })  # fmt: skip
    return rows


def parse(data: bytes, day: date = DAY, **limits: int):
    return parse_unionpay_zm(data, "unionpay/zm.txt", ParseContext(business_date=day, limits=Limits(**limits)))


def assert_accounted(parsed) -> None:
    """Every data line is one row or one rejected row with at least one quarantine entry."""
    lines = parsed.lines
    assert lines.physical == lines.data + lines.blank + lines.header + lines.footer
    assert parsed.row_count + parsed.rejected_count == lines.data
    rows = set(parsed.rows["source_line"].to_list())
    rejected = set(parsed.rejected["source_line"].to_list())
    assert not rows & rejected
    assert rejected == set(parsed.quarantine["source_line"].drop_nulls().to_list())


# -- the layout --------------------------------------------------------------------------------------


def test_width_tables_are_the_sdk_layouts_and_agree_with_the_renderer():
    new = [f.width for f in ZM_FIELDS]
    assert new == [3, 11, 11, 6, 10, 19, 12, 4, 2, 21, 2, 32, 2, 6, 10, 13, 13, 4, 15, 2, 2, 6, 2, 4, 32, 1, 21,
                   15, 1, 15, 32, 13, 13, 8, 32, 13, 13, 12, 2, 1, 32, 98]  # fmt: skip
    assert [f.width for f in ZM_FIELDS_OLD] == new[:40] + [131]
    assert [(f.name, f.width) for f in ZM_FIELDS] == list(ZM42)
    assert [f.width for f in ZM_FIELDS_OLD] == [w for _, w in ZM41]
    assert ZM_LINE_BYTES == 607  # both layouts: 32 + 1 + 98 == 131


def test_every_assumption_is_named_and_stated():
    assert sorted(ZM_ASSUMPTIONS) == ["A1", "A2", "A3", "A4", "A5", "A6", "A7", "A8"]
    assert all(a.title and a.statement for a in ZM_ASSUMPTIONS.values())
    assert TXN_CODES == {"S22": ("payment", "消费"), "S30": ("refund", "退货"), "S31": ("refund", "消费撤销")}


# -- a day ------------------------------------------------------------------------------------------


def test_a_rendered_day_gives_exact_rows():
    rows = day_rows()
    data = render_unionpay_zm(rows)
    assert data.count(b"\r\n") == 52 and all(len(line) == 607 for line in data.split(b"\r\n")[:-1])
    assert "知竹家居旗舰店".encode("gbk") in data
    parsed = parse(data)
    assert parsed.file_error is None, parsed.file_error and parsed.file_error.message
    assert parsed.quarantine.height == 0
    assert (parsed.format, parsed.role, parsed.channel) == ("unionpay_zm", "channel", "unionpay")
    assert parsed.lines == LineCounts(physical=52, data=52)
    assert parsed.merchant_account == MERCHANT and parsed.controls == ()
    out = parsed.rows
    ChannelTxn.validate(out, lazy=True)
    assert out.height == 52
    assert out["source_line"].to_list() == list(range(1, 53))
    assert not any(dtype.is_float() for dtype in out.dtypes)

    first = out.row(0, named=True)
    assert first == {
        "channel": "unionpay", "merchant_account": MERCHANT, "channel_txn_id": "602603000000000000000",
        "order_no": "ZZU202603020000", "original_txn_id": None, "kind": "payment",
        "amount_minor": 1000, "fee_minor": -6, "fee_exact": Decimal("-0.06000"),
        "order_amount_minor": None, "discount_minor": None, "currency": "CNY",
        "settle_amount_minor": None, "settle_currency": None, "fx_rate": None,
        "occurred_at": datetime(2026, 3, 2, 0, 0, 0, tzinfo=UTC),  # 08:00:00 Beijing
        "settle_date": DAY, "status": "succeeded", "status_detail": None,
        "buyer_id": "6225881234****5678",  # 账号: the card as the file writes it (masked here)
        "source_file": "unionpay/zm.txt", "source_line": 1,
    }  # fmt: skip
    payments = out.filter(pl.col("kind") == "payment")
    assert payments.height == 50
    assert payments["amount_minor"].to_list() == [1000 + 137 * i for i in range(50)]
    assert payments["fee_minor"].to_list() == [-((1000 + 137 * i) * 6 // 1000) for i in range(50)]

    refund = out.row(50, named=True)
    assert refund["kind"] == "refund" and refund["amount_minor"] == -500 and refund["fee_minor"] == 3
    assert refund["original_txn_id"] == rows[3]["query_id"] and refund["order_no"] == "ZZU202603020003"
    assert refund["channel_txn_id"] == "602603000000000000050" and refund["status_detail"] is None
    assert refund["occurred_at"] == datetime(2026, 3, 2, 14, 15, 1, tzinfo=UTC)

    void = out.row(51, named=True)
    assert void["kind"] == "refund" and void["amount_minor"] == -(1000 + 137 * 7)
    assert void["fee_minor"] == (1000 + 137 * 7) * 6 // 1000 > 0
    assert void["original_txn_id"] == rows[7]["query_id"] and void["status"] == "succeeded"
    assert void["status_detail"] == "void: 交易代码 S31 消费撤销"
    # the void and its purchase cancel out
    assert out.filter(pl.col("order_no") == "ZZU202603020007")["amount_minor"].sum() == 0


def test_the_older_41_field_layout_reads_the_same():
    rows = day_rows()
    new = parse(render_unionpay_zm(rows))
    old_bytes = render_unionpay_zm([{**row, "raw": {"保留字段": "旧版保留".encode("gbk")}} for row in rows], layout="zm41")
    assert len(old_bytes) == len(render_unionpay_zm(rows))
    old = parse(old_bytes)
    assert old.file_error is None and old.quarantine.height == 0
    assert old.rows.drop("source_file").equals(new.rows.drop("source_file"))


def test_lf_and_crlf_give_the_same_rows_and_chunks_do_not_change_them():
    rows = day_rows()
    crlf = parse(render_unionpay_zm(rows))
    lf = parse(render_unionpay_zm(rows, line_end=b"\n", final_line_end=False))
    small = parse(render_unionpay_zm(rows), chunk_bytes=1024)  # about one record per chunk
    assert lf.rows.equals(crlf.rows) and small.rows.equals(crlf.rows)
    assert lf.fingerprint == crlf.fingerprint


def test_year_end_wrap_of_the_transfer_time():
    late = purchase(1, 100, 0, time="1231235959")
    early = purchase(2, 100, 0, time="0101000001")
    parsed = parse(render_unionpay_zm([late, early]), day=date(2027, 1, 1))
    assert parsed.rows["occurred_at"].to_list() == [
        datetime(2026, 12, 31, 15, 59, 59, tzinfo=UTC), datetime(2026, 12, 31, 16, 0, 1, tzinfo=UTC)
    ]
    parsed = parse(render_unionpay_zm([late, early]), day=date(2026, 12, 31))
    assert parsed.rows["occurred_at"][1] == datetime(2026, 12, 31, 16, 0, 1, tzinfo=UTC)


# -- recognising the file ---------------------------------------------------------------------------


def test_looks_like_unionpay_zm():
    data = render_unionpay_zm(day_rows())
    assert looks_like_unionpay_zm(data[:8192])
    assert looks_like_unionpay_zm(data[:700])  # one complete record, the next cut off
    assert looks_like_unionpay_zm(render_unionpay_zm(day_rows(), layout="zm41")[:4096])
    assert not looks_like_unionpay_zm(data[:600])  # no complete record
    assert looks_like_unionpay_zm(data[:607])  # a one-record file without a final line end
    assert not looks_like_unionpay_zm((FIXTURES / "wechatpay_tradebill_ALL_20260302.csv").read_bytes()[:8192])
    assert not looks_like_unionpay_zm((FIXTURES / "camt053_SAMPLEBANK_20260303.xml").read_bytes()[:8192])
    noise = random.Random(6).randbytes(8192)
    assert not looks_like_unionpay_zm(noise)
    assert not looks_like_unionpay_zm(b" " * 607 + b"\n")  # blank lines only
    shifted = data[:8192].replace(b"0302", b"03X2", 1)
    assert not looks_like_unionpay_zm(shifted)


# -- assumptions broken: the file is rejected, loudly -----------------------------------------------


def test_an_unknown_code_rejects_the_file_naming_a1():
    rows = day_rows()
    rows[4] = {**rows[4], "code": "S99"}
    parsed = parse(render_unionpay_zm(rows))
    error = parsed.file_error
    assert error is not None and error.reason_code == "ASSUMPTION_BROKEN" and error.line == 5
    assert error.message.startswith("assumption A1 (交易代码 values) broken: line 5 has 交易代码 'S99'")
    entry = parsed.quarantine.row(0, named=True)
    assert (entry["source_line"], entry["column"], entry["value"], entry["reason_code"]) == (5, "交易代码", "S99", "UNKNOWN_ENUM")
    assert parsed.row_count == 51
    assert_accounted(parsed)


def test_a_bad_sign_marker_rejects_the_file_naming_a2():
    rows = day_rows()
    rows[9] = {**rows[9], "raw": {"商户手续费": b"-000000000006"}}
    parsed = parse(render_unionpay_zm(rows))
    error = parsed.file_error
    assert error is not None and error.reason_code == "ASSUMPTION_BROKEN" and error.line == 10
    assert "assumption A2" in error.message and "商户手续费" in error.message
    assert parsed.quarantine.filter(pl.col("source_line") == 10)["column"].to_list() == ["商户手续费"]
    assert_accounted(parsed)


def test_a_header_line_rejects_the_file_naming_a6():
    data = "交易代码 交易金额\r\n".encode("gbk") + render_unionpay_zm(day_rows())
    parsed = parse(data)
    error = parsed.file_error
    assert error is not None and error.reason_code == "ASSUMPTION_BROKEN" and error.line == 1
    assert error.message == "assumption A6 (no header or footer) broken: line 1 is 17 bytes, not a 607-byte record (a header?)"
    assert parsed.lines == LineCounts(physical=53, unread=53) and parsed.rows.height == 0


def test_cr_only_line_ends_reject_the_file_naming_a5():
    error = parse(render_unionpay_zm(day_rows()[:3], line_end=b"\r")).file_error
    assert error is not None and error.reason_code == "ASSUMPTION_BROKEN" and "A5" in error.message


# -- bad lines: quarantined, the run goes on ---------------------------------------------------------


def test_non_digits_in_the_amount_quarantine_the_line():
    rows = day_rows()
    rows[2] = {**rows[2], "raw": {"交易金额": b"0000001,3.74"}}
    parsed = parse(render_unionpay_zm(rows))
    assert parsed.file_error is None
    entries = parsed.quarantine
    assert entries.height == 1
    entry = entries.row(0, named=True)
    assert (entry["source_line"], entry["column"], entry["value"], entry["reason_code"]) == (
        3, "交易金额", "0000001,3.74", "BAD_AMOUNT"
    )
    rejected = parsed.rejected.row(0, named=True)
    assert rejected["source_line"] == 3 and rejected["channel_txn_id"] == "602603000000000000002"
    assert rejected["kind"] == "payment" and rejected["amount_minor"] is None
    assert parsed.row_count == 51
    assert_accounted(parsed)


def test_a_short_line_is_quarantined_and_a_cut_last_line_truncates():
    data = render_unionpay_zm(day_rows())
    lines = data.split(b"\r\n")
    lines[5] = lines[5][:400]
    parsed = parse(b"\r\n".join(lines))
    assert parsed.file_error is None
    entry = parsed.quarantine.row(0, named=True)
    assert (entry["source_line"], entry["reason_code"]) == (6, "FIELD_COUNT")
    assert entry["reason"] == "line 6 is 400 bytes; a ZM record is 607"
    assert_accounted(parsed)

    cut = parse(data[:-300])
    assert cut.file_error is not None and cut.file_error.reason_code == "TRUNCATED" and cut.file_error.line == 52
    assert_accounted(cut)


def test_invalid_gbk_in_a_text_field_is_quarantined():
    rows = day_rows()
    rows[11] = {**rows[11], "raw": {"二级商户简称": "知竹".encode("gbk") + b"\x81\x20\xff"}}
    parsed = parse(render_unionpay_zm(rows))
    assert parsed.file_error is None
    entry = parsed.quarantine.row(0, named=True)
    assert (entry["source_line"], entry["column"], entry["reason_code"]) == (12, "二级商户简称", "DECODE_ERROR")
    assert "\\x81" in entry["value"]
    assert parsed.row_count == 51
    assert_accounted(parsed)


def test_other_bad_values():
    rows = day_rows()
    rows[0] = {**rows[0], "time": "0230120000"}  # no such date
    rows[1] = {**rows[1], "raw": {"查询流水号": b""}}  # no id
    rows[50] = {**rows[50], "orig_query_id": None}  # a refund without its payment
    rows[20] = {**rows[20], "raw": {"商户订单号": "订单".encode("gbk")}}  # not ASCII
    rows[30] = {**rows[30], "raw": {"商户手续费": b"D0000000000x6"}}  # marker fine, digits not
    parsed = parse(render_unionpay_zm(rows))
    assert parsed.file_error is None
    found = {(e["source_line"], e["column"], e["reason_code"]) for e in parsed.quarantine.iter_rows(named=True)}
    assert found == {
        (1, "交易传输时间", "BAD_DATE"), (2, "查询流水号", "REQUIRED_EMPTY"), (51, "原交易查询流水号", "REQUIRED_EMPTY"),
        (21, "商户订单号", "BAD_CHAR"), (31, "商户手续费", "BAD_AMOUNT"),
    }  # fmt: skip
    assert parsed.row_count == 47
    assert_accounted(parsed)


def test_a_broken_separator_is_named():
    data = bytearray(render_unionpay_zm(day_rows()))
    data[607 + 2 + 3] = ord("|")  # line 2, the byte after 交易代码
    parsed = parse(bytes(data))
    entry = parsed.quarantine.row(0, named=True)
    assert (entry["source_line"], entry["column"], entry["reason_code"]) == (2, "交易代码", "FORMAT_VIOLATION")
    assert "A8" in entry["reason"]
    assert_accounted(parsed)


def test_too_many_bad_lines_reject_the_file():
    rows = [{**row, "raw": {"交易金额": b"x"}} for row in day_rows()]
    parsed = parse(render_unionpay_zm(rows), max_problem_lines=10)
    assert parsed.file_error is not None and parsed.file_error.reason_code == "TOO_MANY_BAD_ROWS"
    assert parsed.rejected_count == 52 and parsed.row_count == 0 and parsed.lines.data == 52
    assert parsed.quarantine["source_line"].drop_nulls().n_unique() == 10
    assert parsed.quarantine["reason_code"][-1] == "TOO_MANY_BAD_ROWS"


def test_empty_and_blank_files():
    empty = parse(b"").file_error
    assert empty is not None and empty.reason_code == "EMPTY_FILE"
    blank = parse(b"\r\n  \r\n")
    assert blank.file_error is None and blank.lines == LineCounts(physical=2, blank=2)


@pytest.mark.parametrize("layout", ["zm42", "zm41"])
def test_renderer_is_deterministic(layout: str):
    assert render_unionpay_zm(day_rows(), layout=layout) == render_unionpay_zm(day_rows(), layout=layout)


def test_corrupted_files_never_raise_and_every_line_is_accounted_for():
    clean = render_unionpay_zm(day_rows())
    rng = random.Random(2026)
    for _ in range(25):
        data = bytearray(clean)
        for _ in range(rng.randint(1, 6)):
            data[rng.randrange(len(data))] = rng.choice(b"\x00\n\r \x81\xffA9CD-")
        parsed = parse(bytes(data), chunk_bytes=rng.choice([8192, 1 << 20]))
        lines = parsed.lines
        assert lines.physical == bytes(data).count(b"\n") + (0 if data.endswith(b"\n") else 1)
        if lines.unread:
            continue
        assert_accounted(parsed)
        ChannelTxn.validate(parsed.rows, lazy=True)
