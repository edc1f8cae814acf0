"""Crash points for the fault tests: ``RECON_CRASH_AT=<point>`` kills the run there with SIGKILL.

A kill -9 at a named step of publishing is the harshest crash a run can meet: no ``finally``, no
``atexit``, open files left as they are. The fault tests (tests/flows/test_faults.py) kill a run at
every point below, on a first run and on a rerun with changed inputs, and check that the published
report is the previous complete set (or none), and that a clean rerun is byte-identical to a run
that never crashed. Unset (always, outside those tests) a crash point does nothing.
"""

from __future__ import annotations

import os
import signal

#: Every crash point, in the order a run passes them.
CRASH_POINTS = (
    "after_parse",  # rows spilled to the work folder, nothing staged
    "after_tables",  # outcomes/discrepancies staged, no workbook yet
    "after_workbook",  # the workbook staged, no manifest yet
    "before_warehouse_commit",  # the warehouse transaction written, not committed
    "before_switch",  # the warehouse committed, the report still the previous one
    "after_switch",  # the new report in place, the previous one not yet removed
)


def crash_point(name: str) -> None:
    """Die here, at once and without cleaning up, when ``RECON_CRASH_AT`` names this point."""
    if name not in CRASH_POINTS:
        raise ValueError(f"unknown crash point {name!r}")
    if os.environ.get("RECON_CRASH_AT") == name:
        os.kill(os.getpid(), signal.SIGKILL)
