"""Nothing the lab starts outlives it.

Servers and containers register a stop function while they run. Context managers
stop them on success, failure and Ctrl-C; SIGTERM/SIGHUP are turned into SystemExit
so those context managers unwind too; atexit stops whatever is left.
"""

from __future__ import annotations

import atexit
import contextlib
import itertools
import signal
import threading
from collections.abc import Callable

_live: dict[int, Callable[[], object]] = {}
_lock = threading.Lock()
_installed = False
_keys = itertools.count()


def _exit_on_signal(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


def stop_all() -> None:
    """Stop every registered resource (newest first); errors are ignored: best effort."""
    with _lock:
        stops = list(_live.values())[::-1]
        _live.clear()
    for stop in stops:
        with contextlib.suppress(Exception):  # cleanup must try every resource
            stop()


def install_handlers() -> None:
    global _installed
    if _installed or threading.current_thread() is not threading.main_thread():
        return
    for sig in (signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(sig) in (signal.SIG_DFL, None):
            signal.signal(sig, _exit_on_signal)
    atexit.register(stop_all)
    _installed = True


def register(stop: Callable[[], object]) -> int:
    install_handlers()
    key = next(_keys)
    with _lock:
        _live[key] = stop
    return key


def unregister(key: int) -> None:
    with _lock:
        _live.pop(key, None)
