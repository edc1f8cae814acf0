"""Raw Pandera model of the internal ledger export (DESIGN §2), before any conversion.

Every column is text exactly as the file wrote it (optional ids as null when empty); the checks are
the format rules the adapter enforces row by row with precise reason codes. The adapter validates
the rows that passed its own checks against this model as a second line of defence.
"""

from __future__ import annotations

import pandera.polars as pa
import polars as pl

from schemas.canonical import CHANNELS, LEDGER_KINDS, LEDGER_STATUSES
from schemas.currency import CURRENCY_EXPONENT
from schemas.identifiers import ID_CHECK, printable_ascii

#: A positive plain decimal in major units: no sign, no separators, no exponent.
LEDGER_AMOUNT = r"^[0-9]+(\.[0-9]+)?$"
#: ISO 8601 date-time with seconds and an explicit offset (or ``Z``).
ISO_WITH_OFFSET = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?(Z|[+-][0-9]{2}:?[0-9]{2})$"
)


class RawLedgerRow(pa.DataFrameModel):
    """One data row of a ledger CSV or Parquet export, as text."""

    entry_id: str = pa.Field(str_length={"min_value": 1})
    order_no: str = pa.Field(nullable=True)
    payment_id: str = pa.Field(nullable=True)
    channel: str = pa.Field(isin=CHANNELS)
    channel_txn_id: str = pa.Field(nullable=True)
    kind: str = pa.Field(isin=LEDGER_KINDS)
    amount: str = pa.Field(str_matches=LEDGER_AMOUNT)
    currency: str = pa.Field(isin=sorted(CURRENCY_EXPONENT))
    status: str = pa.Field(isin=LEDGER_STATUSES)
    booked_at: str = pa.Field(str_matches=ISO_WITH_OFFSET)
    source_file: str
    source_line: pl.Int64 = pa.Field(ge=1)

    @pa.check("entry_id", "order_no", "payment_id", "channel_txn_id", name=ID_CHECK)
    def ids_are_printable_ascii(cls, data: pa.PolarsData) -> pl.LazyFrame:
        """Ids hold printable ASCII only (no invisible, bidirectional or full-width characters)."""
        return printable_ascii(data)

    class Config:
        """Extra columns are a bug in the adapter."""

        strict = True
        coerce = False
