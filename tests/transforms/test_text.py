"""Worked examples of transforms/text.py: strict decoding, physical lines, bad characters (BAD_INPUTS §2.3)."""

from __future__ import annotations

import pytest

from transforms import text
from transforms.parsed import FileRejected
from transforms.text import bad_characters, decode_text, split_lines

BOM = b"\xef\xbb\xbf"


def test_decode_text_strips_exactly_one_utf8_bom() -> None:
    assert decode_text(BOM + "交易单号,金额\n".encode(), "utf-8") == "交易单号,金额\n"
    # A second BOM is data, not a marker: it stays, so the header check (or bad_characters) sees it.
    assert decode_text(BOM + BOM + b"a,b\n", "utf-8") == "\ufeffa,b\n"
    # The spelling of the encoding does not matter.
    assert decode_text(BOM + b"x", "UTF8") == "x"
    # No BOM, nothing stripped.
    assert decode_text(b"a,b\n", "utf-8") == "a,b\n"


def test_decode_text_gb18030_is_strict_and_reads_characters_gbk_lacks() -> None:
    # BAD_INPUTS §2.3: 䶮 is not in GBK; gb18030 (a superset) decodes it.
    line = "2024010122001,龚䶮的订单,12.50\n"
    assert decode_text(line.encode("gb18030"), "gb18030") == line


def test_decode_error_names_the_line_of_the_bad_byte() -> None:
    # line 1 | a,b
    # line 2 | 1,2
    # line 3 | 3,<0xff>   ← 0xff is never valid UTF-8
    data = b"a,b\n1,2\n3,\xff\n4,5\n"
    with pytest.raises(FileRejected) as info:
        decode_text(data, "utf-8")
    assert info.value.reason_code == "DECODE_ERROR"
    assert info.value.line == 3
    assert "line 3" in str(info.value)


def test_decode_error_line_is_counted_after_the_bom() -> None:
    # The BOM holds no newline, so the line number is the same with or without it.
    with pytest.raises(FileRejected) as info:
        decode_text(BOM + b"h\n\xff\n", "utf-8")
    assert (info.value.reason_code, info.value.line) == ("DECODE_ERROR", 2)


def test_truncated_gb18030_character_at_the_end_is_a_decode_error() -> None:
    # '金额' in gb18030 is 4 bytes; cut after the first byte of 额 → "incomplete multibyte sequence".
    data = b"header\n" + "金额".encode("gb18030")[:3]
    with pytest.raises(FileRejected) as info:
        decode_text(data, "gb18030")
    assert (info.value.reason_code, info.value.line) == ("DECODE_ERROR", 2)


def test_empty_file_is_rejected() -> None:
    with pytest.raises(FileRejected) as info:
        decode_text(b"", "utf-8")
    assert info.value.reason_code == "EMPTY_FILE"


def test_oversized_file_is_refused_before_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(text, "MAX_FILE_BYTES", 10)
    assert decode_text(b"0123456789", "utf-8") == "0123456789"  # 10 bytes: at the limit, accepted
    with pytest.raises(FileRejected) as info:
        decode_text(b"0123456789\xff", "utf-8")  # 11 bytes: refused, even though it would not decode
    assert info.value.reason_code == "LIMIT_EXCEEDED"


# text                  | expected lines          (index + 1 = the physical line an editor shows)
SPLITS = [
    ("a\r\nb\r\n", ["a", "b"]),  # CRLF
    ("a\nb\n", ["a", "b"]),  # LF
    ("a\r\nb\nc\r\n", ["a", "b", "c"]),  # mixed
    ("a\nb", ["a", "b"]),  # no final newline: the last line is kept
    ("a\rb\nc\n", ["a\rb", "c"]),  # a lone CR is not a line break: it stays for bad_characters
    ("a\r\r\n", ["a\r"]),  # only the CR right before LF belongs to the line ending
    ("a\n\n\n", ["a", "", ""]),  # trailing blank lines 2 and 3 are kept as '' (one final newline is not a line)
    ("\n", [""]),  # one blank line
    ("a\n\nb\n", ["a", "", "b"]),  # a blank line in the middle keeps the numbering
    ("", []),
]


@pytest.mark.parametrize(("decoded", "expected"), SPLITS)
def test_split_lines(decoded: str, expected: list[str]) -> None:
    assert split_lines(decoded) == expected


def test_split_lines_keeps_a_lone_cr_at_end_of_file() -> None:
    assert split_lines("abc\r") == ["abc\r"]


# value                | expected description contains
BAD = [
    ("a\x00b", "control character '\\x00' at position 1"),  # NUL (F25)
    ("ab\x1b[31m", "control character '\\x1b' at position 2"),  # ESC
    ("x\x7f", "control character '\\x7f'"),  # DEL
    ("12.50\rX", "carriage return inside a field"),
    ("a\ufeffb", "byte order mark inside a line"),
    ("閲戦\ue582", "private-use character"),  # '金额' UTF-8 bytes decoded as gb18030 (§2.3)
]


@pytest.mark.parametrize(("value", "expected"), BAD)
def test_bad_characters_describes_the_problem(value: str, expected: str) -> None:
    found = bad_characters(value)
    assert found is not None
    assert expected in found


@pytest.mark.parametrize("value", ["龚䶮的订单", "交易\t12.50", "", "ＡＢＣ１２３", "`4200000926202101281412639609"])
def test_bad_characters_accepts_ordinary_text(value: str) -> None:
    assert bad_characters(value) is None


def test_wrong_encoding_that_decodes_is_caught_by_bad_characters() -> None:
    # UTF-8 bytes read as gb18030 decode without error (§2.3) but leave a private-use character.
    decoded = decode_text("金额\n".encode(), "gb18030")
    [line] = split_lines(decoded)
    assert bad_characters(line) is not None
