"""Risk signals from the reconciled history (issue 10): the leaks a reconciliation alone does not see.

The cascade decides each row's outcome and the findings (``transforms.findings``) add what only shows
across rows; both judge one day. A risk signal judges the *pattern*: a channel's refund rate against
its own trailing window, its effective fee rate against the contract, the delay of its payouts, one
buyer paying forty times in ten minutes, amounts piling up just under a review threshold. Every
signal is a declared rule of :data:`RISK_RULES` (a code, a unit, the ``[risk]`` keys it reads, its SQL):
data, not an if-chain. Each fires on whole columns in DuckDB SQL, never row by row in Python.

A signal row (``schemas.risk.RiskSignal``) names its rule, the window read, the value measured, the
threshold it crossed, the baseline and band where there is one, and the rows behind it as
``source_file:source_line`` (every one: ``risk.parquet`` holds the complete list). Baselines are robust:
median and MAD (:func:`robust_z_sql`), so that one bad day does not move the yardstick.

Relations read (registered by the caller, ``flows/reconcile.py`` from the warehouse as of D, or a test):

- ``risk_rows`` (:data:`RISK_ROW_COLUMNS`): channel payments and refunds of the window's dates, the
  day's included; duplicates and quarantined rows left out. ``party_hash`` is the keyed hash of the
  buyer account, card or device id when the statement carries one (``ChannelTxn.buyer_id``), computed
  once where the raw id is (:func:`risk_party_sql`, the run's work folder) and kept by the warehouse's
  ``risk_party`` table for later dates; ``party`` is a raw id a caller may give instead (hashed here, by
  :func:`prepare_sql`; the daily run never does). ``occurred_at`` is the channel's time and ``status``
  ``succeeded`` or an attempt that failed (null: succeeded);
- ``risk_payouts`` (:data:`RISK_PAYOUT_COLUMNS`): settlement lines recorded by the runs of the window's
  dates: a date's own line (``recon_date`` = ``settlement_date``) and the payouts that arrived later;
- ``risk_contract`` (:data:`RISK_CONTRACT_COLUMNS`): per channel the contracted fee and payout lag.

Parameters, bound: ``$business_date`` (D), ``$first_date`` (D − ``window_days``), ``$hash_key`` and the
``[risk]`` keys each rule's SQL names. Nothing after D is read: a rerun of D gives the same signals.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

import polars as pl

if TYPE_CHECKING:
    import duckdb

    from transforms.rules import RiskRules, Rules

#: Columns of ``risk_rows`` (what the warehouse's outcome rows, or a richer statement, give).
RISK_ROW_COLUMNS: dict[str, pl.DataType] = {
    "business_date": pl.Date(), "channel": pl.String(), "kind": pl.String(), "channel_txn_id": pl.String(),
    "order_no": pl.String(), "amount_minor": pl.Int64(), "fee_minor": pl.Int64(), "currency": pl.String(),
    "occurred_at": pl.Datetime("us", "UTC"), "party": pl.String(), "status": pl.String(),
    "source_file": pl.String(), "source_line": pl.Int64(), "expected_fee_minor": pl.Int64(),
    "party_hash": pl.String(),
}  # fmt: skip

#: Columns of the day's buyer rows (:func:`risk_party_sql`; the warehouse's ``risk_party`` table, which
#: adds ``recon_date`` and ``run_id``): the keyed hash of the buyer id, never the id.
RISK_PARTY_COLUMNS: dict[str, pl.DataType] = {
    "source_file": pl.String(), "source_line": pl.Int64(), "party_hash": pl.String(),
    "occurred_at": pl.Datetime("us", "UTC"), "status": pl.String(),
}  # fmt: skip

#: Columns of ``risk_payouts`` (the warehouse's ``settlement_line`` rows).
RISK_PAYOUT_COLUMNS: dict[str, pl.DataType] = {
    "recon_date": pl.Date(), "settlement_date": pl.Date(), "channel": pl.String(), "currency": pl.String(),
    "net_minor": pl.Int64(), "payout_expected_minor": pl.Int64(), "payout_received_minor": pl.Int64(),
    "payout_status": pl.String(), "bank_source_file": pl.String(), "bank_source_line": pl.Int64(),
}  # fmt: skip

#: Columns of ``risk_contract``.
RISK_CONTRACT_COLUMNS: dict[str, pl.DataType] = {
    "channel": pl.String(), "fee_bps": pl.Float64(), "settlement_lag_days": pl.Int64(),
}  # fmt: skip

#: One signal row (``schemas.risk.RiskSignal``; ``risk.parquet``), in column order.
RISK_SCHEMA: dict[str, pl.DataType] = {
    "business_date": pl.Date(), "severity": pl.Int64(), "rule": pl.String(), "channel": pl.String(),
    "currency": pl.String(), "subject": pl.String(), "window_from": pl.Date(), "window_to": pl.Date(),
    "unit": pl.String(), "value": pl.Float64(), "threshold": pl.Float64(), "baseline": pl.Float64(),
    "band_low": pl.Float64(), "band_high": pl.Float64(), "detail": pl.String(), "row_count": pl.Int64(),
    "rows": pl.String(), "series": pl.String(),
}  # fmt: skip

#: What a rule's SQL returns (the rest of :data:`RISK_SCHEMA` is added around it).
_RULE_COLUMNS = ("channel", "currency", "subject", "value", "threshold", "baseline", "band_low", "band_high",
                 "detail", "row_count", "rows", "series")  # fmt: skip

#: 1.4826 × MAD estimates the standard deviation of normal data (the MAD's consistency constant).
MAD_SCALE = 1.4826

#: The smallest spread a baseline may have: a window of identical days (MAD 0) would make any change
#: infinitely unusual. Refund rates: 1 percentage point; log amounts: 0.05 (about 5 %).
RATE_SCALE_FLOOR = 0.01
LOG_AMOUNT_SCALE_FLOOR = 0.05


def robust_z_sql(value: str, median: str, mad: str, floor: float) -> str:
    """SQL for the robust z-score: ``(value − median) / max(1.4826 × MAD, floor)``.

    ``median`` and ``mad`` are DuckDB's ``median(x)`` and ``mad(x)`` (the median of ``|x − median|``)
    over the baseline; ``floor`` keeps a flat baseline from turning a small change into an infinite
    score. Tested against hand-computed tables in tests/transforms/test_risk.py.
    """
    return f"((({value}) - ({median})) / greatest({MAD_SCALE} * ({mad}), {float(floor)!r}))"


def band_sql(median: str, mad: str, floor: float, z: str) -> tuple[str, str]:
    """SQL for the band ``median ± z × max(1.4826 × MAD, floor)``: the values a robust z of ``z`` allows."""
    scale = f"greatest({MAD_SCALE} * ({mad}), {float(floor)!r})"
    return f"(({median}) - ({z}) * {scale})", f"(({median}) + ({z}) * {scale})"


_PLACE = "source_file || ':' || source_line::varchar"
_ROWS = f"string_agg({_PLACE}, ', ' order by source_file, source_line)"


def _series(day: str = "day") -> str:
    """SQL aggregating ``(day, measure)`` into a signal's ``series`` text: ``2026-03-01=0.05;...``."""
    return f"string_agg(strftime({day}, '%Y-%m-%d') || '=' || round(measure, 6)::varchar, ';' order by {day})"


_SERIES = _series()


# -- the rules' SQL ------------------------------------------------------------------------------------
# Each returns _RULE_COLUMNS, reading risk_txn (the window's rows, party hashed), risk_daily (per channel,
# currency and date: counts and sums) and risk_payouts / risk_contract.


def _refund_rate_sql(measure: str, what: str) -> str:
    low, high = band_sql("h.med", "h.mad", RATE_SCALE_FLOOR, "$refund_rate_z")
    return f"""
    with rated as (
        select channel, currency, day, {measure} as measure from risk_daily where payments > 0
    ),
    hist as (
        select channel, currency, median(measure) as med, mad(measure) as mad, count(*) as days
        from rated where day < $business_date group by channel, currency
    ),
    series as (select channel, currency, {_SERIES} as series from rated group by channel, currency),
    fired as (
        select t.channel, t.currency, t.measure, h.med, h.mad, {low} as band_low, {high} as band_high,
               {robust_z_sql("t.measure", "h.med", "h.mad", RATE_SCALE_FLOOR)} as z
        from rated t join hist h using (channel, currency)
        where t.day = $business_date and h.days >= $min_history_days
    ),
    behind as (
        select channel, currency, count(*) as row_count, {_ROWS} as rows
        from risk_txn where business_date = $business_date and kind = 'refund' and succeeded
        group by channel, currency
    )
    select f.channel, f.currency, f.channel || ' ' || $business_date::varchar as subject,
           round(f.measure, 6) as value, round(f.band_high, 6) as threshold, round(f.med, 6) as baseline,
           round(f.band_low, 6) as band_low, round(f.band_high, 6) as band_high,
           '{what} ' || round(100 * f.measure, 2)::varchar || ' % against a median of '
           || round(100 * f.med, 2)::varchar || ' % over the window (robust z ' || round(f.z, 1)::varchar || ')'
           as detail, coalesce(b.row_count, 0) as row_count, b.rows, s.series
    from fired f join series s using (channel, currency) left join behind b using (channel, currency)
    where f.z > $refund_rate_z
    """  # noqa: S608 - names from this module


def refund_rate_count_sql() -> str:
    """Refunds per payment of a channel's day, above its trailing window's median + z × robust spread."""
    return _refund_rate_sql("refunds::double / payments", "refunds per payment")


def refund_rate_amount_sql() -> str:
    """Refunded amount per paid amount of a channel's day, above its trailing window's robust band."""
    return _refund_rate_sql("refunded_minor::double / nullif(paid_minor, 0)", "refunded per paid")


_ORDER_MOVES = """
    moves as (
        select order_no, channel, currency, kind, amount_minor, business_date, source_file, source_line
        from risk_txn where order_no is not null and succeeded and kind in ('payment', 'refund')
    ),
    today_refunds as (
        select * from moves where kind = 'refund' and business_date = $business_date
    )"""


def refund_exceeds_payment_sql() -> str:
    """An order whose refunds (on one channel, in the window) add up to more than its payments there."""
    return f"""
    with {_ORDER_MOVES},
    per_order as (
        select order_no, channel, currency,
               coalesce(sum(amount_minor) filter (where kind = 'payment'), 0) as paid,
               coalesce(-sum(amount_minor) filter (where kind = 'refund'), 0) as refunded,
               count(*) as row_count, {_ROWS} as rows
        from moves group by order_no, channel, currency
    )
    select o.channel, o.currency, o.order_no as subject, o.refunded::double as value, o.paid::double as threshold,
           null::double as baseline, null::double as band_low, null::double as band_high,
           'order ' || o.order_no || ': refunds of ' || o.refunded::varchar || ' against payments of '
           || o.paid::varchar || ' (minor units) since ' || $first_date::varchar as detail,
           o.row_count, o.rows, null::varchar as series
    from per_order o
    where o.paid > 0 and o.refunded > o.paid
      and exists (select 1 from today_refunds r where r.order_no = o.order_no and r.channel = o.channel
                  and r.currency = o.currency)
    """  # noqa: S608 - names from this module


def refund_late_sql() -> str:
    """A refund of the day whose order was paid more than ``refund_late_days`` days earlier."""
    return f"""
    with {_ORDER_MOVES},
    paid as (
        select order_no, channel, currency, min(business_date) as paid_on,
               arg_min({_PLACE}, business_date) as paid_at
        from moves where kind = 'payment' group by order_no, channel, currency
    )
    select r.channel, r.currency, r.order_no as subject, date_diff('day', p.paid_on, r.business_date)::double as value,
           $refund_late_days::double as threshold, null::double as baseline, null::double as band_low,
           null::double as band_high,
           'order ' || r.order_no || ' paid on ' || p.paid_on::varchar || ', refunded '
           || date_diff('day', p.paid_on, r.business_date)::varchar || ' days later' as detail,
           2::bigint as row_count, p.paid_at || ', ' || {_PLACE.replace("source_", "r.source_")} as rows,
           null::varchar as series
    from today_refunds r join paid p using (order_no, channel, currency)
    where date_diff('day', p.paid_on, r.business_date) > $refund_late_days
    """  # noqa: S608 - names from this module


def refund_orphan_sql() -> str:
    """A refund of the day whose order no channel was seen paying in the window.

    Only once the history holds ``min_history_days`` earlier dates: on a new warehouse every refund
    of an older payment would look orphaned. The detail names the first date actually read.
    """
    return f"""
    with {_ORDER_MOVES},
    seen as (
        select min(business_date) as since, count(distinct business_date) filter (where business_date < $business_date)
               as days
        from risk_txn
    )
    select r.channel, r.currency, r.order_no as subject, (-r.amount_minor)::double as value, 0::double as threshold,
           null::double as baseline, null::double as band_low, null::double as band_high,
           'refund of order ' || r.order_no || ': no payment of it on any channel since ' || seen.since::varchar
           as detail, 1::bigint as row_count, {_PLACE.replace("source_", "r.source_")} as rows,
           null::varchar as series
    from today_refunds r cross join seen
    where seen.days >= $min_history_days
      and not exists (select 1 from moves p where p.kind = 'payment' and p.order_no = r.order_no)
    """  # noqa: S608 - names from this module


def refund_other_channel_sql() -> str:
    """A refund of the day through a channel that never took the order's payment (another channel did)."""
    return f"""
    with {_ORDER_MOVES},
    paid as (
        select order_no, string_agg(distinct channel, ', ' order by channel) as channels,
               string_agg({_PLACE}, ', ' order by source_file, source_line) as rows, count(*) as n
        from moves where kind = 'payment' group by order_no
    )
    select r.channel, r.currency, r.order_no as subject, (-r.amount_minor)::double as value, 0::double as threshold,
           null::double as baseline, null::double as band_low, null::double as band_high,
           'refund of order ' || r.order_no || ' through ' || r.channel || ', paid through ' || p.channels
           as detail, p.n + 1 as row_count,
           {_PLACE.replace("source_", "r.source_")} || ', ' || p.rows as rows, null::varchar as series
    from today_refunds r join paid p using (order_no)
    where not exists (select 1 from moves q where q.kind = 'payment' and q.order_no = r.order_no
                      and q.channel = r.channel)
    """  # noqa: S608 - names from this module


def paid_two_channels_sql() -> str:
    """The same order paid the same amount through two channels (one of the payments on D)."""
    return f"""
    with {_ORDER_MOVES},
    twice as (
        select order_no, currency, amount_minor, count(distinct channel) as channels, count(*) as row_count,
               string_agg(distinct channel, ', ' order by channel) as names, {_ROWS} as rows,
               bool_or(business_date = $business_date) as today
        from moves where kind = 'payment' group by order_no, currency, amount_minor
    )
    select names as channel, currency, order_no as subject, (amount_minor * row_count)::double as value,
           amount_minor::double as threshold, null::double as baseline, null::double as band_low,
           null::double as band_high,
           'order ' || order_no || ' paid ' || row_count::varchar || ' times (' || amount_minor::varchar
           || ' minor units each) through ' || names as detail, row_count, rows, null::varchar as series
    from twice where channels > 1 and today
    """  # noqa: S608 - names from this module


def _fee_rated() -> str:
    return """
    rated as (
        -- the contract of the day: the run's own contracted fees (fixed parts, caps and currencies
        -- included) when every payment carries one, else the plain rate of recon.toml
        select d.channel, d.currency, d.day, d.fee_minor * 10000.0 / d.paid_minor as measure,
               case when d.contracted = d.payments then d.contract_fee_minor * 10000.0 / d.paid_minor
                    else c.fee_bps end as fee_bps
        from risk_daily d join risk_contract c using (channel)
        where d.paid_minor > 0 and (c.fee_bps is not null or d.contracted = d.payments)
    ),
    series as (select channel, currency, string_agg(strftime(day, '%Y-%m-%d') || '=' || round(measure, 6)::varchar,
                      ';' order by day) as series from rated group by channel, currency)"""


def fee_above_contract_sql() -> str:
    """A channel's effective fee rate of the day (fees / payments, bps) above the contract + tolerance.

    The rows behind it are the day's payments charged more than their contracted fee (half up to the
    minor unit); when rounding alone makes the difference, every payment of the day.
    """
    return f"""
    with {_fee_rated()},
    today as (select * from rated where day = $business_date),
    pays as (
        select t.channel, t.currency, p.source_file, p.source_line,
               case when p.expected_fee_minor is not null then p.fee_minor < p.expected_fee_minor
                    else -p.fee_minor > floor(p.amount_minor * t.fee_bps / 10000 + 0.5) end as over
        from today t join risk_txn p on p.channel = t.channel and p.currency = t.currency
        where p.business_date = $business_date and p.kind = 'payment' and p.succeeded
    ),
    behind as (
        select channel, currency,
               coalesce(count(*) filter (where over), 0) as over_count,
               string_agg({_PLACE}, ', ' order by source_file, source_line) filter (where over) as over_rows,
               count(*) as all_count, {_ROWS} as all_rows
        from pays group by channel, currency
    )
    select t.channel, t.currency, t.channel || ' ' || $business_date::varchar as subject,
           round(t.measure, 6) as value, (t.fee_bps + $fee_tolerance_bps)::double as threshold,
           round(t.fee_bps, 6) as baseline, (t.fee_bps - $fee_tolerance_bps)::double as band_low,
           (t.fee_bps + $fee_tolerance_bps)::double as band_high,
           'effective fee ' || round(t.measure, 2)::varchar || ' bps against a contract of '
           || round(t.fee_bps, 2)::varchar || ' bps; ' || b.over_count::varchar || ' payments charged above it' as detail,
           case when b.over_count > 0 then b.over_count else b.all_count end as row_count,
           coalesce(b.over_rows, b.all_rows) as rows, s.series
    from today t join series s using (channel, currency) join behind b using (channel, currency)
    where t.measure > t.fee_bps + $fee_tolerance_bps
    """  # noqa: S608 - names from this module


def fee_drift_sql() -> str:
    """The median effective fee rate of the last ``fee_drift_days`` days above that of the days before.

    Read over the window; the rows behind it are the day's payments (the newest point of the series).
    """
    return f"""
    with {_fee_rated()},
    split as (
        select channel, currency,
               median(measure) filter (where day > $business_date - $fee_drift_days::integer) as recent,
               median(measure) filter (where day <= $business_date - $fee_drift_days::integer) as earlier,
               mad(measure) filter (where day <= $business_date - $fee_drift_days::integer) as mad,
               count(*) filter (where day <= $business_date - $fee_drift_days::integer) as days,
               bool_or(day = $business_date) as today
        from rated group by channel, currency
    ),
    behind as (
        select channel, currency, count(*) as row_count, {_ROWS} as rows
        from risk_txn where business_date = $business_date and kind = 'payment' and succeeded
        group by channel, currency
    )
    select d.channel, d.currency, d.channel || ' ' || $business_date::varchar as subject,
           round(d.recent - d.earlier, 6) as value, $fee_drift_bps::double as threshold,
           round(d.earlier, 6) as baseline, round(d.earlier - $fee_drift_bps, 6) as band_low,
           round(d.earlier + $fee_drift_bps, 6) as band_high,
           'median effective fee of the last ' || $fee_drift_days::varchar || ' days ' || round(d.recent, 2)::varchar
           || ' bps against ' || round(d.earlier, 2)::varchar || ' bps before' as detail,
           b.row_count, b.rows, s.series
    from split d join series s using (channel, currency) join behind b using (channel, currency)
    where d.today and d.days >= $min_history_days and d.recent - d.earlier > $fee_drift_bps
    """  # noqa: S608 - names from this module


_RECEIVED = "('matched', 'amount_mismatch')"


def payout_late_sql() -> str:
    """A payout that reached the bank statement of D later than the channel's promise (T+lag) + grace."""
    return f"""
    with received as (
        select p.channel, p.currency, p.settlement_date, p.recon_date as day,
               date_diff('day', p.settlement_date, p.recon_date) as measure, c.settlement_lag_days as lag,
               p.bank_source_file as source_file, p.bank_source_line as source_line
        from risk_paid p join risk_contract c using (channel)
        where p.payout_status in {_RECEIVED} and p.recon_date > p.settlement_date
    ),
    series as (
        select channel, currency, median(measure) as med, {_series("settlement_date")} as series
        from received group by channel, currency
    )
    select r.channel, r.currency, r.channel || ' ' || r.settlement_date::varchar as subject,
           r.measure::double as value, (r.lag + $payout_grace_days)::double as threshold, s.med::double as baseline,
           null::double as band_low, (r.lag + $payout_grace_days)::double as band_high,
           'payout of ' || r.settlement_date::varchar || ' arrived ' || r.measure::varchar
           || ' days after it, promised T+' || r.lag::varchar as detail,
           1::bigint as row_count, {_PLACE.replace("source_", "r.source_")} as rows, s.series
    from received r join series s using (channel, currency)
    where r.day = $business_date and r.measure > r.lag + $payout_grace_days
    """  # noqa: S608 - names from this module


def payout_skipped_sql() -> str:
    """A settled date whose payout never came while a later date's payout arrived on D (a day skipped)."""
    return f"""
    with owed as (
        select channel, currency, settlement_date, net_minor from risk_paid
        where recon_date = settlement_date and net_minor > 0
    ),
    received as (
        select channel, currency, settlement_date, recon_date, bank_source_file as source_file,
               bank_source_line as source_line
        from risk_paid where payout_status in {_RECEIVED}
    ),
    arrived_today as (
        select channel, currency, max(settlement_date) as latest, count(*) as row_count, {_ROWS} as rows
        from received where recon_date = $business_date group by channel, currency
    )
    select o.channel, o.currency, o.channel || ' ' || o.settlement_date::varchar as subject,
           date_diff('day', o.settlement_date, $business_date::date)::double as value,
           (c.settlement_lag_days + $payout_grace_days)::double as threshold, null::double as baseline,
           null::double as band_low, null::double as band_high,
           'no payout of ' || o.settlement_date::varchar || ' (net ' || o.net_minor::varchar
           || ' minor units) while the payout of ' || a.latest::varchar || ' arrived' as detail,
           a.row_count, a.rows, null::varchar as series
    from owed o join arrived_today a using (channel, currency) join risk_contract c using (channel)
    where o.settlement_date < a.latest
      and date_diff('day', o.settlement_date, $business_date::date) > c.settlement_lag_days + $payout_grace_days
      and not exists (select 1 from received r where r.channel = o.channel and r.currency = o.currency
                      and r.settlement_date = o.settlement_date)
    """  # noqa: S608 - names from this module


def velocity_sql() -> str:
    """One buyer (keyed hash) with ``velocity_count`` or more payments, or refunds, within ``velocity_minutes``."""
    return f"""
    with t as (
        select * from risk_txn
        where business_date = $business_date and party_hash is not null and occurred_at is not null and succeeded
    ),
    counted as (
        select party_hash, kind, occurred_at,
               count(*) over (partition by party_hash, kind order by occurred_at
                              range between to_minutes($velocity_minutes::bigint) preceding and current row) as n
        from t
    ),
    peak as (
        select * from counted
        qualify row_number() over (partition by party_hash, kind order by n desc, occurred_at) = 1
    )
    select string_agg(distinct t.channel, ', ' order by t.channel) as channel, min(t.currency) as currency,
           'buyer #' || left(p.party_hash, 12) || ' ' || p.kind as subject, p.n::double as value,
           $velocity_count::double as threshold, null::double as baseline, null::double as band_low,
           null::double as band_high,
           p.n::varchar || ' ' || p.kind || 's of one buyer within ' || $velocity_minutes::varchar
           || ' minutes, up to ' || strftime(p.occurred_at, '%H:%M:%S') || ' UTC' as detail,
           count(*) as row_count, string_agg({_PLACE.replace("source_", "t.source_")}, ', '
                                             order by t.source_file, t.source_line) as rows,
           null::varchar as series
    from peak p join t on t.party_hash = p.party_hash and t.kind = p.kind
         and t.occurred_at between p.occurred_at - to_minutes($velocity_minutes::bigint) and p.occurred_at
    where p.n >= $velocity_count
    group by p.party_hash, p.kind, p.n, p.occurred_at
    """  # noqa: S608 - names from this module


def failed_attempts_sql() -> str:
    """``failed_attempts`` or more failed payment attempts of one buyer within ``velocity_minutes`` before a success."""
    return f"""
    with t as (
        select * from risk_txn
        where business_date = $business_date and party_hash is not null and occurred_at is not null
              and kind = 'payment'
    ),
    counted as (
        select party_hash, occurred_at, succeeded, source_file, source_line,
               count(*) filter (where not succeeded) over (
                   partition by party_hash order by occurred_at
                   range between to_minutes($velocity_minutes::bigint) preceding and current row) as n
        from t
    ),
    peak as (
        select * from counted where succeeded
        qualify row_number() over (partition by party_hash order by n desc, occurred_at) = 1
    )
    select string_agg(distinct t.channel, ', ' order by t.channel) as channel, min(t.currency) as currency,
           'buyer #' || left(p.party_hash, 12) as subject, p.n::double as value, $failed_attempts::double as threshold,
           null::double as baseline, null::double as band_low, null::double as band_high,
           p.n::varchar || ' failed attempts of one buyer within ' || $velocity_minutes::varchar
           || ' minutes before a payment at ' || strftime(p.occurred_at, '%H:%M:%S') || ' UTC' as detail,
           count(*) as row_count, string_agg({_PLACE.replace("source_", "t.source_")}, ', '
                                             order by t.source_file, t.source_line) as rows,
           null::varchar as series
    from peak p join t on t.party_hash = p.party_hash
         and t.occurred_at between p.occurred_at - to_minutes($velocity_minutes::bigint) and p.occurred_at
         and (not t.succeeded or t.occurred_at = p.occurred_at)
    where p.n >= $failed_attempts
    group by p.party_hash, p.n, p.occurred_at
    """  # noqa: S608 - names from this module


def amount_outlier_sql() -> str:
    """A payment of the day whose log amount is more than ``amount_z`` robust z from its channel's window."""
    z = robust_z_sql("ln(t.amount_minor)", "h.med", "h.mad", LOG_AMOUNT_SCALE_FLOOR)
    low, high = band_sql("h.med", "h.mad", LOG_AMOUNT_SCALE_FLOOR, "$amount_z")
    return f"""
    with hist as (
        select channel, currency, median(ln(amount_minor)) as med, mad(ln(amount_minor)) as mad, count(*) as n
        from risk_txn where kind = 'payment' and succeeded and amount_minor > 0 and business_date < $business_date
        group by channel, currency
    ),
    scored as (
        select t.*, h.med, {z} as z, exp({low}) as band_low, exp({high}) as band_high
        from risk_txn t join hist h using (channel, currency)
        where t.business_date = $business_date and t.kind = 'payment' and t.succeeded and t.amount_minor > 0
              and h.n >= $amount_min_payments
    )
    select channel, currency, channel_txn_id as subject, amount_minor::double as value,
           round(case when z > 0 then band_high else band_low end, 0) as threshold, round(exp(med), 0) as baseline,
           round(band_low, 0) as band_low, round(band_high, 0) as band_high,
           'payment of ' || amount_minor::varchar || ' minor units against a typical ' || round(exp(med), 0)::varchar
           || ' (robust z of the log amount ' || round(z, 1)::varchar || ')' as detail,
           1::bigint as row_count, {_PLACE} as rows, null::varchar as series
    from scored where abs(z) > $amount_z
    """  # noqa: S608 - names from this module


def under_threshold_sql() -> str:
    """Payments of the day piling up just under a review threshold: the band under it holds many more than the band over."""
    return f"""
    with thresholds as (select unnest($review_thresholds_minor::bigint[]) as limit_minor),
    pays as (
        select * from risk_txn where business_date = $business_date and kind = 'payment' and succeeded
    ),
    counted as (
        select p.channel, p.currency, l.limit_minor,
               count(*) filter (where p.amount_minor < l.limit_minor
                                and p.amount_minor * 100 >= l.limit_minor * (100 - $threshold_band_pct)) as below,
               count(*) filter (where p.amount_minor >= l.limit_minor
                                and p.amount_minor * 100 < l.limit_minor * (100 + $threshold_band_pct)) as above,
               string_agg({_PLACE.replace("source_", "p.source_")}, ', ' order by p.source_file, p.source_line)
                   filter (where p.amount_minor < l.limit_minor
                           and p.amount_minor * 100 >= l.limit_minor * (100 - $threshold_band_pct)) as rows
        from pays p cross join thresholds l group by p.channel, p.currency, l.limit_minor
    )
    select channel, currency, channel || ' under ' || limit_minor::varchar as subject, below::double as value,
           ($threshold_ratio * greatest(above, 1))::double as threshold, above::double as baseline,
           null::double as band_low, null::double as band_high,
           below::varchar || ' payments within ' || $threshold_band_pct::varchar || ' % under ' || limit_minor::varchar
           || ' minor units, ' || above::varchar || ' within as much over it' as detail,
           below as row_count, rows, null::varchar as series
    from counted
    where below >= $threshold_min_count and below >= $threshold_ratio * greatest(above, 1)
    """  # noqa: S608 - names from this module


@dataclass(frozen=True)
class RiskRule:
    """One declared signal: its code, the unit of its value and threshold, and its SQL.

    The ``[risk]`` keys it reads are the ``$names`` of its SQL (:func:`rule_parameters`); its severity
    is ``[risk] high`` / ``low`` (else medium). Its words (zh/en) are in ``transforms.labels.RISK_RULES``.
    """

    code: str
    unit: str
    sql: Callable[[], str]


#: Every signal, in the order the Risk sheet lists equal severities. Units: ``ratio`` (0.05 = 5 %),
#: ``bps`` (basis points), ``minor`` (minor units of ``currency``), ``days``, ``count``.
RISK_RULES: tuple[RiskRule, ...] = (
    RiskRule("REFUND_RATE_AMOUNT", "ratio", refund_rate_amount_sql),
    RiskRule("REFUND_RATE_COUNT", "ratio", refund_rate_count_sql),
    RiskRule("REFUND_EXCEEDS_PAYMENT", "minor", refund_exceeds_payment_sql),
    RiskRule("REFUND_LATE", "days", refund_late_sql),
    RiskRule("REFUND_ORPHAN", "minor", refund_orphan_sql),
    RiskRule("REFUND_OTHER_CHANNEL", "minor", refund_other_channel_sql),
    RiskRule("PAID_TWO_CHANNELS", "minor", paid_two_channels_sql),
    RiskRule("FEE_ABOVE_CONTRACT", "bps", fee_above_contract_sql),
    RiskRule("FEE_DRIFT", "bps", fee_drift_sql),
    RiskRule("PAYOUT_LATE", "days", payout_late_sql),
    RiskRule("PAYOUT_SKIPPED", "days", payout_skipped_sql),
    RiskRule("VELOCITY", "count", velocity_sql),
    RiskRule("FAILED_ATTEMPTS", "count", failed_attempts_sql),
    RiskRule("AMOUNT_OUTLIER", "minor", amount_outlier_sql),
    RiskRule("UNDER_THRESHOLD", "count", under_threshold_sql),
)
RISK_CODES = tuple(rule.code for rule in RISK_RULES)

#: Parameters every rule may read that are not ``[risk]`` keys.
_RUN_PARAMETERS = ("business_date", "first_date", "hash_key")
_PARAMETER = re.compile(r"\$([a-z_]+)")


def rule_parameters(rule: RiskRule) -> tuple[str, ...]:
    """The ``[risk]`` keys a rule reads (the ``$names`` of its SQL, the run's own left out)."""
    return tuple(sorted({name for name in _PARAMETER.findall(rule.sql()) if name not in _RUN_PARAMETERS}))


def prepare_sql() -> tuple[str, str, str]:
    """SQL for ``risk_txn`` (the window's rows, the party replaced by its keyed hash), ``risk_daily`` and ``risk_paid``.

    Only the window's dates are kept (recorded by runs of ``first_date`` .. D): whatever the caller
    registered, nothing after D reaches a rule.

    The keyed hash is ``sha256(hash_key || party)``: equal ids compare equal, and without the key the
    hash cannot be recomputed from a guessed id (a phone number, a card number). The raw id is
    dropped here and reaches no output.
    """
    txn = """
        select business_date, channel, kind, channel_txn_id, order_no, amount_minor, fee_minor, expected_fee_minor,
               currency, occurred_at, coalesce(status, 'succeeded') = 'succeeded' as succeeded,
               coalesce(party_hash, case when party is not null and party <> '' then sha256($hash_key || party) end)
                   as party_hash,
               source_file, source_line
        from risk_rows
        where business_date >= $first_date and business_date <= $business_date and kind in ('payment', 'refund')
    """
    daily = """
        select channel, currency, business_date as day,
               count(*) filter (where kind = 'payment') as payments,
               coalesce(sum(amount_minor) filter (where kind = 'payment'), 0)::bigint as paid_minor,
               count(*) filter (where kind = 'refund') as refunds,
               coalesce(-sum(amount_minor) filter (where kind = 'refund'), 0)::bigint as refunded_minor,
               coalesce(-sum(fee_minor) filter (where kind = 'payment'), 0)::bigint as fee_minor,
               -- the contracted fee of each payment as the run computed it (fixed part, cap... included)
               count(expected_fee_minor) filter (where kind = 'payment') as contracted,
               coalesce(-sum(expected_fee_minor) filter (where kind = 'payment'), 0)::bigint as contract_fee_minor
        from risk_txn where succeeded group by channel, currency, business_date
    """
    paid = """
        select * from risk_payouts where recon_date >= $first_date and recon_date <= $business_date
    """
    return txn, daily, paid


def risk_signals(
    con: duckdb.DuckDBPyConnection, business_date: date, rules: RiskRules, hash_key: str
) -> pl.DataFrame:
    """The day's risk signals (:data:`RISK_SCHEMA`), most severe first, from the relations on ``con``.

    Args:
        con: a connection with ``risk_rows``, ``risk_payouts`` and ``risk_contract`` registered.
        business_date: D; nothing after it is read.
        rules: the ``[risk]`` section (each rule's parameters and the severities).
        hash_key: the key of the buyer-id hash (secret, kept by the deployment; never output).

    The order is fixed (severity, rule order, channel, subject, rows), so a rerun gives the same bytes.
    """
    first_date = business_date - timedelta(days=rules.window_days)
    run = {"business_date": business_date, "first_date": first_date, "hash_key": hash_key}
    txn, daily, paid = prepare_sql()
    con.execute(f"create or replace temp table risk_txn as {txn}", run)  # noqa: S608 - SQL of this module
    con.execute(f"create or replace temp table risk_daily as {daily}")  # noqa: S608 - SQL of this module
    con.execute(f"create or replace temp table risk_paid as {paid}",  # noqa: S608 - SQL of this module
                {"business_date": business_date, "first_date": first_date})  # fmt: skip
    values = {**run, **{name: getattr(rules, name) for name in RISK_KEYS}}
    frames = []
    for order, rule in enumerate(RISK_RULES):
        sql = rule.sql()
        params = {name: values[name] for name in set(_PARAMETER.findall(sql))}
        try:
            found = con.sql(sql, params=params).pl()
        except Exception as exc:  # noqa: BLE001 - re-raised with the rule's name and the date (STYLE 10)
            raise RuntimeError(f"risk rule {rule.code} for {business_date}: {exc}") from exc
        if found.height == 0:
            continue
        frames.append(
            found.select(_RULE_COLUMNS).with_columns(
                business_date=pl.lit(business_date), severity=pl.lit(rules.severity_of(rule.code), pl.Int64),
                rule=pl.lit(rule.code), window_from=pl.lit(first_date), window_to=pl.lit(business_date),
                unit=pl.lit(rule.unit), order=pl.lit(order),
            )
        )
    con.execute("drop table if exists risk_txn")
    con.execute("drop table if exists risk_daily")
    con.execute("drop table if exists risk_paid")
    if not frames:
        return pl.DataFrame(schema=RISK_SCHEMA)
    signals = pl.concat([frame.cast({c: RISK_SCHEMA[c] for c in _RULE_COLUMNS}) for frame in frames])
    ordered = signals.sort("severity", "order", "channel", "currency", "subject", "rows", nulls_last=True)
    result: pl.DataFrame = ordered.select(list(RISK_SCHEMA)).cast(RISK_SCHEMA)  # type: ignore[arg-type,unused-ignore]
    return result


#: The ``[risk]`` keys rules read (checked against ``RiskRules`` in the tests).
RISK_KEYS = (
    "min_history_days", "refund_rate_z", "refund_late_days", "fee_tolerance_bps", "fee_drift_bps",
    "fee_drift_days", "payout_grace_days", "velocity_minutes", "velocity_count", "failed_attempts", "amount_z",
    "amount_min_payments", "review_thresholds_minor", "threshold_band_pct", "threshold_ratio",
    "threshold_min_count",
)  # fmt: skip


def todays_rows_sql() -> str:
    """``risk_rows``: the recorded history (``earlier_rows``) and the day's channel rows from ``outcome_rows``.

    The outcome rows carry no channel time, buyer or status (``schemas.outputs.Outcome``): a row whose
    statement names its buyer takes its keyed hash, time and status from ``party_rows``
    (:func:`risk_party_sql`, by file and line); the others keep them null, and the velocity and
    failed-attempt signals stay silent on them. No raw id is read here.
    """
    return """
        select * from earlier_rows where business_date < $business_date
        union all
        select $business_date::date, o.channel, o.kind, o.channel_txn_id, o.order_no, o.amount_minor, o.fee_minor,
               o.currency, p.occurred_at, null::varchar, p.status, o.source_file, o.source_line,
               o.expected_fee_minor, p.party_hash
        from outcome_rows o left join party_rows p on p.source_file = o.source_file and p.source_line = o.source_line
        where o.source = 'channel' and o.outcome not in ('duplicate', 'quarantined')
              and o.kind in ('payment', 'refund')
    """


def buyer_rows_sql() -> str:
    """How many of the day's canonical ``channel_rows`` name their buyer (none: no hash key is needed)."""
    return "select count(*) from channel_rows where buyer_id is not null and buyer_id <> ''"


def risk_party_sql() -> str:
    """The day's buyer rows (:data:`RISK_PARTY_COLUMNS`) from its canonical ``channel_rows``: the id hashed.

    ``sha256($hash_key || buyer_id)``: the same id gives the same hash on every date of one data dir
    (one key), and without the key a guessed id (a phone number, a card number) cannot be checked
    against it. Only payments and refunds that name their buyer; one row per file line.
    """
    return """
        select source_file, source_line, sha256($hash_key || buyer_id) as party_hash, occurred_at, status
        from channel_rows
        where buyer_id is not null and buyer_id <> '' and kind in ('payment', 'refund')
        qualify row_number() over (partition by source_file, source_line order by kind) = 1
        order by source_file, source_line
    """


def risk_contract_frame(rules: Rules) -> pl.DataFrame:
    """``risk_contract``: every channel's contracted fee (bps) and payout lag (T+n) from recon.toml."""
    from schemas.canonical import CHANNELS

    return pl.DataFrame(
        [{"channel": name, "fee_bps": _bps(rules.for_channel(name).fee_bps),
          "settlement_lag_days": rules.for_channel(name).settlement_lag_days} for name in CHANNELS],
        schema=RISK_CONTRACT_COLUMNS,
    )  # fmt: skip


def _bps(rate: Decimal | None) -> float | None:
    """A contracted rate as the statistics' number (a rate, never money); None: no contract."""
    return None if rate is None else float(rate)


def high_severity(signals: pl.DataFrame) -> pl.DataFrame:
    """The signals of severity 1 (high): what the headline counts and the notification lists."""
    return signals.filter(pl.col("severity") == 1)


def parse_series(text: str | None) -> list[tuple[str, float]]:
    """A signal's ``series`` (``2026-03-01=0.05;...``) as (date, value) pairs, for the workbook's chart."""
    if not text:
        return []
    pairs = (item.split("=", 1) for item in text.split(";") if "=" in item)
    return [(day, float(value)) for day, value in pairs]
