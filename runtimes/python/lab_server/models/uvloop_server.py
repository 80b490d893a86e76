"""python/uvloop: python/asyncio's code, unchanged, on uvloop.

uvloop is an asyncio event loop written in Cython on top of libuv, the C library under
Node.js. asyncio lets the loop be swapped: (1) runs the very same `serve` coroutine of
asyncio_server.py with uvloop's loop instead of the default one. Coroutines, tasks, streams,
run_in_executor: all the same API, so any difference the lab measures between python/asyncio
and python/uvloop is the cost of the loop itself (epoll, timers, transports in C rather
than in Python), not of the application.
"""

import uvloop

from lab_server.models import asyncio_server
from lab_server.process import python_version


def main() -> None:
    asyncio_server.main(
        "uvloop",
        run=uvloop.run,  # (1)
        version=f"{python_version()} (uvloop {uvloop.__version__})",
    )


if __name__ == "__main__":
    main()
