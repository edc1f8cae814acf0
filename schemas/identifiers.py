"""What an identifier may hold: printable ASCII, nothing else (BAD_INPUTS §3, ids and invisible text).

Channel transaction ids, order numbers, refund ids, merchant accounts and ledger entry ids are all
documented as ASCII letters, digits and a few punctuation marks. A zero-width space, a bidirectional
override, a full-width digit or a control character inside one would make two ids that look the same
never match (or one id look like another), so such a row is quarantined (``BAD_CHAR``), never matched.
"""

from __future__ import annotations

import pandera.polars as pa
import polars as pl

#: Printable ASCII without space: ``!`` to ``~``. Empty is left to the required-value checks.
ID_TEXT = r"^[\x21-\x7e]*$"
#: The name of the Pandera check every id column carries; ``transforms.validate`` maps it to BAD_CHAR.
ID_CHECK = "id_characters"


def printable_ascii(data: pa.PolarsData) -> pl.LazyFrame:
    """A check body: the id holds only printable ASCII (null passes: nullability is its own rule)."""
    column = pl.col(data.key)
    return data.lazyframe.select(column.is_null() | column.str.contains(ID_TEXT))
