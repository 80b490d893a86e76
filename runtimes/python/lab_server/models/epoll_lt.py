"""python/epoll-lt: a reactor on epoll(7), level-triggered (Linux 2.6, 2002).

epoll splits poll() in two. The interest set now lives in the kernel: (1) epoll_ctl() adds,
changes or removes one descriptor, once, when its interest changes. The kernel then keeps a
ready list, filled by the sockets themselves when data arrives, so the wait (2) epoll_wait()
costs in proportion to the descriptors that are ready, not to those being watched: 10,000
idle connections cost nothing per call.

Level-triggered is the default and behaves like select and poll: a descriptor is reported
ready for as long as it is ready. So the read path (lab_server/reactor.py, Reactor.read)
may call recv() just once per report, here with a 4 KiB buffer: if a 6 KB request head is
waiting, the first recv() takes 4 KiB and the next epoll_wait() reports the socket again for
the rest. Compare with python/epoll-et, where that same read-once would stall (3).

EPOLLHUP and EPOLLERR come whether asked for or not, and go to the read path, where recv()
tells what happened. Not about waiting, so shared with select and poll in
lab_server/reactor.py: parsing, answering in order, write buffers, the /sleep timer heap,
the offload pool and its wakeup pipe.
"""

import select

from lab_server.reactor import READ, WRITE, Reactor


class EpollReactor(Reactor):
    trigger = 0  # level-triggered; python/epoll-et sets select.EPOLLET

    def __init__(self, model: str = "epoll-lt", knobs: dict[str, int] | None = None) -> None:
        super().__init__(model, knobs)
        self.epoll = select.epoll()

    def mask(self, events: int) -> int:
        read = select.EPOLLIN if events & READ else 0
        write = select.EPOLLOUT if events & WRITE else 0
        return self.trigger | read | write

    def register(self, fd: int, events: int) -> None:  # (1) epoll_ctl(EPOLL_CTL_ADD)
        self.epoll.register(fd, self.mask(events))

    def modify(self, fd: int, events: int) -> None:  # epoll_ctl(EPOLL_CTL_MOD)
        self.epoll.modify(fd, self.mask(events))

    def unregister(self, fd: int) -> None:  # epoll_ctl(EPOLL_CTL_DEL)
        self.epoll.unregister(fd)

    def run(self) -> None:
        readable = select.EPOLLIN | select.EPOLLHUP | select.EPOLLERR
        while self.running():
            timeout = self.timeout()
            ready = self.epoll.poll(-1 if timeout is None else timeout)  # (2)
            self.counters.waited(len(ready))
            for fd, events in ready:
                if events & readable:
                    self.on_readable(fd)  # (3) Reactor.read: one recv() per report
                if events & select.EPOLLOUT:
                    self.on_writable(fd)
            self.run_timers()


if __name__ == "__main__":
    EpollReactor().serve()
