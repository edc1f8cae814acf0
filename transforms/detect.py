"""Recognise an input file by its content (header signature), never by its name (DESIGN §9 Files).

Only the first ``SNIFF_BYTES`` are looked at, decoded up to the first byte that does not decode (a
prefix may cut a multibyte character, a file may be cut or damaged further on); the adapters always
decode whole files strictly and reject what does not decode.
"""

from __future__ import annotations

import re

from transforms.adapters.ledger import LEDGER_COLUMNS
from transforms.adapters.unionpay import looks_like_unionpay_zm

SNIFF_BYTES = 4096

_CAMT_PREFIX = "urn:iso:std:iso:20022:tech:xsd:camt.053."
_FIRST_ELEMENT = re.compile(r"<(?![?!])([A-Za-z_][\w.:-]*)([^>]*)>")
_XML_SKIP = re.compile(r"\A(?:\s+|<\?.*?\?>|<!--.*?-->|<!DOCTYPE(?:[^\[>]|\[.*?\])*>)*", re.DOTALL)
_MT940_START = re.compile(r"\A(?:\{[0-9A-Za-z]:[^}]*\})*\s*(?:\{4:\s*)?:20:")


def recognise(data: bytes) -> str | None:
    """Name the format of ``data`` from its first bytes.

    Args:
        data: the file's bytes (after unpacking), or at least its first ``SNIFF_BYTES``.

    Returns:
        ``wechatpay_trade``, ``wechatpay_fundflow``, ``alipay_trade``, ``alipay_trade_summary``,
        ``alipay_account``, ``ledger_csv``, ``ledger_parquet``, ``camt053``, ``mt940``,
        ``stripe_balance``, ``paypal_stl``, ``unionpay_zm``, or None when no signature matches.
    """
    prefix = data[:SNIFF_BYTES]
    if prefix.startswith(b"PAR1"):
        return "ledger_parquet"
    utf8 = _sniff_decode(prefix.removeprefix(b"\xef\xbb\xbf"), "utf-8")
    if utf8 is not None:
        found = _recognise_utf8(utf8) or _ALIPAY_TITLES.get(_first_line(utf8).strip())
        if found:
            # An Alipay bill re-encoded as UTF-8 still goes to its adapter, which rejects it with
            # HEADER_MISMATCH (BAD_INPUTS F06) instead of leaving it unrecognised.
            return found
    gbk = _sniff_decode(prefix, "gb18030")
    if gbk is not None:
        first = _first_line(gbk).strip()
        if first in _ALIPAY_TITLES:
            return _ALIPAY_TITLES[first]
        if first.startswith("交易时间,公众账号ID,商户号"):
            return "wechatpay_trade"  # a WeChat bill saved as GBK: its adapter says HEADER_MISMATCH
    if _MT940_START.match(prefix.decode("latin-1").lstrip()):
        return "mt940"
    if looks_like_unionpay_zm(prefix):  # fixed-width GBK records, no header: by their shape
        return "unionpay_zm"
    return None


_ALIPAY_TITLES = {
    "#支付宝业务明细查询": "alipay_trade",
    "#支付宝业务汇总查询": "alipay_trade_summary",
    "#支付宝账务明细查询": "alipay_account",
}


def _recognise_utf8(text: str) -> str | None:
    """Signatures of UTF-8 text formats."""
    first = _first_line(text)
    if first.startswith("交易时间,公众账号ID,商户号"):
        return "wechatpay_trade"
    if first.startswith("记账时间,微信支付业务单号"):
        return "wechatpay_fundflow"
    names = [_unquote(name) for name in first.split(",")]
    if len(set(names) & set(LEDGER_COLUMNS)) >= len(LEDGER_COLUMNS) - 2:
        # Most of the ledger's columns: the ledger, perhaps with a column missing or one too many,
        # which its adapter rejects by name (MISSING_COLUMN, UNEXPECTED_COLUMN, DUP_COLUMN).
        return "ledger_csv"
    if "balance_transaction_id" in names and "reporting_category" in names:
        return "stripe_balance"
    if names and names[0] == "RH" and first.startswith('"RH"'):
        return "paypal_stl"
    if text.lstrip().startswith("<") and _xml_root_namespace(text).startswith(_CAMT_PREFIX):
        return "camt053"
    return None


def _xml_root_namespace(text: str) -> str:
    """The namespace of the first element (empty when none is declared or no element is found)."""
    skipped = _XML_SKIP.match(text)
    rest = text[skipped.end() if skipped else 0 :]
    element = _FIRST_ELEMENT.match(rest)
    if element is None:
        return ""
    name, attrs = element.group(1), element.group(2)
    prefix = name.split(":", 1)[0] if ":" in name else None
    attribute = f"xmlns:{prefix}" if prefix else "xmlns"
    declared = re.search(rf"(?:^|\s){re.escape(attribute)}\s*=\s*([\"'])(.*?)\1", attrs)
    return declared.group(2) if declared else ""


def _sniff_decode(prefix: bytes, encoding: str) -> str | None:
    """Decode a prefix strictly up to its first undecodable byte (None when that is the first byte).

    Recognition only needs the first lines: a file cut inside a character, or with a bad byte
    further on, is still routed to its adapter, which decodes it whole and strictly and rejects it
    with the line of the bad byte (DECODE_ERROR) instead of leaving it unrecognised.
    """
    try:
        return prefix.decode(encoding)
    except UnicodeDecodeError as exc:
        return prefix[: exc.start].decode(encoding, errors="strict") if exc.start > 0 else None


def _first_line(text: str) -> str:
    return text.split("\n", 1)[0].removesuffix("\r")


def _unquote(name: str) -> str:
    name = name.strip()
    if len(name) >= 2 and name[0] == name[-1] == '"':
        name = name[1:-1].strip()
    return name
