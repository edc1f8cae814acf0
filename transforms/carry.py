"""Open items: what is still open at the end of a day, carried to the next one (DESIGN §1 point 4).

An *open item* is a row that a later day can still close: a ledger entry with no channel row yet
(``in_transit`` or ``missing_in_channel``), a channel row with no ledger entry yet
(``missing_in_ledger``, or ``in_transit`` while the ledger could not be read), and a payout the bank
has not credited yet. The open items at the end of D are kept in the warehouse as of D (table
``open_item``); the run of D+1 reads them and matches its new rows against them first
(:func:`late_pairs_sql`, the same cascade as the day's own rows). A new row that closes an item gets
``resolved_late`` (or the mismatch the pair shows) and names the item it closed:
``counterpart_file``/``counterpart_line`` of the item's own inbox, ``counterpart_date`` its date.

An item still open past its deadline (``opened_on + settlement_lag_days + open_item_days`` of its
channel, recon.toml) changes status: a ledger entry becomes ``missing_in_channel``, a channel row
``missing_in_ledger``, a payout ``payout_overdue``; its age in days is always shown.

Relations read (names fixed here, values bound):

- ``carried``: the open items as of the day before (``schemas.outputs.OpenItem`` columns);
- ``outcomes``: today's outcome rows (with ``counterpart_date``);
- ``settlement_today``: today's settlement lines (``SettlementLine``);
- ``channel_rules``: per channel, ``settlement_lag_days`` and ``open_item_days``;
- ``decisions``: every decision recorded (``transforms.decisions``): a row resolved by a person leaves
  the open items and is listed among the resolved ones.

:func:`close_the_day` runs the statements in order and leaves the tables ``snapshot``, ``open_items``
and ``resolved`` on the connection. A resolved item stays in the snapshot (``resolved_by`` names the
decision), so that an undo can reopen it; a later row that closes it removes it like any other.
"""

from __future__ import annotations

from datetime import date

import duckdb
import polars as pl

from schemas.outputs import SETTLED_OUTCOMES, OpenItem
from transforms.decisions import active_decisions_sql, resolved_sql, with_hand_matched_sql

OPEN_ITEM_COLUMNS = tuple(OpenItem.to_schema().columns)
OPEN_ITEM_SCHEMA = {name: col.dtype.type for name, col in OpenItem.to_schema().columns.items()}

#: Today's outcomes that a later row can still close (bank rows never close late: they wait for a date).
OPEN_OUTCOMES = ("in_transit", "missing_in_ledger", "missing_in_channel")

#: Payout statuses that mean the bank credited the payout (it leaves the open items).
PAYOUT_RECEIVED = ("matched", "amount_mismatch")

#: Aging buckets (days since the item opened): the finance team's 0–1, 2–3, 4–7, >7 days.
AGING_BUCKETS = (("0-1", 0, 1), ("2-3", 2, 3), ("4-7", 4, 7), (">7", 8, None))

#: What an item waiting past its deadline becomes, per side.
EXPIRED_STATUS = {"ledger": "missing_in_channel", "channel": "missing_in_ledger", "payout": "payout_overdue"}

#: The columns the late cascade needs from an open item (the cascade's step SQL reads these).
MATCH_COLUMNS = ("channel", "kind", "channel_txn_id", "order_no", "amount_minor")


def empty_open_items() -> pl.DataFrame:
    """An empty frame of open items (the first run, or a test)."""
    return pl.DataFrame(schema=OPEN_ITEM_SCHEMA)


def carried_side_sql(source: str, row_id: str) -> str:
    """The carried items of one side (``channel`` or ``ledger``), numbered ``row_id`` in a fixed order."""
    if source not in ("channel", "ledger") or row_id not in ("cid", "lid"):
        raise ValueError(f"no carried side {source!r}/{row_id!r}")
    return f"""
        select row_number() over (order by opened_on, source_file, source_line) as {row_id}, *
        from carried where source = '{source}'
    """  # noqa: S608 - names from this module


def _bucket_sql(age: str) -> str:
    cases = " ".join(
        f"when {age} >= {lo}" + (f" and {age} <= {hi}" if hi is not None else "") + f" then '{name}'"
        for name, lo, hi in AGING_BUCKETS
    )
    return f"(case {cases} end)"


def candidate_items_sql() -> str:
    """What is still open at the end of ``$business_date`` before decisions: yesterday's, and today's new.

    Carried items closed today (named by a row's ``counterpart_date``) or payouts credited today
    leave; everything left is aged, and past its deadline changes status (:data:`EXPIRED_STATUS`).
    """
    opened = ", ".join(f"'{name}'" for name in OPEN_OUTCOMES)
    received = ", ".join(f"'{name}'" for name in PAYOUT_RECEIVED)
    expired = " ".join(f"when '{side}' then '{status}'" for side, status in EXPIRED_STATUS.items())
    columns = ", ".join(OPEN_ITEM_COLUMNS)
    return f"""
    with closed as (
        select counterpart_date as opened_on,
               case source when 'channel' then 'ledger' else 'channel' end as source,
               counterpart_file as source_file, counterpart_line as source_line
        from outcomes where counterpart_date is not null
    ),
    credited as (
        select settlement_date as opened_on, channel, merchant_account, currency
        from settlement_today
        where settlement_date < $business_date and payout_status in ({received})
    ),
    waiting as (select * exclude (age_days, aging_bucket, due_on, resolved_by) from carried),
    still_open as (
        select * from waiting
        anti join closed using (opened_on, source, source_file, source_line)
        where source <> 'payout'
        union all by name
        select * from waiting k
        where source = 'payout' and not exists (
            select 1 from credited c
            where c.opened_on = k.opened_on and c.channel = k.channel and c.currency = k.currency
                  and c.merchant_account is not distinct from k.merchant_account)
    ),
    new_rows as (
        select $business_date::date as opened_on, source, source_file, source_line, channel,
               null::varchar as merchant_account, entry_id, channel_txn_id, order_no, kind, amount_minor,
               currency, outcome as status, detail
        from outcomes where source in ('channel', 'ledger') and outcome in ({opened})
    ),
    new_payouts as (
        select settlement_date as opened_on, 'payout' as source, null::varchar as source_file,
               null::bigint as source_line, channel, merchant_account, null::varchar as entry_id,
               null::varchar as channel_txn_id, null::varchar as order_no, 'payout' as kind,
               payout_expected_minor as amount_minor, currency, 'in_transit' as status,
               'payout of ' || settlement_date::varchar || ', expected on the bank statement' as detail
        from settlement_today
        where settlement_date = $business_date and payout_status = 'in_transit'
              and payout_expected_minor is not null and payout_expected_minor <> 0  -- nothing withdrawn: nothing due
    ),
    items as (
        select * from still_open
        union all by name select * from new_rows
        union all by name select * from new_payouts
    ),
    dated as (
        select i.*,
               date_diff('day', i.opened_on, $business_date::date)::bigint as age_days,
               (i.opened_on + to_days(
                   (coalesce(r.settlement_lag_days, 1) + coalesce(r.open_item_days, 2))::integer))::date as due_on
        from items i left join channel_rules r using (channel)
    ),
    aged as (
        select * replace (
                   case when status = 'in_transit' and $business_date::date > due_on
                        then case source {expired} end else status end as status),
               {_bucket_sql("age_days")} as aging_bucket, null::varchar as resolved_by
        from dated
    )
    select {columns} from aged
    """  # noqa: S608 - names and codes from this module


def snapshot_sql() -> str:
    """Every item carried at the end of the day, ``resolved_by`` the decision in force that resolved it.

    Ordered by status severity, age (oldest first), then identity: the same inputs give the same rows.
    """
    columns = ", ".join(f"c.{name}" if name != "resolved_by" else "d.decision_id as resolved_by"
                        for name in OPEN_ITEM_COLUMNS)  # fmt: skip
    return f"""
    select {columns}
    from candidate_items c left join active_decisions d using (opened_on, source, source_file, source_line)
    order by case when c.status = 'in_transit' then 1 else 0 end, c.age_days desc, c.channel, c.source,
             c.source_file nulls last, c.source_line nulls last, c.merchant_account nulls last, c.currency
    """  # noqa: S608 - names from this module


def decidable_sql() -> str:
    """The rows a decision may resolve on ``$business_date``: open candidates and the day's discrepancies."""
    quiet = ", ".join(f"'{name}'" for name in (*SETTLED_OUTCOMES, *OPEN_OUTCOMES))
    return f"""
    select opened_on, source, source_file, source_line, channel, amount_minor, currency, status
    from candidate_items where source <> 'payout'
    union all
    select $business_date::date, source, source_file, source_line, channel, amount_minor, currency, outcome
    from outcomes where outcome not in ({quiet})
    """  # noqa: S608 - names and codes from this module


def close_the_day(con: duckdb.DuckDBPyConnection, business_date: date) -> None:
    """Compute the day's closing tables on ``con`` (the relations are the module's).

    ``snapshot``: every item carried, the resolved ones too; ``open_items``: the ones still open;
    ``resolved``: the rows a decision in force resolves, with their trail.
    """
    params = {"business_date": business_date}
    con.execute(f"create or replace temp table candidate_items as {candidate_items_sql()}", params)  # noqa: S608
    con.execute(f"create or replace temp table decidable as {decidable_sql()}", params)  # noqa: S608
    con.execute(f"create or replace temp table named_decisions as {active_decisions_sql()}", params)  # noqa: S608
    # a match by hand resolves both rows: the one named, and the one it was matched with
    con.execute(f"create or replace temp table active_decisions as {with_hand_matched_sql()}")  # noqa: S608
    con.execute(f"create or replace temp table snapshot as {snapshot_sql()}")  # noqa: S608
    con.execute("create or replace temp table open_items as select * from snapshot where resolved_by is null")
    con.execute(f"create or replace temp table resolved as {resolved_sql()}")  # noqa: S608


def aging_sql() -> str:
    """Counts and amounts of the open items per channel, currency, side and aging bucket (``open_items``)."""
    order = " ".join(f"when '{name}' then {rank}" for rank, (name, _, _) in enumerate(AGING_BUCKETS))
    return f"""
        select channel, currency, aging_bucket, count(*)::bigint as items, sum(amount_minor)::bigint as amount_minor
        from open_items group by channel, currency, aging_bucket
        order by channel nulls last, currency nulls last, case aging_bucket {order} end
    """  # noqa: S608 - names from this module
