"""Worked examples of transforms/match.py, then the cascade against a brute-force matcher (STYLE 12, 14).

Frames carry only the columns the matcher reads, plus the ``cid`` / ``lid`` UInt32 row ids that
classify.py adds with ``with_row_index``. In every table the row id is the row's position (0-based).
"""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from tests.helpers import table
from transforms.match import (
    MATCH_CASCADE,
    MATCH_STEPS,
    PAIR_SCHEMA,
    by_amount_time,
    by_channel_txn_id,
    by_order_group,
    by_order_no,
    find_duplicates,
    run_cascade,
)

COLUMNS = {
    "channel": pl.String(),
    "kind": pl.String(),
    "channel_txn_id": pl.String(),
    "order_no": pl.String(),
    "amount_minor": pl.Int64(),
    "currency": pl.String(),
}
NOON = datetime(2026, 3, 2, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai
WINDOW = 600  # seconds: the default amount_time window of the steps run on frames


def frame(rows: list[dict[str, object]], row_id: str) -> pl.DataFrame:
    """A typed frame with a UInt32 row id, as classify.py builds it.

    A row's ``at`` (seconds after NOON, default 0) is its channel time (``occurred_at``) or its
    booking time (``booked_at``); ``currency`` defaults to CNY.
    """
    when = "occurred_at" if row_id == "cid" else "booked_at"
    schema = {**COLUMNS, **({"entry_id": pl.String()} if row_id == "lid" else {})}
    data = pl.DataFrame(
        [{**{k: row.get(k) for k in schema}, "currency": row.get("currency", "CNY"),
          when: NOON + timedelta(seconds=int(row.get("at", 0)))} for row in rows],  # type: ignore[call-overload]
        schema={**schema, when: pl.Datetime("us", "UTC")},
    )  # fmt: skip
    return data.with_row_index(row_id)


def from_table(text: str, row_id: str) -> pl.DataFrame:
    rows = []
    for cells in table(text):
        row: dict[str, object] = {"channel": "wechatpay", "kind": "payment", "amount_minor": 100}
        for key, value in cells.items():
            if key in ("amount_minor", "at"):
                row[key] = int(value)
            elif key != "expected":
                row[key] = value or None
        rows.append(row)
    return frame(rows, row_id)


def expected_ids(text: str, value: str) -> list[int]:
    return [i for i, cells in enumerate(table(text)) if cells["expected"] == value]


def pair_set(pairs: pl.DataFrame) -> set[tuple[int, int, str]]:
    return {(r["cid"], r["lid"], r["match_rule"]) for r in pairs.iter_rows(named=True)}


# ---------------------------------------------------------------------------------------------------
# find_duplicates

DUP_CHANNEL = """
channel_txn_id|kind   |expected
W1            |payment|dup
W1            |payment|dup
W2            |payment|ok
W3            |payment|dup
W4            |payment|dup
W5            |payment|dup
W6            |payment|ok
W6            |refund |ok
"""
# cid 0, 1: two copies of W1 in the statement → both duplicate (never pick one).
# cid 2:    W2 once on each side → ok.
# cid 3, 4: W3 and W4 are booked by ledger rows sharing entry_id E3 → counterparts of a duplicate.
# cid 5:    W5 is booked twice in the ledger → counterpart of a duplicate.
# cid 6, 7: a payment and a refund may share an id: (channel, kind, id) differs → not duplicates.

DUP_LEDGER = """
entry_id|channel_txn_id|kind   |expected
E1      |W1            |payment|dup
E2      |W2            |payment|ok
E3      |W3            |payment|dup
E3      |W4            |payment|dup
E5      |              |payment|ok
E6      |              |payment|ok
E7      |W5            |payment|dup
E8      |W5            |payment|dup
"""
# lid 0:    the counterpart of the two W1 copies in the statement.
# lid 2, 3: entry_id E3 appears twice (export bug, L11).
# lid 4, 5: no channel_txn_id (callback never came): no key, so NOT duplicates of each other (DESIGN §9 Keys).
# lid 6, 7: W5 booked twice.


def test_find_duplicates_worked_example() -> None:
    channel = from_table(DUP_CHANNEL, "cid")
    ledger = from_table(DUP_LEDGER, "lid")
    dups = find_duplicates(channel, ledger)

    assert sorted(dups.channel["cid"]) == expected_ids(DUP_CHANNEL, "dup")
    assert sorted(dups.ledger["lid"]) == expected_ids(DUP_LEDGER, "dup")
    channel_detail = dict(dups.channel.iter_rows())
    ledger_detail = dict(dups.ledger.iter_rows())
    assert channel_detail[0] == "DUPLICATE_ID: 2 copies of this line in the statement"
    assert channel_detail[3] == "DUPLICATE_ID: its ledger entry is duplicated"
    assert channel_detail[5] == "DUPLICATE_ID: its ledger entry is duplicated"
    assert ledger_detail[0] == "DUPLICATE_ID: its channel line appears more than once in the statement"
    assert ledger_detail[2] == "DUPLICATE_ID: entry_id appears 2 times in the ledger"
    assert ledger_detail[6] == "DUPLICATE_ID: channel_txn_id booked 2 times in the ledger"


def test_two_ledger_rows_without_channel_txn_id_are_not_duplicates() -> None:
    ledger = from_table(
        """
        entry_id|channel_txn_id|order_no
        E1      |              |O1
        E2      |              |O1
        """,
        "lid",
    )
    dups = find_duplicates(frame([], "cid"), ledger)
    assert dups.ledger.height == 0
    assert dups.channel.height == 0


# ---------------------------------------------------------------------------------------------------
# by_channel_txn_id

def test_by_channel_txn_id_pairs_on_channel_kind_and_id() -> None:
    channel = from_table(
        """
        channel  |channel_txn_id|kind   |amount_minor|expected
        wechatpay|W1            |payment|100         |lid 0
        wechatpay|W2            |refund  |-100       |none
        alipay   |W3            |payment|100         |none
        wechatpay|W4            |payment|100         |none
        """,
        "cid",
    )
    ledger = from_table(
        """
        channel  |channel_txn_id|kind   |amount_minor
        wechatpay|W1            |payment|101
        wechatpay|W2            |payment|100
        wechatpay|W3            |payment|100
        wechatpay|              |payment|100
        """,
        "lid",
    )
    # cid 0 ↔ lid 0: the amounts differ (100 vs 101), but the strong key pairs them; the judge flags it later.
    # cid 1: W2 is a refund here and a payment there: another key.
    # cid 2: W3 on alipay vs wechatpay: another key.
    # cid 3: W4 is nowhere; lid 3 has no id and is never paired by this step.
    assert pair_set(by_channel_txn_id(channel, ledger)) == {(0, 0, "channel_txn_id")}


# ---------------------------------------------------------------------------------------------------
# by_order_no

ORDER_CHANNEL = """
channel  |order_no|kind   |amount_minor|expected
wechatpay|O1      |payment|100         |lid 0
wechatpay|O2      |payment|100         |none
wechatpay|O3      |payment|100         |none
wechatpay|O3      |payment|100         |none
wechatpay|O4      |refund |-50         |none
wechatpay|O4      |refund |-30         |lid 4
wechatpay|O5      |refund |-50         |none
wechatpay|O6      |payment|100         |lid 6
wechatpay|        |payment|100         |none
wechatpay|O7      |payment|100         |none
alipay   |O8      |payment|100         |none
"""
ORDER_LEDGER = """
channel  |order_no|kind   |amount_minor
wechatpay|O1      |payment|100
wechatpay|O2      |payment|100
wechatpay|O2      |payment|100
wechatpay|O3      |payment|100
wechatpay|O4      |refund |-30
wechatpay|O5      |refund |-40
wechatpay|O6      |payment|999
wechatpay|        |payment|100
wechatpay|O7      |refund |-100
wechatpay|O8      |payment|100
"""
# cid 0 ↔ lid 0: O1 unique on both sides.
# cid 1:  O2 has two ledger candidates (lid 1, 2): ambiguous, nothing paired.
# cid 2, 3: O3 twice in the statement: ambiguous.
# cid 5 ↔ lid 4: two partial refunds of O4 (−50, −30); the amount picks the −30 one; cid 4 stays open.
# cid 6:  refund −50 vs ledger refund −40 of O5: a refund needs the same amount.
# cid 7 ↔ lid 6: a payment pairs on order_no whatever the amount (100 vs 999 → amount_mismatch later).
# cid 8 / lid 7: no order_no, no key.
# cid 9:  O7 payment vs O7 refund: kind differs.   cid 10: alipay vs wechatpay.


def test_by_order_no_pairs_unique_candidates_only() -> None:
    channel = from_table(ORDER_CHANNEL, "cid")
    ledger = from_table(ORDER_LEDGER, "lid")
    expected = {
        (cid, int(cells["expected"].split()[1]), "order_no")
        for cid, cells in enumerate(table(ORDER_CHANNEL))
        if cells["expected"] != "none"
    }
    assert expected == {(0, 0, "order_no"), (5, 4, "order_no"), (7, 6, "order_no")}
    assert pair_set(by_order_no(channel, ledger)) == expected


# ---------------------------------------------------------------------------------------------------
# run_cascade

def test_run_cascade_offers_step_two_only_what_step_one_left_open() -> None:
    channel = from_table(
        """
        channel_txn_id|order_no
        W1            |O1
        W2            |O2
        W3            |O2
        """,
        "cid",
    )
    ledger = from_table(
        """
        channel_txn_id|order_no
        W1            |O9
                      |O1
        W2            |O2
                      |O2
        """,
        "lid",
    )
    # Step 1: cid 0 ↔ lid 0 (W1), cid 1 ↔ lid 2 (W2).
    # Step 2 on the open rows {cid 2} × {lid 1, lid 3}: lid 1 (O1) is NOT paired with cid 0 (already
    # closed, although by_order_no alone would pair them), and O2 is now unique on both sides
    # (cid 1 and lid 2 are closed) → cid 2 ↔ lid 3.
    assert pair_set(by_order_no(channel, ledger)) == {(0, 1, "order_no")}  # what step 2 alone would do
    pairs = run_cascade(channel, ledger)
    assert pairs.schema == PAIR_SCHEMA
    assert pair_set(pairs) == {(0, 0, "channel_txn_id"), (1, 2, "channel_txn_id"), (2, 3, "order_no")}


def test_cascade_order_is_data() -> None:
    assert MATCH_CASCADE == (by_channel_txn_id, by_order_no, by_amount_time, by_order_group)
    assert MATCH_STEPS == {"channel_txn_id": by_channel_txn_id, "order_no": by_order_no, "amount_time": by_amount_time,
                           "order_group": by_order_group}  # fmt: skip
    assert [step.rule for step in MATCH_CASCADE if not step.across_days] == ["amount_time", "order_group"]


def test_a_cascade_without_a_step_does_not_run_it() -> None:
    channel = from_table("channel_txn_id|order_no|at\nW1|O1|0", "cid")
    ledger = from_table("channel_txn_id|order_no|at\n||60", "lid")
    assert pair_set(run_cascade(channel, ledger)) == {(0, 0, "amount_time")}
    assert pair_set(run_cascade(channel, ledger, (by_channel_txn_id, by_order_no))) == set()


# ---------------------------------------------------------------------------------------------------
# by_amount_time

AMOUNT_TIME_CHANNEL = """
channel_txn_id|order_no|amount_minor|at  |currency|kind   |expected
W1            |O1      |100         |0   |CNY     |payment|lid 0
W2            |O2      |200         |0   |CNY     |payment|none
W3            |O3      |300         |0   |CNY     |payment|none
W4            |O4      |400         |0   |CNY     |payment|lid 5
W5            |O5      |500         |0   |CNY     |payment|none
W6            |O6      |600         |0   |USD     |payment|none
W7            |O7      |700         |5000|CNY     |payment|none
W8            |O8      |800         |0   |CNY     |payment|none
W9            |O9      |-800        |0   |CNY     |refund |lid 10
"""
# cid 0 ↔ lid 0: the same amount exactly 10 minutes apart (the window is inclusive), no keys on the ledger row.
# cid 1: lid 1 and lid 2 (which carries the same order number) are both within the window: ambiguous.
# cid 2: lid 3 is 601 s away, outside the window.
# cid 3 ↔ lid 5: lid 4 has the same amount but carries a channel id (another transaction's).
# cid 4: lid 6 names another order number: the keys contradict.   cid 5: USD, lid 7 is CNY.
# cid 6: lid 8 (500 s before) and lid 9 (300 s after) are both within the window: ambiguous.
# cid 7: a payment; the −8.00 ledger rows are refunds.
# cid 8 ↔ lid 10: lid 11 names another order (O8) and lid 12 is 900 s away: one candidate left.

AMOUNT_TIME_LEDGER = """
channel_txn_id|order_no|amount_minor|at  |currency|kind
              |        |100         |600 |CNY     |payment
              |        |200         |-300|CNY     |payment
              |O2      |200         |300 |CNY     |payment
              |        |300         |601 |CNY     |payment
WX            |        |400         |0   |CNY     |payment
              |        |400         |10  |CNY     |payment
              |O99     |500         |0   |CNY     |payment
              |        |600         |0   |CNY     |payment
              |        |700         |4500|CNY     |payment
              |        |700         |5300|CNY     |payment
              |        |-800        |0   |CNY     |refund
              |O8      |-800        |30  |CNY     |refund
              |        |-800        |900 |CNY     |refund
"""


def test_by_amount_time_pairs_a_unique_candidate_within_the_window_only() -> None:
    channel = from_table(AMOUNT_TIME_CHANNEL, "cid")
    ledger = from_table(AMOUNT_TIME_LEDGER, "lid")
    expected = {
        (cid, int(cells["expected"].split()[1]), "amount_time")
        for cid, cells in enumerate(table(AMOUNT_TIME_CHANNEL))
        if cells["expected"] != "none"
    }
    assert expected == {(0, 0, "amount_time"), (3, 5, "amount_time"), (8, 10, "amount_time")}
    assert pair_set(by_amount_time(channel, ledger)) == expected


def test_empty_inputs_give_no_pairs() -> None:
    pairs = run_cascade(frame([], "cid"), frame([], "lid"))
    assert pairs.height == 0
    assert pairs.schema == PAIR_SCHEMA


# ---------------------------------------------------------------------------------------------------
# Reference: a brute-force matcher written from the module docstrings, on 30 seeded random days.

KEY = ("channel", "kind", "channel_txn_id")


# Over seeds 0..29 this gives 93 duplicate rows, 89 ledger rows without an id, 56 pairs by id, 32 by
# order_no, 10 by amount and time (windows that overlap, touch at exactly 600 s and miss by 1 s) and 10
# pairs in groups (an order taken in two parts, booked as one entry).
def random_day(seed: int) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    rng = random.Random(seed)
    txn_pool = [f"T{i}" for i in range(24)]  # small pools: collisions and duplicates happen
    order_pool = [f"O{i}" for i in range(6)]
    entry_pool = [f"E{i}" for i in range(30)]

    def common() -> dict[str, object]:
        kind = rng.choice(["payment", "payment", "refund"])
        magnitude = rng.choice([100, 200, 750])
        return {
            "channel": rng.choice(["wechatpay", "wechatpay", "alipay"]),
            "kind": kind,
            "order_no": rng.choice([*order_pool, None]),
            "amount_minor": magnitude if kind == "payment" else -magnitude,
            "currency": rng.choice(["CNY", "CNY", "CNY", "USD"]),
            "at": rng.choice([0, 300, 600, 601, 900, 1500, 4000]),  # windows overlap, touch and miss
        }

    channel = [{**common(), "channel_txn_id": rng.choice(txn_pool)} for _ in range(rng.randint(0, 15))]

    booked = rng.sample(channel, len(channel))  # channel rows in a random order, each booked at most once

    def ledger_row() -> dict[str, object]:
        entry = {"entry_id": rng.choice(entry_pool)}
        if booked and rng.random() < 0.7:
            # The booking of a channel row, sometimes without its callback id or with another order_no.
            row = {**booked.pop(), **entry}
            if rng.random() < 0.4:
                row["channel_txn_id"] = None
            if rng.random() < 0.2:
                row["order_no"] = rng.choice([*order_pool, None])
            if rng.random() < 0.5:
                row["at"] = int(row["at"]) + rng.choice([-700, -600, -5, 30, 599, 1200])  # booked later or earlier
            return row
        return {**common(), "channel_txn_id": rng.choice([*txn_pool, None, None]), **entry}

    ledger = [ledger_row() for _ in range(rng.randint(0, 15))]
    # Half the days: an order paid or refunded in two parts at the channel, booked as one ledger entry.
    parts = [r for r in channel if r["order_no"] is not None]
    if parts and rng.random() < 0.5:
        first = rng.choice(parts)
        second = {**first, "channel_txn_id": f"S{seed}", "amount_minor": rng.choice([1, 2]) * int(first["amount_minor"])}
        channel.append(second)
        ledger.append({**first, "channel_txn_id": None, "entry_id": f"ES{seed}",
                       "amount_minor": int(first["amount_minor"]) + int(second["amount_minor"])})  # fmt: skip
    return channel, ledger


def reference_duplicates(channel: list[dict], ledger: list[dict]) -> tuple[set[int], set[int]]:
    """DESIGN §9 Keys: copies of a key on either side, entry_id copies, and their counterparts."""

    def key(row: dict) -> tuple:
        return tuple(row[k] for k in KEY)

    channel_counts = Counter(key(r) for r in channel)
    ledger_counts = Counter(key(r) for r in ledger if r["channel_txn_id"] is not None)
    entry_counts = Counter(r["entry_id"] for r in ledger)
    ledger_dup = {
        lid
        for lid, r in enumerate(ledger)
        if entry_counts[r["entry_id"]] > 1
        or (r["channel_txn_id"] is not None and (ledger_counts[key(r)] > 1 or channel_counts[key(r)] > 1))
    }
    # Keys of ledger rows that are themselves copies (by entry_id or by key), not mere counterparts.
    copied_ledger_keys = {
        key(r)
        for r in ledger
        if r["channel_txn_id"] is not None and (entry_counts[r["entry_id"]] > 1 or ledger_counts[key(r)] > 1)
    }
    channel_dup = {
        cid for cid, r in enumerate(channel) if channel_counts[key(r)] > 1 or key(r) in copied_ledger_keys
    }
    return channel_dup, ledger_dup


def reference_cascade(channel: dict[int, dict], ledger: dict[int, dict]) -> set[tuple[int, int, str]]:
    """Step 1: same (channel, kind, channel_txn_id), ledger id not null. Step 2, on what is still open:
    same (channel, kind, order_no[, amount for a refund]) held by exactly one row on each side. Step 3,
    on what is still open: same (channel, kind, currency, amount), times at most WINDOW apart, the
    ledger row without a channel id, order numbers not both present and different; a pair only where
    each row has exactly one such candidate. Step 4, on what is still open: per (channel, kind, currency,
    order_no), one row on one side and two or more on the other adding up to the same amount: all of
    them, as a group."""
    pairs = set()
    for cid, c in channel.items():
        for lid, led in ledger.items():
            if led["channel_txn_id"] is not None and all(c[k] == led[k] for k in KEY):
                pairs.add((cid, lid, "channel_txn_id"))
    open_c = {cid: c for cid, c in channel.items() if cid not in {p[0] for p in pairs}}
    open_l = {lid: r for lid, r in ledger.items() if lid not in {p[1] for p in pairs}}

    def fallback(row: dict) -> tuple | None:
        if row["order_no"] is None:
            return None
        amount = row["amount_minor"] if row["kind"] == "refund" else None
        return (row["channel"], row["kind"], row["order_no"], amount)

    c_counts = Counter(fallback(r) for r in open_c.values())
    l_counts = Counter(fallback(r) for r in open_l.values())
    for cid, c in open_c.items():
        for lid, led in open_l.items():
            k = fallback(c)
            if k is not None and k == fallback(led) and c_counts[k] == 1 and l_counts[k] == 1:
                pairs.add((cid, lid, "order_no"))
    open_c = {cid: c for cid, c in open_c.items() if cid not in {p[0] for p in pairs}}
    open_l = {lid: r for lid, r in open_l.items() if lid not in {p[1] for p in pairs}}

    def candidates(c: dict, led: dict) -> bool:
        same = all(c[k] == led[k] for k in ("channel", "kind", "currency", "amount_minor"))
        agree = c["order_no"] is None or led["order_no"] is None or c["order_no"] == led["order_no"]
        near = abs(int(c.get("at", 0)) - int(led.get("at", 0))) <= WINDOW
        return same and agree and near and led["channel_txn_id"] is None

    found = [(cid, lid) for cid, c in open_c.items() for lid, led in open_l.items() if candidates(c, led)]
    per_c, per_l = Counter(cid for cid, _ in found), Counter(lid for _, lid in found)
    pairs |= {(cid, lid, "amount_time") for cid, lid in found if per_c[cid] == 1 and per_l[lid] == 1}
    open_c = {cid: c for cid, c in open_c.items() if cid not in {p[0] for p in pairs}}
    open_l = {lid: r for lid, r in open_l.items() if lid not in {p[1] for p in pairs}}

    def order(row: dict) -> tuple | None:
        return None if row["order_no"] is None else (row["channel"], row["kind"], row["currency"], row["order_no"])

    for key in {order(r) for r in open_c.values()} - {None}:
        cs = [cid for cid, c in open_c.items() if order(c) == key]
        ls = [lid for lid, r in open_l.items() if order(r) == key]
        same_total = sum(open_c[i]["amount_minor"] for i in cs) == sum(open_l[i]["amount_minor"] for i in ls)
        if ls and same_total and (len(cs) == 1) != (len(ls) == 1):
            pairs |= {(cid, lid, "order_group") for cid in cs for lid in ls}
    return pairs


@pytest.mark.parametrize("seed", range(30))
def test_cascade_matches_brute_force_reference(seed: int) -> None:
    channel_rows, ledger_rows = random_day(seed)
    channel, ledger = frame(channel_rows, "cid"), frame(ledger_rows, "lid")

    # Duplicates first, as classify.py does, and against the reference.
    dups = find_duplicates(channel, ledger)
    ref_channel_dup, ref_ledger_dup = reference_duplicates(channel_rows, ledger_rows)
    assert set(dups.channel["cid"]) == ref_channel_dup
    assert set(dups.ledger["lid"]) == ref_ledger_dup
    assert dups.channel["cid"].is_unique().all() and dups.ledger["lid"].is_unique().all()

    matchable_c = channel.join(dups.channel, on="cid", how="anti")
    matchable_l = ledger.join(dups.ledger, on="lid", how="anti")
    pairs = run_cascade(matchable_c, matchable_l)

    expected = reference_cascade(
        {cid: r for cid, r in enumerate(channel_rows) if cid not in ref_channel_dup},
        {lid: r for lid, r in enumerate(ledger_rows) if lid not in ref_ledger_dup},
    )
    assert pair_set(pairs) == expected
    # A partial bijection (BAD_INPUTS I10) outside groups: no row in two pairs; a group is one row
    # against several, each of them in no other pair.
    single = pairs.filter(pl.col("match_rule") != "order_group")
    assert single["cid"].is_unique().all() and single["lid"].is_unique().all()
    grouped = pairs.filter(pl.col("match_rule") == "order_group")
    assert not set(grouped["cid"]) & set(single["cid"]) and not set(grouped["lid"]) & set(single["lid"])
    for cid, lid in grouped.select("cid", "lid").rows():  # one side of every group is a single row
        assert (grouped["cid"] == cid).sum() == 1 or (grouped["lid"] == lid).sum() == 1


def test_random_days_exercise_every_rule() -> None:
    # Guard the generator: across the 30 seeds there are duplicates, null ids and pairs of both rules.
    rules: Counter[str] = Counter()
    dup_rows = null_ids = 0
    for seed in range(30):
        channel_rows, ledger_rows = random_day(seed)
        c_dup, l_dup = reference_duplicates(channel_rows, ledger_rows)
        dup_rows += len(c_dup) + len(l_dup)
        null_ids += sum(r["channel_txn_id"] is None for r in ledger_rows)
        keep_c = {i: r for i, r in enumerate(channel_rows) if i not in c_dup}
        keep_l = {i: r for i, r in enumerate(ledger_rows) if i not in l_dup}
        rules.update(rule for _, _, rule in reference_cascade(keep_c, keep_l))
    assert dup_rows > 0 and null_ids > 0
    assert rules["channel_txn_id"] > 0 and rules["order_no"] > 0 and rules["amount_time"] > 0
    assert rules["order_group"] > 0


# ---------------------------------------------------------------------------------------------------
# by_order_group

GROUP_CHANNEL = """
channel_txn_id|order_no|kind   |amount_minor|expected
R1            |O1      |refund |-3000       |lid 0
R2            |O1      |refund |-2000       |lid 0
R3            |O2      |refund |-3000       |none
R4            |O2      |refund |-2000       |none
W5            |O3      |payment|10000       |lid 2, lid 3
W6            |O4      |payment|10000       |none
W7            |O5      |payment|4000        |none
W8            |O5      |payment|6000        |none
"""
# cid 0, 1 ↔ lid 0: two partial refunds of O1, booked as one refund of −50.00 (N:1).
# cid 2, 3: O2's refunds add up to −50.00, its one ledger refund is −49.99: no group.
# cid 4 ↔ lid 2, 3: one payment of O3 booked in two parts (1:N).
# cid 5: O4 one row on each side: not a group (the order_no step's business).
# cid 6, 7 vs lid 5, 6: two rows on each side: never a group, whatever the sums.

GROUP_LEDGER = """
channel_txn_id|order_no|kind   |amount_minor
              |O1      |refund |-5000
              |O2      |refund |-4999
              |O3      |payment|7000
              |O3      |payment|3000
              |O4      |payment|10000
              |O5      |payment|5000
              |O5      |payment|5000
"""


def test_by_order_group_pairs_one_row_against_several_that_add_up() -> None:
    channel = from_table(GROUP_CHANNEL, "cid")
    ledger = from_table(GROUP_LEDGER, "lid")
    expected = {
        (cid, int(lid.split()[1]), "order_group")
        for cid, cells in enumerate(table(GROUP_CHANNEL))
        if cells["expected"] != "none"
        for lid in cells["expected"].split(", ")
    }
    assert expected == {(0, 0, "order_group"), (1, 0, "order_group"), (4, 2, "order_group"), (4, 3, "order_group")}
    assert pair_set(by_order_group(channel, ledger)) == expected
