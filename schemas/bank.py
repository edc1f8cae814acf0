"""Raw Pandera model of one camt.053 entry (``Ntry``) as text, before any conversion.

The checks are the format rules the camt.053 adapter enforces row by row with precise reason codes;
the adapter validates the entries that passed its own checks against this model as a safety net.
"""

from __future__ import annotations

import pandera.polars as pa
import polars as pl

from schemas.currency import CURRENCY_EXPONENT

#: ``Amt`` text: always positive, the sign is in ``CdtDbtInd``.
CAMT_AMOUNT = r"^[0-9]+(\.[0-9]+)?$"
#: ISO date (``Dt``), the date part of a ``DtTm`` already cut off.
ISO_DATE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"


class RawCamtEntry(pa.DataFrameModel):
    """One ``Ntry`` of a camt.053 statement, as text."""

    account: str = pa.Field(str_length={"min_value": 1})
    currency: str = pa.Field(isin=sorted(CURRENCY_EXPONENT))
    amount: str = pa.Field(str_matches=CAMT_AMOUNT)
    credit_debit: str = pa.Field(isin=["CRDT", "DBIT"])
    status: str = pa.Field(isin=["BOOK"])
    reversal: str = pa.Field(nullable=True, isin=["false", "0"])
    booking_date: str = pa.Field(str_matches=ISO_DATE)
    value_date: str = pa.Field(nullable=True, str_matches=ISO_DATE)
    bank_ref: str = pa.Field(nullable=True)
    reference: str = pa.Field(nullable=True)
    counterparty: str = pa.Field(nullable=True)
    source_file: str
    source_line: pl.Int64 = pa.Field(ge=1)

    class Config:
        """Extra columns are a bug in the adapter."""

        strict = True
        coerce = False
