"""The rules of a run (``recon.toml``), parsed once into frozen dataclasses and passed explicitly.

Transforms receive ``Rules``; they never read files or the environment. ``parse_rules`` collects
every problem of a config and reports them together (STYLE point 5).
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from dataclasses import asdict, dataclass, field
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from schemas.canonical import CHANNELS

FEE_ROUNDINGS = ("half_up", "down", "up")
EXPECTABLE = (*CHANNELS, "bank")


class RulesError(ValueError):
    """One or more problems in a recon.toml, listed together."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class ChannelRules:
    """Per-channel rules.

    Attributes:
        fee_bps: contracted fee rate in basis points (Decimal; 60 = 0.60 %).
        fee_rounding: how the contracted fee is rounded to the minor unit, on its magnitude.
        amount_tolerance_minor: allowed |channel − ledger| amount difference, minor units (0 = exact).
        payout_reference: regex recognising this channel's payout credit on the bank statement; its
            named group ``date`` (yyyymmdd) is the business date the payout settles.
    """

    fee_bps: Decimal = Decimal(60)
    fee_rounding: str = "half_up"
    amount_tolerance_minor: int = 0
    payout_reference: str | None = None


@dataclass(frozen=True)
class Rules:
    """Everything a run needs to know beyond its inputs.

    Attributes:
        timezone: the merchant's IANA time zone; business dates are days there.
        expected: channels (and ``bank``) whose statement must be present every day.
        cutoff_minutes: the in-transit window at the end of the business date.
        channels: rules per channel name.
    """

    timezone: str = "Asia/Shanghai"
    expected: tuple[str, ...] = ("wechatpay", "alipay", "bank")
    cutoff_minutes: int = 30
    channels: dict[str, ChannelRules] = field(default_factory=dict)

    def for_channel(self, channel: str) -> ChannelRules:
        """The rules of ``channel`` (defaults when the config does not name it)."""
        return self.channels.get(channel, ChannelRules())

    def digest(self) -> str:
        """A stable sha256 of the rules' content, for the manifest and the run id."""
        data = asdict(self)
        return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


def parse_rules(text: str) -> Rules:
    """Parse and validate the text of a recon.toml.

    Raises:
        RulesError: listing every problem found (unknown keys, bad types, bad regexes, ...).
    """
    problems: list[str] = []
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RulesError([f"not valid TOML: {exc}"]) from None
    known = {"timezone", "expected", "cutoff_minutes", "channels"}
    problems += [f"unknown key {key!r}" for key in sorted(set(raw) - known)]

    timezone = raw.get("timezone", "Asia/Shanghai")
    try:
        ZoneInfo(str(timezone))
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: "Asia" names a tz directory
        problems.append(f"timezone {timezone!r} is not an IANA time zone")
    expected = raw.get("expected", ["wechatpay", "alipay", "bank"])
    if not isinstance(expected, list) or any(e not in EXPECTABLE for e in expected):
        problems.append(f"expected must list channels among {EXPECTABLE}, got {expected!r}")
        expected = []
    elif len(set(expected)) != len(expected):
        problems.append(f"expected names a channel twice: {expected!r}")
    cutoff = raw.get("cutoff_minutes", 30)
    if not isinstance(cutoff, int) or isinstance(cutoff, bool) or not 0 <= cutoff <= 1440:
        problems.append(f"cutoff_minutes must be an integer 0..1440, got {cutoff!r}")
        cutoff = 30

    channels: dict[str, ChannelRules] = {}
    tables = raw.get("channels") or {}
    if not isinstance(tables, dict):
        problems.append("channels must be a table of [channels.<name>] tables")
        tables = {}
    for name, table in tables.items():
        if not isinstance(table, dict):
            problems.append(f"channels.{name} must be a table ([channels.{name}])")
            continue
        if name not in CHANNELS:
            problems.append(f"channels.{name}: unknown channel (known: {', '.join(CHANNELS)})")
            continue
        channels[name] = _channel_rules(name, table, problems)
    if problems:
        raise RulesError(problems)
    return Rules(timezone=str(timezone), expected=tuple(expected), cutoff_minutes=cutoff, channels=channels)


def _channel_rules(name: str, table: dict[str, object], problems: list[str]) -> ChannelRules:
    known = {"fee_bps", "fee_rounding", "amount_tolerance_minor", "payout_reference"}
    problems += [f"channels.{name}: unknown key {key!r}" for key in sorted(set(table) - known)]
    defaults = ChannelRules()
    fee_text = table.get("fee_bps", "60")
    fee_bps = defaults.fee_bps
    if isinstance(fee_text, float):
        problems.append(f"channels.{name}.fee_bps: write the rate as a string or integer, not {fee_text!r}")
    else:
        try:
            fee_bps = Decimal(str(fee_text))
            if not fee_bps.is_finite() or fee_bps < 0:
                raise InvalidOperation
        except InvalidOperation:
            problems.append(f"channels.{name}.fee_bps: {fee_text!r} is not a non-negative number")
    rounding = table.get("fee_rounding", "half_up")
    if rounding not in FEE_ROUNDINGS:
        problems.append(f"channels.{name}.fee_rounding: {rounding!r} is not one of {FEE_ROUNDINGS}")
    tolerance = table.get("amount_tolerance_minor", 0)
    if not isinstance(tolerance, int) or isinstance(tolerance, bool) or tolerance < 0:
        problems.append(f"channels.{name}.amount_tolerance_minor: must be a non-negative integer")
        tolerance = 0
    pattern = table.get("payout_reference")
    if pattern is not None:
        try:
            if "date" not in re.compile(str(pattern)).groupindex:
                problems.append(f"channels.{name}.payout_reference: needs a (?P<date>...) group")
        except re.error as exc:
            problems.append(f"channels.{name}.payout_reference: bad regex: {exc}")
    return ChannelRules(
        fee_bps=fee_bps,
        fee_rounding=str(rounding),
        amount_tolerance_minor=int(tolerance),
        payout_reference=None if pattern is None else str(pattern),
    )
