"""The formats added to the sample week: UnionPay ZM, the two fund flows, MT940 bank statements.

Each new file is read back with the pipeline's own adapter (tests may import ``transforms``; the
generator itself never does) and must give exactly the rows its answer key lists.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest

from sample_data.generate import UNIONPAY_MERCHANT, generate, unionpay_fee
from sample_data.render_mt940 import swift_x
from sample_data.render_unionpay import ZM41, ZM42
from schemas.unionpay import ZM_LINE_BYTES
from transforms.adapters.alipay_account import parse_alipay_account
from transforms.adapters.camt053 import parse_camt053
from transforms.adapters.mt940 import parse_mt940
from transforms.adapters.unionpay import looks_like_unionpay_zm, parse_unionpay_zm
from transforms.adapters.wechatpay import parse_wechatpay_trade_bill
from transforms.adapters.wechatpay_fundflow import parse_wechatpay_fundflow
from transforms.parsed import ParseContext, ParsedFile

START = date(2026, 3, 2)
DAYS = 7
DATES = [START + timedelta(days=i) for i in range(DAYS)]
MISSING_UNIONPAY = START + timedelta(days=3)
REJECTED_BANK = START + timedelta(days=5)  # an MT940 day
KW: dict[str, object] = dict(
    start=START,
    days=DAYS,
    seed=17,
    rows_per_channel=48,
    missing=[("unionpay", MISSING_UNIONPAY)],
    rejected=[("bank", REJECTED_BANK)],
)
PAYOUT = re.compile(r"UNIONPAY SETTLEMENT (?P<account>\d+) (?P<date>\d{8})")  # flows/recon.default.toml


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("gen_formats")
    generate(out, **KW)  # type: ignore[arg-type]
    return out


def answers(root: Path, d: date) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO((root / "answers" / f"{d}.csv").read_text("utf-8"))))


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


PARSERS = {
    "unionpay": (parse_unionpay_zm, "channel_txn_id"),
    "wechatpay_fundflow": (parse_wechatpay_fundflow, "move_id"),
    "alipay_account": (parse_alipay_account, "move_id"),
    "mt940": (parse_mt940, "bank_ref"),
    "camt053": (parse_camt053, "bank_ref"),
}


def kind_of(rel: str) -> str | None:
    if rel.startswith("unionpay/"):
        return "unionpay"
    if rel.startswith("wechatpay/wechatpay_fundflow_"):
        return "wechatpay_fundflow"
    if rel.endswith("_账务明细.csv"):
        return "alipay_account"
    if rel.startswith("bank/mt940_"):
        return "mt940"
    if rel.startswith("bank/camt053_"):
        return "camt053"
    return None


def parse(root: Path, d: date, rel: str) -> ParsedFile:
    kind = kind_of(rel)
    assert kind is not None, rel
    return PARSERS[kind][0]((root / "inbox" / str(d) / rel).read_bytes(), rel, ParseContext(business_date=d))


def new_files(root: Path, d: date) -> list[str]:
    day_dir = root / "inbox" / str(d)
    return sorted(
        p.relative_to(day_dir).as_posix()
        for p in day_dir.rglob("*")
        if p.is_file() and kind_of(p.relative_to(day_dir).as_posix())
    )


# ------------------------------------------------------------------------- tests


def test_layout(run: Path) -> None:
    for i, d in enumerate(DATES):
        files = new_files(run, d)
        ymd = f"{d:%Y%m%d}"
        zm = f"unionpay/INN{d:%y%m%d}88ZM_{UNIONPAY_MERCHANT}"
        assert (zm in files) == (d != MISSING_UNIONPAY)
        assert f"wechatpay/wechatpay_fundflow_{ymd}.csv" in files
        assert f"alipay/20886413579246800156_{ymd}_账务明细.csv" in files
        bank = f"bank/mt940_{ymd}.sta" if i in (2, 5) else f"bank/camt053_{ymd}.xml"
        assert [f for f in files if f.startswith("bank/")] == [bank]


@pytest.mark.parametrize("d", DATES)
def test_each_new_file_parses_into_exactly_the_keyed_rows(run: Path, d: date) -> None:
    key = answers(run, d)
    for rel in new_files(run, d):
        parsed = parse(run, d, rel)
        kind = kind_of(rel)
        assert kind is not None
        if d == REJECTED_BANK and rel.startswith("bank/"):
            assert parsed.file_error is not None and parsed.file_error.reason_code == "CONTROL_TOTAL_MISMATCH"
        else:
            assert parsed.file_error is None, (rel, parsed.file_error)
        assert parsed.quarantine.height == 0, (rel, parsed.quarantine)
        got = sorted(
            zip(parsed.rows["source_line"].to_list(), parsed.rows[PARSERS[kind][1]].to_list(), strict=True)
        )
        expected = sorted((int(r["source_line"]), r["key"]) for r in key if r["source_file"] == rel)
        assert got == expected, rel
        rows = [r for r in key if r["source_file"] == rel]
        if kind in ("wechatpay_fundflow", "alipay_account"):
            assert {r["outcome"] for r in rows} == {"settlement_item"} and {r["source"] for r in rows} == {
                "channel"
            }
        if kind == "unionpay":
            assert {r["source"] for r in rows} == {"channel"}
            assert {r["outcome"] for r in rows} == {
                "matched",
                "amount_mismatch",
                "fee_mismatch",
                "missing_in_ledger",
            }


def test_fund_flow_balances_are_continuous_within_and_across_days(run: Path) -> None:
    closing: dict[str, int] = {}
    for d in DATES:
        for rel in new_files(run, d):
            kind = kind_of(rel)
            if kind not in ("wechatpay_fundflow", "alipay_account"):
                continue
            rows = parse(run, d, rel).rows.sort("source_line")
            amounts, balances = rows["amount_minor"].to_list(), rows["balance_minor"].to_list()
            before = balances[0] - amounts[0]
            if kind in closing:
                assert before == closing[kind], (d, rel)  # the balance goes on from the day before
            for prev, amount, balance in zip([before, *balances], amounts, balances, strict=False):
                assert balance == prev + amount
            assert min(balances) >= 0
            closing[kind] = balances[-1]


def test_fund_flows_agree_with_the_trade_bills_and_the_bank(run: Path) -> None:
    for i, d in enumerate(DATES):
        ymd = f"{d:%Y%m%d}"
        day_dir = run / "inbox" / str(d)
        trade = parse_wechatpay_trade_bill(
            (day_dir / f"wechatpay/wechatpay_tradebill_ALL_{ymd}.csv").read_bytes(),
            "w.csv",
            ParseContext(business_date=d),
        ).rows.unique("channel_txn_id")
        flow = parse(run, d, f"wechatpay/wechatpay_fundflow_{ymd}.csv").rows
        payments = trade.filter(pl.col("kind") == "payment")
        income = flow.filter(pl.col("kind") == "payment")
        assert sorted(income["business_ref"]) == sorted(payments["channel_txn_id"])
        assert income["amount_minor"].sum() == payments["amount_minor"].sum()
        assert flow.filter(pl.col("kind") == "fee")["amount_minor"].sum() == payments["fee_minor"].sum()
        assert set(flow["kind"]) <= {"payment", "fee", "refund", "fee_refund"}  # WeChat settles T+1 by itself
        alipay = parse(run, d, f"alipay/20886413579246800156_{ymd}_账务明细.csv").rows
        withdrawals = alipay.filter(pl.col("kind") == "withdrawal")["amount_minor"].to_list()
        bank = [f for f in new_files(run, d) if f.startswith("bank/")][0]
        credit = parse(run, d, bank).rows.filter(pl.col("reference").str.contains("ALIPAY WITHDRAWAL"))
        assert withdrawals == [-credit["amount_minor"].item()], d
        if i:
            assert "payment" in set(alipay["kind"]) and "refund" in set(alipay["kind"])


def test_zm_records_have_the_byte_widths(run: Path) -> None:
    assert sum(w for _, w in ZM42) + len(ZM42) - 1 == sum(w for _, w in ZM41) + len(ZM41) - 1
    for d in DATES:
        for rel in new_files(run, d):
            if not rel.startswith("unionpay/"):
                continue
            data = (run / "inbox" / str(d) / rel).read_bytes()
            assert looks_like_unionpay_zm(data[:65536])
            assert data.endswith(b"\r\n") and b"\n" not in data.replace(b"\r\n", b"")
            lines = data.split(b"\r\n")[:-1]
            assert lines and all(len(line) == ZM_LINE_BYTES for line in lines)
            data.decode("gbk")


def test_unionpay_fees_ledger_rows_and_payouts(run: Path) -> None:
    seen: set[str] = set()
    for i, d in enumerate(DATES):
        key = {(r["source_file"], int(r["source_line"])): r for r in answers(run, d)}
        ledger_rel = next(r[0] for r in key if r[0].startswith("ledger/"))
        ledger_path = run / "inbox" / str(d) / ledger_rel
        ledger = (
            pl.read_csv(ledger_path, infer_schema=False)
            if ledger_rel.endswith(".csv")
            else pl.read_parquet(ledger_path)
        )
        ledger = ledger.filter(pl.col("channel") == "unionpay")
        by_id = {r["channel_txn_id"]: r for r in ledger.iter_rows(named=True)}
        rel = f"unionpay/INN{d:%y%m%d}88ZM_{UNIONPAY_MERCHANT}"
        if d == MISSING_UNIONPAY:
            outcomes = {
                key[(ledger_rel, n)]["outcome"]
                for n in range(1, 10**6)
                if (ledger_rel, n) in key and key[(ledger_rel, n)]["scenario"].endswith("/statement_missing")
            }
            assert outcomes == {"in_transit"}
            continue
        rows = parse(run, d, rel).rows
        paid = {r["channel_txn_id"]: r for r in rows.iter_rows(named=True) if r["kind"] == "payment"}
        for r in rows.iter_rows(named=True):
            k = key[(rel, r["source_line"])]
            seen.add(k["scenario"])
            magnitude = abs(r["amount_minor"])
            if r["kind"] == "payment":
                assert r["fee_minor"] == -unionpay_fee(magnitude) - (
                    1 if k["outcome"] == "fee_mismatch" else 0
                )
            elif k["scenario"] == "void_same_day":
                orig = paid[r["original_txn_id"]]
                assert magnitude == orig["amount_minor"] and r["fee_minor"] == -orig["fee_minor"]
            else:
                assert r["fee_minor"] == unionpay_fee(magnitude)
            led = by_id.get(r["channel_txn_id"])
            if k["outcome"] == "missing_in_ledger":
                assert led is None
                continue
            assert led is not None and led["kind"] == r["kind"] and led["order_no"] == r["order_no"]
            ledger_amount = round(float(led["amount"]) * 100)
            assert (ledger_amount == magnitude) == (k["outcome"] != "amount_mismatch")
        assert max(unionpay_fee(abs(a)) for a in rows["amount_minor"]) == 2000  # the cap is exercised
        # the payout of D on D+1's CNY statement
        if i + 1 < DAYS and DATES[i + 1] != REJECTED_BANK:
            nxt = DATES[i + 1]
            bank = [f for f in new_files(run, nxt) if f.startswith("bank/")][0]
            credits = parse(run, nxt, bank).rows.filter(pl.col("reference").str.contains("UNIONPAY"))
            (credit,) = credits.iter_rows(named=True)
            m = PAYOUT.search(credit["reference"])
            assert m and m["account"] == UNIONPAY_MERCHANT and m["date"] == f"{d:%Y%m%d}"
            assert credit["amount_minor"] == rows["amount_minor"].sum() + rows["fee_minor"].sum()
            assert credit["currency"] == "CNY"
            bank_key = {r["key"]: r for r in answers(run, nxt) if r["source"] == "bank"}
            assert bank_key[credit["bank_ref"]]["outcome"] == "matched"
    assert seen >= {"capped_fee_partial_refund", "partial_refund", "void_same_day", "refund_of_earlier_payment",
                    "amount_mismatch", "fee_mismatch_one_fen", "missing_in_ledger", "payment"}  # fmt: skip
    # after the missing day, its payout is in transit (the statement it pays was never read)
    after = MISSING_UNIONPAY + timedelta(days=1)
    up = [r for r in answers(run, after) if r["source"] == "bank" and r["key"].startswith("UP")]
    assert [(r["outcome"], r["scenario"]) for r in up] == [("in_transit", "payout_statement_not_reconciled")]


def test_mt940_and_camt_give_the_same_bank_rows(run: Path, tmp_path: Path) -> None:
    generate(tmp_path, **{**KW, "bank_format": "camt053"})  # type: ignore[arg-type]
    mixed, camt = tree(run), tree(tmp_path)
    assert {k: v for k, v in mixed.items() if "/bank/" not in k and k.startswith("inbox/")} == {
        k: v for k, v in camt.items() if "/bank/" not in k and k.startswith("inbox/")
    }
    for i, d in enumerate(DATES):
        ymd = f"{d:%Y%m%d}"
        if i not in (2, 5):
            assert mixed[f"inbox/{d}/bank/camt053_{ymd}.xml"] == camt[f"inbox/{d}/bank/camt053_{ymd}.xml"]
            continue
        a = parse(run, d, f"bank/mt940_{ymd}.sta").rows.sort("bank_ref")
        b = parse(tmp_path, d, f"bank/camt053_{ymd}.xml").rows.sort("bank_ref")
        same = ["account", "booking_date", "value_date", "amount_minor", "currency", "bank_ref"]
        assert a.height == b.height > 0 and a.select(same).equals(b.select(same)), d
        # MT940 has no counterparty field: :86: is the remittance text + the name, in the SWIFT x set
        # (po_ -> po-); the payout patterns read either (po[_-]).
        for ra, rb in zip(a.iter_rows(named=True), b.iter_rows(named=True), strict=True):
            assert ra["counterparty"] is None
            assert ra["reference"] == swift_x(" ".join(filter(None, (rb["reference"], rb["counterparty"]))))
        strip = lambda rows: [(r["source"], r["outcome"], r["key"], r["scenario"]) for r in rows]  # noqa: E731
        assert strip(answers(run, d)) == strip(answers(tmp_path, d))
        assert {r["source_file"] for r in answers(run, d) if r["source"] == "bank"} == {
            f"bank/mt940_{ymd}.sta"
        }


def test_unionpay_changes_no_other_channel(tmp_path: Path) -> None:
    kw = dict(start=START, days=3, seed=4, rows_per_channel=40, bank_format="camt053")
    generate(tmp_path / "with", **kw)  # type: ignore[arg-type]
    generate(tmp_path / "without", channels=("wechatpay", "alipay", "stripe", "paypal"), **kw)  # type: ignore[arg-type]
    w, wo = tree(tmp_path / "with"), tree(tmp_path / "without")
    for rel, data in wo.items():
        if rel.startswith("inbox/") and rel.split("/")[2] in ("wechatpay", "alipay", "stripe", "paypal"):
            assert w[rel] == data, rel
    assert not any("/unionpay/" in k for k in wo) and any("/unionpay/" in k for k in w)
    for d in DATES[:3]:
        rel = f"bank/camt053_{d:%Y%m%d}.xml"
        rows_w = parse(tmp_path / "with", d, rel).rows
        rows_wo = parse(tmp_path / "without", d, rel).rows
        cols = ["bank_ref", "amount_minor", "currency", "reference"]
        assert (
            rows_w.filter(~pl.col("reference").str.contains("UNIONPAY"))
            .select(cols)
            .sort("bank_ref")
            .equals(rows_wo.select(cols).sort("bank_ref"))
        )
    # --channels wechatpay,alipay still works: no optional channel at all
    generate(tmp_path / "two", channels=("wechatpay", "alipay"), **kw)  # type: ignore[arg-type]
    tops = {p.parent.name for p in (tmp_path / "two" / "inbox").glob("*/*/*")}
    assert tops == {"wechatpay", "alipay", "ledger", "bank"}


def test_deterministic(tmp_path: Path) -> None:
    generate(tmp_path / "a", **KW)  # type: ignore[arg-type]
    generate(tmp_path / "b", **KW)  # type: ignore[arg-type]
    a = tree(tmp_path / "a")
    assert a == tree(tmp_path / "b")
    assert any("/unionpay/" in k for k in a) and any(k.endswith(".sta") for k in a)
