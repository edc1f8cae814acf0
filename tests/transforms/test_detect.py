from __future__ import annotations

import io
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from transforms.adapters.ledger import LEDGER_COLUMNS
from transforms.detect import SNIFF_BYTES
from transforms.dispatch import recognise

FIXTURES = Path(__file__).parents[1] / "fixtures" / "formats"


def _parquet() -> bytes:
    sink = io.BytesIO()
    pq.write_table(pa.table({"entry_id": ["E1"]}), sink)
    return sink.getvalue()


CASES = [
    (
        "\ufeff交易时间,公众账号ID,商户号,特约商户号\r\n`2026-03-02 08:12:05,`wx1\r\n".encode(),
        "wechatpay_trade",
    ),
    ("交易时间,公众账号ID,商户号,特约商户号\n".encode(), "wechatpay_trade"),
    ("记账时间,微信支付业务单号,资金流水单号\r\n".encode(), "wechatpay_fundflow"),
    ("#支付宝业务明细查询\r\n#账号：[2088]\r\n".encode("gb18030"), "alipay_trade"),
    ("#支付宝业务汇总查询\r\n".encode("gb18030"), "alipay_trade_summary"),
    ("#支付宝账务明细查询\r\n".encode("gb18030"), "alipay_account"),
    ((",".join(LEDGER_COLUMNS) + "\n").encode(), "ledger_csv"),
    ((" , ".join(reversed(LEDGER_COLUMNS)) + "\r\nE1,...\r\n").encode(), "ledger_csv"),
    (_parquet(), "ledger_parquet"),
    (
        b'<?xml version="1.0" encoding="UTF-8"?>\n<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.04">',
        "camt053",
    ),
    (
        b'<?xml version="1.0"?><!-- c --><c:Document xmlns:c="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"/>',
        "camt053",
    ),
    (b":20:S260303CNY062\r\n:25:6200881234\r\n", "mt940"),
    (b"{1:F01SMPLHKHHAXXX0000000000}{2:O9400000}{4:\r\n:20:S1\r\n", "mt940"),
    (b"balance_transaction_id,created_utc,currency,gross,fee,net,reporting_category\r\n", "stripe_balance"),
    (b'"RH",2026/03/03 03:12:47 -0800,"A","SMPLSHOPK28QZ",009,\r\n', "paypal_stl"),
]


@pytest.mark.parametrize(("data", "expected"), CASES)
def test_recognise(data: bytes, expected: str) -> None:
    assert recognise(data) == expected


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"hello world\n",
        b"entry_id,order_no,amount\n",  # a few of the ledger's columns: not the ledger
        b'<?xml version="1.0"?><Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.001.001.03"/>',
        b"PK\x03\x04",
    ],
)
def test_not_recognised(data: bytes) -> None:
    assert recognise(data) is None


def test_camt_sample() -> None:
    assert recognise((FIXTURES / "camt053_SAMPLEBANK_20260303.xml").read_bytes()) == "camt053"


def test_prefix_cut_inside_a_multibyte_character() -> None:
    header = "交易时间,公众账号ID,商户号\n".encode()
    body = "商" * SNIFF_BYTES
    data = header + body.encode()
    assert len(data[:SNIFF_BYTES]) == SNIFF_BYTES and (SNIFF_BYTES - len(header)) % 3 != 0
    assert recognise(data) == "wechatpay_trade"
    gbk = "#支付宝业务明细查询\r\n".encode("gb18030") + ("商" * SNIFF_BYTES).encode("gb18030")
    assert recognise(b"x" + gbk[1:]) is None
    assert recognise(gbk[:1] + gbk[1 : SNIFF_BYTES - 1] + gbk[SNIFF_BYTES:]) == "alipay_trade"


def test_a_bom_file_cut_inside_a_character_at_the_sniff_limit_is_still_recognised():
    # Regression: the BOM shortened the prefix, so a character cut at byte 4096 was not forgiven.
    from transforms.detect import SNIFF_BYTES

    header = "交易时间,公众账号ID,商户号,特约商户号\r\n".encode()
    filler = "知" * SNIFF_BYTES  # 3 bytes each: the 4096-byte cut falls inside a character
    data = b"\xef\xbb\xbf" + header + filler.encode()
    assert len(data) > SNIFF_BYTES
    assert recognise(data) == "wechatpay_trade"


def test_a_bill_in_the_wrong_encoding_still_reaches_its_adapter_which_rejects_it():
    # BAD_INPUTS F06: the adapter's exact header check rejects it as HEADER_MISMATCH.
    from datetime import date

    from tests.conftest import FIXTURES
    from transforms.dispatch import parse_input
    from transforms.parsed import ParseContext

    wechat = (FIXTURES / "formats" / "wechatpay_tradebill_ALL_20260302.csv").read_bytes()
    alipay = (FIXTURES / "formats" / "alipay_20886413579246800156_20260302_业务明细.csv").read_bytes()
    as_gbk = wechat.removeprefix(b"\xef\xbb\xbf").decode("utf-8").encode("gb18030")
    as_utf8 = alipay.decode("gb18030").encode("utf-8")
    assert recognise(as_gbk) == "wechatpay_trade"
    assert recognise(as_utf8) == "alipay_trade"
    for data, name in ((as_gbk, "wechatpay/bill.csv"), (as_utf8, "alipay/detail.csv")):
        parsed = parse_input(data, name, ParseContext(business_date=date(2026, 3, 2)))
        assert parsed.file_error is not None and parsed.file_error.reason_code == "HEADER_MISMATCH", parsed.file_error


def test_a_ledger_with_a_column_missing_or_added_goes_to_its_adapter():
    # which rejects it by name (MISSING_COLUMN / UNEXPECTED_COLUMN) instead of "unknown format"
    assert recognise(",".join(LEDGER_COLUMNS[:-1]).encode() + b"\n") == "ledger_csv"
    assert recognise(",".join([*LEDGER_COLUMNS, "memo"]).encode() + b"\n") == "ledger_csv"


def test_every_format_of_the_registry_is_recognised_by_its_own_signature_and_no_other() -> None:
    """One real or rendered file per format; recognition is the first registry row whose signature holds."""
    from sample_data.render_fundflow import render_wechat_fundflow
    from sample_data.render_unionpay import render_unionpay_zm
    from tests.transforms.adapters import test_alipay_account, test_unionpay, test_wechatpay_fundflow
    from transforms.detect import sniff
    from transforms.dispatch import FORMATS, STATEMENT_CHANNELS

    formats = Path(__file__).parents[1] / "fixtures" / "formats"
    ledger = Path(__file__).parents[1] / "fixtures" / "shared_samples_ledger_20260302.csv"
    files = {
        "wechatpay_trade": (formats / "wechatpay_tradebill_ALL_20260302.csv").read_bytes(),
        "wechatpay_fundflow": render_wechat_fundflow(test_wechatpay_fundflow.day_moves()),
        "alipay_trade": (formats / "alipay_20886413579246800156_20260302_业务明细.csv").read_bytes(),
        "alipay_trade_summary": (formats / "alipay_20886413579246800156_20260302_业务明细(汇总).csv").read_bytes(),
        "alipay_account": test_alipay_account.render(),
        "ledger_csv": ledger.read_bytes(),
        "ledger_parquet": b"PAR1" + bytes(60),
        "stripe_balance": (formats / "stripe_balance_change_from_activity_itemized_20260302.csv").read_bytes(),
        "paypal_stl": (formats / "paypal_STL-20260302.01.009.CSV").read_bytes(),
        "camt053": (formats / "camt053_SAMPLEBANK_20260303.xml").read_bytes(),
        "mt940": (formats / "mt940_SAMPLEBANK_20260303.sta").read_bytes(),
        "unionpay_zm": render_unionpay_zm(test_unionpay.day_rows()),
    }
    assert set(files) == {f.name for f in FORMATS}
    for name, data in files.items():
        holding = [f.name for f in FORMATS if f.signature(sniff(data))]
        assert holding == [name], (name, holding)
        assert recognise(data) == name
    assert STATEMENT_CHANNELS == ("wechatpay", "alipay", "stripe", "paypal", "unionpay")
