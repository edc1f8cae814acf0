"""Settlement: what each channel owes for the day, and which bank credits pay earlier days.

net = gross + refunds + fees, all signed towards the merchant (DESIGN §9 Signs). A payout credit is
recognised by its channel's reference pattern in recon.toml, never by amount alone.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

import duckdb
import polars as pl

from schemas.canonical import CHANNELS
from schemas.outputs import SettlementLine
from transforms.classify import as_outcomes
from transforms.money import money_text_expr
from transforms.rules import Rules

SETTLEMENT_SCHEMA = pl.Schema({name: col.dtype.type for name, col in SettlementLine.to_schema().columns.items()})
DONE = ("succeeded", "processing")


def settlement_sql(rules: Rules | None = None) -> str:
    """One settlement line per (channel, merchant account, settlement currency) of ``channel_rows`` (SettlementLine).

    Every done row of the statement counts (duplicates and unmatched rows included): the channel pays
    what is on its statement. Amounts are what the channel settles: a cross-border charge counts at
    its settlement amount and currency. Payments, refunds and fees are their own columns; the
    channel's own lines (adjustments, conversions, fee lines) are ``other``; payout rows on the
    statement are ``withdrawn`` and not part of the net. The payout expected is the net, or what was
    withdrawn for a channel whose ``payout_basis`` is ``withdrawals`` (``rules``; default: the net).
    It is ``in_transit`` until a later bank statement carries it. ``$business_date`` is bound.
    """
    withdrawals = sorted(
        name for name in (rules.channels if rules else {}) if rules and rules.for_channel(name).payout_basis == "withdrawals"
    )
    by_withdrawals = ", ".join(f"'{name}'" for name in withdrawals if name in CHANNELS) or "null"
    return f"""
        with rows as (
            select channel, merchant_account, kind, fee_minor,
                   coalesce(settle_currency, currency) as currency,
                   coalesce(settle_amount_minor, amount_minor) as amount_minor
            from channel_rows
            where status in ('succeeded', 'processing')
        )
        select $business_date::date as settlement_date, channel, merchant_account, currency,
               count(*) filter (where kind = 'payment') as payments_count,
               count(*) filter (where kind = 'refund') as refunds_count,
               coalesce(sum(amount_minor) filter (where kind = 'payment'), 0)::bigint as gross_minor,
               coalesce(sum(amount_minor) filter (where kind = 'refund'), 0)::bigint as refunds_minor,
               coalesce(sum(fee_minor), 0)::bigint as fees_minor,
               coalesce(sum(amount_minor) filter (where kind not in ('payment', 'refund', 'payout')), 0)::bigint
                   as other_minor,
               (gross_minor + refunds_minor + fees_minor + other_minor)::bigint as net_minor,
               coalesce(sum(amount_minor) filter (where kind = 'payout'), 0)::bigint as withdrawn_minor,
               (case when channel in ({by_withdrawals}) then -withdrawn_minor else net_minor end)::bigint
                   as payout_expected_minor,
               null::bigint as payout_received_minor, null::bigint as payout_diff_minor,
               'in_transit' as payout_status, null::varchar as bank_source_file, null::bigint as bank_source_line
        from rows
        group by channel, merchant_account, currency
        order by channel, merchant_account nulls last, currency
    """  # noqa: S608 - channel names from CHANNELS, values bound


def settle_channel_day(channel: pl.DataFrame, business_date: date, rules: Rules | None = None) -> pl.DataFrame:
    """:func:`settlement_sql` on an in-memory frame of ChannelTxn rows (worked examples, small days)."""
    with duckdb.connect() as con:
        con.register("channel_rows", channel)
        lines: pl.DataFrame = con.sql(settlement_sql(rules), params={"business_date": business_date}).pl()
    return lines.select(list(SETTLEMENT_SCHEMA)).cast(SETTLEMENT_SCHEMA)


def recognise_payouts(bank: pl.DataFrame, rules: Rules) -> pl.DataFrame:
    """Tag each bank credit with the channel, account and business date its reference names.

    A pattern's ``date`` group names the business date the payout settles; a pattern without one
    (Stripe's ``STRIPE PAYOUT po_…``, PayPal's ``PAYPAL TRANSFER <Bank Reference ID>``) pays the
    credit's booking date less the channel's ``settlement_lag_days``.

    Returns:
        ``bank`` with ``payout_channel``, ``payout_account`` and ``payout_date`` (null when no
        channel's ``payout_reference`` matches, or for debits).
    """
    tags: list[dict[str, object]] = []
    patterns = [
        (name, re.compile(ch.payout_reference), timedelta(days=ch.settlement_lag_days))
        for name, ch in sorted(rules.channels.items())
        if ch.payout_reference
    ]
    for amount, reference, booked in bank.select("amount_minor", "reference", "booking_date").iter_rows():
        tag: dict[str, object] = {"payout_channel": None, "payout_account": None, "payout_date": None}
        for name, pattern, lag in patterns if amount > 0 else []:
            found = pattern.search(reference or "")
            if found is None:
                continue
            groups = found.groupdict()
            if groups.get("date") is not None:
                try:
                    paid = datetime.strptime(groups["date"], "%Y%m%d").date()
                except ValueError:
                    continue
            elif booked is not None:
                paid = booked - lag
            else:
                continue
            tag = {"payout_channel": name, "payout_account": groups.get("account"), "payout_date": paid}
            break
        tags.append(tag)
    schema = {"payout_channel": pl.String(), "payout_account": pl.String(), "payout_date": pl.Date()}
    return pl.concat([bank, pl.DataFrame(tags, schema=schema)], how="horizontal")


def reconcile_payouts(
    bank: pl.DataFrame, history: pl.DataFrame, rules: Rules, business_date: date, *, bank_available: bool = True
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Give each bank row its outcome and a settlement line for each payout it carries.

    Args:
        bank: BankTxn rows of the statement booked on ``business_date``.
        history: SettlementLine rows recorded by earlier runs (``settlement_date`` < business_date):
            the warehouse's state as of D−1.
        rules: payout reference patterns.
        business_date: D.
        bank_available: False when D's bank statement is missing or rejected: then no payout can be
            declared missing.

    Returns:
        ``(outcomes, payout_lines)``: Outcome rows for every bank row (``matched`` /
        ``amount_mismatch`` when the paid date's net settlement is known, ``in_transit`` when that
        date is not reconciled yet, ``unexplained`` when no pattern recognises the row), and
        SettlementLine rows for the payouts received, plus a ``missing`` line for each settlement of
        D−1 (due T+1 on this statement) that no credit pays.
    """
    tagged = recognise_payouts(bank, rules).with_row_index("bid")
    for column in ("other_minor", "withdrawn_minor"):  # history recorded before these columns existed
        if column not in history.columns:
            history = history.with_columns(pl.lit(0, pl.Int64).alias(column))
    known = history.filter(pl.col("settlement_date") < business_date).with_columns(
        expected_minor=pl.coalesce("payout_expected_minor", "net_minor")
    ).select(
        "settlement_date", "channel", "merchant_account", "currency", "payments_count", "refunds_count",
        "gross_minor", "refunds_minor", "fees_minor", "other_minor", "net_minor", "withdrawn_minor", "expected_minor",
    )
    joined = tagged.join(
        known,
        left_on=["payout_channel", "payout_date", "currency"],
        right_on=["channel", "settlement_date", "currency"],
        how="left",
        maintain_order="left",
    ).filter(
        pl.col("payout_account").is_null()
        | pl.col("merchant_account").is_null()
        | (pl.col("payout_account") == pl.col("merchant_account"))
    )
    joined = tagged.join(joined.select("bid", *[c for c in known.columns if c not in ("settlement_date", "channel", "currency")]),
                         on="bid", how="left", maintain_order="left").unique("bid", keep="first", maintain_order=True)
    diff = pl.col("amount_minor") - pl.col("expected_minor")
    outcome = (
        pl.when(pl.col("payout_channel").is_null())
        .then(pl.lit("unexplained"))
        .when(pl.col("expected_minor").is_null())
        .then(pl.lit("in_transit"))
        .when(diff == 0)
        .then(pl.lit("matched"))
        .otherwise(pl.lit("amount_mismatch"))
    )
    judged = joined.with_columns(outcome=outcome).with_columns(
        detail=pl.when(pl.col("outcome") == "unexplained")
        .then(pl.format("no channel payout explains this entry: {}", pl.col("reference").fill_null("")))
        .when(pl.col("outcome") == "in_transit")
        .then(pl.format("{} payout for {}: that date is not reconciled yet", "payout_channel", "payout_date"))
        .when(pl.col("outcome") == "matched")
        .then(pl.format("{} payout for {} equals what was due", "payout_channel", "payout_date"))
        .otherwise(pl.format("{} payout for {}: received {} vs due {}", "payout_channel", "payout_date",
                             money_text_expr(pl.col("amount_minor"), pl.col("currency")),
                             money_text_expr(pl.col("expected_minor"), pl.col("currency"))))
    )
    recognised = pl.col("payout_channel").is_not_null()
    outcomes = as_outcomes(
        judged, "bank",
        channel=pl.col("payout_channel"),
        channel_txn_id=pl.col("bank_ref"),
        kind=pl.when(recognised).then(pl.lit("payout")),
        reason_code=pl.when(pl.col("outcome") != "matched").then(pl.col("outcome").str.to_uppercase()),
        match_rule=pl.when(recognised).then(pl.lit("payout_reference")),
    )
    payout_lines = (
        judged.filter(pl.col("payout_channel").is_not_null())
        .select(
            settlement_date="payout_date",
            channel="payout_channel",
            merchant_account=pl.coalesce("merchant_account", "payout_account"),
            currency="currency",
            payments_count="payments_count",
            refunds_count="refunds_count",
            gross_minor="gross_minor",
            refunds_minor="refunds_minor",
            fees_minor="fees_minor",
            other_minor="other_minor",
            net_minor="net_minor",
            withdrawn_minor="withdrawn_minor",
            payout_expected_minor="expected_minor",
            payout_received_minor="amount_minor",
            payout_diff_minor=diff,
            payout_status="outcome",
            bank_source_file="source_file",
            bank_source_line="source_line",
        )
        .cast(SETTLEMENT_SCHEMA)
    )
    if not bank_available:
        return outcomes, payout_lines
    # Due T+1 on this statement; a date that owes nothing (nothing withdrawn, a zero net) is not missing.
    due = history.filter(
        (pl.col("settlement_date") == business_date - timedelta(days=1))
        & (pl.coalesce("payout_expected_minor", "net_minor") != 0)
    )
    missing = (
        due.join(payout_lines, on=["settlement_date", "channel", "currency"], how="anti")
        .with_columns(
            payout_received_minor=pl.lit(None, pl.Int64),
            payout_diff_minor=pl.lit(None, pl.Int64),
            payout_status=pl.lit("missing"),
            bank_source_file=pl.lit(None, pl.String),
            bank_source_line=pl.lit(None, pl.Int64),
        )
        .select(list(SETTLEMENT_SCHEMA))
        .cast(SETTLEMENT_SCHEMA)
    )
    return outcomes, pl.concat([payout_lines, missing])
