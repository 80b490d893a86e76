"""python/poll: a reactor on poll(2) (System V, 1986).

The same reactor as python/select with a better question. Instead of bitmaps capped at 1,024
descriptors, poll() takes an array of (descriptor, events wanted) pairs of any length: no
FD_SETSIZE, so 10,000 connections are fine. Python's poll object keeps that array for us:
(1) register, modify and unregister edit it, only when a connection's interest changes (READ
while waiting for a request, WRITE while a response is waiting to be sent, nothing while a
/sleep or an offloaded request is running).

But the kernel still receives the whole array on every call (2), checks every descriptor
and writes back a result for each: the cost of one wait still grows with the number of
connections, idle or busy. epoll is the fix for that. The results (3): POLLIN, and also
POLLHUP and POLLERR, which poll() reports whether or not we asked, go to the read path,
where recv() tells what happened.

Not about waiting, so shared with select and epoll in lab_server/reactor.py: parsing,
answering in order, write buffers, the /sleep timer heap, the offload pool and its wakeup pipe.
"""

import math
import select

from lab_server.reactor import READ, WRITE, Reactor


def mask(events: int) -> int:
    return (select.POLLIN if events & READ else 0) | (select.POLLOUT if events & WRITE else 0)


class PollReactor(Reactor):
    def __init__(self) -> None:
        super().__init__("poll")
        self.poller = select.poll()

    def register(self, fd: int, events: int) -> None:  # (1)
        self.poller.register(fd, mask(events))

    def modify(self, fd: int, events: int) -> None:
        self.poller.modify(fd, mask(events))

    def unregister(self, fd: int) -> None:
        self.poller.unregister(fd)

    def run(self) -> None:
        while self.running():
            timeout = self.timeout()  # seconds; poll() wants milliseconds, rounded up
            ready = self.poller.poll(None if timeout is None else math.ceil(timeout * 1000))  # (2)
            self.counters.waited(len(ready))
            for fd, revents in ready:
                if revents & (select.POLLIN | select.POLLHUP | select.POLLERR):  # (3)
                    self.on_readable(fd)
                if revents & select.POLLOUT:
                    self.on_writable(fd)
            self.run_timers()


if __name__ == "__main__":
    PollReactor().serve()
