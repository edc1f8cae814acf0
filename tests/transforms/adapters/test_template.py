"""The columnar adapter template: one Polars read per chunk, exact lines, cheap screens, bounded problems."""

from __future__ import annotations

from decimal import Decimal

import polars as pl
import pytest

from transforms.adapters.template import (
    Chunk,
    ControlSums,
    DetailBlock,
    Problems,
    head_lines,
    line_text,
    may_hold_bad_characters,
    read_fields,
    tail_lines,
    utf8_chunk,
)
from transforms.parsed import BytesSource, FileRejected


def test_read_fields_keeps_one_row_per_physical_line_whatever_the_line_end() -> None:
    frame = read_fields(Chunk(b"a,b,c\r\nd,,f\n", first_line=5), 3)
    assert frame.select("f0", "f1", "f2", "fields", "blank", "source_line").rows() == [
        ("a", "b", "c", 3, False, 5),
        ("d", "", "f", 3, False, 6),  # an empty field is text, not null
    ]


def test_an_irregular_chunk_counts_each_lines_fields_and_keeps_blank_lines() -> None:
    data = b"a,b,c\r\n\nd,e\nx,y,z,w\n\xef\xbb\xbfq,r,s"  # blank, short, long, a BOM inside, no final LF
    frame = read_fields(Chunk(data, first_line=2), 3)
    assert frame["fields"].to_list() == [3, 1, 2, 4, 3]
    assert frame["blank"].to_list() == [False, True, False, False, False]
    assert frame["source_line"].to_list() == [2, 3, 4, 5, 6]
    assert frame["f2"].to_list() == ["c", None, None, "z", "s"]  # a field the line lacks is null
    assert frame["f0"][4] == "\ufeffq"  # a BOM at the start of a chunk is data, never dropped
    texts = frame.select(text=line_text(frame, 3))["text"].to_list()
    assert texts == ["a,b,c", "", "d,e", "x,y,z,w", "\ufeffq,r,s"]


def test_invalid_utf8_names_its_line() -> None:
    with pytest.raises(FileRejected) as info:
        read_fields(Chunk(b"a,b\nc,\xff\n", first_line=10), 2)
    assert (info.value.reason_code, info.value.line) == ("DECODE_ERROR", 11)


def test_gbk_is_decoded_once_per_chunk_and_handed_on_as_utf8() -> None:
    chunk = utf8_chunk(Chunk("交易,退款\n".encode("gb18030"), 7), "gb18030")
    assert chunk.data == "交易,退款\n".encode() and chunk.first_line == 7
    with pytest.raises(FileRejected) as info:
        utf8_chunk(Chunk(b"ok\n\x81\n", 7), "gb18030")
    assert info.value.line == 8


@pytest.mark.parametrize(
    ("data", "suspicious"),
    [(b"plain,text\r\n", False), ("全角（括号）".encode(), False), (b"a\x01b", True), (b"a\rb", True),
     ("\ue000".encode(), True), ("a\ufeffb".encode(), True), (b"tab\tis fine", False)],
)
def test_the_byte_screen_never_misses_a_bad_character(data: bytes, suspicious: bool) -> None:
    assert may_hold_bad_characters(data) is suspicious


def test_detail_block_stops_at_the_footer_in_any_chunk_size() -> None:
    data = b"h\n" + b"".join(b"row%d\n" % i for i in range(50)) + b"#footer\n#more\n"
    for chunk_bytes in (1, 7, 100, 10_000):
        block = DetailBlock(BytesSource(data), 2, 2, chunk_bytes=chunk_bytes, footer_prefix=b"#")
        chunks = list(block.chunks())
        assert b"".join(c.data for c in chunks) == data[2 : data.index(b"#")]
        assert [c.first_line for c in chunks][0] == 2
        assert sum(c.line_count for c in chunks) == 50
        assert (block.footer_line, block.footer_offset) == (52, data.index(b"#"))


def test_head_and_tail_lines() -> None:
    source = BytesSource(b"first\r\nsecond\nthird\n\n")
    lines, offset = head_lines(source, 2)
    assert lines == [b"first", b"second"] and offset == len(b"first\r\nsecond\n")
    assert tail_lines(source, offset, encoding="utf-8") == (["third", ""], 2)


def test_control_sums_become_unverifiable_on_the_first_unreadable_amount() -> None:
    sums = ControlSums({"amount": 2})
    sums.add_texts(pl.DataFrame({"a": ["1.50", "-0.25"]}), {"amount": pl.col("a")})
    assert sums.decimal("amount") == Decimal("1.25")
    sums.add_texts(pl.DataFrame({"a": ["1.5"]}), {"amount": pl.col("a")})  # one decimal short
    assert sums.decimal("amount") is None


def test_problems_past_the_limit_are_counted_not_described() -> None:
    problems = Problems("f.csv", max_lines=2)
    for line in (3, 3, 5, 7, 9):
        problems.add(line, None, None, "BAD", "why")
    frame = problems.frame()
    assert frame["source_line"].to_list() == [3, 3, 5, None]
    assert problems.overflowed and "2 more lines" in frame["reason"][-1]
