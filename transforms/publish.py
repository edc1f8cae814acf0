"""The report's machine-readable files as bytes: Parquet tables, ``manifest.json`` and their hashes.

Pure functions (STYLE point 1): ``flows/`` writes the bytes. Both outputs are deterministic: the same
frame gives the same Parquet bytes, the same report the same manifest, and no wall-clock time is ever
written (DESIGN §9): the only date in a manifest is the business date.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json

import polars as pl
import pyarrow.parquet as pq

from transforms.report import Report

#: Fixed writer options: changing one changes every output's bytes, so they live here, once.
PARQUET_OPTIONS: dict[str, object] = {
    "compression": "zstd",
    "compression_level": 3,
    "use_dictionary": True,
    "write_statistics": True,
    "version": "2.6",
    "data_page_version": "1.0",
    "row_group_size": 1_000_000,
    "store_schema": True,
    "write_page_index": False,
    "write_page_checksum": False,
}


def sha256_hex(data: bytes) -> str:
    """The lowercase hex SHA-256 of ``data`` (the manifest's output hashes)."""
    return hashlib.sha256(data).hexdigest()


def frame_to_parquet(frame: pl.DataFrame) -> bytes:
    """Serialise a frame as Parquet, byte for byte the same for the same frame.

    Columns keep their dtypes: ``*_minor`` money stays Int64 minor units, dates stay dates. The
    Arrow export uses the oldest compatibility level (``large_string``, not ``string_view``) so that
    any Parquet reader can open the file. The file's ``created_by`` names the pyarrow version: the
    same code version gives the same bytes.
    """
    table = frame.to_arrow(compat_level=pl.CompatLevel.oldest())
    buffer = io.BytesIO()
    pq.write_table(table, buffer, **PARQUET_OPTIONS)
    return buffer.getvalue()


def manifest_dict(report: Report, output_hashes: dict[str, str]) -> dict[str, object]:
    """The manifest as plain data: what was read, what it became, and the hash of every output.

    Args:
        report: the run's typed report (its numbers are copied, never recomputed).
        output_hashes: output file name → sha256 hex of its bytes (the workbook, the Parquet files).

    Returns:
        JSON-ready data. ``inputs`` lists each input file with its line accounting
        (physical lines = data rows + header + preamble + footer + blank lines).
    """
    return {
        "business_date": report.business_date.isoformat(),
        "run_id": report.run_id,
        "code_version": report.code_version,
        "rules_hash": report.rules_hash,
        "exit_code": report.exit_code,
        "headline": report.headline,
        "notes": list(report.notes),
        "inputs": [dataclasses.asdict(f) for f in report.inputs],
        "outcome_counts": {outcome: count for outcome, count in report.outcome_counts},
        "channels": [dataclasses.asdict(c) for c in report.channels],
        "outputs": dict(output_hashes),
    }


def manifest_json(report: Report, output_hashes: dict[str, str]) -> bytes:
    """``manifest.json``: UTF-8 (Chinese file names stay legible), sorted keys, indent 2, final newline."""
    text = json.dumps(manifest_dict(report, output_hashes), ensure_ascii=False, sort_keys=True, indent=2)
    # A file name with undecodable bytes (lone surrogates) must not crash the run: escape it visibly.
    return (text + "\n").encode("utf-8", errors="backslashreplace")
