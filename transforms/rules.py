"""The rules of a run (``recon.toml``), parsed once into frozen dataclasses and passed explicitly.

Transforms receive ``Rules``; they never read files or the environment. ``parse_rules`` collects
every problem of a config and reports them together (STYLE point 5).
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import time
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from schemas.canonical import CHANNELS
from schemas.currency import CURRENCY_EXPONENT
from transforms.labels import LANGUAGES
from transforms.match import MATCH_STEPS
from transforms.parsed import Limits

FEE_ROUNDINGS = ("half_up", "down", "up")
#: What a refund does to the fee of its payment: ``proportional`` returns the rate part on the
#: refunded amount (WeChat Pay, Alipay, PayPal keep the fixed part), ``full`` returns the rate part and
#: the fixed part, ``none`` returns nothing (Stripe).
REFUND_FEES = ("proportional", "full", "none")
#: What a channel pays out to the bank for a business date: ``net`` its whole net settlement
#: (WeChat T+1, Alipay's daily withdrawal, Stripe's automatic payout), ``withdrawals`` only the
#: withdrawal rows its statement shows (PayPal T0400: the rest stays in the channel balance).
PAYOUT_BASES = ("net", "withdrawals")
#: Channels whose contracted fee defaults to the packaged rate when recon.toml names no table.
DEFAULT_FEE_CHANNELS = ("wechatpay", "alipay")
_MEMORY = re.compile(r"^[0-9]+(\.[0-9]+)?\s*(KB|MB|GB|KiB|MiB|GiB)$")
EXPECTABLE = (*CHANNELS, "bank")


class RulesError(ValueError):
    """One or more problems in a recon.toml, listed together."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class FeeTerms:
    """The contracted fee terms of a payment.

    The fee is ``round(amount × bps / 10000) + fixed``, then at least ``min_minor`` and at most
    ``max_minor``, on the amount the channel settles (its settlement currency). Fixed, minimum and
    maximum are minor units of that settlement currency.
    """

    bps: Decimal
    fixed_minor: int = 0
    min_minor: int = 0
    max_minor: int | None = None


@dataclass(frozen=True)
class ChannelRules:
    """Per-channel rules.

    Attributes:
        fee_bps: contracted fee rate in basis points (Decimal; 60 = 0.60 %); None: no contracted fee
            (the fee is not checked, and the Summary says so).
        fee_fixed_minor: a fixed part per payment (Stripe's 30¢), minor units of the settlement currency.
        fee_min_minor: the least one payment's fee may be, minor units of the settlement currency.
        fee_max_minor: the most one payment's fee may be (UnionPay's capped debit-card rate:
            ``fee_max_minor = 2000``, ¥20.00); None: no cap.
        fee_rounding: how the rate part is rounded to the minor unit, on its magnitude.
        refund_fee: what a refund does to the fee (``REFUND_FEES``).
        fee_by_currency: other terms for payments in these transaction currencies (Stripe's
            cross-border 5.4 %, PayPal's EUR 4.49 % + €0.39): ``[channels.<name>.fee_by_currency.EUR]``
            tables with ``fee_bps``, ``fee_fixed_minor``, ``fee_min_minor``, ``fee_max_minor``.
        fx_tolerance_minor: the most a converted amount may differ from the transaction amount at the
            channel's own rate before the row is ``fx_mismatch`` (minor units of the settlement currency).
        payout_basis: what the bank should receive for a business date (``PAYOUT_BASES``).
        amount_tolerance_minor: allowed |channel − ledger| amount difference, minor units (0 = exact).
        amount_tolerance_pct: allowed difference in percent of the ledger amount (Decimal, 0 = none),
            rounded down to the minor unit; the larger of the two tolerances applies.
        amount_tolerance_cap_minor: the most the percent tolerance may allow, minor units (None: no cap).
        payout_reference: regex recognising this channel's payout credit on the bank statement; its
            named group ``date`` (yyyymmdd) is the business date the payout settles; without one, a
            ``ref`` group names the payout (Stripe's ``po_…``, PayPal's Bank Reference ID), and the
            date it settles is the withdrawal's (``payout_basis = "withdrawals"``) or the credit's
            booking date less ``settlement_lag_days``. Named group ``account`` optional.
        settlement_lag_days: days from a business date to its payout on the bank (T+1: 1).
        open_item_days: days an open item may wait past the settlement lag before it becomes a
            discrepancy (an entry still without its channel row: ``missing_in_channel``).
        statement_ready_after: merchant local time, on the day after the business date, from which
            the channel publishes its statement of that date (WeChat Pay: after 10:00). The
            unattended daily run (``recon serve``) first looks again for a missing statement at
            this time, then every ``schedule.retry_every_minutes``; None: from the first run on.
            Scheduling only: not in the rules hash, never changes a result.
    """

    fee_bps: Decimal | None = Decimal(60)
    fee_fixed_minor: int = 0
    fee_min_minor: int = 0
    fee_max_minor: int | None = None
    fee_rounding: str = "half_up"
    refund_fee: str = "proportional"
    fee_by_currency: dict[str, FeeTerms] = field(default_factory=dict)
    fx_tolerance_minor: int = 0
    payout_basis: str = "net"
    amount_tolerance_minor: int = 0
    amount_tolerance_pct: Decimal = Decimal(0)
    amount_tolerance_cap_minor: int | None = None
    payout_reference: str | None = None
    settlement_lag_days: int = 1
    open_item_days: int = 2
    statement_ready_after: time | None = None

    @property
    def fee_checked(self) -> bool:
        """True when the channel has a contracted fee to check against."""
        return self.fee_bps is not None

    def fee_terms(self) -> dict[str | None, FeeTerms]:
        """The fee terms by transaction currency; ``None`` keys the channel's default terms."""
        if self.fee_bps is None:
            return {}
        default = FeeTerms(self.fee_bps, self.fee_fixed_minor, self.fee_min_minor, self.fee_max_minor)
        terms: dict[str | None, FeeTerms] = {None: default}
        terms.update(self.fee_by_currency)
        return terms

    @property
    def exact_amounts(self) -> bool:
        """True when no amount tolerance applies: a matched pair has equal amounts."""
        return self.amount_tolerance_minor == 0 and self.amount_tolerance_pct == 0


DEFAULT_CASCADE = ("channel_txn_id", "order_no", "amount_time", "order_group")


@dataclass(frozen=True)
class MatchRules:
    """How rows are paired (``[match]`` in recon.toml).

    Attributes:
        cascade: the steps, in the order they run (names of ``transforms.match.MATCH_STEPS``); each
            step sees only the rows the earlier ones left open, and every pair records its step.
        window_minutes: the ``amount_time`` step's window: channel time and ledger booking time at
            most this far apart.
        lookback_days: how many earlier dates' statements the findings across days read (a refund's
            payment, the same transaction twice, an order paid twice); 0: none.
    """

    cascade: tuple[str, ...] = DEFAULT_CASCADE
    window_minutes: int = 10
    lookback_days: int = 30


@dataclass(frozen=True)
class ReportRules:
    """How the report is laid out (``[report]`` in recon.toml).

    Attributes:
        max_sheet_rows: rows a workbook sheet shows at most, most important first; the complete
            list is always in the Parquet and CSV files beside the workbook.
        language: the language of the workbook and the headline, ``zh`` (Chinese, the default) or
            ``en``; codes stay in their own columns either way.
    """

    max_sheet_rows: int = 50_000
    language: str = "zh"


@dataclass(frozen=True)
class EngineSettings:
    """How hard the machine works (``[engine]`` in recon.toml).

    It never changes a result, so it is not part of the rules hash: the same inputs give the same
    bytes on a laptop and on a server.

    Attributes:
        memory_limit: DuckDB's memory limit; joins and sorts past it spill to ``temp_directory``.
        threads: DuckDB worker threads.
        chunk_mb: statements are read and converted in chunks of about this many MiB.
        temp_directory: DuckDB's spill folder, relative to the data dir (default: inside the run's
            work folder, removed when the run ends).
    """

    memory_limit: str = "512MB"
    threads: int = 2
    chunk_mb: int = 32
    temp_directory: str | None = None


@dataclass(frozen=True)
class ScheduleRules:
    """How the unattended daily run waits for late statements (``[schedule]`` in recon.toml).

    The 06:00 run reconciles yesterday at once with what is there (a provisional report); then, for
    every expected statement that was missing or rejected, it looks at the date's inbox again from
    the channel's ``statement_ready_after`` on, every ``retry_every_minutes``, and reruns the day
    once whenever the inbox changed, until every expected statement is read or ``give_up_at``.
    Scheduling only: not in the rules hash, never changes a result.

    Attributes:
        retry_every_minutes: minutes between two looks at the inbox (1..1440).
        give_up_at: merchant local time, on the day after the business date, when the waiting stops:
            the last report stands and the day ends Incomplete (exit 3).
    """

    retry_every_minutes: int = 30
    give_up_at: time = time(18, 0)


NOTIFY_ON = ("incomplete", "failed", "completed")
WEBHOOK_FORMATS = ("text", "json")


@dataclass(frozen=True)
class NotifyRules:
    """Who is told how a scheduled day ended (``[notify]`` in recon.toml); nothing configured: nobody.

    A notice is sent once per scheduled day, when its final state is known (after the waiting for
    late statements). A hook that fails or times out is logged in one line and never fails the day.
    Not in the rules hash.

    Attributes:
        command: a program and its arguments (argv, run without a shell). It gets the notice in the
            environment (``RECON_STATE``, ``RECON_EXIT_CODE``, ``RECON_BUSINESS_DATE``,
            ``RECON_HEADLINE``, ``RECON_REPORT_DIR``, ``RECON_NOTICE_JSON``) and its text on stdin.
            Empty: no command.
        webhook_url: an http(s) URL the notice is POSTed to as JSON; None: no webhook.
        webhook_format: ``text``: ``{"msgtype": "text", "text": {"content": ...}}``, what a WeCom
            (企业微信) or DingTalk (钉钉) group robot takes; ``json``: the notice's fields as they are.
        timeout_seconds: how long the command or the webhook may take (each), in seconds (1..300).
        notify_on: the final states that send a notice, among ``incomplete`` (exit 3), ``failed``
            (exit 1 or 2) and ``completed`` (exit 0).
    """

    command: tuple[str, ...] = ()
    webhook_url: str | None = None
    webhook_format: str = "text"
    timeout_seconds: int = 10
    notify_on: tuple[str, ...] = ("incomplete", "failed")


#: Signals rated high (1) and low (3) unless recon.toml says otherwise; every other signal is medium (2).
RISK_HIGH = ("REFUND_RATE_AMOUNT", "REFUND_EXCEEDS_PAYMENT", "PAID_TWO_CHANNELS", "FEE_ABOVE_CONTRACT",
             "PAYOUT_SKIPPED", "VELOCITY", "UNDER_THRESHOLD")  # fmt: skip
RISK_LOW = ("AMOUNT_OUTLIER",)


@dataclass(frozen=True)
class RiskRules:
    """The risk signals read from the reconciled history (``[risk]`` in recon.toml; docs/risk.md).

    Each signal is a rule of ``transforms.risk.RISK_RULES``; the keys below are their parameters. A
    signal never changes an outcome: it is listed on the Risk sheet and in ``risk.parquet``.

    Attributes:
        window_days: the trailing window every signal reads: the dates D − window_days .. D.
        min_history_days: earlier dates with data a baseline needs before its signal may fire
            (refund rates, fee drift).
        refund_rate_z: a channel's refund rate of the day (per payment, and per amount paid) fires above
            the window's median + this many robust standard deviations (1.4826 × MAD, at least 1 point).
        refund_late_days: a refund fires when its order was paid more than this many days earlier.
        fee_tolerance_bps: the effective fee rate of a channel's day (fees / payments) fires above the
            contracted ``fee_bps`` + this many basis points (Decimal).
        fee_drift_bps: the median effective fee rate of the last ``fee_drift_days`` days fires when it is
            this many basis points above the median of the window's earlier days (Decimal).
        fee_drift_days: the recent days of the fee drift.
        payout_grace_days: a payout fires when it reaches the bank later than the channel's
            ``settlement_lag_days`` + this many days, or never while a later date's payout arrives.
        velocity_minutes: the short window of the velocity and failed-attempt signals, in minutes.
        velocity_count: payments (or refunds) of one buyer account, card or device within
            ``velocity_minutes`` that fire (compared on a keyed hash, never shown).
        failed_attempts: failed attempts of one buyer within ``velocity_minutes`` before a success that fire.
        amount_z: a payment fires when the robust z of its log amount, against its channel's window, is
            beyond this (Decimal).
        amount_min_payments: payments of the window a channel needs before its amounts are judged.
        review_thresholds_minor: amounts (minor units) above which a payment is reviewed; payments
            clustering just under one fire.
        threshold_band_pct: the band under (and over) a review threshold, in percent of it (Decimal).
        threshold_ratio: the band under a threshold fires when it holds at least this many times the
            payments of the band over it (Decimal).
        threshold_min_count: and at least this many payments.
        high: signals of high severity (counted in the headline, sent in the notification).
        low: signals of low severity; every signal in neither list is medium.
    """

    window_days: int = 28
    min_history_days: int = 7
    refund_rate_z: Decimal = Decimal(5)
    refund_late_days: int = 21
    fee_tolerance_bps: Decimal = Decimal(2)
    fee_drift_bps: Decimal = Decimal(1)
    fee_drift_days: int = 7
    payout_grace_days: int = 0
    velocity_minutes: int = 10
    velocity_count: int = 20
    failed_attempts: int = 5
    amount_z: Decimal = Decimal(6)
    amount_min_payments: int = 200
    review_thresholds_minor: tuple[int, ...] = (500_000,)
    threshold_band_pct: Decimal = Decimal(5)
    threshold_ratio: Decimal = Decimal(3)
    threshold_min_count: int = 5
    high: tuple[str, ...] = RISK_HIGH
    low: tuple[str, ...] = RISK_LOW

    def severity_of(self, code: str) -> int:
        """A signal's severity: 1 high, 2 medium, 3 low (as the worklist's)."""
        return 1 if code in self.high else 3 if code in self.low else 2


@dataclass(frozen=True)
class Rules:
    """Everything a run needs to know beyond its inputs.

    Attributes:
        timezone: the merchant's IANA time zone; business dates are days there.
        expected: channels (and ``bank``) whose statement must be present every day.
        cutoff_minutes: the in-transit window at the end of the business date.
        channels: rules per channel name.
        report: the report's layout.
        limits: bounds on the work one input file may cause (``[limits]``).
        engine: memory and threads (not hashed: never changes a result).
        write_off_limit_minor: the largest amount a person may write off in one decision (minor units).
        match: the matching cascade and its window.
        schedule: how the unattended daily run waits for late statements (not hashed).
        notify: who is told how a scheduled day ended (not hashed).
        risk: the risk signals' parameters and severities.
    """

    timezone: str = "Asia/Shanghai"
    expected: tuple[str, ...] = ("wechatpay", "alipay", "bank")
    cutoff_minutes: int = 30
    channels: dict[str, ChannelRules] = field(default_factory=dict)
    report: ReportRules = field(default_factory=ReportRules)
    limits: Limits = field(default_factory=Limits)
    engine: EngineSettings = field(default_factory=EngineSettings)
    write_off_limit_minor: int = 100_000
    match: MatchRules = field(default_factory=MatchRules)
    schedule: ScheduleRules = field(default_factory=ScheduleRules)
    notify: NotifyRules = field(default_factory=NotifyRules)
    risk: RiskRules = field(default_factory=RiskRules)

    def for_channel(self, channel: str) -> ChannelRules:
        """The rules of ``channel`` (defaults when the config does not name it).

        A channel recon.toml does not name has no contracted fee, except WeChat Pay and Alipay,
        whose packaged rate applies (``DEFAULT_FEE_CHANNELS``).
        """
        if channel in self.channels:
            return self.channels[channel]
        return ChannelRules() if channel in DEFAULT_FEE_CHANNELS else ChannelRules(fee_bps=None)

    def digest(self) -> str:
        """A stable sha256 of the rules' content, for the manifest and the run id (engine settings excluded)."""
        data = asdict(self)
        data.pop("engine")
        for operational in ("schedule", "notify"):  # when to wait and whom to tell: never a result
            data.pop(operational)
        for channel in data["channels"].values():
            channel.pop("statement_ready_after")
        return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()

    def parse_limits(self) -> Limits:
        """The adapters' limits, with the engine's chunk size."""
        return replace(self.limits, chunk_bytes=self.engine.chunk_mb * 1024 * 1024)


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
    known = {"timezone", "expected", "cutoff_minutes", "channels", "report", "limits", "engine",
             "write_off_limit_minor", "match", "schedule", "notify", "risk"}  # fmt: skip
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
    report = _report_rules(_table(raw, "report", problems), problems)
    limits = _limits(_table(raw, "limits", problems), problems)
    engine = _engine_settings(_table(raw, "engine", problems), problems)
    write_off = _positive_int(raw, "recon.toml", "write_off_limit_minor", Rules.write_off_limit_minor, problems)
    match = _match_rules(_table(raw, "match", problems), problems)
    schedule = _schedule_rules(_table(raw, "schedule", problems), problems)
    notify = _notify_rules(_table(raw, "notify", problems), problems)
    risk = _risk_rules(_table(raw, "risk", problems), problems)
    if problems:
        raise RulesError(problems)
    return Rules(
        timezone=str(timezone), expected=tuple(expected), cutoff_minutes=cutoff, channels=channels,
        report=report, limits=limits, engine=engine, write_off_limit_minor=write_off, match=match,
        schedule=schedule, notify=notify, risk=risk,
    )  # fmt: skip


def _table(raw: dict[str, object], name: str, problems: list[str]) -> dict[str, object]:
    table = raw.get(name, {})
    if not isinstance(table, dict):
        problems.append(f"{name} must be a table ([{name}])")
        return {}
    return table


def _positive_int(table: dict[str, object], section: str, key: str, default: int, problems: list[str]) -> int:
    value = table.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        problems.append(f"{section}.{key} must be a positive integer, got {value!r}")
        return default
    return value


def _bounded_int(
    table: dict[str, object], section: str, key: str, default: int, least: int, most: int, problems: list[str]
) -> int:
    """A whole number in ``least..most`` (a bool or a float is refused)."""
    value = table.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or not least <= value <= most:
        problems.append(f"{section}.{key} must be a whole number {least}..{most}, got {value!r}")
        return default
    return value


def _int_at_most(
    table: dict[str, object], section: str, key: str, default: int, most: int, why: str, problems: list[str]
) -> int:
    """A positive integer no larger than ``most``; past it, ``why`` is the problem and the default applies."""
    value = _positive_int(table, section, key, default, problems)
    if value > most:
        problems.append(f"{section}.{key} {why}, got {value}")
        return default
    return value


def _unknown_keys(table: dict[str, object], section: str, known: set[str], problems: list[str]) -> None:
    problems += [f"{section}: unknown key {key!r}" for key in sorted(set(table) - known)]


def _match_rules(table: dict[str, object], problems: list[str]) -> MatchRules:
    _unknown_keys(table, "match", {"cascade", "window_minutes", "lookback_days"}, problems)
    cascade = table.get("cascade", list(DEFAULT_CASCADE))
    if not isinstance(cascade, list) or not cascade or any(name not in MATCH_STEPS for name in cascade):
        problems.append(f"match.cascade must list steps among {tuple(MATCH_STEPS)}, got {cascade!r}")
        cascade = list(DEFAULT_CASCADE)
    elif len(set(cascade)) != len(cascade):
        problems.append(f"match.cascade names a step twice: {cascade!r}")
    window = _int_at_most(table, "match", "window_minutes", MatchRules.window_minutes, 1440,
                          "must be at most a day (1440)", problems)
    lookback = table.get("lookback_days", MatchRules.lookback_days)
    if not isinstance(lookback, int) or isinstance(lookback, bool) or not 0 <= lookback <= 366:
        problems.append(f"match.lookback_days must be a whole number of days 0..366, got {lookback!r}")
        lookback = MatchRules.lookback_days
    return MatchRules(cascade=tuple(str(name) for name in cascade), window_minutes=window, lookback_days=lookback)


_CLOCK_TIME = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])$")


def _clock_time(table: dict[str, object], section: str, key: str, default: time | None, problems: list[str]) -> time | None:
    """A merchant local time written "HH:MM" (24 h)."""
    value = table.get(key)
    if value is None:
        return default
    found = _CLOCK_TIME.match(value) if isinstance(value, str) else None
    if found is None:
        problems.append(f"{section}.{key} must be a time \"HH:MM\" (00:00..23:59), got {value!r}")
        return default
    return time(int(found[1]), int(found[2]))


def _schedule_rules(table: dict[str, object], problems: list[str]) -> ScheduleRules:
    _unknown_keys(table, "schedule", {"retry_every_minutes", "give_up_at"}, problems)
    every = _int_at_most(table, "schedule", "retry_every_minutes", ScheduleRules.retry_every_minutes, 1440,
                         "must be at most a day (1440)", problems)
    give_up = _clock_time(table, "schedule", "give_up_at", ScheduleRules.give_up_at, problems)
    return ScheduleRules(retry_every_minutes=every, give_up_at=give_up or ScheduleRules.give_up_at)


def _notify_rules(table: dict[str, object], problems: list[str]) -> NotifyRules:
    keys = {"command", "webhook_url", "webhook_format", "timeout_seconds", "notify_on"}
    _unknown_keys(table, "notify", keys, problems)
    command = table.get("command", [])
    if not isinstance(command, list) or any(not isinstance(arg, str) or "\0" in arg for arg in command) or (
        command and not command[0]
    ):
        problems.append(f"notify.command must be a list of strings (a program and its arguments), got {command!r}")
        command = []
    url = table.get("webhook_url")
    if url is not None and (not isinstance(url, str) or not re.match(r"^https?://[^\s/]+", url) or any(
        c.isspace() for c in url
    )):
        problems.append(f"notify.webhook_url must be an http:// or https:// URL, got {url!r}")
        url = None
    fmt = table.get("webhook_format", NotifyRules.webhook_format)
    if fmt not in WEBHOOK_FORMATS:
        problems.append(f"notify.webhook_format must be one of {WEBHOOK_FORMATS}, got {fmt!r}")
        fmt = NotifyRules.webhook_format
    timeout = _int_at_most(table, "notify", "timeout_seconds", NotifyRules.timeout_seconds, 300,
                           "must be at most 300", problems)
    on = table.get("notify_on", list(NotifyRules.notify_on))
    if not isinstance(on, list) or any(state not in NOTIFY_ON for state in on):
        problems.append(f"notify.notify_on must list states among {NOTIFY_ON}, got {on!r}")
        on = list(NotifyRules.notify_on)
    return NotifyRules(command=tuple(str(arg) for arg in command), webhook_url=url, webhook_format=str(fmt),
                       timeout_seconds=timeout, notify_on=tuple(str(state) for state in on))  # fmt: skip


def _report_rules(table: dict[str, object], problems: list[str]) -> ReportRules:
    _unknown_keys(table, "report", {"max_sheet_rows", "language"}, problems)
    rows = _int_at_most(table, "report", "max_sheet_rows", ReportRules.max_sheet_rows, 1_000_000,
                        "must stay below Excel's 1,048,576 rows", problems)
    language = table.get("language", ReportRules.language)
    if language not in LANGUAGES:
        problems.append(f"report.language must be one of {', '.join(LANGUAGES)}, got {language!r}")
        language = ReportRules.language
    return ReportRules(max_sheet_rows=rows, language=str(language))


def _limits(table: dict[str, object], problems: list[str]) -> Limits:
    defaults = Limits()
    keys = ("max_file_bytes", "max_line_bytes", "max_field_bytes", "max_problem_lines", "max_bad_row_pct")
    _unknown_keys(table, "limits", set(keys), problems)
    values = {key: _positive_int(table, "limits", key, getattr(defaults, key), problems) for key in keys}
    if values["max_bad_row_pct"] > 100:
        problems.append(f"limits.max_bad_row_pct is a percentage (1-100), got {values['max_bad_row_pct']}")
        values["max_bad_row_pct"] = defaults.max_bad_row_pct
    return replace(defaults, **values)


def _engine_settings(table: dict[str, object], problems: list[str]) -> EngineSettings:
    defaults = EngineSettings()
    _unknown_keys(table, "engine", {"memory_limit", "threads", "chunk_mb", "temp_directory"}, problems)
    memory = table.get("memory_limit", defaults.memory_limit)
    if not isinstance(memory, str) or not _MEMORY.match(memory):
        problems.append(f"engine.memory_limit must look like '2GB' or '512MB', got {memory!r}")
        memory = defaults.memory_limit
    temp = table.get("temp_directory")
    if temp is not None and (not isinstance(temp, str) or temp.startswith("/") or ".." in temp.split("/")):
        problems.append(f"engine.temp_directory must be a folder inside the data dir, got {temp!r}")
        temp = None
    return EngineSettings(
        memory_limit=str(memory),
        threads=_positive_int(table, "engine", "threads", defaults.threads, problems),
        chunk_mb=_positive_int(table, "engine", "chunk_mb", defaults.chunk_mb, problems),
        temp_directory=temp,
    )


def _decimal(table: dict[str, object], section: str, key: str, default: Decimal, problems: list[str]) -> Decimal:
    """A non-negative exact number written as a string or integer (a TOML float is refused: never binary)."""
    text = table.get(key, default)
    if isinstance(text, float):
        problems.append(f"{section}.{key}: write the number as a string or integer, not {text!r}")
        return default
    try:
        value = Decimal(str(text))
        if not value.is_finite() or value < 0:
            raise InvalidOperation
    except InvalidOperation:
        problems.append(f"{section}.{key}: {text!r} is not a non-negative number")
        return default
    return value


def _fee_terms(table: dict[str, object], section: str, bps: Decimal, problems: list[str]) -> FeeTerms:
    """The fixed part, minimum and maximum of a fee (``fee_fixed_minor``, ``fee_min_minor``, ``fee_max_minor``)."""
    fixed = _bounded_int(table, section, "fee_fixed_minor", 0, 0, 10**12, problems)
    least = _bounded_int(table, section, "fee_min_minor", 0, 0, 10**12, problems)
    most = table.get("fee_max_minor")
    if most is not None:
        most = _bounded_int(table, section, "fee_max_minor", 0, 0, 10**12, problems)
        if most < least:
            problems.append(f"{section}.fee_max_minor: {most} is below fee_min_minor {least}")
    return FeeTerms(bps, fixed, least, most)


def _channel_rules(name: str, table: dict[str, object], problems: list[str]) -> ChannelRules:
    known = {"fee_bps", "fee_fixed_minor", "fee_min_minor", "fee_max_minor", "fee_rounding", "refund_fee",
             "fee_by_currency", "fx_tolerance_minor", "payout_basis", "amount_tolerance_minor",
             "amount_tolerance_pct", "amount_tolerance_cap_minor", "payout_reference", "settlement_lag_days",
             "open_item_days", "statement_ready_after"}  # fmt: skip
    problems += [f"channels.{name}: unknown key {key!r}" for key in sorted(set(table) - known)]
    defaults = ChannelRules()
    section = f"channels.{name}"
    fee_bps: Decimal | None = None
    if "fee_bps" in table or name in DEFAULT_FEE_CHANNELS:
        fee_bps = _decimal(table, section, "fee_bps", Decimal(60), problems)
    terms = _fee_terms(table, section, fee_bps or Decimal(0), problems)
    by_currency: dict[str, FeeTerms] = {}
    overrides = table.get("fee_by_currency", {})
    if not isinstance(overrides, dict):
        problems.append(f"{section}.fee_by_currency: must be a table of [{section}.fee_by_currency.<CCY>] tables")
        overrides = {}
    for code, override in sorted(overrides.items()):
        where = f"{section}.fee_by_currency.{code}"
        if code not in CURRENCY_EXPONENT:
            problems.append(f"{where}: {code!r} is not an ISO 4217 currency code recon knows")
        elif not isinstance(override, dict):
            problems.append(f"{where}: must be a table")
        elif fee_bps is None:
            problems.append(f"{where}: set {section}.fee_bps first (the terms of other currencies)")
        else:
            unknown = sorted(set(override) - {"fee_bps", "fee_fixed_minor", "fee_min_minor", "fee_max_minor"})
            problems += [f"{where}: unknown key {key!r}" for key in unknown]
            by_currency[code] = _fee_terms(override, where, _decimal(override, where, "fee_bps", fee_bps, problems), problems)
    rounding = table.get("fee_rounding", "half_up")
    if rounding not in FEE_ROUNDINGS:
        problems.append(f"channels.{name}.fee_rounding: {rounding!r} is not one of {FEE_ROUNDINGS}")
    refund_fee = table.get("refund_fee", defaults.refund_fee)
    if refund_fee not in REFUND_FEES:
        problems.append(f"{section}.refund_fee: {refund_fee!r} is not one of {REFUND_FEES}")
    payout_basis = table.get("payout_basis", defaults.payout_basis)
    if payout_basis not in PAYOUT_BASES:
        problems.append(f"{section}.payout_basis: {payout_basis!r} is not one of {PAYOUT_BASES}")
    fx_tolerance = _bounded_int(table, section, "fx_tolerance_minor", 0, 0, 10**12, problems)
    tolerance = table.get("amount_tolerance_minor", 0)
    if not isinstance(tolerance, int) or isinstance(tolerance, bool) or tolerance < 0:
        problems.append(f"channels.{name}.amount_tolerance_minor: must be a non-negative integer")
        tolerance = 0
    pct = _decimal(table, f"channels.{name}", "amount_tolerance_pct", Decimal(0), problems)
    if pct > 100:
        problems.append(f"channels.{name}.amount_tolerance_pct: a percentage (0-100), got {pct}")
        pct = Decimal(0)
    cap = table.get("amount_tolerance_cap_minor")
    if cap is not None and (not isinstance(cap, int) or isinstance(cap, bool) or cap < 0):
        problems.append(f"channels.{name}.amount_tolerance_cap_minor: must be a non-negative integer, got {cap!r}")
        cap = None
    waits = {}
    for key in ("settlement_lag_days", "open_item_days"):
        value = table.get(key, getattr(defaults, key))
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 366:
            problems.append(f"channels.{name}.{key}: must be a whole number of days 0..366, got {value!r}")
            value = getattr(defaults, key)
        waits[key] = value
    pattern = table.get("payout_reference")
    if pattern is not None:
        try:
            groups = re.compile(str(pattern)).groupindex
            if "date" not in groups and "ref" not in groups:
                problems.append(f"channels.{name}.payout_reference: needs a (?P<date>...) or a (?P<ref>...) group")
        except re.error as exc:
            problems.append(f"channels.{name}.payout_reference: bad regex: {exc}")
    return ChannelRules(
        fee_bps=fee_bps,
        fee_fixed_minor=terms.fixed_minor,
        fee_min_minor=terms.min_minor,
        fee_max_minor=terms.max_minor,
        fee_rounding=str(rounding),
        refund_fee=str(refund_fee),
        fee_by_currency=by_currency,
        fx_tolerance_minor=fx_tolerance,
        payout_basis=str(payout_basis),
        amount_tolerance_minor=int(tolerance),
        amount_tolerance_pct=pct,
        amount_tolerance_cap_minor=cap,
        payout_reference=None if pattern is None else str(pattern),
        statement_ready_after=_clock_time(table, f"channels.{name}", "statement_ready_after", None, problems),
        **waits,
    )


def _risk_rules(table: dict[str, object], problems: list[str]) -> RiskRules:
    """``[risk]``: every key of ``RiskRules``, each with its type; severities name known signals."""
    from transforms.risk import RISK_CODES  # the registry: risk.py reads RiskRules only for its types

    defaults = RiskRules()
    known = {f.name for f in fields(RiskRules)}
    _unknown_keys(table, "risk", known, problems)
    values: dict[str, object] = {}
    for name in [f.name for f in fields(RiskRules)]:
        if name not in table:
            continue
        default = getattr(defaults, name)
        if isinstance(default, Decimal):
            values[name] = _decimal(table, "risk", name, default, problems)
        elif isinstance(default, int) and default == 0:  # a grace of 0 days is a value, not a gap
            value = table[name]
            if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 366:
                problems.append(f"risk.{name} must be a whole number of days 0..366, got {value!r}")
                continue
            values[name] = value
        elif isinstance(default, int):
            values[name] = _int_at_most(table, "risk", name, default, 10_000_000, "is too large", problems)
        elif name in ("high", "low"):
            codes = table[name]
            if not isinstance(codes, list) or any(code not in RISK_CODES for code in codes):
                problems.append(f"risk.{name} must list signals among {RISK_CODES}, got {codes!r}")
                continue
            values[name] = tuple(str(code) for code in codes)
        else:
            amounts = table[name]
            if not isinstance(amounts, list) or any(
                not isinstance(a, int) or isinstance(a, bool) or a < 1 for a in amounts
            ):
                problems.append(f"risk.{name} must list positive integers (minor units), got {amounts!r}")
                continue
            values[name] = tuple(int(a) for a in amounts)
    risk = replace(defaults, **values)  # type: ignore[arg-type]
    both = set(risk.high) & set(risk.low)
    if both:
        problems.append(f"risk: {sorted(both)} cannot be both high and low")
    return risk
