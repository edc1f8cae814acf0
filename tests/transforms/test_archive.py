from __future__ import annotations

import gzip
import io
import stat
import zipfile
from pathlib import Path

import pytest

from transforms.archive import Member, unpack
from transforms.parsed import FileRejected

FIXTURES = Path(__file__).parents[1] / "fixtures" / "formats"
ALIPAY_ZIP = FIXTURES / "alipay_20886413579246800156_20260302.csv.zip"


def make_zip(*members: tuple[str | zipfile.ZipInfo, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members:
            zf.writestr(name, data)
    return buffer.getvalue()


def rejected_code(data: bytes, name: str = "x.zip", **limits: int) -> str:
    with pytest.raises(FileRejected) as caught:
        unpack(data, name, **limits)
    return caught.value.reason_code


def test_plain_file_is_one_member_with_its_own_name():
    assert unpack(b"a,b\r\n1,2\r\n", "bill.csv") == [Member("bill.csv", b"a,b\r\n1,2\r\n")]


def test_sample_zip_gbk_member_names_round_trip():
    members = unpack(ALIPAY_ZIP.read_bytes(), ALIPAY_ZIP.name)
    assert [m.name for m in members] == [
        "20886413579246800156_20260302_业务明细.csv",
        "20886413579246800156_20260302_业务明细(汇总).csv",
    ]
    # contents byte-identical to the bare CSVs (formats/README.md)
    assert members[0].data == (FIXTURES / "alipay_20886413579246800156_20260302_业务明细.csv").read_bytes()


def test_utf8_flagged_name_is_read_as_utf8_beside_a_gbk_one():
    # zipfile sets flag bit 11 for a non-ASCII name; the GBK name (no flag) is patched in over an
    # ASCII placeholder of the same byte length.
    gbk_name = "业务明细.csv".encode("gbk")
    placeholder = b"g" * (len(gbk_name) - 4) + b".csv"
    data = make_zip(("明细_utf8.csv", b"a"), (placeholder.decode(), b"b")).replace(placeholder, gbk_name)
    assert [m.name for m in unpack(data, "mixed.zip")] == ["明细_utf8.csv", "业务明细.csv"]


def test_zip_detected_by_magic_not_by_name():
    assert unpack(make_zip(("a.csv", b"x")), "statement.csv") == [Member("a.csv", b"x")]


@pytest.mark.parametrize(
    "name", ["../x.csv", "/abs/x.csv", "..\\x.csv", "C:\\x.csv", "a/../../x", ".hidden.csv", "dir/x.csv"]
)
def test_zip_slip_and_odd_names_are_rejected(name):
    assert rejected_code(make_zip((name, b"x"))) == "ARCHIVE_BAD_NAME"


def test_nul_in_member_name_is_rejected():
    # zipfile truncates the name at NUL ("x.csv"); the raw name still shows it.
    info = zipfile.ZipInfo("x.csv")
    data = make_zip((info, b"a")).replace(b"x.csv", b"x\x00csv")
    assert rejected_code(data) == "ARCHIVE_BAD_NAME"


def test_ratio_bomb_rejected_before_decompressing():
    data = make_zip(("zeros.csv", b"\0" * 50_000_000))  # 50 MB of zeros -> ~50 KB, ratio ~1000
    assert len(data) < 100_000
    assert rejected_code(data) == "ARCHIVE_TOO_LARGE"


def test_declared_member_size_over_cap():
    assert rejected_code(make_zip(("a.csv", b"0123456789" * 100)), max_member_bytes=999, max_ratio=10**6) == (
        "ARCHIVE_TOO_LARGE"
    )


def test_declared_total_over_cap():
    data = make_zip(("a.csv", b"a" * 600), ("b.csv", b"b" * 600))
    assert rejected_code(data, max_total_bytes=1000, max_ratio=10**6) == "ARCHIVE_TOO_LARGE"


def test_duplicate_member_names():
    with pytest.warns(UserWarning):
        data = make_zip(("bill.csv", b"first"), ("bill.csv", b"second"))
    assert rejected_code(data) == "ARCHIVE_DUP_MEMBER"


def test_nested_zip_and_gzip():
    assert rejected_code(make_zip(("inner.csv", make_zip(("a.csv", b"x"))))) == "NESTED_ARCHIVE"
    assert rejected_code(make_zip(("inner.csv", gzip.compress(b"x")))) == "NESTED_ARCHIVE"


def test_symlink_member():
    info = zipfile.ZipInfo("link.csv")
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    assert rejected_code(make_zip((info, b"/etc/passwd"))) == "ARCHIVE_SYMLINK"


def test_encrypted_flag():
    data = bytearray(make_zip(("a.csv", b"x")))
    # general-purpose flag bit 0, in the local header (offset 6) and the central directory entry (offset 8)
    data[6] |= 0x1
    central = data.rindex(b"PK\x01\x02")
    data[central + 8] |= 0x1
    assert rejected_code(bytes(data)) == "ARCHIVE_ENCRYPTED"


def test_too_many_members():
    data = make_zip(*((f"{i}.csv", b"x") for i in range(4)))
    assert rejected_code(data, max_members=3) == "ARCHIVE_TOO_MANY_MEMBERS"


def test_a_zip_of_directory_entries_only_holds_nothing():
    assert rejected_code(make_zip(("sub/", b""))) == "ARCHIVE_EMPTY"
    # beside a file, a directory entry is no member at all
    assert unpack(make_zip(("sub/", b""), ("a.csv", b"x")), "d.zip") == [Member("a.csv", b"x")]


@pytest.mark.parametrize("name", ["readme.exe", "macro.xlsm", "noext", "bill.CSV.lnk"])
def test_only_statement_files_are_taken_out(name):
    assert rejected_code(make_zip(("a.csv", b"x"), (name, b"MZ"))) == "UNEXPECTED_MEMBER"


def test_an_archive_named_inside_is_nested_before_anything_is_decompressed():
    assert rejected_code(make_zip(("inner.tar", b"x"))) == "NESTED_ARCHIVE"


def test_an_office_document_is_not_unpacked():
    assert rejected_code(make_zip(("[Content_Types].xml", b"<Types/>"), ("xl/workbook.xml", b"<x/>"))) == "UNKNOWN_FORMAT"


def test_corrupt_zip_and_bad_crc():
    assert rejected_code(b"PK\x03\x04 not really a zip") == "ARCHIVE_CORRUPT"
    good = make_zip(("a.csv", b"hello hello hello"))
    crc = zipfile.ZipFile(io.BytesIO(good)).getinfo("a.csv").CRC.to_bytes(4, "little")
    assert rejected_code(good.replace(crc, b"\0\0\0\0")) == "ARCHIVE_CORRUPT"


def test_overlapping_entries():
    # Two central-directory entries pointing at the same local header (a "quoted overlap" bomb).
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("a.csv", b"A" * 100)
        zf.writestr("b.csv", b"B" * 100)
    data = bytearray(buffer.getvalue())
    second = zipfile.ZipFile(io.BytesIO(bytes(data))).getinfo("b.csv").header_offset
    central_b = data.rindex(b"PK\x01\x02")
    data[central_b + 42 : central_b + 46] = (second - 50).to_bytes(4, "little")
    assert rejected_code(bytes(data)) == "ARCHIVE_CORRUPT"


def test_gzip_unpacked_and_named_without_suffix():
    assert unpack(gzip.compress(b"a,b\n"), "bill.csv.gz") == [Member("bill.csv", b"a,b\n")]


def test_gzip_bomb():
    assert rejected_code(gzip.compress(b"\0" * 5_000_000), "z.csv.gz") == "ARCHIVE_TOO_LARGE"
