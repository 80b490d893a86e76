//go:build !linux

package main

import "time"

// fineSleep falls back to time.Sleep where there is no nanosleep(2) wrapper;
// the send lag in the summary shows what precision that gives.
func fineSleep(d time.Duration) { time.Sleep(d) }

func preciseTimers() (unlock func()) { return func() {} }
