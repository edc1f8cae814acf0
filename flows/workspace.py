"""A run's work folder: where parsed rows spill to Parquet, and the DuckDB engine that reads them.

``<data-dir>/work/<YYYY-MM-DD>-<run token>/`` holds, while a run lasts:

- ``rows/<source>/<channel>/<file>-<chunk>.parquet``: valid canonical rows, one folder per partition;
- ``rejected/<file>-<chunk>.parquet``: best-effort rows of quarantined lines;
- ``outcomes/``: the outcome rows each partition produced;
- ``duckdb/``: DuckDB's spill space (``engine.temp_directory`` in recon.toml may point elsewhere
  inside the data dir).

Memory follows the configuration: adapters hand over chunks, the sink writes each chunk and forgets
it, and DuckDB joins the Parquet files out of core within ``engine.memory_limit``. The folder is
removed when the run ends (and a leftover from a killed run is removed by the next one).
"""

from __future__ import annotations

import os
import shutil
import uuid
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb
import polars as pl

from transforms.rules import EngineSettings

#: Written with the spill files: fast to write and read back, no need to be small.
SPILL_COMPRESSION = "lz4"


@dataclass(frozen=True)
class Workspace:
    """The work folder of one run (paths only: safe to hand to another process)."""

    root: Path
    engine: EngineSettings
    data_dir: Path

    @property
    def rows_dir(self) -> Path:
        """Valid canonical rows, by source and channel."""
        return self.root / "rows"

    @property
    def rejected_dir(self) -> Path:
        """Best-effort rows of quarantined lines."""
        return self.root / "rejected"

    @property
    def outcomes_dir(self) -> Path:
        """Outcome rows, one file per partition."""
        return self.root / "outcomes"

    def temp_directory(self) -> Path:
        """DuckDB's spill space: ``engine.temp_directory`` inside the data dir, else the work folder."""
        if self.engine.temp_directory:
            return self.data_dir / self.engine.temp_directory / self.root.name
        return self.root / "duckdb"


def open_workspace(data_dir: Path, business_date: date, engine: EngineSettings) -> Workspace:
    """Create a fresh work folder for a run of ``business_date`` under ``<data-dir>/work/``."""
    work = data_dir / "work"
    work.mkdir(mode=0o700, parents=True, exist_ok=True)
    root = work / f"{business_date.isoformat()}-{uuid.uuid4().hex[:12]}"
    root.mkdir(mode=0o700)
    workspace = Workspace(root=root.resolve(), engine=engine, data_dir=data_dir.resolve())
    for folder in (workspace.rows_dir, workspace.rejected_dir, workspace.outcomes_dir, workspace.temp_directory()):
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return workspace


def sweep_work(data_dir: Path, business_date: date, engine: EngineSettings) -> None:
    """Remove work and spill folders of ``business_date`` left by a killed run (only under the date's lock)."""
    places = [data_dir / "work"] + ([data_dir / engine.temp_directory] if engine.temp_directory else [])
    for place in places:
        if place.is_dir():
            for folder in place.glob(f"{business_date.isoformat()}-*"):
                if folder.is_dir() and not folder.is_symlink():
                    shutil.rmtree(folder, ignore_errors=True)


def close_workspace(workspace: Workspace) -> None:
    """Remove the work folder and DuckDB's spill space (nothing in them is an output)."""
    shutil.rmtree(workspace.temp_directory(), ignore_errors=True)
    shutil.rmtree(workspace.root, ignore_errors=True)


def connect_engine(workspace: Workspace, *, readable: tuple[Path, ...] = ()) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB bounded by the engine settings, able to touch only the work folder.

    External access is off except for the work folder and ``readable`` (where outputs are staged);
    the configuration is locked, so no statement can lift those limits. Timestamps are UTC.
    """
    settings = workspace.engine
    con = duckdb.connect(
        config={
            "memory_limit": settings.memory_limit,
            "threads": settings.threads,
            "temp_directory": str(workspace.temp_directory()),
            "preserve_insertion_order": False,  # every result that is written has its ORDER BY
            "autoinstall_known_extensions": False,
            "autoload_known_extensions": False,
        }
    )
    allowed = [str(workspace.root) + os.sep, *(str(path) + os.sep for path in readable)]
    con.execute("set allowed_directories = ?", [allowed])
    con.execute("set enable_external_access = false")
    con.execute("set TimeZone = 'UTC'")
    con.execute("set lock_configuration = true")
    return con


@dataclass
class SpillSink:
    """A ``RowSink`` writing each chunk of one input file to Parquet in the work folder.

    Every row gets ``row_id`` = ``file_no << 32 | source_line``: unique in the day, the same on every
    rerun, and cheap to join on. Rows are filed by channel, the unit of matching.
    """

    workspace: Workspace
    file_no: int
    source: str
    row_files: list[tuple[str, str]] = field(default_factory=list)  # (channel, path)
    rejected_files: list[str] = field(default_factory=list)
    _chunk: int = 0

    def rows(self, frame: pl.DataFrame) -> None:
        """Write a chunk of valid canonical rows, one file per channel in it."""
        frame = frame.with_columns(row_id=(pl.lit(self.file_no, pl.Int64) * (1 << 32)) + pl.col("source_line"))
        if "channel" not in frame.columns:  # bank rows: one account statement, no channel
            self.row_files.append((self.source, self._write(self.workspace.rows_dir / self.source, frame)))
            return
        for (channel,), part in frame.partition_by("channel", as_dict=True, maintain_order=True).items():
            name = str(channel or "_none")
            self.row_files.append((name, self._write(self.workspace.rows_dir / self.source / name, part)))

    def rejected(self, frame: pl.DataFrame) -> None:
        """Write a chunk of best-effort rows of quarantined lines."""
        frame = frame.with_columns(
            source=pl.lit(self.source),
            row_id=(pl.lit(self.file_no, pl.Int64) * (1 << 32)) + pl.col("source_line"),
        )
        self.rejected_files.append(self._write(self.workspace.rejected_dir, frame))

    def discard(self) -> None:
        """Delete everything this file wrote (it turned out unreadable and is rejected whole)."""
        for path in [*(path for _, path in self.row_files), *self.rejected_files]:
            Path(path).unlink(missing_ok=True)
        self.row_files.clear()
        self.rejected_files.clear()

    def _write(self, folder: Path, frame: pl.DataFrame) -> str:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        path = folder / f"{self.file_no:05d}-{self._chunk:06d}.parquet"
        self._chunk += 1
        frame.write_parquet(path, compression=SPILL_COMPRESSION, statistics=False)
        return str(path)


def files_under(folder: Path, pattern: str = "*.parquet") -> list[str]:
    """The Parquet files under ``folder``, sorted (an empty list when there is none)."""
    return sorted(str(path) for path in folder.rglob(pattern)) if folder.exists() else []
