"""The run-time invariants a report must hold before it is published (BAD_INPUTS §1.6, I1, I2, I10).

Each check returns sentences naming what broke (empty: the report may be published); the flow fails
closed on any (I12): nothing new is published, and the message names the file and line.

- I1 *rows*: every data row of every read file has exactly one outcome, and every physical line is
  accounted for (data, continuation, header, preamble, footer, blank, unread).
- I2 *amounts*: per file, the amounts of its outcome rows add up to the amounts it was read with
  (the spilled rows, valid and quarantined): nothing between parsing and the report changes money.
- I10 *pairs*: matching is a partial bijection: a row names at most one counterpart, and is named by
  at most that one; both rows of a pair name each other with the same outcome and currency, and a
  ``matched`` pair of a channel with no tolerance has the same amount.

I2 and I10 are aggregates over whole columns (one scan each); only when one fails is a second query
run to name the rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import duckdb

if TYPE_CHECKING:
    from transforms.report import Report

#: How many offending rows a message names.
EXAMPLES = 3


def conservation_problems(report: Report) -> list[str]:
    """I1 on the finished report: every data row of every input has exactly one outcome.

    Returns:
        One sentence per broken rule: a file whose data rows differ from its outcome rows, a line
        with two outcomes, an outcome for a file that was not read, or a file whose line accounting
        does not add up to its physical lines.
    """
    problems = []
    per_file = report.rows_per_file
    read = {f.source_file for f in report.inputs if not f.status.startswith("duplicate delivery")}
    for f in report.inputs:
        if f.source_file not in read:
            continue
        if per_file.get(f.source_file, 0) != f.data_rows:
            problems.append(f"{f.source_file}: {f.data_rows} data rows but {per_file.get(f.source_file, 0)} outcomes")
        accounted = (f.data_rows + f.continuation_lines + f.header_lines + f.preamble_lines + f.footer_lines
                     + f.blank_lines + f.unread_lines)  # fmt: skip
        if f.physical_lines and accounted != f.physical_lines:
            problems.append(f"{f.source_file}: {f.physical_lines} physical lines but {accounted} accounted for")
    for name in sorted(set(per_file) - read):
        problems.append(f"{name}: outcomes for a file that was not read")
    count, example = report.shared_lines
    if count:
        problems.append(f"{count} lines have two outcomes, e.g. {example}")
    return problems


def amount_problems(con: duckdb.DuckDBPyConnection) -> list[str]:
    """I2 over the ``outcomes`` relation and the ``read_amounts (source_file, amount_minor)`` relation.

    ``read_amounts`` holds every row as its adapter read it (valid rows and quarantined ones, an
    unreadable amount as null) of the files the run read.
    """
    rows = con.sql(
        """
        with read as (select source_file, sum(amount_minor) as amount, count(amount_minor) as n
                      from read_amounts group by source_file),
             told as (select source_file, sum(amount_minor) as amount, count(amount_minor) as n
                      from outcomes group by source_file)
        select coalesce(r.source_file, t.source_file) as file, r.amount, r.n, t.amount, t.n
        from read r full join told t using (source_file)
        where r.amount is distinct from t.amount or r.n is distinct from t.n
        order by file limit ?
        """,
        params=[EXAMPLES],
    ).fetchall()
    return [
        f"{file}: read with {n_read or 0} amounts summing to {read or 0} minor units, "
        f"but its outcome rows carry {n_told or 0} summing to {told or 0}"
        for file, read, n_read, told, n_told in rows
    ]


def pairing_problems(con: duckdb.DuckDBPyConnection, tolerances: Mapping[str, int]) -> list[str]:
    """I10 over the ``outcomes`` relation; ``tolerances`` maps a channel to its amount tolerance.

    Pairs within the day are checked from both ends; an open item of an earlier date (named with
    its ``counterpart_date``) must be closed by one row at most.
    """
    closed_twice = [
        f"{day} {file}:{line}: open item closed by {n} rows today"
        for day, file, line, n in con.sql(
            "select counterpart_date, counterpart_file, counterpart_line, count(*) from outcomes "
            "where counterpart_date is not null group by all having count(*) > 1 order by all limit ?",
            params=[EXAMPLES],
        ).fetchall()
    ]
    con.register("pair_tolerance", _tolerance_rows(tolerances))
    try:
        unique, balanced = con.sql(_FINGERPRINTS).fetchall()[0]
        if unique == 0 and balanced:
            return closed_twice
        rows = con.sql(_OFFENDERS, params=[EXAMPLES]).fetchall()
    finally:
        con.unregister("pair_tolerance")
    problems = [f"{file}:{line}: {why}" for file, line, why in rows] + closed_twice
    return problems or ["matched pairs do not agree (the fingerprints of both sides differ)"]


def group_problems(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Groups (one row against several, ``transforms.match.GROUP_RULES``) over the ``outcomes`` relation.

    Every member names the group's single row, which names one of them back; all rows of a group
    share one outcome; and a group judged ``matched`` adds up on both sides.
    """
    rows = con.sql(_GROUPS, params=[EXAMPLES]).fetchall()
    return [f"{file}:{line}: {why}" for file, line, why in rows]


_GROUPS = """
    with g as (
        select * from outcomes
        where source in ('channel', 'ledger') and match_rule = 'order_group' and counterpart_date is null
    ),
    named as (  -- how many group rows name each row
        select case source when 'channel' then 'ledger' else 'channel' end as source,
               counterpart_file as source_file, counterpart_line as source_line, count(*) as n
        from g group by all
    ),
    anchored as (  -- each row's group: the single row, itself named by every member
        select g.*, coalesce(n.n, 0) as named_by,
               case when coalesce(n.n, 0) > 1 then g.source else
                    case g.source when 'channel' then 'ledger' else 'channel' end end as a_source,
               case when coalesce(n.n, 0) > 1 then g.source_file else g.counterpart_file end as a_file,
               case when coalesce(n.n, 0) > 1 then g.source_line else g.counterpart_line end as a_line
        from g left join named n using (source, source_file, source_line)
    ),
    groups as (
        select a_source, a_file, a_line, count(*) filter (where named_by > 1) as singles,
               count(*) filter (where named_by <= 1) as members, count(distinct outcome) as outcomes,
               any_value(outcome) as outcome,
               sum(amount_minor) filter (where named_by > 1) as single_amount,
               sum(amount_minor) filter (where named_by <= 1) as member_amount
        from anchored group by all
    )
    select a_file, a_line,
           case when singles <> 1 or members < 2 then 'a group without one single row and several members'
                when outcomes > 1 then 'the rows of one group have different outcomes'
                else 'a matched group does not add up: ' || single_amount::varchar || ' against '
                     || member_amount::varchar end
    from groups
    where singles <> 1 or members < 2 or outcomes > 1 or (outcome = 'matched' and single_amount <> member_amount)
    order by 1, 2 limit ?
"""


def _tolerance_rows(tolerances: Mapping[str, int]) -> object:
    import polars as pl

    return pl.DataFrame(
        {"channel": list(tolerances), "tolerance_minor": list(tolerances.values())},
        schema={"channel": pl.String, "tolerance_minor": pl.Int64},
    )


#: The channel rows and ledger rows that name a counterpart, each side written as the same pair
#: (channel row, ledger row, outcome, currency, and the amount where no tolerance applies): the two
#: sides' fingerprints are equal exactly when every pair is named from both ends and agrees.
_PAIRS = """
    with named as (
        select o.*, coalesce(t.tolerance_minor, 0) = 0 as exact
        from outcomes o left join pair_tolerance t using (channel)
        where o.source in ('channel', 'ledger') and o.counterpart_line is not null
              and o.counterpart_date is null  -- a row that closed an earlier date's open item
              and o.match_rule is distinct from 'order_group'  -- groups: see _GROUPS
    ),
    pairs as (
        select source,
               case when source = 'channel' then source_file else counterpart_file end as c_file,
               case when source = 'channel' then source_line else counterpart_line end as c_line,
               case when source = 'channel' then counterpart_file else source_file end as l_file,
               case when source = 'channel' then counterpart_line else source_line end as l_line,
               outcome, case when outcome <> 'currency_mismatch' then currency end as currency,
               case when exact and outcome = 'matched' then amount_minor end as amount
        from named
    )
"""

_FINGERPRINTS = (
    _PAIRS  # noqa: S608 - constants of this module
    + """
    select
        (select count(*) from (select source, source_file, source_line from named
                               group by all having count(*) > 1))
        + (select count(*) from (select source, counterpart_file, counterpart_line from named
                                 group by all having count(*) > 1)),
        coalesce(sum(case when source = 'channel' then h end), 0) = coalesce(sum(case when source = 'ledger' then h end), 0)
        and count(case when source = 'channel' then 1 end) = count(case when source = 'ledger' then 1 end)
    from (select source, hash(c_file, c_line, l_file, l_line, outcome, currency, amount)::hugeint as h from pairs)
"""
)

_OFFENDERS = (
    _PAIRS  # noqa: S608 - constants of this module
    + """
    , c as (select * from pairs where source = 'channel'), l as (select * from pairs where source = 'ledger')
    select coalesce(c.c_file, l.c_file), coalesce(c.c_line, l.c_line),
           case when c.c_file is null then 'named by ledger row ' || l.l_file || ':' || l.l_line || ' but does not name it'
                when l.l_file is null then 'names ledger row ' || c.l_file || ':' || c.l_line || ' which does not name it back'
                else 'its pair with ' || c.l_file || ':' || c.l_line || ' disagrees (outcome, currency or amount)' end
    from c full join l using (c_file, c_line, l_file, l_line)
    where c.c_file is null or l.l_file is null or c.outcome is distinct from l.outcome
          or c.currency is distinct from l.currency or c.amount is distinct from l.amount
    union all
    select source_file, source_line, 'is named as counterpart by ' || count(*)::varchar || ' rows'
    from (select counterpart_file as source_file, counterpart_line as source_line from named)
    group by all having count(*) > 1
    order by 1, 2 limit ?
"""
)
