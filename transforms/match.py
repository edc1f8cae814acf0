"""The matching cascade, in DuckDB SQL: pair channel rows with ledger rows, each step on what is still open.

Works on the *matchable* rows only: duplicates (DESIGN §9 Keys) are found first and kept out, so no
copy is ever picked. Each step pairs row ids ``(cid, lid)``; a row appears in at most one pair
(BAD_INPUTS I10, a partial bijection), except in a group (:data:`GROUP_RULES`): one row on one side
and several on the other, all of them in no other pair.

Everything here is SQL text over relations with fixed names, so that the same statements run on a
test's in-memory frames and on a day of ten million rows spilled to Parquet, where DuckDB joins out
of core within its memory limit. Names in the SQL are this module's constants; values are always
bound parameters. The ``*_sql`` functions return text that tests can read.

Relations read:

- ``channel_rows``: canonical channel rows (``ChannelTxn``) with a unique ``cid``;
- ``ledger_rows``: canonical ledger rows (``LedgerEntry``) with a unique ``lid``;
- ``entry_dups``: ``(entry_id, copies)`` of entry ids booked more than once in the whole day's ledger
  (a global pre-pass: an entry id may repeat across channels, and so across partitions).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import duckdb
import polars as pl

KEY = ("channel", "kind", "channel_txn_id")
PAIR_SCHEMA = {"cid": pl.Int64(), "lid": pl.Int64(), "match_rule": pl.String()}


def entry_dups_sql(ledger: str = "ledger_rows") -> str:
    """``(entry_id, copies)`` of every entry id that appears more than once (the global pre-pass)."""
    return f"select entry_id, count(*) as copies from {ledger} group by entry_id having count(*) > 1"  # noqa: S608


def duplicates_sql() -> str:
    """CTEs ``channel_dup (cid, detail)`` and ``ledger_dup (lid, detail)``: every copy and its counterpart.

    A channel key is (channel, kind, channel_txn_id); a ledger row is a duplicate when its ``entry_id``
    repeats or its non-empty key repeats. Every copy gets ``duplicate``, and so does every row on the
    other side carrying the same key. When several reasons apply, the first listed gives the words.
    """
    return """
    channel_keys as (
        select channel, kind, channel_txn_id, count(*) as copies
        from channel_rows group by channel, kind, channel_txn_id having count(*) > 1
    ),
    ledger_keyed as (
        select * from ledger_rows where channel_txn_id is not null
    ),
    ledger_key_dups as (
        select channel, kind, channel_txn_id, count(*) as copies
        from ledger_keyed group by channel, kind, channel_txn_id having count(*) > 1
    ),
    ledger_copied_keys as (
        select distinct channel, kind, channel_txn_id from (
            select channel, kind, channel_txn_id from ledger_keyed
            semi join ledger_key_dups using (channel, kind, channel_txn_id)
            union all
            select channel, kind, channel_txn_id from ledger_keyed semi join entry_dups using (entry_id)
        )
    ),
    channel_dup as (
        select cid, arg_min(why, reason) as detail from (
            select c.cid, 1 as reason,
                   'DUPLICATE_ID: ' || k.copies || ' copies of this line in the statement' as why
            from channel_rows c join channel_keys k using (channel, kind, channel_txn_id)
            union all
            select cid, 2, 'DUPLICATE_ID: its ledger entry is duplicated'
            from channel_rows semi join ledger_copied_keys using (channel, kind, channel_txn_id)
        ) group by cid
    ),
    ledger_dup as (
        select lid, arg_min(why, reason) as detail from (
            select l.lid, 1 as reason, 'DUPLICATE_ID: entry_id appears ' || d.copies || ' times in the ledger' as why
            from ledger_rows l join entry_dups d using (entry_id)
            union all
            select l.lid, 2, 'DUPLICATE_ID: channel_txn_id booked ' || k.copies || ' times in the ledger' as why
            from ledger_keyed l join ledger_key_dups k using (channel, kind, channel_txn_id)
            union all
            select lid, 3, 'DUPLICATE_ID: its channel line appears more than once in the statement'
            from ledger_keyed semi join channel_keys using (channel, kind, channel_txn_id)
        ) group by lid
    )"""


@dataclass(frozen=True)
class MatchStep:
    """One step of the cascade: a rule name, what it means, and the SQL that pairs open rows.

    ``sql(channel, ledger)`` returns a select of ``(cid, lid, match_rule)`` over the two named
    relations (it may also read ``channel_rules``, see ``transforms.classify``). ``across_days``: the
    step also closes open items of earlier dates (keys do; an amount and a time need both rows' times,
    which an open item does not keep). Calling the step on two frames runs it on them (worked
    examples, tests).
    """

    rule: str
    sql: Callable[[str, str], str]
    meaning: str = ""
    across_days: bool = True

    def __call__(self, channel: pl.DataFrame, ledger: pl.DataFrame, rules: pl.DataFrame | None = None) -> pl.DataFrame:
        """The pairs this step alone finds between ``channel`` (with ``cid``) and ``ledger`` (with ``lid``).

        ``rules``: the ``channel_rules`` relation (default: every channel with a 10-minute window).
        """
        with duckdb.connect() as con:
            con.register("open_channel", channel)
            con.register("open_ledger", ledger)
            con.register("channel_rules", default_channel_rules(channel, ledger) if rules is None else rules)
            return _pairs(con.sql(self.sql("open_channel", "open_ledger")).pl())


def default_channel_rules(*frames: pl.DataFrame, window_seconds: int = 600) -> pl.DataFrame:
    """A minimal ``channel_rules`` for the steps run on frames: each channel present, with a time window."""
    names = sorted({name for frame in frames if "channel" in frame.columns for name in frame["channel"].drop_nulls()})
    return pl.DataFrame(
        {"channel": names, "window_seconds": [window_seconds] * len(names)},
        schema={"channel": pl.String, "window_seconds": pl.Int64},
    )


def _by_channel_txn_id_sql(channel: str, ledger: str) -> str:
    return f"""
        select c.cid, l.lid, 'channel_txn_id' as match_rule
        from {channel} c join {ledger} l
          on c.channel = l.channel and c.kind = l.kind and c.channel_txn_id = l.channel_txn_id
    """  # noqa: S608 - relation names from this module


def _by_order_no_sql(channel: str, ledger: str) -> str:
    def unique_candidates(relation: str, row_id: str) -> str:
        # A refund also needs the same amount: one order may have several refunds (DESIGN §9 Refunds).
        return f"""
            select * from (
                select {row_id}, channel, kind, order_no,
                       case when kind = 'refund' then amount_minor else 0 end as key_amount
                from {relation} where order_no is not null
            ) qualify count(*) over (partition by channel, kind, order_no, key_amount) = 1
        """  # noqa: S608 - relation names from this module

    return f"""
        select c.cid, l.lid, 'order_no' as match_rule
        from ({unique_candidates(channel, "cid")}) c join ({unique_candidates(ledger, "lid")}) l
          on c.channel = l.channel and c.kind = l.kind and c.order_no = l.order_no
         and c.key_amount = l.key_amount
    """  # noqa: S608 - relation names from this module


def amount_time_candidates_sql(channel: str, ledger: str) -> str:
    """``(cid, lid)``: every pair of open rows that the amount + time window step would consider.

    Same channel, kind, currency and amount; channel time (``occurred_at``) and ledger booking time
    (``booked_at``) at most the channel's ``window_seconds`` apart; and no key that contradicts: the
    ledger row carries no channel id (one that differs names another transaction), and the order
    numbers are not both present and different. The join is banded by time: each ledger row meets
    only the channel rows of its own and the two neighbouring windows, so that many rows of one
    amount never make a cross join.
    """
    return f"""
        select c.cid, l.lid
        from (select c.*, r.window_seconds, epoch(c.occurred_at)::bigint // greatest(r.window_seconds, 1) as band
              from {channel} c join channel_rules r using (channel)) c
        join (select l.*, epoch(l.booked_at)::bigint // greatest(r.window_seconds, 1) + b.shift as band
              from {ledger} l join channel_rules r using (channel)
              cross join (values (-1), (0), (1)) b(shift)
              where l.channel_txn_id is null) l
          on c.channel = l.channel and c.kind = l.kind and c.currency = l.currency
         and c.amount_minor = l.amount_minor and c.band = l.band
        where abs(epoch(c.occurred_at) - epoch(l.booked_at)) <= c.window_seconds
          and (c.order_no is null or l.order_no is null or c.order_no = l.order_no)
    """  # noqa: S608 - relation names from this module


def _by_amount_time_sql(channel: str, ledger: str) -> str:
    return f"""
        select cid, lid, 'amount_time' as match_rule from ({amount_time_candidates_sql(channel, ledger)})
        qualify count(*) over (partition by cid) = 1 and count(*) over (partition by lid) = 1
    """  # noqa: S608 - relation names from this module


def _by_order_group_sql(channel: str, ledger: str) -> str:
    def totals(relation: str) -> str:
        return f"""
            select channel, kind, currency, order_no, count(*) as n, sum(amount_minor) as total
            from {relation} where order_no is not null group by channel, kind, currency, order_no
        """  # noqa: S608 - relation names from this module

    return f"""
        select c.cid, l.lid, 'order_group' as match_rule
        from ({totals(channel)}) cg join ({totals(ledger)}) lg using (channel, kind, currency, order_no)
        join {channel} c using (channel, kind, currency, order_no)
        join {ledger} l using (channel, kind, currency, order_no)
        where cg.total = lg.total and (cg.n = 1) <> (lg.n = 1)
    """  # noqa: S608 - relation names from this module


#: The channel's own id, the strong key: same (channel, kind, channel_txn_id).
by_channel_txn_id = MatchStep(
    "channel_txn_id", _by_channel_txn_id_sql, "the channel's transaction id (refund id for a refund), same kind"
)
#: The merchant's order number, when the candidate is unique on both sides (a refund: same amount too).
by_order_no = MatchStep(
    "order_no", _by_order_no_sql,
    "the merchant's order number, only where exactly one row on each side has it (a refund: and its amount)",
)  # fmt: skip
#: Amount and time, when exactly one candidate exists on each side (never a pick among several).
by_amount_time = MatchStep(
    "amount_time", _by_amount_time_sql,
    "the same amount, kind and currency within the time window, only where exactly one candidate exists on each "
    "side and no key contradicts; an ambiguous set is left open and named in the detail",
    across_days=False,
)  # fmt: skip

#: One row on one side and several on the other, of one order, kind and currency, adding up to the same
#: amount: partial refunds booked as one ledger entry, an order paid in parts at one channel.
by_order_group = MatchStep(
    "order_group", _by_order_group_sql,
    "one row on one side against several on the other, of the same order, kind and currency, adding up to "
    "exactly the same amount (partial refunds booked as one entry, an order paid in parts); every row of the "
    "group records the group",
    across_days=False,
)  # fmt: skip

#: Every step a recon.toml may put in ``[match] cascade``, by name (the registry).
MATCH_STEPS: dict[str, MatchStep] = {
    step.rule: step for step in (by_channel_txn_id, by_order_no, by_amount_time, by_order_group)
}

#: The steps whose pairs are groups (one row against several): judged on the group's totals.
GROUP_RULES = ("order_group",)

#: The packaged cascade, in order; each step sees only rows no earlier step paired (DESIGN §5 match).
MATCH_CASCADE: tuple[MatchStep, ...] = (by_channel_txn_id, by_order_no, by_amount_time, by_order_group)


def cascade_of(names: Sequence[str]) -> tuple[MatchStep, ...]:
    """The steps named in ``[match] cascade``, in that order (names checked by ``transforms.rules``)."""
    return tuple(MATCH_STEPS[name] for name in names)


def cascade_sql(
    cascade: Sequence[MatchStep], channel: str, ledger: str, *, prefix: str = "", rejected: str | None = None
) -> str:
    """CTEs ending in ``{prefix}pairs (cid, lid, match_rule)``: every step on what the earlier ones left open.

    Args:
        cascade: the steps, in order.
        channel: the matchable channel rows (a relation or CTE with ``cid``).
        ledger: the matchable ledger rows (with ``lid``).
        prefix: put before every CTE name, so that one query can run the cascade twice (the day's
            own rows, then what stays open against the open items of earlier days).
        rejected: a relation of ``(cid, lid)`` pairs a person rejected: a step never proposes them
            (a group that holds one is not proposed either); the rows stay open for the next steps.
    """
    parts = []
    open_c, open_l = channel, ledger
    for index, step in enumerate(cascade):
        proposed = step.sql(open_c, open_l)
        if rejected is not None:
            proposed = f"""
                with proposed as ({proposed}),
                refused as (select cid, lid from proposed semi join {rejected} using (cid, lid))
                select * from proposed p
                where not exists (select 1 from refused r where r.cid = p.cid or r.lid = p.lid)
            """  # noqa: S608 - relation names from this module
        parts.append(f"{prefix}step_{index} as ({proposed})")
        parts.append(f"{prefix}open_c_{index} as (select * from {open_c} anti join {prefix}step_{index} using (cid))")  # noqa: S608
        parts.append(f"{prefix}open_l_{index} as (select * from {open_l} anti join {prefix}step_{index} using (lid))")  # noqa: S608
        open_c, open_l = f"{prefix}open_c_{index}", f"{prefix}open_l_{index}"
    union = " union all ".join(f"select * from {prefix}step_{index}" for index in range(len(cascade)))  # noqa: S608
    empty = "select null::bigint as cid, null::bigint as lid, null::varchar as match_rule where false"
    parts.append(f"{prefix}pairs as ({union or empty})")
    return ",\n".join(parts)


# -- worked examples on frames (tests, small days) --------------------------------------------------


class Duplicates(NamedTuple):
    """Row ids that are duplicates (or the counterpart of one), with why."""

    channel: pl.DataFrame  # cid, detail
    ledger: pl.DataFrame  # lid, detail


def find_duplicates(channel: pl.DataFrame, ledger: pl.DataFrame) -> Duplicates:
    """Find duplicate keys on each side and their counterparts on the other (see ``duplicates_sql``).

    Args:
        channel: channel rows with a ``cid`` row id and the KEY columns.
        ledger: ledger rows with a ``lid`` row id, ``entry_id`` and the KEY columns.
    """
    with duckdb.connect() as con:
        _register(con, channel, ledger)
        found = {
            name: con.sql(f"with {duplicates_sql()} select * from {name} order by 1").pl()  # noqa: S608
            for name in ("channel_dup", "ledger_dup")
        }
    return Duplicates(
        channel=found["channel_dup"].cast({"cid": channel.schema["cid"]}),
        ledger=found["ledger_dup"].cast({"lid": ledger.schema["lid"]}),
    )


def run_cascade(
    channel: pl.DataFrame, ledger: pl.DataFrame, cascade: tuple[MatchStep, ...] = MATCH_CASCADE
) -> pl.DataFrame:
    """Run every step of ``cascade`` on the rows still open; return all pairs ``(cid, lid, match_rule)``."""
    with duckdb.connect() as con:
        con.register("matchable_channel", channel)
        con.register("matchable_ledger", ledger)
        con.register("channel_rules", default_channel_rules(channel, ledger))
        sql = f"with {cascade_sql(cascade, 'matchable_channel', 'matchable_ledger')} select * from pairs"  # noqa: S608
        return _pairs(con.sql(sql + " order by cid").pl())


def _register(con: duckdb.DuckDBPyConnection, channel: pl.DataFrame, ledger: pl.DataFrame) -> None:
    con.register("channel_rows", channel)
    con.register("ledger_rows", ledger)
    con.execute(f"create temp table entry_dups as {entry_dups_sql()}")


def _pairs(frame: pl.DataFrame) -> pl.DataFrame:
    if frame.height == 0:
        return pl.DataFrame(schema=PAIR_SCHEMA)
    return frame.select(list(PAIR_SCHEMA)).cast(PAIR_SCHEMA)  # type: ignore[arg-type]
