from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from schemas.alipay import ALIPAY_TRADE_COLUMNS
from transforms.adapters.alipay import (
    cross_check_alipay_summary,
    looks_like_alipay_trade_detail,
    looks_like_alipay_trade_summary,
    parse_alipay_trade_detail,
    parse_alipay_trade_summary,
)
from transforms.archive import unpack
from transforms.parsed import Limits, LineCounts, ParseContext

FIXTURES = Path(__file__).parents[2] / "fixtures" / "formats"
DETAIL = FIXTURES / "alipay_20886413579246800156_20260302_业务明细.csv"
SUMMARY = FIXTURES / "alipay_20886413579246800156_20260302_业务明细(汇总).csv"
ZIP = FIXTURES / "alipay_20886413579246800156_20260302.csv.zip"
DAY = date(2026, 3, 2)


def parse(data: bytes, day: date = DAY):
    return parse_alipay_trade_detail(data, "alipay/detail.csv", ParseContext(business_date=day))


def parse_summary(data: bytes):
    return parse_alipay_trade_summary(data, "alipay/summary.csv", ParseContext(business_date=DAY))


def with_field(line_no: int, column: str, value: str) -> bytes:
    lines = DETAIL.read_bytes().decode("gb18030").split("\r\n")
    fields = lines[line_no - 1].split(",")
    fields[ALIPAY_TRADE_COLUMNS.index(column)] = value
    lines[line_no - 1] = ",".join(fields)
    return "\r\n".join(lines).encode("gb18030")


def reasons(parsed) -> set[tuple[int, str | None, str]]:
    return {
        (r["source_line"], r["column"], r["reason_code"]) for r in parsed.quarantine.iter_rows(named=True)
    }


def assert_sample_detail(parsed) -> None:
    assert parsed.file_error is None and parsed.quarantine.height == 0
    rows = parsed.rows
    payments, refunds = rows.filter(pl.col("kind") == "payment"), rows.filter(pl.col("kind") == "refund")
    assert (payments.height, refunds.height) == (13, 3)
    assert payments["amount_minor"].sum() == 394530  # 交易 商家实收 3945.30
    assert refunds["amount_minor"].sum() == -34300  # 退款 商家实收 −343.00
    assert payments["discount_minor"].sum() == 3000
    assert rows["fee_minor"].sum() == -2163  # 服务费 −23.69 + 2.06
    assert rows["fee_exact"].sum() == Decimal("-21.63000")
    assert rows["amount_minor"].sum() + rows["fee_minor"].sum() == 358067  # 实收净额 3580.67
    assert all(c.ok and c.verifiable for c in parsed.controls)
    assert {c.name: c.footer for c in parsed.controls} == {
        "交易合计笔数": Decimal(13),
        "交易合计商家实收": Decimal("3945.30"),
        "交易合计商家优惠": Decimal("30.00"),
        "退款合计笔数": Decimal(3),
        "退款合计商家实收": Decimal("-343.00"),
        "退款合计商家优惠": Decimal("0.00"),
    }
    # 25 physical = 16 data + 1 header + 4 preamble + 4 footer
    assert parsed.lines == LineCounts(physical=25, data=16, header=1, preamble=4, footer=4)
    assert parsed.merchant_account == "20886413579246800156" and parsed.statement_date == DAY


def test_sample_detail_csv():
    parsed = parse(DETAIL.read_bytes())
    assert_sample_detail(parsed)
    refund = parsed.rows.filter(pl.col("source_line") == 8).row(0, named=True)
    assert refund["channel_txn_id"] == "ZZR20260302A01"  # tab stripped
    assert refund["original_txn_id"] == "2026022822001254027230175032"
    assert (refund["amount_minor"], refund["order_amount_minor"], refund["fee_minor"]) == (-12900, -12900, 77)
    assert refund["occurred_at"] == datetime(2026, 3, 2, 1, 15, 20, tzinfo=UTC)  # 完成时间 09:15:20 Beijing
    # 对方账户, masked by Alipay itself and in Chinese: buyer_id as written, tab stripped
    assert refund["buyer_id"] == "*楠(zhan***@sina.com)"
    buyers = dict(parsed.rows.select("source_line", "buyer_id").iter_rows())
    assert (buyers[6], buyers[7], buyers[11]) == ("*婷(139****5120)", "**峰(lif***@126.com)", "*婷(139****5120)")
    discount = parsed.rows.filter(pl.col("source_line") == 10).row(0, named=True)
    assert (discount["order_amount_minor"], discount["amount_minor"], discount["discount_minor"]) == (
        29800,
        26800,
        3000,
    )


def test_sample_zip_members():
    members = {m.name: m.data for m in unpack(ZIP.read_bytes(), ZIP.name)}
    detail_name = "20886413579246800156_20260302_业务明细.csv"
    summary_name = "20886413579246800156_20260302_业务明细(汇总).csv"
    assert set(members) == {detail_name, summary_name}
    assert looks_like_alipay_trade_detail(members[detail_name])
    assert looks_like_alipay_trade_summary(members[summary_name])
    assert not looks_like_alipay_trade_detail(members[summary_name])
    detail = parse_alipay_trade_detail(
        members[detail_name], f"alipay/{ZIP.name}!{detail_name}", ParseContext(business_date=DAY)
    )
    assert_sample_detail(detail)
    summary = parse_alipay_trade_summary(
        members[summary_name], f"alipay/{ZIP.name}!{summary_name}", ParseContext(business_date=DAY)
    )
    assert cross_check_alipay_summary(detail, summary) == []


def test_sample_summary():
    summary = parse_summary(SUMMARY.read_bytes())
    assert summary.file_error is None and summary.rows.height == 0
    assert (summary.role, summary.format) == ("reference", "alipay_trade_summary")
    assert {c.name: c.footer for c in summary.controls} == {
        "交易订单总笔数": Decimal(13),
        "退款订单总笔数": Decimal(3),
        "订单金额": Decimal("3632.30"),
        "商家实收": Decimal("3602.30"),
        "商家优惠": Decimal("30.00"),
        "服务费": Decimal("-21.63"),
        "实收净额": Decimal("3580.67"),
    }
    assert cross_check_alipay_summary(parse(DETAIL.read_bytes()), summary) == []


def test_cross_check_fails_on_a_tampered_summary():
    tampered = SUMMARY.read_bytes().replace(b"3580.67", b"3590.67").replace(b",13,3,", b",14,3,")
    problems = cross_check_alipay_summary(parse(DETAIL.read_bytes()), parse_summary(tampered))
    text = " | ".join(problems)
    assert "交易订单总笔数: the 汇总 says 14, the 业务明细 has 13 lines" in text
    assert "实收净额: the 汇总 says 3590.67, the 业务明细 lines give 3580.67" in text


def test_tab_padding_missing_is_fine():
    assert parse(DETAIL.read_bytes().replace(b"\t", b"")).rows.equals(parse(DETAIL.read_bytes()).rows)


def test_utf8_re_encoded_file_is_header_mismatch():
    utf8 = DETAIL.read_bytes().decode("gb18030").encode("utf-8")
    assert parse(utf8).file_error.reason_code == "HEADER_MISMATCH"


def test_truncated_multibyte_character_is_decode_error():
    data = DETAIL.read_bytes()
    cut = data[: data.index("业务明细列表结束".encode("gb18030")) + 1]  # half of 业
    error = parse(cut).file_error
    assert error.reason_code == "DECODE_ERROR" and error.line == 22


def test_truncated_mid_row():
    lines = DETAIL.read_bytes().split(b"\r\n")
    cut = b"\r\n".join(lines[:20]) + b"\r\n" + b",".join(lines[20].split(b",")[:7])
    parsed = parse(cut)
    assert parsed.file_error.reason_code == "TRUNCATED" and "7 of 25 fields" in parsed.file_error.message
    assert parsed.rows.height == 15 and parsed.rejected["source_line"].to_list() == [21]


def test_footer_count_off_is_control_total_mismatch():
    data = DETAIL.read_bytes().replace(
        "#交易合计：13笔".encode("gb18030"), "#交易合计：12笔".encode("gb18030")
    )
    error = parse(data).file_error
    assert error.reason_code == "CONTROL_TOTAL_MISMATCH"
    assert "交易合计笔数: footer says 12, rows give 13" in error.message


def test_wrong_date():
    assert parse(DETAIL.read_bytes(), day=date(2026, 3, 3)).file_error.reason_code == "WRONG_DATE"


@pytest.mark.parametrize(
    ("column", "value", "code"),
    [
        ("商家实收（元）", "1,234.50", "FIELD_COUNT"),
        ("商家实收（元）", "128.805", "SCALE_EXCEEDED"),
        ("订单金额（元）", "¥128.80", "BAD_AMOUNT"),
        ("业务类型", "冻结\t", "UNKNOWN_ENUM"),
        ("完成时间", "2026-02-30 08:05:36", "BAD_DATE"),
        ("商家实收（元）", "-128.80", "SIGN_VIOLATION"),
        ("支付宝交易号", "\t", "REQUIRED_EMPTY"),
        ("备注", "a\x07b", "BAD_CHAR"),
    ],
)
def test_bad_rows_are_quarantined(column, value, code):
    parsed = parse(with_field(6, column, value))
    assert {code} == {reason for _, _, reason in reasons(parsed)}
    assert parsed.rows.height == 15 and parsed.rejected["source_line"].to_list() == [6]


def test_refund_without_refund_id():
    parsed = parse(with_field(8, "退款批次号/请求号", "\t"))
    assert reasons(parsed) == {(8, "退款批次号/请求号", "REQUIRED_EMPTY")}
    assert parsed.rejected.row(0, named=True)["kind"] == "refund"


def test_positive_refund_is_a_sign_violation():
    assert reasons(parse(with_field(8, "商家实收（元）", "129.00"))) == {
        (8, "商家实收（元）", "SIGN_VIOLATION")
    }


def test_footer_missing():
    lines = DETAIL.read_bytes().split(b"\r\n")
    assert parse(b"\r\n".join(lines[:21]) + b"\r\n").file_error.reason_code == "FOOTER_MISSING"


# -- the columnar reader: chunking, sinks, facts ----------------------------------------------------


def with_lines(edit) -> bytes:
    lines = DETAIL.read_bytes().decode("gb18030").split("\r\n")
    edit(lines)
    return "\r\n".join(lines).encode("gb18030")


def long_lines(lines: list[str]) -> None:
    """Pad every detail line's 备注 past 1 KiB, the smallest chunk: each line becomes its own chunk."""
    for index in range(5, 21):
        fields = lines[index].split(",")
        fields[ALIPAY_TRADE_COLUMNS.index("备注")] = "x" * 1100 + "\t"
        lines[index] = ",".join(fields)


CORRUPTED = {
    "sample": lambda: DETAIL.read_bytes(),
    "bad fields": lambda: with_lines(
        lambda lines: (
            lines.__setitem__(5, lines[5].replace("128.80", "128.805", 1)),  # SCALE_EXCEEDED
            lines.__setitem__(8, lines[8] + ",extra"),  # FIELD_COUNT, controls not verifiable
            lines.__setitem__(10, lines[10].replace("\t,", "\x07\t,", 1)),  # BAD_CHAR
            lines.insert(12, "\u3000 \t"),  # a blank line
        )
    ),
    "sign and refund id": lambda: with_field(8, "商家实收（元）", "129.00").replace(b"ZZR20260302A01", b""),
    "truncated": lambda: DETAIL.read_bytes()[: DETAIL.read_bytes().index(b"\r\n#---", 1500) - 40],
    "one line per chunk": lambda: with_lines(long_lines),
    "one line per chunk, bad lines": lambda: with_lines(
        lambda lines: (long_lines(lines), lines.__setitem__(9, lines[9].replace("交易", "冻结", 1)), lines.insert(14, ""))
    ),
}


@pytest.mark.parametrize("name", list(CORRUPTED))
def test_chunk_size_does_not_change_the_result(name):
    data = CORRUPTED[name]()
    default = parse_alipay_trade_detail(data, "alipay/detail.csv", ParseContext(business_date=DAY))
    tiny = parse_alipay_trade_detail(
        data, "alipay/detail.csv", ParseContext(business_date=DAY, limits=Limits(chunk_bytes=1))
    )
    assert tiny.rows.equals(default.rows) and tiny.rejected.equals(default.rejected)
    assert tiny.quarantine.equals(default.quarantine)
    assert (tiny.controls, tiny.lines, tiny.facts) == (default.controls, default.lines, default.facts)
    assert repr(tiny.file_error) == repr(default.file_error)
    assert (tiny.row_count, tiny.rejected_count) == (default.row_count, default.rejected_count)
    clean = name in ("sample", "one line per chunk")
    assert (default.quarantine.height == 0 and default.file_error is None) == clean


class RecordingSink:
    """Records what an adapter sends, chunk by chunk."""

    def __init__(self):
        self.row_frames: list[pl.DataFrame] = []
        self.rejected_frames: list[pl.DataFrame] = []
        self.discarded = False

    def rows(self, frame):
        self.row_frames.append(frame)

    def rejected(self, frame):
        self.rejected_frames.append(frame)

    def discard(self):
        self.discarded = True
        self.row_frames.clear()
        self.rejected_frames.clear()


def test_rows_go_to_the_sink():
    data = with_field(6, "完成时间", "2026-02-30 08:05:36")
    collected = parse(data)
    sink = RecordingSink()
    parsed = parse_alipay_trade_detail(
        data, "alipay/detail.csv", ParseContext(business_date=DAY, sink=sink, limits=Limits(chunk_bytes=1))
    )
    assert len(sink.row_frames) > 1  # sent chunk by chunk
    assert pl.concat(sink.row_frames).equals(collected.rows)
    assert pl.concat(sink.rejected_frames)["source_line"].to_list() == [6]
    assert parsed.rows.height == 0 and parsed.rejected.height == 0
    assert (parsed.row_count, parsed.rejected_count) == (15, 1) == (collected.rows.height, collected.rejected.height)
    assert parsed.quarantine.equals(collected.quarantine) and parsed.controls == collected.controls
    # the cross-check reads the facts, not the rows that left
    summary = parse_summary(SUMMARY.read_bytes())
    assert cross_check_alipay_summary(parsed, summary) == cross_check_alipay_summary(collected, summary)


def test_undecodable_file_takes_back_what_was_sent():
    data = DETAIL.read_bytes()
    data = data.replace("#交易合计".encode("gb18030"), b"#\x81\x20")
    sink = RecordingSink()
    parsed = parse_alipay_trade_detail(
        data, "alipay/detail.csv", ParseContext(business_date=DAY, sink=sink, limits=Limits(chunk_bytes=1))
    )
    assert sink.discarded and not sink.row_frames and parsed.row_count == 0
    assert parsed.file_error.reason_code == "DECODE_ERROR" and parsed.file_error.line == 23
    at = data.index(b"#\x81") + 1
    assert parsed.file_error.message.startswith(f"not valid gb18030 at byte {at} (line 23)")


def test_sample_facts():
    assert parse(DETAIL.read_bytes()).facts == {
        "交易订单总笔数": Decimal(13),
        "退款订单总笔数": Decimal(3),
        "订单金额": Decimal("3632.30"),
        "商家实收": Decimal("3602.30"),
        "商家优惠": Decimal("30.00"),
        "服务费": Decimal("-21.63"),
        "实收净额": Decimal("3580.67"),
    }


@pytest.mark.parametrize(
    ("column", "value", "expected"),
    [
        ("业务类型", "冻结", ["交易订单总笔数 not verifiable: a rejected 业务明细 line has no readable 业务类型"]),
        ("商家实收（元）", "x", ["商家实收 not verifiable: 1 业务明细 line(s) were rejected"]),
        ("完成时间", "x", []),
    ],
)
def test_cross_check_with_a_rejected_line(column, value, expected):
    problems = cross_check_alipay_summary(parse(with_field(6, column, value)), parse_summary(SUMMARY.read_bytes()))
    rest = [f"{name} not verifiable: 1 业务明细 line(s) were rejected" for name in ("订单金额", "商家优惠", "服务费", "实收净额")]
    assert set(problems) == set(expected + rest) and len(problems) == len(expected) + 4


def test_lone_carriage_return_before_a_separator_is_a_bad_character():
    data = with_lines(lambda lines: lines.__setitem__(6, lines[6].replace("\t,", "\t\r,", 1)))
    parsed = parse(data)
    assert reasons(parsed) == {(7, "支付宝交易号", "BAD_CHAR")}
    assert parsed.rejected["channel_txn_id"].to_list() == ["2026030222001714964729299942\t\r"]  # as the line says


def test_whitespace_only_lines_are_blank():
    parsed = parse(with_lines(lambda lines: [lines.insert(10, text) for text in ("\u3000", "\x0c", " \t")]))
    assert parsed.quarantine.height == 0 and parsed.file_error is None
    assert parsed.lines == LineCounts(physical=28, data=16, header=1, preamble=4, footer=4, blank=3)


def test_too_many_bad_lines_reject_the_file():
    data = with_lines(lambda lines: [lines.__setitem__(i, lines[i].replace("交易", "冻结", 1)) for i in range(5, 12)])
    parsed = parse_alipay_trade_detail(
        data, "alipay/detail.csv", ParseContext(business_date=DAY, limits=Limits(max_problem_lines=2))
    )
    assert parsed.file_error.reason_code == "TOO_MANY_BAD_ROWS"
    assert parsed.quarantine["reason_code"].to_list() == ["UNKNOWN_ENUM", "UNKNOWN_ENUM", "TOO_MANY_BAD_ROWS"]
    assert parsed.row_count + parsed.rejected_count == 16  # every data line is accounted for


def test_field_over_the_byte_limit():
    limits = Limits(max_field_bytes=40)
    parsed = parse_alipay_trade_detail(
        with_field(6, "商品名称", "长" * 14), "alipay/detail.csv", ParseContext(business_date=DAY, limits=limits)
    )
    assert reasons(parsed) == {(6, "商品名称", "LIMIT_EXCEEDED")}
    tab_padded = with_field(6, "支付宝交易号", "2026030222001008609898346163" + "\t" * 20)  # only its padding is long
    assert parse_alipay_trade_detail(
        tab_padded, "alipay/detail.csv", ParseContext(business_date=DAY, limits=limits)
    ).quarantine.height == 0


def test_oversized_summary_is_refused_undecoded():
    parsed = parse_summary(SUMMARY.read_bytes() + b"#" * (5 * 1024 * 1024))
    assert parsed.file_error.reason_code == "LIMIT_EXCEEDED" and parsed.controls == ()
