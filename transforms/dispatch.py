"""Route one input file to its adapter by content (header signature), never by name (DESIGN §9 Files)."""

from __future__ import annotations

from datetime import date

from schemas.canonical import ChannelTxn, empty_frame
from transforms.adapters.alipay import parse_alipay_trade_detail, parse_alipay_trade_summary
from transforms.adapters.camt053 import parse_camt053
from transforms.adapters.ledger import parse_ledger_csv, parse_ledger_parquet
from transforms.adapters.wechatpay import parse_wechatpay_trade_bill
from transforms.detect import recognise
from transforms.parsed import FileRejected, ParsedFile, empty_quarantine, empty_rejected
from transforms.rules import Rules

#: Formats we recognise but do not reconcile yet: listed in the manifest, changing nothing.
RECOGNISED_UNUSED = {
    "wechatpay_fundflow": "wechatpay",
    "alipay_account": "alipay",
    "mt940": "bank",
    "stripe_balance": "stripe",
    "paypal_stl": "paypal",
}
#: Inbox folders: the channel an unreadable file in that folder was meant for.
FOLDER_CHANNEL = {
    "alipay": "alipay", "wechatpay": "wechatpay", "unionpay": "unionpay", "stripe": "stripe",
    "paypal": "paypal", "bank": "bank", "ledger": "ledger",
}


def _unusable(source_file: str, fmt: str, role: str, channel: str, error: FileRejected | None) -> ParsedFile:
    return ParsedFile(
        source_file=source_file, format=fmt, role=role, channel=channel, rows=empty_frame(ChannelTxn),
        rejected=empty_rejected(), quarantine=empty_quarantine(), file_error=error,
    )


def parse_input(data: bytes, source_file: str, *, business_date: date, rules: Rules) -> ParsedFile:
    """Recognise ``data`` and parse it with its adapter.

    Args:
        data: the file's bytes (an archive member after unpacking).
        source_file: its path relative to the date's inbox folder; its first component names the
            folder, used only to say which statement an unrecognisable file was meant to be.
        business_date: the run's date D (the statement date channel rows belong to).
        rules: for the merchant time zone.

    Returns:
        The ParsedFile; an unrecognised file comes back with ``file_error`` UNKNOWN_FORMAT and the
        role of its folder, so that a garbled statement makes its channel *rejected*, loudly.
    """
    fmt = recognise(data)
    if fmt == "wechatpay_trade":
        return parse_wechatpay_trade_bill(data, source_file, business_date=business_date)
    if fmt == "alipay_trade":
        return parse_alipay_trade_detail(data, source_file, business_date=business_date)
    if fmt == "alipay_trade_summary":
        return parse_alipay_trade_summary(data, source_file, business_date=business_date)
    if fmt == "ledger_csv":
        return parse_ledger_csv(data, source_file, tz=rules.timezone)
    if fmt == "ledger_parquet":
        return parse_ledger_parquet(data, source_file, tz=rules.timezone)
    if fmt == "camt053":
        return parse_camt053(data, source_file)
    if fmt in RECOGNISED_UNUSED:
        return _unusable(source_file, fmt, "reference", RECOGNISED_UNUSED[fmt], None)
    if not data:
        return unreadable(source_file, FileRejected("EMPTY_FILE", "the file is empty (0 bytes)"))
    error = FileRejected("UNKNOWN_FORMAT", "content matches no known statement, ledger or bank format")
    return unreadable(source_file, error, fmt="unknown")


def unreadable(source_file: str, error: FileRejected, fmt: str = "unreadable") -> ParsedFile:
    """A file that could not be read or recognised, standing for the statement of its inbox folder.

    The folder (``alipay/``, ``ledger/``, ``bank/``...) says which statement it was meant to be, so
    that a garbled statement makes its channel *rejected*, loudly, instead of silently missing.
    """
    folder = source_file.split("/", 1)[0]
    channel = FOLDER_CHANNEL.get(folder, folder)
    role = channel if channel in ("ledger", "bank") else "channel"
    return _unusable(source_file, fmt, role, channel, error)
