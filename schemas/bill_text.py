"""Text shapes shared by the Chinese channel bills (WeChat Pay, Alipay): amounts and timestamps."""

from __future__ import annotations

import pandera.polars as pa
import polars as pl

#: Yuan with exactly 2 decimals, optionally negative (BAD_INPUTS §2.4); the sign table is the adapter's.
AMOUNT_2DP = r"^-?(0|[1-9][0-9]{0,14})\.[0-9]{2}$"
#: ``yyyy-MM-dd HH:mm:ss`` with a possible time of day; the calendar date is checked separately.
TIMESTAMP = r"^[0-9]{4}-[0-9]{2}-[0-9]{2} ([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]$"
TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S"


def real_date(data: pa.PolarsData) -> pl.LazyFrame:
    """A check body: the timestamp is a calendar date (``2026-02-30 10:00:00`` matches TIMESTAMP but is not)."""
    return data.lazyframe.select(pl.col(data.key).str.to_datetime(TIMESTAMP_FORMAT, strict=False).is_not_null())
