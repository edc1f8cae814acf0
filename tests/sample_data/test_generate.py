"""Tests of the sample-data generator and its answer key.

The files are re-read here with small independent parsers (never transforms/ or flows/), so the
answer key is checked against what was actually written.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections import Counter
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from sample_data.generate import ALIPAY_ACCOUNT, WECHAT_MCHID, contracted_fee, generate, main
from sample_data.render_unionpay import ZM42

START = date(2026, 3, 2)
MISSING = [("alipay", date(2026, 3, 3))]
REJECTED = [("alipay", date(2026, 3, 4))]
DATES = [START + timedelta(days=i) for i in range(3)]
REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures" / "formats"
CST = timezone(timedelta(hours=8))

ALL_OUTCOMES = {
    "matched",
    "matched_fallback",
    "amount_mismatch",
    "currency_mismatch",
    "status_mismatch",
    "fee_mismatch",
    "missing_in_ledger",
    "missing_in_channel",
    "in_transit",
    "void",
    "duplicate",
    "quarantined",
    "unexplained",
    "resolved_late",
    "settlement_item",
}


def fen(text: str) -> int:
    d = Decimal(text)
    assert d == d.quantize(Decimal("0.01")), text
    return int(d * 100)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("gen")
    dates = generate(
        out,
        start=START,
        days=3,
        seed=7,
        rows_per_channel=60,
        missing=MISSING,
        rejected=REJECTED,
        bank_format="camt053",  # the MT940 days: test_generate_formats.py
    )
    assert dates == DATES
    return out


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def answers(root: Path, d: date) -> list[dict[str, str]]:
    text = (root / "answers" / f"{d.isoformat()}.csv").read_bytes().decode("utf-8")
    assert text.splitlines()[0] == "source,source_file,source_line,outcome,key,scenario"
    return list(csv.DictReader(io.StringIO(text)))


# ------------------------------------------------------------------------- independent readers


def read_member(day_dir: Path, rel: str) -> bytes:
    if "!" in rel:
        archive, member = rel.split("!", 1)
        with zipfile.ZipFile(day_dir / archive) as zf:
            for info in zf.infolist():
                assert not info.flag_bits & 0x800
                if info.filename.encode("cp437").decode("gbk") == member:
                    return zf.read(info)
        raise AssertionError(f"{member} not in {archive}")
    return (day_dir / rel).read_bytes()


def wechat_rows(data: bytes) -> tuple[list[tuple[int, list[str]]], list[str]]:
    assert data.startswith(b"\xef\xbb\xbf")
    assert b"\r\n" in data and b"\n" not in data.replace(b"\r\n", b"")
    lines = data.decode("utf-8-sig").split("\r\n")
    assert lines[-1] == ""
    lines = lines[:-1]
    assert lines[0].startswith("交易时间,") and lines[-2].startswith("总交易单数,")
    rows = []
    for n, line in enumerate(lines[1:-2], start=2):
        assert line.startswith("`")
        rows.append((n, [f[1:] for f in line.split(",")]))
    summary = [f[1:] for f in lines[-1].split(",")]
    return rows, summary


def alipay_rows(data: bytes) -> tuple[list[tuple[int, list[str]]], list[str]]:
    lines = data.decode("gbk").split("\r\n")
    assert lines[-1] == ""
    lines = lines[:-1]
    assert [ln.startswith("#") for ln in lines[:4]] == [True] * 4
    assert lines[4].startswith("支付宝交易号,")
    rows = [
        (n, [f.strip("\t ") for f in line.split(",")])
        for n, line in enumerate(lines, start=1)
        if n > 5 and not line.startswith("#")
    ]
    footer = [ln for ln in lines[5:] if ln.startswith("#")]
    return rows, footer


def ledger_rows(day_dir: Path, rel: str) -> list[tuple[int, dict[str, str]]]:
    if rel.endswith(".parquet"):
        table = pq.read_table(day_dir / rel)
        assert all(str(t) == "string" for t in table.schema.types)
        return list(enumerate(table.to_pylist(), start=1))
    text = (day_dir / rel).read_bytes().decode("utf-8")
    assert (
        text.splitlines()[0]
        == "entry_id,order_no,payment_id,channel,channel_txn_id,kind,amount,currency,status,booked_at"
    )
    return [(n, row) for n, row in enumerate(csv.DictReader(io.StringIO(text)), start=2)]


def camt_entries(data: bytes, ccy: str = "[A-Z]{3}") -> list[tuple[int, str, int, bool, str]]:
    """(line, AcctSvcrRef, amount, credit, AddtlNtryInf) of every entry (of currency ``ccy``)."""
    lines = data.decode("utf-8").split("\n")
    out = []
    for i, line in enumerate(lines, start=1):
        if line.strip() == "<Ntry>":
            block = "\n".join(lines[i - 1 : i + 25])
            m = re.search(rf"<Amt Ccy=\"{ccy}\">(.*?)</Amt>", block)
            if m is None:
                continue
            ref = re.search(r"<AcctSvcrRef>(.*?)</AcctSvcrRef>", block).group(1)
            amt = fen(m.group(1))
            credit = re.search(r"<CdtDbtInd>(.*?)</CdtDbtInd>", block).group(1) == "CRDT"
            info = re.search(r"<AddtlNtryInf>(.*?)</AddtlNtryInf>", block).group(1)
            out.append((i, ref, amt, credit, info))
    return out


def wechat_fundflow_rows(data: bytes) -> list[tuple[int, list[str]]]:
    """(line, fields) of the 资金账单's detail lines (UTF-8, CRLF, backticked fields)."""
    lines = data.decode("utf-8").split("\r\n")
    assert lines[0].startswith("记账时间,") and lines[-1] == "" and lines[-3].startswith("资金流水总笔数,")
    return [(n, [f[1:] for f in line.split(",")]) for n, line in enumerate(lines[1:-3], start=2)]


def alipay_account_rows(data: bytes) -> list[tuple[int, list[str]]]:
    """(line, fields) of the 账务明细's lines (GBK, CRLF, # preamble and footer, TAB after ids)."""
    lines = data.decode("gbk").split("\r\n")
    assert [ln.startswith("#") for ln in lines[:4]] == [True] * 4 and lines[4].startswith("账务流水号,")
    return [
        (n, [f.strip("\t ") for f in line.split(",")])
        for n, line in enumerate(lines, start=1)
        if n > 5 and line and not line.startswith("#")
    ]


def zm_records(data: bytes) -> list[tuple[int, dict[str, str]]]:
    """(line, fields) of a ZM file, cut by the byte widths of the renderer's 42-field table."""
    assert data.endswith(b"\r\n")
    out = []
    for n, line in enumerate(data.split(b"\r\n")[:-1], start=1):
        fields, at = {}, 0
        for name, width in ZM42:
            fields[name] = line[at : at + width].decode("gbk").strip()
            at += width + 1
        assert at - 1 == len(line)
        out.append((n, fields))
    return out


def mt940_refs(data: bytes) -> list[tuple[int, str]]:
    """(line, bank reference) of every ``:61:`` line of an MT940 file."""
    lines = data.decode("ascii").split("\r\n")
    return [(n, line.split("//", 1)[1]) for n, line in enumerate(lines, start=1) if line.startswith(":61:")]


def data_rows_of_day(root: Path, d: date) -> list[tuple[str, str, int, str]]:
    """(source, source_file, source_line, key) of every data row in inbox/d, read from the files."""
    day_dir = root / "inbox" / d.isoformat()
    found = []
    for p in sorted(day_dir.rglob("*")):
        if not p.is_file():
            continue
        rel = p.relative_to(day_dir).as_posix()
        top = rel.split("/")[0]
        if top == "wechatpay" and "fundflow" in rel:
            found += [("channel", rel, n, f[2]) for n, f in wechat_fundflow_rows(p.read_bytes())]
        elif top == "alipay" and rel.endswith("_账务明细.csv"):
            found += [("channel", rel, n, f[0]) for n, f in alipay_account_rows(p.read_bytes())]
        elif top == "unionpay":
            found += [("channel", rel, n, rec["查询流水号"]) for n, rec in zm_records(p.read_bytes())]
        elif top == "wechatpay":
            rows, _ = wechat_rows(p.read_bytes())
            found += [("channel", rel, n, f[14] if f[9] == "REFUND" else f[5]) for n, f in rows]
        elif top == "alipay":
            if rel.endswith(".zip"):
                with zipfile.ZipFile(p) as zf:
                    names = [i.filename.encode("cp437").decode("gbk") for i in zf.infolist()]
                members = [(f"{rel}!{n}", read_member(day_dir, f"{rel}!{n}")) for n in names]
            else:
                members = [(rel, p.read_bytes())]
            for mrel, data in members:
                if "(汇总)" in mrel:
                    continue
                rows, _ = alipay_rows(data)
                found += [("channel", mrel, n, f[21] if f[2] == "退款" else f[0]) for n, f in rows]
        elif top == "ledger":
            found += [("ledger", rel, n, row["entry_id"]) for n, row in ledger_rows(day_dir, rel)]
        elif top == "bank" and rel.endswith(".sta"):
            found += [("bank", rel, n, ref) for n, ref in mt940_refs(p.read_bytes())]
        elif top == "bank":
            found += [("bank", rel, n, ref) for n, ref, *_ in camt_entries(p.read_bytes())]
        elif top == "stripe":
            text = p.read_bytes().decode("utf-8")
            found += [
                ("channel", rel, n, row[0]) for n, row in enumerate(csv.reader(io.StringIO(text)), 1) if n > 1
            ]
        elif top == "paypal":
            text = p.read_bytes().decode("utf-8")
            found += [
                ("channel", rel, n, row[1])
                for n, row in enumerate(csv.reader(io.StringIO(text)), 1)
                if row[0] == "SB"
            ]
        else:
            raise AssertionError(rel)
    return found


# ------------------------------------------------------------------------- tests


def test_deterministic(tmp_path: Path) -> None:
    kw = dict(start=START, days=3, seed=11, rows_per_channel=55, missing=MISSING, rejected=REJECTED)
    generate(tmp_path / "a", **kw)
    generate(tmp_path / "b", **kw)
    a, b = _tree(tmp_path / "a"), _tree(tmp_path / "b")
    assert a == b
    generate(tmp_path / "c", **{**kw, "seed": 12})
    assert _tree(tmp_path / "c") != a


def test_layout(run: Path) -> None:
    files = sorted(_tree(run / "inbox"))
    assert "2026-03-02/alipay/20886413579246800156_20260302.csv.zip" in files
    assert not any(f.startswith("2026-03-03/alipay/") for f in files)  # missing
    assert "2026-03-04/alipay/20886413579246800156_20260304.csv.zip" in files
    assert "2026-03-04/ledger/ledger_20260304.parquet" in files
    for d in DATES:
        ymd = d.strftime("%Y%m%d")
        assert f"{d}/wechatpay/wechatpay_tradebill_ALL_{ymd}.csv" in files
        assert f"{d}/bank/camt053_{ymd}.xml" in files
        assert f"{d}/stripe/stripe_balance_change_from_activity_itemized_{ymd}.csv" in files
        assert f"{d}/paypal/STL-{ymd}.01.009.CSV" in files


def test_bare_alipay_csvs_on_odd_days(tmp_path: Path) -> None:
    generate(tmp_path, start=START, days=2, seed=3, rows_per_channel=10)
    names = sorted(p.name for p in (tmp_path / "inbox" / "2026-03-03" / "alipay").iterdir())
    assert names == [
        f"{ALIPAY_ACCOUNT}_20260303_业务明细(汇总).csv",
        f"{ALIPAY_ACCOUNT}_20260303_业务明细.csv",
        f"{ALIPAY_ACCOUNT}_20260303_账务明细.csv",  # the fund flow, every day
    ]


@pytest.mark.parametrize("d", DATES)
def test_answer_key_covers_every_data_row_once(run: Path, d: date) -> None:
    key = answers(run, d)
    from_key = Counter((r["source"], r["source_file"], int(r["source_line"]), r["key"]) for r in key)
    from_files = Counter(data_rows_of_day(run, d))
    assert from_key == from_files
    assert all(v == 1 for v in from_key.values())  # one line per physical data row
    assert {r["outcome"] for r in key} <= ALL_OUTCOMES


def test_every_outcome_class_is_covered(run: Path) -> None:
    rows = [r for d in DATES for r in answers(run, d)]
    by_source = {s: {r["outcome"] for r in rows if r["source"] == s} for s in ("channel", "ledger", "bank")}
    assert by_source["channel"] >= {
        "matched",
        "matched_fallback",
        "amount_mismatch",
        "currency_mismatch",
        "status_mismatch",
        "fee_mismatch",
        "missing_in_ledger",
        "duplicate",
        "quarantined",
        "resolved_late",
        "settlement_item",
    }
    assert by_source["ledger"] >= {
        "matched",
        "matched_fallback",
        "amount_mismatch",
        "currency_mismatch",
        "status_mismatch",
        "fee_mismatch",
        "missing_in_channel",
        "in_transit",
        "void",
        "duplicate",
        "quarantined",
        "resolved_late",
    }
    assert by_source["bank"] == {"matched", "in_transit", "amount_mismatch", "unexplained"}
    assert set().union(*by_source.values()) == ALL_OUTCOMES
    # the missing and the rejected Alipay day
    missing_day = answers(run, date(2026, 3, 3))
    assert not any(r["source_file"].startswith("alipay/") for r in missing_day)
    assert any(
        r["outcome"] == "in_transit" and r["scenario"].endswith("/statement_missing") for r in missing_day
    )
    rejected_day = answers(run, date(2026, 3, 4))
    alipay = [r for r in rejected_day if r["source_file"].startswith("alipay/")]
    trade = [r for r in alipay if "账务明细" not in r["source_file"]]
    assert trade and all(r["outcome"] == "quarantined" for r in trade)
    # the fund flow is not the statement: its lines stay settlement items
    assert all(r["outcome"] == "settlement_item" for r in alipay if "账务明细" in r["source_file"])


def test_matched_pairs_agree_and_fees_are_contracted(run: Path) -> None:
    """Cross-check the plan: what the key calls matched really agrees in the files, and vice versa."""
    for d in DATES:
        day_dir = run / "inbox" / d.isoformat()
        key = {(r["source_file"], int(r["source_line"])): r for r in answers(run, d)}
        ch_rows = []  # (channel, kind, id, amount, fee, answer row, time)
        for rel in {r["source_file"] for r in key.values() if r["source"] == "channel"}:
            if rel.startswith(("stripe/", "paypal/")):
                continue  # checked in test_generate_usd.py
            if rel.startswith("unionpay/") or "fundflow" in rel or "账务明细" in rel:
                continue  # checked in test_generate_formats.py
            data = read_member(day_dir, rel)
            if rel.startswith("wechatpay/"):
                rows, _ = wechat_rows(data)
                for n, f in rows:
                    refund = f[9] == "REFUND"
                    amount = fen(f[16] if refund else f[12])
                    fee = abs(int(Decimal(f[22]) * 100))
                    assert f[22].endswith("000")
                    t = datetime.fromisoformat(f[0]).time()
                    ch_rows.append(
                        (
                            "wechatpay",
                            "refund" if refund else "payment",
                            f[14] if refund else f[5],
                            amount,
                            fee,
                            key[(rel, n)],
                            t,
                        )
                    )
            else:
                rows, _ = alipay_rows(data)
                for n, f in rows:
                    refund = f[2] == "退款"
                    amount = abs(fen(f[12]))
                    fee = abs(fen(f[22]))
                    t = datetime.fromisoformat(f[5]).time()
                    ch_rows.append(
                        (
                            "alipay",
                            "refund" if refund else "payment",
                            f[21] if refund else f[0],
                            amount,
                            fee,
                            key[(rel, n)],
                            t,
                        )
                    )
        ledger_rel = next(r["source_file"] for r in key.values() if r["source"] == "ledger")
        led = {}
        for n, row in ledger_rows(day_dir, ledger_rel):
            k = key[(ledger_rel, n)]
            if k["outcome"] == "quarantined":
                continue
            booked = datetime.fromisoformat(row["booked_at"].replace("Z", "+00:00")).astimezone(CST)
            assert booked.date() == d, row  # a 'Z' row belongs to the file of its Asia/Shanghai date
            if k["outcome"] == "in_transit" and "/statement_" not in k["scenario"]:
                assert booked.time() >= datetime(2000, 1, 1, 23, 30).time()
            elif k["outcome"] in ("missing_in_channel", "void", "matched", "matched_fallback"):
                assert (
                    datetime(2000, 1, 1, 0, 30).time() <= booked.time() < datetime(2000, 1, 1, 23, 30).time()
                )
            if row["channel_txn_id"] and row["channel"] in ("wechatpay", "alipay"):
                led.setdefault((row["channel"], row["kind"], row["channel_txn_id"]), []).append((row, k))
        for chan, kind, cid, amount, fee, k, t in ch_rows:
            if k["scenario"].startswith("cross_midnight_"):  # paid within a minute of midnight, by design
                assert t >= datetime(2000, 1, 1, 23, 59).time() or t < datetime(2000, 1, 1, 0, 1).time()
            else:
                assert datetime(2000, 1, 1, 0, 30).time() <= t < datetime(2000, 1, 1, 23, 30).time()
            if not k["scenario"].startswith("fee_mismatch"):
                assert fee == contracted_fee(amount), (chan, cid)
            else:
                assert fee != contracted_fee(amount)
            if k["outcome"] in ("matched", "fee_mismatch"):
                ((row, lk),) = led[(chan, kind, cid)]
                assert lk["outcome"] == k["outcome"]
                assert (
                    fen(row["amount"]) == amount and row["currency"] == "CNY" and row["status"] == "succeeded"
                )
            elif k["outcome"] == "amount_mismatch":
                ((row, _),) = led[(chan, kind, cid)]
                assert fen(row["amount"]) != amount
            elif k["outcome"] == "currency_mismatch":
                ((row, _),) = led[(chan, kind, cid)]
                assert row["currency"] == "USD"
            elif k["outcome"] == "status_mismatch":
                ((row, _),) = led[(chan, kind, cid)]
                assert row["status"] in ("failed", "pending")
            elif k["outcome"] in ("missing_in_ledger", "matched_fallback"):
                assert (chan, kind, cid) not in led


def test_wechat_summary_equals_rows(run: Path) -> None:
    for d in DATES:
        p = run / "inbox" / d.isoformat() / "wechatpay" / f"wechatpay_tradebill_ALL_{d:%Y%m%d}.csv"
        rows, summary = wechat_rows(p.read_bytes())
        settle = sum(fen(f[12]) for _, f in rows)
        refund = sum(fen(f[16]) for _, f in rows)
        fee = sum(Decimal(f[22]) for _, f in rows)
        order = sum(fen(f[24]) for _, f in rows)
        requested = sum(fen(f[25]) for _, f in rows)
        assert summary == [
            str(len(rows)),
            f"{Decimal(settle) / 100:.2f}",
            f"{Decimal(refund) / 100:.2f}",
            "0.00",
            f"{fee:.5f}",
            f"{Decimal(order) / 100:.2f}",
            f"{Decimal(requested) / 100:.2f}",
        ]
        assert [f[23] for _, f in rows].count("0.38%") >= 1


def test_alipay_footer_and_summary_equal_rows(run: Path) -> None:
    for d in (date(2026, 3, 2), date(2026, 3, 4)):
        ymd = d.strftime("%Y%m%d")
        day_dir = run / "inbox" / d.isoformat()
        zip_rel = f"alipay/{ALIPAY_ACCOUNT}_{ymd}.csv.zip"
        rows, footer = alipay_rows(read_member(day_dir, f"{zip_rel}!{ALIPAY_ACCOUNT}_{ymd}_业务明细.csv"))
        pays = [f for _, f in rows if f[2] == "交易"]
        refs = [f for _, f in rows if f[2] == "退款"]
        off = 1 if d == date(2026, 3, 4) else 0  # the rejected day's count is off by one
        pay_recv = sum(fen(f[12]) for f in pays)
        ref_recv = sum(fen(f[12]) for f in refs)
        disc = sum(fen(f[16]) for f in pays)
        assert footer[1] == (
            f"#交易合计：{len(pays) + off}笔，商家实收共{Decimal(pay_recv) / 100:.2f}元，"
            f"商家优惠共{Decimal(disc) / 100:.2f}元"
        )
        assert (
            footer[2]
            == f"#退款合计：{len(refs)}笔，商家实收退款共{Decimal(ref_recv) / 100:.2f}元，商家优惠退款共0.00元"
        )
        summary = read_member(day_dir, f"{zip_rel}!{ALIPAY_ACCOUNT}_{ymd}_业务明细(汇总).csv").decode("gbk")
        total = next(ln for ln in summary.split("\r\n") if ln.startswith("合计,")).split(",")
        fees = sum(fen(f[22]) for _, f in rows)
        assert int(total[2]) == len(pays) and int(total[3]) == len(refs)
        assert fen(total[5]) == pay_recv + ref_recv and fen(total[9]) == fees
        assert fen(total[11]) == pay_recv + ref_recv + fees


def test_zip_member_names_are_gbk_without_utf8_flag(run: Path) -> None:
    p = run / "inbox" / "2026-03-02" / "alipay" / f"{ALIPAY_ACCOUNT}_20260302.csv.zip"
    with zipfile.ZipFile(p) as zf:
        infos = zf.infolist()
    assert [i.flag_bits & 0x800 for i in infos] == [0, 0]
    assert [i.filename.encode("cp437").decode("gbk") for i in infos] == [
        f"{ALIPAY_ACCOUNT}_20260302_业务明细.csv",
        f"{ALIPAY_ACCOUNT}_20260302_业务明细(汇总).csv",
    ]
    assert infos[0].date_time[:3] == (2026, 3, 3)


def test_camt_summary_balances_and_payouts(run: Path) -> None:
    closing_before = None
    for i, d in enumerate(DATES):
        whole = (run / "inbox" / d.isoformat() / "bank" / f"camt053_{d:%Y%m%d}.xml").read_text("utf-8")
        stmts = whole.split("    <Stmt>")[1:]
        assert [re.search(r"<Ccy>(\w+)</Ccy>", st).group(1) for st in stmts] == ["CNY", "USD"]
        text = stmts[0]  # the CNY account (the USD one: test_generate_usd.py)
        entries = camt_entries(whole.encode(), "CNY")
        credits = [a for _, _, a, c, _ in entries if c]
        debits = [a for _, _, a, c, _ in entries if not c]
        net = sum(credits) - sum(debits)
        m = re.search(
            r"<TtlNtries><NbOfNtries>(\d+)</NbOfNtries><Sum>([\d.]+)</Sum><TtlNetNtryAmt>([\d.]+)"
            r"</TtlNetNtryAmt><CdtDbtInd>(\w+)</CdtDbtInd>",
            text,
        )
        assert int(m.group(1)) == len(entries)
        assert fen(m.group(2)) == sum(credits) + sum(debits)
        assert fen(m.group(3)) == abs(net) and m.group(4) == ("CRDT" if net >= 0 else "DBIT")
        assert (
            re.search(rf"<TtlCdtNtries><NbOfNtries>{len(credits)}</NbOfNtries><Sum>([\d.]+)", text).group(1)
            == f"{Decimal(sum(credits)) / 100:.2f}"
        )
        bal = dict(
            re.findall(r"<Cd>(OPBD|CLBD|CLAV)</Cd></CdOrPrtry></Tp>\s*<Amt Ccy=\"CNY\">([\d.]+)</Amt>", text)
        )
        assert fen(bal["CLBD"]) == fen(bal["OPBD"]) + net
        if closing_before is not None:
            assert fen(bal["OPBD"]) == closing_before
        closing_before = fen(bal["CLBD"])
        # payouts of D-1: amount = net of D-1's bill (matched), or net - 1.00 (amount_mismatch)
        key = {r["key"]: r for r in answers(run, d) if r["source"] == "bank"}
        prev = d - timedelta(days=1)
        for _, ref, amount, credit, info in entries:
            outcome = key[ref]["outcome"]
            if info.startswith("WECHAT PAY SETTLEMENT"):
                assert info == f"WECHAT PAY SETTLEMENT {WECHAT_MCHID} {prev:%Y%m%d}" and credit
                if i > 0:
                    p = (
                        run
                        / "inbox"
                        / prev.isoformat()
                        / "wechatpay"
                        / f"wechatpay_tradebill_ALL_{prev:%Y%m%d}.csv"
                    )
                    _, s = wechat_rows(p.read_bytes())
                    expected = fen(s[1]) - fen(s[2]) - int(Decimal(s[4]) * 100)
                    assert amount == expected - (100 if outcome == "amount_mismatch" else 0)
                    assert outcome in ("matched", "amount_mismatch")
                else:
                    assert outcome == "in_transit"
            elif info.startswith("ALIPAY WITHDRAWAL"):
                assert info == f"ALIPAY WITHDRAWAL {ALIPAY_ACCOUNT} {prev:%Y%m%d}" and credit
                expected_outcome = "matched" if prev == date(2026, 3, 2) else "in_transit"
                assert outcome == expected_outcome
                if outcome == "matched":
                    zrel = f"alipay/{ALIPAY_ACCOUNT}_{prev:%Y%m%d}.csv.zip!{ALIPAY_ACCOUNT}_{prev:%Y%m%d}_业务明细(汇总).csv"
                    summary = read_member(run / "inbox" / prev.isoformat(), zrel).decode("gbk")
                    total = next(ln for ln in summary.split("\r\n") if ln.startswith("合计,")).split(",")
                    assert amount == fen(total[11])
            elif info.startswith("UNIONPAY SETTLEMENT"):  # test_generate_formats.py
                assert outcome == ("in_transit" if i == 0 else "matched")
            else:
                assert outcome == "unexplained"


def test_structure_lines_match_the_format_samples(run: Path) -> None:
    sample = (
        (FIXTURES / "wechatpay_tradebill_ALL_20260302.csv").read_bytes().decode("utf-8-sig").split("\r\n")
    )
    ours = (run / "inbox/2026-03-02/wechatpay/wechatpay_tradebill_ALL_20260302.csv").read_bytes()
    ours_lines = ours.decode("utf-8-sig").split("\r\n")
    assert ours_lines[0] == sample[0] and ours_lines[-3] == sample[-3]
    assert len(ours_lines[1].split(",")) == len(sample[1].split(",")) == 27
    sample_a = (
        (FIXTURES / f"alipay_{ALIPAY_ACCOUNT}_20260302_业务明细.csv").read_bytes().decode("gbk").split("\r\n")
    )
    ours_a = read_member(
        run / "inbox/2026-03-02",
        f"alipay/{ALIPAY_ACCOUNT}_20260302.csv.zip!{ALIPAY_ACCOUNT}_20260302_业务明细.csv",
    )
    ours_a_lines = ours_a.decode("gbk").split("\r\n")
    assert ours_a_lines[:5] == sample_a[:5]
    assert ours_a_lines[-5] == sample_a[-5]  # end marker
    sample_s = (FIXTURES / f"alipay_{ALIPAY_ACCOUNT}_20260302_业务明细(汇总).csv").read_bytes().decode("gbk")
    ours_s = read_member(
        run / "inbox/2026-03-02",
        f"alipay/{ALIPAY_ACCOUNT}_20260302.csv.zip!{ALIPAY_ACCOUNT}_20260302_业务明细(汇总).csv",
    )
    s_lines, o_lines = sample_s.split("\r\n"), ours_s.decode("gbk").split("\r\n")
    assert o_lines[:5] == s_lines[:5] and o_lines[7] == s_lines[7]


def test_small_runs_still_cover_every_outcome(tmp_path: Path) -> None:
    generate(tmp_path, start=START, days=2, seed=5, rows_per_channel=5)
    rows = [r for d in DATES[:2] for r in answers(tmp_path, d)]
    assert {r["outcome"] for r in rows} == ALL_OUTCOMES
    for d in DATES[:2]:
        day = {r["outcome"] for r in answers(tmp_path, d) if r["source"] != "bank"}
        carried_in = set() if d == DATES[0] else {"resolved_late"}  # the first day has nothing to close
        # settlement items: the Stripe Radar fee is on even days, the PayPal EUR payment and withdrawal on most
        assert day >= ALL_OUTCOMES - {"unexplained", "resolved_late", "settlement_item"} | carried_in


def test_no_quarantined_option(tmp_path: Path) -> None:
    generate(tmp_path, start=START, days=2, seed=5, rows_per_channel=60, quarantined_rows=False)
    rows = [r for d in DATES[:2] for r in answers(tmp_path, d)]
    assert {r["outcome"] for r in rows} == ALL_OUTCOMES - {"quarantined"}
    assert not any(r["scenario"].startswith("quarantined_") for r in rows)


def test_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        generate(tmp_path, start=START, days=1, seed=1, missing=[("adyen", START)])
    with pytest.raises(ValueError):  # a ZM file has no control totals either
        generate(tmp_path, start=START, days=1, seed=1, rejected=[("unionpay", START)])
    with pytest.raises(ValueError):
        generate(tmp_path, start=START, days=1, seed=1, bank_format="bai2")
    with pytest.raises(ValueError):  # stripe is not generated in this run
        generate(
            tmp_path,
            start=START,
            days=1,
            seed=1,
            missing=[("stripe", START)],
            channels=("wechatpay", "alipay"),
        )
    with pytest.raises(ValueError):  # a Stripe report has no control totals to put off
        generate(tmp_path, start=START, days=1, seed=1, rejected=[("stripe", START)])
    with pytest.raises(ValueError):
        generate(tmp_path, start=START, days=1, seed=1, channels=("wechatpay", "stripe"))
    with pytest.raises(ValueError):
        generate(tmp_path, start=START, days=1, seed=1, channels=("wechatpay", "alipay", "adyen"))
    with pytest.raises(ValueError):
        generate(tmp_path, start=START, days=1, seed=1, rejected=[("alipay", START + timedelta(days=3))])


def test_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    assert "answer key" in capsys.readouterr().out
    assert (
        main(
            [
                "--out",
                str(tmp_path),
                "--start",
                "2026-03-02",
                "--days",
                "1",
                "--seed",
                "9",
                "--rows",
                "20",
                "--rejected",
                "wechatpay@2026-03-02",
            ]
        )
        == 0
    )
    key = answers(tmp_path, START)
    assert all(
        r["outcome"] == ("settlement_item" if "fundflow" in r["source_file"] else "quarantined")
        for r in key
        if r["source_file"].startswith("wechatpay/")
    )


def test_committed_week_is_reproducible(tmp_path: Path) -> None:
    committed = REPO / "sample_data"
    if not (committed / "inbox").is_dir():
        pytest.skip("committed sample week not generated yet")
    # The committed week was generated with the channels its inbox holds (all five since UnionPay, the
    # fund flows and MT940 days were added). Either way the same arguments give the same bytes.
    tops = {p.parent.name for p in (committed / "inbox").glob("*/*/*")}
    channels = [c for c in ("wechatpay", "alipay", "stripe", "paypal", "unionpay") if c in tops]
    generate(tmp_path, start=START, days=7, seed=20260302, rows_per_channel=200, channels=channels)
    assert _tree(tmp_path / "inbox") == _tree(committed / "inbox")
    assert _tree(tmp_path / "answers") == _tree(committed / "answers")
    total = sum(len(b) for b in _tree(committed / "inbox").values()) + sum(
        len(b) for b in _tree(committed / "answers").values()
    )
    assert total < 5_000_000


@pytest.mark.slow
def test_100k_rows_per_channel_is_fast(tmp_path: Path) -> None:
    import time

    t0 = time.perf_counter()
    generate(tmp_path, start=START, days=1, seed=1, rows_per_channel=100_000)
    assert time.perf_counter() - t0 < 30
    key = answers(tmp_path, START)
    assert sum(r["source_file"].startswith(("wechatpay/", "alipay/")) for r in key) == 200_000
