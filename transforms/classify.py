"""Give every channel and ledger row exactly one outcome (DESIGN §4, precedence of §9).

Input: the valid canonical rows of the day, the rows quarantined by the adapters, and which
channels have no usable statement. Output: one frame in the ``schemas.outputs.Outcome`` shape.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from fractions import Fraction
from zoneinfo import ZoneInfo

import polars as pl

from schemas.outputs import Outcome
from transforms.match import find_duplicates, run_cascade
from transforms.money import money_text_expr
from transforms.rules import Rules

OUTCOME_COLUMNS = list(Outcome.to_schema().columns)
OUTCOME_SCHEMA = {name: col.dtype.type for name, col in Outcome.to_schema().columns.items()}

#: Findings on a matched pair, in precedence order (DESIGN §9: the first that applies wins).
PAIR_PRECEDENCE = ("currency_mismatch", "amount_mismatch", "status_mismatch", "fee_mismatch", "matched_fallback")

#: BAD_INPUTS exception codes: a row carrying one is listed as a discrepancy whatever its outcome.
EXCEPTION_CODES = ("CROSS_DATE", "DUPLICATE_ID", "DUPLICATE_PAYMENT", "ORPHAN_REFUND", "FEE_SIGN")

DONE = ("succeeded", "processing")


def as_outcomes(frame: pl.DataFrame, /, source: str, **columns: pl.Expr) -> pl.DataFrame:
    """Select exactly the Outcome columns, in order and typed.

    Each column comes from ``columns`` where given, else from the frame's column of that name, else
    is null. ``source`` is ``channel``, ``ledger`` or ``bank``.
    """
    exprs = []
    for name, dtype in OUTCOME_SCHEMA.items():
        if name == "source":
            expr = pl.lit(source)
        elif name in columns:
            expr = columns[name]
        elif name in frame.columns:
            expr = pl.col(name)
        else:
            expr = pl.lit(None)
        exprs.append(expr.cast(dtype).alias(name))
    return frame.select(exprs)


def contracted_fee_expr(amount: pl.Expr, rules: Rules) -> pl.Expr:
    """The contracted fee of each row, signed towards the merchant, in exact integer arithmetic.

    Payment: ``−round(|amount| × bps / 10000)``; refund (negative amount): ``+round(...)``; the
    rounding (per channel) applies to the magnitude. Channels without rules use the defaults.
    """
    expr: pl.Expr = pl.lit(None, dtype=pl.Int64)
    for name in sorted({*rules.channels, "wechatpay", "alipay"}):
        channel_rules = rules.for_channel(name)
        ratio = Fraction(channel_rules.fee_bps) / 10000
        num, den = ratio.numerator, ratio.denominator
        product = amount.abs() * num
        if channel_rules.fee_rounding == "half_up":
            magnitude = (product * 2 + den) // (2 * den)
        elif channel_rules.fee_rounding == "down":
            magnitude = product // den
        else:
            magnitude = -((-product) // den)
        signed = pl.when(amount > 0).then(-magnitude).otherwise(magnitude)
        expr = pl.when(pl.col("channel") == name).then(signed).otherwise(expr)
    return expr.cast(pl.Int64)


def classify_outcomes(
    channel: pl.DataFrame,
    ledger: pl.DataFrame,
    *,
    business_date: date,
    rules: Rules,
    unavailable: dict[str, str],
) -> pl.DataFrame:
    """Match the day's channel and ledger rows and give each exactly one outcome.

    Args:
        channel: valid ChannelTxn rows of the usable statements of the day.
        ledger: valid LedgerEntry rows of the day.
        business_date: the run's date D.
        rules: tolerances, fees, cutoff.
        unavailable: channel → why its statement is not usable ("statement missing",
            "statement rejected: CONTROL_TOTAL_MISMATCH"); its ledger rows are ``in_transit``.

    Returns:
        Outcome rows (schemas.outputs.Outcome) for every channel row, then every ledger row, in
        input order. ``amount_minor``/``fee_minor`` are signed minor units.
    """
    c = channel.with_row_index("cid").with_columns(expected_fee_minor=contracted_fee_expr(pl.col("amount_minor"), rules))
    led = ledger.with_row_index("lid")
    dups = find_duplicates(c, led)
    unavailable_ledger = led.filter(pl.col("channel").is_in(list(unavailable)))
    matchable_c = c.join(dups.channel, on="cid", how="anti").filter(pl.col("kind").is_in(["payment", "refund"]))
    matchable_l = led.join(dups.ledger, on="lid", how="anti").join(unavailable_ledger, on="lid", how="anti")
    pairs = run_cascade(matchable_c, matchable_l)
    judged = _judge_pairs(pairs, c, led, rules)

    channel_out = _channel_outcomes(c, dups.channel, judged)
    ledger_out = _ledger_outcomes(led, dups.ledger, judged, unavailable, business_date, rules)
    return pl.concat([channel_out, ledger_out], how="vertical")


def _judge_pairs(pairs: pl.DataFrame, c: pl.DataFrame, led: pl.DataFrame, rules: Rules) -> pl.DataFrame:
    """One row per pair with its outcome and the words for every finding."""
    tolerance: pl.Expr = pl.lit(0)
    for name, channel_rules in rules.channels.items():
        tolerance = pl.when(pl.col("channel") == name).then(channel_rules.amount_tolerance_minor).otherwise(tolerance)
    joined = pairs.join(
        c.select("cid", "channel", "amount_minor", "fee_minor", "expected_fee_minor", "currency", "status",
                 "status_detail", "source_file", "source_line"),
        on="cid",
    ).join(
        led.select("lid", l_amount="amount_minor", l_currency="currency", l_status="status",
                   l_file="source_file", l_line="source_line", l_business_date="business_date"),
        on="lid",
    )
    findings = {
        "currency_mismatch": (
            pl.col("currency") != pl.col("l_currency"),
            pl.format("currency_mismatch: channel {} vs ledger {}", "currency", "l_currency"),
        ),
        "amount_mismatch": (
            (pl.col("amount_minor") - pl.col("l_amount")).abs() > tolerance,
            pl.format("amount_mismatch: channel {} vs ledger {}", _money("amount_minor", "currency"),
                      _money("l_amount", "l_currency")),
        ),
        "status_mismatch": (
            pl.col("status").is_in(DONE) != (pl.col("l_status") == "succeeded"),
            pl.format("status_mismatch: channel {} vs ledger {}", "status", "l_status"),
        ),
        "fee_mismatch": (
            pl.col("fee_minor") != pl.col("expected_fee_minor"),
            pl.format("fee_mismatch: charged {} vs contracted {}", _money("fee_minor", "currency"),
                      _money("expected_fee_minor", "currency")),
        ),
        "matched_fallback": (
            pl.col("match_rule") != "channel_txn_id",
            pl.format("matched_fallback: matched by {}, not by the channel's id", "match_rule"),
        ),
    }
    outcome: pl.Expr = pl.lit("matched")
    for name in reversed(PAIR_PRECEDENCE):
        outcome = pl.when(findings[name][0]).then(pl.lit(name)).otherwise(outcome)
    notes = [pl.when(cond).then(text) for cond, text in findings.values()]
    notes.append(pl.when(pl.col("status") == "processing").then(pl.lit("channel status PROCESSING")))
    return joined.with_columns(
        outcome=outcome,
        detail=pl.concat_str(notes, separator="; ", ignore_nulls=True).replace("", None),
    )


def _money(amount: str, currency: str) -> pl.Expr:
    return money_text_expr(pl.col(amount), pl.col(currency))


def _reason_code(outcome: pl.Expr) -> pl.Expr:
    return pl.when(outcome.is_in(["matched", "void"])).then(pl.lit(None, pl.String)).otherwise(outcome.str.to_uppercase())


def _channel_outcomes(c: pl.DataFrame, dups: pl.DataFrame, judged: pl.DataFrame) -> pl.DataFrame:
    fee_note = pl.when(pl.col("fee_minor") != pl.col("expected_fee_minor")).then(
        pl.format("fee_mismatch: charged {} vs contracted {}", _money("fee_minor", "currency"),
                  _money("expected_fee_minor", "currency"))
    )
    frame = (
        c.join(dups.rename({"detail": "dup_detail"}), on="cid", how="left")
        .join(
            judged.select("cid", "outcome", "detail", "match_rule", counterpart_file="l_file", counterpart_line="l_line"),
            on="cid",
            how="left",
        )
        .with_columns(
            outcome=pl.when(pl.col("dup_detail").is_not_null())
            .then(pl.lit("duplicate"))
            .otherwise(pl.col("outcome").fill_null("missing_in_ledger")),
        )
        .with_columns(
            detail=pl.when(pl.col("outcome") == "duplicate")
            .then(pl.col("dup_detail"))
            .when(pl.col("outcome") == "missing_in_ledger")
            .then(pl.concat_str([pl.lit("no ledger entry for this channel row"), fee_note], separator="; ", ignore_nulls=True))
            .otherwise(pl.col("detail")),
            reason_code=pl.when(pl.col("outcome") == "duplicate")
            .then(pl.lit("DUPLICATE_ID"))
            .otherwise(_reason_code(pl.col("outcome"))),
        )
        .sort("cid")
    )
    return as_outcomes(frame, "channel")


def _ledger_outcomes(
    led: pl.DataFrame,
    dups: pl.DataFrame,
    judged: pl.DataFrame,
    unavailable: dict[str, str],
    business_date: date,
    rules: Rules,
) -> pl.DataFrame:
    tz = ZoneInfo(rules.timezone)
    cutoff_at = (
        datetime.combine(business_date + timedelta(days=1), time(0), tz) - timedelta(minutes=rules.cutoff_minutes)
    ).astimezone(UTC)
    why_unavailable = pl.col("channel").replace_strict(unavailable, default=None, return_dtype=pl.String)
    cross_date = pl.col("business_date") != business_date
    frame = (
        led.join(dups.rename({"detail": "dup_detail"}), on="lid", how="left")
        .join(
            judged.select("lid", "outcome", "detail", "match_rule", counterpart_file="source_file",
                          counterpart_line="source_line"),
            on="lid",
            how="left",
        )
        .with_columns(why_unavailable=why_unavailable)
        .with_columns(
            outcome=pl.when(pl.col("dup_detail").is_not_null())
            .then(pl.lit("duplicate"))
            .when(pl.col("why_unavailable").is_not_null())
            .then(pl.lit("in_transit"))
            .when(pl.col("outcome").is_not_null())
            .then(pl.col("outcome"))
            .when(pl.col("status") != "succeeded")
            .then(pl.lit("void"))
            .when(pl.col("booked_at") >= cutoff_at)
            .then(pl.lit("in_transit"))
            .otherwise(pl.lit("missing_in_channel"))
        )
        .with_columns(
            detail=pl.concat_str(
                [
                    pl.when(pl.col("outcome") == "duplicate")
                    .then(pl.col("dup_detail"))
                    .when(pl.col("why_unavailable").is_not_null())
                    .then(pl.format("{} for {}: carried forward", "why_unavailable", "channel"))
                    .when(pl.col("outcome") == "void")
                    .then(pl.format("ledger status {} and no channel row: nothing to settle", "status"))
                    .when(pl.col("outcome") == "in_transit")
                    .then(pl.lit(f"booked in the last {rules.cutoff_minutes} minutes of the day: carried forward"))
                    .when(pl.col("outcome") == "missing_in_channel")
                    .then(pl.lit("no channel row for this ledger entry"))
                    .otherwise(pl.col("detail")),
                    pl.when(cross_date).then(pl.format("CROSS_DATE: booked on {}", "business_date")),
                ],
                separator="; ",
                ignore_nulls=True,
            ).replace("", None),
            reason_code=pl.when(pl.col("outcome") == "duplicate")
            .then(pl.lit("DUPLICATE_ID"))
            .when(cross_date & pl.col("outcome").is_in(["matched", "void", "resolved_late"]))
            .then(pl.lit("CROSS_DATE"))
            .otherwise(_reason_code(pl.col("outcome"))),
        )
        .sort("lid")
    )
    return as_outcomes(frame, "ledger")


def quarantined_outcomes(rejected: pl.DataFrame, quarantine: pl.DataFrame, source: str) -> pl.DataFrame:
    """Outcome rows for quarantined data lines: what could be read, plus every reason for the line.

    Args:
        rejected: REJECTED_SCHEMA rows (one per quarantined line).
        quarantine: QUARANTINE_SCHEMA entries (possibly several per line).
        source: ``channel``, ``ledger`` or ``bank``.
    """
    reasons = (
        quarantine.filter(pl.col("source_line").is_not_null())
        .group_by("source_file", "source_line", maintain_order=True)
        .agg(
            reason_code=pl.col("reason_code").first(),
            detail=pl.col("reason").str.join("; "),
        )
    )
    return (
        rejected.join(reasons, on=["source_file", "source_line"], how="left", maintain_order="left")
        .pipe(
            as_outcomes, source, outcome=pl.lit("quarantined"),
            reason_code=pl.col("reason_code").fill_null("QUARANTINED"),
        )
    )
