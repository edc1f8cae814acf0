"""Worked examples of transforms/validate.py: a pandera model splits a frame into good rows and quarantine."""

from __future__ import annotations

import pandera.polars as pa
import polars as pl
import pytest

from tests.helpers import table
from transforms.parsed import QUARANTINE_SCHEMA
from transforms.validate import SchemaBug, split_valid


class Txn(pa.DataFrameModel):
    """A tiny model: one row per transaction line."""

    txn_id: str = pa.Field(str_length={"min_value": 1})
    kind: str = pa.Field(isin=["payment", "refund"])
    amount_minor: pl.Int64 = pa.Field(ge=-1_000_000)
    source_file: str
    source_line: pl.Int64

    @pa.dataframe_check
    def refund_not_positive(cls, data: pa.PolarsData) -> pl.LazyFrame:
        """A refund never brings money in."""
        return data.lazyframe.select(
            pl.when(pl.col("kind") == "refund").then(pl.col("amount_minor") <= 0).otherwise(True)
        )

    class Config:
        """Extra columns are a bug."""

        strict = True


SCHEMA = {"txn_id": pl.String, "kind": pl.String, "amount_minor": pl.Int64, "source_file": pl.String,
          "source_line": pl.Int64}


def txn_frame(text: str) -> pl.DataFrame:
    rows = table(text)
    return pl.DataFrame(
        [
            {"txn_id": r["txn_id"], "kind": r["kind"], "amount_minor": int(r["amount_minor"]),
             "source_file": "alipay/bill.csv", "source_line": int(r["source_line"])}
            for r in rows
        ],
        schema=SCHEMA,
    )


# source_line is the physical line in the file (a preamble and a skipped blank line), never the position.
FRAME = """
source_line|txn_id|kind    |amount_minor|problem
5          |T1    |payment |1000        |none
7          |T2    |payment |-2000000    |amount below -1000000
8          |T3    |transfer|-3000000    |kind not allowed AND amount below -1000000
9          |T4    |refund  |500         |a positive refund (dataframe check)
12         |T5    |refund  |-500        |none
"""


def test_good_rows_in_order_and_one_entry_per_failed_row_and_column() -> None:
    frame = txn_frame(FRAME)
    good, quarantine = split_valid(frame, Txn)

    assert good.equals(frame.filter(pl.col("txn_id").is_in(["T1", "T5"])))  # same columns, same order
    assert quarantine.schema == QUARANTINE_SCHEMA
    got = {(r["source_line"], r["column"], r["value"], r["reason_code"]) for r in quarantine.iter_rows(named=True)}
    # A frame-level failure is named by its check and carries the whole row as its value.
    [frame_check_value] = quarantine.filter(pl.col("column") == "refund_not_positive")["value"].to_list()
    assert "T4" in frame_check_value
    assert got == {
        (7, "amount_minor", "-2000000", "SCHEMA_CHECK"),
        (8, "kind", "transfer", "SCHEMA_CHECK"),  # line 8 fails twice: one entry per column
        (8, "amount_minor", "-3000000", "SCHEMA_CHECK"),
        (9, "refund_not_positive", frame_check_value, "SCHEMA_CHECK"),
    }
    assert quarantine.height == 4
    assert set(quarantine["source_file"]) == {"alipay/bill.csv"}


def test_reason_codes_map_columns_and_checks() -> None:
    frame = txn_frame(FRAME)
    _, quarantine = split_valid(
        frame,
        Txn,
        reason_codes={"amount_minor": "BAD_AMOUNT", "refund_not_positive": "SIGN_VIOLATION"},
        default_reason_code="BAD_VALUE",
    )
    got = {(r["source_line"], r["column"]): r["reason_code"] for r in quarantine.iter_rows(named=True)}
    assert got == {
        (7, "amount_minor"): "BAD_AMOUNT",
        (8, "kind"): "BAD_VALUE",  # not in the mapping: the default
        (8, "amount_minor"): "BAD_AMOUNT",
        (9, "refund_not_positive"): "SIGN_VIOLATION",
    }
    reason = quarantine.filter(pl.col("source_line") == 8, pl.col("column") == "kind")["reason"].item()
    assert reason.startswith("kind: 'transfer' fails isin")


def test_a_valid_frame_is_returned_whole_with_an_empty_quarantine() -> None:
    frame = txn_frame(
        """
        source_line|txn_id|kind   |amount_minor
        2          |T1    |payment|1000
        3          |R1    |refund |-1000
        """
    )
    good, quarantine = split_valid(frame, Txn)
    assert good.equals(frame)
    assert quarantine.height == 0
    assert quarantine.schema == QUARANTINE_SCHEMA


def test_only_a_dataframe_check_fails() -> None:
    frame = txn_frame(
        """
        source_line|txn_id|kind  |amount_minor
        40         |R1    |refund|-100
        41         |R2    |refund|100
        """
    )
    good, quarantine = split_valid(frame, Txn, reason_codes={"refund_not_positive": "SIGN_VIOLATION"})
    assert good["txn_id"].to_list() == ["R1"]
    assert quarantine.select("source_line", "column", "reason_code").rows() == [
        (41, "refund_not_positive", "SIGN_VIOLATION")
    ]


def test_input_frame_is_not_mutated() -> None:
    frame = txn_frame(FRAME)
    before = frame.clone()
    split_valid(frame, Txn)
    assert frame.equals(before)


def test_wrong_dtype_is_a_schema_bug_not_a_quarantine() -> None:
    # amount_minor as Int32 is the adapter's mistake: every row would "fail", so it is raised.
    frame = txn_frame(FRAME).with_columns(pl.col("amount_minor").cast(pl.Int32))
    with pytest.raises(SchemaBug, match="Txn"):
        split_valid(frame, Txn)


def test_missing_or_extra_column_is_a_schema_bug() -> None:
    frame = txn_frame(FRAME)
    with pytest.raises(SchemaBug):
        split_valid(frame.drop("kind"), Txn)
    with pytest.raises(SchemaBug):
        split_valid(frame.with_columns(extra=pl.lit("x")), Txn)
