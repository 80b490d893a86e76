package main

import (
	"runtime"
	"syscall"
	"time"
)

// fineSleep sleeps for a short d with the kernel's precision. time.Sleep is
// not used here: when the Go scheduler is idle it waits in the network
// poller, whose timeout is rounded up to whole milliseconds, so every
// sub-millisecond sleep would last about 1 ms and high-rate streams would be
// sent in 1 ms bursts.
func fineSleep(d time.Duration) {
	ts := syscall.NsecToTimespec(int64(d))
	_ = syscall.Nanosleep(&ts, nil) // EINTR only shortens the sleep; the caller re-checks the clock
}

// preciseTimers keeps the calling goroutine on its own OS thread and lowers
// that thread's timer slack from the default 50 µs to 1 µs, so nanosleep(2)
// wakes it within a few µs of the intended time. Call unlock when done.
func preciseTimers() (unlock func()) {
	runtime.LockOSThread()
	const prSetTimerslack = 29                                             // PR_SET_TIMERSLACK from <linux/prctl.h>
	_, _, _ = syscall.RawSyscall(syscall.SYS_PRCTL, prSetTimerslack, 1, 0) // best effort
	return runtime.UnlockOSThread
}
