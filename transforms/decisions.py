"""The finance team's decisions on discrepancies and open items (``recon resolve``).

A decision names one row by where it came from: the date of its inbox (``opened_on``), its side
(``source``), its file and line, exactly as the report shows them. It says what a person concluded
(:data:`ACTIONS`), why, who, and from which business date on it applies (``effective_date``: the date
of the report the person worked on). Decisions are recorded once and never changed; an undo is a
decision of its own, which cancels another from its own effective date on.

A run of D applies every decision whose effective date is on or before D and that no undo effective
on or before D cancels; when several apply to one row, the latest wins. A rerun of an earlier date
therefore never sees a decision made after it. A resolved row leaves the open items and is listed,
with its trail, among the resolved ones.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from datetime import date, datetime

import polars as pl

#: What a person can decide, in the finance team's words. ``undo`` cancels an earlier decision.
ACTIONS: dict[str, str] = {
    "accept_channel": "the channel's figure is right: the ledger is corrected",
    "accept_ledger": "the ledger's figure is right: the channel is asked to correct",
    "write_off": "written off to an account (within the configured limit)",
    "match_by_hand": "matched by hand with another row",
    "reject_match": "the match proposed with another row is wrong: never proposed again, both rows open again",
    "undo": "cancels an earlier decision",
}

#: Actions that resolve their row (a rejected match does not: it reopens both rows).
RESOLVING = tuple(action for action in ACTIONS if action not in ("reject_match", "undo"))
SOURCES = ("channel", "ledger", "bank")

DECISION_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "decision_id": pl.String, "decided_at": pl.Datetime("us", "UTC"), "decided_by": pl.String,
    "effective_date": pl.Date, "opened_on": pl.Date, "source": pl.String, "source_file": pl.String,
    "source_line": pl.Int64, "action": pl.String, "reason": pl.String, "account": pl.String,
    "counterpart": pl.String, "undoes": pl.String,
}  # fmt: skip

RESOLVED_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "opened_on": pl.Date, "source": pl.String, "source_file": pl.String, "source_line": pl.Int64,
    "channel": pl.String, "amount_minor": pl.Int64, "currency": pl.String, "was": pl.String,
    "action": pl.String, "reason": pl.String, "account": pl.String, "counterpart": pl.String,
    "decided_by": pl.String, "decided_at": pl.Datetime("us", "UTC"), "effective_date": pl.Date,
    "decision_id": pl.String,
}  # fmt: skip


REJECTED_PAIRS_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "c_file": pl.String, "c_line": pl.Int64, "l_file": pl.String, "l_line": pl.Int64, "decision_id": pl.String,
}  # fmt: skip


def empty_decisions() -> pl.DataFrame:
    """No decision recorded (a new data dir, a test)."""
    return pl.DataFrame(schema=DECISION_SCHEMA)


def source_of_file(source_file: str) -> str:
    """The side of a row from its file's inbox folder: ``ledger/…`` and ``bank/…``, else a channel."""
    folder = source_file.split("/", 1)[0]
    return folder if folder in ("ledger", "bank") else "channel"


def decision_id(row: Mapping[str, object]) -> str:
    """A decision's id: a digest of everything it says, who and when included (12 hex digits)."""
    text = "\x1f".join(str(row.get(name)) for name in DECISION_SCHEMA if name != "decision_id")
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def decision_rows(
    entries: Iterable[Mapping[str, object]], *, effective_date: date, decided_by: str, decided_at: datetime
) -> tuple[pl.DataFrame, list[str]]:
    """Validate decisions as a person wrote them (CLI options or the rows of a resolutions file).

    Each entry has ``source_file``, ``source_line``, ``action`` and ``reason``, and may have
    ``opened_on`` (default: ``effective_date``), ``source`` (default: from the file's folder),
    ``account`` (a write-off's account), ``counterpart`` (``file:line`` of a match by hand),
    ``by`` (default: ``decided_by``) and ``undoes`` (the id an undo cancels). Every problem of every
    entry is returned, each naming its entry (1-based), and no row is kept when there is one.
    """
    rows: list[dict[str, object]] = []
    problems: list[str] = []
    for number, entry in enumerate(entries, start=1):
        text = {name: "" if value is None else str(value).strip() for name, value in entry.items()}
        where = f"entry {number}"
        action = text.get("action", "")
        if action not in ACTIONS:
            problems.append(f"{where}: action {action!r} is not one of {', '.join(ACTIONS)}")
        if not text.get("reason"):
            problems.append(f"{where}: a decision needs a reason")
        row: dict[str, object] = {
            "decided_at": decided_at, "decided_by": text.get("by") or decided_by, "effective_date": effective_date,
            "action": action, "reason": text.get("reason", ""), "account": text.get("account") or None,
            "counterpart": text.get("counterpart") or None, "undoes": text.get("undoes") or None,
            "opened_on": None, "source": None, "source_file": None, "source_line": None,
        }  # fmt: skip
        if action == "undo":
            if not row["undoes"]:
                problems.append(f"{where}: an undo names the decision it cancels")
        else:
            row.update(_target(text, effective_date, where, problems))
            if action == "write_off" and not row["account"]:
                problems.append(f"{where}: a write-off names the account it is written off to")
            if action in ("match_by_hand", "reject_match") and not row["counterpart"]:
                problems.append(f"{where}: {action} names the other row (file:line)")
            if action == "reject_match" and row["opened_on"] != effective_date:
                problems.append(f"{where}: a match is rejected on the report of its own date ({row['opened_on']}): "
                                "the rerun of that date applies it")  # fmt: skip
        row["decision_id"] = decision_id(row)
        rows.append(row)
    if problems:
        return empty_decisions(), problems
    return pl.DataFrame(rows, schema=DECISION_SCHEMA), []


def _target(text: Mapping[str, str], effective_date: date, where: str, problems: list[str]) -> dict[str, object]:
    """The row a decision is about: file, line, side and the date of its inbox."""
    source_file = text.get("source_file", "")
    line_text = text.get("source_line", "")
    if not source_file:
        problems.append(f"{where}: which row? give its source_file and source_line")
    if not line_text.isdigit() or int(line_text) < 1:
        problems.append(f"{where}: source_line {line_text!r} is not a line number")
    opened_on = effective_date
    if text.get("opened_on"):
        try:
            opened_on = date.fromisoformat(text["opened_on"])
        except ValueError:
            problems.append(f"{where}: opened_on {text['opened_on']!r} is not a date YYYY-MM-DD")
    if opened_on > effective_date:
        problems.append(f"{where}: the row's date {opened_on} is after the report's date {effective_date}")
    source = text.get("source") or source_of_file(source_file)
    if source not in SOURCES:
        problems.append(f"{where}: source {source!r} is not one of {', '.join(SOURCES)}")
    return {
        "opened_on": opened_on, "source": source, "source_file": source_file or None,
        "source_line": int(line_text) if line_text.isdigit() else None,
    }  # fmt: skip


def active_decisions_sql() -> str:
    """The decisions in force on ``$business_date`` over the relation ``decisions`` (all recorded ones).

    Effective on or before D, not cancelled by an undo effective on or before D; the latest per row.
    """
    resolving = ", ".join(f"'{name}'" for name in RESOLVING)
    return f"""
        with valid as (select * from decisions where effective_date <= $business_date),
        undone as (select undoes as decision_id from valid where action = 'undo')
        select * from valid anti join undone using (decision_id)
        where action in ({resolving})
        qualify row_number() over (partition by opened_on, source, source_file, source_line
                                   order by decided_at desc, decision_id desc) = 1
    """  # noqa: S608 - codes from this module


def with_hand_matched_sql() -> str:
    """``named_decisions`` plus, for each match by hand, the same decision on the row it names.

    The other row is found among ``decidable`` by ``file:line`` (any date's open item, or the day's
    own discrepancy); its ``counterpart`` names the first row back. A row with a decision of its own
    keeps its own.
    """
    return """
        select * from named_decisions
        union all by name
        select d.* replace (k.opened_on as opened_on, k.source as source, k.source_file as source_file,
                            k.source_line as source_line,
                            d.source_file || ':' || d.source_line::varchar as counterpart)
        from named_decisions d
        join decidable k on d.counterpart = k.source_file || ':' || k.source_line::varchar
        where d.action = 'match_by_hand'
          and not exists (select 1 from named_decisions n
                          where n.opened_on = k.opened_on and n.source = k.source
                                and n.source_file = k.source_file and n.source_line = k.source_line)
        qualify row_number() over (partition by k.opened_on, k.source, k.source_file, k.source_line
                                   order by d.decided_at desc, d.decision_id desc) = 1
    """


def rejected_pairs_sql() -> str:
    """``(c_file, c_line, l_file, l_line, decision_id)``: the matches rejected for the rows of ``$business_date``.

    Over the relation ``decisions``: ``reject_match`` decisions in force on D (effective on or before
    D, not undone) about a row of D's own inbox and the row it was matched with (``counterpart``,
    ``file:line``). The cascade never proposes these pairs again.
    """
    return """
        with valid as (select * from decisions where effective_date <= $business_date),
        undone as (select undoes as decision_id from valid where action = 'undo'),
        rejected as (
            select *, regexp_extract(counterpart, '^(.*):([0-9]+)$', 1) as other_file,
                   try_cast(regexp_extract(counterpart, '^(.*):([0-9]+)$', 2) as bigint) as other_line
            from valid anti join undone using (decision_id)
            where action = 'reject_match' and opened_on = $business_date
        )
        select case when source = 'channel' then source_file else other_file end as c_file,
               case when source = 'channel' then source_line else other_line end as c_line,
               case when source = 'channel' then other_file else source_file end as l_file,
               case when source = 'channel' then other_line else source_line end as l_line,
               decision_id
        from rejected where source in ('channel', 'ledger')
    """


def resolved_sql() -> str:
    """The rows resolved by a decision in force on ``$business_date``, with their trail (RESOLVED_SCHEMA).

    Reads ``active_decisions`` and ``decidable`` (the rows a decision may name on D: the open items
    carried in, and D's own discrepancies, with ``opened_on``, ``source``, ``source_file``,
    ``source_line``, ``channel``, ``amount_minor``, ``currency``, ``status``).
    """
    columns = ", ".join(RESOLVED_SCHEMA)
    return f"""
        select {columns} from (
            select r.opened_on, r.source, r.source_file, r.source_line, r.channel, r.amount_minor, r.currency,
                   r.status as was, d.action, d.reason, d.account, d.counterpart, d.decided_by, d.decided_at,
                   d.effective_date, d.decision_id
            from decidable r join active_decisions d using (opened_on, source, source_file, source_line)
        )
        order by opened_on, source, source_file, source_line
    """  # noqa: S608 - names from this module
