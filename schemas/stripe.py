"""Raw Pandera model of one Stripe ``balance_change_from_activity.itemized`` record (FORMATS §5).

One row per CSV record (a record may span physical lines when a quoted field holds a line break),
every field a string exactly as written after RFC 4180 unquoting, plus ``source_file`` /
``source_line`` (the physical line where the record starts). Columns the file does not have are
given as empty text, so the model always sees the same columns. The checks are the format's rules on
single fields; rules across fields (the amount's decimals in the row's currency, net = gross − fee,
the customer-facing currency) live in the adapter, which knows the row's currency.

The reporting-category table is here too: it is the format's own vocabulary, and both the model
(an unknown category is ``UNKNOWN_ENUM``) and the adapter (the canonical ``kind``) read it.
"""

from __future__ import annotations

import pandera.polars as pa
import polars as pl

from schemas.bill_text import TIMESTAMP, real_date
from schemas.identifiers import ID_CHECK, printable_ascii

#: Columns a file must have, by name (in any order, among any others).
STRIPE_REQUIRED_COLUMNS: tuple[str, ...] = (
    "balance_transaction_id", "created_utc", "currency", "gross", "fee", "net", "reporting_category",
)  # fmt: skip

#: Columns read when the file has them; any other column is ignored.
STRIPE_OPTIONAL_COLUMNS: tuple[str, ...] = (
    "available_on_utc", "description", "customer_facing_amount", "customer_facing_currency",
    "charge_id", "source_id", "payment_metadata[order_no]", "payment_metadata[order_id]", "customer_id",
)  # fmt: skip

STRIPE_COLUMNS: tuple[str, ...] = STRIPE_REQUIRED_COLUMNS + STRIPE_OPTIONAL_COLUMNS

#: ``reporting_category`` → canonical ``ChannelTxn.kind`` (docs.stripe.com/reports/reporting-categories;
#: the API's ``ReportingCategory`` enum). payment/refund are what the ledger books; ``fee`` is Stripe's
#: own fee line (Radar, network costs, tax on fees); ``payout`` money leaving the balance to the bank;
#: everything else that moves the balance is an ``adjustment`` (disputes and their reversals, failed
#: refunds and charges, transfers, reserves, Connect and Issuing movements). A category not listed is
#: ``UNKNOWN_ENUM``: a new Stripe category is a format change a person should look at.
STRIPE_REPORTING_CATEGORIES: dict[str, str] = {
    "charge": "payment",
    "payment": "payment",
    "refund": "refund",
    "partial_capture_reversal": "refund",
    "fee": "fee",
    "network_cost": "fee",
    "tax": "fee",
    "payout": "payout",
    "payout_reversal": "payout",
    "dispute": "adjustment",
    "dispute_reversal": "adjustment",
    "adjustment": "adjustment",
    "other_adjustment": "adjustment",
    "refund_failure": "adjustment",
    "charge_failure": "adjustment",
    "transfer": "adjustment",
    "transfer_reversal": "adjustment",
    "connect_collection_transfer": "adjustment",
    "connect_reserved_funds": "adjustment",
    "risk_reserved_funds": "adjustment",
    "platform_earning": "adjustment",
    "platform_earning_refund": "adjustment",
    "contribution": "adjustment",
    "topup": "adjustment",
    "topup_reversal": "adjustment",
    "issuing_authorization_hold": "adjustment",
    "issuing_authorization_release": "adjustment",
    "issuing_dispute": "adjustment",
    "issuing_transaction": "adjustment",
    "advance": "adjustment",
    "advance_funding": "adjustment",
    "anticipation_repayment": "adjustment",
    "climate_order_purchase": "adjustment",
    "climate_order_refund": "adjustment",
    "financing_paydown": "adjustment",
    "financing_paydown_reversal": "adjustment",
    "financing_payout": "adjustment",
    "financing_payout_reversal": "adjustment",
}

#: A plain decimal in major units, optionally negative, any number of decimals (the adapter checks
#: them against the row's currency: at most its exponent). Up to 15 integer digits, like the money parser.
STRIPE_AMOUNT = r"^-?(0|[1-9][0-9]{0,14})(\.[0-9]+)?$"
#: A three-letter currency code as Stripe writes it (lowercase ``usd``); the adapter upper-cases it
#: and looks it up in ``schemas.currency.CURRENCY_EXPONENT``.
STRIPE_CURRENCY = r"^[A-Za-z]{3}$"


def _required() -> dict[str, int]:
    return {"min_value": 1}


class StripeBalanceRaw(pa.DataFrameModel):
    """One record of the itemized balance-change report, all fields as strings (grain: one record)."""

    balance_transaction_id: str = pa.Field(str_length=_required())
    created_utc: str = pa.Field(str_matches=TIMESTAMP)
    currency: str = pa.Field(str_matches=STRIPE_CURRENCY)
    gross: str = pa.Field(str_matches=STRIPE_AMOUNT)
    fee: str = pa.Field(str_matches=STRIPE_AMOUNT)
    net: str = pa.Field(str_matches=STRIPE_AMOUNT)
    reporting_category: str = pa.Field(isin=list(STRIPE_REPORTING_CATEGORIES))
    available_on_utc: str = pa.Field(str_matches=rf"^$|{TIMESTAMP}")
    description: str
    customer_facing_amount: str = pa.Field(str_matches=rf"^$|{STRIPE_AMOUNT}")
    customer_facing_currency: str = pa.Field(str_matches=rf"^$|{STRIPE_CURRENCY}")
    charge_id: str
    source_id: str
    order_no_metadata: str = pa.Field(alias="payment_metadata[order_no]")
    order_id_metadata: str = pa.Field(alias="payment_metadata[order_id]")
    #: the buyer (``cus_…``): personal data, kept in the run's work folder only (``ChannelTxn.buyer_id``)
    customer_id: str
    source_file: str
    source_line: pl.Int64 = pa.Field(ge=1)

    @pa.check(
        "balance_transaction_id", "charge_id", "source_id", "payment_metadata[order_no]",
        "payment_metadata[order_id]", name=ID_CHECK,
    )  # fmt: skip
    def ids_are_printable_ascii(cls, data: pa.PolarsData) -> pl.LazyFrame:
        """Ids hold printable ASCII only (no invisible, bidirectional or full-width characters)."""
        return printable_ascii(data)

    @pa.check("created_utc", name="calendar_date")
    def created_is_a_real_date(cls, data: pa.PolarsData) -> pl.LazyFrame:
        """``2026-02-30 10:00:00`` matches the pattern but is no date."""
        return real_date(data)

    class Config:
        """Exactly the columns read plus the location columns."""

        strict = True
        coerce = False
