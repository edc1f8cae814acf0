"""Decide, from the parsed files of one date, which statements are usable and what the report must say.

A statement is usable when its file parsed without a file-level error. A channel expected by
recon.toml with no usable statement is *unavailable* (statement missing, or rejected): its ledger
rows are carried forward as ``in_transit`` and the report says so on its first line (DESIGN §9).
Rows never pass through here: they are in the run's spill files, and this module only decides.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import polars as pl

from transforms.parsed import FileRejected, ParsedFile, empty_quarantine, quarantine_frame
from transforms.privacy import mask_text

#: Roles whose rows are reconciled (reference files produce none). A ``fund_flow`` file (WeChat
#: 资金账单, Alipay 账务明细) has rows and outcomes, but it is not the channel's statement: the trade
#: bill is, and only it makes a channel available.
ROW_ROLES = ("channel", "ledger", "bank", "fund_flow")
STATEMENT_ROLES = ("channel", "ledger", "bank")


@dataclass(frozen=True)
class Day:
    """The day's inputs after parsing, decided.

    Attributes:
        usable: source files whose valid rows take part in matching.
        rejected: source file → why the whole file is rejected (its rows are all quarantined).
        unavailable: expected channel → why no usable statement ("statement missing", ...); and
            ``ledger`` → why, when a ledger file was rejected (no channel row is then missing from it).
        notes: sentences for the report about files (rejected, unused, cross-check problems).
        quarantine: every problem found (QUARANTINE_SCHEMA), file-level ones with their line.
        duplicates: source file → the file whose statement it repeats in other bytes (read once).
    """

    usable: frozenset[str]
    rejected: dict[str, FileRejected]
    unavailable: dict[str, str]
    notes: tuple[str, ...]
    quarantine: pl.DataFrame
    duplicates: dict[str, str] = field(default_factory=dict)


def combine_parsed(files: Iterable[ParsedFile], expected: tuple[str, ...], ledger_channels: Iterable[str]) -> Day:
    """Split parsed files into usable and rejected ones, and find the unavailable statements.

    Args:
        files: every parsed input of the date (reference files such as the Alipay 汇总 included).
        expected: channels (and ``bank``) whose statement must be present (recon.toml ``expected``).
        ledger_channels: the channels the day's usable ledger rows book (a channel the ledger books
            but no usable statement covers cannot be checked today: its rows are carried forward).
    """
    usable: set[str] = set()
    usable_channels: set[str] = set()
    rejected: dict[str, FileRejected] = {}
    rejected_why: dict[str, str] = {}
    notes: list[str] = []
    quarantine: list[pl.DataFrame] = [empty_quarantine()]
    roles: dict[str, str] = {}
    for parsed in sorted(files, key=lambda p: p.source_file):
        roles[parsed.source_file] = parsed.role
        if parsed.role not in ROW_ROLES:
            if parsed.file_error is not None:
                notes.append(
                    f"{parsed.source_file}: {parsed.file_error.reason_code}: {mask_text(parsed.file_error.message)}"
                )
            continue
        quarantine.append(parsed.quarantine)
        error = parsed.file_error
        if error is None:
            usable.add(parsed.source_file)
            if parsed.role in STATEMENT_ROLES:
                usable_channels.add(parsed.channel)
            if parsed.role == "channel" and parsed.lines.data == 0:  # BAD_INPUTS F03: read, and said
                notes.append(f"{parsed.source_file}: {parsed.channel} had no transactions on this date "
                             "(the statement lists none and its totals say 0)")  # fmt: skip
            continue
        where = f":{error.line}" if error.line else ""
        message = mask_text(error.message) or ""
        notes.append(f"FILE REJECTED {parsed.source_file}{where}: {error.reason_code}: {message}")
        rejected[parsed.source_file] = error
        if parsed.role in STATEMENT_ROLES:
            rejected_why.setdefault(parsed.channel, f"statement rejected ({error.reason_code})")
        quarantine.append(
            quarantine_frame(
                [{"source_file": parsed.source_file, "source_line": error.line, "column": None, "value": None,
                  "reason_code": error.reason_code, "reason": f"file rejected: {message}"}]
            )  # fmt: skip
        )
    unavailable = {
        channel: rejected_why.get(channel, "statement missing")
        for channel in expected
        if channel != "ledger" and channel not in usable_channels
    }
    ledger_rejected = sorted(name for name in rejected if roles[name] == "ledger")
    if ledger_rejected:  # a ledger that cannot be read is not an empty ledger
        codes = sorted({rejected[name].reason_code for name in ledger_rejected})
        unavailable["ledger"] = f"ledger rejected ({', '.join(codes)}: {', '.join(ledger_rejected)})"
    for channel in sorted(set(ledger_channels) - usable_channels - set(unavailable)):
        unavailable[channel] = rejected_why.get(channel, "statement missing")
    return Day(
        usable=frozenset(usable),
        rejected=rejected,
        unavailable=unavailable,
        notes=tuple(notes),
        quarantine=pl.concat(quarantine, how="vertical"),
    )


def input_notes(unused: list[ParsedFile], duplicates: list[tuple[str, str]], cross_checks: list[str]) -> list[str]:
    """Sentences for the report about inputs that change nothing but must be seen.

    Args:
        unused: files of a format recognised but not used yet.
        duplicates: ``(source_file, duplicate_of)`` of inputs delivered twice (read once).
        cross_checks: what the summaries' cross-checks found (already sentences).

    Returns:
        Cross-check problems, duplicate deliveries, recognised files not used by this run.
    """
    notes = list(cross_checks)
    notes += [f"{name}: duplicate delivery of {original}, read once" for name, original in duplicates]
    notes += [f"{p.source_file}: recognised as {p.format}, not used by this run" for p in unused]
    return notes


@dataclass(frozen=True)
class Deliveries:
    """What the day's files are, as statements: the same one twice, or two that contradict each other.

    Attributes:
        duplicates: source file → the file it repeats (the same rows in other bytes: another
            encoding, other line ends, another name); read once, like a byte-identical copy.
        conflicts: source file → why it is rejected: two different statements of one channel,
            merchant account and date are never merged; both are rejected, loudly.
    """

    duplicates: dict[str, str]
    conflicts: dict[str, FileRejected]


def identify_deliveries(files: Iterable[ParsedFile]) -> Deliveries:
    """Identify each statement by what it says, not by its bytes (BAD_INPUTS F19, F20).

    Files whose rows say the same thing (same role, channel and fingerprint) are one delivery: the
    first by name is read, the others are duplicates. Channel statements for the same channel,
    merchant account and date that say different things conflict.
    """
    readable = sorted((f for f in files if f.role in ROW_ROLES and f.file_error is None and f.fingerprint),
                      key=lambda f: f.source_file)  # fmt: skip
    duplicates: dict[str, str] = {}
    first_of: dict[tuple[str, str, str], str] = {}
    for parsed in readable:
        key = (parsed.role, parsed.channel, parsed.fingerprint)
        if key in first_of:
            duplicates[parsed.source_file] = first_of[key]
        else:
            first_of[key] = parsed.source_file
    statements: dict[tuple[str, str, object], list[ParsedFile]] = {}
    for parsed in readable:
        if parsed.role != "channel" or parsed.source_file in duplicates:
            continue
        if parsed.merchant_account is None or parsed.statement_date is None:
            continue
        statements.setdefault((parsed.channel, parsed.merchant_account, parsed.statement_date), []).append(parsed)
    conflicts: dict[str, FileRejected] = {}
    for (channel, account, day), group in statements.items():
        if len(group) < 2:
            continue
        names = ", ".join(p.source_file for p in group)
        for parsed in group:
            conflicts[parsed.source_file] = FileRejected(
                "CONFLICTING_DELIVERY",
                f"{len(group)} different {channel} statements for account {account} on {day} ({names}): "
                "never merged; deliver the one that stands",
            )
    return Deliveries(duplicates=duplicates, conflicts=conflicts)
