"""python/select: a reactor on select(2), the oldest readiness call (4.2BSD, 1983).

One thread, non-blocking sockets, and one question asked again and again: "which of these
descriptors can I read or write without blocking?" The loop (1) hands select() two lists, the
descriptors we want to read from and those we want to write to. select() copies them into
the kernel as bitmaps, checks every descriptor, sleeps until one is ready or the timeout
(the next /sleep timer) passes, and copies back the ready ones. So each call costs time in
proportion to the number of connections, busy or idle, and the loop then dispatches (2).

The bitmaps have FD_SETSIZE = 1024 bits: a descriptor numbered 1024 or more cannot be
watched at all, whatever the descriptor limit (`ulimit -n`) allows. (3) is what this
server does about it (SPEC section 8): close such a connection at once, say why at most once
a second, and keep serving the connections it has.

Not about waiting, so shared with poll and epoll in lab_server/reactor.py: parsing, answering
in order, write buffers, the /sleep timer heap, the offload pool and its wakeup pipe.
"""

import select

from lab_server.reactor import READ, WRITE, Reactor

FD_SETSIZE = 1024  # fixed in glibc's fd_set; select(2): "this limitation will not change"


class SelectReactor(Reactor):
    def __init__(self) -> None:
        super().__init__("select")
        # The interest set lives in user space: select() is given all of it on every call.
        self.readers: set[int] = set()
        self.writers: set[int] = set()

    def register(self, fd: int, events: int) -> None:
        self.modify(fd, events)

    def modify(self, fd: int, events: int) -> None:
        if events & READ:
            self.readers.add(fd)
        else:
            self.readers.discard(fd)
        if events & WRITE:
            self.writers.add(fd)
        else:
            self.writers.discard(fd)

    def unregister(self, fd: int) -> None:
        self.readers.discard(fd)
        self.writers.discard(fd)

    def admit(self, sock) -> bool:
        if sock.fileno() < FD_SETSIZE:
            return True
        self.log(  # (3)
            f"closing a new connection: its descriptor {sock.fileno()} is >= FD_SETSIZE "
            f"({FD_SETSIZE}), which select() cannot watch; still serving "
            f"{len(self.conns)} connections"
        )
        sock.close()
        return False

    def run(self) -> None:
        while self.running():
            readable, writable, _ = select.select(  # (1)
                self.readers, self.writers, [], self.timeout()
            )
            self.counters.waited(len(readable) + len(writable))
            for fd in readable:  # (2)
                self.on_readable(fd)
            for fd in writable:
                self.on_writable(fd)
            self.run_timers()


if __name__ == "__main__":
    SelectReactor().serve()
