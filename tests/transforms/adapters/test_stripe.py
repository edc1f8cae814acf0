from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from schemas.canonical import ChannelTxn
from transforms.adapters.stripe import parse_stripe_balance
from transforms.parsed import Limits, LineCounts, ParseContext, ParsedFile

SAMPLE = (
    Path(__file__).parents[2]
    / "fixtures"
    / "formats"
    / "stripe_balance_change_from_activity_itemized_20260302.csv"
)
DAY = date(2026, 3, 2)
BOM = b"\xef\xbb\xbf"
HEADER = (
    "balance_transaction_id,created_utc,available_on_utc,currency,gross,fee,net,reporting_category,"
    "description,customer_facing_amount,customer_facing_currency"
)
COLUMNS = HEADER.split(",")


def sample() -> bytes:
    return SAMPLE.read_bytes()


def parse(data: bytes, **limits: int) -> ParsedFile:
    return parse_stripe_balance(
        data, "stripe/balance.csv", ParseContext(business_date=DAY, limits=Limits(**limits))
    )


def reasons(parsed: ParsedFile) -> list[tuple[int | None, str | None, str]]:
    return [
        (r["source_line"], r["column"], r["reason_code"]) for r in parsed.quarantine.iter_rows(named=True)
    ]


def record(**values: str) -> str:
    """One line of the 11-column layout: a 10.00 USD charge unless told otherwise (values as written)."""
    row = {
        "balance_transaction_id": "txn_1", "created_utc": "2026-03-02 10:00:00",
        "available_on_utc": "2026-03-03 00:00:00", "currency": "usd", "gross": "10.00", "fee": "0.59",
        "net": "9.41", "reporting_category": "charge", "description": "Order SHOP-1",
        "customer_facing_amount": "10.00", "customer_facing_currency": "usd",
    }  # fmt: skip
    row.update(values)
    return ",".join(row[column] for column in COLUMNS)


def report(*lines: str, header: str = HEADER, end: str = "\r\n") -> bytes:
    return (end.join([header, *lines]) + end).encode("utf-8")


def by_line(parsed: ParsedFile, line: int) -> dict[str, object]:
    return parsed.rows.filter(pl.col("source_line") == line).row(0, named=True)


# -- the sample report ----------------------------------------------------------------------------------


def test_sample_parses_to_17_rows_and_nothing_quarantined() -> None:
    parsed = parse(sample())
    assert parsed.file_error is None
    assert parsed.quarantine.height == 0 and parsed.rejected.height == 0
    assert parsed.rows.height == parsed.row_count == 17
    assert (parsed.format, parsed.role, parsed.channel) == ("stripe_balance", "channel", "stripe")
    # 18 physical lines = 1 header + 17 records, no footer
    assert parsed.lines == LineCounts(physical=18, data=17, header=1)
    assert parsed.controls == ()
    assert parsed.statement_date == DAY and parsed.merchant_account is None
    assert parsed.rows["source_line"].to_list() == list(range(2, 19))


def test_sample_totals_by_category_match_the_readme() -> None:
    rows = parse(sample()).rows
    # the balance (settlement) side of each row: gross in USD, fee charged, net = gross − fee
    settled = rows.with_columns(
        gross=pl.coalesce("settle_amount_minor", "amount_minor"), fee=-pl.col("fee_minor")
    )
    totals = settled.group_by("kind").agg(pl.len(), pl.col("gross").sum(), pl.col("fee").sum()).sort("kind")
    assert totals.rows() == [
        ("adjustment", 1, -11850, 1500),  # dispute: -118.50, dispute fee 15.00
        ("fee", 1, -84, 0),  # Radar: -0.84
        ("payment", 12, 162000, 5289),  # charges: 1620.00, fees 52.89
        ("refund", 3, -15800, 0),  # refunds: -158.00, no fee returned
    ]
    gross, fee = settled.select(pl.col("gross").sum(), pl.col("fee").sum()).row(0)
    assert (gross, fee) == (134266, 6789)  # 1342.66 and 67.89
    assert gross - fee == 127477  # net 1274.77 = the Stripe payout the bank credits
    # every row settles in USD (the balance currency): the EUR charge too
    assert settled.select(pl.coalesce("settle_currency", "currency").unique()).to_series().to_list() == [
        "USD"
    ]
    assert parse(sample()).facts == {
        "gross USD": Decimal("1342.66"), "fee USD": Decimal("67.89"), "net USD": Decimal("1274.77"),
    }  # fmt: skip


def test_eur_presented_charge_is_eur_settled_in_usd() -> None:
    row = by_line(parse(sample()), 5)  # 84.00 eur presented, 91.06 usd gross, fee 5.22 usd
    assert (row["kind"], row["currency"], row["amount_minor"]) == ("payment", "EUR", 8400)
    assert (row["settle_currency"], row["settle_amount_minor"]) == ("USD", 9106)
    assert (row["fee_minor"], row["fee_exact"]) == (-522, Decimal("-5.22000"))
    assert row["fx_rate"] is None  # the report has no exchange-rate column
    assert row["order_no"] == "SHOP-50104"


def test_refunds_dispute_and_fee_rows() -> None:
    parsed = parse(sample())
    refunds = parsed.rows.filter(pl.col("kind") == "refund")
    assert refunds["source_line"].to_list() == [6, 12, 17]
    assert refunds["amount_minor"].to_list() == [-8500, -4000, -3300]
    assert refunds["order_no"].to_list() == ["SHOP-50077", "SHOP-50102", "SHOP-50109"]
    dispute = by_line(parsed, 15)
    assert (dispute["kind"], dispute["amount_minor"], dispute["fee_minor"]) == ("adjustment", -11850, -1500)
    assert dispute["order_no"] is None  # "Chargeback withdrawal for ch_…": not our convention
    radar = by_line(parsed, 18)
    assert (radar["kind"], radar["amount_minor"], radar["fee_minor"], radar["currency"]) == (
        "fee",
        -84,
        0,
        "USD",
    )


def test_order_numbers_lines_and_times() -> None:
    parsed = parse(sample())
    assert by_line(parsed, 2)["order_no"] == "SHOP-50101"
    assert by_line(parsed, 6)["order_no"] == "SHOP-50077"  # REFUND FOR CHARGE (Order SHOP-50077)
    assert by_line(parsed, 9)["order_no"] == "SHOP-50107"  # Order SHOP-50107 (coupon SPRING15)
    first = by_line(parsed, 2)
    assert first["channel_txn_id"] == "txn_s5GhUjSf2IaJAeH8iPZlXy5y"
    assert first["occurred_at"] == datetime(2026, 3, 2, 0, 41, 12, tzinfo=UTC)
    assert (first["settle_date"], first["status"], first["merchant_account"]) == (DAY, "succeeded", None)
    assert (first["amount_minor"], first["fee_minor"], first["settle_currency"]) == (6400, -216, None)


def test_rows_satisfy_the_canonical_model_and_hold_no_float() -> None:
    rows = parse(sample()).rows
    ChannelTxn.validate(rows, lazy=True)
    assert not [name for name, dtype in rows.schema.items() if dtype.is_float()]
    assert rows.schema["fee_exact"] == pl.Decimal(18, 5) and rows.schema["amount_minor"] == pl.Int64


def test_lf_bom_and_reordered_columns_give_the_same_rows() -> None:
    expected = parse(sample()).rows
    lf = sample().replace(b"\r\n", b"\n")
    assert parse(lf).rows.equals(expected)
    assert parse(BOM + sample()).rows.equals(expected)
    # columns in another order plus columns recon does not read: read by name
    text = sample().decode().split("\r\n")
    reordered = []
    for line in text[:-1]:
        fields = line.split(",")
        reordered.append(",".join([fields[6], "x", *fields[:6], *fields[7:], "y"]))
    reordered[0] = reordered[0].replace(",x,", ",card_brand,").removesuffix(",y") + ",payment_method_type"
    assert parse(("\r\n".join(reordered) + "\r\n").encode()).rows.equals(expected)


def test_customer_id_is_the_buyer_when_the_report_has_it() -> None:
    """``customer_id`` (optional) is ``buyer_id``; a report without it has none (the sample's default columns)."""
    assert parse(sample()).rows["buyer_id"].null_count() == parse(sample()).rows.height
    lines = sample().decode().split("\r\n")[:-1]
    with_customer = [lines[0] + ",customer_id", *(f"{line},cus_{n:04d}" for n, line in enumerate(lines[1:], start=2))]
    rows = parse(("\r\n".join(with_customer) + "\r\n").encode()).rows
    assert rows.select("source_line", "buyer_id").filter(pl.col("source_line") == 2).row(0) == (2, "cus_0002")
    assert rows.drop("buyer_id").equals(parse(sample()).rows.drop("buyer_id"))


def test_the_default_nine_column_download_is_read() -> None:
    lines = sample().decode().split("\r\n")[:-1]
    nine = "\r\n".join(",".join(line.split(",")[:9]) for line in lines) + "\r\n"
    parsed = parse(nine.encode())
    assert parsed.file_error is None and parsed.rows.height == 17
    row = by_line(parsed, 5)  # without the customer-facing columns the row is USD
    assert (row["currency"], row["amount_minor"], row["settle_currency"]) == ("USD", 9106, None)


# -- quoting -------------------------------------------------------------------------------------------


def test_quoted_description_with_a_comma_and_a_quote() -> None:
    data = report(
        record(balance_transaction_id="txn_a", description='"Order SHOP-7, gift ""wrapped"""'),
        record(balance_transaction_id="txn_b", description="Order SHOP-8"),
    )
    parsed = parse(data)
    assert parsed.file_error is None and reasons(parsed) == []
    assert parsed.rows.select("source_line", "channel_txn_id", "order_no").rows() == [
        (2, "txn_a", "SHOP-7"),  # the order number ends at the comma
        (3, "txn_b", "SHOP-8"),
    ]
    assert parsed.lines == LineCounts(physical=3, data=2, header=1)


def test_quoted_description_with_an_embedded_newline_keeps_line_numbers() -> None:
    data = report(
        record(balance_transaction_id="txn_a"),
        record(balance_transaction_id="txn_b", description='"Order SHOP-9\r\nsecond line, with a comma"'),
        record(balance_transaction_id="txn_c"),
    )
    parsed = parse(data)
    assert parsed.file_error is None and reasons(parsed) == []
    # lines: 1 header, 2 txn_a, 3-4 txn_b (one record on two lines), 5 txn_c
    assert parsed.rows.select("source_line", "channel_txn_id", "order_no").rows() == [
        (2, "txn_a", "SHOP-1"), (3, "txn_b", "SHOP-9"), (5, "txn_c", "SHOP-1"),
    ]  # fmt: skip
    assert parsed.lines == LineCounts(physical=5, data=3, header=1, continuation=1)
    assert (
        parse(data.replace(b"\r\n", b"\n")).rows.drop("source_file").equals(parsed.rows.drop("source_file"))
    )


@pytest.mark.parametrize("chunk_bytes", [1024, 1111, 1500, 2000])
def test_quoted_records_across_small_chunks_read_as_in_one_chunk(chunk_bytes: int) -> None:
    lines = []
    for i in range(120):
        padding = "x" * (i * 13 % 40)  # lines of different lengths: chunk ends fall anywhere
        multi = i % 7 == 3
        description = (
            f'"Order SHOP-{i}\nline two, of {i} {padding}"' if multi else f"Order SHOP-{i} {padding}"
        )
        lines.append(record(balance_transaction_id=f"txn_{i}", description=description))
    data = report(*lines, end="\n")
    whole, small = parse(data), parse(data, chunk_bytes=chunk_bytes)
    assert whole.file_error is None and small.file_error is None
    assert whole.rows.height == small.rows.height == 120
    assert small.rows.equals(whole.rows)
    assert whole.lines == small.lines
    assert whole.lines.continuation == 17  # i = 3, 10, …, 115
    assert whole.lines.physical == 1 + 120 + 17


def test_a_chunk_is_cut_before_an_open_record_and_grown_for_a_long_one() -> None:
    # lines 2-6: five plain records (~550 bytes); lines 7-21: one record whose quoted description
    # has 15 lines of 100 characters, so the first 1 KiB chunk ends inside it (cut before line 7)
    # and the next chunk holds only part of it (grown until the record closes)
    long_text = "\n".join(["Order SHOP-77"] + ["y" * 100] * 14)
    lines = [record(balance_transaction_id=f"t{i}") for i in range(2, 7)]
    lines += [
        record(balance_transaction_id="t7", description=f'"{long_text}"'),
        record(balance_transaction_id="t22"),
    ]
    data = report(*lines, end="\n")
    for parsed in (parse(data), parse(data, chunk_bytes=1024)):
        assert reasons(parsed) == []
        assert parsed.rows.select("source_line", "channel_txn_id").rows()[-3:] == [
            (6, "t6"),
            (7, "t7"),
            (22, "t22"),
        ]
        assert by_line(parsed, 7)["order_no"] == "SHOP-77"
        assert parsed.lines == LineCounts(physical=22, data=7, header=1, continuation=14)


def test_malformed_quoting_quarantines_that_line_and_reads_on() -> None:
    data = report(
        record(
            balance_transaction_id="txn_a", description='Order SHOP-1 "gift'
        ),  # a stray quote opens nothing
        record(balance_transaction_id="txn_b", description="Order SHOP-2"),
        record(balance_transaction_id="txn_c", description='"Order SHOP-3"x'),  # text after a closing quote
        record(balance_transaction_id="txn_d", description='"Order SHOP-4"'),
    )
    parsed = parse(data)
    assert reasons(parsed) == [(2, None, "FORMAT_VIOLATION"), (4, None, "FORMAT_VIOLATION")]
    assert parsed.rows["channel_txn_id"].to_list() == ["txn_b", "txn_d"]
    assert parsed.rejected["source_line"].to_list() == [2, 4]
    assert parsed.lines == LineCounts(physical=5, data=4, header=1)


def test_a_quote_open_at_the_end_of_the_file_is_truncated() -> None:
    data = report(record(balance_transaction_id="txn_a")) + record(description='"Order SHOP-2, cut').encode()
    parsed = parse(data)
    assert parsed.file_error is not None and parsed.file_error.reason_code == "TRUNCATED"
    assert parsed.file_error.line == 3
    assert reasons(parsed) == [(3, None, "TRUNCATED")]
    assert parsed.rows["channel_txn_id"].to_list() == ["txn_a"]


# -- header -----------------------------------------------------------------------------------------------


def test_missing_and_repeated_columns_reject_the_file() -> None:
    missing = parse(report(record(), header=HEADER.replace(",fee,", ",fees,")))
    assert missing.file_error is not None and missing.file_error.reason_code == "MISSING_COLUMN"
    assert "fee" in missing.file_error.message and missing.rows.height == 0
    repeated = parse(report(record() + ",x", header=HEADER + ",gross"))
    assert repeated.file_error is not None and repeated.file_error.reason_code == "DUP_COLUMN"
    assert "gross" in repeated.file_error.message


def test_empty_file_header_only_and_a_second_bom() -> None:
    empty = parse(b"")
    assert empty.file_error is not None and empty.file_error.reason_code == "EMPTY_FILE"
    only = parse(report())  # a day without activity: Stripe writes the header and no records
    assert only.file_error is None and only.rows.height == 0
    assert only.lines == LineCounts(physical=1, header=1) and only.statement_date is None
    doubled = parse(BOM + BOM + sample())
    assert doubled.file_error is not None and doubled.file_error.reason_code == "BAD_CHAR"
    utf16 = parse(sample().decode().encode("utf-16"))  # a UTF-16 BOM: not UTF-8
    assert utf16.file_error is not None and utf16.file_error.reason_code == "DECODE_ERROR"


def test_gbk_bytes_are_a_decode_error_naming_the_line() -> None:
    data = report(record(), record(description="订单 SHOP-2"), end="\n").replace(
        "订单 SHOP-2".encode(), "订单 SHOP-2".encode("gbk")
    )
    parsed = parse(data)
    assert parsed.file_error is not None and parsed.file_error.reason_code == "DECODE_ERROR"
    assert parsed.file_error.line == 3 and "line 3" in parsed.file_error.message
    assert parsed.rows.height == 0
    gbk_header = parse(HEADER.replace("description", "描述").encode("gbk") + b"\n")
    assert gbk_header.file_error is not None and gbk_header.file_error.reason_code == "DECODE_ERROR"


# -- rows ---------------------------------------------------------------------------------------------


def test_unknown_category_is_quarantined_and_the_rest_is_read() -> None:
    parsed = parse(
        report(record(balance_transaction_id="txn_a", reporting_category="crypto_payout"), record())
    )
    assert reasons(parsed) == [(2, "reporting_category", "UNKNOWN_ENUM")]
    assert parsed.rows["source_line"].to_list() == [3]
    rejected = parsed.rejected.row(0, named=True)
    assert (rejected["source_line"], rejected["channel_txn_id"], rejected["kind"], rejected["amount_minor"]) == (
        2, "txn_a", None, 1000,
    )  # fmt: skip


def test_net_must_be_gross_minus_fee() -> None:
    parsed = parse(report(record(net="9.40"), record(balance_transaction_id="txn_2")))
    assert reasons(parsed) == [(2, "net", "NET_MISMATCH")]
    assert "9.40" in parsed.quarantine["reason"][0]
    assert parsed.rows["source_line"].to_list() == [3]
    assert parsed.facts == {"gross USD": None, "fee USD": None, "net USD": None}  # a line was rejected


def test_jpy_has_no_decimals() -> None:
    jpy = dict(currency="jpy", customer_facing_currency="jpy", customer_facing_amount="1500")
    parsed = parse(report(record(gross="1500", fee="54", net="1446", **jpy)))
    assert reasons(parsed) == []
    row = by_line(parsed, 2)
    assert (row["currency"], row["amount_minor"], row["fee_minor"], row["fee_exact"]) == (
        "JPY", 1500, -54, Decimal("-54.00000"),
    )  # fmt: skip
    written_with_cents = parse(report(record(gross="1500.00", fee="54", net="1446", **jpy)))
    assert reasons(written_with_cents) == [(2, "gross", "SCALE_EXCEEDED")]


def test_amount_with_too_many_decimals_is_never_rounded() -> None:
    parsed = parse(report(record(gross="10.005", net="9.415")))
    assert reasons(parsed) == [(2, "gross", "SCALE_EXCEEDED"), (2, "net", "SCALE_EXCEEDED")]
    fewer = parse(report(record(gross="10.5", fee="0.5", net="10", customer_facing_amount="10.5")))
    assert (
        reasons(fewer) == [] and by_line(fewer, 2)["amount_minor"] == 1050
    )  # at most the exponent's decimals
    kwd = parse(
        report(record(currency="kwd", gross="1.234", fee="0.034", net="1.2", customer_facing_currency=""))
    )
    assert reasons(kwd) == [] and by_line(kwd, 2)["amount_minor"] == 1234  # KWD has 3 decimals


def test_bad_amounts_currencies_and_dates() -> None:
    parsed = parse(
        report(
            record(balance_transaction_id="t2", gross='"1,000.00"'),  # quoted: one field, not a number
            record(balance_transaction_id="t3", currency="xyz"),
            record(balance_transaction_id="t4", created_utc="2026-02-30 10:00:00"),
            record(balance_transaction_id="t5", customer_facing_currency="abc"),
            record(
                balance_transaction_id="t6", customer_facing_currency="eur", customer_facing_amount="-9.00"
            ),
            record(balance_transaction_id=""),
        )
    )
    assert reasons(parsed) == [
        (2, "gross", "BAD_AMOUNT"),
        (3, "currency", "BAD_CURRENCY"),
        (4, "created_utc", "BAD_DATE"),
        (5, "customer_facing_currency", "BAD_CURRENCY"),
        (6, "customer_facing_amount", "SIGN_VIOLATION"),
        (7, "balance_transaction_id", "REQUIRED_EMPTY"),
    ]
    assert parsed.rows.height == 0 and parsed.rejected.height == 6


def test_charge_with_negative_gross_breaks_the_sign_table() -> None:
    parsed = parse(report(record(gross="-10.00", net="-10.59", customer_facing_amount="-10.00")))
    assert reasons(parsed) == [(2, "payments_in_refunds_out", "SIGN_VIOLATION")]


def test_metadata_payout_and_charge_ids() -> None:
    header = HEADER + ",charge_id,source_id,payment_metadata[order_no]"
    parsed = parse(
        report(
            record(balance_transaction_id="t2") + ",ch_1,ch_1,ORD-9",
            record(balance_transaction_id="t3", reporting_category="refund", gross="-10.00", fee="0.00",
                   net="-10.00", customer_facing_amount="-10.00", description="") + ",ch_1,re_1,",
            record(balance_transaction_id="t4", reporting_category="payout", gross="-500.00", fee="0.00",
                   net="-500.00", customer_facing_amount="", customer_facing_currency="",
                   description="STRIPE PAYOUT") + ",,po_1Smpl,",
            header=header,
        )
    )  # fmt: skip
    assert reasons(parsed) == []
    assert parsed.rows.select("kind", "order_no", "original_txn_id", "amount_minor").rows() == [
        ("payment", "ORD-9", None, 1000),  # the metadata wins over the description
        ("refund", None, "ch_1", -1000),  # the refunded charge
        ("payout", None, "po_1Smpl", -50000),  # the payout id the bank statement shows
    ]


def test_wrong_date_rejects_the_file() -> None:
    parsed = parse(report(record(created_utc="2026-03-01 23:59:59")))
    assert parsed.file_error is not None and parsed.file_error.reason_code == "WRONG_DATE"
    assert parsed.statement_date == date(2026, 3, 1)


# -- hostile input -------------------------------------------------------------------------------------


def test_bad_characters_and_limits() -> None:
    parsed = parse(
        report(
            record(balance_transaction_id="t2", description="Order SHOP-1\x00"),
            record(balance_transaction_id="t3", description="Order \u202eSHOP-1"),
            record(balance_transaction_id="t4", description="x" * 300),
            record(balance_transaction_id="t5", description="y" * 1200),
            record(balance_transaction_id="t6"),
        ),
        max_field_bytes=256,
        max_line_bytes=1024,
    )
    assert reasons(parsed) == [
        (2, "description", "BAD_CHAR"),
        (3, "description", "BAD_CHAR"),
        (4, "description", "LIMIT_EXCEEDED"),
        (5, None, "LIMIT_EXCEEDED"),
    ]
    assert parsed.rows["channel_txn_id"].to_list() == ["t6"]
    assert parsed.rejected["source_line"].to_list() == [2, 3, 4, 5]


@pytest.mark.parametrize("description", ["Order SHOP-1\rX", '"Order SHOP-1\rX"'])
def test_a_lone_cr_in_a_field_is_a_bad_character(description: str) -> None:
    parsed = parse(report(record(balance_transaction_id="t2", description=description), record()))
    assert [code for _, _, code in reasons(parsed)] == ["BAD_CHAR"]
    assert reasons(parsed)[0][0] == 2 and parsed.rows["source_line"].to_list() == [3]
    assert parsed.lines == LineCounts(physical=3, data=2, header=1)


def test_presented_currency_without_its_amount() -> None:
    parsed = parse(report(record(customer_facing_currency="eur", customer_facing_amount="")))
    assert reasons(parsed) == [(2, "customer_facing_amount", "REQUIRED_EMPTY")]
    same = parse(report(record(customer_facing_currency="USD", customer_facing_amount="")))
    assert reasons(same) == [] and by_line(same, 2)["currency"] == "USD"  # same currency: gross is the amount


def test_an_unclosed_quote_longer_than_a_record_may_be_resyncs() -> None:
    lines = [record(balance_transaction_id="t2", description='"Order SHOP-1')]  # never closed
    lines += [record(balance_transaction_id=f"t{i}") for i in range(3, 60)]
    parsed = parse(report(*lines, end="\n"), chunk_bytes=1024, max_line_bytes=1024)
    # line 2's quote runs past 1024 bytes: line 2 alone is quarantined, reading resumes on line 3
    assert reasons(parsed) == [(2, None, "LIMIT_EXCEEDED")]
    assert parsed.rows["source_line"].to_list() == list(range(3, 60))
    assert parsed.rejected["source_line"].to_list() == [2]
    assert parsed.lines.physical == 59
    assert parsed.lines.physical == 1 + parsed.lines.data + parsed.lines.continuation + parsed.lines.blank


def test_truncated_last_line_rejects_the_file() -> None:
    data = report(record(balance_transaction_id="t2")) + record(balance_transaction_id="t3").encode()[:40]
    parsed = parse(data)
    assert parsed.file_error is not None and parsed.file_error.reason_code == "TRUNCATED"
    assert parsed.file_error.line == 3
    assert reasons(parsed) == [(3, None, "FIELD_COUNT")]


def test_too_many_bad_rows_rejects_the_file() -> None:
    lines = [record(balance_transaction_id=f"t{i}", net="0.00") for i in range(5)] + [record()]
    parsed = parse(report(*lines), max_problem_lines=2)
    assert parsed.file_error is not None and parsed.file_error.reason_code == "TOO_MANY_BAD_ROWS"
    assert parsed.rows.height + parsed.rejected.height == 6


@pytest.mark.parametrize("end", ["\r\n", "\n"])
def test_blank_lines_are_counted(end: str) -> None:
    data = report(record(balance_transaction_id="t2"), "", record(balance_transaction_id="t4", description='"a,b"'),
                  "   ", end=end)  # fmt: skip
    parsed = parse(data)
    assert reasons(parsed) == []
    assert parsed.rows["source_line"].to_list() == [2, 4]
    assert parsed.lines == LineCounts(physical=5, data=2, header=1, blank=2)
