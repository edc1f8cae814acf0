"""transforms/publish.py: deterministic Parquet bytes, manifest.json and hashes."""

from __future__ import annotations

import hashlib
import io
import json
import re
from datetime import date

import polars as pl
import pyarrow.parquet as pq

from transforms.publish import frame_to_parquet, manifest_json, sha256_hex
from transforms.report import ChannelSummary, InputFile, Report

BUSINESS_DATE = date(2026, 3, 2)
WECHAT_TXN = "4200000926202101281412639609"
WECHAT_FILE = "wechatpay/微信支付账单_20260302.csv"


def outcomes_frame() -> pl.DataFrame:
    # Outcome columns (schemas/outputs.py) that matter here: ids as text, money as Int64 minor units.
    return pl.DataFrame(
        {
            "source": ["channel", "ledger", "channel"],
            "source_file": [WECHAT_FILE, "ledger/ledger.csv", WECHAT_FILE],
            "source_line": [5, 2, None],
            "channel_txn_id": [WECHAT_TXN, None, "0012"],  # leading zeros stay
            "order_no": ['=HYPERLINK("http://x","click")', "#N/A", "abc\x00def"],
            "amount_minor": [123450, -5000, None],
            "currency": ["CNY", "CNY", None],
            "detail": ["金额不符", "+1+1", "\x1b[31m"],
        },
        schema={
            "source": pl.String(), "source_file": pl.String(), "source_line": pl.Int64(),
            "channel_txn_id": pl.String(), "order_no": pl.String(), "amount_minor": pl.Int64(),
            "currency": pl.String(), "detail": pl.String(),
        },
    )


def make_report() -> Report:
    empty = pl.DataFrame()
    return Report(
        business_date=BUSINESS_DATE,
        run_id="run-3f2a9c",
        code_version="0.1.0+abc1234",
        rules_hash="9" * 64,
        headline="PROVISIONAL — statement missing: alipay",
        notes=("alipay: statement missing",),
        channels=(
            ChannelSummary("wechatpay", "ok", 12, 11, 20, 3, 1, "97.5"),
            ChannelSummary("alipay", "statement missing", 0, 4, 0, 4, 0, "0.0"),
        ),
        inputs=(
            # 17 physical lines = 12 data + 1 header + 1 preamble + 3 footer + 0 blank.
            InputFile(WECHAT_FILE, "a" * 64, "wechatpay_tradebill", "channel", "ok", 12, 17, 1, 1, 3, 0),
        ),
        outcome_counts=(("matched", 21), ("amount_mismatch", 1)),
        discrepancies=empty,
        discrepancy_count=0,
        settlement=empty,
        open_items=empty,
        open_item_count=0,
        quarantine=empty,
        exit_code=3,
    )


HASHES = {"recon_2026-03-02.xlsx": "c" * 64, "outcomes.parquet": "d" * 64}


def test_sha256_hex() -> None:
    assert sha256_hex(b"abc") == hashlib.sha256(b"abc").hexdigest()
    assert sha256_hex(b"") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def test_parquet_bytes_are_deterministic() -> None:
    first = frame_to_parquet(outcomes_frame())
    assert frame_to_parquet(outcomes_frame()) == first
    assert first[:4] == b"PAR1" and first[-4:] == b"PAR1"


def test_parquet_reads_back_with_integer_money_and_exact_ids() -> None:
    frame = outcomes_frame()
    back = pl.read_parquet(io.BytesIO(frame_to_parquet(frame)))
    assert back.schema["amount_minor"] == pl.Int64
    assert back.schema["source_line"] == pl.Int64
    assert back.schema["channel_txn_id"] == pl.String
    assert back.equals(frame)  # nulls, the 28-digit id, '0012' and hostile text unchanged


def test_parquet_is_compressed_with_zstd() -> None:
    meta = pq.ParquetFile(io.BytesIO(frame_to_parquet(outcomes_frame()))).metadata
    assert meta.row_group(0).column(0).compression == "ZSTD"


def test_parquet_of_dates_and_an_empty_frame() -> None:
    frame = pl.DataFrame({"settlement_date": [BUSINESS_DATE], "net_minor": [989000]})
    assert pl.read_parquet(io.BytesIO(frame_to_parquet(frame))).equals(frame)
    empty = frame.clear()
    back = pl.read_parquet(io.BytesIO(frame_to_parquet(empty)))
    assert back.height == 0 and back.schema == empty.schema


def test_manifest_content() -> None:
    manifest = json.loads(manifest_json(make_report(), HASHES))
    assert manifest["business_date"] == "2026-03-02"
    assert manifest["run_id"] == "run-3f2a9c"
    assert manifest["exit_code"] == 3
    assert manifest["headline"] == "PROVISIONAL — statement missing: alipay"
    assert manifest["outcome_counts"] == {"matched": 21, "amount_mismatch": 1}
    assert manifest["outputs"] == HASHES
    assert manifest["inputs"] == [{
        "source_file": WECHAT_FILE, "sha256": "a" * 64, "format": "wechatpay_tradebill", "role": "channel",
        "status": "ok", "data_rows": 12, "physical_lines": 17, "header_lines": 1, "preamble_lines": 1,
        "footer_lines": 3, "blank_lines": 0, "continuation_lines": 0, "unread_lines": 0,
    }]
    assert manifest["channels"][0] == {
        "channel": "wechatpay", "status": "ok", "rows": 12, "ledger_rows": 11, "matched": 20,
        "discrepancies": 3, "quarantined": 1, "match_rate_pct": "97.5",
    }
    assert set(manifest) == {
        "business_date", "run_id", "code_version", "rules_hash", "exit_code", "headline", "notes",
        "inputs", "outcome_counts", "channels", "outputs",
    }


def test_manifest_format_is_stable() -> None:
    data = manifest_json(make_report(), HASHES)
    assert manifest_json(make_report(), dict(reversed(HASHES.items()))) == data
    text = data.decode("utf-8")
    assert text.endswith("}\n") and not text.endswith("\n\n")
    assert '\n  "business_date": "2026-03-02",\n' in text  # indent 2
    assert WECHAT_FILE in text  # Chinese stays legible, not \\u escapes
    keys = re.findall(r'^  "(\w+)":', text, re.M)
    assert keys == sorted(keys)


def test_manifest_has_no_time_but_the_business_date() -> None:
    text = manifest_json(make_report(), HASHES).decode("utf-8")
    assert set(re.findall(r"\d{4}-\d{2}-\d{2}", text)) == {"2026-03-02"}  # field and file name
    assert not re.search(r"\d{2}:\d{2}", text)
