"""Give every channel and ledger row exactly one outcome (DESIGN §4, precedence of §9), in DuckDB SQL.

Input relations (see ``transforms.match`` for ``channel_rows``, ``ledger_rows`` and ``entry_dups``):

- ``channel_rules``: per channel, the contracted fee as an exact fraction (``fee_bps / 10000`` =
  ``fee_num / fee_den``), the amount tolerance (absolute, and percent as a fraction with its cap),
  the deadlines and the ``amount_time`` window, from ``Rules`` (:func:`channel_rules_frame`);
- ``currency_units (currency, exponent, unit)``: minor-unit exponents, for the words of ``detail``;
- ``rejected_pairs (c_file, c_line, l_file, l_line, decision_id)``: matches a person rejected
  (``transforms.decisions.rejected_pairs_sql``), never proposed again;
- ``unavailable (channel, why)``: channels without a usable statement (their ledger rows wait); the
  row ``ledger`` when a ledger file was rejected: a channel row it may have booked is then not
  ``missing_in_ledger`` but ``in_transit`` (carried forward until the ledger is read);
- ``carried``: the open items of earlier dates (``schemas.outputs.OpenItem``, see ``transforms.carry``).
  After the day's own cascade, the day's rows still open are matched against them by the same
  cascade; a row that closes one is ``resolved_late`` (or the mismatch the pair shows) and names it
  (``counterpart_file``/``counterpart_line`` in its own inbox, ``counterpart_date`` its date).

Parameters, bound: ``$business_date`` (D), ``$cutoff_at`` (UTC instant of D's in-transit cutoff) and
``$cutoff_minutes``. The result has the ``schemas.outputs.Outcome`` columns plus ``row_id`` (the
``cid`` / ``lid``), channel rows first, each side in row-id order. Every amount is integer minor
units, and the contracted fee is computed in exact integer arithmetic.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from fractions import Fraction
from zoneinfo import ZoneInfo

import duckdb
import polars as pl

from schemas.canonical import CHANNELS, BankTxn, ChannelTxn, LedgerEntry, empty_frame
from schemas.currency import CURRENCY_EXPONENT
from schemas.outputs import Outcome
from transforms.carry import carried_side_sql, empty_open_items
from transforms.decisions import REJECTED_PAIRS_SCHEMA
from transforms.match import (
    GROUP_RULES,
    MATCH_CASCADE,
    MatchStep,
    amount_time_candidates_sql,
    cascade_of,
    cascade_sql,
    duplicates_sql,
    entry_dups_sql,
)
from transforms.rules import Rules

OUTCOME_COLUMNS = list(Outcome.to_schema().columns)
OUTCOME_SCHEMA = {name: col.dtype.type for name, col in Outcome.to_schema().columns.items()}

#: Findings on a matched pair, in precedence order (DESIGN §9: the first that applies wins).
PAIR_PRECEDENCE = (
    "currency_mismatch", "amount_mismatch", "fx_mismatch", "status_mismatch", "fee_mismatch", "matched_fallback",
)
#: Channel rows no ledger entry books (the channel's own fee lines, currency conversions, payouts to
#: the bank): ``settlement_item``, counted in the settlement and followed to the bank there.
SETTLEMENT_KINDS = ("fee", "conversion", "payout")

#: BAD_INPUTS exception codes the classification gives (``transforms.findings.FINDINGS`` adds the
#: codes found across rows and days): a row carrying one is a discrepancy whatever its outcome.
EXCEPTION_CODES = ("CROSS_DATE", "DUPLICATE_ID", "FEE_SIGN")

DONE = ("succeeded", "processing")

def fee_checked_channels(rules: Rules) -> tuple[str, ...]:
    """The channels whose fee is checked against a contract (``[channels.X] fee_bps``, or the defaults)."""
    return tuple(name for name in CHANNELS if rules.for_channel(name).fee_checked)


def channel_rules_frame(rules: Rules) -> pl.DataFrame:
    """``channel_rules``: per channel, its rounding and refund rule, the tolerances, the deadlines.

    Every channel has a row (its deadlines and matching window apply whatever its fee); its fee terms
    are in ``fee_terms`` (:func:`fee_terms_frame`), absent for a channel with no contracted fee.
    """
    rows = []
    for name in CHANNELS:
        channel_rules = rules.for_channel(name)
        share = Fraction(channel_rules.amount_tolerance_pct) / 100
        rows.append(
            {
                "channel": name,
                "fee_checked": channel_rules.fee_checked,
                "fee_rounding": channel_rules.fee_rounding,
                "refund_fee": channel_rules.refund_fee,
                "fx_tolerance_minor": channel_rules.fx_tolerance_minor,
                "tolerance_minor": channel_rules.amount_tolerance_minor,
                "tolerance_pct_num": share.numerator,
                "tolerance_pct_den": share.denominator,
                "tolerance_cap_minor": channel_rules.amount_tolerance_cap_minor,
                "settlement_lag_days": channel_rules.settlement_lag_days,
                "open_item_days": channel_rules.open_item_days,
                "window_seconds": rules.match.window_minutes * 60,
            }
        )
    schema = {"channel": pl.String, "fee_checked": pl.Boolean, "fee_rounding": pl.String, "refund_fee": pl.String,
              "fx_tolerance_minor": pl.Int64, "tolerance_minor": pl.Int64, "tolerance_pct_num": pl.Int64,
              "tolerance_pct_den": pl.Int64, "tolerance_cap_minor": pl.Int64, "settlement_lag_days": pl.Int64,
              "open_item_days": pl.Int64, "window_seconds": pl.Int64}  # fmt: skip
    return pl.DataFrame(rows, schema=schema)


#: ``fee_terms.currency`` of a channel's default terms (the others name a transaction currency).
ANY_CURRENCY = "*"


def fee_terms_frame(rules: Rules) -> pl.DataFrame:
    """``fee_terms``: per channel and transaction currency (``*``: any other), the contracted fee terms.

    The rate is an exact fraction (``bps / 10000`` = ``fee_num / fee_den``); fixed part, minimum and
    maximum are minor units of the settlement currency (``fee_max_minor`` null: no cap).
    """
    rows = []
    for name in fee_checked_channels(rules):
        for currency, terms in rules.for_channel(name).fee_terms().items():
            ratio = Fraction(terms.bps) / 10000
            rows.append({"channel": name, "currency": currency or ANY_CURRENCY, "fee_num": ratio.numerator,
                         "fee_den": ratio.denominator, "fee_fixed_minor": terms.fixed_minor,
                         "fee_min_minor": terms.min_minor, "fee_max_minor": terms.max_minor})  # fmt: skip
    schema = {"channel": pl.String, "currency": pl.String, "fee_num": pl.Int64, "fee_den": pl.Int64,
              "fee_fixed_minor": pl.Int64, "fee_min_minor": pl.Int64, "fee_max_minor": pl.Int64}  # fmt: skip
    return pl.DataFrame(rows, schema=schema)


def currency_units_frame() -> pl.DataFrame:
    """``currency_units``: each known currency's minor-unit exponent and ``10 ** exponent``."""
    return pl.DataFrame(
        {
            "currency": list(CURRENCY_EXPONENT),
            "exponent": list(CURRENCY_EXPONENT.values()),
            "unit": [10**e for e in CURRENCY_EXPONENT.values()],
        },
        schema={"currency": pl.String, "exponent": pl.Int64, "unit": pl.Int64},
    )


def unavailable_frame(unavailable: dict[str, str]) -> pl.DataFrame:
    """``unavailable``: channel → why no usable statement covers it."""
    return pl.DataFrame(
        {"channel": list(unavailable), "why": list(unavailable.values())},
        schema={"channel": pl.String, "why": pl.String},
    )


def cutoff_instant(business_date: date, rules: Rules) -> datetime:
    """The UTC instant from which a ledger booking of ``business_date`` is in transit (DESIGN §9 Timing)."""
    tz = ZoneInfo(rules.timezone)
    next_midnight = datetime.combine(business_date + timedelta(days=1), time(0), tz)
    return (next_midnight - timedelta(minutes=rules.cutoff_minutes)).astimezone(UTC)


def currency_exponent_sql(currency: str) -> tuple[str, str]:
    """SQL: the minor-unit exponent of ``currency`` and ``10 ** exponent`` (null for an unknown currency).

    Built from ``CURRENCY_EXPONENT``, a table in our code: no statement text reaches the SQL.
    """
    exponents = " ".join(f"when '{code}' then {e}" for code, e in sorted(CURRENCY_EXPONENT.items()))
    units = " ".join(f"when '{code}' then {10**e}" for code, e in sorted(CURRENCY_EXPONENT.items()))
    return f"(case {currency} {exponents} end)", f"(case {currency} {units} end)"


def money_text_sql(amount: str, currency: str, exponent: str, unit: str) -> str:
    """SQL: signed minor units as exact major-unit text with the currency (``-2.25 CNY``), for words.

    ``exponent`` / ``unit`` name the currency's columns from ``currency_units`` (null: 2 decimals).
    """
    e, u = f"coalesce({exponent}, 2)", f"coalesce({unit}, 100)"
    number = (
        f"case when {e} = 0 then abs({amount})::varchar "
        f"else (abs({amount}) // {u})::varchar || '.' || lpad((abs({amount}) % {u})::varchar, {e}::integer, '0') end"
    )
    return f"((case when {amount} < 0 then '-' else '' end) || {number} || ' ' || {currency})"


def allowed_difference_sql(ledger_amount: str) -> str:
    """SQL: the amount difference a pair may show, from ``channel_rules`` ``r`` (null rules: 0).

    The larger of the absolute tolerance and the percent tolerance of the ledger amount (rounded down
    to the minor unit, capped by ``tolerance_cap_minor`` when set), in exact integer arithmetic.
    """
    share = f"(abs({ledger_amount})::hugeint * coalesce(r.tolerance_pct_num, 0)) // coalesce(r.tolerance_pct_den, 1)"
    capped = f"least({share}, coalesce(r.tolerance_cap_minor::hugeint, {share}))"
    return f"greatest(coalesce(r.tolerance_minor, 0)::hugeint, {capped})"


def fee_terms_join_sql(row: str) -> str:
    """SQL: the joins giving row ``row`` its fee terms ``tc`` (its transaction currency's) and ``td`` (the default)."""
    return (
        f"left join fee_terms tc on tc.channel = {row}.channel and tc.currency = {row}.currency "
        f"left join fee_terms td on td.channel = {row}.channel and td.currency = '{ANY_CURRENCY}'"
    )


def contracted_fee_sql(amount: str, kind: str) -> str:
    """SQL: the contracted fee of a row, signed towards the merchant, in exact integer arithmetic.

    ``amount`` is the amount the channel settles (its settlement currency), ``kind`` the row's kind;
    the terms come from ``tc``/``td`` (:func:`fee_terms_join_sql`) and the rounding and refund rule
    from ``channel_rules`` ``r``. A payment pays ``−clamp(round(|amount| × rate) + fixed, min, max)``;
    a refund gets back the rate part on its amount (``proportional``), the whole fee as if it were a
    payment (``full``) or nothing (``none``). Null for other kinds and for a channel with no contract.
    """
    def term(name: str) -> str:
        return f"(case when tc.channel is not null then tc.{name} else td.{name} end)"

    num, den = term("fee_num"), term("fee_den")
    product = f"(abs({amount})::hugeint * {num})"
    rate_part = (
        f"(case r.fee_rounding when 'half_up' then ({product} * 2 + {den}) // (2 * {den}) "
        f"when 'down' then {product} // {den} "
        f"else ({product} + {den} - 1) // {den} end)"
    )
    cap = f"coalesce({term('fee_max_minor')}::hugeint, 9223372036854775807)"
    whole = f"least(greatest({rate_part} + {term('fee_fixed_minor')}, {term('fee_min_minor')}), {cap})"
    returned = (
        f"(case r.refund_fee when 'full' then {whole} when 'none' then 0::hugeint "
        f"else least({rate_part}, {cap}) end)"
    )
    return (
        f"(case when {num} is null then null when {kind} = 'payment' then -({whole}) "
        f"when {kind} = 'refund' then {returned} end)::bigint"
    )


def converted_sql(amount: str, rate: str, from_unit: str, to_unit: str) -> str:
    """SQL: ``amount`` minor units converted at ``rate``, in the target's minor units, rounded half away from zero."""
    return f"round({amount}::decimal(38, 10) * {rate} * {to_unit} / {from_unit}, 0)::bigint"


def _late_sql(cascade: tuple[MatchStep, ...]) -> str:
    """CTEs ending in ``late_judged``: the day's rows left open against the open items of earlier dates.

    ``late_judged (side, today_id, match_rule, opened_on, k_file, k_line, outcome, detail)``: the
    day's row that closes an item (``side`` channel or ledger), and what the late pair shows.
    """
    late_ch_money = money_text_sql("f.ch_amount", "f.ch_currency", "cx.exponent", "cx.unit")
    late_led_money = money_text_sql("f.led_amount", "f.led_currency", "lx.exponent", "lx.unit")
    late_fee_charged = money_text_sql("f.fee_minor", "f.ch_currency", "cx.exponent", "cx.unit")
    late_fee_contracted = money_text_sql("f.expected_fee_minor", "f.ch_currency", "cx.exponent", "cx.unit")
    def sharing_a_key(rows: str, items: str) -> str:
        on = "on m.channel = k.channel and m.kind = k.kind and m.{key} = k.{key}"
        return " union ".join(
            f"select m.* from {rows} m semi join {items} k " + on.format(key=key)  # noqa: S608 - names from code
            for key in ("channel_txn_id", "order_no")
        )

    steps = range(len(cascade))
    across = tuple(step for step in cascade if step.across_days)
    paired_c = " union all ".join(f"select cid from step_{i} semi join late_c_cands using (cid)" for i in steps)  # noqa: S608
    paired_l = " union all ".join(f"select lid from step_{i} semi join late_l_cands using (lid)" for i in steps)  # noqa: S608
    return f"""    -- what the day's own cascade leaves open, against the open items of earlier dates (same cascade)
    carried_c as ({carried_side_sql("channel", "cid")}),
    carried_l as ({carried_side_sql("ledger", "lid")}),
    -- only rows sharing a key with an open item can close one: a semi join on the (small) open items
    -- first, so that a day of millions is never anti-joined whole a second time
    late_c_cands as ({sharing_a_key("matchable_channel", "carried_l")}),
    late_l_cands as ({sharing_a_key("matchable_ledger", "carried_c")}),
    today_open_c as (
        select * from late_c_cands anti join (
            {paired_c}
        ) using (cid)
    ),
    today_open_l as (
        select * from late_l_cands anti join (
            {paired_l}
        ) using (lid)
    ),
    {cascade_sql(across, "today_open_c", "carried_l", prefix="late_c_")},
    {cascade_sql(across, "carried_c", "today_open_l", prefix="late_l_")},
    late as (
        select 'channel' as side, p.cid as today_id, p.match_rule, k.opened_on, k.source_file as k_file,
               k.source_line as k_line, k.amount_minor as k_amount, k.currency as k_currency,
               'the ledger entry ' || coalesce(k.entry_id, '') as k_what,
               c.amount_minor, c.currency, c.fee_minor, c.expected_fee_minor, c.channel,
               c.status not in ('succeeded', 'processing') as not_done, c.status as today_status
        from late_c_pairs p join carried_l k using (lid) join c on c.cid = p.cid
        union all
        select 'ledger', p.lid, p.match_rule, k.opened_on, k.source_file, k.source_line, k.amount_minor,
               k.currency, 'the channel row ' || coalesce(k.channel_txn_id, ''),
               l.amount_minor, l.currency, null, null, l.channel, l.status <> 'succeeded', l.status
        from late_l_pairs p join carried_c k using (cid) join l on l.lid = p.lid
    ),
    late_findings as (
        select x.*, x.currency <> x.k_currency as f_currency,
               abs(x.amount_minor - x.k_amount)
                   > {allowed_difference_sql("case when x.side = 'channel' then x.k_amount else x.amount_minor end")}
                   as f_amount,
               coalesce(x.fee_minor <> x.expected_fee_minor, false) as f_fee,
               case when x.side = 'channel' then x.amount_minor else x.k_amount end as ch_amount,
               case when x.side = 'channel' then x.k_amount else x.amount_minor end as led_amount,
               case when x.side = 'channel' then x.currency else x.k_currency end as ch_currency,
               case when x.side = 'channel' then x.k_currency else x.currency end as led_currency
        from late x left join channel_rules r using (channel)
    ),
    late_judged as (
        select f.side, f.today_id, f.match_rule, f.opened_on, f.k_file, f.k_line,
               case when f_currency then 'currency_mismatch' when f_amount then 'amount_mismatch'
                    when f.not_done then 'status_mismatch' when f_fee then 'fee_mismatch'
                    else 'resolved_late' end as outcome,
               concat_ws('; ',
                   case when f_currency then 'currency_mismatch: channel ' || f.ch_currency || ' vs ledger ' || f.led_currency end,
                   case when f_amount then 'amount_mismatch: channel ' || {late_ch_money} || ' vs ledger ' || {late_led_money} end,
                   case when f.not_done then 'status_mismatch: ' || f.side || ' status ' || f.today_status
                                             || ', the open item it closes is done' end,
                   case when f_fee then 'fee_mismatch: charged ' || {late_fee_charged} || ' vs contracted ' || {late_fee_contracted} end,
                   'closes ' || f.k_what || ' open since ' || f.opened_on::varchar || ' (' || f.k_file || ':'
                       || f.k_line::varchar || '), matched by ' || f.match_rule
               ) as detail
        from late_findings f
        left join currency_units cx on cx.currency = f.ch_currency
        left join currency_units lx on lx.currency = f.led_currency
    ),
"""  # noqa: S608 - names from this module


def classify_sql(
    cascade: tuple[MatchStep, ...] = MATCH_CASCADE, *, carried: bool = True, rejected: bool = True
) -> str:
    """The whole classification of one partition: duplicates, the cascade, the judge, both sides' outcomes.

    ``carried``: False when the partition has no open item of an earlier date to close (the late
    cascade is then left out of the query: it would find nothing). ``rejected``: False when no match
    was rejected for the partition's rows (the steps are then not filtered: the id step's million
    pairs are not computed twice for nothing).
    """
    c_money = money_text_sql("f.c_total", "f.currency", "cx.exponent", "cx.unit")
    l_money = money_text_sql("f.l_total", "f.l_currency", "lx.exponent", "lx.unit")
    c_total_money = money_text_sql("f.c_total", "f.currency", "cx.exponent", "cx.unit")
    group_rules = ", ".join(f"'{rule}'" for rule in GROUP_RULES)
    settlement_kinds = ", ".join(f"'{kind}'" for kind in SETTLEMENT_KINDS)
    fee_charged = money_text_sql("f.fee_minor", "f.fee_currency", "fx.exponent", "fx.unit")
    fee_contracted = money_text_sql("f.expected_fee_minor", "f.fee_currency", "fx.exponent", "fx.unit")
    fx_settled = money_text_sql("f.settle_amount_minor", "f.fee_currency", "fx.exponent", "fx.unit")
    fx_expected = money_text_sql("f.fx_expected_minor", "f.fee_currency", "fx.exponent", "fx.unit")
    fx_amount = money_text_sql("f.amount_minor", "f.currency", "cx.exponent", "cx.unit")
    fee_note = (
        "case when c.fee_minor <> c.expected_fee_minor then 'fee_mismatch: charged ' || "
        + money_text_sql("c.fee_minor", "c.fee_currency", "fx.exponent", "fx.unit")
        + " || ' vs contracted ' || "
        + money_text_sql("c.expected_fee_minor", "c.fee_currency", "fx.exponent", "fx.unit")
        + " end"
    )
    late_block = _late_sql(cascade) if carried else (
        "    late_judged as (select null::varchar as side, null::bigint as today_id, null::varchar as match_rule,"
        " null::date as opened_on, null::varchar as k_file, null::bigint as k_line, null::varchar as outcome,"
        " null::varchar as detail where false),\n"
    )
    return f"""
    with
    c as (
        -- only the columns the outcomes need: this set is materialised and joined several times
        select ch.cid, ch.channel, ch.kind, ch.channel_txn_id, ch.order_no, ch.amount_minor, ch.fee_minor,
               ch.currency, ch.status, ch.settle_date, ch.occurred_at, ch.source_file, ch.source_line,
               coalesce(ch.settle_currency, ch.currency) as fee_currency,
               {contracted_fee_sql("coalesce(ch.settle_amount_minor, ch.amount_minor)", "ch.kind")} as expected_fee_minor,
               ch.settle_amount_minor, ch.fx_rate,
               case when ch.fx_rate is not null and ch.settle_amount_minor is not null
                    then {converted_sql("ch.amount_minor", "ch.fx_rate", "fx_from.unit", "fx_to.unit")} end
                   as fx_expected_minor,
               r.fx_tolerance_minor
        from channel_rows ch left join channel_rules r using (channel)
        {fee_terms_join_sql("ch")}
        left join currency_units fx_from on fx_from.currency = ch.currency
        left join currency_units fx_to on fx_to.currency = ch.settle_currency
    ),
    l as (
        select lid, entry_id, channel, channel_txn_id, kind, order_no, amount_minor, currency, status,
               booked_at, business_date, source_file, source_line
        from ledger_rows
    ),
    {duplicates_sql()},
    matchable_channel as (
        select * from c anti join channel_dup using (cid) where kind in ('payment', 'refund')
    ),
    matchable_ledger as (
        select * from l anti join ledger_dup using (lid) anti join unavailable using (channel)
    ),
    rejected_ids as (
        -- matches a person rejected (``recon resolve --action reject_match``): never proposed again
        select c.cid, l.lid from rejected_pairs r
        join channel_rows c on c.source_file = r.c_file and c.source_line = r.c_line
        join ledger_rows l on l.source_file = r.l_file and l.source_line = r.l_line
    ),
    {cascade_sql(cascade, "matchable_channel", "matchable_ledger", rejected="rejected_ids" if rejected else None)},
    grouped_pairs as (  -- the few pairs of groups: their sizes and totals, joined to every pair below
        select p.cid, p.lid, c.amount_minor as c_amount, l.amount_minor as l_amount
        from pairs p join c using (cid) join l using (lid) where p.match_rule in ({group_rules})
    ),
    group_by_l as (select lid, count(*) as per_l, sum(c_amount) as c_total from grouped_pairs group by lid),
    group_by_c as (select cid, count(*) as per_c, sum(l_amount) as l_total from grouped_pairs group by cid),
    paired_rows as (
        -- a group (one row against several) is judged on its totals: each side's sum over the group
        select p.cid, p.lid, p.match_rule, c.channel, c.amount_minor, c.fee_minor, c.expected_fee_minor,
               c.currency, c.status, c.source_file, c.source_line, c.fee_currency, c.settle_amount_minor,
               c.fx_rate, c.fx_expected_minor, c.fx_tolerance_minor,
               l.amount_minor as l_amount, l.currency as l_currency, l.status as l_status,
               l.source_file as l_file, l.source_line as l_line,
               coalesce(gl.per_l, 1) as per_l, coalesce(gc.per_c, 1) as per_c,
               coalesce(gl.c_total, c.amount_minor) as c_total, coalesce(gc.l_total, l.amount_minor) as l_total
        from pairs p join c using (cid) join l using (lid)
        left join group_by_l gl on gl.lid = p.lid left join group_by_c gc on gc.cid = p.cid
    ),
    paired as (
        select p.*, {allowed_difference_sql("p.l_total")} as tolerance_minor,
               case when per_l > 1 then 'l' || lid::varchar when per_c > 1 then 'c' || cid::varchar end as group_key
        from paired_rows p left join channel_rules r on r.channel = p.channel
    ),
    findings as (
        select *,
               currency <> l_currency as f_currency,
               abs(c_total - l_total) > tolerance_minor as f_amount,
               coalesce(abs(settle_amount_minor - fx_expected_minor) > coalesce(fx_tolerance_minor, 0), false) as f_fx,
               (status in ('succeeded', 'processing')) <> (l_status = 'succeeded') as f_status,
               coalesce(fee_minor <> expected_fee_minor, false) as f_fee,
               match_rule <> 'channel_txn_id' as f_fallback
        from paired
    ),
    pair_judged as (
        select f.cid, f.lid, f.match_rule, f.l_file, f.l_line, f.source_file as c_file, f.source_line as c_line,
               f.group_key, f.per_c, f.per_l,
               case when f_currency then 0 when f_amount then 1 when f_fx then 2 when f_status then 3
                    when f_fee then 4 when f_fallback then 5 else 6 end as rank,
               nullif(concat_ws('; ',
                   case when f_currency then 'currency_mismatch: channel ' || f.currency || ' vs ledger ' || f.l_currency end,
                   case when f_amount then 'amount_mismatch: channel ' || {c_money} || ' vs ledger ' || {l_money} end,
                   case when f_fx then 'fx_mismatch: ' || {fx_amount} || ' at the channel''s rate ' || f.fx_rate::varchar
                                       || ' is ' || {fx_expected} || ', the channel settled ' || {fx_settled} end,
                   case when f_status then 'status_mismatch: channel ' || f.status || ' vs ledger ' || f.l_status end,
                   case when f_fee then 'fee_mismatch: charged ' || {fee_charged} || ' vs contracted ' || {fee_contracted} end,
                   case when f_fallback then 'matched_fallback: matched by ' || f.match_rule || ', not by the channel''s id' end,
                   case when f.status = 'processing' then 'channel status PROCESSING' end,
                   case when f.group_key is not null
                        then 'matched as a group: ' || greatest(f.per_c, f.per_l)::varchar || ' '
                             || case when f.per_l > 1 then 'channel rows' else 'ledger entries' end
                             || ' against one ' || case when f.per_l > 1 then 'ledger entry' else 'channel row' end
                             || ', ' || {c_total_money} || ' in total' end
               ), '') as detail
        from findings f
        left join currency_units cx on cx.currency = f.currency
        left join currency_units lx on lx.currency = f.l_currency
        left join currency_units fx on fx.currency = f.fee_currency
    ),
    group_rank as (  -- every row of a group gets the group's outcome: the first finding of any of its pairs
        select group_key, min(rank) as g_rank from pair_judged where group_key is not null group by group_key
    ),
    judged as (
        select j.* exclude (rank),
               (['currency_mismatch', 'amount_mismatch', 'fx_mismatch', 'status_mismatch', 'fee_mismatch',
                 'matched_fallback', 'matched'])[1 + coalesce(g.g_rank, j.rank)] as outcome
        from pair_judged j left join group_rank g using (group_key)
    ),
    -- one row per channel row and per ledger row: in a group, the single row names its first partner
    judged_c as (
        select * from judged where per_c = 1
        union all
        select * from judged where per_c > 1 qualify row_number() over (partition by cid order by l_file, l_line) = 1
    ),
    judged_l as (
        select * from judged where per_l = 1
        union all
        select * from judged where per_l > 1 qualify row_number() over (partition by lid order by c_file, c_line) = 1
    ),
    {late_block}    channel_out as (
        select 'channel' as source, c.source_file, c.source_line, c.channel, null::varchar as entry_id,
               c.channel_txn_id, c.order_no, c.kind, c.amount_minor, c.fee_minor, c.expected_fee_minor, c.currency,
               case when d.cid is not null then 'duplicate' when j.cid is not null then j.outcome
                    when lj.today_id is not null then lj.outcome
                    when c.kind in ({settlement_kinds}) then 'settlement_item'
                    when g.why is not null then 'in_transit' else 'missing_in_ledger' end as outcome,
               case when d.cid is not null then d.detail
                    when j.cid is null and lj.today_id is null and c.kind in ({settlement_kinds})
                    then 'the channel''s own ' || c.kind || ' line: no ledger entry books it; counted in the settlement'
                    when j.cid is null and lj.today_id is null and c.kind = 'adjustment'
                    then 'a channel adjustment (dispute, chargeback, correction): the ledger has no entry for it'
                    when j.cid is null and lj.today_id is not null then lj.detail
                    when j.cid is null and g.why is not null
                    then concat_ws('; ', g.why || ': no entry in the ledger read today, carried forward', {fee_note})
                    when j.cid is null then concat_ws('; ', 'no ledger entry for this channel row', {fee_note})
                    else j.detail end as detail,
               coalesce(j.match_rule, lj.match_rule) as match_rule,
               coalesce(j.l_file, lj.k_file) as counterpart_file, coalesce(j.l_line, lj.k_line) as counterpart_line,
               lj.opened_on as counterpart_date, c.cid as row_id, c.settle_date as row_date
        from c left join channel_dup d using (cid) left join judged_c j using (cid)
        left join (select * from late_judged where side = 'channel') lj on lj.today_id = c.cid
        left join currency_units cx on cx.currency = c.currency
        left join currency_units fx on fx.currency = c.fee_currency
        left join (select why from unavailable where channel = 'ledger' limit 1) g on true
    ),
    ledger_out as (
        select 'ledger' as source, l.source_file, l.source_line, l.channel, l.entry_id, l.channel_txn_id,
               l.order_no, l.kind, l.amount_minor, null::bigint as fee_minor, null::bigint as expected_fee_minor,
               l.currency,
               case when d.lid is not null then 'duplicate' when u.why is not null then 'in_transit'
                    when j.lid is not null then j.outcome when lj.today_id is not null then lj.outcome
                    when l.status <> 'succeeded' then 'void'
                    when l.booked_at >= $cutoff_at then 'in_transit' else 'missing_in_channel' end as outcome,
               d.detail as dup_detail, u.why, coalesce(j.detail, lj.detail) as judged_detail, l.status,
               l.business_date, coalesce(j.match_rule, lj.match_rule) as match_rule,
               coalesce(j.c_file, lj.k_file) as counterpart_file, coalesce(j.c_line, lj.k_line) as counterpart_line,
               case when j.lid is null then lj.opened_on end as counterpart_date, l.lid as row_id,
               l.business_date as row_date
        from l left join ledger_dup d using (lid) left join unavailable u using (channel)
        left join judged_l j using (lid)
        left join (select * from late_judged where side = 'ledger') lj on lj.today_id = l.lid
    ),
    ledger_said as (
        select *,
               nullif(concat_ws('; ',
                   case when outcome = 'duplicate' then dup_detail
                        when why is not null then why || ' for ' || channel || ': carried forward'
                        when outcome = 'void' then 'ledger status ' || status || ' and no channel row: nothing to settle'
                        when outcome = 'in_transit'
                        then 'booked in the last ' || $cutoff_minutes::varchar || ' minutes of the day: carried forward'
                        when outcome = 'missing_in_channel' then 'no channel row for this ledger entry'
                        else judged_detail end,
                   case when business_date <> $business_date then 'CROSS_DATE: booked on ' || business_date::varchar end
               ), '') as detail,
               case when outcome = 'duplicate' then 'DUPLICATE_ID'
                    when business_date <> $business_date and outcome in ('matched', 'void', 'resolved_late')
                    then 'CROSS_DATE'
                    when outcome in ('matched', 'void') then null else upper(outcome) end as reason_code
        from ledger_out
    )
    select source, source_file, source_line, channel, entry_id, channel_txn_id, order_no, kind, amount_minor,
           fee_minor, expected_fee_minor, currency, outcome,
           case when outcome = 'duplicate' then 'DUPLICATE_ID'
                -- the fee charged where it should come back, or the other way round (BAD_INPUTS L09)
                when outcome = 'fee_mismatch' and sign(fee_minor) * sign(expected_fee_minor) = -1 then 'FEE_SIGN'
                when outcome in ('matched', 'void', 'settlement_item') then null
                when outcome = 'missing_in_ledger' and kind = 'adjustment' then 'CHANNEL_ADJUSTMENT'
                else upper(outcome) end as reason_code,
           nullif(detail, '') as detail, match_rule, counterpart_file, counterpart_line, counterpart_date, row_id,
           row_date
    from channel_out
    union all by name
    select source, source_file, source_line, channel, entry_id, channel_txn_id, order_no, kind, amount_minor,
           fee_minor, expected_fee_minor, currency, outcome, reason_code, detail, match_rule, counterpart_file,
           counterpart_line, counterpart_date, row_id, row_date
    from ledger_said
    """  # noqa: S608 - relation and column names from this module; values are bound parameters


#: Outcomes whose row gets its nearest candidate named: rows nothing matched on their own side.
UNMATCHED = {"channel": ("missing_in_ledger",), "ledger": ("missing_in_channel", "in_transit")}


def explain_sql(cascade: tuple[MatchStep, ...] = MATCH_CASCADE) -> str:
    """``(source, row_id, explained)``: each unmatched row's nearest candidate on the other side, and what differs.

    Reads ``partition_outcomes`` (the partition's outcome rows, just written), ``channel_rows``,
    ``ledger_rows``, ``channel_rules`` and ``currency_units``; ``$timezone`` is bound (times are shown
    in merchant time). When the cascade has the ``amount_time`` step, a row it left open because
    several candidates fit (or its one candidate fits others too) says so: never a pick among them.
    A second, small query: the unmatched rows are few, and the day's rows are only semi-joined to them.
    """
    candidates = (
        amount_time_candidates_sql("lonely_c", "lonely_l") if any(s.rule == "amount_time" for s in cascade)
        else "select null::bigint as cid, null::bigint as lid where false"
    )  # fmt: skip
    channel_unmatched = ", ".join(f"'{name}'" for name in UNMATCHED["channel"])
    ledger_unmatched = ", ".join(f"'{name}'" for name in UNMATCHED["ledger"])
    return f"""
    with
    lonely_c as (
        select cid, channel, kind, currency, amount_minor, order_no, channel_txn_id, occurred_at, source_file,
               source_line
        from channel_rows semi join (
            select row_id as cid from partition_outcomes
            where source = 'channel' and outcome in ({channel_unmatched})
        ) using (cid)
    ),
    lonely_l as (
        select lid, entry_id, channel, kind, currency, amount_minor, order_no, channel_txn_id, booked_at,
               source_file, source_line
        from ledger_rows semi join (
            select row_id as lid from partition_outcomes
            where source = 'ledger' and outcome in ({ledger_unmatched})
        ) using (lid)
        where status = 'succeeded'
    ),
    {_nearest_sql("c", "l", "cid")},
    {_nearest_sql("l", "c", "lid")},
    -- the amount + time window step pairs a unique candidate only: say so where there were several
    contested as (
        select cid, lid, count(*) over (partition by cid) as per_c, count(*) over (partition by lid) as per_l
        from ({candidates})
    ),
    ambiguous as (
        select 'channel' as source, cid as row_id, max(per_c) as mine, max(per_l) as theirs
        from contested group by cid having max(per_c) > 1 or max(per_l) > 1
        union all
        select 'ledger', lid, max(per_l), max(per_c) from contested group by lid having max(per_l) > 1 or max(per_c) > 1
    ),
    explained as (
        select 'channel' as source, cid as row_id, explained from nearest_c
        union all
        select 'ledger', lid, explained from nearest_l
    ),
    refusals as (
        select 'channel' as source, c.cid as row_id,
               'the match proposed with ' || r.l_file || ':' || r.l_line::varchar || ' was rejected (decision '
               || r.decision_id || ')' as refusal
        from rejected_pairs r join lonely_c c on c.source_file = r.c_file and c.source_line = r.c_line
        union all
        select 'ledger', l.lid,
               'the match proposed with ' || r.c_file || ':' || r.c_line::varchar || ' was rejected (decision '
               || r.decision_id || ')'
        from rejected_pairs r join lonely_l l on l.source_file = r.l_file and l.source_line = r.l_line
    ),
    everyone as (
        select source, row_id from explained union select source, row_id from refusals
    )
    select x.source, x.row_id,
           concat_ws('; ', f.refusal, e.explained,
               case when a.mine > 1
                    then 'ambiguous: ' || a.mine::varchar || ' candidates of the same amount within the time window,'
                         || ' none picked'
                    when a.theirs > 1
                    then 'ambiguous: its one candidate of the same amount within the time window fits '
                         || (a.theirs - 1)::varchar || ' other row(s) too, none picked' end) as explained
    from everyone x left join explained e using (source, row_id) left join ambiguous a using (source, row_id)
    left join refusals f using (source, row_id)
    """  # noqa: S608 - names and codes from this module


def with_explanations_sql(outcomes: str, explanations: str, findings: str | None = None) -> str:
    """``outcomes`` with each explained row's nearest candidate added to its ``detail``.

    ``findings`` (``transforms.findings.findings_sql``): a row's finding goes into its ``detail`` before
    the explanation, and its code replaces the outcome's own code (``MISSING_IN_LEDGER`` becomes
    ``DUPLICATE_PAYMENT``); a more specific code the row already has (``CROSS_DATE``, ``FEE_SIGN``,
    ``DUPLICATE_ID``) stays, and the finding is still said in ``detail``.
    """
    if findings is None:
        return f"""
        select o.* replace (nullif(concat_ws('; ', o.detail, e.explained), '') as detail)
        from {outcomes} o left join {explanations} e on e.source = o.source and e.row_id = o.row_id
    """  # noqa: S608 - relation names from the caller (code)
    return f"""
        select o.* replace (
                   case when f.finding_code is not null and (o.reason_code is null or o.reason_code = upper(o.outcome))
                        then f.finding_code else o.reason_code end as reason_code,
                   nullif(concat_ws('; ', o.detail, f.finding, e.explained), '') as detail)
        from {outcomes} o
        left join {explanations} e on e.source = o.source and e.row_id = o.row_id
        left join {findings} f
          on f.source = o.source and f.source_file = o.source_file and f.source_line = o.source_line
    """  # noqa: S608 - relation names from the caller (code)


def _nearest_sql(me: str, other: str, row_id: str) -> str:
    """CTE ``nearest_{me} ({row_id}, explained)``: each unmatched row's nearest candidate, and what differs.

    The fields that differ are named with both values. ``me``/``other`` are ``c`` (channel rows) and ``l`` (ledger rows); candidates are the other side's
    unmatched rows of the same channel, kind and currency, nearest in amount (an ASOF join each way:
    linear, not a cross join), the first in file order among equal amounts.
    """
    other_id = "lid" if row_id == "cid" else "cid"
    what = {"c": "the ledger entry ' || o.entry_id || ' (' || o.source_file || ':' || o.source_line::varchar || ')",
            "l": "the channel row ' || coalesce(o.channel_txn_id, '') || ' (' || o.source_file || ':'"
                 " || o.source_line::varchar || ')"}[me]  # fmt: skip
    my_time, other_time = ("occurred_at", "booked_at") if me == "c" else ("booked_at", "occurred_at")
    my_word, other_word = ("channel", "ledger") if me == "c" else ("ledger", "channel")

    def when(column: str) -> str:
        return f"strftime(timezone($timezone, {column}), '%Y-%m-%d %H:%M:%S')"

    mine = money_text_sql("m.amount_minor", "m.currency", "cu.exponent", "cu.unit")
    theirs = money_text_sql("o.amount_minor", "o.currency", "cu.exponent", "cu.unit")
    # The nearest amount each way by an ASOF join on one representative per amount (the first in file
    # order): linear however many rows share an amount, and never an arbitrary pick among equals.
    firsts = f"""select channel, kind, currency, amount_minor, min({other_id}) as o_id
                 from lonely_{other} group by channel, kind, currency, amount_minor"""  # noqa: S608
    sides = " union all ".join(
        f"""select m.{row_id}, a.o_id, abs(m.amount_minor - a.amount_minor) as gap
            from lonely_{me} m asof join ({firsts}) a
              on m.channel = a.channel and m.kind = a.kind and m.currency = a.currency
             and m.amount_minor {op} a.amount_minor"""  # noqa: S608 - names from this module
        for op in (">=", "<=")
    )
    return f"""
    near_{me} as (
        select * from ({sides})
        qualify row_number() over (partition by {row_id} order by gap, o_id) = 1
    ),
    nearest_{me} as (
        select m.{row_id},
               'nearest candidate: {what}: ' || concat_ws('; ',
                   case when m.amount_minor <> o.amount_minor then 'amount ' || {mine} || ' vs ' || {theirs} end,
                   case when m.order_no is distinct from o.order_no
                        then 'order_no ' || coalesce(m.order_no, '(none)') || ' vs ' || coalesce(o.order_no, '(none)') end,
                   case when m.channel_txn_id is distinct from o.channel_txn_id
                        then 'channel_txn_id ' || coalesce(m.channel_txn_id, '(none)') || ' vs '
                             || coalesce(o.channel_txn_id, '(none)') end,
                   '{my_word} ' || {when("m." + my_time)} || ', {other_word} ' || {when("o." + other_time)}
               ) as explained
        from near_{me} n join lonely_{me} m using ({row_id}) join lonely_{other} o on o.{other_id} = n.o_id
        left join currency_units cu on cu.currency = m.currency
    )"""  # noqa: S608 - names from this module


def classify_parameters(business_date: date, rules: Rules) -> dict[str, object]:
    """The bound parameters of :func:`classify_sql`."""
    return {
        "business_date": business_date,
        "cutoff_at": cutoff_instant(business_date, rules),
        "cutoff_minutes": rules.cutoff_minutes,
    }


def prepare_classification(
    con: duckdb.DuckDBPyConnection, rules: Rules, unavailable: dict[str, str], rejected: pl.DataFrame | None = None
) -> None:
    """Register the rule tables :func:`classify_sql` reads on ``con`` (``rejected``: the rejected pairs)."""
    con.register("channel_rules", channel_rules_frame(rules))
    con.register("fee_terms", fee_terms_frame(rules))
    con.register("currency_units", currency_units_frame())
    con.register("unavailable", unavailable_frame(unavailable))
    con.register("rejected_pairs", pl.DataFrame(schema=REJECTED_PAIRS_SCHEMA) if rejected is None else rejected)


def classify_outcomes(
    channel: pl.DataFrame,
    ledger: pl.DataFrame,
    *,
    business_date: date,
    rules: Rules,
    unavailable: dict[str, str],
    carried: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Match the day's channel and ledger rows (frames in memory) and give each exactly one outcome.

    The same SQL as the engine's, on an in-memory DuckDB: for worked examples and small inputs.

    Args:
        channel: valid ChannelTxn rows of the usable statements of the day.
        ledger: valid LedgerEntry rows of the day.
        business_date: the run's date D.
        rules: tolerances, fees, cutoff.
        unavailable: channel → why its statement is not usable ("statement missing",
            "statement rejected: CONTROL_TOTAL_MISMATCH"); its ledger rows are ``in_transit``.
        carried: the open items of earlier dates (``schemas.outputs.OpenItem``); none by default.

    Returns:
        Outcome rows (schemas.outputs.Outcome) for every channel row, then every ledger row, in
        input order. ``amount_minor``/``fee_minor`` are signed minor units.
    """
    with duckdb.connect() as con:
        con.execute("set TimeZone = 'UTC'")
        con.register("channel_rows", channel.with_row_index("cid").with_columns(pl.col("cid").cast(pl.Int64)))
        con.register("ledger_rows", ledger.with_row_index("lid").with_columns(pl.col("lid").cast(pl.Int64)))
        con.execute(f"create temp table entry_dups as {entry_dups_sql()}")
        prepare_classification(con, rules, unavailable)
        con.register("carried", empty_open_items() if carried is None else carried)
        params = classify_parameters(business_date, rules)
        sql = classify_sql(cascade_of(rules.match.cascade))
        con.execute(f"create temp table partition_outcomes as {sql}", params)  # noqa: S608
        con.execute(f"create temp table explanations as {explain_sql(cascade_of(rules.match.cascade))}",  # noqa: S608
                    {"timezone": rules.timezone})  # fmt: skip
        sql = f"select * from ({with_explanations_sql('partition_outcomes', 'explanations')}) order by source, row_id"  # noqa: S608
        frame = con.sql(sql).pl()
    return as_outcomes(frame, frame["source"][0] if frame.height else "channel")


def as_outcomes(frame: pl.DataFrame, /, source: str, **columns: pl.Expr) -> pl.DataFrame:
    """Select exactly the Outcome columns, in order and typed.

    Each column comes from ``columns`` where given, else from the frame's column of that name, else
    is null. ``source`` fills the column when the frame has none (``channel``, ``ledger`` or ``bank``).
    """
    exprs = []
    for name, dtype in OUTCOME_SCHEMA.items():
        if name in columns:
            expr = columns[name]
        elif name in frame.columns:
            expr = pl.col(name)
        elif name == "source":
            expr = pl.lit(source)
        else:
            expr = pl.lit(None)
        exprs.append(expr.cast(dtype).alias(name))
    return frame.select(exprs)


def quarantined_outcomes_sql() -> str:
    """Outcome rows for quarantined data lines: what could be read, plus every reason for the line.

    Reads ``rejected_spill`` (``REJECTED_SCHEMA`` + ``source``: the best-effort rows of bad lines),
    ``rejected_{channel,ledger,bank,fund_flow}_rows`` (the valid rows of files rejected whole, canonical
    shape), ``rejected_files (source_file, file_code, file_reason)`` and ``quarantine_rows``
    (``QUARANTINE_SCHEMA`` + ``ordinal``, line-level entries in the order found). A line of a rejected
    file gets the file's code first, and its own reasons after the file's.
    """
    return """
    with lines as (
        select source_file, source_line, channel, channel_txn_id, order_no, kind, amount_minor, currency,
               'channel' as source, 0 as preference, row_id
        from rejected_channel_rows
        union all
        select source_file, source_line, channel, channel_txn_id, order_no, kind, amount_minor, currency,
               'ledger', 0, row_id
        from rejected_ledger_rows
        union all
        select source_file, source_line, 'bank', bank_ref, null, null, amount_minor, currency, 'bank', 0, row_id
        from rejected_bank_rows
        union all
        select source_file, source_line, channel, move_id, order_no, 'flow_' || kind, amount_minor, currency,
               'channel', 0, row_id
        from rejected_fund_flow_rows
        union all
        select source_file, source_line, channel, channel_txn_id, order_no, kind, amount_minor, currency,
               source, 1, row_id
        from rejected_spill
    ),
    one_per_line as (
        select * from lines
        qualify row_number() over (partition by source_file, source_line order by preference) = 1
    ),
    reasons as (
        select source_file, source_line, arg_min(reason_code, ordinal) as reason_code,
               string_agg(reason, '; ' order by ordinal) as detail
        from quarantine_rows where source_line is not null group by source_file, source_line
    )
    select r.source, r.source_file, r.source_line, r.channel, null::varchar as entry_id, r.channel_txn_id,
           r.order_no, r.kind, r.amount_minor, null::bigint as fee_minor, null::bigint as expected_fee_minor,
           r.currency, 'quarantined' as outcome,
           coalesce(f.file_code, q.reason_code, 'QUARANTINED') as reason_code,
           nullif(concat_ws('; ', f.file_reason, q.detail), '') as detail,
           null::varchar as match_rule, null::varchar as counterpart_file, null::bigint as counterpart_line,
           null::date as counterpart_date, null::date as row_date, r.row_id
    from one_per_line r
    left join reasons q using (source_file, source_line)
    left join rejected_files f using (source_file)
    """


def quarantined_outcomes(rejected: pl.DataFrame, quarantine: pl.DataFrame, source: str) -> pl.DataFrame:
    """Outcome rows for quarantined data lines (frames in memory; see :func:`quarantined_outcomes_sql`).

    Args:
        rejected: REJECTED_SCHEMA rows (one per quarantined line).
        quarantine: QUARANTINE_SCHEMA entries (possibly several per line), in the order found.
        source: ``channel``, ``ledger`` or ``bank``.
    """
    with duckdb.connect() as con:
        con.register("rejected_spill", rejected.with_columns(source=pl.lit(source), row_id=pl.lit(None, pl.Int64)))
        for side, model in (("channel", ChannelTxn), ("ledger", LedgerEntry), ("bank", BankTxn)):
            con.register(f"rejected_{side}_rows", empty_frame(model).with_columns(row_id=pl.lit(None, pl.Int64)))
        con.register("rejected_files", pl.DataFrame(schema={"source_file": pl.String, "file_code": pl.String,
                                                            "file_reason": pl.String}))  # fmt: skip
        con.register("quarantine_rows", quarantine.with_row_index("ordinal"))
        frame = con.sql(quarantined_outcomes_sql()).pl()
    order = rejected.select("source_file", "source_line").with_row_index("_order")
    frame = frame.join(order, on=["source_file", "source_line"], how="left").sort("_order")
    return as_outcomes(frame, source)


_ = (PAIR_PRECEDENCE, DONE)


#: The kind a fund-flow line's outcome row carries: ``flow_`` + its BalanceMove kind, so that no
#: finding about payments and refunds (paid twice, refund without its payment) counts it again.
FLOW_KIND_PREFIX = "flow_"


def fund_flow_outcomes_sql() -> str:
    """Outcome rows for the lines of the channels' fund-flow files (WeChat 资金账单, Alipay 账务明细).

    Reads ``fund_flow_rows`` (BalanceMove + ``row_id``). A fund-flow line is the channel's own record
    of its balance: the trade bill carries the transactions (reconciled against the ledger) and the
    bank carries the payout, so every line is ``settlement_item``; its words say what it is.
    """
    return f"""
    select 'channel' as source, source_file, source_line, channel, null::varchar as entry_id,
           move_id as channel_txn_id, order_no, '{FLOW_KIND_PREFIX}' || kind as kind, amount_minor,
           null::bigint as fee_minor, null::bigint as expected_fee_minor, currency, 'settlement_item' as outcome,
           null::varchar as reason_code,
           'fund flow line (' || coalesce(business_type, kind) || '): the channel''s own balance record; '
               || case kind when 'withdrawal' then 'the withdrawal is followed to the bank by its payout'
                            else 'the trade bill carries the transaction' end as detail,
           null::varchar as match_rule, null::varchar as counterpart_file, null::bigint as counterpart_line,
           null::date as counterpart_date, row_id, settle_date as row_date
    from fund_flow_rows
    """  # noqa: S608 - a constant of this module
