"""MT940 adapter: the format sample, camt.053 parity (sample and generated statements), hostile input.

The format sample ``mt940_SAMPLEBANK_20260303.sta`` holds the same two statements as
``camt053_SAMPLEBANK_20260303.xml`` (FORMATS §8.2; control totals in the formats README):

- 6200881234 CNY: opening 86420.15 C, 3 credits 10337.91, 2 debits 12828.00, closing 83930.06 C;
  the 5th entry (3600.00, ``CR0303B2B0360``) is booked 03-03 with value date 03-04 (``2603040303``);
- 6200885678 USD: opening 12906.55 C, 3 credits 3276.14, 2 debits 1463.50, closing 14719.19 C.

``:86:`` = camt's AddtlNtryInf + " " + the counterparty name, in the SWIFT x set (the Stripe payout
id ``po_…`` is written ``po-…``): ``sample_data.render_mt940.info_text``.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sample_data.render_mt940 import info_lines, info_text, mt940_amount, render_mt940, swift_x
from sample_data.render_statements import BankEntry, render_camt053
from schemas.canonical import BankTxn
from transforms.adapters.camt053 import parse_camt053
from transforms.adapters.mt940 import parse_mt940
from transforms.parsed import CollectingSink, Limits, ParseContext

FORMATS = Path(__file__).parents[2] / "fixtures" / "formats"
SAMPLE = FORMATS / "mt940_SAMPLEBANK_20260303.sta"
CAMT = FORMATS / "camt053_SAMPLEBANK_20260303.xml"
DAY = date(2026, 3, 3)
#: The columns camt.053 and MT940 renderings of one statement must agree on (issue 6 conventions).
SAME = ["account", "booking_date", "value_date", "amount_minor", "currency", "bank_ref"]


@pytest.fixture(scope="module")
def sample() -> bytes:
    return SAMPLE.read_bytes()


def parse(data: bytes, limits: Limits | None = None):
    context = ParseContext(business_date=DAY, limits=limits or Limits())
    return parse_mt940(data, "bank/mt940_SAMPLEBANK_20260303.sta", context)


def camt(data: bytes):
    return parse_camt053(data, "bank/camt053.xml", ParseContext(business_date=DAY))


def codes(result) -> list[tuple[int, str | None, str]]:
    return [
        (r["source_line"], r["column"], r["reason_code"]) for r in result.quarantine.iter_rows(named=True)
    ]


def accounted(result, data: bytes) -> None:
    """Every physical line has exactly one role (BAD_INPUTS I1), and every data line one outcome."""
    lines = result.lines
    physical = data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
    assert lines.physical == physical
    assert (
        lines.data + lines.continuation + lines.header + lines.preamble + lines.footer + lines.blank
        == physical
    )
    if result.file_error is None:
        assert result.row_count + result.rejected_count == lines.data


# -- the format sample ------------------------------------------------------------------------------


def test_sample_gives_the_camt_rows(sample: bytes) -> None:
    result = parse(sample)
    assert (result.format, result.role, result.channel) == ("mt940", "bank", "bank")
    assert result.file_error is None and result.quarantine.height == 0 and result.rejected.height == 0
    BankTxn.validate(result.rows)
    assert result.rows.height == 10
    theirs = camt(CAMT.read_bytes()).rows
    assert result.rows.select(SAME).equals(theirs.select(SAME))
    assert result.rows["counterparty"].null_count() == 10
    for ours, camt_row in zip(result.rows.iter_rows(named=True), theirs.iter_rows(named=True), strict=True):
        # the :86: text starts with AddtlNtryInf (in the x set: po_… is po-…), then the counterparty
        assert ours["reference"].startswith(swift_x(camt_row["reference"]))
        party = camt_row["counterparty"]
        assert ours["reference"] == swift_x(camt_row["reference"] + (f" {party}" if party else ""))
    first = result.rows.row(0, named=True)
    assert first["reference"].startswith("WECHAT PAY SETTLEMENT 1734502688 20260302")
    # two :86: lines joined by one space
    assert first["reference"] == "WECHAT PAY SETTLEMENT 1734502688 20260302 TENPAY PAYMENT TECHNOLOGY CO LTD"


def test_value_dated_later_credit(sample: bytes) -> None:
    rows = parse(sample).rows.filter(bank_ref="CR0303B2B0360")
    assert rows.height == 1
    row = rows.row(0, named=True)
    assert row["value_date"] == date(2026, 3, 4) and row["booking_date"] == date(2026, 3, 3)  # 2603040303
    assert row["amount_minor"] == 360000


def test_sample_balances_facts_and_lines(sample: bytes) -> None:
    result = parse(sample)
    controls = {c.name: (c.footer, c.parsed) for c in result.controls}
    # 86420.15 + 10337.91 - 12828.00 = 83930.06; 12906.55 + 3276.14 - 1463.50 = 14719.19
    assert controls == {
        "6200881234 :60F:+entries=:62F:": (Decimal("83930.06"), Decimal("83930.06")),
        "6200885678 :60F:+entries=:62F:": (Decimal("14719.19"), Decimal("14719.19")),
    }
    assert result.facts == {"6200881234 entries": Decimal(5), "6200885678 entries": Decimal(5)}
    assert result.statement_date == DAY
    lines = sample.decode("ascii").split("\r\n")
    assert all(lines[n - 1].startswith(":61:") for n in result.rows["source_line"])
    assert result.rows["source_line"].to_list() == [5, 8, 11, 13, 15, 25, 27, 29, 31, 33]
    # 37 lines: 10 :61: (data); 10 :86: + 3 wrapped :86: lines (continuation);
    # 2 x :20: :25: :28C: :60F: (header 8); 2 x :62F: :64: - (footer 6)
    counts = result.lines
    assert (counts.physical, counts.data, counts.continuation, counts.header, counts.footer) == (
        37,
        10,
        13,
        8,
        6,
    )
    accounted(result, sample)


def test_renderer_reproduces_the_sample(sample: bytes) -> None:
    def entry(
        ref: str, amount: int, credit: bool, sub: str, e2e: str, party: str, text: str, value: int = 3
    ) -> BankEntry:
        return BankEntry(
            ref, amount, credit, date(2026, 3, value), "PMNT", "RCDT", sub, e2e, party, text, "", ""
        )

    cny = [
        entry("WX0303STL0001", 315724, True, "DMCT", "NOTPROVIDED", "TENPAY PAYMENT TECHNOLOGY CO LTD",
              "WECHAT PAY SETTLEMENT 1734502688 20260302"),
        entry("AP0303WDR0001", 358067, True, "DMCT", "NOTPROVIDED", "ALIPAY (CHINA) NETWORK TECHNOLOGY CO LTD",
              "ALIPAY WITHDRAWAL 20886413579246800156 20260302"),
        entry("DB0303SUP0128", 1280000, False, "DMCT", "PO-2026-0217", "JINGDEZHEN CERAMICS TRADING CO",
              "SUPPLIER PAYMENT PO-2026-0217"),
        entry("CH0303FEE0028", 2800, False, "CHRG", "NOTPROVIDED", "", "ACCOUNT MANAGEMENT FEE FEB 2026"),
        entry("CR0303B2B0360", 360000, True, "DMCT", "INV-ZZ-2026-031", "HANGZHOU GREEN LEAF HOTEL CO LTD",
              "INVOICE INV-ZZ-2026-031 HOTEL ROOM DECOR BATCH 2 FINAL INSTALMENT", value=4),
    ]  # fmt: skip
    usd = [
        entry("ST0303PO00001", 127477, True, "XBCT", "NOTPROVIDED", "STRIPE", "STRIPE PAYOUT po_1SmplPayout0303Ugp8Klfi"),
        entry("PP0303WDR0001", 200000, True, "XBCT", "NOTPROVIDED", "PAYPAL PTE LTD", "PAYPAL TRANSFER BNK20260302SMPL01"),
        entry("CH0303INW0002", 1350, False, "CHRG", "NOTPROVIDED", "", "INWARD REMITTANCE CHARGES 2 ITEMS"),
        entry("DB0303WIR0145", 145000, False, "XBCT", "PO-US-88107", "PACIFIC LINEN SUPPLY INC", "SUPPLIER PAYMENT PO-US-88107"),
        entry("IN0303INT0001", 137, True, "INTR", "NOTPROVIDED", "", "INTEREST CREDIT FEB 2026"),
    ]  # fmt: skip
    common = {
        "day": DAY,
        "prev_day": date(2026, 3, 2),
        "owner": "ZHIZHU HOME LIVING CO LTD",
        "bic": "SMPLHKHHXXX",
    }
    first, first_lines, first_closing = render_mt940(
        cny, account="6200881234", seq_nb=62, opening=8642015, **common
    )
    second, second_lines, _ = render_mt940(
        usd, account="6200885678", seq_nb=58, opening=1290655, ccy="USD", **common
    )
    assert first + second == sample
    assert (
        first_closing == 8393006 and first_lines == [5, 8, 11, 13, 15] and second_lines == [5, 7, 9, 11, 13]
    )


def test_count_offset_makes_the_statement_fail_its_balance() -> None:
    entries = [BankEntry("R1", 1000, True, DAY, "PMNT", "RCDT", "DMCT", "NOTPROVIDED", "", "X", "", "")]
    data, _, _ = render_mt940(entries, day=DAY, prev_day=DAY - timedelta(days=1), account="1", owner="", bic="",
                              seq_nb=1, opening=0, count_offset=1)  # fmt: skip
    result = parse(data)
    assert result.file_error is not None and result.file_error.reason_code == "CONTROL_TOTAL_MISMATCH"


# -- camt.053 and MT940 of the same generated statements ---------------------------------------------

#: Characters of remittance texts: the x set, and a few outside it (``_ & @ é``) the renderer maps.
_TEXT_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/-?:().,'+_&@é"
_words = st.lists(
    st.builds(lambda head, tail: head + tail, st.sampled_from("ABCXYZ0123456789"), st.text(_TEXT_CHARS, max_size=19)),
    min_size=1, max_size=12,
).map(" ".join)  # fmt: skip
_amounts = {
    "CNY": 1,
    "USD": 1,
    "KWD": 1,
    "JPY": 1,
}  # minor units of each currency (JPY: yen; KWD: fils)


@st.composite
def statement(draw: st.DrawFn) -> tuple[str, str, int, list[BankEntry]]:
    """One account's statement of ``DAY``: currency, opening balance and 0-8 entries."""
    ccy = draw(st.sampled_from(sorted(_amounts)))
    step = _amounts[ccy]
    account = draw(st.sampled_from(["6200881234", "6200885678", "DE89370400440532013000", "0012"]))
    opening = draw(st.integers(-(10**9), 10**9)) * step
    entries = []
    for index in range(draw(st.integers(0, 8))):
        text, party = draw(_words), draw(st.one_of(st.just(""), _words))
        if len(text) + len(party) > 240:  # 6 lines of 65 always hold it (words <= 20 characters)
            party = ""
        entries.append(
            BankEntry(
                ref=f"{draw(st.from_regex(r'[A-Z0-9]{1,12}', fullmatch=True))}{index:02d}",
                amount=draw(st.integers(1, 10**10)) * step,
                credit=draw(st.booleans()),
                value_date=DAY + timedelta(days=draw(st.integers(0, 3))),
                domain="PMNT", family="RCDT",
                sub_family=draw(st.sampled_from(["DMCT", "CHRG", "INTR"])),
                end_to_end=draw(st.sampled_from(["NOTPROVIDED", "E2E-1", "INV 7_8"])),
                party=party, text=text, scenario="", outcome="",
            )
        )  # fmt: skip
    return ccy, account, opening, entries


@settings(max_examples=100, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(statements=st.lists(statement(), min_size=1, max_size=3))
def test_camt_and_mt940_renderings_give_the_same_rows(
    statements: list[tuple[str, str, int, list[BankEntry]]],
) -> None:
    mt940 = b""
    camt_rows = []
    expected_references = []
    for seq_nb, (ccy, account, opening, entries) in enumerate(statements, start=1):
        arguments = {"day": DAY, "prev_day": DAY - timedelta(days=1), "account": account, "owner": "O & CO",
                     "bic": "SMPLHKHHXXX", "seq_nb": seq_nb, "opening": opening, "ccy": ccy}  # fmt: skip
        xml, _, closing = render_camt053(entries, **arguments)
        sta, lines, mt_closing = render_mt940(entries, **arguments)
        assert closing == mt_closing
        offset = mt940.count(b"\n")
        mt940 += sta
        parsed = camt(xml)
        assert parsed.file_error is None and parsed.quarantine.height == 0, parsed.quarantine
        camt_rows.append(parsed.rows.with_columns(source_line=pl.Series(lines, dtype=pl.Int64) + offset))
        for e, row in zip(entries, parsed.rows.iter_rows(named=True), strict=True):
            # what :86: says: AddtlNtryInf + " " + counterparty, in the x set; it fits 6 lines
            said = swift_x(row["reference"] + (f" {row['counterparty']}" if row["counterparty"] else ""))
            assert said == info_text(e) == " ".join(info_lines(info_text(e)))
            expected_references.append(said or None)
    result = parse(mt940)
    assert result.file_error is None and result.quarantine.height == 0, (result.file_error, result.quarantine)
    theirs = pl.concat(camt_rows)
    assert result.rows.select(*SAME, "source_line").equals(theirs.select(*SAME, "source_line"))
    assert result.rows["reference"].to_list() == expected_references
    assert len(result.controls) == len(statements) and all(c.ok and c.verifiable for c in result.controls)
    accounted(result, mt940)


def test_amount_text_per_currency() -> None:
    assert [mt940_amount(a, c) for a, c in ((315724, "CNY"), (12, "JPY"), (1234, "KWD"), (5, "USD"))] == [
        "3157,24", "12,", "1,234", "0,05",
    ]  # fmt: skip


def test_info_lines_wrap_cut_and_guard() -> None:
    assert info_lines("A" * 70) == ["A" * 65, "A" * 5]  # a word longer than a line is cut
    assert info_lines("X " + "-Y") == ["X -Y"]
    assert info_lines("X" * 64 + " -Y") == ["X" * 64, ".-Y"]  # would read as the end of the statement
    assert len(info_lines(" ".join(["WORD"] * 200))) == 6  # 6 lines at most, the rest dropped


# -- MT940 features the sample does not use -----------------------------------------------------------

STATEMENT = (
    "{{1:F01SMPLHKHHAXXX0000000000}}{{2:O9400000260303SMPLHKHHAXXX00000000002603030000N}}{{4:\r\n"
    ":20:REF1\r\n:25:{account}\r\n:28C:1/1\r\n:60F:C{opening_date}{ccy}{opening}\r\n"
    "{lines}"
    ":62F:{closing}\r\n-}}{{5:{{CHK:ABCDEF}}}}\r\n"
)


def one(lines: str, *, ccy: str = "EUR", opening: str = "100,", closing: str = "C260303EUR100,",
        account: str = "NL91ABNA0417164300", opening_date: str = "260302") -> bytes:  # fmt: skip
    text = STATEMENT.format(lines=lines, ccy=ccy, opening=opening, closing=closing, account=account,
                            opening_date=opening_date)  # fmt: skip
    return text.encode("utf-8")


def test_envelope_reversals_funds_code_year_end_and_supplementary() -> None:
    data = one(
        ":61:2701021231RC10,NMSCNONREF\r\n"  # reversal of a credit: -10.00; booked 2026-12-31
        ":61:261231RD2,5NTRFINV1//B2\r\n"  # reversal of a debit: +2.50, no entry date
        ":61:2612310102CD800,S103ABC//B3\r\n"  # funds code D, 800 with no decimals; booked 2027-01-02
        "OUR SUPPLEMENTARY DETAILS\r\n"
        ":86:LINE ONE\r\nLINE TWO\r\n",
        closing="C270102EUR892,50",  # 100 - 10 + 2.50 + 800
    )
    result = parse(data)
    assert result.file_error is None and result.quarantine.height == 0, result.quarantine
    rows = result.rows.select("amount_minor", "booking_date", "value_date", "bank_ref", "reference")
    assert rows.rows() == [
        (-1000, date(2026, 12, 31), date(2027, 1, 2), None, None),
        (250, date(2026, 12, 31), date(2026, 12, 31), "B2", None),
        (80000, date(2027, 1, 2), date(2026, 12, 31), "B3", "LINE ONE LINE TWO"),
    ]
    assert result.controls[0].ok and result.controls[0].verifiable
    # envelope line (header), :20: :25: :28C: :60F: (header), 3 :61:, supplementary + 2 :86: lines,
    # :62F: and -}{5:...} (footer)
    counts = result.lines
    assert (counts.header, counts.data, counts.continuation, counts.footer) == (5, 3, 3, 2)
    accounted(result, data)


def test_currency_exponents() -> None:
    jpy = parse(one(":61:260303C1500,NTRFNONREF//J1\r\n", ccy="JPY", opening="0,", closing="C260303JPY1500,"))
    assert jpy.file_error is None and jpy.rows["amount_minor"].to_list() == [1500]
    kwd = parse(one(":61:260303D1,234NTRFNONREF//K1\r\n", ccy="KWD", opening="2,", closing="C260303KWD0,766"))
    assert kwd.file_error is None and kwd.rows["amount_minor"].to_list() == [-1234]
    cents = parse(
        one(":61:260303C15,50NTRFNONREF//J2\r\n", ccy="JPY", opening="0,", closing="C260303JPY15,50")
    )
    assert codes(cents) == [(6, "amount", "SCALE_EXCEEDED")]


# -- hostile input ------------------------------------------------------------------------------------


@pytest.mark.parametrize("amount", ["1.234,5", "12.50", "-12,50", "1 234,50", ""])
def test_bad_amount_quarantines_the_entry_and_the_balance_is_not_verifiable(
    sample: bytes, amount: str
) -> None:
    data = sample.replace(b"D28,00NCHG", b"D" + amount.encode() + b"NCHG")
    result = parse(data)
    assert codes(result) == [(13, "amount", "BAD_AMOUNT")]
    assert result.quarantine["value"][0] == amount
    assert result.rows.height == 9 and result.rejected["source_line"].to_list() == [13]
    rejected = result.rejected.row(0, named=True)
    assert rejected["channel_txn_id"] == "CH0303FEE0028" and rejected["amount_minor"] is None
    cny = next(c for c in result.controls if c.name.startswith("6200881234"))
    assert not cny.verifiable and cny.ok  # not verifiable, not a mismatch
    assert result.file_error is None
    accounted(result, data)


def test_point_amount_reason_names_the_decimal_comma(sample: bytes) -> None:
    result = parse(sample.replace(b"D28,00NCHG", b"D28.00NCHG"))
    assert "decimal" in result.quarantine["reason"][0] and result.quarantine["value"][0] == "28.00"


@pytest.mark.parametrize(
    ("field", "column"),
    [
        (b":61:2602300303D28,00", "value_date"),
        (b":61:2603031303D28,00", "entry_date"),
        (b":61:2613030303D28,00", "value_date"),
    ],
)
def test_bad_date(sample: bytes, field: bytes, column: str) -> None:
    result = parse(sample.replace(b":61:2603030303D28,00", field))
    assert codes(result) == [(13, column, "BAD_DATE")]
    assert result.rows.height == 9
    cny = next(c for c in result.controls if c.name.startswith("6200881234"))
    assert cny.verifiable and cny.ok  # the amount could be read: the balance still checks


def test_unreadable_statement_line(sample: bytes) -> None:
    result = parse(sample.replace(b":61:2603030303D28,00NCHGNONREF//CH0303FEE0028", b":61:GARBAGE"))
    assert codes(result) == [(13, ":61:", "FORMAT_VIOLATION")]
    assert result.rejected["source_line"].to_list() == [13]


@pytest.mark.parametrize(
    ("cut", "line"),
    [
        (b"-\r\n", 36),
        (b":62F:C260303USD14719,19\r\n:64:C260303USD14719,19\r\n-\r\n", 34),
        (b"PAYPAL PTE LTD\r\n", 28),
    ],
)
def test_truncated(sample: bytes, cut: bytes, line: int) -> None:
    data = sample[: sample.rindex(cut)]
    result = parse(data)
    assert result.file_error is not None and result.file_error.reason_code == "TRUNCATED"
    assert result.file_error.line == line
    accounted(result, data)


def test_cut_anywhere_never_raises_and_accounts_for_every_line(sample: bytes) -> None:
    for end in range(0, len(sample), 7):
        data = sample[:end]
        result = parse(data)
        if end:
            accounted(result, data)
        assert end == len(sample) or result.file_error is not None


def test_tampered_closing_balance_is_a_mismatch_on_its_line(sample: bytes) -> None:
    result = parse(sample.replace(b":62F:C260303CNY83930,06", b":62F:C260303CNY83930,07"))
    assert result.file_error is not None and result.file_error.reason_code == "CONTROL_TOTAL_MISMATCH"
    assert result.file_error.line == 18 and "83930.07" in result.file_error.message
    assert "83930.06" in result.file_error.message and result.rows.height == 10


def test_characters_outside_the_x_set_are_data_but_control_and_bidi_characters_are_bad(sample: bytes) -> None:
    kept = parse(sample.replace(b"INTEREST CREDIT FEB 2026", "INTEREST_CRÉDIT @FEB 2026".encode()))
    assert kept.file_error is None and kept.quarantine.height == 0
    assert kept.rows["reference"][-1] == "INTEREST_CRÉDIT @FEB 2026"
    latin1 = parse(sample.replace(b"INTEREST CREDIT", "INTÉRÊT".encode("iso-8859-1")))
    assert latin1.quarantine.height == 0 and latin1.rows["reference"][-1] == "INTÉRÊT FEB 2026"
    for bad in ("\u202e", "\x00", "\x1b", "\u200f"):
        result = parse(sample.replace(b"TECHNOLOGY CO LTD", f"TECHNO{bad}LOGY".encode(), 1))
        assert codes(result) == [(5, "reference", "BAD_CHAR")], bad
        assert result.rows.height == 9
        assert all(c.ok and c.verifiable for c in result.controls)


def test_bad_character_in_a_reference_id(sample: bytes) -> None:
    result = parse(sample.replace(b"//CH0303FEE0028", "//CH0303\u202eFEE".encode()))
    assert codes(result) == [(13, "bank_ref", "BAD_CHAR")]


def test_limits(sample: bytes) -> None:
    too_big = parse(sample, Limits(max_file_bytes=100))
    assert too_big.file_error is not None and too_big.file_error.reason_code == "LIMIT_EXCEEDED"
    long_text = sample.replace(b"INTEREST CREDIT FEB 2026", b"X" * 300)
    result = parse(long_text, Limits(max_line_bytes=200, max_field_bytes=250))
    assert codes(result) == [(33, ":61:", "LIMIT_EXCEEDED"), (33, "reference", "LIMIT_EXCEEDED")]
    assert result.file_error is None and result.rows.height == 9
    many = parse(sample.replace(b",", b"."), Limits(max_problem_lines=2))
    assert many.file_error is not None and many.file_error.reason_code == "TOO_MANY_BAD_ROWS"


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "EMPTY_FILE"),
        (b"hello\r\n", "HEADER_MISMATCH"),
        (
            b":20:X\r\n:25:1\r\n:28C:1\r\n:60F:C260302EUR1,\r\n:34F:EURD0,\r\n:62F:C260303EUR1,\r\n-\r\n",
            "FORMAT_VIOLATION",
        ),
        (
            b":20:X\r\n:25:1\r\n:28C:1\r\n:60F:C260302EUR1,\r\n:62F:C260303EUR1,\r\n"  # no '-' before the next
            b":20:Y\r\n:25:1\r\n:28C:2\r\n:60F:C260302EUR1,\r\n:62F:C260303EUR1,\r\n-\r\n",
            "FORMAT_VIOLATION",
        ),
        (b":20:X\r\n:25:1\r\n:28C:1\r\n:60F:C2603EUR1,\r\n:62F:C260303EUR1,\r\n-\r\n", "FORMAT_VIOLATION"),
        (
            b":20:X\r\n:25:1\r\nMORE\r\n:28C:1\r\n:60F:C260302EUR1,\r\n:62F:C260303EUR1,\r\n-\r\n",
            "FORMAT_VIOLATION",
        ),
        (b":20:X\r\n:25:1\r\n:28C:1\r\n:60F:C260302EUR1,\r\n:62F:C260303USD1,\r\n-\r\n", "FORMAT_VIOLATION"),
    ],
)
def test_malformed_files_are_rejected_with_every_line_accounted(data: bytes, code: str) -> None:
    result = parse(data)
    assert result.file_error is not None and result.file_error.reason_code == code, result.file_error
    if data:
        accounted(result, data)


def test_no_entries_is_a_balanced_empty_statement() -> None:
    result = parse(one(""))
    assert result.file_error is None and result.rows.height == 0
    assert result.controls[0].parsed == Decimal(100) and result.facts == {
        "NL91ABNA0417164300 entries": Decimal(0)
    }


def test_rows_go_to_the_sink(sample: bytes) -> None:
    sink = CollectingSink()
    result = parse_mt940(sample, "bank/x.sta", ParseContext(business_date=DAY, sink=sink))
    assert result.rows.height == 0 and result.row_count == 10
    assert sum(frame.height for frame in sink.row_chunks) == 10
    assert parse(sample.replace(b"\r\n", b"\n")).fingerprint == result.fingerprint  # line ends aside


def test_statements_of_one_account_get_distinct_names(sample: bytes) -> None:
    cny = sample[: sample.index(b"-\r\n") + 3]
    result = parse(cny + cny.replace(b":28C:00062/001", b":28C:00062/002") + cny)
    assert result.file_error is None and result.rows.height == 15
    assert [c.name for c in result.controls] == [
        "6200881234 (00062/001) :60F:+entries=:62F:",
        "6200881234 (00062/002) :60F:+entries=:62F:",
        "6200881234 (00062/001) line 41 :60F:+entries=:62F:",  # 20 lines a statement
    ]
    assert list(result.facts.values()) == [Decimal(5)] * 3


#: Bytes that matter to MT940: line ends, tags, the end mark, the decimal comma, envelope braces,
#: a BOM, a bidi override, a NUL, a Latin-1 byte.
PALETTE = [b"\r", b"\n", b"\r\n", b":", b"-", b"-\r\n", b",", b".", b"{", b"}", b"9", b"C", b"D", b"//",
           b":61:", b":86:", b"\xef\xbb\xbf", "\u202e".encode(), b"\x00", b"\xe9"]  # fmt: skip


@settings(max_examples=150, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_corrupted_statement_never_raises_and_every_line_is_accounted_for(
    sample: bytes, data: st.DataObject
) -> None:
    broken = sample
    for _ in range(data.draw(st.integers(1, 3))):
        at = data.draw(st.integers(0, len(broken)))
        kind = data.draw(st.sampled_from(["flip", "insert", "delete", "cut", "line"]))
        if kind == "flip" and at < len(broken):
            broken = broken[:at] + bytes([data.draw(st.integers(0, 255))]) + broken[at + 1 :]
        elif kind == "insert":
            broken = broken[:at] + data.draw(st.sampled_from(PALETTE)) + broken[at:]
        elif kind == "delete":
            broken = broken[:at] + broken[at + data.draw(st.integers(1, 30)) :]
        elif kind == "cut":
            broken = broken[:at]
        else:  # a line doubled, dropped or moved
            lines = broken.split(b"\r\n")
            i, j = data.draw(st.integers(0, len(lines) - 1)), data.draw(st.integers(0, len(lines) - 1))
            moved = lines[i]
            action = data.draw(st.sampled_from(["double", "drop", "move"]))
            if action != "double":
                del lines[i]
            if action != "drop":
                lines.insert(min(j, len(lines)), moved)
            broken = b"\r\n".join(lines)
    sink = CollectingSink()
    result = parse_mt940(broken, "bank/x.sta", ParseContext(business_date=DAY, sink=sink))
    if broken:
        accounted(result, broken)
    assert result.row_count == sum(frame.height for frame in sink.row_chunks)
    assert result.rejected_count == sum(frame.height for frame in sink.rejected_chunks)
    if result.file_error is None:
        assert result.row_count + result.rejected_count == result.lines.data
        assert all(c.ok for c in result.controls)
    for frame in sink.row_chunks:
        BankTxn.validate(frame)


def test_padding_after_the_bank_reference_is_not_part_of_it(sample: bytes) -> None:
    result = parse(sample.replace(b"//CH0303FEE0028\r\n", b"//CH0303FEE0028   \r\n"))
    assert result.quarantine.height == 0 and result.rows["bank_ref"][3] == "CH0303FEE0028"
