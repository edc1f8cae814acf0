"""Tests of the Stripe and PayPal part of the sample-data generator and of their renderers.

The files are re-read with the csv module and small independent checks (never transforms/ or flows/):
the renderers reproduce the public sample files byte for byte, every footer adds up, the fees are the
contracted ones, the money trail reaches the USD bank account, and the answer key has one line per
data row with the outcomes the pipeline must give.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from sample_data import render_statements as rs
from sample_data.generate import (
    PAYPAL_ACCOUNT,
    USD_BANK_ACCOUNT,
    convert,
    generate,
    paypal_fee,
    paypal_refund_fee,
    stripe_fee,
)

START = date(2026, 3, 5)  # the run crosses the start of US daylight saving time (2026-03-08)
DAYS = 5
DATES = [START + timedelta(days=i) for i in range(DAYS)]
MISSING_STRIPE = date(2026, 3, 7)
REJECTED_PAYPAL = date(2026, 3, 6)
REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures" / "formats"
STRIPE_HEADER = (
    "balance_transaction_id,created_utc,available_on_utc,currency,gross,fee,net,reporting_category,"
    "description,customer_facing_amount,customer_facing_currency"
)


def cents(text: str) -> int:
    d = Decimal(text)
    assert d == d.quantize(Decimal("0.01")), text
    return int(d * 100)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("gen_usd")
    generate(
        out,
        start=START,
        days=DAYS,
        seed=31,
        rows_per_channel=120,
        missing=[("stripe", MISSING_STRIPE)],
        rejected=[("paypal", REJECTED_PAYPAL)],
        bank_format="camt053",  # the MT940 days: test_generate_formats.py
    )
    return out


def answers(root: Path, d: date) -> list[dict[str, str]]:
    text = (root / "answers" / f"{d.isoformat()}.csv").read_text("utf-8")
    return list(csv.DictReader(io.StringIO(text)))


def stripe_path(root: Path, d: date) -> Path:
    return (
        root
        / "inbox"
        / d.isoformat()
        / "stripe"
        / f"stripe_balance_change_from_activity_itemized_{d:%Y%m%d}.csv"
    )


def paypal_path(root: Path, d: date) -> Path:
    return root / "inbox" / d.isoformat() / "paypal" / f"STL-{d:%Y%m%d}.01.009.CSV"


def read_stripe(data: bytes) -> list[tuple[int, dict[str, str]]]:
    assert not data.startswith(b"\xef\xbb\xbf")
    assert data.endswith(b"\r\n") and b"\n" not in data.replace(b"\r\n", b"")
    text = data.decode("utf-8")
    assert text.split("\r\n")[0] == STRIPE_HEADER
    return list(enumerate(csv.DictReader(io.StringIO(text, newline="")), start=2))


@dataclass
class Stl:
    lines: list[list[str]]
    sb: list[tuple[int, list[str]]]
    sf: dict[str, list[str]]
    rf: dict[str, list[str]]


def read_paypal(data: bytes) -> Stl:
    assert not data.startswith(b"\xef\xbb\xbf")
    assert data.endswith(b"\r\n") and b"\n" not in data.replace(b"\r\n", b"")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))
    codes = [r[0] for r in rows]
    n_sb = codes.count("SB")
    n_cur = codes.count("SF")
    assert codes == ["RH", "FH", "SH", "CH"] + ["SB"] * n_sb + ["SF"] * n_cur + ["SC"] + ["RF"] * n_cur + [
        "RC",
        "FF",
    ]
    sb = [(n, r) for n, r in enumerate(rows, start=1) if r[0] == "SB"]
    assert all(len(r) == 22 for _, r in sb)
    return Stl(rows, sb, {r[1]: r for r in rows if r[0] == "SF"}, {r[1]: r for r in rows if r[0] == "RF"})


def camt_statements(data: bytes) -> dict[str, str]:
    text = data.decode("utf-8")
    return {re.search(r"<Ccy>(\w+)</Ccy>", st).group(1): st for st in text.split("    <Stmt>")[1:]}


def usd_credits(data: bytes) -> list[tuple[str, int, str]]:
    """(AcctSvcrRef, amount, AddtlNtryInf) of the USD statement's entries (debits negative)."""
    st = camt_statements(data)["USD"]
    out = []
    for block in st.split("<Ntry>")[1:]:
        amt = cents(re.search(r'<Amt Ccy="USD">(.*?)</Amt>', block).group(1))
        credit = re.search(r"<CdtDbtInd>(.*?)</CdtDbtInd>", block).group(1) == "CRDT"
        ref = re.search(r"<AcctSvcrRef>(.*?)</AcctSvcrRef>", block).group(1)
        info = re.search(r"<AddtlNtryInf>(.*?)</AddtlNtryInf>", block).group(1)
        out.append((ref, amt if credit else -amt, info))
    return out


# ------------------------------------------------------------------------- renderers vs the public samples


@dataclass
class _Row:
    """A row rebuilt from a sample file, with the attributes the renderers read."""

    txn_id: str = ""
    at: datetime = datetime(1970, 1, 1)
    available: datetime = datetime(1970, 1, 1)
    currency: str = ""
    gross: int = 0
    fee: int | None = 0
    category: str = ""
    description: str = ""
    cust_amount: int | None = None
    cust_ccy: str = ""
    order_no: str = ""
    ref_id: str = ""
    event: str = ""
    custom: str = ""
    consumer: str = ""
    bank_ref: str = ""


def test_stripe_renderer_reproduces_the_public_sample() -> None:
    sample = (FIXTURES / "stripe_balance_change_from_activity_itemized_20260302.csv").read_bytes()
    rows = []
    for _, r in read_stripe(sample):
        assert cents(r["net"]) == cents(r["gross"]) - cents(r["fee"])
        rows.append(
            _Row(
                txn_id=r["balance_transaction_id"],
                at=datetime.fromisoformat(r["created_utc"]),
                available=datetime.fromisoformat(r["available_on_utc"]),
                currency=r["currency"].upper(),
                gross=cents(r["gross"]),
                fee=cents(r["fee"]),
                category=r["reporting_category"],
                description=r["description"],
                cust_amount=cents(r["customer_facing_amount"]) if r["customer_facing_amount"] else None,
                cust_ccy=r["customer_facing_currency"],
            )
        )
    data, lines = rs.render_stripe_balance(rows)
    assert data == sample
    assert lines == list(range(2, 19))
    # fees of the sample follow the contracted pricing the generator uses
    for r in rows:
        if r.category == "charge":
            assert r.fee == stripe_fee(r.gross, presented_usd=r.cust_ccy == "usd")


def test_stripe_renderer_quotes_a_description_with_a_comma() -> None:
    row = _Row(
        "txn_1",
        datetime(2026, 3, 2, 1),
        datetime(2026, 3, 3),
        "USD",
        1000,
        59,
        "charge",
        'Order SHOP-1, "gift"',
        1000,
        "usd",
    )
    data, _ = rs.render_stripe_balance([row])
    line = data.decode("utf-8").split("\r\n")[1]
    assert line.endswith(',charge,"Order SHOP-1, ""gift""",10.00,usd')
    assert next(csv.reader(io.StringIO(line)))[8] == 'Order SHOP-1, "gift"'


def test_paypal_renderer_reproduces_the_public_sample() -> None:
    sample = (FIXTURES / "paypal_STL-20260302.01.009.CSV").read_bytes()
    stl = read_paypal(sample)
    rows = []
    for _, f in stl.sb:
        at = rs.pacific_local_to_utc(datetime.strptime(f[6][:19], "%Y/%m/%d %H:%M:%S"))
        fee = None if f[12] == "" else (int(f[12]) if f[11] == "DR" else -int(f[12]))
        rows.append(
            _Row(
                txn_id=f[1],
                order_no=f[2],
                ref_id=f[3],
                event=f[5],
                at=at,
                currency=f[10],
                gross=int(f[9]) if f[8] == "CR" else -int(f[9]),
                fee=fee,
                custom=f[14],
                consumer=f[15],
                bank_ref=f[18],
            )
        )
    generated = rs.pacific_local_to_utc(datetime(2026, 3, 3, 3, 12, 47))
    data, lines, balances = rs.render_paypal_stl(
        rows,
        account="SMPLSHOPK28QZ",
        day=date(2026, 3, 2),
        generated=generated,
        beginning={"EUR": 0, "USD": 118437},
    )
    assert data == sample
    assert lines == list(range(5, 23))
    assert balances["USD"].ending == 74170 and balances["EUR"].ending == 0
    for r in rows:
        if r.event == "T0006":
            assert r.fee == paypal_fee(r.gross, r.currency)
        elif r.event == "T1107":
            assert r.fee == -paypal_refund_fee(-r.gross)


def test_pacific_time_follows_us_daylight_saving() -> None:
    # 2026-03-08 is the second Sunday of March: 02:00 PST becomes 03:00 PDT (10:00 UTC)
    assert rs.pacific_text(datetime(2026, 3, 8, 9, 59, 59)) == "2026/03/08 01:59:59 -0800"
    assert rs.pacific_text(datetime(2026, 3, 8, 10, 0, 0)) == "2026/03/08 03:00:00 -0700"
    assert rs.pacific_text(datetime(2026, 11, 1, 8, 59, 59)) == "2026/11/01 01:59:59 -0700"
    assert rs.pacific_text(datetime(2026, 11, 1, 9, 0, 0)) == "2026/11/01 01:00:00 -0800"
    assert rs.pacific_text(datetime(2027, 3, 14, 10, 0, 0)) == "2027/03/14 03:00:00 -0700"
    assert rs.pacific_local_to_utc(datetime(2026, 3, 9)) == datetime(2026, 3, 9, 7)
    assert rs.pacific_local_to_utc(datetime(2026, 3, 8)) == datetime(2026, 3, 8, 8)


def test_fee_rules() -> None:
    assert stripe_fee(6400) == 216 and stripe_fee(9106, presented_usd=False) == 522
    assert paypal_fee(5800, "USD") == 222 and paypal_fee(7600, "EUR") == 380
    assert paypal_refund_fee(9400) == 281 and paypal_refund_fee(3000) == 90
    assert convert(7220, 10512) == 7590 and convert(8400, 10840) == 9106


# ------------------------------------------------------------------------- generated files


def test_layout_and_missing_statement(run: Path) -> None:
    for d in DATES:
        assert stripe_path(run, d).is_file() == (d != MISSING_STRIPE)
        assert paypal_path(run, d).is_file()


@pytest.mark.parametrize("d", DATES)
def test_answer_key_has_one_line_per_new_data_row(run: Path, d: date) -> None:
    key = answers(run, d)
    found = Counter()
    if d != MISSING_STRIPE:
        rel = f"stripe/{stripe_path(run, d).name}"
        found.update(
            ("channel", rel, str(n), r["balance_transaction_id"])
            for n, r in read_stripe(stripe_path(run, d).read_bytes())
        )
    rel_pp = f"paypal/{paypal_path(run, d).name}"
    found.update(
        ("channel", rel_pp, str(n), f[1]) for n, f in read_paypal(paypal_path(run, d).read_bytes()).sb
    )
    from_key = Counter(
        (r["source"], r["source_file"], r["source_line"], r["key"])
        for r in key
        if r["source_file"].startswith(("stripe/", "paypal/"))
    )
    assert from_key == found
    # duplicated PayPal lines are the only repeated keys, and they are on different lines
    assert all(v == 1 for v in from_key.values())


def test_stripe_files_add_up_and_fees_are_contracted(run: Path) -> None:
    for d in DATES:
        if d == MISSING_STRIPE:
            continue
        key = {int(r["source_line"]): r for r in answers(run, d) if r["source_file"].startswith("stripe/")}
        for n, r in read_stripe(stripe_path(run, d).read_bytes()):
            gross, fee, net = cents(r["gross"]), cents(r["fee"]), cents(r["net"])
            assert net == gross - fee and r["currency"] == "usd"
            created = datetime.fromisoformat(r["created_utc"])
            assert created.date() == d  # the report covers one UTC day
            cat, outcome = r["reporting_category"], key[n]["outcome"]
            if cat == "charge":
                assert r["description"] == f"Order {r['description'].split()[1]}"
                assert datetime.fromisoformat(r["available_on_utc"]) == datetime.combine(
                    d + timedelta(days=1), datetime.min.time()
                )
                presented_usd = r["customer_facing_currency"] == "usd"
                if presented_usd:
                    assert cents(r["customer_facing_amount"]) == gross
                else:
                    assert r["customer_facing_currency"] == "eur" and gross > cents(
                        r["customer_facing_amount"]
                    )
                expected = stripe_fee(gross, presented_usd=presented_usd)
                assert (fee == expected) == (outcome != "fee_mismatch"), (d, n)
            elif cat == "refund":
                assert (
                    fee == 0 and gross < 0 and r["description"].startswith("REFUND FOR CHARGE (Order SHOP-")
                )
                assert cents(r["customer_facing_amount"]) == gross
            elif cat == "dispute":
                assert fee == 1500 and gross < 0 and outcome == "missing_in_ledger"
                assert r["customer_facing_amount"] == "" and r["description"].startswith(
                    "Chargeback withdrawal for ch_"
                )
            else:
                assert cat == "fee" and fee == 0 and gross < 0 and outcome == "settlement_item"
                assert r["description"] == f"Radar ({d.isoformat()}): Radar for Fraud Teams"


def test_paypal_footers_add_up_and_balances_chain(run: Path) -> None:
    previous_ending = None
    for d in DATES:
        data = paypal_path(run, d).read_bytes()
        stl = read_paypal(data)
        assert stl.lines[-1] == ["FF", str(len(stl.lines))]
        n_sb = len(stl.sb)
        assert stl.lines[-2] == ["RC", str(n_sb)]
        sc = int(next(r for r in stl.lines if r[0] == "SC")[1])
        assert sc == n_sb + (1 if d == REJECTED_PAYPAL else 0)  # the rejected day's SC is off by one
        assert {c: r[1:] for c, r in stl.sf.items()} == {c: r[1:] for c, r in stl.rf.items()}
        assert list(stl.sf) == ["EUR", "USD"]
        for ccy, sf in stl.sf.items():
            rows = [f for _, f in stl.sb if f[10] == ccy]
            gcr = sum(int(f[9]) for f in rows if f[8] == "CR")
            gdr = sum(int(f[9]) for f in rows if f[8] == "DR")
            fcr = sum(int(f[12]) for f in rows if f[11] == "CR")
            fdr = sum(int(f[12]) for f in rows if f[11] == "DR")
            assert sf[2:10] == ["CR", str(gcr), "DR", str(gdr), "CR", str(fcr), "DR", str(fdr)]
            begin = int(sf[11]) * (1 if sf[10] == "CR" else -1)
            end = int(sf[13]) * (1 if sf[12] == "CR" else -1)
            assert end == begin + gcr - gdr + fcr - fdr
            if ccy == "EUR":
                assert begin == end == 0  # every EUR payment is converted the same day
            elif previous_ending is not None:
                assert begin == previous_ending
        previous_ending = int(stl.sf["USD"][13])
        # time stamps: the day in US Pacific time, -0700 from 2026-03-08 03:00 local
        sh = stl.lines[2]
        assert sh[1].startswith(f"{d:%Y/%m/%d} 00:00:00 ") and sh[2].startswith(f"{d:%Y/%m/%d} 23:59:59 ")
        assert sh[1].endswith("-0800" if d <= date(2026, 3, 8) else "-0700")
        assert sh[2].endswith("-0700" if d >= date(2026, 3, 8) else "-0800")
        assert stl.lines[0][:2] == ["RH", stl.lines[0][1]] and stl.lines[0][3] == PAYPAL_ACCOUNT


def test_paypal_rows_fees_conversions_and_withdrawal(run: Path) -> None:
    for d in DATES:
        stl = read_paypal(paypal_path(run, d).read_bytes())
        key = {int(r["source_line"]): r for r in answers(run, d) if r["source_file"].startswith("paypal/")}
        by_id = {f[1]: f for _, f in stl.sb}
        balance = int(stl.sf["USD"][11])
        withdrawals = 0
        for n, f in stl.sb:
            assert re.fullmatch(r"[A-Z0-9]{17}", f[1])
            stamp = datetime.strptime(f[6][:19], "%Y/%m/%d %H:%M:%S")
            assert stamp.date() == d and f[6] == f[7]
            outcome = key[n]["outcome"]
            if d == REJECTED_PAYPAL:
                assert outcome == "quarantined"
                outcome = key[n]["scenario"].split("/")[0]  # what it would be: checked on the other days
            gross = int(f[9]) * (1 if f[8] == "CR" else -1)
            fee = 0 if f[12] == "" else int(f[12]) * (1 if f[11] == "DR" else -1)
            if f[10] == "USD":
                balance += gross - fee
            if f[5] == "T0006":
                assert f[2].startswith("INV-") and f[8] == "CR"
                assert (fee == paypal_fee(gross, f[10])) == (not outcome.startswith("fee_mismatch")), (d, n)
            elif f[5] == "T1107":
                assert f[10] == "USD" and f[4] == "TXN" and f[3] and fee == -paypal_refund_fee(-gross)
            elif f[5] == "T0200":
                assert outcome in ("settlement_item", "currency_conversion") and f[4] == "TXN" and f[12] == ""
                pay = by_id[f[3]]
                eur_net = int(pay[9]) - int(pay[12])
                if f[10] == "EUR":
                    assert gross == -eur_net
                else:
                    assert gross > eur_net  # EUR -> USD at a rate above 1
            else:
                assert f[5] == "T0400" and outcome in ("settlement_item", "withdrawal") and f[8] == "DR"
                assert gross % 10000 == 0 and balance >= 0  # a round amount, never more than the balance
                assert re.fullmatch(rf"BNK{d:%Y%m%d}[A-Z0-9]{{4}}", f[18])
                withdrawals += 1
        assert withdrawals <= 1
        assert str(balance) == stl.sf["USD"][13]


def test_money_trail_to_the_usd_bank_account(run: Path) -> None:
    for i, d in enumerate(DATES):
        bank = (run / "inbox" / d.isoformat() / "bank" / f"camt053_{d:%Y%m%d}.xml").read_bytes()
        stmts = camt_statements(bank)
        assert (
            list(stmts) == ["CNY", "USD"]
            and f"<Id><Othr><Id>{USD_BANK_ACCOUNT}</Id></Othr></Id>" in stmts["USD"]
        )
        key = {r["key"]: r for r in answers(run, d) if r["source"] == "bank"}
        prev = d - timedelta(days=1)
        entries = usd_credits(bank)
        stripe = [e for e in entries if e[2].startswith("STRIPE PAYOUT ")]
        paypal = [e for e in entries if e[2].startswith("PAYPAL TRANSFER ")]
        assert len(stripe) == 1 and len(paypal) <= 1
        for ref, amount, info in entries:
            if not info.startswith(("STRIPE PAYOUT ", "PAYPAL TRANSFER ")):
                assert key[ref]["outcome"] == "unexplained" and amount < 0
        ref, amount, info = stripe[0]
        assert re.fullmatch(r"STRIPE PAYOUT po_[A-Za-z0-9]{24}", info)
        if i == 0:
            assert key[ref]["outcome"] == "in_transit"
        elif prev == MISSING_STRIPE:
            assert key[ref]["outcome"] == "in_transit"
            assert key[ref]["scenario"] == "payout_statement_not_reconciled"
        else:
            nets = [cents(r["net"]) for _, r in read_stripe(stripe_path(run, prev).read_bytes())]
            assert amount == sum(nets) and key[ref]["outcome"] == "matched"
        if i == 0:
            assert paypal and key[paypal[0][0]]["outcome"] == "in_transit"
            continue
        t0400 = [f for _, f in read_paypal(paypal_path(run, prev).read_bytes()).sb if f[5] == "T0400"]
        assert len(paypal) == len(t0400)
        if paypal:
            ref, amount, info = paypal[0]
            assert info == f"PAYPAL TRANSFER {t0400[0][18]}" and amount == int(t0400[0][9])
            assert key[ref]["outcome"] == ("in_transit" if prev == REJECTED_PAYPAL else "matched")


def test_new_channel_rows_agree_with_the_ledger(run: Path) -> None:
    """What the key calls matched agrees in the files (amount, currency, id); the other outcomes differ."""
    outcomes_seen: Counter[tuple[str, str, str]] = Counter()
    for d in DATES:
        day_dir = run / "inbox" / d.isoformat()
        key = answers(run, d)
        ledger_rel = next(r["source_file"] for r in key if r["source"] == "ledger")
        text = (day_dir / ledger_rel).read_text("utf-8") if ledger_rel.endswith(".csv") else None
        if text is None:
            import pyarrow.parquet as pq

            led_rows = list(enumerate(pq.read_table(day_dir / ledger_rel).to_pylist(), start=1))
        else:
            led_rows = list(enumerate(csv.DictReader(io.StringIO(text)), start=2))
        lkey = {int(r["source_line"]): r for r in key if r["source_file"] == ledger_rel}
        led: dict[str, list[tuple[dict, dict]]] = {}
        for n, row in led_rows:
            if row["channel"] in ("stripe", "paypal"):
                k = lkey[n]
                outcomes_seen[(row["channel"], "ledger", k["outcome"])] += 1
                assert row["currency"] in ("USD", "EUR") and row["kind"] in ("payment", "refund")
                if row["channel"] == "stripe" and row["channel_txn_id"]:
                    assert row["channel_txn_id"].startswith("txn_") and row["order_no"].startswith("SHOP-")
                if row["channel"] == "paypal":
                    assert row["order_no"].startswith("INV-")
                if row["channel_txn_id"]:
                    led.setdefault(row["channel_txn_id"], []).append((row, k))
        ch_key = {
            (r["source_file"], int(r["source_line"])): r
            for r in key
            if r["source_file"].startswith(("stripe/", "paypal/"))
        }
        rows: list[tuple[str, str, int, str, str, dict]] = []  # channel, id, amount, currency, kind, key
        if stripe_path(run, d).is_file():
            rel = f"stripe/{stripe_path(run, d).name}"
            for n, r in read_stripe(stripe_path(run, d).read_bytes()):
                cur = (r["customer_facing_currency"] or "usd").upper()
                amount = abs(cents(r["customer_facing_amount"] or r["gross"]))
                rows.append(
                    (
                        "stripe",
                        r["balance_transaction_id"],
                        amount,
                        cur,
                        r["reporting_category"],
                        ch_key[(rel, n)],
                    )
                )
        rel = f"paypal/{paypal_path(run, d).name}"
        for n, f in read_paypal(paypal_path(run, d).read_bytes()).sb:
            rows.append(("paypal", f[1], int(f[9]), f[10], f[5], ch_key[(rel, n)]))
        for chan, cid, amount, cur, kind, k in rows:
            outcomes_seen[(chan, kind, k["outcome"])] += 1
            if k["outcome"] in ("matched", "fee_mismatch", "duplicate"):
                pairs = led[cid]
                assert all(lk["outcome"] == k["outcome"] for _, lk in pairs)
                assert len(pairs) == (2 if k["scenario"] == "duplicate_ledger_entry" else 1)
                row = pairs[0][0]
                assert (
                    cents(row["amount"]) == amount and row["currency"] == cur and row["status"] == "succeeded"
                )
                assert row["kind"] == ("payment" if kind in ("charge", "T0006") else "refund")
            elif k["outcome"] == "amount_mismatch":
                ((row, _),) = led[cid]
                assert cents(row["amount"]) != amount
            elif k["outcome"] in ("missing_in_ledger", "settlement_item", "quarantined"):
                assert cid not in led or k["outcome"] == "quarantined"
    # the kinds of rows and their outcomes in this run (the pipeline must give exactly these)
    assert outcomes_seen[("stripe", "fee", "settlement_item")] >= 1
    assert outcomes_seen[("stripe", "dispute", "missing_in_ledger")] == 1
    assert outcomes_seen[("paypal", "T0200", "settlement_item")] >= 2
    assert outcomes_seen[("paypal", "T0400", "settlement_item")] >= 1
    for chan in ("stripe", "paypal"):
        assert {o for (c, _, o) in outcomes_seen if c == chan} >= {
            "matched",
            "amount_mismatch",
            "fee_mismatch",
            "missing_in_ledger",
            "duplicate",
            "resolved_late",
            "missing_in_channel",
            "in_transit",
        }
    assert outcomes_seen[("paypal", "T0006", "quarantined")] > 0  # the rejected PayPal day


def test_statement_faults_on_the_new_channels(run: Path) -> None:
    missing = answers(run, MISSING_STRIPE)
    assert not any(r["source_file"].startswith("stripe/") for r in missing)
    stripe_ledger = [r for r in missing if r["scenario"].endswith("/statement_missing")]
    assert stripe_ledger and all(r["outcome"] == "in_transit" for r in stripe_ledger)
    rejected = answers(run, REJECTED_PAYPAL)
    pp = [r for r in rejected if r["source_file"].startswith("paypal/")]
    assert pp and all(
        r["outcome"] == "quarantined" and r["scenario"].endswith("/statement_rejected") for r in pp
    )


def test_old_channel_files_do_not_change_with_the_new_channels(tmp_path: Path) -> None:
    kw = dict(start=date(2026, 3, 6), days=3, seed=4, rows_per_channel=40, bank_format="camt053")
    # UnionPay is in both: it adds a credit to the CNY statement (test_generate_formats.py checks it
    # changes nothing else); here Stripe and PayPal must leave the CNY statement as it is.
    generate(tmp_path / "old", channels=("wechatpay", "alipay", "unionpay"), **kw)
    generate(tmp_path / "new", **kw)
    old = {
        p.relative_to(tmp_path / "old"): p.read_bytes() for p in (tmp_path / "old").rglob("*") if p.is_file()
    }
    for rel, data in old.items():
        new = (tmp_path / "new" / rel).read_bytes()
        if rel.parts[0] == "answers":
            continue
        if rel.parts[2] in ("wechatpay", "alipay"):
            assert new == data, rel
        elif rel.parts[2] == "bank":  # the CNY statement is the same; the USD one follows it
            old_text, new_text = data.decode(), new.decode()
            cny = new_text.split("    <Stmt>")[1]
            assert "    <Stmt>" + cny.rstrip() in old_text and "<Ccy>USD</Ccy>" in new_text
    assert not any((tmp_path / "old" / "inbox").glob("*/stripe")) and any(
        (tmp_path / "new" / "inbox").glob("*/stripe")
    )


def test_deterministic_and_small(tmp_path: Path) -> None:
    kw = dict(start=date(2026, 3, 6), days=2, seed=8, rows_per_channel=5)
    generate(tmp_path / "a", **kw)
    generate(tmp_path / "b", **kw)
    tree = lambda root: {p.relative_to(root): p.read_bytes() for p in root.rglob("*") if p.is_file()}  # noqa: E731
    a = tree(tmp_path / "a")
    assert a == tree(tmp_path / "b")
    assert {p.parts[2] for p in a if p.parts[0] == "inbox"} >= {"paypal", "stripe"}
