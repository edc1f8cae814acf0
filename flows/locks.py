"""One run per business date at a time, and a short wait for the warehouse's single writer.

Two runs of the *same* date would race on its report folder and its warehouse rows: the second one
stops at once with the first one's PID (exit 2). Runs of *different* dates go on side by side; they
meet only at the warehouse, which allows one writer at a time and is held for seconds (reading the
history, recording the run), so a run that finds it busy waits its turn. Days are connected: before
it reads its history, a run waits for the runs of *earlier* dates in progress (their open items are
its history), so runs started together give what they give one after the other, in date order.
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


class EarlierDateBusy(RuntimeError):  # noqa: N818 - an expected stop, reported with exit code 2
    """A run of an earlier date is still in progress after the wait: its open items are not known yet."""


def wait_for_earlier_dates(data_dir: Path, business_date: date, *, seconds: float) -> list[date]:
    """Wait while runs of dates before ``business_date`` hold their date lock; return the dates waited for.

    Raises:
        EarlierDateBusy: one still runs after ``seconds``.
    """
    waited = []
    for path in sorted((data_dir / "work").glob("*.lock")):
        try:
            day = date.fromisoformat(path.stem)
        except ValueError:
            continue
        if day >= business_date:
            continue
        fd = os.open(path, os.O_RDONLY)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
                continue
            except BlockingIOError:
                waited.append(day)
            try:
                wait_for(lambda: fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB),  # noqa: B023 - called at once
                         lambda exc: isinstance(exc, BlockingIOError), seconds=seconds)  # fmt: skip
            except BlockingIOError:
                raise EarlierDateBusy(
                    f"the run of {day} is still in progress after {seconds:.0f} s: its open items are {business_date}'s history"
                ) from None
        finally:
            os.close(fd)  # releases the shared lock
    return waited
