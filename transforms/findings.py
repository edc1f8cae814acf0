"""Business-rule findings across rows, channels and days (BAD_INPUTS §3.3), in DuckDB SQL.

The cascade gives every row its outcome; some breaks only show across rows: an order paid twice, refunds
that add up to more than the payment, a refund whose payment recon has never seen, the same channel
transaction in two days' statements, one order paid through two channels. These never change an
outcome (DESIGN §9): they add a reason code and a sentence to the rows concerned, so that the rows
show up in the discrepancy list with what a person needs to act on.

Relations read:

- ``outcome_rows``: the day's outcome rows (``schemas.outputs.Outcome``), every partition;
- ``currency_units``: minor-unit exponents (``transforms.classify.currency_units_frame``);
- ``earlier_rows``: channel rows of the last ``lookback_days`` dates before D, from the warehouse,
  only those sharing an order number or a channel id with the day's rows
  (:data:`EARLIER_COLUMNS`; see ``flows.warehouse.Warehouse.earlier_channel_rows``).

Parameters, bound: ``$business_date`` (D) and ``$first_date`` (the first date looked back to).
The result is ``(source, source_file, source_line, finding_code, finding)``: at most one finding per
row, the first of :data:`FINDINGS` that applies.
"""

from __future__ import annotations

import polars as pl

from transforms.classify import money_text_sql

#: The findings, in precedence order (a row gets the first that applies), with what each means.
FINDINGS: dict[str, str] = {
    "DUPLICATE_ACROSS_DAYS": "the same channel transaction is in an earlier date's statement too",
    "DUPLICATE_PAYMENT": "the order was paid more than once at the channel and the ledger booked fewer: a refund is needed",
    "REFUND_EXCEEDS_CAPTURE": "the refunds of an order add up to more than its payments",
    "ORPHAN_REFUND": "a refund whose payment is in no statement of the look-back window",
    "SPLIT_PAYMENT": "one order paid through more than one channel, booked in the ledger as one entry",
}

#: The columns of ``earlier_rows``.
EARLIER_COLUMNS = {
    "business_date": pl.Date(), "channel": pl.String(), "kind": pl.String(), "channel_txn_id": pl.String(),
    "order_no": pl.String(), "amount_minor": pl.Int64(), "currency": pl.String(), "source_file": pl.String(),
    "source_line": pl.Int64(),
}  # fmt: skip

#: Outcomes of channel rows that are not real transactions of the channel (left out of every finding).
_NOT_COUNTED = ("duplicate", "quarantined")


def wanted_keys_sql() -> str:
    """``(channel, order_no, channel_txn_id)``: the day's channel rows whose history a finding needs.

    Every payment and refund's order number (refunds, and payments nothing booked) and every
    unmatched row's channel id: few rows, so that the look-back reads only what it needs.
    """
    skip = ", ".join(f"'{name}'" for name in _NOT_COUNTED)
    return f"""
        select distinct channel, order_no, channel_txn_id from outcome_rows
        where source = 'channel' and outcome not in ({skip}) and kind in ('payment', 'refund')
              and (kind = 'refund' or outcome in ('missing_in_ledger', 'in_transit'))
    """  # noqa: S608 - names from this module


def findings_sql() -> str:
    """The day's findings: see the module docstring."""
    skip = ", ".join(f"'{name}'" for name in _NOT_COUNTED)
    rank = " ".join(f"when '{code}' then {n}" for n, code in enumerate(FINDINGS))

    def money(amount: str, currency: str) -> str:
        exponent = f"(select exponent from currency_units u where u.currency = {currency})"  # noqa: S608 - names
        unit = f"(select unit from currency_units u where u.currency = {currency})"  # noqa: S608 - names
        return money_text_sql(amount, currency, exponent, unit)

    return f"""
    with
    today as (
        select source, source_file, source_line, channel, kind, channel_txn_id, order_no, amount_minor, currency,
               outcome, counterpart_file, counterpart_line
        from outcome_rows
        where source = 'channel' and outcome not in ({skip}) and kind in ('payment', 'refund')
    ),
    moves as (  -- every payment and refund of an order: the day's and the look-back's
        select channel, kind, order_no, channel_txn_id, amount_minor, currency, $business_date::date as on_date
        from today where order_no is not null
        union all
        select channel, kind, order_no, channel_txn_id, amount_minor, currency, business_date
        from earlier_rows where order_no is not null and business_date < $business_date
    ),
    per_order as (
        select channel, order_no, currency,
               count(*) filter (where kind = 'payment') as payments,
               coalesce(sum(amount_minor) filter (where kind = 'payment'), 0) as paid,
               coalesce(-sum(amount_minor) filter (where kind = 'refund'), 0) as refunded,
               string_agg(channel_txn_id, ', ' order by on_date, channel_txn_id) filter (where kind = 'payment') as paid_by
        from moves group by channel, order_no, currency
    ),
    again as (
        select t.source, t.source_file, t.source_line, 'DUPLICATE_ACROSS_DAYS' as finding_code,
               'DUPLICATE_ACROSS_DAYS: this channel transaction is also in the statement of '
               || e.business_date::varchar || ' (' || e.source_file || ':' || e.source_line::varchar || ')' as finding
        from today t join earlier_rows e
          on e.channel = t.channel and e.kind = t.kind and e.channel_txn_id = t.channel_txn_id
        where e.business_date < $business_date
        qualify row_number() over (partition by t.source_file, t.source_line order by e.business_date desc) = 1
    ),
    paid_twice as (
        select t.source, t.source_file, t.source_line, 'DUPLICATE_PAYMENT',
               'DUPLICATE_PAYMENT: order ' || t.order_no || ' paid ' || o.payments::varchar
               || ' times at the channel (' || o.paid_by || '); the ledger has no entry for this one: a refund is needed'
        from today t join per_order o using (channel, order_no, currency)
        where t.kind = 'payment' and o.payments > 1 and t.outcome = 'missing_in_ledger'
    ),
    over_refunded as (
        select t.source, t.source_file, t.source_line, 'REFUND_EXCEEDS_CAPTURE',
               'REFUND_EXCEEDS_CAPTURE: refunds of order ' || t.order_no || ' total '
               || {money("o.refunded", "o.currency")} || ' against payments of '
               || {money("o.paid", "o.currency")}
        from today t join per_order o using (channel, order_no, currency)
        where t.kind = 'refund' and o.payments > 0 and o.refunded > o.paid
    ),
    orphans as (
        select t.source, t.source_file, t.source_line, 'ORPHAN_REFUND',
               'ORPHAN_REFUND: no payment of order ' || t.order_no || ' in the statements of '
               || $first_date::varchar || ' to ' || $business_date::varchar
        from today t join per_order o using (channel, order_no, currency)
        where t.kind = 'refund' and o.payments = 0
    ),
    split_ledger as (
        -- a ledger payment whose order the channels took in parts: nothing matched it, or one part did
        -- (by the order number, then the amounts differ)
        select l.source_file as l_file, l.source_line as l_line, l.order_no, l.amount_minor, l.currency
        from outcome_rows l
        where l.source = 'ledger' and l.kind = 'payment' and l.outcome in ('missing_in_channel', 'amount_mismatch')
              and l.order_no is not null
    ),
    split_parts as (
        select s.l_file, s.l_line, t.source_file, t.source_line, t.channel, t.amount_minor, t.currency,
               count(distinct t.channel) over (partition by s.l_file, s.l_line) as channels,
               sum(t.amount_minor) over (partition by s.l_file, s.l_line) as parts_total,
               string_agg(t.channel || ' ' || {money("t.amount_minor", "t.currency")}, ' + '
                          order by t.channel, t.source_file, t.source_line)
                   over (partition by s.l_file, s.l_line) as parts,
               s.amount_minor as booked, s.order_no
        from split_ledger s join today t
          on t.order_no = s.order_no and t.currency = s.currency and t.kind = 'payment'
             and (t.outcome = 'missing_in_ledger'
                  or (t.outcome = 'amount_mismatch' and t.counterpart_file = s.l_file
                      and t.counterpart_line = s.l_line))
    ),
    split as (
        select 'ledger' as source, l_file as source_file, l_line as source_line, 'SPLIT_PAYMENT',
               'SPLIT_PAYMENT: order ' || order_no || ' paid through ' || parts || ', booked as one entry'
        from split_parts where channels > 1 and parts_total = booked
        group by all
        union all
        select 'channel', source_file, source_line, 'SPLIT_PAYMENT',
               'SPLIT_PAYMENT: order ' || order_no || ' paid through ' || parts || ', booked as one ledger entry ('
               || l_file || ':' || l_line::varchar || ')'
        from split_parts where channels > 1 and parts_total = booked
    ),
    found as (
        select * from again union all select * from paid_twice union all select * from over_refunded
        union all select * from orphans union all select * from split
    )
    select source, source_file, source_line, finding_code, finding from found
    qualify row_number() over (partition by source, source_file, source_line order by case finding_code {rank} end) = 1
    """  # noqa: S608 - names and codes from this module
