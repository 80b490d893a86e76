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
"""

import select

from lab_server.models.epoll_lt import EpollReactor
from lab_server.reactor import RECV_SIZE, Connection


class EdgeTriggeredReactor(EpollReactor):
    trigger = select.EPOLLET  # (1) every register() and modify() asks for edges

    def __init__(self) -> None:
        super().__init__("epoll-et")

    def read(self, conn: Connection) -> None:
        while not conn.closed:  # (2) until EAGAIN: there will be no second report
            try:
                data = conn.sock.recv(RECV_SIZE)
            except BlockingIOError:
                return  # empty: the next edge will come when new data does
            except OSError:
                self.close(conn)
                return
            self.received(conn, data)
            if not data:
                return  # end of stream: nothing more will come, and no edge either
            # (3) a `return` here, reading once, is the bug: whatever is left in the socket
            # is never reported again, and the connection stalls with a request half read.


if __name__ == "__main__":
    EdgeTriggeredReactor().serve()
