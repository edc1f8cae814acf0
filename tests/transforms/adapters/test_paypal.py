from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from schemas.canonical import ChannelTxn
from transforms.adapters.paypal import looks_like_paypal_stl, parse_paypal_stl, split_stl_line
from transforms.parsed import CollectingSink, Limits, LineCounts, ParseContext

SAMPLE = Path(__file__).parents[2] / "fixtures" / "formats" / "paypal_STL-20260302.01.009.CSV"
DAY = date(2026, 3, 2)
#: The CH line's columns (with the row type), to address SB fields by name in the tests.
CH = split_stl_line(SAMPLE.read_bytes().decode("utf-8").split("\r\n")[3]) or []


def sample() -> bytes:
    return SAMPLE.read_bytes()


def parse(data: bytes, day: date = DAY, **limits: int):
    return parse_paypal_stl(
        data, "paypal/STL-20260302.01.009.CSV", ParseContext(business_date=day, limits=Limits(**limits))
    )


def lines() -> list[str]:
    return sample().decode("utf-8").split("\r\n")


def with_field(line_no: int, column: str, value: str) -> bytes:
    """The sample with one field of physical line ``line_no`` replaced (``value`` written as is, quotes included)."""
    text = lines()
    fields = text[line_no - 1].split(",")  # the sample has no comma inside a quoted field
    fields[CH.index(column)] = value
    text[line_no - 1] = ",".join(fields)
    return "\r\n".join(text).encode("utf-8")


def reasons(parsed) -> list[tuple[int | None, str | None, str]]:
    return [
        (r["source_line"], r["column"], r["reason_code"]) for r in parsed.quarantine.iter_rows(named=True)
    ]


def controls(parsed) -> dict[str, tuple[Decimal, Decimal | None]]:
    return {c.name: (c.footer, c.parsed) for c in parsed.controls}


def row(parsed, line: int) -> dict[str, object]:
    return parsed.rows.filter(pl.col("source_line") == line).row(0, named=True)


# -- the sample --------------------------------------------------------------------------------------


def test_sample_report_reads_every_sb_line_and_agrees_with_its_footers():
    parsed = parse(sample())
    assert parsed.file_error is None
    assert parsed.quarantine.height == 0 and parsed.rejected.height == 0
    assert parsed.rows.height == 18 and parsed.row_count == 18
    assert (parsed.format, parsed.role, parsed.channel) == ("paypal_stl", "channel", "paypal")
    assert parsed.merchant_account == "SMPLSHOPK28QZ"
    assert parsed.statement_date == DAY
    # 29 lines = RH FH SH CH + 18 SB + SF×2 SC RF×2 RC FF
    assert parsed.lines == LineCounts(physical=29, data=18, header=4, footer=7)
    assert parsed.facts == {}  # every footer line has the reconstructed shape
    figures = controls(parsed)
    assert all(c.verifiable and c.ok for c in parsed.controls)
    for scope in ("SF", "RF"):  # the sample's SF and RF lines are the same (one section)
        assert figures[f"{scope} USD gross credits"] == (Decimal(173305), Decimal(173305))
        assert figures[f"{scope} USD gross debits"] == (Decimal(212400), Decimal(212400))
        assert figures[f"{scope} USD fee credits"] == (Decimal(371), Decimal(371))
        assert figures[f"{scope} USD fee debits"] == (Decimal(5543), Decimal(5543))
        # 118437 + 173305 − 212400 + 371 − 5543 = 74170
        assert figures[f"{scope} USD ending balance (beginning + activity)"] == (
            Decimal(74170),
            Decimal(74170),
        )
        assert figures[f"{scope} EUR gross credits"] == (Decimal(7600), Decimal(7600))
        assert figures[f"{scope} EUR gross debits"] == (Decimal(7220), Decimal(7220))
        assert figures[f"{scope} EUR fee credits"] == (Decimal(0), Decimal(0))
        assert figures[f"{scope} EUR fee debits"] == (Decimal(380), Decimal(380))
        assert figures[f"{scope} EUR ending balance (beginning + activity)"] == (Decimal(0), Decimal(0))
    assert figures["SC section 1 SB lines"] == (Decimal(18), Decimal(18))
    assert figures["RC report SB lines"] == (Decimal(18), Decimal(18))
    assert figures["FF file lines"] == (Decimal(29), Decimal(29))
    assert len(parsed.controls) == 23  # 2 × (2 currencies × 5) + SC + RC + FF


def test_sample_rows_are_valid_canonical_rows_without_floats():
    rows = parse(sample()).rows
    ChannelTxn.validate(rows, lazy=True)
    assert not any(dtype.is_float() for dtype in rows.schema.values())
    assert rows["kind"].value_counts().sort("kind").rows() == [
        ("conversion", 2), ("payment", 13), ("payout", 1), ("refund", 2),
    ]  # fmt: skip
    assert set(rows["merchant_account"]) == {"SMPLSHOPK28QZ"}
    assert set(rows["settle_date"]) == {DAY}
    assert set(rows["status"]) == {"succeeded"}


def test_sample_rows_map_as_documented():
    parsed = parse(sample())
    assert row(parsed, 5)["buyer_id"] == "buyer71001@example.net"  # Consumer ID: the buyer
    eur = row(parsed, 9)  # the cross-border EUR payment: 76.00 EUR, fee 3.80 EUR
    assert (eur["kind"], eur["currency"], eur["amount_minor"], eur["fee_minor"]) == (
        "payment",
        "EUR",
        7600,
        -380,
    )
    assert eur["fee_exact"] == Decimal("-3.80000")
    assert (eur["channel_txn_id"], eur["order_no"], eur["original_txn_id"]) == (
        "TLRJ1FLP4VOHF25N0",
        "INV-71005",
        None,
    )
    for line, currency, amount in ((10, "EUR", -7220), (11, "USD", 7590)):  # the T0200 pair converting it
        conversion = row(parsed, line)
        assert (conversion["kind"], conversion["currency"], conversion["amount_minor"]) == (
            "conversion",
            currency,
            amount,
        )
        assert conversion["fee_minor"] == 0 and conversion["original_txn_id"] == "TLRJ1FLP4VOHF25N0"
        assert conversion["order_no"] is None
    payout = row(parsed, 19)  # T0400 withdrawal: the bank shows BNK20260302SMPL01
    assert (payout["kind"], payout["currency"], payout["amount_minor"], payout["fee_minor"]) == (
        "payout", "USD", -200000, 0,
    )  # fmt: skip
    assert (
        payout["original_txn_id"] == "BNK20260302SMPL01" and payout["channel_txn_id"] == "IQIYBKNY0APKXOZ9W"
    )
    refund = row(parsed, 13)  # T1107 of a payment from an earlier day: 94.00 back, 2.81 fee returned
    assert (refund["kind"], refund["amount_minor"], refund["fee_minor"]) == ("refund", -9400, 281)
    assert (refund["original_txn_id"], refund["order_no"]) == ("U69ANTIK5KFITJEGO", "INV-70958")
    partial = row(parsed, 20)  # partial refund of line 6's payment
    assert (partial["amount_minor"], partial["original_txn_id"]) == (-3000, row(parsed, 6)["channel_txn_id"])


def test_times_are_converted_from_the_written_offset():
    parsed = parse(sample())
    # 2026/03/02 06:14:22 -0800 is 14:14:22 UTC; 19:44:38 -0800 is 03:44:38 UTC the next day
    assert row(parsed, 5)["occurred_at"] == datetime(2026, 3, 2, 14, 14, 22, tzinfo=UTC)
    assert row(parsed, 22)["occurred_at"] == datetime(2026, 3, 3, 3, 44, 38, tzinfo=UTC)
    summer = with_field(5, "Transaction Initiation Date", "2026/03/02 06:14:22 -0700")
    assert row(parse(summer), 5)["occurred_at"] == datetime(2026, 3, 2, 13, 14, 22, tzinfo=UTC)


def test_net_activity_per_currency_is_the_balance_change():
    rows = parse(sample()).rows
    net = rows.group_by("currency").agg((pl.col("amount_minor") + pl.col("fee_minor")).sum()).sort("currency")
    # USD ending − beginning = 74170 − 118437; EUR starts and ends at 0
    assert net.rows() == [("EUR", 0), ("USD", 74170 - 118437)]


def test_recognised_by_its_first_line():
    assert looks_like_paypal_stl(sample())
    assert looks_like_paypal_stl(b"\xef\xbb\xbf" + sample())
    assert not looks_like_paypal_stl(b"RH,2026/03/03")


def test_bom_lf_and_tab_variants_give_the_same_rows():
    expected = parse(sample()).rows.drop("source_file")
    lf = sample().replace(b"\r\n", b"\n")
    tabs = sample().replace(b",", b"\t")  # the sample has no comma inside a field
    for variant in (b"\xef\xbb\xbf" + sample(), lf, tabs):
        parsed = parse(variant)
        assert parsed.file_error is None and parsed.quarantine.height == 0
        assert parsed.rows.drop("source_file").equals(expected)


def test_small_chunks_give_the_same_rows_and_controls():
    whole = parse(sample())
    chunked = parse(sample(), chunk_bytes=1024)  # the SB lines read in several chunks
    assert chunked.rows.equals(whole.rows)
    assert chunked.controls == whole.controls and chunked.lines == whole.lines


def test_rows_go_to_the_sink_chunk_by_chunk():
    sink = CollectingSink()
    parsed = parse_paypal_stl(sample(), "paypal/x.CSV", ParseContext(business_date=DAY, sink=sink))
    assert parsed.row_count == 18 and parsed.rows.height == 0
    assert sum(frame.height for frame in sink.row_chunks) == 18


# -- hostile input -----------------------------------------------------------------------------------


def test_changed_sb_amount_is_a_control_total_mismatch():
    parsed = parse(with_field(6, "Gross Transaction Amount", "12460"))  # 124.50 → 124.60
    assert parsed.file_error is not None and parsed.file_error.reason_code == "CONTROL_TOTAL_MISMATCH"
    assert "SF USD gross credits: footer says 173305, rows give 173315" in parsed.file_error.message
    figures = controls(parsed)
    assert figures["RF USD gross credits"] == (Decimal(173305), Decimal(173315))
    assert figures["SF USD ending balance (beginning + activity)"] == (Decimal(74170), Decimal(74180))
    assert parsed.rows.height == 18  # the rows still say what could be read


@pytest.mark.parametrize("value", ["12.50", "-100", '"1,000"', "1e3", "", "0100"])
def test_amount_not_in_minor_units_is_bad_amount(value):
    parsed = parse(with_field(7, "Gross Transaction Amount", value))
    assert reasons(parsed) == [(7, "Gross Transaction Amount", "BAD_AMOUNT")]
    entry = parsed.quarantine.row(0, named=True)
    assert entry["source_file"] == "paypal/STL-20260302.01.009.CSV"
    assert entry["value"] == value.strip('"')
    assert parsed.rows.height == 17 and parsed.rejected.height == 1
    rejected = parsed.rejected.row(0, named=True)
    assert (rejected["source_line"], rejected["channel_txn_id"], rejected["amount_minor"]) == (
        7,
        "ITB6CNQGGSHQOLZ4K",
        None,
    )
    # the line's gross cannot be read, so the USD gross sums are not verifiable (never guessed), the rest are
    figures = controls(parsed)
    assert figures["SF USD gross credits"] == (Decimal(173305), None)
    assert figures["SF USD fee debits"] == (Decimal(5543), Decimal(5543))
    assert figures["SF EUR gross credits"] == (Decimal(7600), Decimal(7600))
    assert parsed.file_error is None


def test_fee_in_major_units_is_bad_amount():
    parsed = parse(with_field(8, "Fee Amount", "6.83"))
    assert reasons(parsed) == [(8, "Fee Amount", "BAD_AMOUNT")]
    assert controls(parsed)["SF USD fee debits"] == (Decimal(5543), None)


def test_unknown_t_code_group_is_quarantined_naming_the_code():
    parsed = parse(with_field(12, "Transaction Event Code", '"T9700"'))
    assert reasons(parsed) == [(12, "Transaction Event Code", "UNKNOWN_ENUM")]
    assert "T9700" in parsed.quarantine["reason"][0]
    assert parsed.file_error is None  # its money still counts in the footer sums
    assert parsed.rejected.row(0, named=True)["amount_minor"] == 4320


def test_malformed_t_code_is_unknown_enum():
    assert reasons(parse(with_field(12, "Transaction Event Code", '"X0006"'))) == [
        (12, "Transaction Event Code", "UNKNOWN_ENUM")
    ]


def test_refund_that_is_a_credit_is_quarantined():
    parsed = parse(with_field(13, "Transaction Debit or Credit", '"CR"'))
    assert reasons(parsed) == [(13, "Transaction Debit or Credit", "SIGN_VIOLATION")]
    assert parsed.file_error is not None and parsed.file_error.reason_code == "CONTROL_TOTAL_MISMATCH"


def test_payment_that_is_a_debit_is_quarantined():
    assert reasons(parse(with_field(5, "Transaction Debit or Credit", '"DR"')))[0] == (
        5, "Transaction Debit or Credit", "SIGN_VIOLATION",
    )  # fmt: skip


def test_fee_currency_must_be_the_gross_currency():
    parsed = parse(with_field(9, "Fee Currency", '"USD"'))
    assert reasons(parsed) == [(9, "Fee Currency", "BAD_CURRENCY")]


def test_unknown_currency_is_bad_currency():
    data = with_field(5, "Gross Transaction Currency", '"XYZ"')
    fields = data.decode().split("\r\n")[4].split(",")
    fields[CH.index("Fee Currency")] = '"XYZ"'
    text = data.decode().split("\r\n")
    text[4] = ",".join(fields)
    assert reasons(parse("\r\n".join(text).encode()))[0] == (5, "Gross Transaction Currency", "BAD_CURRENCY")


def test_empty_fee_only_on_conversions_and_withdrawals():
    assert reasons(parse(with_field(5, "Fee Amount", ""))) == [(5, "Fee Amount", "BAD_AMOUNT")]


def test_bad_date_and_bad_direction():
    assert reasons(parse(with_field(5, "Transaction Initiation Date", "2026/02/30 06:14:22 -0800"))) == [
        (5, "Transaction Initiation Date", "BAD_DATE")
    ]
    assert reasons(parse(with_field(5, "Transaction Initiation Date", "2026-03-02 06:14:22"))) == [
        (5, "Transaction Initiation Date", "BAD_DATE")
    ]
    assert reasons(parse(with_field(5, "Transaction Debit or Credit", '"C"'))) == [
        (5, "Transaction Debit or Credit", "UNKNOWN_ENUM")
    ]


def test_unbalanced_quote_is_quarantined_alone():
    parsed = parse(with_field(14, "Custom Field", '"order-71007;coupon=WELCOME10'))
    assert reasons(parsed) == [(14, None, "FORMAT_VIOLATION")]
    assert parsed.rows.height == 17  # the next lines are read as they are, nothing joined
    assert row(parsed, 15)["order_no"] == "INV-71008"
    assert controls(parsed)["SF USD gross credits"] == (Decimal(173305), None)


def test_quoted_comma_and_doubled_quote_inside_a_field():
    parsed = parse(with_field(14, "Custom Field", '"order 71007, ""WELCOME10"""'))
    assert parsed.file_error is None and parsed.quarantine.height == 0
    assert row(parsed, 14)["amount_minor"] == 8450


def test_wrong_field_count_and_bad_characters():
    parsed = parse(with_field(16, "Credit Term", ",extra"))
    assert reasons(parsed) == [(16, None, "FIELD_COUNT")]
    parsed = parse(with_field(16, "Custom Field", '"order\x00-71009"'))
    assert reasons(parsed) == [(16, "Custom Field", "BAD_CHAR")]
    parsed = parse(with_field(16, "Invoice ID", '"INV\u200b-71009"'))
    assert reasons(parsed) == [(16, "Invoice ID", "BAD_CHAR")]


def test_line_counts_add_up_with_quarantined_and_blank_lines():
    text = lines()
    text.insert(10, "")  # a blank line among the SB lines
    text[6] = text[6].replace(",1995,", ",19.95,")
    parsed = parse("\r\n".join(text).encode())
    counts = parsed.lines
    assert counts.physical == 30
    assert counts.physical == counts.data + counts.header + counts.footer + counts.blank + counts.unread
    assert (counts.data, counts.blank) == (18, 1)
    assert parsed.row_count + parsed.rejected_count == counts.data
    # FF says 29: the inserted line makes the file one line longer than its footer says
    assert controls(parsed)["FF file lines"] == (Decimal(29), Decimal(30))


def test_file_cut_after_the_sb_lines_is_truncated():
    cut = "\r\n".join(lines()[:22]) + "\r\n"
    parsed = parse(cut.encode())
    assert parsed.file_error is not None and parsed.file_error.reason_code == "TRUNCATED"
    assert parsed.file_error.line == 22
    assert parsed.rows.height == 18  # what could be read is kept for the quarantine of the whole file
    assert parsed.lines == LineCounts(physical=22, data=18, header=4)


@pytest.mark.parametrize(("keep", "line"), [(23, 23), (25, 25), (28, 28)])
def test_file_cut_inside_the_footer_is_truncated(keep, line):
    cut = "\r\n".join(lines()[:keep]) + "\r\n"
    parsed = parse(cut.encode())
    assert parsed.file_error is not None and parsed.file_error.reason_code == "TRUNCATED"
    assert parsed.file_error.line == line


def test_file_cut_inside_an_sb_line():
    cut = sample()[: sample().index(b"TLRJ1FLP4VOHF25N0") + 5]
    parsed = parse(cut)
    assert parsed.file_error is not None and parsed.file_error.reason_code == "TRUNCATED"
    assert reasons(parsed) == [(9, None, "FORMAT_VIOLATION")]  # its quote is cut open
    assert parsed.rows.height == 4


def test_empty_file_and_header_only():
    parsed = parse(b"")
    assert parsed.file_error is not None and parsed.file_error.reason_code == "EMPTY_FILE"
    parsed = parse("\r\n".join(lines()[:4]).encode())
    assert parsed.file_error is not None and parsed.file_error.reason_code == "TRUNCATED"
    assert parsed.rows.height == 0


def test_not_an_stl_file():
    parsed = parse(b"Date,Name,Gross\r\n2026/03/02,x,1\r\n")
    assert parsed.file_error is not None and parsed.file_error.reason_code == "HEADER_MISMATCH"
    assert parsed.lines == LineCounts(physical=2, unread=2)
    parsed = parse(sample().decode("utf-8").encode("utf-16"))
    assert parsed.file_error is not None and parsed.file_error.reason_code == "HEADER_MISMATCH"


def test_ch_line_missing_a_column():
    text = lines()
    text[3] = text[3].replace(',"Bank Reference ID"', "")
    parsed = parse("\r\n".join(text).encode())
    assert parsed.file_error is not None and parsed.file_error.reason_code == "MISSING_COLUMN"
    assert "Bank Reference ID" in parsed.file_error.message and parsed.file_error.line == 4
    assert parsed.rows.height == 0
    assert parsed.lines.physical == parsed.lines.unread == 29


def test_ch_names_are_matched_whitespace_insensitively():
    text = lines()
    text[3] = text[3].replace(
        '"Transaction Debit or Credit"', '"Transaction  Debit or Credit"'
    )  # Magento's spelling
    parsed = parse("\r\n".join(text).encode())
    assert parsed.file_error is None and parsed.rows.height == 18
    assert row(parsed, 13)["amount_minor"] == -9400


def test_ch_columns_in_another_order_are_read_by_name():
    text = lines()
    for index in range(3, 22):  # CH and the SB lines: swap Transaction ID and Gross Transaction Amount
        tokens = text[index].split(",")  # the sample has no comma inside a field
        tokens[1], tokens[9] = tokens[9], tokens[1]
        text[index] = ",".join(tokens)
    parsed = parse("\r\n".join(text).encode())
    assert parsed.file_error is None and parsed.quarantine.height == 0
    assert parsed.rows.drop("source_file").equals(parse(sample()).rows.drop("source_file"))


def test_a_report_without_consumer_id_has_no_buyer():
    """``Consumer ID`` is optional: renamed away, every row's ``buyer_id`` is null and nothing else changes."""
    text = lines()
    text[3] = text[3].replace('"Consumer ID"', '"Consumer Note"')
    parsed = parse("\r\n".join(text).encode())
    assert parsed.file_error is None and parsed.quarantine.height == 0
    assert parsed.rows["buyer_id"].null_count() == parsed.rows.height
    assert parsed.rows.drop("buyer_id").equals(parse(sample()).rows.drop("buyer_id"))


def test_rows_out_of_order():
    text = lines()
    text[24], text[25] = text[25], text[24]  # SC before the second SF
    parsed = parse("\r\n".join(text).encode())
    assert parsed.file_error is not None and parsed.file_error.reason_code == "FOOTER_INVALID"
    counts = parsed.lines
    assert counts.physical == counts.data + counts.header + counts.footer + counts.blank + counts.unread == 29
    text = lines()
    text[1], text[2] = text[2], text[1]  # SH before FH
    parsed = parse("\r\n".join(text).encode())
    assert parsed.file_error is not None and parsed.file_error.reason_code == "HEADER_MISMATCH"


def test_footer_line_of_another_shape_is_not_verifiable():
    text = lines()
    text[23] = '"SF","USD",173305,212400'
    parsed = parse("\r\n".join(text).encode())
    assert parsed.file_error is None
    assert parsed.facts == {"SF line 24 not verifiable: not the reconstructed SF layout": None}
    names = {c.name for c in parsed.controls}
    assert "SF USD gross credits" not in names and "RF USD gross credits" in names
    assert "SF EUR gross credits" in names


def test_a_currency_without_its_footer_line_is_a_mismatch():
    text = lines()
    del text[22]  # the EUR SF line
    parsed = parse("\r\n".join(text).encode())
    assert parsed.file_error is not None and parsed.file_error.reason_code == "CONTROL_TOTAL_MISMATCH"
    assert "SF EUR gross credits (no SF line for EUR in the section 1)" in parsed.file_error.message


def test_wrong_date_when_the_window_does_not_cover_the_run():
    parsed = parse(sample(), day=date(2026, 3, 3))
    assert parsed.file_error is not None and parsed.file_error.reason_code == "WRONG_DATE"
    assert "2026-03-02" in parsed.file_error.message
    assert parsed.statement_date == DAY


def test_two_sections_are_read_and_counted_apart():
    text = lines()
    sb, eur_footer = text[4:22], text[22]
    assert all('"USD"' in line for line in sb[:4])  # lines 5-8: four USD payments
    body = [
        *text[:4], *sb[:4], '"SC",4',  # section 1: no SF line
        text[2], text[3], *sb[4:], eur_footer, '"SC",14',  # section 2: only the EUR SF line
        *text[25:28],  # RF EUR, RF USD, RC
    ]  # fmt: skip
    body.append(f'"FF",{len(body) + 1}')
    parsed = parse(("\r\n".join(body) + "\r\n").encode())
    figures = controls(parsed)
    assert figures["SC section 1 SB lines"] == (Decimal(4), Decimal(4))
    assert figures["SC section 2 SB lines"] == (Decimal(14), Decimal(14))
    assert figures["RC report SB lines"] == (Decimal(18), Decimal(18))
    assert figures["RF USD gross credits"] == (Decimal(173305), Decimal(173305))
    assert figures["SF EUR gross credits"] == (Decimal(7600), Decimal(7600))  # section 2's own sums
    # a section with USD lines but no USD SF line: named, not skipped
    assert figures["SF USD gross credits (no SF line for USD in the section 1)"] == (
        Decimal(0), Decimal(5800 + 12450 + 1995 + 21200),
    )  # fmt: skip
    assert parsed.file_error is not None and parsed.file_error.reason_code == "CONTROL_TOTAL_MISMATCH"
    assert parsed.rows.height == 18
    assert parsed.lines == LineCounts(physical=len(body), data=18, header=6, footer=7)


def test_too_long_lines_and_fields():
    parsed = parse(with_field(14, "Custom Field", '"' + "x" * 5000 + '"'))
    assert reasons(parsed) == [(14, "Custom Field", "LIMIT_EXCEEDED")]
    parsed = parse(with_field(14, "Custom Field", '"' + "x" * 500 + '"'), max_line_bytes=400)
    assert reasons(parsed) == [(14, None, "LIMIT_EXCEEDED")]


def test_rh_account_must_be_printable_ascii():
    text = lines()
    text[0] = text[0].replace("SMPLSHOPK28QZ", "SMPL SHOP")
    parsed = parse("\r\n".join(text).encode())
    assert parsed.file_error is not None and parsed.file_error.reason_code == "BAD_CHAR"
    assert parsed.file_error.line == 1 and parsed.rows.height == 0


def test_sb_line_after_the_section_footer_is_out_of_order():
    text = lines()
    text.insert(24, text[4])  # an SB line between the SF lines and SC
    parsed = parse("\r\n".join(text).encode())
    assert parsed.file_error is not None and parsed.file_error.reason_code == "FOOTER_INVALID"
    assert "line 25" in parsed.file_error.message
    counts = parsed.lines
    assert counts.physical == counts.data + counts.header + counts.footer + counts.blank + counts.unread == 30
