"""The risk signal frame (``risk.parquet``, the Risk sheet): one row per signal a rule raised on a date."""

from __future__ import annotations

import pandera.polars as pa
import polars as pl

#: The units a signal's value and threshold are in.
RISK_UNITS = ("ratio", "bps", "minor", "days", "count")


class RiskSignal(pa.DataFrameModel):
    """One row per signal of business date D: a rule of ``transforms.risk.RISK_RULES`` that fired.

    ``value`` is what was measured and ``threshold`` what it crossed, both in ``unit`` (``minor``:
    minor units of ``currency``); ``baseline`` the window's typical value (a median) where the rule has
    one, ``band_low``..``band_high`` the values it would have allowed. ``window_from``..``window_to``
    are the dates read (never after D). ``rows`` lists every statement row behind the signal as
    ``source_file:source_line``, ``row_count`` how many; ``series`` the daily values the chart draws
    (``YYYY-MM-DD=value;...``). Buyer ids appear only as the first 12 hex digits of their keyed hash.
    """

    business_date: pl.Date
    severity: pl.Int64 = pa.Field(isin=[1, 2, 3])
    rule: str
    channel: str = pa.Field(nullable=True)
    currency: str = pa.Field(nullable=True)
    subject: str
    window_from: pl.Date
    window_to: pl.Date
    unit: str = pa.Field(isin=RISK_UNITS)
    value: pl.Float64
    threshold: pl.Float64
    baseline: pl.Float64 = pa.Field(nullable=True)
    band_low: pl.Float64 = pa.Field(nullable=True)
    band_high: pl.Float64 = pa.Field(nullable=True)
    detail: str
    row_count: pl.Int64 = pa.Field(ge=0)
    rows: str = pa.Field(nullable=True)
    series: str = pa.Field(nullable=True)

    @pa.dataframe_check()
    def window_ends_on_the_date(cls, data: pa.PolarsData) -> pl.LazyFrame:
        """A signal reads nothing after its date: window_from <= window_to = business_date."""
        return data.lazyframe.select(
            (pl.col("window_to") == pl.col("business_date")) & (pl.col("window_from") <= pl.col("window_to"))
        )

    @pa.dataframe_check()
    def rows_are_counted(cls, data: pa.PolarsData) -> pl.LazyFrame:
        """``row_count`` is the number of places in ``rows``."""
        listed = pl.col("rows").fill_null("").str.count_matches(", ") + pl.col("rows").is_not_null().cast(pl.UInt32)
        return data.lazyframe.select(listed.cast(pl.Int64) == pl.col("row_count"))

    class Config:
        """Exactly these columns."""

        strict = True
