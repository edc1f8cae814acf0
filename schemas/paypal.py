"""Raw Pandera model of one PayPal Settlement Report (STL) ``SB`` line (FORMATS §6.1).

One row per ``SB`` (section body) line, every field a string as written with its double quotes
removed (``""`` inside a quoted field read as one ``"``), plus ``source_file`` / ``source_line`` (the
1-based physical line). Only the columns recon reads are kept, named as the ``CH`` line names them
(whitespace collapsed to one space). The checks are the format's rules on single fields; rules across
fields (an empty fee only on conversions and withdrawals, fee currency = gross currency, the kind a
T-code group maps to, the sign table) live in the adapter, which knows the line's event code.
"""

from __future__ import annotations

import pandera.polars as pa
import polars as pl

from schemas.identifiers import ID_CHECK, printable_ascii

#: The ``CH`` columns the adapter reads (version 009 names), in the documented order.
PAYPAL_STL_REQUIRED_COLUMNS: tuple[str, ...] = (
    "Transaction ID", "Invoice ID", "PayPal Reference ID", "PayPal Reference ID Type",
    "Transaction Event Code", "Transaction Initiation Date", "Transaction Debit or Credit",
    "Gross Transaction Amount", "Gross Transaction Currency", "Fee Debit or Credit", "Fee Amount",
    "Fee Currency", "Bank Reference ID",
)  # fmt: skip

#: ``CH`` columns read when the report has them (empty when it does not): ``Consumer ID`` is the buyer
#: (personal data, kept in the run's work folder only: ``ChannelTxn.buyer_id``).
PAYPAL_STL_OPTIONAL_COLUMNS: tuple[str, ...] = ("Consumer ID",)

#: Money: an unsigned integer in the currency's minor unit, no separator, no sign, no leading zero;
#: at most 18 digits, so it fits an Int64.
MINOR_UNITS = r"^(0|[1-9][0-9]{0,17})$"
#: ``yyyy/mm/dd hh:mm:ss ±hhmm``: local time of the account with its UTC offset as written.
STL_TIMESTAMP = r"^[0-9]{4}/[0-9]{2}/[0-9]{2} ([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9] [+-][0-9]{4}$"
STL_TIMESTAMP_FORMAT = "%Y/%m/%d %H:%M:%S %z"
#: A T-code: ``T`` + a 2-digit event group + a 2-digit event type (developer.paypal.com T-code reference).
T_CODE = r"^T[0-9]{4}$"
DEBIT_CREDIT = ("CR", "DR")


class PayPalSettlementRaw(pa.DataFrameModel):
    """One ``SB`` line of a PayPal Settlement Report, the fields recon reads (grain: one physical line)."""

    transaction_id: str = pa.Field(alias="Transaction ID", str_length={"min_value": 1})
    invoice_id: str = pa.Field(alias="Invoice ID")
    reference_id: str = pa.Field(alias="PayPal Reference ID")
    reference_id_type: str = pa.Field(alias="PayPal Reference ID Type")
    event_code: str = pa.Field(alias="Transaction Event Code", str_matches=T_CODE)
    initiated: str = pa.Field(alias="Transaction Initiation Date", str_matches=STL_TIMESTAMP)
    gross_direction: str = pa.Field(alias="Transaction Debit or Credit", isin=DEBIT_CREDIT)
    gross_amount: str = pa.Field(alias="Gross Transaction Amount", str_matches=MINOR_UNITS)
    gross_currency: str = pa.Field(alias="Gross Transaction Currency", str_matches=r"^[A-Z]{3}$")
    fee_direction: str = pa.Field(alias="Fee Debit or Credit", isin=("", *DEBIT_CREDIT))
    fee_amount: str = pa.Field(alias="Fee Amount", str_matches=r"^(0|[1-9][0-9]{0,17})?$")
    fee_currency: str = pa.Field(alias="Fee Currency", str_matches=r"^([A-Z]{3})?$")
    bank_reference_id: str = pa.Field(alias="Bank Reference ID")
    consumer_id: str = pa.Field(alias="Consumer ID")
    source_file: str
    source_line: pl.Int64 = pa.Field(ge=1)

    @pa.check("Transaction ID", "Invoice ID", "PayPal Reference ID", "Bank Reference ID", name=ID_CHECK)
    def ids_are_printable_ascii(cls, data: pa.PolarsData) -> pl.LazyFrame:
        """Ids hold printable ASCII only (no invisible, bidirectional or full-width characters)."""
        return printable_ascii(data)

    @pa.check("Transaction Initiation Date", name="calendar_date")
    def initiated_is_a_real_time(cls, data: pa.PolarsData) -> pl.LazyFrame:
        """``2026/02/30 10:00:00 -0800`` matches the pattern but is no date (other text fails the pattern alone)."""
        text = pl.col(data.key)
        real = text.str.to_datetime(STL_TIMESTAMP_FORMAT, time_unit="us", strict=False).is_not_null()
        return data.lazyframe.select(real | ~text.str.contains(STL_TIMESTAMP))

    class Config:
        """Exactly the columns recon reads plus the location columns."""

        strict = True
        coerce = False
