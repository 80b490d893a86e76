package main

import (
	"syscall"
	"time"
	"unsafe"
)

const sysEpollPwait2 = 441 // the same number on every Linux architecture (added in 5.11)

// poller waits for socket readiness with a nanosecond timeout: epoll_pwait2,
// or, on kernels before 5.11, epoll_wait with its millisecond timeout rounded
// down (the loop then polls for the sub-millisecond rest, at a CPU cost).
type poller struct {
	fd     int
	events []syscall.EpollEvent
	coarse bool
}

func newPoller(n int) (*poller, error) {
	fd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	return &poller{fd: fd, events: make([]syscall.EpollEvent, n)}, nil
}

// add watches fd; its events carry id and gen (in the event's Fd and Pad words).
func (p *poller) add(fd, id int, gen int32, events uint32) error {
	return syscall.EpollCtl(p.fd, syscall.EPOLL_CTL_ADD, fd, &syscall.EpollEvent{Events: events, Fd: int32(id), Pad: gen})
}

func (p *poller) modify(fd, id int, gen int32, events uint32) error {
	return syscall.EpollCtl(p.fd, syscall.EPOLL_CTL_MOD, fd, &syscall.EpollEvent{Events: events, Fd: int32(id), Pad: gen})
}

// wait returns the ready events, waiting at most d (0: just look).
func (p *poller) wait(d time.Duration) []syscall.EpollEvent {
	for {
		var n int
		var errno syscall.Errno
		// Raw system calls: with the runtime told about every one (Syscall),
		// its monitor thread would take the loop's processor away during
		// each wait and poll every 20 µs, which measured as half the
		// pacer's CPU. Waits are short (the caller caps them), so a garbage
		// collection is not held up for long; a preemption signal ends a wait
		// early (EINTR).
		var r uintptr
		if p.coarse {
			r, _, errno = syscall.RawSyscall6(syscall.SYS_EPOLL_PWAIT, uintptr(p.fd), uintptr(unsafe.Pointer(&p.events[0])),
				uintptr(len(p.events)), uintptr(d/time.Millisecond), 0, 0)
		} else {
			ts := syscall.NsecToTimespec(int64(max(d, 0)))
			r, _, errno = syscall.RawSyscall6(sysEpollPwait2, uintptr(p.fd), uintptr(unsafe.Pointer(&p.events[0])),
				uintptr(len(p.events)), uintptr(unsafe.Pointer(&ts)), 0, 0)
			if errno == syscall.ENOSYS {
				p.coarse = true
				continue
			}
		}
		n = int(r)
		switch errno {
		case 0:
			return p.events[:n]
		case syscall.EINTR:
			return nil
		default:
			panic("epoll: " + errno.Error()) // EBADF, EFAULT, EINVAL: a bug, not a condition
		}
	}
}

func (p *poller) close() { syscall.Close(p.fd) }

// preciseTimers lowers the calling thread's timer slack from the default
// 50 µs to 1 ns, so that the kernel wakes epoll_pwait2 at the requested time
// instead of up to 50 µs later (the calling goroutine must be locked to its
// thread).
func preciseTimers() {
	const prSetTimerslack = 29 // PR_SET_TIMERSLACK from <linux/prctl.h>
	_, _, _ = syscall.RawSyscall(syscall.SYS_PRCTL, prSetTimerslack, 1, 0)
}

// dial starts a non-blocking TCP connection; done reports whether it is
// already established (else wait for the socket to become writable).
func dial(sa syscall.Sockaddr) (fd int, done bool, err error) {
	family := syscall.AF_INET
	if _, ok := sa.(*syscall.SockaddrInet6); ok {
		family = syscall.AF_INET6
	}
	fd, err = syscall.Socket(family, syscall.SOCK_STREAM|syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, false, err
	}
	_ = syscall.SetsockoptInt(fd, syscall.IPPROTO_TCP, syscall.TCP_NODELAY, 1)
	switch err = syscall.Connect(fd, sa); err {
	case nil:
		return fd, true, nil
	case syscall.EINPROGRESS:
		return fd, false, nil
	}
	syscall.Close(fd)
	return -1, false, err
}

// connectResult is the outcome of a non-blocking connect once the socket
// became writable (or failed).
func connectResult(fd int) error {
	v, err := syscall.GetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_ERROR)
	if err != nil {
		return err
	}
	if v != 0 {
		return syscall.Errno(v)
	}
	return nil
}

// send writes b with one send(2); MSG_NOSIGNAL makes a closed peer an EPIPE
// error instead of a SIGPIPE.
func send(fd int, b []byte) (int, error) {
	n, _, e := syscall.RawSyscall6(syscall.SYS_SENDTO, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)),
		syscall.MSG_NOSIGNAL, 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}

// recv reads into b from a non-blocking socket (a raw system call: it never blocks).
func recv(fd int, b []byte) (int, error) {
	n, _, e := syscall.RawSyscall(syscall.SYS_READ, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}
