"""Recognise an input file by its content (header signature), never by its name (DESIGN §9 Files).

Each format's signature is a predicate over a :class:`Sniff` (the first bytes, decoded once); the
format registry (``transforms.dispatch.FORMATS``) names each format's signature, and recognition is
the first row whose signature holds.

Only the first ``SNIFF_BYTES`` are looked at, decoded up to the first byte that does not decode (a
prefix may cut a multibyte character, a file may be cut or damaged further on); the adapters always
decode whole files strictly and reject what does not decode.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

from transforms.adapters.ledger import LEDGER_COLUMNS
from transforms.adapters.unionpay import looks_like_unionpay_zm

SNIFF_BYTES = 4096

_CAMT_PREFIX = "urn:iso:std:iso:20022:tech:xsd:camt.053."
_FIRST_ELEMENT = re.compile(r"<(?![?!])([A-Za-z_][\w.:-]*)([^>]*)>")
_XML_SKIP = re.compile(r"\A(?:\s+|<\?.*?\?>|<!--.*?-->|<!DOCTYPE(?:[^\[>]|\[.*?\])*>)*", re.DOTALL)
_MT940_START = re.compile(r"\A(?:\{[0-9A-Za-z]:[^}]*\})*\s*(?:\{4:\s*)?:20:")


@dataclass(frozen=True)
class Sniff:
    """What the first bytes of a file say, decoded once for every signature to look at.

    Attributes:
        prefix: the first ``SNIFF_BYTES`` (after unpacking).
        utf8: the prefix decoded as UTF-8 (one BOM removed) up to its first bad byte; None: not UTF-8.
        gbk: the prefix decoded as GB18030 likewise; None: not GBK text either.
    """

    prefix: bytes
    utf8: str | None
    gbk: str | None

    @cached_property
    def first_utf8(self) -> str | None:
        """The first line of the UTF-8 text."""
        return None if self.utf8 is None else _first_line(self.utf8)

    @cached_property
    def first_lines(self) -> tuple[str, ...]:
        """The first line in each encoding the prefix decodes in (UTF-8 first)."""
        return tuple(_first_line(text) for text in (self.utf8, self.gbk) if text is not None)

    @cached_property
    def csv_names(self) -> list[str]:
        """The UTF-8 first line split as CSV column names (unquoted)."""
        return [_unquote(name) for name in (self.first_utf8 or "").split(",")]


def sniff(data: bytes) -> Sniff:
    """Decode the first ``SNIFF_BYTES`` of ``data`` once for the signatures."""
    prefix = data[:SNIFF_BYTES]
    return Sniff(prefix, _sniff_decode(prefix.removeprefix(b"\xef\xbb\xbf"), "utf-8"), _sniff_decode(prefix, "gb18030"))


# -- signatures: one per format, named in the format registry (transforms.dispatch.FORMATS) ---------


def is_ledger_parquet(s: Sniff) -> bool:
    """A Parquet file (magic ``PAR1``): the ledger export."""
    return s.prefix.startswith(b"PAR1")


def is_wechatpay_trade(s: Sniff) -> bool:
    """WeChat Pay trade bill header (a bill saved as GBK too: its adapter says HEADER_MISMATCH)."""
    return any(line.startswith("交易时间,公众账号ID,商户号") for line in s.first_lines)


def is_wechatpay_fundflow(s: Sniff) -> bool:
    """WeChat Pay fund-flow bill header."""
    return (s.first_utf8 or "").startswith("记账时间,微信支付业务单号")


def _alipay_title(title: str) -> Callable[[Sniff], bool]:
    def signature(s: Sniff) -> bool:
        # An Alipay bill re-encoded as UTF-8 still goes to its adapter, which rejects it with
        # HEADER_MISMATCH (BAD_INPUTS F06) instead of leaving it unrecognised.
        return any(line.strip() == title for line in s.first_lines)

    signature.__doc__ = f"An Alipay bill whose first line is {title}."
    return signature


is_alipay_trade = _alipay_title("#支付宝业务明细查询")
is_alipay_trade_summary = _alipay_title("#支付宝业务汇总查询")
is_alipay_account = _alipay_title("#支付宝账务明细查询")


def is_ledger_csv(s: Sniff) -> bool:
    """Most of the ledger's columns: the ledger, perhaps with a column missing or one too many.

    Its adapter rejects such a file by name (MISSING_COLUMN, UNEXPECTED_COLUMN, DUP_COLUMN).
    """
    return s.utf8 is not None and len(set(s.csv_names) & set(LEDGER_COLUMNS)) >= len(LEDGER_COLUMNS) - 2


def is_stripe_balance(s: Sniff) -> bool:
    """Stripe balance report: its header names ``balance_transaction_id`` and ``reporting_category``."""
    return s.utf8 is not None and {"balance_transaction_id", "reporting_category"} <= set(s.csv_names)


def is_paypal_stl(s: Sniff) -> bool:
    """PayPal STL: the first record is the quoted report header ``"RH"``."""
    return (s.first_utf8 or "").startswith('"RH"')


def is_camt053(s: Sniff) -> bool:
    """An XML document whose root element is in a camt.053 namespace."""
    return s.utf8 is not None and s.utf8.lstrip().startswith("<") and _xml_root_namespace(s.utf8).startswith(_CAMT_PREFIX)


def is_mt940(s: Sniff) -> bool:
    """SWIFT MT940: optional ``{1:}{2:}`` blocks, then the ``:20:`` reference field."""
    return bool(_MT940_START.match(s.prefix.decode("latin-1").lstrip()))


def is_unionpay_zm(s: Sniff) -> bool:
    """UnionPay ZM: fixed-width GBK records, no header, recognised by their shape."""
    return looks_like_unionpay_zm(s.prefix)


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
