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


# -- SWIFT MT940 ------------------------------------------------------------------------------------

#: The SWIFT ``x`` character set of MT940 text fields (FORMATS §8.2): letters, digits and ``/-?:().,'+``
#: and space. ``_``, ``@``, ``&`` and every non-ASCII character are outside it.
SWIFT_X = r"A-Za-z0-9/\-?:().,'+ "
#: ``:61:`` amount and balance amount: digits and a decimal comma, decimals optional (``800,``).
MT940_AMOUNT = r"^[0-9]{1,15},[0-9]*$"
#: ``:61:`` value date and balance date, ``YYMMDD``.
MT940_DATE = r"^[0-9]{6}$"
#: ``:61:`` entry (booking) date, ``MMDD``.
MT940_ENTRY_DATE = r"^[0-9]{4}$"
#: ``:61:`` transaction type: ``N`` + 3 (non-SWIFT), ``S`` + 3 digits (a SWIFT message), ``F`` + 3.
MT940_TYPE = r"^[SNF][A-Z0-9]{3}$"
#: ``:61:`` customer reference (16x, ``NONREF`` when there is none) and the bank's ``//`` reference:
#: printable ASCII, at most 16 characters (they are ids: schemas.identifiers).
MT940_REFERENCE = r"^[\x20-\x7e]{1,16}$"
#: A balance field (``:60F:``, ``:60M:``, ``:62F:``, ``:62M:``, ``:64:``, ``:65:``): mark, date,
#: currency, amount: ``C260302CNY86420,15``.
MT940_BALANCE = r"^(?P<mark>[CD])(?P<date>[0-9]{6})(?P<currency>[A-Z]{3})(?P<amount>[0-9]{1,15},[0-9]*)$"


class RawMt940Entry(pa.DataFrameModel):
    """One ``:61:`` statement line of an MT940 statement with its ``:86:`` text, as text.

    ``account`` is the statement's ``:25:``, ``currency`` that of its opening balance ``:60F:``;
    ``reference`` the ``:86:`` lines joined by one space; ``supplementary`` the ``:61:`` line's
    second line (34x), when it has one.
    """

    account: str = pa.Field(str_length={"min_value": 1})
    currency: str = pa.Field(isin=sorted(CURRENCY_EXPONENT))
    value_date: str = pa.Field(str_matches=MT940_DATE)
    entry_date: str = pa.Field(nullable=True, str_matches=MT940_ENTRY_DATE)
    mark: str = pa.Field(isin=["C", "D", "RC", "RD"])
    funds_code: str = pa.Field(nullable=True, str_matches=r"^[A-Z]$")
    amount: str = pa.Field(str_matches=MT940_AMOUNT)
    type_code: str = pa.Field(str_matches=MT940_TYPE)
    customer_ref: str = pa.Field(str_matches=MT940_REFERENCE)
    bank_ref: str = pa.Field(nullable=True, str_matches=MT940_REFERENCE)
    supplementary: str = pa.Field(nullable=True)
    reference: str = pa.Field(nullable=True)
    source_file: str
    source_line: pl.Int64 = pa.Field(ge=1)

    class Config:
        """Extra columns are a bug in the adapter."""

        strict = True
        coerce = False
