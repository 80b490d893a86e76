"""python/asyncio: one event loop, one coroutine per connection (asyncio streams).

Under the hood this is python/epoll-lt: a loop around epoll_wait() (through the selectors
module) that calls back whoever's socket is ready. What asyncio adds is coroutines on top:
asyncio.start_server() (1) runs `handle` as a new Task for every client, and `handle` reads
like the blocking code of python/threaded (read, answer, repeat). The difference is at each
`await` (2): the coroutine gives control back to the loop, which runs whichever other task
is ready, and resumes it when its data has come. One thread, and switches only where the
code says `await`: cooperative multitasking.

- /sleep is `await asyncio.sleep()` (3): a timer in the loop; the task waits, nobody else does.
- /cpu inline is a plain call with no await in it (4): until it returns, the loop is not
  running, so every other connection waits. Declaring a function `async` would not change
  that; only handing the work to someone else does:
- offload=1 is `await loop.run_in_executor(pool, work)` (5): the work runs on a thread of a
  ThreadPoolExecutor(OFFLOAD_THREADS) and the task awaits its future; the loop serves others
  meanwhile. Python threads share the GIL, though: /cpu and /work offloaded still slow the
  loop down, while hashlib.pbkdf2_hmac (/hash) releases the GIL and really runs beside it.

Signals (6): signal.signal() rather than loop.add_signal_handler(), because a Python-level
handler still runs while the loop is stuck in an inline /cpu, so the 2-second exit deadline
holds; the self-pipe from process.Signals, watched with add_reader, wakes the loop.
"""

import asyncio
from concurrent.futures import ThreadPoolExecutor

from lab_server.app import Action, App, Compute, Sleep
from lab_server.http import HttpError, Reply, RequestParser, error_response, response
from lab_server.process import (
    BACKLOG,
    GRACE,
    Signals,
    announce,
    default_offload_threads,
    exit_now,
    knob,
    listen,
    python_version,
)

RECV_SIZE = 65536
LINGER = 0.5  # seconds to drain a client after our FIN (see blocking.BlockingConnection.close)
OFFLOAD = (
    "loop.run_in_executor on a ThreadPoolExecutor(OFFLOAD_THREADS) (the GIL still serialises "
    "/cpu and /work; hashlib.pbkdf2_hmac releases it)"
)


class Server:
    def __init__(self, app: App, pool: ThreadPoolExecutor) -> None:
        self.app = app
        self.pool = pool
        self.stopping = False
        self.tasks: set[asyncio.Task] = set()
        self.idle: set[asyncio.StreamWriter] = set()  # waiting for their client's next request

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        self.tasks.add(task)
        parser = RequestParser()
        we_close = False
        try:
            while True:
                try:
                    request = parser.next()
                except HttpError as error:
                    writer.write(error_response(error))
                    we_close = True
                    break
                if request is None:
                    if self.stopping:
                        break
                    self.idle.add(writer)
                    try:
                        data = await reader.read(RECV_SIZE)  # (2)
                    finally:
                        self.idle.discard(writer)
                    if not data:
                        break
                    parser.feed(data)
                    continue
                action = self.app.handle(request)
                reply = action if isinstance(action, Reply) else await self.perform(action)
                keep_alive = request.keep_alive and not self.stopping
                writer.write(response(request, reply, keep_alive))
                await writer.drain()  # (2) waits only if the client is slow to read
                if not keep_alive:
                    we_close = True
                    break
            if we_close and not self.stopping:
                await self.linger(reader, writer)
        except OSError:  # the client went away
            pass
        finally:
            writer.close()
            self.tasks.discard(task)

    async def perform(self, action: Action) -> Reply:
        if isinstance(action, Sleep):
            await asyncio.sleep(action.seconds)  # (3)
            return action.reply
        if isinstance(action, Compute):
            if action.offload:
                loop = asyncio.get_running_loop()
                return await loop.run_in_executor(self.pool, action.work)  # (5)
            return action.work()  # (4) blocks the loop, and everyone with it
        return action

    async def linger(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """We close: send FIN, drop what the client still sends until it closes too."""
        try:
            writer.write_eof()
            async with asyncio.timeout(LINGER):
                while await reader.read(RECV_SIZE):
                    pass
        except (TimeoutError, OSError):
            pass

    async def shut_down(self, listening: asyncio.Server) -> None:
        self.stopping = True
        listening.close()  # stop accepting
        for writer in list(self.idle):
            writer.close()  # their pending read() returns b"" and the task ends
        if self.tasks:
            await asyncio.wait(self.tasks, timeout=GRACE)


async def serve(model: str, version: str, threads: int, listener) -> None:
    loop = asyncio.get_running_loop()
    pool = ThreadPoolExecutor(threads, thread_name_prefix="offload")
    app = App(model, knobs={"OFFLOAD_THREADS": threads}, offload=OFFLOAD, version=version)
    server = Server(app, pool)
    listening = await asyncio.start_server(server.handle, sock=listener, backlog=BACKLOG)  # (1)

    stop = asyncio.Event()
    signals = Signals()  # (6)

    def on_signal() -> None:
        signals.drain()
        if signals.stopping:
            stop.set()

    loop.add_reader(signals.fileno(), on_signal)
    announce(f"python/{model}", listener)
    await stop.wait()
    await server.shut_down(listening)
    exit_now(0)


def main(model: str = "asyncio", run=asyncio.run, version: str | None = None) -> None:
    threads = knob("OFFLOAD_THREADS", default_offload_threads())
    listener = listen()
    run(serve(model, version or python_version(), threads, listener))


if __name__ == "__main__":
    main()
