"""The format registry: every input format recon knows, how it is recognised and who parses it.

Recognition and dispatch are lookups in :data:`FORMATS` (DESIGN §9 Files: by content, never by
name). Each row says what a file *is* for the run:

- ``channel`` rows are a channel's transactions (reconciled against the ledger);
- ``fund_flow`` rows are a channel's own balance moves (WeChat 资金账单, Alipay 账务明细): each gets
  an outcome, but only the channel's statement makes the channel available;
- ``ledger`` and ``bank`` rows are ours and the bank's;
- ``reference`` rows produce no rows of their own: a summary cross-checked against the detail file
  of the same channel (``cross_checks``), or a file recognised but not used yet (listed in the
  manifest, changing nothing).

Adding a channel is one adapter with the signature ``parse(source, source_file, context) ->
ParsedFile``, one raw schema, one row here and its ``[channels.X]`` table in recon.toml.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from schemas.canonical import ChannelTxn, empty_frame
from transforms import detect
from transforms.adapters.alipay import (
    cross_check_alipay_summary,
    parse_alipay_trade_detail,
    parse_alipay_trade_summary,
)
from transforms.adapters.alipay_account import parse_alipay_account
from transforms.adapters.camt053 import parse_camt053
from transforms.adapters.ledger import parse_ledger_csv, parse_ledger_parquet
from transforms.adapters.mt940 import parse_mt940
from transforms.adapters.paypal import parse_paypal_stl
from transforms.adapters.stripe import parse_stripe_balance
from transforms.adapters.unionpay import parse_unionpay_zm
from transforms.adapters.wechatpay import parse_wechatpay_trade_bill
from transforms.adapters.wechatpay_fundflow import parse_wechatpay_fundflow
from transforms.detect import SNIFF_BYTES, Sniff, sniff
from transforms.parsed import (
    FileRejected,
    ParseContext,
    ParsedFile,
    Source,
    as_source,
    empty_quarantine,
    empty_rejected,
)

#: ``parse(source, source_file, context) -> ParsedFile``: the one adapter signature.
Parser = Callable[[bytes | Source, str, ParseContext], ParsedFile]
#: ``cross_check(detail, summary) -> sentences`` comparing a summary with its detail file.
CrossCheck = Callable[[ParsedFile, ParsedFile], list[str]]


@dataclass(frozen=True)
class Format:
    """One input format.

    Attributes:
        name: the format's name (``wechatpay_trade``).
        channel: the channel it belongs to, or ``ledger`` / ``bank``.
        role: ``channel``, ``fund_flow``, ``ledger``, ``bank`` or ``reference`` (see the module docstring).
        signature: how a file of this format is recognised from its first bytes (``transforms.detect``).
        parser: its adapter; None for a format recognised but not used yet.
        cross_checks: for a summary, the format of the detail file it is checked against.
        cross_check: the function that compares them.
    """

    name: str
    channel: str
    role: str
    signature: Callable[[Sniff], bool]
    parser: Parser | None
    cross_checks: str | None = None
    cross_check: CrossCheck | None = None


#: Every format, in the order recognition tries their signatures (the first that holds wins).
FORMATS: tuple[Format, ...] = (
    Format("ledger_parquet", "ledger", "ledger", detect.is_ledger_parquet, parse_ledger_parquet),
    Format("wechatpay_trade", "wechatpay", "channel", detect.is_wechatpay_trade, parse_wechatpay_trade_bill),
    Format("wechatpay_fundflow", "wechatpay", "fund_flow", detect.is_wechatpay_fundflow, parse_wechatpay_fundflow),
    Format("alipay_trade", "alipay", "channel", detect.is_alipay_trade, parse_alipay_trade_detail),
    Format("alipay_trade_summary", "alipay", "reference", detect.is_alipay_trade_summary, parse_alipay_trade_summary,
           cross_checks="alipay_trade", cross_check=cross_check_alipay_summary),  # fmt: skip
    Format("alipay_account", "alipay", "fund_flow", detect.is_alipay_account, parse_alipay_account),
    Format("ledger_csv", "ledger", "ledger", detect.is_ledger_csv, parse_ledger_csv),
    Format("stripe_balance", "stripe", "channel", detect.is_stripe_balance, parse_stripe_balance),
    Format("paypal_stl", "paypal", "channel", detect.is_paypal_stl, parse_paypal_stl),
    Format("camt053", "bank", "bank", detect.is_camt053, parse_camt053),
    Format("mt940", "bank", "bank", detect.is_mt940, parse_mt940),
    Format("unionpay_zm", "unionpay", "channel", detect.is_unionpay_zm, parse_unionpay_zm),
)
FORMAT_BY_NAME: dict[str, Format] = {f.name: f for f in FORMATS}

#: Every channel a statement can be for, derived from the registry.
STATEMENT_CHANNELS: tuple[str, ...] = tuple(
    dict.fromkeys(f.channel for f in FORMATS if f.channel not in ("ledger", "bank"))
)
#: Inbox folders: the channel an unreadable file in that folder was meant for.
FOLDER_CHANNEL: dict[str, str] = {
    **{channel: channel for channel in STATEMENT_CHANNELS},
    "bank": "bank",
    "ledger": "ledger",
}


def recognise(data: bytes) -> str | None:
    """The name of the format of ``data`` (its first ``SNIFF_BYTES`` suffice), or None when no signature holds."""
    sniffed = sniff(data)
    return next((f.name for f in FORMATS if f.signature(sniffed)), None)


def recognise_source(source: bytes | Source) -> Format | None:
    """The format of a file, from its first bytes (None when no signature matches)."""
    source = as_source(source)
    name = recognise(source.read(0, min(source.size, SNIFF_BYTES)))
    return FORMAT_BY_NAME.get(name) if name is not None else None


def parse_input(data: bytes | Source, source_file: str, context: ParseContext) -> ParsedFile:
    """Recognise a file by its content and parse it with its format's adapter.

    Args:
        data: the file's bytes or a Source over them (an archive member after unpacking).
        source_file: its path relative to the date's inbox folder; its first component names the
            folder, used only to say which statement an unrecognisable file was meant to be.
        context: the run's date, time zone, sink and limits.

    Returns:
        The ParsedFile; an unrecognised file comes back with ``file_error`` UNKNOWN_FORMAT and the
        role of its folder, so that a garbled statement makes its channel *rejected*, loudly.
    """
    source = as_source(data)
    found = recognise_source(source)
    if found is not None and found.parser is not None:
        parsed = found.parser(source, source_file, context)
        return with_unread_lines(reject_if_mostly_bad(parsed, context.limits.max_bad_row_pct), source)
    if found is not None:
        return unusable(source_file, found.name, found.role, found.channel, None)
    if source.size == 0:
        return unreadable(source_file, FileRejected("EMPTY_FILE", "the file is empty (0 bytes)"))
    head = source.read(0, 4)
    for bom, encoding in _OTHER_ENCODINGS:
        if head.startswith(bom):
            error = FileRejected("DECODE_ERROR", f"{encoding} text (byte order mark {bom.hex(' ').upper()}): "
                                                  "recon reads UTF-8 or GB18030; export the file as UTF-8")  # fmt: skip
            return with_unread_lines(unreadable(source_file, error), source)
    error = FileRejected("UNKNOWN_FORMAT", "content matches no known statement, ledger or bank format")
    return with_unread_lines(unreadable(source_file, error, fmt="unknown"), source)


#: A file is never rejected for its share of bad rows when it has fewer than this many.
BAD_ROWS_FLOOR = 20


def reject_if_mostly_bad(parsed: ParsedFile, max_pct: int) -> ParsedFile:
    """Reject a file whose quarantined rows pass ``max_pct`` % of its data rows (``TOO_MANY_BAD_ROWS``).

    Its rows stay where the adapter sent them; the run quarantines them all with the file's reason,
    as for any file rejected whole.
    """
    bad, rows = parsed.rejected_count, parsed.lines.data
    if parsed.file_error is not None or parsed.role == "reference" or bad < BAD_ROWS_FLOOR or bad * 100 <= max_pct * rows:
        return parsed
    share = f"{bad} of {rows} rows ({bad * 100 // max(rows, 1)}%)"
    message = f"{share} failed their checks, over the {max_pct}% limit: a format change? Fix the file or the adapter"
    return replace(parsed, file_error=FileRejected("TOO_MANY_BAD_ROWS", message))


#: Byte order marks of encodings no format uses (UTF-32 first: its LE mark starts like UTF-16's).
_OTHER_ENCODINGS = (
    (b"\xff\xfe\x00\x00", "UTF-32"), (b"\x00\x00\xfe\xff", "UTF-32"), (b"\xff\xfe", "UTF-16"), (b"\xfe\xff", "UTF-16"),
)
#: Files whose lines are not text lines (their rows are counted by their adapter).
_BINARY_MAGIC = (b"PAR1", b"PK\x03\x04")
_COUNT_BLOCK = 16 * 1024 * 1024


def with_unread_lines(parsed: ParsedFile, source: Source) -> ParsedFile:
    """A file rejected whole still has all its lines accounted for (BAD_INPUTS I1).

    The lines its adapter did not give a role (data, header, footer...) before rejecting it are
    ``unread``: counted as LF-terminated runs of bytes (plus an unterminated last one), in blocks,
    so even a file that cannot be decoded is counted. Binary files (Parquet, zip) have no lines.
    """
    if parsed.file_error is None or source.size == 0 or source.read(0, 4) in _BINARY_MAGIC:
        return parsed
    physical, position, last = 0, 0, b""
    while position < source.size:
        block = source.read(position, min(position + _COUNT_BLOCK, source.size))
        if not block:
            break
        physical += block.count(b"\n")
        position += len(block)
        last = block[-1:]
    physical += 1 if last != b"\n" else 0
    lines = parsed.lines
    known = lines.data + lines.continuation + lines.header + lines.preamble + lines.footer + lines.blank
    if known > physical:
        return parsed  # the adapter's count cannot be right: the run's line check says so and stops
    return replace(parsed, lines=replace(lines, physical=physical, unread=physical - known))


def role_of_folder(source_file: str) -> tuple[str, str]:
    """The ``(role, channel)`` a file in this inbox folder stands for when it cannot be read."""
    folder = source_file.split("/", 1)[0]
    channel = FOLDER_CHANNEL.get(folder, folder)
    role = channel if channel in ("ledger", "bank") else "channel"
    return role, channel


def unreadable(source_file: str, error: FileRejected, fmt: str = "unreadable") -> ParsedFile:
    """A file that could not be read or recognised, standing for the statement of its inbox folder.

    The folder (``alipay/``, ``ledger/``, ``bank/``...) says which statement it was meant to be, so
    that a garbled statement makes its channel *rejected*, loudly, instead of silently missing.
    """
    role, channel = role_of_folder(source_file)
    return unusable(source_file, fmt, role, channel, error)


def unusable(source_file: str, fmt: str, role: str, channel: str, error: FileRejected | None) -> ParsedFile:
    """A ParsedFile with no rows: a recognised-but-unused file, or one that could not be read."""
    return ParsedFile(
        source_file=source_file, format=fmt, role=role, channel=channel, rows=empty_frame(ChannelTxn),
        rejected=empty_rejected(), quarantine=empty_quarantine(), file_error=error,
    )  # fmt: skip
