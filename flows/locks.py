"""One run per business date at a time, and a short wait for the warehouse's single writer.

Two runs of the *same* date would race on its report folder and its warehouse rows: the second one
stops at once with the first one's PID (exit 2). Runs of *different* dates go on side by side; they
meet only at the warehouse, which allows one writer at a time and is held for seconds (reading the
history, recording the run), so a run that finds it busy waits its turn.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


class DateBusy(RuntimeError):  # noqa: N818 - an expected stop, reported with exit code 2
    """Another process is reconciling the same business date."""


@contextmanager
def date_lock(data_dir: Path, business_date: date) -> Iterator[None]:
    """Hold ``<data-dir>/work/<date>.lock`` for the run (``flock``: released when the process dies).

    Raises:
        DateBusy: another process holds it; the message names its PID.
    """
    folder = data_dir / "work"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = folder / f"{business_date.isoformat()}.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "?"
            raise DateBusy(f"{business_date} is being processed by PID {holder}") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def wait_for(open_it: Callable[[], T], is_busy: Callable[[Exception], bool], *, seconds: float) -> T:
    """Call ``open_it`` until it stops failing with a "busy" error, for at most ``seconds``."""
    deadline = time.monotonic() + seconds
    delay = 0.05
    while True:
        try:
            return open_it()
        except Exception as exc:
            if not is_busy(exc) or time.monotonic() >= deadline:
                raise
        time.sleep(delay)
        delay = min(delay * 2, 1.0)
