"""Prefect's API for a batch run: the configured server, or one temporary server that dies with recon.

With no ``PREFECT_API_URL``, Prefect starts a temporary API server (a uvicorn subprocess) the first
time a flow runs, and stops it when Python exits. A ``kill -9`` of recon skips that exit, and the
server would live on, holding a port and its SQLite file. So recon starts the same server itself,
once per process, from the main thread, with ``PR_SET_PDEATHSIG``: the kernel sends it SIGTERM the
moment recon dies, however it dies. Its URL is then set for this process and for the Dask workers
it starts (each would otherwise start a server of its own).
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import threading
from typing import Any

_PR_SET_PDEATHSIG = 1


def ensure_api() -> str:
    """This process's Prefect API URL: the configured one, or its own server's, tied to its life."""
    from prefect.settings import PREFECT_API_URL

    configured = PREFECT_API_URL.value() or os.environ.get("PREFECT_API_URL")
    if configured:
        return str(configured)
    from prefect.server.api.server import SubprocessASGIServer

    server = SubprocessASGIServer()  # the instance Prefect itself would start and reuse
    if not server.running:
        if sys.platform == "linux" and threading.current_thread() is threading.main_thread():
            _start_tied_to_this_process(server)
        else:
            server.start()
    os.environ["PREFECT_API_URL"] = server.api_url  # for the Dask workers this process starts
    return str(server.api_url)


def _start_tied_to_this_process(server: Any) -> None:
    """``server.start()``, with every process it launches set to die with this one.

    The server is launched with ``subprocess.Popen``; for the few milliseconds of the start (in the
    main thread, before any flow runs), Popen gives each child ``preexec_fn=_die_with_parent``.
    """
    parent = os.getpid()
    original = subprocess.Popen

    class _TiedPopen(original):  # type: ignore[misc, valid-type]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs.setdefault("preexec_fn", lambda: _die_with_parent(parent))
            super().__init__(*args, **kwargs)

    subprocess.Popen = _TiedPopen  # type: ignore[misc]
    try:
        server.start()
    finally:
        subprocess.Popen = original  # type: ignore[misc]


def _die_with_parent(parent: int) -> None:
    """In the child, before exec: SIGTERM when the parent dies (and at once if it already has)."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != parent:
        os._exit(1)
