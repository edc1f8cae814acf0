"""Pandera validation that splits a frame into good rows and quarantine entries.

Always validates a *collected* DataFrame with ``lazy=True`` (a LazyFrame would be checked for schema
only: STACK_NOTES gotcha 9). Row-level failures become quarantine entries naming file, line, column,
value and reason; a column-level failure (wrong dtype: ``index`` is null) means the adapter is wrong
and is raised, never quarantined row by row.
"""

from __future__ import annotations

import pandera.errors
import pandera.polars as pa
import polars as pl

from schemas.identifiers import ID_CHECK
from transforms.parsed import QUARANTINE_SCHEMA, empty_quarantine


class SchemaBug(RuntimeError):
    """A whole-column schema failure: a bug in our code, not in the input."""


def split_valid(
    frame: pl.DataFrame,
    model: type[pa.DataFrameModel],
    *,
    reason_codes: dict[str, str] | None = None,
    default_reason_code: str = "SCHEMA_CHECK",
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Validate ``frame`` against ``model``; return ``(valid_rows, quarantine)``.

    Args:
        frame: a collected frame carrying ``source_file`` and ``source_line`` columns.
        model: the Pandera model to validate against.
        reason_codes: maps a check name (first) or a column name to the reason code its failures
            get, e.g. ``{"amount": "BAD_AMOUNT"}``; others get ``default_reason_code``. The id check
            of ``schemas.identifiers`` is ``BAD_CHAR`` unless said otherwise.
        default_reason_code: reason code for failures not in ``reason_codes``.

    Returns:
        The rows that passed every check (same columns, same order), and one quarantine entry per
        failed (row, column, check). A frame-level check names the check as its column.

    Raises:
        SchemaBug: when a failure has no row index (dtype or missing-column errors).
    """
    try:
        model.validate(frame, lazy=True)
    except pandera.errors.SchemaErrors as exc:
        cases = exc.failure_cases
    else:
        return frame, empty_quarantine()
    if cases.filter(pl.col("index").is_null()).height:
        raise SchemaBug(f"{model.__name__}: column-level failure\n{cases.filter(pl.col('index').is_null())}")
    codes = {ID_CHECK: "BAD_CHAR", **(reason_codes or {})}
    indexed = frame.select("source_file", "source_line").with_row_index("index")
    cases = cases.with_columns(pl.col("index").cast(pl.UInt32)).join(
        indexed, on="index", how="left", maintain_order="left"
    )
    entries = []
    for case in cases.iter_rows(named=True):
        column = case["column"] if case["schema_context"] == "Column" else case["check"]
        code = codes.get(case["check"]) or codes.get(column) or default_reason_code
        entries.append(
            {
                "source_file": case["source_file"],
                "source_line": case["source_line"],
                "column": column,
                "value": case["failure_case"],
                "reason_code": code,
                "reason": f"{column}: {case['failure_case']!r} fails {case['check']}",
            }
        )
    quarantine = pl.DataFrame(entries, schema=QUARANTINE_SCHEMA).unique(maintain_order=True)
    bad_positions = cases["index"].unique()
    good = frame.with_row_index("__pos").filter(~pl.col("__pos").is_in(bad_positions.implode())).drop("__pos")
    return good, quarantine
