"""Random corruptions of valid files never crash an adapter and never lose a line (BAD_INPUTS I1, §4.6).

A seeded property test (Hypothesis, derandomized: the same examples on every run): each example takes
one valid statement of a generated day, applies a few corruptions of the kinds real deliveries suffer
(a flipped byte, bytes inserted or deleted, a cut, a line doubled, dropped or moved, an encoding's
stray byte), and parses it through the dispatcher. Whatever comes out, nothing may be raised, every
physical line is accounted for exactly once, and every data line is a row or a quarantined row.
"""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sample_data.generate import generate
from transforms.dispatch import parse_input
from transforms.parsed import CollectingSink, Limits, ParseContext

DAY = date(2026, 3, 2)
#: Bytes that matter to the formats: separators, quotes, prefixes, line ends, BOM, bidi, GBK/UTF-8 text.
PALETTE = [b"\r", b"\n", b"\r\n", b"\x00", b",", b'"', b"`", b"\t", b"#", b"-", b".", b"9", b"\xef\xbb\xbf",
           b"\xe2\x80\xae", "测".encode(), "测".encode("gbk"), b"\xff", b"<", b"&"]  # fmt: skip


@pytest.fixture(scope="module")
def statements(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """One small valid file of every text format recon reads (generated, so its totals add up)."""
    root = tmp_path_factory.mktemp("fuzz")
    generate(root, start=date(2026, 3, 1), days=2, seed=5, rows_per_channel=8, quarantined_rows=False)
    inbox = root / "inbox" / DAY.isoformat()

    def one(folder: str, contains: str = "") -> bytes:
        return next(p for p in sorted((inbox / folder).iterdir()) if contains in p.name).read_bytes()

    return {
        "wechatpay/bill.csv": one("wechatpay"),
        "alipay/detail.csv": one("alipay", "明细.csv"),
        "ledger/ledger.csv": one("ledger"),
        "bank/camt053.xml": one("bank"),
    }


@st.composite
def corruption(draw: st.DrawFn, data: bytes) -> bytes:
    """1-3 edits, mostly past the first line (a broken header is one case; a broken body is many)."""
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["flip", "insert", "delete", "cut", "double", "drop", "move"]))
        body = data.find(b"\n") + 1 if draw(st.integers(0, 9)) else 0
        at = draw(st.integers(min(body, max(len(data) - 1, 0)), max(len(data) - 1, 0)))
        if kind == "flip" and data:
            data = data[:at] + bytes([draw(st.integers(0, 255))]) + data[at + 1 :]
        elif kind == "insert":
            data = data[:at] + draw(st.sampled_from(PALETTE)) + data[at:]
        elif kind == "delete":
            data = data[:at] + data[at + draw(st.integers(1, 40)) :]
        elif kind == "cut":
            data = data[:at]
        else:
            lines = data.split(b"\n")
            first = 1 if len(lines) > 1 and body else 0
            i, j = draw(st.integers(first, len(lines) - 1)), draw(st.integers(first, len(lines) - 1))
            if kind == "double":
                lines.insert(j, lines[i])
            elif kind == "drop":
                del lines[i]
            else:
                lines.insert(j, lines.pop(i))
            data = b"\n".join(lines)
    return data


def physical_lines(data: bytes) -> int:
    return data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)


@pytest.mark.parametrize("name", ["wechatpay/bill.csv", "alipay/detail.csv", "ledger/ledger.csv", "bank/camt053.xml"])
@settings(max_examples=60, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_corrupted_file_is_read_or_rejected_and_every_line_accounted_for(
    name: str, statements: dict[str, bytes], data: st.DataObject
) -> None:
    broken = data.draw(corruption(statements[name]))
    sink = CollectingSink()
    limits = Limits(chunk_bytes=data.draw(st.sampled_from([1024, 64 * 1024 * 1024])))  # chunk edges too
    result = parse_input(broken, name, ParseContext(business_date=DAY, sink=sink, limits=limits))
    lines = result.lines
    if broken and lines.physical:
        assert lines.physical == physical_lines(broken)
        accounted = lines.data + lines.continuation + lines.header + lines.preamble + lines.footer + lines.blank
        assert accounted + lines.unread == lines.physical, lines
    if result.file_error is None:
        assert result.row_count + result.rejected_count == lines.data  # every data line: a row or quarantined
        assert result.row_count == sum(frame.height for frame in sink.row_chunks)
    for frame in sink.row_chunks:
        assert all(dtype != pl.Float64 and dtype != pl.Float32 for dtype in frame.schema.values())


def test_the_valid_files_parse_clean(statements: dict[str, bytes]) -> None:
    for name, data in statements.items():
        result = parse_input(data, name, ParseContext(business_date=DAY, sink=CollectingSink()))
        assert result.file_error is None and result.rejected_count == 0, (name, result.file_error)
        assert result.row_count == result.lines.data > 0


