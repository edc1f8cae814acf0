from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import polars as pl
import pytest

from sample_data.render_fundflow import render_wechat_fundflow
from schemas.canonical import BalanceMove
from transforms.adapters.wechatpay_fundflow import looks_like_wechatpay_fundflow, parse_wechatpay_fundflow
from transforms.parsed import Limits, LineCounts, ParseContext

DAY = date(2026, 3, 2)
OPENING = 1_000_000  # 10000.00 yuan before the day's first move


def day_moves() -> list[dict[str, object]]:
    """A realistic day: 14 payments each with its fee, 3 refunds, a fee refund, a withdrawal, a transfer, a coupon."""
    moves: list[dict[str, object]] = []
    balance = OPENING

    def move(minute: int, name: str, kind_word: str, amount: int, ref: str, **extra: object) -> None:
        nonlocal balance
        balance += amount
        n = len(moves) + 1
        moves.append({
            "time": f"2026-03-02 {9 + minute // 60:02d}:{minute % 60:02d}:{n:02d}", "business_ref": ref,
            "move_id": f"1900000{n:06d}2026030200{n:04d}", "business_name": name, "business_type": kind_word,
            "amount": amount, "balance": balance, "applicant": "system", **extra,
        })  # fmt: skip

    for i in range(14):
        paid = 1999 + 1013 * i
        ref = f"42000029{i:04d}202603021234{i:06d}"
        move(3 * i, "交易", "交易", paid, ref)
        move(3 * i + 1, "交易", "扣除交易手续费", -((paid * 6 + 500) // 1000), ref)
    for i in (1, 4, 9):
        ref = f"50300019{i:04d}202603021234{i:06d}"
        move(50 + i, "退款", "退款", -(1999 + 1013 * i), ref, applicant="1601959334API",
             memo=f"退款总金额{(1999 + 1013 * i) / 100:.2f}元;含手续费0.00元")  # fmt: skip
    move(61, "退款", "退还交易手续费", 18, "503000190004202603021234000004")
    move(70, "充值/提现", "提现", -50_000, "", memo="提现到银行卡")
    move(75, "企业付款", "企业付款", -1_000, "10101093542026030200000001")
    move(80, "代金券/立减/折扣", "代金券/立减/折扣", 300, "")
    return moves


def parse(data: bytes, **limits: int):
    context = ParseContext(business_date=DAY, limits=Limits(**limits)) if limits else ParseContext(business_date=DAY)
    return parse_wechatpay_fundflow(data, "wechatpay/fundflow_20260302.csv", context)


def reasons(parsed) -> list[tuple[int, str | None, str]]:
    return [(r["source_line"], r["column"], r["reason_code"]) for r in parsed.quarantine.iter_rows(named=True)]


def controls(parsed) -> dict[str, tuple[Decimal, Decimal | None]]:
    return {c.name: (c.footer, c.parsed) for c in parsed.controls}


def edit_line(data: bytes, line_no: int, old: str, new: str) -> bytes:
    lines = data.decode("utf-8").split("\r\n")
    assert old in lines[line_no - 1]
    lines[line_no - 1] = lines[line_no - 1].replace(old, new, 1)
    return "\r\n".join(lines).encode("utf-8")


def test_a_day_parses_into_signed_moves_with_balances_and_good_controls():
    moves = day_moves()
    data = render_wechat_fundflow(moves)
    assert looks_like_wechatpay_fundflow(data)
    parsed = parse(data)
    assert parsed.file_error is None, parsed.file_error
    assert (parsed.format, parsed.role, parsed.channel) == ("wechatpay_fundflow", "fund_flow", "wechatpay")
    assert parsed.quarantine.height == 0 and parsed.rejected.height == 0
    rows = parsed.rows
    assert rows.height == len(moves) == 35
    BalanceMove.validate(rows)
    assert not any(dtype.is_float() for dtype in rows.schema.values())
    assert rows["amount_minor"].to_list() == [m["amount"] for m in moves]
    assert rows["balance_minor"].to_list() == [m["balance"] for m in moves]
    assert rows["kind"].value_counts().sort("kind").rows() == [
        ("fee", 14), ("fee_refund", 1), ("other", 1), ("payment", 14), ("refund", 3), ("transfer", 1),
        ("withdrawal", 1),
    ]  # fmt: skip
    withdrawal = rows.filter(pl.col("kind") == "withdrawal").row(0, named=True)
    assert withdrawal["amount_minor"] == -50_000 and withdrawal["business_type"] == "充值/提现|提现"
    assert withdrawal["business_ref"] is None and withdrawal["order_no"] is None
    assert withdrawal["merchant_account"] is None
    first = rows.row(0, named=True)
    assert first["move_id"] == moves[0]["move_id"] and first["business_ref"] == moves[0]["business_ref"]
    assert first["occurred_at"] == datetime(2026, 3, 2, 1, 0, 1, tzinfo=UTC)  # 09:00:01 Beijing
    assert first["settle_date"] == DAY and first["currency"] == "CNY" and first["source_line"] == 2
    income = sum(m["amount"] for m in moves if m["amount"] >= 0)
    expense = -sum(m["amount"] for m in moves if m["amount"] < 0)
    assert controls(parsed) == {
        "资金流水总笔数": (Decimal(35), Decimal(35)),
        "收入笔数": (Decimal(16), Decimal(16)),
        "收入金额": (Decimal(income).scaleb(-2), Decimal(income).scaleb(-2)),
        "支出笔数": (Decimal(19), Decimal(19)),
        "支出金额": (Decimal(expense).scaleb(-2), Decimal(expense).scaleb(-2)),
        "账户结余 continuity": (Decimal(0), Decimal(0)),
    }
    assert all(c.ok and c.verifiable for c in parsed.controls)
    assert parsed.lines == LineCounts(physical=38, data=35, header=1, footer=2)
    assert parsed.statement_date == DAY


def test_full_width_header_bom_lf_and_decimal_counts_give_the_same_rows():
    moves = day_moves()
    plain = parse(render_wechat_fundflow(moves))
    other = parse(render_wechat_fundflow(moves, full_width=True, counts_with_decimal=True, bom=True, newline="\n"))
    data = render_wechat_fundflow(moves, full_width=True, counts_with_decimal=True)
    assert "收支金额（元）".encode() in data and b"`35.0,`16.0," in data
    assert other.file_error is None
    assert other.rows.equals(plain.rows)
    assert controls(other) == controls(plain)


def test_reordered_columns_are_read_by_name():
    moves = day_moves()[:3]
    lines = render_wechat_fundflow(moves).decode().split("\r\n")
    order = [1, 0, *range(2, 11)]
    for i in range(4):
        fields = lines[i].split(",")
        lines[i] = ",".join(fields[j] for j in order)
    parsed = parse("\r\n".join(lines).encode())
    assert parsed.file_error is None
    assert parsed.rows["amount_minor"].to_list() == [m["amount"] for m in moves]


def test_unknown_words_are_other_not_rejected():
    moves = day_moves()[:2]
    moves[1] = {**moves[1], "business_name": "神秘业务", "business_type": "新类型"}
    parsed = parse(render_wechat_fundflow(moves))
    assert parsed.file_error is None and parsed.quarantine.height == 0
    assert parsed.rows["kind"].to_list() == ["payment", "other"]
    assert parsed.rows["business_type"][1] == "神秘业务|新类型"


def test_a_broken_balance_is_a_failed_continuity_control():
    moves = day_moves()
    moves[9] = {**moves[9], "balance": moves[9]["balance"] + 100}  # line 11 says 1.00 more than it should
    parsed = parse(render_wechat_fundflow(moves))
    assert controls(parsed)["账户结余 continuity"] == (Decimal(0), Decimal(2))  # line 11, and line 12 after it
    assert parsed.file_error is not None and parsed.file_error.reason_code == "CONTROL_TOTAL_MISMATCH"
    assert parsed.file_error.line == 11 and "账户结余 continuity" in parsed.file_error.message
    assert parsed.quarantine.height == 0 and parsed.rows.height == 35  # the rows are still read


def test_balance_continuity_holds_across_chunks():
    data = render_wechat_fundflow(day_moves())
    parsed = parse(data, chunk_bytes=1024)
    assert parsed.file_error is None
    assert controls(parsed)["账户结余 continuity"] == (Decimal(0), Decimal(0))
    assert parsed.rows.equals(parse(data).rows)
    broken = day_moves()
    broken[20] = {**broken[20], "balance": broken[20]["balance"] - 1}
    assert controls(parse(render_wechat_fundflow(broken), chunk_bytes=1024))["账户结余 continuity"][1] == 2


def test_a_wrong_summary_total_is_control_total_mismatch():
    data = render_wechat_fundflow(day_moves())
    lines = data.decode().split("\r\n")
    fields = lines[37].split(",")
    fields[4] = "`1.00"
    lines[37] = ",".join(fields)
    parsed = parse("\r\n".join(lines).encode())
    assert parsed.file_error is not None and parsed.file_error.reason_code == "CONTROL_TOTAL_MISMATCH"
    assert "支出金额: summary says 1.00" in parsed.file_error.message
    assert not {c.name: c for c in parsed.controls}["支出金额"].ok


def test_a_bad_amount_is_quarantined_naming_file_line_and_column():
    parsed = parse(edit_line(render_wechat_fundflow(day_moves()), 2, "`19.99", "`1,9.99"))  # 12 fields
    assert reasons(parsed) == [(2, None, "FIELD_COUNT")]
    data = render_wechat_fundflow(day_moves())
    line = data.decode().split("\r\n")[3]
    amount = line.split(",")[6]
    parsed = parse(edit_line(data, 4, amount, "`12.345"))
    assert reasons(parsed) == [(4, "收支金额(元)", "SCALE_EXCEEDED")]
    entry = parsed.quarantine.row(0, named=True)
    assert entry["source_file"] == "wechatpay/fundflow_20260302.csv" and entry["value"] == "12.345"
    assert parsed.rows.height == 34 and parsed.rejected.height == 1
    assert parsed.rejected["channel_txn_id"][0] == day_moves()[2]["move_id"]
    # the line's amount cannot be read: the sums and the continuity are not verifiable, not wrong
    assert controls(parsed)["收入金额"][1] is None and controls(parsed)["账户结余 continuity"][1] is None
    assert controls(parsed)["收入笔数"] == (Decimal(16), Decimal(16))  # its direction is still readable
    assert controls(parsed)["支出金额"][1] == controls(parsed)["支出金额"][0]
    assert controls(parsed)["资金流水总笔数"] == (Decimal(35), Decimal(35))
    assert parsed.file_error is None


def test_signed_amount_and_unknown_direction_are_quarantined():
    data = render_wechat_fundflow(day_moves())
    amount = data.decode().split("\r\n")[2].split(",")[6]
    parsed = parse(edit_line(edit_line(data, 3, amount, "`-" + amount[1:]), 6, "`收入", "`进账"))
    assert reasons(parsed) == [(3, "收支金额(元)", "SIGN_VIOLATION"), (6, "收支类型", "UNKNOWN_ENUM")]
    assert parsed.rows.height == 33


def test_missing_backtick_and_bad_character_are_quarantined():
    data = render_wechat_fundflow(day_moves())
    parsed = parse(edit_line(edit_line(data, 2, ",`交易,", ",交易,"), 7, "`system", "`sys\x00tem"))
    assert reasons(parsed) == [(2, "业务名称", "FORMAT_VIOLATION"), (7, "资金变更提交申请人", "BAD_CHAR")]


@pytest.mark.parametrize(
    ("mutate", "code"),
    [
        (lambda d: b"", "EMPTY_FILE"),
        (lambda d: d.decode().encode("gbk"), "HEADER_MISMATCH"),
        (lambda d: d[: d.index("资金流水总笔数".encode())], "FOOTER_MISSING"),
        (lambda d: d[: d.index("资金流水总笔数".encode()) - 30], "TRUNCATED"),
        (lambda d: d.replace("收入笔数".encode(), "收入单数".encode()), "FOOTER_INVALID"),
        (lambda d: d.replace(b"\xe4\xba\xa4\xe6\x98\x93", b"\xff\xfe", 3), "DECODE_ERROR"),
        (lambda d: d.replace("业务凭证号".encode(), "凭证".encode()), "HEADER_MISMATCH"),
    ],
)
def test_bad_files_are_rejected_with_a_reason(mutate, code):
    parsed = parse(mutate(render_wechat_fundflow(day_moves())))
    assert parsed.file_error is not None and parsed.file_error.reason_code == code, parsed.file_error


def test_another_days_bill_is_wrong_date():
    moves = [{**m, "time": str(m["time"]).replace("2026-03-02", "2026-03-01")} for m in day_moves()]
    parsed = parse(render_wechat_fundflow(moves))
    assert parsed.file_error is not None and parsed.file_error.reason_code == "WRONG_DATE"
    assert parsed.statement_date == date(2026, 3, 1)


def test_header_and_zero_summary_is_an_empty_day():
    parsed = parse(render_wechat_fundflow([]))
    assert parsed.file_error is None and parsed.rows.height == 0
    assert controls(parsed)["资金流水总笔数"] == (Decimal(0), Decimal(0))


def test_the_renderer_and_the_schema_spell_the_header_alike():
    from sample_data import render_fundflow
    from schemas import wechatpay

    assert render_fundflow.WECHATPAY_FUNDFLOW_COLUMNS == wechatpay.WECHATPAY_FUNDFLOW_COLUMNS
    assert render_fundflow.WECHATPAY_FUNDFLOW_SUMMARY_COLUMNS == wechatpay.WECHATPAY_FUNDFLOW_SUMMARY_COLUMNS


def test_a_top_up_is_other_and_only_an_outgoing_one_is_a_withdrawal():
    moves = day_moves()[:1]
    moves.append({**moves[0], "move_id": "1900000000999", "business_name": "充值/提现", "business_type": "充值",
                  "amount": 10_000, "balance": int(moves[0]["balance"]) + 10_000})  # fmt: skip
    parsed = parse(render_wechat_fundflow(moves))
    assert parsed.file_error is None and parsed.rows["kind"].to_list() == ["payment", "other"]


def test_blank_lines_are_counted_and_every_line_has_one_role():
    data = render_wechat_fundflow(day_moves())
    lines = data.decode().split("\r\n")
    lines[10:10] = ["", "  "]
    parsed = parse(("\r\n".join(lines) + "\r\n").encode())
    assert parsed.file_error is None and parsed.rows.height == 35
    lines_ = parsed.lines
    assert lines_ == LineCounts(physical=41, data=35, header=1, footer=2, blank=3)
    assert lines_.physical == lines_.data + lines_.header + lines_.footer + lines_.blank


def test_past_the_problem_limit_the_file_is_rejected_and_every_line_accounted_for():
    moves = [{**m, "move_id": ""} if i % 2 else m for i, m in enumerate(day_moves())]  # 17 lines without an id
    parsed = parse(render_wechat_fundflow(moves), max_problem_lines=3, chunk_bytes=1024)
    assert parsed.file_error is not None and parsed.file_error.reason_code == "TOO_MANY_BAD_ROWS"
    assert parsed.rows.height + parsed.rejected.height == 35
    assert parsed.quarantine["reason_code"].to_list()[-1] == "TOO_MANY_BAD_ROWS"
