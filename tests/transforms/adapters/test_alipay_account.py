from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import polars as pl
import pytest

from sample_data.render_fundflow import ALIPAY_ACCOUNT_COLUMNS, render_alipay_account
from schemas.canonical import BalanceMove
from transforms.adapters.alipay_account import looks_like_alipay_account, parse_alipay_account
from transforms.parsed import Limits, LineCounts, ParseContext

DAY = date(2026, 3, 2)
ACCOUNT = "20886413579246800156"
OPENING = 2_500_000  # 25000.00 yuan before the day's first move
#: A newer export's header: reordered, with columns the classic file lacks.
NEWER_COLUMNS = (
    "发生时间", "账务流水号", "业务流水号", "业务基础订单号", "业务订单号", "商户订单号", "商品名称", "对方账号",
    "业务类型", "业务描述", "收入金额（+元）", "支出金额（-元）", "账户余额（元）", "交易渠道", "业务账单来源", "备注",
)  # fmt: skip


def day_moves() -> list[dict[str, object]]:
    """A realistic day: 12 payments each with its 收费 line, 3 refunds, a withdrawal, a transfer, an unknown word."""
    moves: list[dict[str, object]] = []
    balance = OPENING

    def move(minute: int, business_type: str, amount: int, ref: str, order: str = "", **extra: object) -> None:
        nonlocal balance
        balance += amount
        n = len(moves) + 1
        moves.append({
            "move_id": f"2026030211001004{n:08d}", "business_ref": ref, "order_no": order,
            "subject": "年卡" if business_type == "在线支付" else "", "business_type": business_type,
            "time": f"2026-03-02 {10 + minute // 60:02d}:{minute % 60:02d}:{n:02d}", "amount": amount,
            "balance": balance, "counterparty": "*津水(602***@qq.com)", "channel": "支付宝",
            "extra": {"业务描述": f"描述{n}", "业务账单来源": "商家", "业务基础订单号": ref, "业务订单号": ""},
            **extra,
        })  # fmt: skip

    for i in range(12):
        paid = 3000 + 1250 * i
        ref, order = f"2026030222001458860{i:09d}", f"SO2026030200{i:04d}"
        move(3 * i, "在线支付", paid, ref, order)
        move(3 * i + 1, "收费", -((paid * 6 + 500) // 1000), ref, order)
    for i in (2, 5, 7):
        move(40 + i, "交易退款", -(3000 + 1250 * i), f"2026030222001458860{i:09d}", f"SO2026030200{i:04d}")
    move(55, "提现", -100_000, "20260302200040011100560012345678", memo="提现到招商银行")
    move(58, "转账", -2_000, "20260302200040011100560087654321")
    move(59, "保证金", 500, "")
    return moves


def render(moves=None, **options) -> bytes:
    return render_alipay_account(day_moves() if moves is None else moves, account=ACCOUNT, day=DAY, **options)


def parse(data: bytes, **limits: int):
    context = ParseContext(business_date=DAY, limits=Limits(**limits)) if limits else ParseContext(business_date=DAY)
    return parse_alipay_account(data, "alipay/x.csv.zip!20886413579246800156_20260302_账务明细.csv", context)


def reasons(parsed) -> list[tuple[int, str | None, str]]:
    return [(r["source_line"], r["column"], r["reason_code"]) for r in parsed.quarantine.iter_rows(named=True)]


def controls(parsed) -> dict[str, tuple[Decimal, Decimal | None]]:
    return {c.name: (c.footer, c.parsed) for c in parsed.controls}


def edit_line(data: bytes, line_no: int, column: str, value: str, columns=ALIPAY_ACCOUNT_COLUMNS) -> bytes:
    lines = data.decode("gbk").split("\r\n")
    fields = lines[line_no - 1].split(",")
    fields[list(columns).index(column)] = value
    lines[line_no - 1] = ",".join(fields)
    return "\r\n".join(lines).encode("gbk")


def test_a_day_parses_into_signed_moves_with_balances_and_good_controls():
    moves = day_moves()
    data = render()
    assert looks_like_alipay_account(data)
    assert "\t".encode("gbk") + b"," in data  # ids carry Alipay's trailing TAB
    parsed = parse(data)
    assert parsed.file_error is None, parsed.file_error
    assert (parsed.format, parsed.role, parsed.channel) == ("alipay_account", "fund_flow", "alipay")
    assert parsed.quarantine.height == 0 and parsed.rejected.height == 0
    rows = parsed.rows
    assert rows.height == len(moves) == 30
    BalanceMove.validate(rows)
    assert not any(dtype.is_float() for dtype in rows.schema.values())
    assert rows["amount_minor"].to_list() == [m["amount"] for m in moves]
    assert rows["balance_minor"].to_list() == [m["balance"] for m in moves]
    assert rows["kind"].value_counts().sort("kind").rows() == [
        ("fee", 12), ("other", 1), ("payment", 12), ("refund", 3), ("transfer", 1), ("withdrawal", 1)
    ]
    first = rows.row(0, named=True)
    assert first == {
        "channel": "alipay", "merchant_account": ACCOUNT, "move_id": "202603021100100400000001",
        "business_ref": "2026030222001458860000000000", "order_no": "SO20260302000000", "kind": "payment",
        "amount_minor": 3000, "balance_minor": OPENING + 3000, "currency": "CNY",
        "occurred_at": datetime(2026, 3, 2, 2, 0, 1, tzinfo=UTC), "business_type": "在线支付", "settle_date": DAY,
        "source_file": "alipay/x.csv.zip!20886413579246800156_20260302_账务明细.csv", "source_line": 6,
    }  # fmt: skip
    other = rows.filter(pl.col("kind") == "other").row(0, named=True)
    assert other["business_type"] == "保证金" and other["business_ref"] is None and other["order_no"] is None
    income = sum(m["amount"] for m in moves if m["amount"] > 0)
    expense = sum(m["amount"] for m in moves if m["amount"] < 0)
    assert controls(parsed) == {
        "收入合计笔数": (Decimal(13), Decimal(13)),
        "收入合计金额": (Decimal(income).scaleb(-2), Decimal(income).scaleb(-2)),
        "支出合计笔数": (Decimal(17), Decimal(17)),
        "支出合计金额": (Decimal(-expense).scaleb(-2), Decimal(-expense).scaleb(-2)),
        "账户余额 continuity": (Decimal(0), Decimal(0)),
    }
    assert parsed.lines == LineCounts(physical=39, data=30, header=1, preamble=4, footer=4)
    assert parsed.statement_date == DAY and parsed.merchant_account == ACCOUNT


def test_reordered_extra_columns_and_comma_padded_footer_give_the_same_rows():
    classic = parse(render())
    data = render(columns=NEWER_COLUMNS, footer_padding=15)
    assert "#支出合计：".encode("gbk") in data and b"\xd4\xaa,,,,,,,,,,,,,,,\r\n" in data  # 元 then the commas
    newer = parse(data)
    assert newer.file_error is None, newer.file_error
    assert newer.rows.equals(classic.rows)
    assert controls(newer) == controls(classic)
    assert newer.lines == classic.lines


def test_balance_continuity_holds_across_chunks_and_a_break_fails_it():
    data = render()
    chunked = parse(data, chunk_bytes=1024)
    assert chunked.file_error is None and chunked.rows.equals(parse(data).rows)
    moves = day_moves()
    moves[15] = {**moves[15], "balance": moves[15]["balance"] - 1}  # line 21
    parsed = parse(render(moves), chunk_bytes=1024)
    assert controls(parsed)["账户余额 continuity"] == (Decimal(0), Decimal(2))
    assert parsed.file_error is not None and parsed.file_error.reason_code == "CONTROL_TOTAL_MISMATCH"
    assert parsed.file_error.line == 21 and "账户余额 continuity" in parsed.file_error.message
    assert parsed.rows.height == 30


def test_a_wrong_footer_total_is_control_total_mismatch():
    data = render().decode("gbk")
    start = data.index("#收入合计：13笔，共")
    end = data.index("元", start)
    parsed = parse((data[:start] + "#收入合计：13笔，共1.00" + data[end:]).encode("gbk"))
    assert parsed.file_error is not None and parsed.file_error.reason_code == "CONTROL_TOTAL_MISMATCH"
    assert "收入合计金额: footer says 1.00" in parsed.file_error.message


def test_a_negative_expense_total_in_the_footer_is_read_by_magnitude():
    data = render().decode("gbk")
    assert "#支出合计：17笔，共-" in data
    start = data.index("#支出合计：17笔，共-")
    positive = data[:start] + data[start:].replace("共-", "共", 1)
    assert parse(positive.encode("gbk")).file_error is None


def test_a_bad_amount_is_quarantined_naming_file_line_and_column():
    parsed = parse(edit_line(render(), 7, "收入金额（+元）", "30.001"))  # line 7: the first 收费 line
    assert reasons(parsed) == [(7, "收入金额（+元）", "SCALE_EXCEEDED")]
    entry = parsed.quarantine.row(0, named=True)
    assert entry["source_file"].endswith("_账务明细.csv") and entry["value"] == "30.001"
    assert parsed.rows.height == 29 and parsed.rejected.height == 1
    assert parsed.rejected["channel_txn_id"][0] == "202603021100100400000002"
    assert parsed.rejected.row(0, named=True)["kind"] == "fee" and parsed.rejected["amount_minor"][0] is None
    # the line's amount cannot be read: its direction neither, so every sum is not verifiable (not wrong)
    assert {name: parsed for name, (_, parsed) in controls(parsed).items()} == dict.fromkeys(controls(parsed), None)
    assert parsed.file_error is None


def test_both_or_neither_column_and_wrong_signs_are_quarantined():
    data = render()
    data = edit_line(data, 6, "支出金额（-元）", "-1.00")  # a payment with an expense too
    data = edit_line(data, 7, "支出金额（-元）", "0.00")  # a 收费 line with neither
    data = edit_line(data, 8, "收入金额（+元）", "-42.50")  # income written negative
    data = edit_line(edit_line(data, 9, "支出金额（-元）", "0.18"), 9, "收入金额（+元）", "")  # positive expense
    parsed = parse(data)
    assert reasons(parsed) == [
        (6, None, "FORMAT_VIOLATION"), (7, None, "FORMAT_VIOLATION"), (8, "收入金额（+元）", "SIGN_VIOLATION"),
        (9, "支出金额（-元）", "SIGN_VIOLATION"),
    ]  # fmt: skip
    assert parsed.rows.height == 26 and parsed.rejected.height == 4


def test_empty_other_column_counts_as_zero():
    data = edit_line(render(), 6, "支出金额（-元）", "")
    parsed = parse(data)
    assert parsed.file_error is None and parsed.quarantine.height == 0
    assert parsed.rows["amount_minor"][0] == 3000


def test_a_non_ascii_id_is_quarantined():
    parsed = parse(edit_line(render(), 10, "账务流水号", "２０２６\t"))
    assert reasons(parsed) == [(10, "账务流水号", "BAD_CHAR")]  # the id check of the raw model


@pytest.mark.parametrize(
    ("mutate", "code"),
    [
        (lambda d: b"", "EMPTY_FILE"),
        (lambda d: d.decode("gbk").encode("utf-8"), "HEADER_MISMATCH"),
        (lambda d: d[: d.index(b"#-", 200)], "FOOTER_MISSING"),
        (lambda d: d[: d.index(b"#-", 200) - 20], "TRUNCATED"),
        (lambda d: d[: d.index("#收入合计".encode("gbk"))], "FOOTER_MISSING"),
        (lambda d: d.replace("账户余额（元）".encode("gbk"), "余额".encode("gbk")), "MISSING_COLUMN"),
        (lambda d: d.replace("备注".encode("gbk"), "账务流水号".encode("gbk"), 1), "DUP_COLUMN"),
        (lambda d: d.replace("在线支付".encode("gbk"), b"\x81\x30", 1), "DECODE_ERROR"),
        (lambda d: d.replace("2026年03月02日 00".encode("gbk"), "2026年03月01日 00".encode("gbk")), "WRONG_DATE"),
    ],
)
def test_bad_files_are_rejected_with_a_reason(mutate, code):
    parsed = parse(mutate(render()))
    assert parsed.file_error is not None and parsed.file_error.reason_code == code, parsed.file_error


def test_header_and_zero_footer_is_an_empty_day():
    parsed = parse(render([]))
    assert parsed.file_error is None and parsed.rows.height == 0
    assert controls(parsed)["收入合计笔数"] == (Decimal(0), Decimal(0))


def test_the_renderer_and_the_schema_spell_the_classic_header_alike():
    from schemas.alipay import ALIPAY_ACCOUNT_COLUMNS as schema_columns

    assert schema_columns == ALIPAY_ACCOUNT_COLUMNS


def test_a_file_cut_inside_a_gbk_character_is_a_decode_error():
    data = render()
    cut = data.index("交易退款".encode("gbk")) + 1  # half of 交
    parsed = parse(data[:cut])
    assert parsed.file_error is not None and parsed.file_error.reason_code == "DECODE_ERROR"
    assert parsed.rows.height == 0


def test_blank_lines_are_counted_and_every_line_has_one_role():
    lines = render().decode("gbk").split("\r\n")
    lines[8:8] = ["", " \t "]
    parsed = parse("\r\n".join(lines).encode("gbk"))
    assert parsed.file_error is None and parsed.rows.height == 30
    counts = parsed.lines
    assert counts.physical == counts.data + counts.header + counts.preamble + counts.footer + counts.blank == 41


def test_past_the_problem_limit_the_file_is_rejected_and_every_line_accounted_for():
    moves = [{**m, "move_id": ""} if i % 2 else m for i, m in enumerate(day_moves())]  # 15 lines without an id
    parsed = parse(render(moves), max_problem_lines=3, chunk_bytes=1024)
    assert parsed.file_error is not None and parsed.file_error.reason_code == "TOO_MANY_BAD_ROWS"
    assert parsed.rows.height + parsed.rejected.height == 30
    assert parsed.quarantine["reason_code"].to_list()[-1] == "TOO_MANY_BAD_ROWS"


def test_rows_leave_through_the_sink_when_there_is_one():
    from transforms.parsed import CollectingSink

    sink = CollectingSink()
    context = ParseContext(business_date=DAY, sink=sink, limits=Limits(chunk_bytes=1024))
    parsed = parse_alipay_account(render(), "alipay/a.csv", context)
    assert parsed.file_error is None and parsed.rows.height == 0 and parsed.row_count == 30
    assert sum(frame.height for frame in sink.row_chunks) == 30 and len(sink.row_chunks) > 1
