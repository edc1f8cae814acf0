"""The report contract (DESIGN §6): outcomes, discrepancies, settlement and quarantine frames."""

from __future__ import annotations

import pandera.polars as pa
import polars as pl

OUTCOMES = (
    "matched", "matched_fallback", "amount_mismatch", "currency_mismatch", "fx_mismatch", "status_mismatch",
    "fee_mismatch", "missing_in_ledger", "missing_in_channel", "duplicate", "in_transit",
    "resolved_late", "quarantined", "unexplained", "void", "settlement_item",
)
#: Outcomes that need no person (DESIGN §9): every other row is a discrepancy.
SETTLED_OUTCOMES = ("matched", "resolved_late", "void", "settlement_item")
SOURCES = ("channel", "ledger", "bank")


class Outcome(pa.DataFrameModel):
    """One row per input data row (channel, ledger and bank), with exactly one outcome.

    ``amount_minor`` and ``fee_minor`` are signed minor units (positive = towards the merchant);
    ``expected_fee_minor`` is the contracted fee. ``counterpart_file``/``counterpart_line`` point at
    the row this one was matched with, so every number traces back to two file lines;
    ``counterpart_date`` is set when that row is an open item of an earlier date (its inbox), closed
    today (``resolved_late``, or the mismatch the late pair shows).
    """

    source: str = pa.Field(isin=SOURCES)
    source_file: str
    source_line: pl.Int64 = pa.Field(nullable=True)
    channel: str = pa.Field(nullable=True)
    entry_id: str = pa.Field(nullable=True)
    channel_txn_id: str = pa.Field(nullable=True)
    order_no: str = pa.Field(nullable=True)
    kind: str = pa.Field(nullable=True)
    amount_minor: pl.Int64 = pa.Field(nullable=True)
    fee_minor: pl.Int64 = pa.Field(nullable=True)
    expected_fee_minor: pl.Int64 = pa.Field(nullable=True)
    currency: str = pa.Field(nullable=True)
    outcome: str = pa.Field(isin=OUTCOMES)
    reason_code: str = pa.Field(nullable=True)
    detail: str = pa.Field(nullable=True)
    match_rule: str = pa.Field(nullable=True)
    counterpart_file: str = pa.Field(nullable=True)
    counterpart_line: pl.Int64 = pa.Field(nullable=True)
    counterpart_date: pl.Date = pa.Field(nullable=True)

    class Config:
        """Exactly these columns."""

        strict = True


class Discrepancy(Outcome):
    """The outcome rows that need a person, with their age in days (0 = found today)."""

    age_days: pl.Int64 = pa.Field(ge=0)


class SettlementLine(pa.DataFrameModel):
    """One row per (channel, merchant account, currency, settled business date).

    Rows with ``settlement_date`` = the run's date come from today's statements (their payout is
    normally still ``in_transit``); rows for earlier dates are payouts that arrived on today's bank
    statement. Money is in the settlement currency (a cross-border charge counts at what the
    channel settled). Invariant: ``net = gross + refunds + fees + other`` (refunds and fees negative;
    ``other``: adjustments such as chargebacks, currency conversions, the channel's own fee lines).
    ``withdrawn`` is what the statement itself says left for the bank (PayPal's withdrawals,
    negative); ``payout_expected`` is the net, or what was withdrawn for a channel whose payout basis
    is its withdrawals; the rest stays in the channel balance.
    """

    settlement_date: pl.Date
    channel: str
    merchant_account: str = pa.Field(nullable=True)
    currency: str
    payments_count: pl.Int64 = pa.Field(nullable=True)
    refunds_count: pl.Int64 = pa.Field(nullable=True)
    gross_minor: pl.Int64 = pa.Field(nullable=True)
    refunds_minor: pl.Int64 = pa.Field(nullable=True)
    fees_minor: pl.Int64 = pa.Field(nullable=True)
    other_minor: pl.Int64 = pa.Field(nullable=True)
    net_minor: pl.Int64 = pa.Field(nullable=True)
    withdrawn_minor: pl.Int64 = pa.Field(nullable=True)
    payout_expected_minor: pl.Int64 = pa.Field(nullable=True)
    payout_received_minor: pl.Int64 = pa.Field(nullable=True)
    payout_diff_minor: pl.Int64 = pa.Field(nullable=True)
    payout_status: str
    bank_source_file: str = pa.Field(nullable=True)
    bank_source_line: pl.Int64 = pa.Field(nullable=True)

    @pa.dataframe_check()
    def net_is_gross_plus_refunds_plus_fees(cls, data: pa.PolarsData) -> pl.LazyFrame:
        """Signed amounts add up: net = gross + refunds + fees + other."""
        return data.lazyframe.select(
            pl.col("net_minor").is_null()
            | (
                pl.col("net_minor")
                == pl.col("gross_minor") + pl.col("refunds_minor") + pl.col("fees_minor") + pl.col("other_minor")
            )
        )

    class Config:
        """Exactly these columns."""

        strict = True


class QuarantineEntry(pa.DataFrameModel):
    """One row per problem found in an input: file, line, column, value and why."""

    source_file: str
    source_line: pl.Int64 = pa.Field(nullable=True)
    column: str = pa.Field(nullable=True)
    value: str = pa.Field(nullable=True)
    reason_code: str
    reason: str

    class Config:
        """Exactly these columns."""

        strict = True


#: What an open item can be: waiting within its deadline, or past it (then a discrepancy with an age).
OPEN_ITEM_STATUSES = ("in_transit", "missing_in_ledger", "missing_in_channel", "payout_overdue")


class OpenItem(pa.DataFrameModel):
    """One item still open at the end of a business date, carried to the next (``open_items.parquet``).

    A channel row with no ledger entry yet, a ledger entry with no channel row yet, or a payout the
    bank has not credited yet (``source`` = ``payout``, identified by date, channel, account and
    currency). ``opened_on`` is the date whose run first found it open (the inbox it came from);
    ``due_on`` the date after which waiting becomes a discrepancy (``settlement_lag_days`` +
    ``open_item_days`` of its channel). ``resolved_by`` names the decision in force that resolved it
    (null: still open); a resolved item is still carried, so that an undo can reopen it.
    """

    opened_on: pl.Date
    source: str = pa.Field(isin=("channel", "ledger", "payout"))
    source_file: str = pa.Field(nullable=True)
    source_line: pl.Int64 = pa.Field(nullable=True)
    channel: str = pa.Field(nullable=True)
    merchant_account: str = pa.Field(nullable=True)
    entry_id: str = pa.Field(nullable=True)
    channel_txn_id: str = pa.Field(nullable=True)
    order_no: str = pa.Field(nullable=True)
    kind: str = pa.Field(nullable=True)
    amount_minor: pl.Int64 = pa.Field(nullable=True)
    currency: str = pa.Field(nullable=True)
    status: str = pa.Field(isin=OPEN_ITEM_STATUSES)
    age_days: pl.Int64 = pa.Field(ge=0)
    aging_bucket: str
    due_on: pl.Date
    detail: str = pa.Field(nullable=True)
    resolved_by: str = pa.Field(nullable=True)

    class Config:
        """Exactly these columns."""

        strict = True
