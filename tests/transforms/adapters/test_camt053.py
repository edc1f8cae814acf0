from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from schemas.canonical import BankTxn
from transforms.adapters.camt053 import parse_camt053
from transforms.parsed import ParseContext

SAMPLE = Path(__file__).parents[2] / "fixtures" / "formats" / "camt053_SAMPLEBANK_20260303.xml"


@pytest.fixture(scope="module")
def sample() -> bytes:
    return SAMPLE.read_bytes()


def parse(data: bytes):
    return parse_camt053(data, "bank/camt053_SAMPLEBANK_20260303.xml", ParseContext(business_date=date(2026, 3, 3)))


def controls(result) -> dict[str, tuple[Decimal, Decimal | None]]:
    return {c.name: (c.footer, c.parsed) for c in result.controls}


def test_sample_rows_and_totals(sample: bytes) -> None:
    result = parse(sample)
    assert (result.format, result.role, result.channel) == ("camt053", "bank", "bank")
    assert result.file_error is None and result.quarantine.height == 0 and result.rejected.height == 0
    BankTxn.validate(result.rows)
    assert result.rows.height == 10
    assert all(c.ok and c.verifiable for c in result.controls)
    got = controls(result)
    assert got["6200881234 TtlNtries/NbOfNtries"] == (Decimal(5), Decimal(5))
    assert got["6200881234 TtlCdtNtries/NbOfNtries"] == (Decimal(3), Decimal(3))
    assert got["6200881234 TtlCdtNtries/Sum"] == (Decimal("10337.91"), Decimal("10337.91"))
    assert got["6200881234 TtlDbtNtries/NbOfNtries"] == (Decimal(2), Decimal(2))
    assert got["6200881234 TtlDbtNtries/Sum"] == (Decimal("12828.00"), Decimal("12828.00"))
    assert got["6200881234 OPBD+entries=CLBD"] == (Decimal("83930.06"), Decimal("83930.06"))
    assert got["6200885678 TtlNtries/NbOfNtries"] == (Decimal(5), Decimal(5))
    assert got["6200885678 TtlCdtNtries/Sum"] == (Decimal("3276.14"), Decimal("3276.14"))
    assert got["6200885678 TtlDbtNtries/Sum"] == (Decimal("1463.50"), Decimal("1463.50"))
    assert got["6200885678 OPBD+entries=CLBD"] == (Decimal("14719.19"), Decimal("14719.19"))
    assert result.statement_date == date(2026, 3, 3)

    cny = result.rows.filter(account="6200881234")
    usd = result.rows.filter(account="6200885678")
    assert cny.height == 5 and set(cny["currency"]) == {"CNY"}
    assert cny.filter(cny["amount_minor"] > 0)["amount_minor"].sum() == 1033791
    assert -cny.filter(cny["amount_minor"] < 0)["amount_minor"].sum() == 1282800
    assert usd.filter(usd["amount_minor"] > 0)["amount_minor"].sum() == 327614
    assert -usd.filter(usd["amount_minor"] < 0)["amount_minor"].sum() == 146350


def test_first_entry_is_wechat_settlement(sample: bytes) -> None:
    first = parse(sample).rows.row(0, named=True)
    assert first["amount_minor"] == 315724 and first["currency"] == "CNY"
    assert first["reference"] == "WECHAT PAY SETTLEMENT 1734502688 20260302"
    assert first["counterparty"] == "TENPAY PAYMENT TECHNOLOGY CO LTD"
    assert first["bank_ref"] == "WX0303STL0001"
    assert first["booking_date"] == date(2026, 3, 3) and first["value_date"] == date(2026, 3, 3)
    rows = parse(sample).rows
    debit = rows.row(2, named=True)
    assert debit["amount_minor"] == -1280000 and debit["counterparty"] == "JINGDEZHEN CERAMICS TRADING CO"
    assert rows.row(3, named=True)["counterparty"] is None  # a charge has no related party
    assert rows.row(4, named=True)["value_date"] == date(2026, 3, 4)


def test_source_lines_point_at_ntry_tags(sample: bytes) -> None:
    lines = sample.decode("utf-8").split("\n")
    result = parse(sample)
    for number in result.rows["source_line"]:
        assert "<Ntry>" in lines[number - 1]
    assert result.rows["source_line"][0] == 43
    counts = result.lines
    assert counts.physical == 277
    assert counts.physical == counts.data + counts.header + counts.preamble + counts.footer + counts.blank


def test_tampered_sum_is_control_total_mismatch(sample: bytes) -> None:
    tampered = sample.replace(b"<Sum>10337.91</Sum>", b"<Sum>10337.92</Sum>")
    result = parse(tampered)
    assert result.file_error is not None and result.file_error.reason_code == "CONTROL_TOTAL_MISMATCH"
    assert "10337.92" in result.file_error.message and "10337.91" in result.file_error.message
    assert result.rows.height == 10  # what could be read is still there


def test_tampered_closing_balance_is_mismatch(sample: bytes) -> None:
    tampered = sample.replace(b">83930.06<", b">83930.07<")
    result = parse(tampered)
    assert result.file_error is not None and result.file_error.reason_code == "CONTROL_TOTAL_MISMATCH"
    assert "OPBD+entries=CLBD" in result.file_error.message


def test_truncated_document_is_malformed(sample: bytes) -> None:
    result = parse(sample[: len(sample) // 2])
    assert result.file_error is not None and result.file_error.reason_code == "XML_MALFORMED"
    assert result.file_error.line is not None and result.file_error.line > 100
    assert result.rows.height == 0


def test_billion_laughs_rejected_without_expanding() -> None:
    lol = (
        b'<?xml version="1.0"?>\n<!DOCTYPE lolz [\n<!ENTITY lol "lol">\n'
        + b"".join(
            f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10 if i > 1 else "&lol;" * 10}">\n'.encode()
            for i in range(1, 10)
        )
        + b']>\n<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">&lol9;</Document>\n'
    )
    result = parse(lol)
    assert result.file_error is not None and result.file_error.reason_code == "XML_UNSAFE"


def test_external_entity_rejected() -> None:
    xxe = (
        b'<?xml version="1.0"?>\n<!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n'
        b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">&x;</Document>\n'
    )
    result = parse(xxe)
    assert result.file_error is not None and result.file_error.reason_code == "XML_UNSAFE"
    assert "root:" not in result.file_error.message


def test_foreign_namespace_rejected() -> None:
    result = parse(b'<?xml version="1.0"?><Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.001.001.03"/>')
    assert result.file_error is not None and result.file_error.reason_code == "HEADER_MISMATCH"


MINIMAL = """<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08">
 <BkToCstmrStmt>
  <Stmt>
   <Acct><Id><IBAN>DE89370400440532013000</IBAN></Id></Acct>
   <Ntry>
    <Amt Ccy="EUR">10.50</Amt><CdtDbtInd>DBIT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>
    <BookgDt><DtTm>2026-03-03T10:00:00+01:00</DtTm></BookgDt>
    <NtryDtls><TxDtls><RltdPties><Cdtr><Pty><Nm>ACME</Nm></Pty></Cdtr></RltdPties>
     <RmtInf><Ustrd>INV 1</Ustrd><Ustrd>INV 2</Ustrd></RmtInf></TxDtls></NtryDtls>
   </Ntry>
   <Ntry>
    <Amt Ccy="EUR">5.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>PDNG</Cd></Sts>
    <BookgDt><Dt>2026-03-03</Dt></BookgDt>
   </Ntry>
   <Ntry>
    <Amt Ccy="EUR">1.005</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>
    <BookgDt><Dt>2026-03-03</Dt></BookgDt>
   </Ntry>
  </Stmt>
 </BkToCstmrStmt>
</Document>
"""


def test_v08_iban_dttm_ustrd_and_quarantine() -> None:
    result = parse(MINIMAL.encode())
    assert result.file_error is None and result.controls == ()
    row = result.rows.row(0, named=True)
    assert row["account"] == "DE89370400440532013000" and row["amount_minor"] == -1050
    assert row["booking_date"] == date(2026, 3, 3) and row["value_date"] is None
    assert row["reference"] == "INV 1 INV 2" and row["counterparty"] == "ACME"
    assert row["source_line"] == 6
    codes = [(r["source_line"], r["reason_code"]) for r in result.quarantine.iter_rows(named=True)]
    assert codes == [(12, "NOT_BOOKED"), (16, "SCALE_EXCEEDED")]
    rejected = result.rejected.row(0, named=True)
    assert rejected["source_line"] == 12 and rejected["amount_minor"] == 500 and rejected["channel"] == "bank"
