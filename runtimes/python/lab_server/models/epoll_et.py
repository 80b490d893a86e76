"""python/epoll-et: a reactor on epoll(7), edge-triggered.

The same reactor as python/epoll-lt with one flag more, EPOLLET (1). Level-triggered epoll
says "this socket is readable" for as long as it is; edge-triggered says it once, when the
socket goes from not readable to readable, and then stays quiet until new data arrives.

That saves the kernel from reporting the same descriptor again and again, but it changes
the contract of the read path (2): read until recv() raises BlockingIOError (EAGAIN), that
is, until the socket is empty, because nobody will say that something is left. A 6 KB
request head arrives in one go; recv() takes 4 KiB of it; with level-triggered epoll the
next epoll_wait() would report the rest, with edge-triggered it never will: read only once
(3) and the request waits forever, its client with it. The same holds for accept() (the
listening socket: Reactor.accept loops until EAGAIN) and for send() (Reactor.flush sends
until everything is sent or EAGAIN, and only then waits for EPOLLOUT).

Turning READ interest off while a request sleeps and back on later uses EPOLL_CTL_MOD,
which makes the kernel look at the socket again: data that arrived meanwhile is reported
then, so no edge is lost.

READ_ONCE=1 turns the bug on (3), as a teaching aid: one recv() per edge. A /ping of a few
bytes still works; a 6 KB request stalls with 2 KB unread until the client sends something
more (a new edge). Off by default, never run by the conformance suite; the readiness
experiment shows the stall, and the counters in /info (reactor.Counters) show the difference:
per 6 KB request, level-triggered epoll waits twice and reads twice, edge-triggered waits
once and reads three times, the third finding the socket empty (EAGAIN).
"""

import select

from lab_server.models.epoll_lt import EpollReactor
from lab_server.process import switch
from lab_server.reactor import Connection


class EdgeTriggeredReactor(EpollReactor):
    trigger = select.EPOLLET  # (1) every register() and modify() asks for edges

    def __init__(self) -> None:
        self.read_once = switch("READ_ONCE")
        super().__init__("epoll-et", knobs={"READ_ONCE": int(self.read_once)})

    def read(self, conn: Connection) -> None:
        while not conn.closed:  # (2) until EAGAIN: there will be no second report
            try:
                data = self.recv(conn)
            except OSError:
                self.close(conn)
                return
            if data is None:
                return  # empty: the next edge will come when new data does
            self.received(conn, data)
            if not data:
                return  # end of stream: nothing more will come, and no edge either
            if self.read_once:
                # (3) The bug, on purpose: whatever is left in the socket is never reported
                # again, and the connection stalls with a request half read.
                return


if __name__ == "__main__":
    EdgeTriggeredReactor().serve()
