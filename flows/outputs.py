"""Writing a report set: every file into a staging folder, then one switch into place.

A run writes ``reports/.staging-<date>-<token>/``: the complete tables streamed by DuckDB
(``outcomes.parquet``, ``discrepancies.parquet``, ``discrepancies.csv``), then the workbook, the small
tables and ``manifest.json`` last, each fsynced. Only then does the folder replace
``reports/<date>/`` — in one atomic ``renameat2(RENAME_EXCHANGE)`` where the kernel offers it — so a
reader sees the old set or the new one, never a mix, and a crash leaves the previous report as it was.
Files and folders are private to the owner (0600 / 0700).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import hashlib
import json
import os
import shutil
import uuid
from datetime import date
from pathlib import Path

import duckdb

from flows.faults import crash_point
from transforms.publish import frame_to_parquet, manifest_json
from transforms.report import Report, discrepancies_csv_sql, discrepancies_sql, formula_safe_sql, outcomes_sql
from transforms.workbook import render_workbook
from transforms.worklist import cases_sql

#: DuckDB's Parquet options for the big tables: fixed, so the same rows give the same bytes.
PARQUET_COPY = "format parquet, compression zstd"
CSV_BOM = b"\xef\xbb\xbf"
_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def open_staging(target: Path) -> Path:
    """A new, private staging folder beside ``target`` (same filesystem: the switch is a rename)."""
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    staging = target.parent / f".staging-{target.name}-{uuid.uuid4().hex[:12]}"
    staging.mkdir(mode=0o700)
    return staging.resolve()


def stage_tables(con: duckdb.DuckDBPyConnection, business_date: date, staging: Path) -> None:
    """Stream the complete outcome, open-item, discrepancy and case tables from the engine into ``staging``.

    Runs after :func:`transforms.report.build_report` on the same connection (the cases read the
    relations it registers).
    """
    params = {"business_date": business_date}
    con.execute(f"copy ({outcomes_sql()}) to $out ({PARQUET_COPY})", {"out": str(staging / "outcomes.parquet")})  # noqa: S608
    con.execute(f"copy (select * from snapshot) to $out ({PARQUET_COPY})",  # noqa: S608 - constants
                {"out": str(staging / "open_items.parquet")})  # fmt: skip
    crash_point("after_tables")
    con.execute(
        f"copy ({discrepancies_sql()}) to $out ({PARQUET_COPY})",  # noqa: S608
        {**params, "out": str(staging / "discrepancies.parquet")},
    )
    # Every case of the day, codes only (the workbook shows the first report.max_sheet_rows of them, in
    # words). Reads the settlement_lines and case_classes relations build_report registered on con.
    con.execute(f"copy ({cases_sql()}) to $out ({PARQUET_COPY})", {**params, "out": str(staging / "cases.parquet")})  # noqa: S608
    part = staging / "discrepancies.csv.part"
    con.execute(
        f"copy ({discrepancies_csv_sql()}) to $out (format csv, header true, force_quote *)",  # noqa: S608
        {**params, "out": str(part)},
    )
    # Excel reads UTF-8 (Chinese text) only with a byte order mark in front.
    with open(staging / "discrepancies.csv", "wb") as out, open(part, "rb") as body:
        out.write(CSV_BOM)
        shutil.copyfileobj(body, out, 8 * 1024 * 1024)
    part.unlink()


def stage_documents(report: Report, staging: Path) -> dict[str, str]:
    """Write the workbook and the small tables, hash every output, and write ``manifest.json`` last.

    Returns:
        Output file name → sha256, the manifest's included.
    """
    day = report.business_date.isoformat()
    documents = {
        f"recon_{day}.xlsx": render_workbook(report),
        "settlement.parquet": frame_to_parquet(report.settlement),
        "quarantine.parquet": frame_to_parquet(report.quarantine),
        "resolved.parquet": frame_to_parquet(report.resolved),
        "risk.parquet": frame_to_parquet(report.risk),
    }
    for name, data in documents.items():
        write_file(staging / name, data)
        if name.endswith(".xlsx"):
            crash_point("after_workbook")
    hashes = {path.name: file_sha256(path) for path in sorted(staging.iterdir()) if path.is_file()}
    manifest = manifest_json(report, hashes)
    write_file(staging / "manifest.json", manifest)
    for path in staging.iterdir():
        _fsync(path)
        path.chmod(0o600)
    _fsync(staging)
    return {**hashes, "manifest.json": hashlib.sha256(manifest).hexdigest()}


def write_file(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` (a staging folder: nobody reads it before the switch), private, synced."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        os.fsync(fd)
    finally:
        os.close(fd)


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file, read in blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(8 * 1024 * 1024):
            digest.update(block)
    return digest.hexdigest()


def switch_into_place(staging: Path, target: Path, keep: Path | None = None) -> None:
    """Make the staged set the published one, in one step; the previous set is removed after, or kept.

    With an existing ``target`` the two folders are exchanged atomically (``renameat2``), then the old
    one (now at the staging name) is deleted, or moved to ``keep`` when given (a previous version of
    the report, kept beside it); without one, the staging folder is renamed.
    """
    if target.exists():
        if not _exchange(staging, target):
            old = target.parent / f".old-{target.name}-{uuid.uuid4().hex[:12]}"
            os.rename(target, old)  # fallback: a reader may see no folder for an instant, never a mix
            os.rename(staging, target)
        else:
            old = staging
        crash_point("after_switch")
        if keep is not None:
            keep.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            shutil.rmtree(keep, ignore_errors=True)  # the same version kept before: replaced whole
            os.rename(old, keep)
        else:
            shutil.rmtree(old, ignore_errors=True)
    else:
        os.rename(staging, target)
        crash_point("after_switch")
    _fsync(target.parent)


def published_run_id(target: Path) -> str | None:
    """The run id of the report set published at ``target`` (its manifest), or None."""
    try:
        return str(json.loads((target / "manifest.json").read_text(encoding="utf-8"))["run_id"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def write_changes(con: duckdb.DuckDBPyConnection, before: Path, after: Path, out: Path) -> int:
    """Write the rows whose outcome differs between two versions' ``outcomes.parquet`` as CSV; return how many."""
    file = formula_safe_sql("coalesce(b.source_file, a.source_file)")  # file names come from outside
    sql = f"""
        select coalesce(b.source, a.source) as source, {file} as source_file,
               coalesce(b.source_line, a.source_line) as source_line, b.outcome as outcome_before,
               a.outcome as outcome_after
        from read_parquet($before) b full join read_parquet($after) a
          on a.source = b.source and a.source_file = b.source_file and a.source_line is not distinct from b.source_line
        where a.outcome is distinct from b.outcome
    """  # noqa: S608 - names from this module
    params = {"before": str(before), "after": str(after)}
    count = int(con.execute(f"select count(*) from ({sql})", params).fetchall()[0][0])  # noqa: S608 - constant
    con.execute(f"copy ({sql} order by 1, 2, 3) to $out (format csv, header true)", {**params, "out": str(out)})  # noqa: S608
    return count


def sweep_staging(target: Path) -> None:
    """Remove staging and old folders of ``target`` left by a killed run (never read, never kept)."""
    if target.parent.is_dir():
        for prefix in (".staging-", ".old-"):
            for folder in target.parent.glob(f"{prefix}{target.name}-*"):
                if folder.is_dir() and not folder.is_symlink():
                    shutil.rmtree(folder, ignore_errors=True)


def discard_staging(staging: Path) -> None:
    """Remove a staging folder that was not switched into place (a failed run)."""
    shutil.rmtree(staging, ignore_errors=True)


def _exchange(first: Path, second: Path) -> bool:
    """Swap two paths atomically with Linux ``renameat2(RENAME_EXCHANGE)``; False when not available."""
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    libc = ctypes.CDLL(name, use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is None:
        return False
    result = renameat2(_AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second), _RENAME_EXCHANGE)
    if result != 0:
        errno = ctypes.get_errno()
        if errno in (22, 38, 95):  # EINVAL, ENOSYS, EOPNOTSUPP: the filesystem cannot; fall back
            return False
        raise OSError(errno, os.strerror(errno), str(second))
    return True


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
