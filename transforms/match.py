"""The matching cascade: pair channel rows with ledger rows, each step only on what is still open.

Works on the *matchable* rows only: duplicates (DESIGN §9 Keys) are found first and kept out, so no
copy is ever picked. Each step returns pairs ``(cid, lid)`` of row ids; a row appears in at most one
pair (BAD_INPUTS I10, a partial bijection).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import polars as pl

KEY = ["channel", "kind", "channel_txn_id"]
PAIR_SCHEMA = {"cid": pl.UInt32(), "lid": pl.UInt32(), "match_rule": pl.String()}


class Duplicates(NamedTuple):
    """Row ids that are duplicates (or the counterpart of one), with why."""

    channel: pl.DataFrame  # cid, detail
    ledger: pl.DataFrame  # lid, detail


def find_duplicates(channel: pl.DataFrame, ledger: pl.DataFrame) -> Duplicates:
    """Find duplicate keys on each side and their counterparts on the other.

    A channel key is (channel, kind, channel_txn_id); a ledger row is a duplicate when its
    ``entry_id`` repeats or its non-empty (channel, kind, channel_txn_id) repeats. Every copy gets
    ``duplicate``, and so does every row on the other side carrying the same key.

    Args:
        channel: channel rows with a ``cid`` row id and the KEY columns.
        ledger: ledger rows with a ``lid`` row id, ``entry_id`` and the KEY columns.
    """
    channel_dup_keys = (
        channel.group_by(KEY).len().filter(pl.col("len") > 1).select(*KEY, copies=pl.col("len"))
    )
    ledger_keyed = ledger.filter(pl.col("channel_txn_id").is_not_null())
    ledger_dup_keys = (
        ledger_keyed.group_by(KEY).len().filter(pl.col("len") > 1).select(*KEY, copies=pl.col("len"))
    )
    entry_dups = ledger.group_by("entry_id").len().filter(pl.col("len") > 1)
    ledger_entry_dup_rows = ledger.join(entry_dups, on="entry_id", how="semi")
    # Keys of duplicated ledger rows (by either rule) make their channel counterparts duplicates too.
    ledger_dup_rows = pl.concat(
        [ledger_keyed.join(ledger_dup_keys, on=KEY, how="semi"), ledger_entry_dup_rows]
    ).unique("lid")
    ledger_dup_row_keys = ledger_dup_rows.filter(pl.col("channel_txn_id").is_not_null()).select(KEY).unique()

    channel_dup = pl.concat(
        [
            channel.join(channel_dup_keys, on=KEY, how="inner").select(
                "cid", detail=pl.format("DUPLICATE_ID: {} copies of this line in the statement", "copies")
            ),
            channel.join(ledger_dup_row_keys, on=KEY, how="semi").select(
                "cid", detail=pl.lit("DUPLICATE_ID: its ledger entry is duplicated")
            ),
        ]
    ).unique("cid", keep="first", maintain_order=True)
    ledger_dup = pl.concat(
        [
            ledger.join(entry_dups, on="entry_id", how="inner").select(
                "lid", detail=pl.format("DUPLICATE_ID: entry_id appears {} times in the ledger", "len")
            ),
            ledger_keyed.join(ledger_dup_keys, on=KEY, how="inner").select(
                "lid", detail=pl.format("DUPLICATE_ID: channel_txn_id booked {} times in the ledger", "copies")
            ),
            ledger_keyed.join(channel_dup_keys, on=KEY, how="semi").select(
                "lid", detail=pl.lit("DUPLICATE_ID: its channel line appears more than once in the statement")
            ),
        ]
    ).unique("lid", keep="first", maintain_order=True)
    return Duplicates(channel=channel_dup, ledger=ledger_dup)


def by_channel_txn_id(channel: pl.DataFrame, ledger: pl.DataFrame) -> pl.DataFrame:
    """Pair rows with the same (channel, kind, channel_txn_id): the channel's own id, the strong key."""
    return (
        channel.join(ledger.filter(pl.col("channel_txn_id").is_not_null()), on=KEY, how="inner")
        .select("cid", "lid", match_rule=pl.lit("channel_txn_id"))
    )


def by_order_no(channel: pl.DataFrame, ledger: pl.DataFrame) -> pl.DataFrame:
    """Pair rows by merchant order number when the candidate is unique on both sides.

    The key is (channel, kind, order_no); a refund also needs the same amount, because one order
    may have several refunds (DESIGN §9 Refunds). A key held by two rows on either side pairs nothing.
    """

    def keyed(frame: pl.DataFrame) -> pl.DataFrame:
        refund_amount = pl.when(pl.col("kind") == "refund").then(pl.col("amount_minor")).otherwise(0)
        return frame.filter(pl.col("order_no").is_not_null()).with_columns(key_amount=refund_amount)

    fallback_key = ["channel", "kind", "order_no", "key_amount"]

    def unique_candidates(frame: pl.DataFrame) -> pl.DataFrame:
        return frame.filter(pl.len().over(fallback_key) == 1)

    c = unique_candidates(keyed(channel)).select("cid", *fallback_key)
    ledger_side = unique_candidates(keyed(ledger)).select("lid", *fallback_key)
    return c.join(ledger_side, on=fallback_key, how="inner").select(
        "cid", "lid", match_rule=pl.lit("order_no")
    )


MatchStep = Callable[[pl.DataFrame, pl.DataFrame], pl.DataFrame]

#: The cascade, in order; each step sees only rows no earlier step paired (DESIGN §5 match).
MATCH_CASCADE: tuple[MatchStep, ...] = (by_channel_txn_id, by_order_no)


def run_cascade(
    channel: pl.DataFrame, ledger: pl.DataFrame, cascade: tuple[MatchStep, ...] = MATCH_CASCADE
) -> pl.DataFrame:
    """Run every step of ``cascade`` on the rows still open; return all pairs ``(cid, lid, match_rule)``."""
    pairs = pl.DataFrame(schema=PAIR_SCHEMA)
    open_channel, open_ledger = channel, ledger
    for step in cascade:
        found = step(open_channel, open_ledger).cast(PAIR_SCHEMA)  # type: ignore[arg-type]
        pairs = pl.concat([pairs, found])
        open_channel = open_channel.join(found, on="cid", how="anti")
        open_ledger = open_ledger.join(found, on="lid", how="anti")
    return pairs
